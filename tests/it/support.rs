//! Shared helpers: a test web on loopback, crawl configs, the binary.

use linkdiff_crawler::fetch::FetchConfig;
use linkdiff_crawler::CrawlConfig;
use linkdiff_testweb::{serve, RunningWeb, TestWeb, WebConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Start a test web on 127.0.0.1 on the current runtime.
pub async fn web(cfg: WebConfig) -> RunningWeb {
    serve(TestWeb::new(cfg), 0).await.expect("bind loopback")
}

/// A crawl config for the web: all hosts seeded, unlimited rate, fast retries.
pub fn crawl_cfg(web: &RunningWeb, as_of: Option<i64>) -> CrawlConfig {
    CrawlConfig {
        retry_backoff: Duration::from_millis(20),
        fetch: FetchConfig {
            user_agent: "linkdiff-test".into(),
            timeout: Duration::from_secs(5),
            ..web.crawl_config(as_of).fetch
        },
        ..web.crawl_config(as_of)
    }
}

/// Run one crawl in-process.
pub async fn crawl(store: &linkdiff_store::Store, cfg: &CrawlConfig) -> String {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    linkdiff::cli::crawl::crawl_once(store, cfg, rx, "off")
        .await
        .expect("crawl")
}

/// Run the binary with args; returns its output.
pub fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(args)
        .env_remove("LINKDIFF_DB")
        .output()
        .expect("run linkdiff")
}

/// `YYYY-MM-DD` → Unix seconds.
pub fn day(s: &str) -> i64 {
    linkdiff_query::time::parse(s).unwrap()
}

/// A test web crawled at `d1` (epoch 1) and `d2` (epoch 2) into a fresh sled db.
pub async fn indexed_web(
    cfg: WebConfig,
    d1: i64,
    d2: i64,
) -> (RunningWeb, tempfile::TempDir, linkdiff_store::Store) {
    let w = web(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    let store = linkdiff_store::Store::open(&dir.path().join("db")).unwrap();
    crawl(&store, &crawl_cfg(&w, Some(d1))).await;
    w.web.set_epoch(2);
    crawl(&store, &crawl_cfg(&w, Some(d2))).await;
    (w, dir, store)
}

/// Serve the API on 127.0.0.1:0; returns the address (the server runs for the test's life).
pub async fn api(store: &linkdiff_store::Store) -> std::net::SocketAddr {
    let (addr, stop) = api_stoppable(store).await;
    std::mem::forget(stop);
    addr
}

/// Serve the API; dropping-and-awaiting the returned stopper shuts the server down and
/// releases its handle on the store.
pub async fn api_stoppable(store: &linkdiff_store::Store) -> (std::net::SocketAddr, Stopper) {
    api_with(store, linkdiff::api::server::Limits::default()).await
}

/// Serve the API with these limits; see [`api_stoppable`].
pub async fn api_with(
    store: &linkdiff_store::Store,
    limits: linkdiff::api::server::Limits,
) -> (std::net::SocketAddr, Stopper) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = linkdiff::api::ApiContext::new(store.clone(), false);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(linkdiff::api::server::serve_with(
        ctx,
        listener,
        limits,
        async {
            let _ = rx.await;
        },
    ));
    (addr, Stopper { tx, task })
}

/// Stops a server started by [`api_stoppable`].
pub struct Stopper {
    tx: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Stopper {
    /// Stop and wait.
    pub async fn stop(self) {
        let _ = self.tx.send(());
        let _ = self.task.await;
    }
}

/// A raw HTTP/1.1 request with the target sent byte for byte, on its own connection
/// (`Connection: close`): (status, headers, body).
pub async fn raw(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (k, v) in headers {
        req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    s.write_all(&req).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("response in time")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap_or("")
        .split(' ')
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// Header value.
pub fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Kills the child process when the test ends, passing or not.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `linkdiff query ARGS --db DB --output json` with no row limit, parsed; panics with the
/// command's stderr when it fails.
pub fn cli_json(db: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", db, "--output", "json", "--limit", "5000000"]);
    let out = bin(&all);
    assert!(
        out.status.success(),
        "linkdiff {} failed: {}",
        all.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `crawl --db DB --resolve *.test:PORT:127.0.0.1 --rate RATE --as-of AS_OF --progress off`
/// with every seed as `--url`.
pub fn crawl_args(db: &str, port: u16, seeds: &[String], as_of: &str, rate: &str) -> Vec<String> {
    let mut a: Vec<String> = [
        "crawl",
        "--db",
        db,
        "--resolve",
        &format!("*.test:{port}:127.0.0.1"),
        "--rate",
        rate,
        "--as-of",
        as_of,
        "--progress",
        "off",
        // Rechecks on, quickly (the default waits 30 s).
        "--recheck-delay",
        "0.05",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for s in seeds {
        a.push("--url".into());
        a.push(s.clone());
    }
    a
}

/// The venv python with the official client packages (`dataforseo-client`, and `warcio` to
/// write archives), creating the venv if Python is there (`.ci/run` makes it first).
pub fn client_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LINKDIFF_DFS_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dfs-venv");
    let py = venv.join("bin/python");
    let has = |py: &Path| {
        Command::new(py)
            .args(["-c", "import dataforseo_client, warcio"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has(&py) {
        return Some(py);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&py)
            .args(["-m", "pip", "install", "-q", "dataforseo-client", "warcio"])
            .status()
            .is_ok_and(|s| s.success());
    (made && has(&py)).then_some(py)
}

/// The test venv's python with chDB (ClickHouse in-process, a current release) for the
/// cross-release SQL check, installing it into the venv when missing; `None` when that fails.
pub fn chdb_python() -> Option<PathBuf> {
    let py = client_python()?;
    let has = || {
        Command::new(&py)
            .args(["-c", "import chdb"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has() {
        return Some(py);
    }
    let _ = Command::new(&py)
        .args(["-m", "pip", "install", "-q", "chdb"])
        .status();
    has().then_some(py)
}

/// The two test ClickHouse servers (`host:port` of their HTTP interfaces), configured as the
/// 2-shard cluster `linkdiff`: `$LINKDIFF_TEST_CLICKHOUSE` (comma-separated, left running), else
/// started by `.ci/clickhouse start` when `clickhouse-server` is installed and stopped when this
/// process ends. `None` (and the caller says
/// SKIPPED loudly) when neither works.
pub fn clickhouse_servers() -> Option<Vec<String>> {
    static SERVERS: std::sync::OnceLock<Option<Vec<String>>> = std::sync::OnceLock::new();
    SERVERS
        .get_or_init(|| {
            if let Ok(v) = std::env::var("LINKDIFF_TEST_CLICKHOUSE") {
                return Some(v.split(',').map(str::to_string).collect());
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/clickhouse");
            // Bounded: a server that does not come up must fail the start, never hang the suite.
            // Owned by this test process: the script's watchdog stops the servers once it
            // ends, however it ends (issue 33).
            let out = Command::new("timeout")
                .args(["120", "bash"])
                .arg(script)
                .arg("start")
                .env("LINKDIFF_CLICKHOUSE_OWNER", std::process::id().to_string())
                .stdin(std::process::Stdio::null())
                .output()
                .ok()?;
            if !out.status.success() {
                eprintln!(
                    "ClickHouse could not be started: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                return None;
            }
            let urls = String::from_utf8_lossy(&out.stdout);
            Some(
                urls.split_whitespace()
                    .map(|u| u.trim_start_matches("http://").to_string())
                    .collect(),
            )
        })
        .clone()
}

/// A fresh database name on the test servers: `clickhouse://h1,h2/NAME`.
pub fn clickhouse_db(servers: &[String], tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "clickhouse://{}/t_{tag}_{}_{n}",
        servers.join(","),
        std::process::id()
    )
}

/// Say loudly that a ClickHouse test did not run.
pub fn clickhouse_skipped(test: &str) {
    eprintln!(
        "\n*** SKIPPED {test}: no ClickHouse server (install clickhouse-server, or set \
         LINKDIFF_TEST_CLICKHOUSE=HOST:PORT,HOST:PORT) ***\n"
    );
}

/// Where two long answers first differ, with some context from each (an `assert_eq!` on two
/// 100 KB answers prints both whole).
pub fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let around = |s: &str| {
        let mut lo = at.saturating_sub(300).min(s.len());
        while !s.is_char_boundary(lo) {
            lo -= 1;
        }
        let mut hi = (at + 80).min(s.len());
        while !s.is_char_boundary(hi) {
            hi += 1;
        }
        s[lo..hi].to_string()
    };
    format!(
        "at byte {at}:\n  left:  …{}…\n  right: …{}…",
        around(a),
        around(b)
    )
}

/// The npm Ahrefs v3 client (`@adobe/spacecat-shared-ahrefs-client`) installed under
/// `target/v3-client` with Node on the PATH, installing it when npm is there (`.ci/run` does it
/// first); `None` (the test says SKIPPED) without Node.
pub fn ahrefs_node_client() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/v3-client");
    let entry = dir.join("node_modules/@adobe/spacecat-shared-ahrefs-client/src/index.js");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        return None;
    }
    if !entry.exists() {
        let _ = std::fs::create_dir_all(&dir);
        let _ = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(AHREFS_NODE_CLIENT)
            .status();
    }
    entry.exists().then_some(dir)
}

/// The npm package and version the v3 compatibility test runs (`.ci/run` installs the same).
pub const AHREFS_NODE_CLIENT: &str = "@adobe/spacecat-shared-ahrefs-client@1.2.6";

/// Chromium: `LINKDIFF_CHROMIUM`, else the first of chromium, chromium-browser,
/// google-chrome that runs.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LINKDIFF_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(PathBuf::from)
}

/// Chromium, or `None` after saying SKIPPED loudly.
pub fn chromium_or_skip() -> Option<PathBuf> {
    let b = chromium();
    if b.is_none() {
        eprintln!("SKIPPED: no Chromium (install the Debian package `chromium`; .ci/run does)");
    }
    b
}
