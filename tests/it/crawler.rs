//! Crawler behaviour against the local test web: politeness, robots, redirects, limits,
//! network safety, resume and schedules. Every test is bounded in time.

use crate::support::*;
use linkdiff_model::Target;
use linkdiff_store::Store;
use linkdiff_testweb::WebConfig;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn small() -> WebConfig {
    WebConfig {
        hosts: 4,
        pages_per_host: 3,
        links_per_page: 3,
        ..WebConfig::default()
    }
}

/// Smallest gap between two requests to the same host, per host.
fn min_gaps(log: &[(String, String, Instant)]) -> HashMap<String, Duration> {
    let mut by_host: HashMap<String, Vec<Instant>> = HashMap::new();
    for (h, _, t) in log {
        by_host.entry(h.clone()).or_default().push(*t);
    }
    by_host
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|(h, mut ts)| {
            ts.sort();
            let gap = ts.windows(2).map(|w| w[1] - w[0]).min().unwrap();
            (h, gap)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_host_rate_and_crawl_delay_hold_while_hosts_run_in_parallel() {
    let w = web(small()).await;
    let store = Store::memory();
    let mut cfg = crawl_cfg(&w, None);
    cfg.rate = 8.0;
    let t0 = Instant::now();
    crawl(&store, &cfg).await;
    let log = w.log.lock().unwrap().clone();
    assert!(
        log.len() >= 4 * 5,
        "robots + 4 pages per host: {}",
        log.len()
    );
    for (host, gap) in min_gaps(&log) {
        assert!(
            gap >= Duration::from_millis(110),
            "{host} fetched {gap:?} apart at --rate 8"
        );
    }
    // Four hosts in parallel: far less than the serial time of 20 requests at 8/s (2.5 s).
    assert!(
        t0.elapsed() < Duration::from_millis(2000),
        "{:?}",
        t0.elapsed()
    );

    let w = web(WebConfig {
        crawl_delay: Some(0.4),
        ..small()
    })
    .await;
    let mut cfg = crawl_cfg(&w, None);
    cfg.rate = 20.0;
    crawl(&Store::memory(), &cfg).await;
    let log = w.log.lock().unwrap().clone();
    for (host, gap) in min_gaps(&log) {
        assert!(
            gap >= Duration::from_millis(350),
            "{host}: Crawl-delay 0.4 not honoured ({gap:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_disallowed_paths_are_never_fetched_and_5xx_robots_blocks_the_host() {
    let w = web(WebConfig {
        hosts: 8,
        pages_per_host: 10,
        robots_5xx: vec![1],
        ..WebConfig::default()
    })
    .await;
    w.web.set_epoch(2);
    let store = Store::memory();
    crawl(&store, &crawl_cfg(&w, None)).await;
    let disallowed: Vec<String> = w
        .web
        .truth(2, &[])
        .iter()
        .filter(|(_, t)| t.kind == linkdiff_testweb::PageKind::Disallowed)
        .map(|(u, _)| u.clone())
        .collect();
    assert!(
        disallowed.len() > 2,
        "scenario has disallowed pages: {disallowed:?}"
    );
    let log = w.log.lock().unwrap().clone();
    for (host, path, _) in &log {
        let url = format!("http://{host}:{}{path}", w.addr.port());
        assert!(!disallowed.contains(&url), "fetched disallowed {url}");
        assert!(
            host != "h001.test" || path == "/robots.txt",
            "fetched {path} on a host whose robots.txt fails"
        );
    }
    // The blocked host's pages are recorded as dropped visits, with no links.
    let p = store
        .page(&format!("http://h001.test:{}/", w.addr.port()))
        .unwrap()
        .unwrap();
    assert!(p.dropped);
}

async fn special(
    paths: &[&str],
    tweak: impl FnOnce(&mut linkdiff_crawler::CrawlConfig),
) -> (Store, linkdiff_testweb::RunningWeb, String, Duration) {
    let w = web(small()).await;
    let mut cfg = crawl_cfg(&w, None);
    cfg.seeds = paths
        .iter()
        .map(|p| url::Url::parse(&format!("http://h000.test:{}{p}", w.addr.port())).unwrap())
        .collect();
    cfg.scope = linkdiff_crawler::Scope::Seeds;
    tweak(&mut cfg);
    let store = Store::memory();
    let t0 = Instant::now();
    let summary = crawl(&store, &cfg).await;
    let took = t0.elapsed();
    (store, w, summary, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_chains_and_loops_end_with_recorded_errors() {
    let (store, w, summary, _) = special(
        &["/special/chain/3", "/special/chain/14", "/special/loop/a"],
        |c| {
            c.scope = linkdiff_crawler::Scope::Hosts;
        },
    )
    .await;
    let port = w.addr.port();
    // A short chain is followed hop by hop to its end, each hop a visit with a redirect link.
    let end = store
        .page(&format!("http://h000.test:{port}/special/chain/0"))
        .unwrap()
        .unwrap();
    assert_eq!(end.last_status, 200);
    let hop = store
        .forward_links(&format!("http://h000.test:{port}/special/chain/3"))
        .unwrap();
    assert_eq!(hop[0].0.link_type, linkdiff_model::LinkType::Redirect);
    assert_eq!(hop[0].1.redirect, 302);
    assert!(summary.contains("redirect_chain_too_long"), "{summary}");
    assert!(summary.contains("redirect_loop"), "{summary}");
    assert!(store
        .page(&format!("http://h000.test:{port}/special/loop/b"))
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_body_cap_non_html_and_429_each_behave() {
    let (store, w, summary, took) = special(
        &[
            "/special/slow",
            "/special/endless",
            "/special/pdf",
            "/special/429",
        ],
        |c| {
            c.fetch.timeout = Duration::from_millis(800);
            c.fetch.max_body = 100_000;
            c.retries = 1;
            c.retry_backoff = Duration::from_millis(100);
        },
    )
    .await;
    let port = w.addr.port();
    let u = |p: &str| format!("http://h000.test:{port}{p}");
    assert!(
        took < Duration::from_secs(10),
        "the run completes: {took:?}"
    );
    assert!(summary.contains("timeout"), "{summary}");
    // Endless body: truncated at the cap and still indexed.
    let endless = store.page(&u("/special/endless")).unwrap().unwrap();
    assert_eq!(endless.page_size, 100_000);
    assert!(store
        .forward_links(&u("/special/endless"))
        .unwrap()
        .iter()
        .any(|(id, _)| id.url_to == "http://more.test/"));
    // Non-HTML: a visit with no links.
    let pdf = store.page(&u("/special/pdf")).unwrap().unwrap();
    assert_eq!(pdf.last_status, 200);
    assert!(store.forward_links(&u("/special/pdf")).unwrap().is_empty());
    // 429 with Retry-After: 1 is retried no sooner than a second later.
    let hits: Vec<Instant> = w
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, p, _)| p == "/special/429")
        .map(|(_, _, t)| *t)
        .collect();
    assert_eq!(hits.len(), 2);
    assert!(hits[1] - hits[0] >= Duration::from_millis(950));
    assert_eq!(
        store.page(&u("/special/429")).unwrap().unwrap().last_status,
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_seed_is_refused_without_resolve_or_allow_private() {
    let w = web(small()).await;
    let port = w.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db").display().to_string();
    let url = format!("http://localhost:{port}/");
    let out = tokio::task::spawn_blocking({
        let (db, url) = (db.clone(), url.clone());
        move || {
            bin(&[
                "crawl",
                "--db",
                &db,
                "--url",
                &url,
                "--progress",
                "off",
                "--retries",
                "0",
            ])
        }
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused") && err.contains("127.0.0.1") && err.contains("--allow-private"),
        "{err}"
    );
    assert!(
        w.log.lock().unwrap().is_empty(),
        "nothing reached the server"
    );
    let out = tokio::task::spawn_blocking(move || {
        bin(&[
            "crawl",
            "--db",
            &db,
            "--url",
            &url,
            "--progress",
            "off",
            "--allow-private",
            "--rate",
            "0",
        ])
    })
    .await
    .unwrap();
    assert!(out.status.success());
    assert!(
        !w.log.lock().unwrap().is_empty(),
        "--allow-private reaches loopback"
    );
}

fn snapshot(db: &std::path::Path) -> (Vec<String>, Vec<String>, usize) {
    let store = Store::open(db).unwrap();
    let mut bl: Vec<String> = store
        .backlinks(&Target::Subdomains("test".into()))
        .map(|r| format!("{:?}", r.unwrap()))
        .collect();
    bl.sort();
    let mut ev: Vec<String> = store
        .all_events()
        .map(|e| {
            let e = e.unwrap();
            format!(
                "{} {:?} {:?} {} {} {}",
                e.time, e.kind, e.origin, e.url_from, e.url_to, e.anchor
            )
        })
        .collect();
    ev.sort();
    (bl, ev, store.pages().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_crawl_resumes_to_the_same_index() {
    let w = web(WebConfig {
        hosts: 3,
        pages_per_host: 12,
        ..WebConfig::default()
    })
    .await;
    let port = w.addr.port();
    let dir = tempfile::tempdir().unwrap();
    let seeds: Vec<String> = w.web.seeds();
    let args = |db: &str| crawl_args(db, port, &seeds, "2026-02-01", "10");
    let full = dir.path().join("full").display().to_string();
    let killed = dir.path().join("killed").display().to_string();
    let (a_full, a_killed) = (args(&full), args(&killed));
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = a_full.iter().map(String::as_str).collect();
        assert!(bin(&refs).status.success());
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
            .args(&a_killed)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(900));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let partial = Store::open(std::path::Path::new(&a_killed[2])).unwrap();
        let run = partial.last_run().unwrap().unwrap();
        assert!(
            run.finished.is_none() && run.fetched > 0,
            "killed mid-run: {run:?}"
        );
        drop(partial);
        let refs: Vec<&str> = a_killed.iter().map(String::as_str).collect();
        let out = bin(&refs);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    })
    .await
    .unwrap();
    let (a, b) = (
        snapshot(std::path::Path::new(&full)),
        snapshot(std::path::Path::new(&killed)),
    );
    assert!(a.2 > 30);
    assert_eq!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_with_max_runs_performs_that_many_runs() {
    let w = web(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db").display().to_string();
    let resolve = w.resolve_arg();
    let seed = w.web.seeds()[0].clone();
    let t0 = Instant::now();
    let out = tokio::task::spawn_blocking({
        let db = db.clone();
        move || {
            bin(&[
                "crawl",
                "--db",
                &db,
                "--url",
                &seed,
                "--resolve",
                &resolve,
                "--recheck-delay",
                "0.05",
                "--rate",
                "0",
                "--every",
                "1s",
                "--max-runs",
                "2",
                "--progress",
                "off",
            ])
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(t0.elapsed() >= Duration::from_millis(900));
    let store = Store::open(std::path::Path::new(&db)).unwrap();
    assert_eq!(store.runs().unwrap().len(), 2);
    assert!(String::from_utf8_lossy(&out.stdout).matches("Run ").count() == 2);
}

/// A page on a `--resolve`d host links and redirects to loopback in every notation; none of
/// those requests may leave the crawler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_trusts_its_mapping_only_not_ip_literals_in_any_notation() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let notations = [
        format!("http://127.0.0.1:{port}/secret-dotted"),
        format!("http://0x7f000001:{port}/secret-hex"),
        format!("http://2130706433:{port}/secret-decimal"),
        format!("http://0177.0.0.1:{port}/secret-octal"),
        format!("http://[::1]:{port}/secret-v6"),
        format!("http://[::ffff:127.0.0.1]:{port}/secret-mapped"),
    ];
    let page: String = notations
        .iter()
        .map(|u| format!("<a href=\"{u}\">x</a><iframe src=\"{u}\"></iframe>"))
        .collect::<String>()
        + "<a href=\"/go\">go</a>";
    let server_log = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let (log, page) = (server_log.clone(), page.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split(' ').nth(1).unwrap_or("").to_string();
                let host = req
                    .lines()
                    .find_map(|l| {
                        l.strip_prefix("Host: ")
                            .or_else(|| l.strip_prefix("host: "))
                    })
                    .unwrap_or("")
                    .to_string();
                log.lock().unwrap().push(format!("{host}{path}"));
                let resp = match path.as_str() {
                    "/go" => format!(
                        "HTTP/1.1 302 Found\r\nLocation: http://0x7f000001:{port}/secret-redirect\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    ),
                    "/" => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                        page.len()
                    ),
                    _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
                };
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ssrf.db").display().to_string();
    let (seed, resolve) = (
        format!("http://evil.test:{port}/"),
        format!("evil.test:{port}:127.0.0.1"),
    );
    let out = tokio::task::spawn_blocking(move || {
        bin(&[
            "crawl",
            "--db",
            &db,
            "--url",
            &seed,
            "--resolve",
            &resolve,
            "--scope",
            "all",
            "--rate",
            "0",
            "--retries",
            "0",
            "--progress",
            "off",
        ])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = log.lock().unwrap().clone();
    assert!(
        seen.iter().any(|r| r.ends_with("/go")),
        "the page was crawled: {seen:?}"
    );
    for r in &seen {
        assert!(
            r.starts_with("evil.test"),
            "request escaped the --resolve mapping: {r} (all: {seen:?})"
        );
    }
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("errors"), "{summary}");
}
