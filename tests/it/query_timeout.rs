//! Issue 32: runaway queries are stopped. `serve --query-timeout` cancels a query that runs
//! too long, tells the client in the API's own error shape and frees the core at once, so
//! cheap requests keep being answered; `query --timeout` does the same on the command line.

use crate::store_v2::get;
use crate::support::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A 100,000-link index (`bench index`), where a whole-TLD `backlinks` filtered on
/// `sitewide` (two correlated subqueries per row) takes about 0.4 s in a debug build.
fn index(dir: &std::path::Path) -> String {
    let db = dir.join("b.db").display().to_string();
    let out = bin(&[
        "bench", "index", "--db", &db, "--pages", "2000", "--links", "50",
    ]);
    assert!(out.status.success(), "{out:?}");
    db
}

const SLOW: &str =
    "/?from=backlinks&target=bench&mode=subdomains&where=sitewide%3Dtrue&limit=10&output=json";
const CHEAP: &str =
    "/?from=backlinks&target=https%3A%2F%2Fwww.big.bench%2Fpage41&mode=exact&output=json";

fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map_or(out.clone(), |(_, b)| b.to_string())
}

#[test]
fn a_runaway_query_is_stopped_at_the_limit_while_cheap_requests_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let db = index(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .args(["--query-timeout", "0.1", "--heavy-queries", "1"])
        .env_remove("LINKDIFF_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let _server = KillOnDrop(child);
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("serve did not start: {line}"));
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });

    // Six runaway requests at once, one heavy-query slot: each would hold it ~0.4 s (2.4 s in
    // all); stopped at 0.1 s, they are all answered well within the limit + 1 s of the last.
    let t0 = Instant::now();
    let slow: Vec<_> = (0..6)
        .map(|_| std::thread::spawn(move || (get(addr, SLOW), t0.elapsed())))
        .collect();
    // Cheap requests meanwhile go straight on.
    let mut cheap = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let (status, _, body) = get(addr, CHEAP);
        assert_eq!(status, 200);
        assert!(body.contains("\"refpages\""), "{body}");
        cheap.push(t.elapsed());
    }
    for s in slow {
        let ((status, _, body), at) = s.join().unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            body,
            r#"{"error":"the query ran longer than 0.1 s; narrow the target or raise --query-timeout"}"#
        );
        assert!(at < Duration::from_millis(1600), "answered after {at:?}");
    }
    cheap.sort();
    assert!(
        cheap[cheap.len() / 2] < Duration::from_millis(300),
        "cheap requests waited: {cheap:?}"
    );

    // DataForSEO: the same limit, as a task error in DataForSEO's envelope.
    let body = post(
        addr,
        "/v3/backlinks/backlinks/live",
        r#"[{"target":"bench","filters":["dofollow","=",true],"limit":10,"order_by":["rank,desc"]}]"#,
    );
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["status_code"], 20000, "{j}");
    assert_eq!(j["tasks_error"], 1, "{j}");
    assert_eq!(j["tasks"][0]["status_code"], 50000, "{j}");
    assert_eq!(
        j["tasks"][0]["status_message"],
        "the query ran longer than 0.1 s; narrow the target or raise --query-timeout",
        "{j}"
    );

    drop(_server);
    let log = log.join().unwrap();
    // The log names the query that was stopped.
    assert!(
        log.lines().any(|l| l.contains("query stopped")
            && l.contains("from=\"backlinks\"")
            && l.contains("sitewide=true")),
        "{log}"
    );
}

#[test]
fn query_timeout_stops_the_command_with_the_api_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = index(dir.path());
    let t0 = Instant::now();
    let out = bin(&[
        "query",
        "backlinks",
        "--target",
        "bench",
        "--mode",
        "subdomains",
        "--where",
        "sitewide=true",
        "--timeout",
        "0.05",
        "--output",
        "json",
        "--db",
        &db,
    ]);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"{"error":"the query ran longer than 0.05 s; narrow the target or raise --timeout"}"#
    );
    // No limit: the same query answers.
    let out = bin(&[
        "query",
        "backlinks",
        "--target",
        "bench",
        "--mode",
        "subdomains",
        "--where",
        "sitewide=true",
        "--timeout",
        "0",
        "--output",
        "json",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{out:?}");
}
