//! Scale-out (issue 15): the index on a 2-shard ClickHouse cluster, written by host-partitioned
//! crawl workers, answers exactly as one process writing SQLite.

use crate::store_v2::{answers, questions};
use crate::support::*;
use linkdiff_store::clickhouse::client::ChLocation;
use linkdiff_store::clickhouse::ChStore;
use linkdiff_store::{Partition, Store};
use linkdiff_testweb::WebConfig;
use std::path::Path;
use std::time::Duration;

/// A cluster database for one test, or `None` (SKIPPED said) without servers.
fn cluster_db(test: &str, tag: &str) -> Option<String> {
    let Some(servers) = clickhouse_servers() else {
        clickhouse_skipped(test);
        return None;
    };
    let spec = clickhouse_db(&servers, tag);
    let loc = ChLocation::parse(&spec).unwrap().unwrap();
    ChStore::init(&loc, Some("linkdiff")).expect("create the tables on the cluster");
    Some(spec)
}

fn worker(spec: &str, dir: &Path, p: Partition) -> Store {
    let state = dir.join(format!("worker-{}.db", p.index));
    Store::open_worker(spec, &state, &p.to_string()).expect("open worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_a_cluster_answer_every_table_like_one_sqlite_process() {
    let Some(spec) = cluster_db("scale_out::two_workers", "eq") else {
        return;
    };
    let w = web(WebConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&dir.path().join("i.db")).unwrap();
    let parts = [0, 1].map(|index| Partition { index, count: 2 });
    let reader = Store::open(Path::new(&spec)).unwrap();
    for (epoch, day_) in [(1, "2026-03-01"), (2, "2026-03-08")] {
        w.web.set_epoch(epoch);
        crawl(&sqlite, &crawl_cfg(&w, Some(day(day_)))).await;
        for p in parts {
            // Each worker reopens its state, as a worker process run per epoch would.
            let store = worker(&spec, dir.path(), p);
            let cfg = linkdiff_crawler::CrawlConfig {
                partition: Some(p),
                ..crawl_cfg(&w, Some(day(day_)))
            };
            crawl(&store, &cfg).await;
            assert_eq!(store.clickhouse().unwrap().unsent().unwrap(), 0);
        }
        linkdiff_indexer::rank::recompute(&reader).unwrap();
    }
    // Both workers did part of the work.
    let runs = reader.runs().unwrap();
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(runs.iter().all(|r| r.fetched > 5), "{runs:?}");

    let port = w.addr.port();
    let t0 = std::time::Instant::now();
    let a = answers(&sqlite, port);
    let t1 = std::time::Instant::now();
    let b = answers(&reader, port);
    eprintln!(
        "{} answers: SQLite {:?}, ClickHouse {:?}",
        a.len(),
        t1 - t0,
        t1.elapsed()
    );
    let qs = questions(port);
    let mut nonempty = 0;
    for i in 0..qs.len() {
        assert_eq!(a[i], b[i], "SQLite vs ClickHouse differ for {:?}", qs[i]);
        assert!(!b[i].contains("\"error\""), "{:?}: {}", qs[i], b[i]);
        nonempty += (a[i].len() > 300) as usize;
    }
    assert!(nonempty > qs.len() / 2, "too many empty answers to compare");
    let body =
        br#"[{"targets":["h001.test","test","http://h002.test/"],"date_from":"2026-03-01"}]"#;
    use linkdiff::api::dataforseo::{answer as dfs, Bulk};
    for kind in [Bulk::NewLostBacklinks, Bulk::NewLostReferringDomains] {
        let d = |s: &Store| dfs(s, kind, body, day("2026-03-10")).1["tasks"][0]["result"].clone();
        assert_eq!(d(&sqlite), d(&reader), "{kind:?}");
    }
    let (s, c) = (sqlite.stats().unwrap(), reader.stats().unwrap());
    assert_eq!(
        (s.pages, s.backlinks, s.events),
        (c.pages, c.backlinks, c.events)
    );
    drop_database(&spec);
}

fn drop_database(spec: &str) {
    let loc = ChLocation::parse(spec).unwrap().unwrap();
    for s in &loc.servers {
        let c = linkdiff_store::clickhouse::client::Client::new(s, &loc);
        let _ = c.execute(&format!("DROP DATABASE IF EXISTS {}", loc.database));
    }
}

fn run_ok(args: &[String]) {
    let out = bin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn spawn_bin(args: &[String]) -> KillOnDrop {
    KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
            .args(args)
            .env_remove("LINKDIFF_DB")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn unfinished(state: &Path) -> bool {
    Store::open(state)
        .unwrap()
        .last_run()
        .unwrap()
        .is_some_and(|r| r.finished.is_none())
}

/// The CLI answers of the four seed tables, ClickHouse vs SQLite.
fn same_cli_answers(sqlite: &str, ch: &str) {
    for table in [
        "backlinks",
        "backlinks_new_lost",
        "backlinks_new_lost_counters",
        "anchors",
    ] {
        let args = [table, "--target", "test", "--mode", "subdomains"];
        let (x, y) = (cli_json(sqlite, &args), cli_json(ch, &args));
        assert!(x.to_string().len() > 100, "{table}: {x}");
        assert_eq!(x, y, "{table} differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_again_and_again_and_rerun_changes_no_answer() {
    let Some(spec) = cluster_db("scale_out::killed_worker", "kill") else {
        return;
    };
    let w = web(WebConfig {
        hosts: 4,
        pages_per_host: 15,
        ..WebConfig::default()
    })
    .await;
    let port = w.addr.port();
    let seeds = w.web.seeds();
    let web = w.web.clone();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.db").display().to_string();
    let ch = spec.clone();
    tokio::task::spawn_blocking(move || {
        let mut kills = 0;
        for (epoch, as_of) in [(1, "2026-04-01"), (2, "2026-04-08")] {
            web.set_epoch(epoch);
            run_ok(&crawl_args(&full, port, &seeds, as_of, "15"));
            for i in 0..2 {
                let state = dir.path().join(format!("w{i}.db"));
                let mut a = crawl_args(&ch, port, &seeds, as_of, "15");
                a.extend([
                    "--worker".into(),
                    format!("{i}/2"),
                    "--state".into(),
                    state.display().to_string(),
                ]);
                if i == 0 {
                    for wait_ms in [400, 700] {
                        let mut child = spawn_bin(&a);
                        std::thread::sleep(Duration::from_millis(wait_ms));
                        if child.0.try_wait().unwrap().is_some() {
                            break;
                        }
                        let _ = child.0.kill(); // SIGKILL: unsent rows stay in the outbox
                        child.0.wait().unwrap();
                        kills += 1;
                    }
                    if !unfinished(&state) {
                        continue;
                    }
                }
                run_ok(&a);
            }
            run_ok(&["rank".into(), "--db".into(), ch.clone()]);
        }
        assert!(kills >= 2, "the crawls ended before they could be killed");
        same_cli_answers(&full, &ch);
        other_commands_agree(&full, &ch);
        // The SQLite index migrated into another cluster database answers the same, ranks
        // (kept in their own ClickHouse table) included.
        let migrated = cluster_db("scale_out::migrate", "migrated").expect("servers");
        run_ok(&[
            "migrate".into(),
            "--from".into(),
            full.clone(),
            "--to".into(),
            migrated.clone(),
        ]);
        same_cli_answers(&full, &migrated);
        drop_database(&migrated);
    })
    .await
    .unwrap();
    drop_database(&spec);
}

/// `status`, `bulk-new-lost` and `serve` on the ClickHouse index say what they say on SQLite.
fn other_commands_agree(sqlite: &str, ch: &str) {
    let run = |args: &[&str]| -> String {
        let out = bin(args);
        assert!(
            out.status.success(),
            "linkdiff {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let counts = |status: &str| -> Vec<String> {
        status
            .lines()
            .filter(|l| {
                ["pages", "backlinks", "events"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .map(str::to_string)
            .collect()
    };
    let (a, b) = (
        run(&["status", "--db", sqlite]),
        run(&["status", "--db", ch]),
    );
    assert_eq!(counts(&a), counts(&b), "status:\n{a}\n{b}");
    assert_eq!(counts(&a).len(), 3, "{a}");
    // Two workers, two epochs: four runs.
    assert!(
        b.lines().any(|l| l.starts_with("runs") && l.contains('4')),
        "{b}"
    );
    let bulk = |db: &str| {
        run(&[
            "bulk-new-lost",
            "test",
            "h001.test",
            "--date-from",
            "2026-04-01",
            "--db",
            db,
        ])
    };
    let (a, b) = (bulk(sqlite), bulk(ch));
    assert!(a.contains("h001.test"), "{a}");
    assert_eq!(a, b, "bulk-new-lost");
    let (_s1, sqlite_addr) = crate::store_v2::serve(sqlite);
    let (_s2, ch_addr) = crate::store_v2::serve(ch);
    for q in [
        "/?from=backlinks&target=test&mode=subdomains&output=json&order_by=domain_rating:desc&limit=50",
        "/?from=anchors&target=h001.test&mode=domain&output=xml",
    ] {
        let (x, y) = (
            crate::store_v2::get(sqlite_addr, q),
            crate::store_v2::get(ch_addr, q),
        );
        assert_eq!(x.0, 200, "{q}: {}", x.2);
        assert_eq!((x.0, &x.2), (y.0, &y.2), "serve {q}");
    }
}

/// A free loopback port.
/// `N` distinct free loopback ports (bound all at once, so no two are the same).
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_crawl_stops_it_with_a_clear_error_and_the_rerun_completes() {
    // This test stops and restarts a server of its own, so it needs the server binary here.
    let installed = std::process::Command::new("sh")
        .args(["-c", "command -v clickhouse-server"])
        .output()
        .is_ok_and(|o| o.status.success());
    if clickhouse_servers().is_none() || !installed {
        clickhouse_skipped("scale_out::server_stopped");
        return;
    }
    let w = web(WebConfig {
        hosts: 3,
        pages_per_host: 15,
        ..WebConfig::default()
    })
    .await;
    let port = w.addr.port();
    let seeds = w.web.seeds();
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/clickhouse");
    // Start (or restart) the server on these ports; its stderr when it does not answer.
    let start_on = {
        let (script, server_dir) = (script.clone(), server_dir.clone());
        move |[http, tcp, inter]: [u16; 3]| -> Result<(), String> {
            let out = std::process::Command::new("timeout")
                .args(["120", "bash"])
                .arg(&script)
                .args(["start-one", &server_dir.display().to_string()])
                .args([http.to_string(), tcp.to_string(), inter.to_string()])
                .output()
                .unwrap();
            match out.status.success() {
                true => Ok(()),
                false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
            }
        }
    };
    // Another process may take a port between picking it and the server binding it: the
    // first start tries fresh ports up to three times.
    let mut failures = Vec::new();
    let ports = (0..3)
        .find_map(|_| {
            let ports = free_ports::<3>();
            start_on(ports)
                .map_err(|e| failures.push(format!("{ports:?}: {e}")))
                .ok()
                .map(|()| ports)
        })
        .unwrap_or_else(|| panic!("ClickHouse did not start: {failures:?}"));
    let [http, _, _] = ports;
    let start = move || start_on(ports).expect("the server restarts on its ports");
    let stop = {
        let server_dir = server_dir.clone();
        move || {
            let pattern = format!("clickhouse-server --config-file={}/", server_dir.display());
            std::process::Command::new("pkill")
                .args(["-KILL", "-f", &pattern])
                .status()
                .unwrap();
        }
    };
    /// Stops the test's server however the test ends.
    struct Guard<F: Fn()>(F);
    impl<F: Fn()> Drop for Guard<F> {
        fn drop(&mut self) {
            (self.0)()
        }
    }
    let _guard = Guard(stop.clone());
    let ch = format!("clickhouse://127.0.0.1:{http}/stopped");
    let full = dir.path().join("full.db").display().to_string();
    let state = dir.path().join("state.db");
    tokio::task::spawn_blocking(move || {
        // 5 pages/s per host: 15 pages per host last 3 s, and the server dies after 1.5 s.
        run_ok(&crawl_args(&full, port, &seeds, "2026-05-01", "5"));
        let mut a = crawl_args(&ch, port, &seeds, "2026-05-01", "5");
        a.extend(["--state".into(), state.display().to_string()]);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
            .args(&a)
            .env_remove("LINKDIFF_DB")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        stop();
        let t0 = std::time::Instant::now();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "the crawl went on without its server: {err}"
        );
        assert!(
            err.contains(&format!("ClickHouse at http://127.0.0.1:{http}")),
            "unclear error: {err}"
        );
        assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
        assert!(unfinished(&state));
        start();
        run_ok(&a);
        run_ok(&["rank".into(), "--db".into(), ch.clone()]);
        same_cli_answers(&full, &ch);
        stop();
    })
    .await
    .unwrap();
}
