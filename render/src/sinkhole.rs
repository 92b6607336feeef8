//! The browser's proxy: a listener on loopback that closes every connection. The browser is
//! told to send everything through it (loopback included), so a request that escapes
//! interception reaches nothing; each one is counted.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A proxy that answers nothing.
pub struct Sinkhole {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sinkhole {
    /// Listen on `127.0.0.1` on a free port.
    pub async fn start() -> std::io::Result<Sinkhole> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicU64::new(0));
        let count = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                drop(conn);
            }
        });
        Ok(Sinkhole {
            addr,
            connections,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for Sinkhole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn every_connection_is_closed_unanswered_and_counted() {
        let s = Sinkhole::start().await.expect("listens");
        assert!(s.addr().ip().is_loopback());
        for _ in 0..2 {
            let mut c = tokio::net::TcpStream::connect(s.addr())
                .await
                .expect("connects");
            let mut buf = [0u8; 16];
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), c.read(&mut buf))
                .await
                .expect("closed at once");
            assert!(matches!(n, Ok(0) | Err(_)));
        }
        assert_eq!(s.connections(), 2);
    }
}
