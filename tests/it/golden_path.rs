//! The golden path: `linkdiff demo`, then every table from the CLI and over HTTP, and the
//! DataForSEO endpoint, all agree with the demo web's ground truth.

use crate::crawl_e2e::{oracle, Ev, Key};
use crate::support::*;
use linkdiff_testweb::{TestWeb, WebConfig};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_then_every_table_agrees_with_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db").display().to_string();
    let out = tokio::task::spawn_blocking({
        let db = db.clone();
        move || bin(&["demo", "--db", &db])
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "== Totals",
        "backlinks_new_lost",
        "backlinks_new_lost_counters",
        "== Top anchors",
        "linkdiff serve",
    ] {
        assert!(text.contains(want), "demo output lacks {want}:\n{text}");
    }
    let port: u16 = text
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // Ground truth of the same web (the demo uses the default configuration).
    let web = TestWeb::new(WebConfig::default());
    web.set_port(port);
    let today = chrono::Utc::now().timestamp() / 86_400 * 86_400;
    let (d1, d2) = (
        linkdiff_query::time::date(today - 7 * 86_400),
        linkdiff_query::time::date(today),
    );
    let t1 = web.truth(1, &[]);
    let t2 = web.truth(2, &t1.keys().cloned().collect::<Vec<_>>());
    let (live, events): (BTreeMap<Key, u32>, Vec<Ev>) = oracle(&t1, &t2, &d1, &d2);

    let (db2, db3) = (db.clone(), db.clone());
    let (backlinks, new_lost) = tokio::task::spawn_blocking(move || {
        (
            cli_json(
                &db2,
                &["backlinks", "--target", "test", "--mode", "subdomains"],
            ),
            cli_json(
                &db3,
                &[
                    "backlinks_new_lost",
                    "--target",
                    "test",
                    "--mode",
                    "subdomains",
                ],
            ),
        )
    })
    .await
    .unwrap();
    let mut got_live: BTreeMap<Key, u32> = BTreeMap::new();
    for r in backlinks["refpages"].as_array().unwrap() {
        let k = (
            r["url_from"].as_str().unwrap().to_string(),
            r["url_to"].as_str().unwrap().to_string(),
            r["link_type"].as_str().unwrap().to_string(),
            r["anchor"].as_str().unwrap().to_string(),
            r["nofollow"].as_bool().unwrap(),
        );
        *got_live.entry(k).or_default() += 1;
    }
    assert_eq!(got_live, live, "backlinks table vs ground truth");
    let mut got_events: Vec<Ev> = new_lost["refpages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let kind = if r["type"] == "new" { "new" } else { "lost" };
            let origin = match r["origin"].as_str().unwrap() {
                "fresh" => "fresh",
                "recrawl" => "recrawl",
                _ => "drop",
            };
            (
                r["date"].as_str().unwrap().to_string(),
                kind,
                origin,
                r["url_from"].as_str().unwrap().to_string(),
                r["url_to"].as_str().unwrap().to_string(),
                r["link_type"].as_str().unwrap().to_string(),
                r["anchor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got_events.sort();
    assert_eq!(got_events, events, "backlinks_new_lost vs ground truth");

    // Counters and anchors for one target, from the truth.
    let target_events: Vec<&Ev> = events
        .iter()
        .filter(|e| e.4.contains("://h001.test:"))
        .collect();
    let db4 = db.clone();
    let (counters, anchors) = tokio::task::spawn_blocking(move || {
        (
            cli_json(
                &db4,
                &[
                    "backlinks_new_lost_counters",
                    "--target",
                    "h001.test",
                    "--mode",
                    "domain",
                    "--select",
                    "date,new,lost",
                ],
            ),
            cli_json(
                &db4,
                &["anchors", "--target", "h001.test", "--mode", "domain"],
            ),
        )
    })
    .await
    .unwrap();
    for c in counters["counts"].as_array().unwrap() {
        let d = c["date"].as_str().unwrap();
        let n = target_events
            .iter()
            .filter(|e| e.0 == d && e.1 == "new")
            .count();
        let l = target_events
            .iter()
            .filter(|e| e.0 == d && e.1 == "lost")
            .count();
        assert_eq!(
            (
                c["new"].as_u64().unwrap() as usize,
                c["lost"].as_u64().unwrap() as usize
            ),
            (n, l),
            "{d}"
        );
    }
    let mut want_anchors: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, to, _, anchor, _), n) in &live {
        if to.contains("://h001.test:") {
            *want_anchors.entry(anchor.clone()).or_default() += *n as u64;
        }
    }
    let got_anchors: BTreeMap<String, u64> = anchors["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["anchor"].as_str().unwrap().to_string(),
                a["backlinks"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got_anchors, want_anchors, "anchors vs ground truth");

    // Over HTTP: `linkdiff serve` answers the same, and DataForSEO counts match the truth.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(["serve", "--db", &db, "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // Keep draining the server's request log.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let addr: std::net::SocketAddr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (_, _, http) = raw(
        addr,
        "GET",
        "/?from=backlinks_new_lost&target=test&mode=subdomains&limit=5000000&output=json",
        &[],
        b"",
    )
    .await;
    let http_json: J = serde_json::from_str(&http)
        .unwrap_or_else(|e| panic!("{e}: {}", &http[..http.len().min(300)]));
    assert_eq!(http_json, new_lost);
    let since = linkdiff_query::time::date(today - 30 * 86_400);
    let body = format!(r#"[{{"targets":["h001.test","h002.test"],"date_from":"{since}"}}]"#);
    let (status, _, dfs) = raw(
        addr,
        "POST",
        "/v3/backlinks/bulk_new_lost_backlinks/live",
        &[],
        body.as_bytes(),
    )
    .await;
    drop(child);
    assert_eq!(status, 200);
    let v: J = serde_json::from_str(&dfs).unwrap();
    for item in v["tasks"][0]["result"][0]["items"].as_array().unwrap() {
        let t = item["target"].as_str().unwrap();
        let hit = |e: &&Ev| e.4.contains(&format!("://{t}:"));
        let n = events.iter().filter(hit).filter(|e| e.1 == "new").count() as u64;
        let l = events.iter().filter(hit).filter(|e| e.1 == "lost").count() as u64;
        assert_eq!(
            (
                item["new_backlinks"].as_u64().unwrap(),
                item["lost_backlinks"].as_u64().unwrap()
            ),
            (n, l),
            "{t}"
        );
    }
}
