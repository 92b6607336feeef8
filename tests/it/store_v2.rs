//! Store v2: several processes on one SQLite index at once, the two engines answering
//! identically (and `migrate` between them), and a crawl killed again and again.

use crate::support::*;
use linkdiff::api::params::Params;
use linkdiff::api::render::Format;
use linkdiff::api::{answer, render_result, Access, ApiContext};
use linkdiff_store::Store;
use linkdiff_testweb::WebConfig;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(args: &[String]) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_linkdiff"))
            .args(args)
            .env_remove("LINKDIFF_DB")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// `linkdiff serve` on `db`; returns the process and its address.
pub(crate) fn serve(db: &str) -> (KillOnDrop, std::net::SocketAddr) {
    let mut child = spawn(&[
        "serve".into(),
        "--db".into(),
        db.into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
    ]);
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("serve did not start: {line}"));
    (child, addr)
}

/// A blocking HTTP GET: (status, headers, body).
pub(crate) fn get(addr: std::net::SocketAddr, target: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// Events per referring page in a `backlinks_new_lost` answer.
fn per_page(answer: &J) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in answer["refpages"].as_array().expect("refpages") {
        *m.entry(r["url_from"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_writes_while_other_processes_query_and_serve() {
    let w = web(WebConfig {
        hosts: 6,
        pages_per_host: 20,
        ..WebConfig::default()
    })
    .await;
    let port = w.addr.port();
    let seeds = w.web.seeds();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db").display().to_string();
    // `serve` refuses an index that does not exist yet: create the empty one the crawl fills.
    drop(linkdiff_store::Store::open(std::path::Path::new(&db)).unwrap());
    tokio::task::spawn_blocking(move || {
        let (_server, addr) = serve(&db);
        let mut crawl = spawn(&crawl_args(&db, port, &seeds, "2026-02-01", "12"));
        let nl = [
            "backlinks_new_lost",
            "--target",
            "test",
            "--mode",
            "subdomains",
        ];
        let http_nl =
            "/?from=backlinks_new_lost&target=test&mode=subdomains&limit=5000000&output=json";
        let mut snapshots: Vec<J> = Vec::new();
        let mut second_crawl_refused = false;
        let t0 = Instant::now();
        // The second crawl is tried only once the first holds the lock (its run record is
        // written after it takes it): started at once, the second sometimes took the lock
        // first and the first was the one refused (1 run in 6).
        while crawl.0.try_wait().unwrap().is_none()
            && t0.elapsed() < Duration::from_secs(30)
            && linkdiff_store::Store::open(std::path::Path::new(&db))
                .ok()
                .and_then(|s| s.last_run().ok().flatten())
                .is_none()
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        loop {
            if let Some(status) = crawl.0.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(e) = crawl.0.stderr.as_mut() {
                    let _ = std::io::Read::read_to_string(e, &mut err);
                }
                assert!(status.success(), "the crawl failed: {err}");
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(90), "crawl did not end");
            if !second_crawl_refused {
                let out = bin(&crawl_args(&db, port, &[], "2026-02-01", "12")
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>());
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{err}");
                if err.contains("is crawling into") {
                    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
                    second_crawl_refused = true;
                } else {
                    // On a loaded machine the first crawl may end between the two checks.
                    assert!(
                        crawl.0.try_wait().unwrap().is_some(),
                        "a second crawl was not refused while the first ran: {err}"
                    );
                    continue;
                }
            }
            snapshots.push(cli_json(&db, &nl));
            let (code, _, body) = get(addr, http_nl);
            assert_eq!(code, 200);
            let http: J = serde_json::from_str(&body).unwrap();
            assert!(
                http.get("error").is_none(),
                "serve failed mid-crawl: {body}"
            );
            snapshots.push(http);
            let status = bin(&["status", "--db", &db, "--output", "json"]);
            assert!(status.status.success(), "status failed mid-crawl");
        }
        // serve sees every committed visit without a restart.
        let final_cli = cli_json(&db, &nl);
        let (_, _, body) = get(addr, http_nl);
        let final_http: J = serde_json::from_str(&body).unwrap();
        assert_eq!(final_cli, final_http);
        let full = per_page(&final_cli);
        assert!(full.len() > 30, "{full:?}");
        // Each answer is a snapshot: a page's events are all there or none are.
        let mut partial = 0;
        for s in &snapshots {
            let got = per_page(s);
            for (page, n) in &got {
                assert_eq!(Some(n), full.get(page), "half a visit visible for {page}");
            }
            if !got.is_empty() && got.len() < full.len() {
                partial += 1;
            }
        }
        assert!(
            partial > 0,
            "no answer was taken mid-crawl ({} answers)",
            snapshots.len()
        );

        // Tokens managed while serve runs: it sees them at once and counts rows exactly.
        let out = bin(&[
            "token", "create", "--db", &db, "--name", "ci", "--rows", "3",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (_, _, body) = get(addr, "/?from=domain_rating&target=h001.test&output=json");
        assert!(body.contains("requires a token"), "{body}");
        let q = format!("/?from=domain_rating&target=h001.test&output=json&token={token}");
        let (_, head, body) = get(addr, &q);
        assert!(!body.contains("error"), "{body}");
        assert!(
            head.contains("X-Rows-Left: 2") || head.contains("x-rows-left: 2"),
            "{head}"
        );
        get(addr, &q);
        get(addr, &q);
        let (_, _, body) = get(addr, &q);
        assert!(body.contains("Row quota exhausted"), "{body}");
        // Revoked while serving: refused at once (another token keeps auth on).
        let out = bin(&[
            "token", "create", "--db", &db, "--name", "other", "--rows", "3",
        ]);
        assert!(out.status.success());
        assert!(bin(&["token", "revoke", "ci", "--db", &db])
            .status
            .success());
        let (_, _, body) = get(addr, &q);
        assert!(body.contains("Invalid token"), "{body}");
    })
    .await
    .unwrap();
}

/// Every table, several shapes of question, every wire format.
pub(crate) fn questions(port: u16) -> Vec<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    let targets = [
        ("test".to_string(), "subdomains"),
        ("h001.test".to_string(), "domain"),
        (format!("h002.test:{port}/p1"), "prefix"),
        (format!("http://h003.test:{port}/"), "exact"),
    ];
    let shapes: [(&str, &[(&str, &str)]); 28] = [
        ("backlinks", &[]),
        ("backlinks", &[("order_by", "domain_rating:desc,anchor")]),
        (
            "backlinks",
            &[
                ("where", "nofollow=false,substring(anchor,\"a\")"),
                ("limit", "7"),
                ("offset", "2"),
            ],
        ),
        (
            "backlinks",
            &[
                ("select", "url_from,url_to,http_code,prev_visited"),
                ("order_by", "prev_visited:desc,url_to"),
            ],
        ),
        (
            "backlinks",
            &[
                (
                    "where",
                    "ahrefs_rank>=0,title<>\"X\",last_visited>=\"2020-01-01\"",
                ),
                ("order_by", "title:desc,ahrefs_rank,url_from_first_seen"),
                ("limit", "5"),
                ("offset", "1"),
            ],
        ),
        (
            "anchors",
            &[
                ("where", "first_seen>=\"2020-01-01\",backlinks>=1"),
                ("having", "refdomains>=1"),
                ("order_by", "refpages:desc,last_visited"),
            ],
        ),
        (
            "backlinks_new_lost_counters",
            &[
                ("where", "link_type=\"href\",http_code=200"),
                ("select", "date,url_to,new,lost,new_total"),
            ],
        ),
        ("backlinks_new_lost", &[]),
        (
            "backlinks_new_lost",
            &[
                ("where", "nofollow=false,http_code>0"),
                ("order_by", "last_visited:desc,domain_rating:desc,prev_visited"),
                (
                    "select",
                    "date,type,url_from,url_to,reason,recovered,prev_visited,last_visited,anchor,title",
                ),
                ("limit", "9"),
            ],
        ),
        (
            "backlinks_new_lost",
            &[("where", "type=\"lost\""), ("order_by", "url_from:desc")],
        ),
        ("backlinks_new_lost_counters", &[]),
        (
            "backlinks_new_lost_counters",
            &[("select", "date,new,lost,new_total,lost_total")],
        ),
        (
            "backlinks_new_lost_counters",
            &[("where", "nofollow=false"), ("having", "new>0")],
        ),
        ("anchors", &[]),
        (
            "anchors",
            &[("having", "refpages>1"), ("order_by", "anchor")],
        ),
        ("backlinks_one_per_domain", &[]),
        (
            "backlinks_one_per_domain",
            &[
                ("where", "nofollow=false"),
                ("order_by", "ahrefs_rank:desc,url_from"),
            ],
        ),
        ("pages_extended", &[]),
        ("broken_backlinks", &[]),
        (
            "broken_backlinks",
            &[
                ("where", "http_code>=500"),
                ("order_by", "broken_at:desc,url_from"),
            ],
        ),
        (
            "ahrefs_rank",
            &[
                ("order_by", "ahrefs_rank,url:desc"),
                ("where", "ahrefs_rank>0"),
            ],
        ),
        ("metrics", &[]),
        ("metrics_extended", &[("having", "backlinks>0")]),
        ("refdomains_new_lost", &[]),
        ("refdomains_new_lost", &[("where", "type=\"lost\"")]),
        (
            "refdomains_new_lost_counters",
            &[("where", "domain_rating>50"), ("having", "new_total>0")],
        ),
        ("refdomains", &[]),
        (
            "refdomains",
            &[
                ("where", "first_seen<\"2026-01-10\""),
                ("having", "backlinks>1"),
                ("order_by", "refdomain:desc"),
            ],
        ),
    ];
    for (target, mode) in &targets {
        for (from, extra) in shapes {
            for output in ["json", "xml", "php", "csv"] {
                let mut q = vec![
                    ("from", from.to_string()),
                    ("target", target.to_string()),
                    ("mode", mode.to_string()),
                    ("output", output.to_string()),
                ];
                q.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
                out.push(q);
            }
        }
    }
    out
}

pub(crate) fn answers(store: &Store, port: u16) -> Vec<String> {
    let ctx = ApiContext::new(store.clone(), false);
    questions(port)
        .into_iter()
        .map(|q| {
            let pairs: Vec<(String, String)> =
                q.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            let output = pairs
                .iter()
                .find(|(k, _)| k == "output")
                .map_or("json", |(_, v)| v);
            let format = Format::for_cli(output).unwrap();
            render_result(
                &answer(&ctx, &Params::from_pairs(pairs.clone()), &Access::Local),
                format,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_and_sqlite_answer_every_table_identically_and_migrate_keeps_it() {
    let w = web(WebConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let sled_spec = format!("sled:{}", dir.path().join("sled").display());
    let sled = Store::open(Path::new(&sled_spec)).unwrap();
    let sqlite = Store::open(&dir.path().join("i.db")).unwrap();
    for (epoch, day_) in [(1, "2026-03-01"), (2, "2026-03-08")] {
        w.web.set_epoch(epoch);
        for s in [&sled, &sqlite] {
            crawl(s, &crawl_cfg(&w, Some(day(day_)))).await;
        }
    }
    let migrated_path = dir.path().join("migrated.db");
    let migrated = Store::open(&migrated_path).unwrap();
    let copied = linkdiff_store::migrate::copy(&sled, &migrated).unwrap();
    assert!(copied.pages > 50 && copied.events > 100, "{copied:?}");
    let port = w.addr.port();
    let (a, b, c) = (
        answers(&sled, port),
        answers(&sqlite, port),
        answers(&migrated, port),
    );
    let qs = questions(port);
    let mut nonempty = 0;
    for i in 0..qs.len() {
        assert!(
            a[i] == b[i],
            "sled vs SQLite differ for {:?}: {}",
            qs[i],
            crate::support::first_difference(&a[i], &b[i])
        );
        assert_eq!(a[i], c[i], "sled vs migrated SQLite differ for {:?}", qs[i]);
        assert!(!a[i].contains("\"error\""), "{:?}: {}", qs[i], a[i]);
        nonempty += (a[i].len() > 300) as usize;
    }
    assert!(nonempty > qs.len() / 2, "too many empty answers to compare");
    // DataForSEO counts agree too.
    let body =
        br#"[{"targets":["h001.test","test","http://h002.test/"],"date_from":"2026-03-01"}]"#;
    let today = day("2026-03-10");
    use linkdiff::api::dataforseo::{answer as dfs, Bulk};
    for kind in [Bulk::NewLostBacklinks, Bulk::NewLostReferringDomains] {
        let d = |s: &Store| dfs(s, kind, body, today).1["tasks"][0]["result"].clone();
        assert_eq!(d(&sled), d(&sqlite), "{kind:?}");
        assert_eq!(d(&sled), d(&migrated), "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_killed_again_and_again_ends_with_the_same_index() {
    let w = web(WebConfig {
        hosts: 3,
        pages_per_host: 15,
        ..WebConfig::default()
    })
    .await;
    let port = w.addr.port();
    let seeds = w.web.seeds();
    let web = w.web.clone();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.db").display().to_string();
    let killed = dir.path().join("killed.db").display().to_string();
    tokio::task::spawn_blocking(move || {
        let mut kills = 0;
        for (epoch, as_of) in [(1, "2026-04-01"), (2, "2026-04-08")] {
            web.set_epoch(epoch);
            let a = crawl_args(&full, port, &seeds, as_of, "15");
            let out = bin(&a.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let a = crawl_args(&killed, port, &seeds, as_of, "15");
            for wait_ms in [300, 450, 600] {
                let mut child = spawn(&a);
                std::thread::sleep(Duration::from_millis(wait_ms));
                if child.0.try_wait().unwrap().is_some() {
                    break; // the run ended before this kill
                }
                let _ = child.0.kill(); // SIGKILL, mid-transaction or not
                child.0.wait().unwrap();
                kills += 1;
            }
            // Resume only an unfinished run: a new run on the same day is a real recrawl.
            let unfinished = Store::open(Path::new(&killed))
                .unwrap()
                .last_run()
                .unwrap()
                .is_some_and(|r| r.finished.is_none());
            if unfinished {
                let out = bin(&a.iter().map(String::as_str).collect::<Vec<_>>());
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        assert!(kills >= 2, "the crawls ended before they could be killed");
        for (table, extra) in [
            ("backlinks", &[][..]),
            ("backlinks_new_lost", &[][..]),
            ("backlinks_new_lost_counters", &[][..]),
            ("anchors", &[][..]),
        ] {
            let mut args = vec![table, "--target", "test", "--mode", "subdomains"];
            args.extend_from_slice(extra);
            let (x, y) = (cli_json(&full, &args), cli_json(&killed, &args));
            assert!(x.to_string().len() > 100, "{table}: {x}");
            assert_eq!(x, y, "{table} differs after kills");
        }
    })
    .await
    .unwrap();
}
