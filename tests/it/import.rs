//! `linkdiff import`: WARC captures of the test web's two epochs give the index the ground
//! truth says, whatever the file order, compression, junk records and interruptions.

use crate::crawl_e2e::{index_backlinks, index_events, oracle};
use crate::support::*;
use linkdiff_archive::testfiles;
use linkdiff_store::Store;
use linkdiff_testweb::{PageKind, PageTruth, TestWeb, WebConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const D1: &str = "2026-01-05";
const D2: &str = "2026-01-12";

/// The web's two epochs as WARC files, and the truth an import of them must give.
struct Archives {
    /// Epoch 1, one gzip member per record.
    first: PathBuf,
    /// Epoch 1 captured again every hour for 8 hours (nothing changes), gzip members.
    first_repeated: PathBuf,
    /// Epoch 2, plain, with records that are not captures, junk and a truncated tail.
    second: PathBuf,
    t1: BTreeMap<String, PageTruth>,
    t2: BTreeMap<String, PageTruth>,
    _dir: tempfile::TempDir,
}

fn warcinfo(date: &str, id: &str) -> Vec<u8> {
    testfiles::record_with(
        "warcinfo",
        "",
        date,
        b"software: test\r\n",
        &[("WARC-Record-ID", id)],
    )
}

/// Responses of every page of `truth` as the web answers them in its current epoch, one
/// second apart from `date` 00:00:00Z, in URL order.
fn captures(web: &TestWeb, truth: &BTreeMap<String, PageTruth>, date: &str) -> Vec<Vec<u8>> {
    captures_at(web, truth, day(date))
}

fn captures_at(web: &TestWeb, truth: &BTreeMap<String, PageTruth>, t0: i64) -> Vec<Vec<u8>> {
    truth
        .keys()
        .enumerate()
        .map(|(i, url)| {
            let (host, path) = web.split(url).expect("a test web URL");
            let host_header = format!("{}:{}", TestWeb::host(host), web.port());
            let (status, headers, body) = web.respond(&host_header, &path);
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let when = linkdiff_query::time::iso(t0 + i as i64);
            testfiles::response(url, &when, status, &headers, &body)
        })
        .collect()
}

fn archives() -> Archives {
    let web = TestWeb::new(WebConfig {
        hosts: 14,
        pages_per_host: 10,
        ..WebConfig::default()
    });
    web.set_port(8080);
    let dir = tempfile::tempdir().unwrap();
    let t1 = web.truth(1, &[]);
    let mut first = testfiles::gz(&warcinfo("2026-01-05T00:00:00Z", "<urn:test:epoch1>"));
    for c in captures(&web, &t1, D1) {
        first.extend(testfiles::gz(&c));
    }
    let mut first_repeated =
        testfiles::gz(&warcinfo("2026-01-05T00:00:00Z", "<urn:test:repeated>"));
    for hour in 0..8 {
        for c in captures_at(&web, &t1, day(D1) + hour * 3600) {
            first_repeated.extend(testfiles::gz(&c));
        }
    }
    web.set_epoch(2);
    let known: Vec<String> = t1.keys().cloned().collect();
    let mut t2 = web.truth(2, &known);
    // robots.txt is not in an archive: a page disallowed in epoch 2 was simply not captured,
    // so the index keeps it as epoch 1 left it.
    let disallowed: Vec<String> = t2
        .iter()
        .filter(|(_, t)| t.kind == PageKind::Disallowed)
        .map(|(u, _)| u.clone())
        .collect();
    assert!(!disallowed.is_empty(), "the web disallows pages in epoch 2");
    for u in &disallowed {
        match t1.get(u) {
            Some(before) => t2.insert(u.clone(), before.clone()),
            None => t2.remove(u),
        };
    }
    let captured: BTreeMap<String, PageTruth> = t2
        .iter()
        .filter(|(u, _)| !disallowed.contains(u))
        .map(|(u, t)| (u.clone(), t.clone()))
        .collect();
    let mut second = warcinfo("2026-01-12T00:00:00Z", "<urn:test:epoch2>");
    second.extend(testfiles::record(
        "request",
        "http://h000.test:8080/",
        "2026-01-12T00:00:00Z",
        b"GET / HTTP/1.1\r\n\r\n",
    ));
    second.extend(testfiles::response(
        "dns:h000.test",
        "2026-01-12T00:00:00Z",
        200,
        &[],
        b"",
    ));
    second.extend(b"junk that is not a record\r\n");
    for c in captures(&web, &captured, D2) {
        second.extend(c);
    }
    let last = testfiles::response(
        "http://h000.test:8080/cut",
        "2026-01-12T23:00:00Z",
        200,
        &[],
        b"<a href=http://h001.test/>x</a>",
    );
    second.extend(&last[..last.len() - 20]);
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    Archives {
        first: write("epoch1.warc.gz", &first),
        first_repeated: write("epoch1x8.warc.gz", &first_repeated),
        second: write("epoch2.warc", &second),
        t1,
        t2,
        _dir: dir,
    }
}

fn import(db: &Path, args: &[&str]) -> String {
    let mut all = vec!["import", "--db", db.to_str().unwrap(), "--progress", "off"];
    all.extend(args);
    let out = bin(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "import failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn assert_matches_truth(store: &Store, a: &Archives) {
    let (want_live, want_events) = oracle(&a.t1, &a.t2, D1, D2);
    let got_live = index_backlinks(store);
    let diff: Vec<_> = want_live
        .iter()
        .filter(|(k, n)| got_live.get(*k) != Some(n))
        .chain(
            got_live
                .iter()
                .filter(|(k, n)| want_live.get(*k) != Some(n)),
        )
        .take(5)
        .collect();
    assert!(diff.is_empty(), "backlinks differ: {diff:#?}");
    assert!(want_live.len() > 300, "{} backlinks", want_live.len());
    let got_events = index_events(store);
    let diff: Vec<_> = want_events
        .iter()
        .filter(|e| !got_events.contains(e))
        .chain(got_events.iter().filter(|e| !want_events.contains(e)))
        .take(5)
        .collect();
    assert!(diff.is_empty(), "events differ: {diff:#?}");
    assert_eq!(got_events.len(), want_events.len());
}

#[test]
fn two_epochs_of_warc_captures_give_the_truth_and_a_second_import_changes_nothing() {
    let a = archives();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // The later file first: inputs are applied in the order of their dates.
    let out = import(
        &db,
        &[a.second.to_str().unwrap(), a.first.to_str().unwrap()],
    );
    assert!(out.contains("1 truncated records skipped"), "{out}");
    assert!(out.contains("1 corrupt records skipped"), "{out}");
    assert!(out.contains("3 other records skipped"), "{out}");
    assert!(out.contains("1 not_http records skipped"), "{out}");
    assert!(out.contains("Ranks recomputed"), "{out}");
    let store = Store::open(&db).unwrap();
    assert_matches_truth(&store, &a);
    let events = index_events(&store).len();
    drop(store);

    let again = import(
        &db,
        &[a.first.to_str().unwrap(), a.second.to_str().unwrap()],
    );
    assert!(again.contains("2 inputs already imported"), "{again}");
    assert!(again.contains("applied 0 visits"), "{again}");
    let store = Store::open(&db).unwrap();
    assert_eq!(index_events(&store).len(), events);
    assert_matches_truth(&store, &a);
    let status = bin(&["status", "--db", db.to_str().unwrap(), "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["last_run"]["kind"], "import");
    let as_of = status["last_run"]["as_of"].as_str().unwrap();
    assert!(as_of.starts_with("2026-01-12T00:0"), "{as_of}");
}

#[test]
fn an_import_stopped_early_goes_on_from_its_checkpoint_without_duplicates() {
    let a = archives();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let (first, second) = (a.first.to_str().unwrap(), a.second.to_str().unwrap());
    let out = import(&db, &["--max-records", "60", first, second]);
    assert!(out.contains("Stopped early"), "{out}");
    let out = import(&db, &["--max-records", "100", first, second]);
    assert!(out.contains("Stopped early"), "{out}");
    // The rest, the second file through standard input.
    let out = bin(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        "--progress",
        "off",
        first,
    ]);
    assert!(out.status.success());
    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args([
            "import",
            "--db",
            db.to_str().unwrap(),
            "--progress",
            "off",
            "-",
        ])
        .stdin(std::fs::File::open(&a.second).unwrap())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&piped.stdout);
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    // Standard input cannot seek: what precedes the checkpoint is read and dropped, so
    // nothing of it counts as imported again.
    assert!(!said.contains("already imported"), "{said}");
    let store = Store::open(&db).unwrap();
    assert_matches_truth(&store, &a);
}

#[test]
fn target_domains_keep_only_links_to_the_listed_sites() {
    let a = archives();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let list = dir.path().join("targets.txt");
    std::fs::write(&list, "# my sites\nh003.test\nhttp://h007.test:8080/\n").unwrap();
    import(
        &db,
        &[
            "--target-domains",
            list.to_str().unwrap(),
            a.first.to_str().unwrap(),
            a.second.to_str().unwrap(),
        ],
    );
    let store = Store::open(&db).unwrap();
    let (want_live, _) = oracle(&a.t1, &a.t2, D1, D2);
    let mine = |to: &str| to.contains("//h003.test") || to.contains("//h007.test");
    let want: BTreeMap<_, _> = want_live.into_iter().filter(|(k, _)| mine(&k.1)).collect();
    let got = index_backlinks(&store);
    assert!(!want.is_empty());
    let (got_mine, others): (BTreeMap<_, _>, BTreeMap<_, _>) =
        got.into_iter().partition(|(k, _)| mine(&k.1));
    assert_eq!(got_mine, want);
    // Only the redirects of pages that once linked to a listed site are kept beside them
    // (why their links went).
    assert!(others.keys().all(|k| k.2 == "redirect"), "{others:#?}");
    // Pages that never linked to a listed site are not stored at all.
    let pages = store.stats().unwrap().pages;
    assert!(pages < a.t2.len() as u64, "{pages} pages stored");
}

#[test]
fn wat_links_are_imported_with_their_types_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let links1 = serde_json::json!([
        {"path": "A@/href", "url": "http://target.test/a", "text": "first anchor"},
        {"path": "A@/href", "url": "http://target.test/b", "text": "kept", "rel": "nofollow"},
        {"path": "IMG@/src", "url": "http://target.test/logo.png"}
    ]);
    let links2 = serde_json::json!([
        {"path": "A@/href", "url": "http://target.test/b", "text": "kept", "rel": "nofollow"}
    ]);
    let head = serde_json::json!({"Title": "Source"});
    let html = serde_json::json!({"Content-Type": "text/html"});
    let mut wat = Vec::new();
    for (date, links) in [
        ("2025-03-01T00:00:00Z", &links1),
        ("2025-04-01T00:00:00Z", &links2),
    ] {
        wat.extend(testfiles::gz(&testfiles::wat(
            "http://source.test/post",
            date,
            200,
            html.clone(),
            head.clone(),
            links.clone(),
        )));
    }
    let path = dir.path().join("x.wat.gz");
    std::fs::write(&path, &wat).unwrap();
    let out = import(&db, &[path.to_str().unwrap()]);
    assert!(out.contains("applied 2 visits"), "{out}");
    let v = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks_new_lost",
            "--target",
            "target.test",
            "--mode",
            "domain",
        ],
    );
    let rows: Vec<(String, String, String)> = v["refpages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["date"].as_str().unwrap()[..10].to_string(),
                r["type"].as_str().unwrap().to_string(),
                r["anchor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut rows = rows;
    rows.sort();
    assert_eq!(
        rows,
        vec![
            ("2025-03-01".into(), "new".into(), "first anchor".into()),
            ("2025-03-01".into(), "new".into(), "kept".into()),
            ("2025-04-01".into(), "lost".into(), "first anchor".into()),
        ]
    );
}

#[test]
fn an_import_killed_mid_file_resumes_from_its_last_committed_record() {
    let a = archives();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db_s = db.to_str().unwrap();
    let repeated = a.first_repeated.to_str().unwrap();
    // Kill it (SIGKILL: no chance to save) once a checkpoint shows it is part-way. The
    // import is quick: when it finished between two looks, it is tried again on a fresh
    // database (at most five times).
    let key = "import:urn:test:repeated";
    let mut killed_at = None;
    for _attempt in 0..5 {
        let _ = std::fs::remove_file(&db);
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{db_s}{ext}"));
        }
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
            .args([
                "import",
                "--db",
                db_s,
                "--progress",
                "off",
                "--threads",
                "1",
                repeated,
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if db.exists() {
                if let Ok(store) = Store::open(&db) {
                    if let Ok(Some(pos)) = store.meta(key) {
                        if pos != "done" {
                            child.kill().unwrap();
                            killed_at = Some(pos);
                            break;
                        }
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = child.wait();
        if killed_at.is_some() {
            break;
        }
    }
    let killed_at = killed_at.expect("the import was killed part-way through its file");
    let store = Store::open(&db).unwrap();
    let last = store.last_run().unwrap().unwrap();
    assert!(last.is_import() && last.finished.is_none());
    drop(store);

    let out = import(&db, &[repeated]);
    assert!(
        out.contains("Import run 1:"),
        "the killed run goes on: {out}"
    );
    assert!(!out.contains("Stopped early"), "{out}");
    let store = Store::open(&db).unwrap();
    assert_eq!(store.meta(key).unwrap().as_deref(), Some("done"));
    drop(store);
    eprintln!("killed at {killed_at}: {out}");
    import(&db, &[a.second.to_str().unwrap()]);
    let store = Store::open(&db).unwrap();
    assert_matches_truth(&store, &a);
}

#[test]
fn a_warc_written_by_warcio_imports_like_its_pages_say() {
    let Some(python) = client_python() else {
        eprintln!("SKIPPED: no python3 to run warcio (install python3; .ci/run makes the venv)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let warc = dir.path().join("warcio.warc.gz");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/warcio_write.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&warc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("db");
    let said = import(&db, &[warc.to_str().unwrap()]);
    // warcinfo and request skipped, the revisit has no payload to read.
    assert!(said.contains("applied 3 visits"), "{said}");
    assert!(
        said.contains("2 other records skipped, 1 revisit records skipped"),
        "{said}"
    );
    let v = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks_new_lost",
            "--target",
            "target.test",
            "--mode",
            "domain",
        ],
    );
    let mut rows: Vec<String> = v["refpages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {:?} nofollow={} text_pre={:?}",
                &r["date"].as_str().unwrap()[..10],
                r["type"].as_str().unwrap(),
                r["link_type"].as_str().unwrap(),
                r["url_to"].as_str().unwrap(),
                r["anchor"].as_str().unwrap(),
                r["nofollow"],
                r["text_pre"].as_str().unwrap(),
            )
        })
        .collect();
    rows.sort();
    // The first capture was chunked and gzip-encoded as sent; its links read all the same.
    // (An event shows its link as last seen: B's text is from the June capture.)
    assert_eq!(
        rows,
        vec![
            r#"2025-05-01 new href http://target.test/a "the A guide" nofollow=false text_pre="Read""#,
            r#"2025-05-01 new href http://target.test/b "B" nofollow=true text_pre="Only""#,
            r#"2025-06-01 lost href http://target.test/a "the A guide" nofollow=false text_pre="Read""#,
            r#"2025-06-01 new redirect http://target.test/new "" nofollow=false text_pre="""#,
        ]
    );
}

#[test]
fn from_domains_keep_only_pages_on_the_listed_sites() {
    let a = archives();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let list = dir.path().join("from.txt");
    std::fs::write(&list, "h002.test\n").unwrap();
    let out = import(
        &db,
        &[
            "--from-domains",
            list.to_str().unwrap(),
            a.first.to_str().unwrap(),
        ],
    );
    assert!(out.contains("filtered out"), "{out}");
    let store = Store::open(&db).unwrap();
    let got = index_backlinks(&store);
    assert!(!got.is_empty());
    assert!(
        got.keys()
            .all(|k| k.0.starts_with("http://h002.test:8080/")),
        "{got:#?}"
    );
    let (want, _) = oracle(&a.t1, &a.t1, D1, D1);
    let want: BTreeMap<_, _> = want
        .into_iter()
        .filter(|(k, _)| k.0.starts_with("http://h002.test:8080/"))
        .collect();
    assert_eq!(got, want);
}

/// The requests a test file server saw: `(path, Range start)`.
type RequestLog = std::sync::Arc<std::sync::Mutex<Vec<(String, Option<u64>)>>>;

/// A file server on loopback for the HTTP import: `GET /NAME` answers the file; with
/// `Range: bytes=N-` a 206 from byte N, unless NAME is in `no_ranges` (then the whole file
/// again, as a server without range support does). Every whole-file answer announces the full
/// length and then cuts the connection halfway, so every download must resume. Returns the
/// address and the log of `(path, range)` requests.
pub(crate) fn cutting_file_server(
    files: Vec<(String, Vec<u8>)>,
    no_ranges: &'static [&'static str],
) -> (std::net::SocketAddr, RequestLog) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        // Bounded: the tests make fewer than 100 requests.
        for stream in listener.incoming().take(100) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let mut range = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v.trim().trim_end_matches('-').parse::<u64>().ok();
                }
            }
            let name = path.trim_start_matches('/').to_string();
            seen.lock().unwrap().push((name.clone(), range));
            let Some((_, body)) = files.iter().find(|(n, _)| *n == name) else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let len = body.len();
            match range.filter(|_| !no_ranges.contains(&name.as_str())) {
                Some(from) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{len}\r\nConnection: close\r\n\r\n",
                        len as u64 - from,
                        len - 1
                    );
                    let _ = stream.write_all(&body[from as usize..]);
                }
                None => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                    );
                    // Paths lists arrive whole; archives and ranks lists are cut halfway on
                    // a whole-file answer, except the last one of a no-range file (it must
                    // finish).
                    let cut = (name.contains("warc") || name.contains("ranks"))
                        && seen
                            .lock()
                            .unwrap()
                            .iter()
                            .filter(|(n, _)| *n == name)
                            .count()
                            < 3;
                    let end = if cut { len / 2 } else { len };
                    let _ = stream.write_all(&body[..end]);
                }
            }
            let _ = stream.flush();
        }
    });
    (addr, log)
}

/// `linkdiff import` of worker `w`'s share of the paths list at `list` (paths from `base`),
/// with `progress`: the process's output, whatever its status.
fn import_paths(
    db: &Path,
    list: &str,
    base: &str,
    w: &str,
    progress: &str,
) -> std::process::Output {
    bin(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        "--progress",
        progress,
        "--paths",
        list,
        "--base",
        base,
        "--worker",
        w,
    ])
}

/// The two epochs' archives as the file server's `crawl/…` files, with a paths list.
fn served_archives(a: &Archives, list_name: &str, list: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    vec![
        (
            "crawl/epoch1.warc.gz".to_string(),
            std::fs::read(&a.first).unwrap(),
        ),
        (
            "crawl/epoch2.warc".to_string(),
            std::fs::read(&a.second).unwrap(),
        ),
        (list_name.to_string(), list),
    ]
}

#[test]
fn an_http_paths_list_split_over_two_workers_survives_cut_connections_and_gives_the_truth() {
    let a = archives();
    let files = served_archives(
        &a,
        "warc.paths.gz",
        testfiles::gz(b"crawl/epoch1.warc.gz\ncrawl/epoch2.warc\ncrawl/missing.warc.gz\n"),
    );
    // The second file's server ignores Range: its download starts over and skips what it
    // had read.
    let (addr, log) = cutting_file_server(files, &["crawl/epoch2.warc"]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let base = format!("http://{addr}/");
    let list = format!("{base}warc.paths.gz");
    // Worker 0/2 has the first and the third (missing) file: the missing one is counted as
    // failed, the other imported, and the exit status says the run is not whole.
    let out = import_paths(&db, &list, &base, "0/2", "off");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("1 files failed: http://")
            && stdout.contains("missing.warc.gz (")
            && stdout.contains("Ranks recomputed"),
        "{stdout}"
    );
    // Worker 1/2, with progress lines: one as its file starts.
    let out = import_paths(&db, &list, &base, "1/2", "plain");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("Ranks recomputed"),
        "1/2: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("import: file 1/1 epoch2.warc: "),
        "{stderr}"
    );
    let store = Store::open(&db).unwrap();
    assert_matches_truth(&store, &a);
    drop(store);
    let log = log.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|(n, r)| n == "crawl/epoch1.warc.gz" && r.is_some_and(|r| r > 0)),
        "the cut download resumed with a Range request: {log:?}"
    );
    assert!(
        log.iter()
            .any(|(n, r)| n == "crawl/epoch2.warc" && r.is_some_and(|r| r > 0)),
        "{log:?}"
    );
    // A rerun skips the worker's finished file (its checkpoint says done) and tries the
    // missing one again.
    let again = import_paths(&db, &list, &base, "0/2", "off");
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.contains("1 inputs already imported") && again.contains("1 files failed"),
        "{again}"
    );
    // A worker whose share is empty, and a bad list, say so.
    let out = bin(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        "--paths",
        &format!("{base}nothing.paths"),
        "--progress",
        "off",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing.paths"), "{err}");
}

#[test]
fn two_http_import_workers_into_a_clickhouse_cluster_answer_like_a_local_sqlite_import() {
    use linkdiff_store::clickhouse::client::{ChLocation, Client};
    use linkdiff_store::clickhouse::ChStore;
    let Some(servers) = clickhouse_servers() else {
        clickhouse_skipped("import::two_http_import_workers");
        return;
    };
    let spec = clickhouse_db(&servers, "httpimport");
    let loc = ChLocation::parse(&spec).unwrap().unwrap();
    ChStore::init(&loc, Some("linkdiff")).expect("create the tables on the cluster");
    let a = archives();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("local.db");
    import(
        &sqlite,
        &[a.first.to_str().unwrap(), a.second.to_str().unwrap()],
    );
    let files = served_archives(
        &a,
        "wat.paths",
        b"crawl/epoch1.warc.gz\ncrawl/epoch2.warc\n".to_vec(),
    );
    let (addr, log) = cutting_file_server(files, &[]);
    let base = format!("http://{addr}/");
    let list = format!("{base}wat.paths");
    // One worker after the other (run at once, their answers differ from the local import:
    // see the closing note of 2026-12-07, issue 28). Each leaves ranking to one `rank` after
    // the last of them.
    for w in ["0/2", "1/2"] {
        let out = import(
            Path::new(&spec),
            &["--paths", &list, "--base", &base, "--worker", w],
        );
        assert!(
            out.contains(
                "Ranks: run `linkdiff rank` on the ClickHouse index once every worker is done."
            ),
            "{out}"
        );
    }
    let ranked = bin(&["rank", "--db", &spec]);
    assert!(ranked.status.success(), "{ranked:?}");
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|(_, r)| r.is_some_and(|r| r > 0)),
        "a cut download resumed"
    );
    let sqlite = sqlite.to_str().unwrap();
    for table in [
        "backlinks",
        "backlinks_new_lost",
        "backlinks_new_lost_counters",
        "anchors",
        "refdomains",
    ] {
        let args = [table, "--target", "test", "--mode", "subdomains"];
        let (x, y) = (cli_json(sqlite, &args), cli_json(&spec, &args));
        assert!(x.to_string().len() > 100, "{table}: {x}");
        assert!(
            x == y,
            "{table}: SQLite and ClickHouse differ: {}",
            first_difference(&x.to_string(), &y.to_string())
        );
    }
    for s in &loc.servers {
        let _ = Client::new(s, &loc).execute(&format!("DROP DATABASE IF EXISTS {}", loc.database));
    }
}
