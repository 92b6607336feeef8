//! `bench http`: a keep-alive load generator for `serve` (the issue-13 load target): N
//! connections each send one request after another for a fixed time; requests/s and latency
//! percentiles over all of them.

use clap::Args;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Arguments of `bench http`.
#[derive(Debug, Args)]
pub struct HttpBench {
    /// A running `linkdiff serve`.
    #[arg(long)]
    addr: SocketAddr,
    /// Request target, sent as is (raw characters allowed).
    #[arg(
        long,
        default_value = "/?from=backlinks&target=h001.test&mode=domain&limit=10&output=json"
    )]
    path: String,
    /// Kept-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Threads of the generator itself: one by default, so that it takes at most one core
    /// from the server it measures (all connections are driven from it).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Read one response (head + `Content-Length` body) from `s`; returns its status.
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<u16> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end])?;
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .ok_or_else(|| anyhow::anyhow!("a response without Content-Length"))?;
            if buf.len() >= end + 4 + len {
                buf.drain(..end + 4 + len);
                return Ok(status);
            }
        }
        // Straight into the buffer's spare room: no 16 KiB zeroed per read (the generator
        // shares the machine with the server it measures).
        buf.reserve(16 * 1024);
        let n = s.read_buf(buf).await?;
        anyhow::ensure!(n > 0, "the server closed a kept-alive connection");
    }
}

/// One connection's loop: latencies in microseconds.
async fn connection(
    addr: SocketAddr,
    request: Vec<u8>,
    until: Instant,
) -> anyhow::Result<Vec<u32>> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut buf = Vec::new();
    let mut lat = Vec::new();
    while Instant::now() < until {
        let t = Instant::now();
        s.write_all(&request).await?;
        let status = read_response(&mut s, &mut buf).await?;
        anyhow::ensure!(status == 200, "status {status}");
        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
    }
    Ok(lat)
}

pub(super) fn bench_http(a: HttpBench) -> anyhow::Result<()> {
    let rt = match a.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    let request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", a.path, a.addr).into_bytes();
    let started = Instant::now();
    let until = started + Duration::from_secs(a.seconds);
    let mut all: Vec<u32> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..a.connections.max(1) {
            set.spawn(connection(a.addr, request.clone(), until));
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let secs = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    crate::outln!(
        "http: {} requests on {} kept-alive connections in {secs:.1} s: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        all.len(),
        a.connections,
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        all.last().map_or(0.0, |&us| us as f64 / 1000.0)
    );
    Ok(())
}
