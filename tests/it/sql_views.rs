//! The readable SQL views (`v_backlinks`, `v_events`, `v_anchors`, `v_refdomains`, `v_pages`):
//! for a target, their rows agree with the v2 answers; Datasette opens the index and returns
//! `v_backlinks` as JSON; the README's SQL and pandas examples run; and the views answer while
//! a crawl writes.

use crate::support::*;
use linkdiff_testweb::WebConfig;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn read_only(db: &Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

/// Rows of `sql` as lines of `|`-joined cells (NULL as `∅`), sorted.
fn rows(c: &Connection, sql: &str) -> BTreeSet<String> {
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        let cells: Vec<String> = (0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "∅".to_string(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(_) => "blob".to_string(),
            })
            .collect();
        Ok(cells.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The v2 answer's rows (under `key`) as lines of `cols`, sorted.
fn v2_rows(answer: &Value, key: &str, cols: &[&str]) -> BTreeSet<String> {
    answer[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {answer}"))
        .iter()
        .map(|r| {
            cols.iter()
                .map(|c| match &r[*c] {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => u8::from(*b).to_string(),
                    Value::Null => "∅".to_string(),
                    v => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_views_agree_with_the_v2_tables_and_open_in_datasette_and_pandas() {
    let (_w, dir, store) = indexed_web(
        WebConfig {
            hosts: 8,
            pages_per_host: 6,
            ..WebConfig::default()
        },
        day("2026-01-05"),
        day("2026-01-12"),
    )
    .await;
    store.flush().unwrap();
    let db = dir.path().join("db");
    let dbs = db.to_str().unwrap();
    let c = read_only(&db);
    let target = "h001.test";
    let q = |table: &str, select: &str| {
        cli_json(
            dbs,
            &[
                table, "--target", target, "--mode", "domain", "--select", select,
            ],
        )
    };

    // Live backlinks, field by field.
    let cols = "url_from,url_to,link_type,anchor,alt,text_pre,text_post,nofollow,redirect,first_seen,last_visited,domain_rating";
    let v2 = v2_rows(
        &q("backlinks", cols),
        "refpages",
        &cols.split(',').collect::<Vec<_>>(),
    );
    let view = rows(
        &c,
        &format!(
            "SELECT url_from, url_to, link_type, anchor, alt, text_pre, text_post, nofollow, redirect,
                    first_seen, last_seen, domain_rating_from
             FROM v_backlinks WHERE host_to = '{target}' AND lost_at IS NULL"
        ),
    );
    assert!(!v2.is_empty());
    assert_eq!(view, v2, "live v_backlinks = v2 backlinks");

    // Events, with their reasons.
    let cols = "date,type,reason,url_from,url_to,link_type,anchor";
    let v2 = v2_rows(
        &q("backlinks_new_lost", cols),
        "refpages",
        &cols.split(',').collect::<Vec<_>>(),
    );
    let view = rows(
        &c,
        &format!(
            "SELECT date, type, coalesce(reason, ''), url_from, url_to, link_type, anchor
             FROM v_events WHERE host_to = '{target}'"
        ),
    );
    assert_eq!(view, v2, "v_events = v2 backlinks_new_lost");
    let lost: BTreeSet<String> = v2
        .iter()
        .filter(|r| r.contains("|lost|"))
        .cloned()
        .collect();
    assert!(!lost.is_empty(), "the second crawl lost links: {v2:?}");

    // Every lost link is in v_backlinks with the day and reason of its last lost event.
    let lost_links = rows(
        &c,
        &format!(
            "SELECT substr(lost_at, 1, 10), 'lost', lost_reason, url_from, url_to,
                    link_type, anchor
             FROM v_backlinks WHERE host_to = '{target}' AND lost_at IS NOT NULL"
        ),
    );
    assert_eq!(lost_links, lost, "lost v_backlinks = the v2 lost events");

    // Anchors and referring domains.
    let cols = "anchor,backlinks,refpages,refdomains,first_seen,last_visited";
    let v2 = v2_rows(
        &q("anchors", cols),
        "anchors",
        &cols.split(',').collect::<Vec<_>>(),
    );
    let view = rows(
        &c,
        &format!(
            "SELECT anchor, backlinks, refpages, refdomains, first_seen, last_seen
             FROM v_anchors WHERE host_to = '{target}'"
        ),
    );
    assert!(!v2.is_empty());
    assert_eq!(view, v2, "v_anchors = v2 anchors");
    let cols = "refdomain,backlinks,refpages,first_seen,last_visited,domain_rating";
    let v2 = v2_rows(
        &q("refdomains", cols),
        "refdomains",
        &cols.split(',').collect::<Vec<_>>(),
    );
    let view = rows(
        &c,
        &format!(
            "SELECT domain_from, backlinks, refpages, first_seen, last_seen, domain_rating
             FROM v_refdomains WHERE host_to = '{target}'"
        ),
    );
    assert_eq!(view, v2, "v_refdomains = v2 refdomains");
    let dofollow: i64 = c
        .query_row(
            &format!("SELECT sum(dofollow) FROM v_refdomains WHERE host_to = '{target}'"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let live_dofollow: i64 = c
        .query_row(
            &format!(
                "SELECT count(*) FROM v_backlinks WHERE host_to = '{target}' AND lost_at IS NULL AND nofollow = 0"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dofollow, live_dofollow);

    // Pages: the target's home page as pages_extended answers it.
    let home: String = c
        .query_row(
            &format!(
                "SELECT url FROM v_pages WHERE host = '{target}' ORDER BY length(url) LIMIT 1"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(home.ends_with('/'), "{home}");
    let cols =
        "url,http_code,first_seen,last_visited,title,links_internal,links_external,ahrefs_rank";
    let v2 = v2_rows(
        &cli_json(
            dbs,
            &[
                "pages_extended",
                "--target",
                &home,
                "--mode",
                "exact",
                "--select",
                cols,
            ],
        ),
        "pages",
        &cols.split(',').collect::<Vec<_>>(),
    );
    let view = rows(
        &c,
        &format!(
            "SELECT url, http_code, first_seen, last_visited, title, links_internal,
                    links_external, url_rating
             FROM v_pages WHERE url = '{home}'"
        ),
    );
    assert_eq!(view.len(), 1);
    assert_eq!(view, v2, "v_pages = v2 pages_extended");

    // The README's examples ("Your index in SQL") run and answer.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme.find("## Your index in SQL").expect("README section")..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let sql_blocks: Vec<&str> = section
        .split("```sql\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(sql_blocks.len() >= 3, "README SQL examples");
    for sql in &sql_blocks {
        // The examples name `example.com`: ask about the test target instead, a week after
        // the second crawl.
        let sql = sql
            .replace("example.com", target)
            .replace("date('now', '-7 days')", "'2026-01-10'");
        let got = rows(&c, &sql);
        assert!(!got.is_empty(), "README example answers nothing: {sql}");
    }
    drop(c);

    let Some(py) = client_python() else {
        eprintln!("SKIPPED Datasette and pandas: no Python");
        return;
    };
    let bin_dir = py.parent().unwrap();
    let datasette = bin_dir.join("datasette");
    if !datasette.exists() {
        let _ = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "datasette", "pandas"])
            .status();
    }
    assert!(
        datasette.exists(),
        "Datasette is installed into the test venv by .ci/run"
    );
    // Datasette opens the file read-only (its default for a database file) and answers the
    // view as JSON, as a user's browser or script would ask it.
    let out = Command::new(&datasette)
        .arg(&db)
        .args([
            "--get",
            &format!("/db/v_backlinks.json?_shape=array&_size=max&host_to={target}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let from_datasette: BTreeSet<String> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}",
                r["url_from"].as_str().unwrap(),
                r["url_to"].as_str().unwrap(),
                r["lost_at"].as_str().unwrap_or("∅")
            )
        })
        .collect();
    let c = read_only(&db);
    let expected = rows(
        &c,
        &format!(
            "SELECT url_from, url_to, coalesce(lost_at, '∅') FROM v_backlinks WHERE host_to = '{target}'"
        ),
    );
    assert_eq!(from_datasette, expected);

    // The README's pandas example.
    let py_blocks: Vec<&str> = section
        .split("```python\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(py_blocks.len(), 1, "one pandas example");
    let script = py_blocks[0]
        .replace("linkdiff.db", dbs)
        .replace("example.com", target)
        + "\nprint(len(lost), len(top))\n";
    let out = Command::new(&py).args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<usize> = printed
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(counts[0] > 0 && counts[1] > 0, "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_views_answer_while_a_crawl_writes() {
    let w = web(WebConfig {
        hosts: 10,
        pages_per_host: 40,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let store = linkdiff_store::Store::open(&db).unwrap();
    // Slow enough (20 pages/s per host) that the readers see it in progress.
    let cfg = linkdiff_crawler::CrawlConfig {
        rate: 20.0,
        ..crawl_cfg(&w, Some(day("2026-01-05")))
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (d, path) = (done.clone(), db.clone());
    let reader = std::thread::spawn(move || {
        let c = read_only(&path);
        let mut seen = Vec::new();
        // Bounded: at most 600 reads, 20 ms apart.
        for _ in 0..600 {
            if d.load(std::sync::atomic::Ordering::Acquire) {
                break;
            }
            // One statement, so both counts come from one snapshot (two statements may see
            // a commit of the crawl between them).
            let (n, a): (i64, i64) = c
                .query_row(
                    "SELECT (SELECT count(*) FROM v_backlinks), (SELECT count(*) FROM v_anchors)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("v_backlinks and v_anchors during the crawl");
            assert!(a <= n.max(0), "{a} anchors of {n} backlinks");
            seen.push(n);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        seen
    });
    crawl(&store, &cfg).await;
    done.store(true, std::sync::atomic::Ordering::Release);
    let seen = reader.join().unwrap();
    store.flush().unwrap();
    let c = read_only(&db);
    let total: i64 = c
        .query_row("SELECT count(*) FROM v_backlinks", [], |r| r.get(0))
        .unwrap();
    assert!(total > 0);
    assert!(
        seen.windows(2).all(|p| p[0] <= p[1]),
        "a first crawl only adds backlinks: {seen:?}"
    );
    assert!(
        seen.iter().any(|&n| n > 0 && n < total),
        "a read saw the crawl half done: {seen:?} of {total}"
    );
}
