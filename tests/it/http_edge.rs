//! The HTTP edge: kept-alive connections with raw request lines on every request, pipelining,
//! bodies of both framings, the too-long signal no client can send, slow clients cut off.

use crate::support::*;
use linkdiff_testweb::{RunningWeb, WebConfig};
use serde_json::Value as J;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn index() -> (RunningWeb, tempfile::TempDir, linkdiff_store::Store) {
    let cfg = WebConfig {
        hosts: 6,
        pages_per_host: 5,
        ..WebConfig::default()
    };
    indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await
}

/// Read one response from a kept-alive connection: (status, body), using its
/// `Content-Length`.
async fn response(s: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
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
                .expect("a content-length");
            if buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                buf.drain(..end + 4 + len);
                return (status, body);
            }
        }
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout_at(deadline.into(), s.read(&mut chunk))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "connection closed before a whole response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn rows(body: &str) -> usize {
    let v: J = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    assert!(v.get("error").is_none(), "{body}");
    v["refpages"].as_array().map_or(0, Vec::len)
}

const RAW_QUERY: &str = r#"/?from=backlinks&target=h001.test&mode=domain&select=url_from,anchor&where=subdomain(url_from,"h000.test")&limit=50&output=json"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_answers_many_raw_requests_in_order() {
    let (_w, _dir, store) = index().await;
    let addr = api(&store).await;
    let (_, _, alone) = raw(addr, "GET", RAW_QUERY, &[], b"").await;
    let want = rows(&alone);
    assert!(want > 0, "{alone}");

    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    // One after the other on one connection, each with raw quotes in its request line.
    for _ in 0..3 {
        let req = format!("GET {RAW_QUERY} HTTP/1.1\r\nHost: x\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let (status, body) = response(&mut s, &mut buf).await;
        assert_eq!((status, body.as_str()), (200, alone.as_str()));
    }
    // Pipelined: a GET, a form POST with a Content-Length body, a chunked POST, a GET, all
    // written at once; the answers come back in order.
    let form = r#"from=backlinks&target=h001.test&mode=domain&select=url_from,anchor&where=subdomain(url_from,"h000.test")&limit=50&output=json"#;
    let chunked = format!("{:x}\r\n{form}\r\n0\r\n\r\n", form.len());
    let pipeline = format!(
        "GET {RAW_QUERY} HTTP/1.1\r\nHost: x\r\n\r\n\
         POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}\
         POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}\
         GET {RAW_QUERY} HTTP/1.1\r\nHost: x\r\n\r\n",
        form.len()
    );
    s.write_all(pipeline.as_bytes()).await.unwrap();
    for i in 0..4 {
        let (status, body) = response(&mut s, &mut buf).await;
        assert_eq!(status, 200, "request {i}");
        assert_eq!(rows(&body), want, "request {i}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_long_request_line_is_an_error_for_that_request_only_and_cannot_be_forged() {
    let (_w, _dir, store) = index().await;
    let addr = api(&store).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    let long = format!(
        "GET /?from=backlinks&target=h001.test&where=anchor:\"{}\" HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let forged = "GET /?__linkdiff_error=target_too_long&from=backlinks&target=h001.test&mode=domain&limit=1&output=json HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(long.as_bytes()).await.unwrap();
    s.write_all(forged.as_bytes()).await.unwrap();
    let (status, body) = response(&mut s, &mut buf).await;
    assert_eq!(status, 200);
    assert!(body.contains("longer than 61440 bytes"), "{body}");
    let (status, body) = response(&mut s, &mut buf).await;
    assert_eq!(status, 200);
    assert_eq!(rows(&body), 1, "the parameter is only a parameter: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = linkdiff_store::Store::open(&dir.path().join("db")).unwrap();
    let limits = linkdiff::api::server::Limits {
        header_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let (addr, stop) = api_with(&store, limits).await;
    // 200 clients that send half a request head, and one that sends nothing.
    let mut conns = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET /?from=backlinks&target=t{i}.test HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .as_bytes(),
        )
        .await
        .unwrap();
        conns.push(s);
    }
    conns.push(TcpStream::connect(addr).await.unwrap());
    let started = Instant::now();
    for mut s in conns {
        let mut sink = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut sink)).await;
        assert!(read.is_ok(), "the server closed the connection");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The server still answers.
    let (status, _, _) = raw(addr, "GET", "/?from=backlinks&target=a.test", &[], b"").await;
    assert_eq!(status, 200);
    stop.stop().await;
}
