//! The DataForSEO endpoint: HTTP error paths, and the official Python client
//! (`dataforseo-client` from PyPI) against a crawled test web.

use crate::crawl_e2e::oracle;
use crate::support::*;
use linkdiff_testweb::WebConfig;
use serde_json::Value as J;
use std::path::Path;
use std::process::Command;

const PATH: &str = "/v3/backlinks/bulk_new_lost_backlinks/live";

fn basic(name: &str, token: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{name}:{token}"))
    )
}

/// Run a client script from `tests/clients` with `args`; its one line of JSON, parsed.
async fn client(python: &Path, script: &str, args: Vec<String>) -> J {
    let mut cmd = Command::new(python);
    cmd.arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/clients")
            .join(script),
    )
    .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_path_errors_over_http() {
    let (_w, _dir, store) = indexed_web(
        WebConfig {
            hosts: 4,
            pages_per_host: 3,
            ..WebConfig::default()
        },
        day("2026-01-05"),
        day("2026-01-12"),
    )
    .await;
    let token = linkdiff::api::tokens::create(&store, "ci", 100).unwrap();
    let addr = api(&store).await;
    let body = br#"[{"targets":["h001.test"]}]"#;
    let (status, h, b) = raw(
        addr,
        "POST",
        PATH,
        &[("Authorization", &basic("ci", "wrong"))],
        body,
    )
    .await;
    assert_eq!(status, 401);
    assert!(header(&h, "www-authenticate").is_some_and(|v| v.starts_with("Basic")));
    assert_eq!(serde_json::from_str::<J>(&b).unwrap()["status_code"], 40100);
    let (status, _, _) = raw(addr, "POST", PATH, &[], body).await;
    assert_eq!(status, 401, "no credentials while tokens exist");
    let (status, _, b) = raw(
        addr,
        "POST",
        "/v3/backlinks/nope/live",
        &[("Authorization", &basic("ci", &token))],
        body,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(serde_json::from_str::<J>(&b).unwrap()["status_code"], 40400);
    let (status, _, b) = raw(
        addr,
        "POST",
        PATH,
        &[("Authorization", &basic("ci", &token))],
        b"",
    )
    .await;
    assert_eq!(
        (
            status,
            serde_json::from_str::<J>(&b).unwrap()["status_code"].as_u64()
        ),
        (200, Some(40502))
    );
    let (_, _, b) = raw(
        addr,
        "POST",
        PATH,
        &[("Authorization", &basic("ci", &token))],
        b"{\"targets\":[]}",
    )
    .await;
    assert_eq!(serde_json::from_str::<J>(&b).unwrap()["status_code"], 40503);
    let (_, _, b) = raw(
        addr,
        "POST",
        PATH,
        &[("Authorization", &basic("ci", &token))],
        br#"[{"targets":["a.test"]},{"targets":["b.test"]}]"#,
    )
    .await;
    assert_eq!(serde_json::from_str::<J>(&b).unwrap()["status_code"], 40000);
    let (_, _, b) = raw(
        addr,
        "POST",
        PATH,
        &[("Authorization", &basic("ci", &token))],
        br#"[{"targets":["a.test"],"tag":7}]"#,
    )
    .await;
    let v: J = serde_json::from_str(&b).unwrap();
    assert_eq!(v["tasks"][0]["status_code"], 40501);
    assert_eq!(v["tasks"][0]["status_message"], "Invalid Field: 'tag'.");
    assert!(v["tasks"][0]["result"].is_null());
    assert_eq!(v["tasks_error"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_client_reads_the_ground_truth_counts() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    let today = chrono::Utc::now().timestamp() / 86_400 * 86_400;
    let (d1, d2) = (today - 10 * 86_400, today - 3 * 86_400);
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (w, _dir, store) = indexed_web(cfg, d1, d2).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 1000).unwrap();
    let addr = api(&store).await;
    let port = w.addr.port();
    let t1 = w.web.truth(1, &[]);
    let known: Vec<String> = t1.keys().cloned().collect();
    let t2 = w.web.truth(2, &known);
    let (ds1, ds2) = (
        linkdiff_query::time::date(d1),
        linkdiff_query::time::date(d2),
    );
    let (live, events) = oracle(&t1, &t2, &ds1, &ds2);
    let page = format!("http://h002.test:{port}/");
    let targets = [
        "h001.test".to_string(),
        page.clone(),
        "www.h003.test".to_string(),
        "nothing.test".to_string(),
    ];
    for date_from in [
        linkdiff_query::time::date(today - 20 * 86_400),
        linkdiff_query::time::date(today - 5 * 86_400),
    ] {
        let expect = |t: &str| {
            let hit = |to: &str| match t {
                "h001.test" => linkdiff_model::url_host(to).ends_with("h001.test"),
                "www.h003.test" => linkdiff_model::url_host(to) == "www.h003.test",
                "nothing.test" => false,
                _ => to == page,
            };
            let n = events
                .iter()
                .filter(|e| e.0 >= date_from && hit(&e.4) && e.1 == "new")
                .count();
            let l = events
                .iter()
                .filter(|e| e.0 >= date_from && hit(&e.4) && e.1 == "lost")
                .count();
            (n as u64, l as u64)
        };
        let mut args = vec![
            format!("http://{addr}"),
            "agency".into(),
            token.clone(),
            date_from.clone(),
        ];
        args.extend(targets.iter().cloned());
        let v = client(&python, "dataforseo_bulk.py", args).await;
        assert_eq!(v["status_code"], 20000);
        assert_eq!(v["tag"], "ci");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), targets.len());
        for (item, t) in items.iter().zip(&targets) {
            assert_eq!(item["target"], t.as_str(), "request order kept");
            let got = (
                item["new_backlinks"].as_u64().unwrap(),
                item["lost_backlinks"].as_u64().unwrap(),
            );
            assert_eq!(got, expect(t), "{t} since {date_from}");
        }
        assert!(
            items[0]["new_backlinks"].as_u64().unwrap() > 0,
            "the scenario has events for h001.test"
        );
    }

    // Referring domains: with two crawls, those linking on day 1 are new then; on day 2 those
    // linking only now are new and those no longer linking are lost. Hosts and registrable
    // domains (DataForSEO's "main domains") are counted apart.
    use linkdiff_model::url_host;
    use std::collections::BTreeSet;
    let hit = |t: &str, to: &str| match t {
        "h001.test" => url_host(to).ends_with("h001.test"),
        "www.h003.test" => url_host(to) == "www.h003.test",
        "nothing.test" => false,
        _ => to == page,
    };
    for date_from in [today - 20 * 86_400, today - 5 * 86_400] {
        let expect = |t: &str, unit: &dyn Fn(&str) -> String| {
            let day1: BTreeSet<String> = events
                .iter()
                .filter(|e| e.0 == ds1 && e.1 == "new" && hit(t, &e.4))
                .map(|e| unit(&e.3))
                .collect();
            let day2: BTreeSet<String> = live
                .keys()
                .filter(|k| hit(t, &k.1))
                .map(|k| unit(&k.0))
                .collect();
            let gained = day2.difference(&day1).count() as u64;
            let lost = day1.difference(&day2).count() as u64;
            let first = if date_from <= d1 {
                day1.len() as u64
            } else {
                0
            };
            (first + gained, lost)
        };
        let host = |u: &str| url_host(u).to_string();
        let domain = |u: &str| linkdiff_model::registrable_domain(url_host(u)).to_string();
        let mut args = vec![
            format!("http://{addr}"),
            "agency".into(),
            token.clone(),
            linkdiff_query::time::date(date_from),
            "--referring-domains".into(),
        ];
        args.extend(targets.iter().cloned());
        let v = client(&python, "dataforseo_bulk.py", args).await;
        assert_eq!(v["status_code"], 20000);
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), targets.len());
        for (item, t) in items.iter().zip(&targets) {
            let n = |f: &str| item[f].as_u64().unwrap();
            assert_eq!(
                (n("new_referring_domains"), n("lost_referring_domains")),
                expect(t, &host),
                "{t} hosts since {date_from}"
            );
            assert_eq!(
                (
                    n("new_referring_main_domains"),
                    n("lost_referring_main_domains")
                ),
                expect(t, &domain),
                "{t} domains since {date_from}"
            );
        }
        if date_from <= d1 {
            assert!(items[0]["new_referring_main_domains"].as_u64().unwrap() > 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_the_summary_of_a_crawled_target() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::url_host;
    use std::collections::BTreeSet;
    let (d1, d2) = (day("2026-01-05"), day("2026-01-12"));
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (w, _dir, store) = indexed_web(cfg, d1, d2).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 1000).unwrap();
    let addr = api(&store).await;
    let t1 = w.web.truth(1, &[]);
    let known: Vec<String> = t1.keys().cloned().collect();
    let t2 = w.web.truth(2, &known);
    let (live, _) = oracle(&t1, &t2, "2026-01-05", "2026-01-12");
    let target = "h001.test";
    let links: Vec<_> = live
        .iter()
        .filter(|(k, _)| url_host(&k.1).ends_with(target))
        .collect();
    let backlinks: u32 = links.iter().map(|(_, n)| **n).sum();
    let pages: BTreeSet<&str> = links.iter().map(|(k, _)| k.0.as_str()).collect();
    let hosts: BTreeSet<&str> = links.iter().map(|(k, _)| url_host(&k.0)).collect();
    let domains: BTreeSet<&str> = hosts
        .iter()
        .map(|h| linkdiff_model::registrable_domain(h))
        .collect();

    let args = vec![
        format!("http://{addr}"),
        "agency".into(),
        token.clone(),
        target.into(),
    ];
    let v = client(&python, "dataforseo_summary.py", args).await;
    assert_eq!(
        (v["status_code"].clone(), v["task_status"].clone()),
        (J::from(20000), J::from(20000))
    );
    let r = &v["result"];
    assert_eq!(r["target"], target);
    assert_eq!(r["backlinks"], backlinks);
    assert_eq!(r["referring_pages"], pages.len());
    assert_eq!(r["referring_domains"], hosts.len());
    assert_eq!(r["referring_main_domains"], domains.len());
    let types: u64 = r["referring_links_types"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(types, backlinks as u64, "every backlink has a type");
    assert!(r["crawled_pages"].as_u64().unwrap() > 0);
    assert_eq!(r["first_seen"], "2026-01-05 00:00:00 +00:00");
    let dr = store.domain(target).unwrap().unwrap().domain_rating as u64;
    assert_eq!(r["rank"], dr * 10);
    // What the index cannot know is absent (null), never made up.
    assert!(r.get("backlinks_spam_score").is_none_or(J::is_null));
    assert!(r.get("referring_links_countries").is_none_or(J::is_null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_weekly_new_and_lost_of_a_crawled_target() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::registrable_domain;
    use linkdiff_model::url_host;
    use std::collections::BTreeSet;
    // Two crawls on Mondays, a week apart.
    let (ds1, ds2) = ("2026-01-05", "2026-01-12");
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (w, _dir, store) = indexed_web(cfg, day(ds1), day(ds2)).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 1000).unwrap();
    let addr = api(&store).await;
    let t1 = w.web.truth(1, &[]);
    let known: Vec<String> = t1.keys().cloned().collect();
    let t2 = w.web.truth(2, &known);
    let (live, events) = oracle(&t1, &t2, ds1, ds2);
    let target = "h001.test";
    let hit = |to: &str| url_host(to).ends_with(target);
    let count = |date: &str, kind: &str| {
        events
            .iter()
            .filter(|e| e.0 == date && e.1 == kind && hit(&e.4))
            .count() as u64
    };
    // Referring hosts / domains linking after each crawl.
    let linking = |unit: &dyn Fn(&str) -> String| {
        let day1: BTreeSet<String> = events
            .iter()
            .filter(|e| e.0 == ds1 && e.1 == "new" && hit(&e.4))
            .map(|e| unit(&e.3))
            .collect();
        let day2: BTreeSet<String> = live
            .keys()
            .filter(|k| hit(&k.1))
            .map(|k| unit(&k.0))
            .collect();
        (
            day1.len() as u64,
            day2.difference(&day1).count() as u64,
            day1.difference(&day2).count() as u64,
        )
    };
    let hosts = linking(&|u: &str| url_host(u).to_string());
    let domains = linking(&|u: &str| registrable_domain(url_host(u)).to_string());

    let args = vec![
        format!("http://{addr}"),
        "agency".into(),
        token.clone(),
        target.into(),
        "2026-01-01".into(),
        "2026-01-31".into(),
        "week".into(),
    ];
    let v = client(&python, "dataforseo_timeseries.py", args).await;
    assert_eq!(v["task_status"], 20000, "{v}");
    let r = &v["result"];
    assert_eq!(r["group_range"], "week");
    let items = r["items"].as_array().unwrap();
    let dates: Vec<&str> = items.iter().map(|i| i["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        [
            "2025-12-29 00:00:00 +00:00",
            "2026-01-05 00:00:00 +00:00",
            "2026-01-12 00:00:00 +00:00",
            "2026-01-19 00:00:00 +00:00",
            "2026-01-26 00:00:00 +00:00"
        ]
    );
    let n = |i: usize, f: &str| items[i][f].as_u64().unwrap();
    assert_eq!(
        (n(1, "new_backlinks"), n(1, "lost_backlinks")),
        (count(ds1, "new"), 0)
    );
    assert_eq!(
        (n(2, "new_backlinks"), n(2, "lost_backlinks")),
        (count(ds2, "new"), count(ds2, "lost"))
    );
    assert_eq!(n(1, "new_referring_domains"), hosts.0);
    assert_eq!(
        (
            n(2, "new_referring_domains"),
            n(2, "lost_referring_domains")
        ),
        (hosts.1, hosts.2)
    );
    assert_eq!(n(1, "new_referring_main_domains"), domains.0);
    assert_eq!(
        (
            n(2, "new_referring_main_domains"),
            n(2, "lost_referring_main_domains")
        ),
        (domains.1, domains.2)
    );
    for i in [0, 3, 4] {
        assert_eq!(
            n(i, "new_backlinks") + n(i, "lost_backlinks"),
            0,
            "no crawl that week"
        );
    }
    assert!(count(ds1, "new") > 0 && count(ds2, "new") + count(ds2, "lost") > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_lists_backlinks_referring_domains_and_anchors_of_a_crawled_target() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::url_host;
    use std::collections::BTreeMap;
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (w, _dir, store) = indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 1000).unwrap();
    let addr = api(&store).await;
    let t1 = w.web.truth(1, &[]);
    let known: Vec<String> = t1.keys().cloned().collect();
    let t2 = w.web.truth(2, &known);
    let (live, events) = oracle(&t1, &t2, "2026-01-05", "2026-01-12");
    let target = "h001.test";
    let mut by_domain: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_anchor: BTreeMap<String, u64> = BTreeMap::new();
    for (k, n) in live
        .iter()
        .filter(|(k, _)| url_host(&k.1).ends_with(target))
    {
        *by_domain
            .entry(linkdiff_model::registrable_domain(url_host(&k.0)).to_string())
            .or_default() += *n as u64;
        *by_anchor.entry(k.3.clone()).or_default() += *n as u64;
    }
    let call = |endpoint: &str, task: J| {
        let args = vec![
            format!("http://{addr}"),
            "agency".into(),
            token.clone(),
            endpoint.to_string(),
            task.to_string(),
        ];
        client(&python, "dataforseo_list.py", args)
    };
    let items = |v: &J, key: &str| -> BTreeMap<String, u64> {
        v["result"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i[key].as_str().unwrap().to_string(),
                    i["backlinks"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let v = call(
        "referring_domains",
        serde_json::json!({"target": target, "limit": 1000, "order_by": ["domain,asc"]}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    assert_eq!(items(&v, "domain"), by_domain);
    assert_eq!(v["result"]["total_count"], by_domain.len());
    // Filters and paging.
    let v = call(
        "referring_domains",
        serde_json::json!({"target": target, "filters": ["backlinks", ">", 1], "order_by": ["backlinks,desc", "domain,asc"], "limit": 2}),
    )
    .await;
    let got = v["result"]["items"].as_array().unwrap();
    let many: Vec<(&String, &u64)> = by_domain.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(v["result"]["total_count"], many.len());
    assert_eq!(got.len(), many.len().min(2));
    assert!(got
        .windows(2)
        .all(|w| w[0]["backlinks"].as_u64() >= w[1]["backlinks"].as_u64()));
    let v = call(
        "anchors",
        serde_json::json!({"target": target, "limit": 1000}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    assert_eq!(items(&v, "anchor"), by_anchor);
    // backlinks/live: every live backlink, dofollow ones by filter, one per domain by mode.
    let all: u64 = by_domain.values().sum();
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "limit": 1000}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    assert_eq!(v["result"]["total_count"], all);
    let got = v["result"]["items"].as_array().unwrap();
    assert_eq!(got.len() as u64, all);
    assert!(got
        .iter()
        .all(|i| url_host(i["url_to"].as_str().unwrap()).ends_with(target)));
    let dofollow = live
        .iter()
        .filter(|(k, _)| url_host(&k.1).ends_with(target) && !k.4)
        .map(|(_, n)| *n as u64)
        .sum::<u64>();
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "limit": 1000, "filters": ["dofollow", "=", true]}),
    )
    .await;
    assert_eq!(v["result"]["total_count"], dofollow);
    assert!(v["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["dofollow"] == true));
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "limit": 1000, "mode": "one_per_domain"}),
    )
    .await;
    assert_eq!(v["result"]["total_count"], by_domain.len());
    // `or` and `regex` filters are evaluated on the items.
    let v = call(
        "anchors",
        serde_json::json!({"target": target, "limit": 1000, "filters": [["backlinks", ">", 1], "or", ["anchor", "regex", "^[a-f]"]]}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    let want: BTreeMap<String, u64> = by_anchor
        .iter()
        .filter(|(a, n)| **n > 1 || a.starts_with(|c: char| ('a'..='f').contains(&c)))
        .map(|(a, n)| (a.clone(), *n))
        .collect();
    assert_eq!(items(&v, "anchor"), want);
    assert_eq!(v["result"]["total_count"], want.len());
    // One backlink per anchor text.
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "limit": 1000, "mode": "one_per_anchor"}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    assert_eq!(v["result"]["total_count"], by_anchor.len());
    // Lost backlinks: the last loss of each link that is not live again, and all of them.
    let live_ids: std::collections::BTreeSet<(String, String, String, String)> = live
        .keys()
        .map(|k| (k.0.clone(), k.1.clone(), k.2.clone(), k.3.clone()))
        .collect();
    let lost_ids: std::collections::BTreeSet<(String, String, String, String)> = events
        .iter()
        .filter(|e| e.1 == "lost" && url_host(&e.4).ends_with(target))
        .map(|e| (e.3.clone(), e.4.clone(), e.5.clone(), e.6.clone()))
        .filter(|id| !live_ids.contains(id))
        .collect();
    assert!(!lost_ids.is_empty(), "the web lost links to {target}");
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "limit": 1000, "backlinks_status_type": "lost"}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    assert_eq!(v["result"]["total_count"], lost_ids.len());
    let got = v["result"]["items"].as_array().unwrap();
    // Lost in the second crawl: last seen in the first.
    assert!(
        got.iter().all(|i| i["is_lost"] == true
            && i["last_seen"]
                .as_str()
                .is_some_and(|t| t.starts_with("2026-01-05"))),
        "{}",
        got[0]
    );
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "limit": 1, "backlinks_status_type": "all", "filters": ["url_from", "in", [got[0]["url_from"].clone()]]}),
    )
    .await;
    assert_eq!(v["task_status"], 20000, "{v}");
    assert!(v["result"]["total_count"].as_u64().unwrap() >= 1);
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "backlinks_status_type": "all"}),
    )
    .await;
    assert_eq!(v["result"]["total_count"], all + lost_ids.len() as u64);
    // What cannot be answered is named, not ignored.
    let v = call(
        "anchors",
        serde_json::json!({"target": target, "filters": ["spam_score", ">", 1]}),
    )
    .await;
    assert_eq!(v["task_status"], 40501);
    assert_eq!(v["task_message"], "Invalid Field: 'filters'.");
    let v = call(
        "backlinks",
        serde_json::json!({"target": target, "backlinks_status_type": "broken"}),
    )
    .await;
    assert_eq!(v["task_status"], 40501);
    assert_eq!(v["task_message"], "Invalid Field: 'backlinks_status_type'.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_bulk_ranks_backlinks_and_referring_domains_at_live_and_ai_paths() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::{registrable_domain, url_host, Target};
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (w, _dir, store) = indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 100_000).unwrap();
    let addr = api(&store).await;
    let page = format!("http://h002.test:{}/", w.addr.port());
    let targets = [
        "h001.test".to_string(),
        "www.h003.test".to_string(),
        page.clone(),
    ];
    let mut answers = Vec::new();
    for ai in [false, true] {
        let mut args = vec![format!("http://{addr}"), "agency".into(), token.clone()];
        if ai {
            args.push("--ai".into());
        }
        args.extend(targets.iter().cloned());
        answers.push(client(&python, "dataforseo_bulk_totals.py", args).await);
    }
    assert_eq!(
        answers[0], answers[1],
        "the .ai paths answer as the live ones"
    );
    let v = &answers[0];
    for (i, t) in targets.iter().enumerate() {
        let scope = Target::dataforseo(t).unwrap();
        let links: Vec<(String, bool)> = store
            .backlinks(&scope)
            .map(|r| r.map(|(from, _, l)| (from, l.nofollow)).unwrap())
            .collect();
        assert_eq!(v["backlinks"][i]["target"], t.as_str());
        assert_eq!(v["backlinks"][i]["backlinks"], links.len(), "{t}");
        let count = |key: &dyn Fn(&str) -> String, nofollow: bool| {
            links
                .iter()
                .filter(|(_, n)| !nofollow || *n)
                .map(|(f, _)| key(f))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        };
        let host = |u: &str| url_host(u).to_string();
        let domain = |u: &str| registrable_domain(url_host(u)).to_string();
        let rd = &v["referring_domains"][i];
        assert_eq!(rd["referring_domains"], count(&host, false), "{t}");
        assert_eq!(rd["referring_domains_nofollow"], count(&host, true), "{t}");
        assert_eq!(rd["referring_main_domains"], count(&domain, false), "{t}");
        assert_eq!(
            rd["referring_main_domains_nofollow"],
            count(&domain, true),
            "{t}"
        );
        let rating = match &scope {
            Target::Exact(_) => store.page(t).unwrap().unwrap().url_rating as u64,
            _ => {
                store
                    .domain(scope.registrable_domain())
                    .unwrap()
                    .unwrap()
                    .domain_rating as u64
            }
        };
        assert_eq!(v["ranks"][i]["rank"], rating * 10, "{t}");
        let ps = &v["pages_summary"][i];
        assert_eq!(ps["url"], t.as_str());
        assert_eq!(ps["backlinks"], links.len(), "{t}");
        assert_eq!(ps["referring_main_domains"], count(&domain, false), "{t}");
        let main = store
            .domain(scope.registrable_domain())
            .unwrap()
            .unwrap()
            .domain_rating as u64;
        assert_eq!(ps["main_domain_rank"], main * 10, "{t}");
        assert_eq!(v["ranks_100"][i]["rank"], rating, "{t}");
    }
    assert!(v["backlinks"][0]["backlinks"].as_u64().unwrap() > 0);
    // The fields each endpoint's filters take, as the client reads them.
    let f = &v["available_filters"];
    assert_eq!(f["backlinks"]["dofollow"], "bool");
    assert_eq!(f["backlinks"]["first_seen"], "time");
    assert_eq!(f["referring_domains"]["rank"], "num");
    assert_eq!(f["competitors"]["intersections"], "num");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_the_competitors_of_a_crawled_target() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::{registrable_domain, url_host, Target};
    use std::collections::{BTreeMap, BTreeSet};
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (_w, _dir, store) = indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 100_000).unwrap();
    let addr = api(&store).await;
    // Every live link between the web's domains, from the index's backlinks of the whole TLD.
    let domain = |u: &str| registrable_domain(url_host(u)).to_string();
    let links: BTreeSet<(String, String)> = store
        .backlinks(&Target::Subdomains("test".into()))
        .map(|r| {
            r.map(|(from, id, _)| (domain(&from), domain(&id.url_to)))
                .unwrap()
        })
        .collect();
    let target = "h001.test";
    let referring: BTreeSet<&String> = links
        .iter()
        .filter(|(_, to)| to == target)
        .map(|(f, _)| f)
        .collect();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (from, to) in &links {
        if referring.contains(from) && to != target && to != from {
            *want.entry(to.clone()).or_default() += 1;
        }
    }
    assert!(!want.is_empty());
    let v = client(
        &python,
        "dataforseo_competitors.py",
        vec![
            format!("http://{addr}"),
            "agency".into(),
            token,
            target.into(),
        ],
    )
    .await;
    let items = v["items"].as_array().unwrap();
    let got: BTreeMap<String, u64> = items
        .iter()
        .map(|i| {
            (
                i["target"].as_str().unwrap().to_string(),
                i["intersections"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(v["total_count"], want.len());
    // Most shared first.
    let shared: Vec<u64> = items
        .iter()
        .map(|i| i["intersections"].as_u64().unwrap())
        .collect();
    assert!(shared.windows(2).all(|w| w[0] >= w[1]), "{shared:?}");
    let top = items[0]["target"].as_str().unwrap();
    let dr = store.domain(top).unwrap().unwrap().domain_rating as u64;
    assert_eq!(items[0]["rank"], dr * 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_the_link_gap_of_two_targets() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::{registrable_domain, url_host, Target};
    use std::collections::{BTreeMap, BTreeSet};
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (_w, _dir, store) = indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 100_000).unwrap();
    let addr = api(&store).await;
    let domain = |u: &str| registrable_domain(url_host(u)).to_string();
    // Live links per (referring domain, target domain), from the index's backlinks.
    let mut links: BTreeMap<(String, String), u64> = BTreeMap::new();
    for r in store.backlinks(&Target::Subdomains("test".into())) {
        let (from, id, _) = r.unwrap();
        *links
            .entry((domain(&from), domain(&id.url_to)))
            .or_default() += 1;
    }
    let refs = |t: &str| -> BTreeSet<String> {
        links
            .keys()
            .filter(|(_, to)| to == t)
            .map(|(f, _)| f.clone())
            .collect()
    };
    let (a, b, mine) = ("h001.test", "h002.test", "h003.test");
    let both: BTreeSet<String> = refs(a).intersection(&refs(b)).cloned().collect();
    let gap: BTreeSet<String> = both.difference(&refs(mine)).cloned().collect();
    assert!(!both.is_empty());
    // The official client's intersection call with `args` after the server and credentials.
    let intersect = |args: Vec<String>| {
        let mut all = vec![format!("http://{addr}"), "agency".into(), token.clone()];
        all.extend(args);
        client(&python, "dataforseo_intersection.py", all)
    };
    let targets = format!(r#"{{"1": "{a}", "2": "{b}"}}"#);
    for (excluded, want) in [(vec![], &both), (vec![mine.to_string()], &gap)] {
        let mut args = vec![targets.clone()];
        args.extend(excluded.clone());
        let v = intersect(args).await;
        let items = v["items"].as_array().unwrap();
        let got: BTreeSet<String> = items
            .iter()
            .map(|i| i["domains"]["1"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&got, want, "excluding {excluded:?}");
        assert_eq!(v["total_count"], want.len());
        for i in items {
            let d = i["domains"]["1"].as_str().unwrap();
            assert_eq!(i["domains"]["2"], d);
            assert_eq!(i["intersections_count"], 2);
            assert_eq!(i["backlinks"]["1"], links[&(d.to_string(), a.to_string())]);
            assert_eq!(i["backlinks"]["2"], links[&(d.to_string(), b.to_string())]);
        }
    }
    // filters and order_by on `K.field` and `intersections_count`: the domains with more than
    // seven links to the first target, most links to the second first.
    let v = intersect(vec![
        "--filters".into(),
        r#"[["1.backlinks", ">", 7], "and", ["intersections_count", "=", 2]]"#.into(),
        "--order-by".into(),
        r#"["2.backlinks,desc"]"#.into(),
        targets.clone(),
    ])
    .await;
    let want: BTreeSet<String> = both
        .iter()
        .filter(|d| links[&((*d).clone(), a.to_string())] > 7)
        .cloned()
        .collect();
    let items = v["items"].as_array().unwrap();
    let got: BTreeSet<String> = items
        .iter()
        .map(|i| i["domains"]["1"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "filtered: {v}");
    assert!(
        !want.is_empty() && want.len() < both.len(),
        "the filter should keep some: {v}"
    );
    assert_eq!(v["total_count"], want.len());
    let second: Vec<u64> = items
        .iter()
        .map(|i| i["backlinks"]["2"].as_u64().unwrap())
        .collect();
    assert!(second.windows(2).all(|w| w[0] >= w[1]), "order: {second:?}");
    // A field no intersection has is refused, naming `filters`.
    let (status, _, body) = raw(
        addr,
        "POST",
        "/v3/backlinks/domain_intersection/live",
        &[("Authorization", &basic("agency", &token))],
        format!(
            r#"[{{"targets": {{"1": "{a}", "2": "{b}"}}, "filters": ["3.backlinks", ">", 1]}}]"#
        )
        .as_bytes(),
    )
    .await;
    let v: J = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            status,
            &v["tasks"][0]["status_code"],
            &v["tasks"][0]["status_message"]
        ),
        (200, &J::from(40501), &J::from("Invalid Field: 'filters'.")),
        "{body}"
    );

    // SQLite counts per referring domain in one grouped statement; the key-value engine
    // counts from the link records: the same index answers the same on both.
    let kv_dir = tempfile::tempdir().unwrap();
    let kv = linkdiff_store::Store::open(std::path::Path::new(&format!(
        "sled:{}",
        kv_dir.path().join("kv").display()
    )))
    .unwrap();
    linkdiff_store::migrate::copy(&store, &kv).unwrap();
    // The copy keeps the tokens: the same one opens both.
    let kv_addr = api(&kv).await;
    let body = format!(
        r#"[{{"targets": {{"1": "{a}", "2": "{b}"}}, "exclude_targets": ["{mine}"], "limit": 1000}}]"#
    );
    let mut results = Vec::new();
    for at in [addr, kv_addr] {
        let (_, _, b) = raw(
            at,
            "POST",
            "/v3/backlinks/domain_intersection/live",
            &[("Authorization", &basic("agency", &token))],
            body.as_bytes(),
        )
        .await;
        let v: J = serde_json::from_str(&b).unwrap();
        results.push(v["tasks"][0]["result"].clone());
    }
    assert!(
        results[0][0]["total_count"].as_u64().unwrap() > 0,
        "{}",
        results[0]
    );
    assert_eq!(
        results[0], results[1],
        "SQLite and the key-value engine differ"
    );

    // page_intersection: the referring pages linking to both, with their links to each.
    let mut page_links: BTreeMap<(String, String), u64> = BTreeMap::new();
    for t in [a, b] {
        for r in store.backlinks(&Target::dataforseo(t).unwrap()) {
            *page_links.entry((r.unwrap().0, t.to_string())).or_default() += 1;
        }
    }
    let pages_of = |t: &str| -> BTreeSet<String> {
        page_links
            .keys()
            .filter(|(_, to)| to == t)
            .map(|(p, _)| p.clone())
            .collect()
    };
    let both_pages: BTreeSet<String> = pages_of(a).intersection(&pages_of(b)).cloned().collect();
    assert!(!both_pages.is_empty(), "a page links to both");
    let v = intersect(vec!["--pages".into(), targets.clone()]).await;
    let items = v["items"].as_array().unwrap();
    let got: BTreeSet<String> = items
        .iter()
        .map(|i| i["pages"]["1"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, both_pages);
    for i in items {
        let p = i["pages"]["1"].as_str().unwrap().to_string();
        assert_eq!(i["links"]["1"], page_links[&(p.clone(), a.to_string())]);
        assert_eq!(i["links"]["2"], page_links[&(p, b.to_string())]);
    }
    // page_intersection's filters read `K.field` from target K's first link on the page.
    let v = intersect(vec![
        "--filters".into(),
        r#"["1.url_from", "like", "%/p1%"]"#.into(),
        "--order-by".into(),
        r#"["1.url_from,desc"]"#.into(),
        "--pages".into(),
        targets.clone(),
    ])
    .await;
    let got: Vec<String> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pages"]["1"].as_str().unwrap().to_string())
        .collect();
    let mut want: Vec<String> = both_pages
        .iter()
        .filter(|p| p.contains("/p1"))
        .cloned()
        .collect();
    want.sort_by(|x, y| y.cmp(x));
    assert!(!want.is_empty() && want.len() < both_pages.len(), "{v}");
    assert_eq!(got, want, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_totals_over_time_and_history() {
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::{registrable_domain, url_host, Target};
    use std::collections::BTreeSet;
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (_w, _dir, store) = indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 100_000).unwrap();
    let addr = api(&store).await;
    let target = "h001.test";
    let live: Vec<String> = store
        .backlinks(&Target::dataforseo(target).unwrap())
        .map(|r| r.unwrap().0)
        .collect();
    let hosts: BTreeSet<String> = live.iter().map(|u| url_host(u).to_string()).collect();
    let domains: BTreeSet<String> = live
        .iter()
        .map(|u| registrable_domain(url_host(u)).to_string())
        .collect();
    let v = client(
        &python,
        "dataforseo_totals_series.py",
        vec![
            format!("http://{addr}"),
            "agency".into(),
            token,
            target.into(),
            "2026-01-01".into(),
            "2026-01-31".into(),
        ],
    )
    .await;
    let daily = v["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 31);
    let on = |d: &str| {
        daily
            .iter()
            .find(|i| i["date"].as_str().unwrap().starts_with(d))
            .unwrap()
    };
    // Nothing before the first crawl; after the second, what the index holds live now.
    assert_eq!(on("2026-01-04")["backlinks"], 0);
    assert!(on("2026-01-05")["backlinks"].as_u64().unwrap() > 0);
    for d in ["2026-01-12", "2026-01-31"] {
        assert_eq!(on(d)["backlinks"], live.len(), "{d}");
        assert_eq!(on(d)["referring_domains"], hosts.len(), "{d}");
        assert_eq!(on(d)["referring_main_domains"], domains.len(), "{d}");
    }
    // History: January, its totals at the month's end and what changed in it.
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["backlinks"], live.len());
    let (new, lost) = linkdiff::api::dataforseo::count(
        &store,
        &Target::dataforseo(target).unwrap(),
        day("2026-01-01"),
    )
    .unwrap();
    assert_eq!(
        (
            h[0]["new_backlinks"].as_u64().unwrap(),
            h[0]["lost_backlinks"].as_u64().unwrap()
        ),
        (new, lost)
    );
    assert!(lost > 0, "the second crawl loses links");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_client_reads_domain_pages_and_referring_networks() {
    let url_host_of = |u: &str| linkdiff_model::url_host(u).to_string();
    let Some(python) = tokio::task::spawn_blocking(client_python).await.unwrap() else {
        eprintln!("SKIPPED: python3 with dataforseo-client is not available (.ci/run installs it into target/dfs-venv)");
        return;
    };
    use linkdiff_model::Target;
    use std::collections::BTreeMap;
    let cfg = WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    };
    let (_w, _dir, store) = indexed_web(cfg, day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 100_000).unwrap();
    let addr = api(&store).await;
    let target = "h001.test";
    let mut per_page: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0u64;
    for r in store.backlinks(&Target::dataforseo(target).unwrap()) {
        *per_page.entry(r.unwrap().1.url_to).or_default() += 1;
        total += 1;
    }
    let v = client(
        &python,
        "dataforseo_pages_networks.py",
        vec![
            format!("http://{addr}"),
            "agency".into(),
            token,
            target.into(),
        ],
    )
    .await;
    let got: BTreeMap<String, u64> = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["url"].as_str().unwrap().to_string(),
                i["backlinks"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, per_page);
    assert_eq!(v["pages_total"], per_page.len());
    // domain_pages: every crawled page of the target, with its backlinks counted.
    let crawled: BTreeMap<String, (u64, u64)> = v["crawled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["page"].as_str().unwrap().to_string(),
                (
                    i["status_code"].as_u64().unwrap(),
                    i["page_summary"]["backlinks"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    let mut want: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in store.pages() {
        let (url, rec) = r.unwrap();
        if url_host_of(&url).ends_with("h001.test") && rec.last_visit.is_some() {
            want.insert(
                url.clone(),
                (
                    rec.last_status as u64,
                    per_page.get(&url).copied().unwrap_or(0),
                ),
            );
        }
    }
    assert!(!want.is_empty());
    assert_eq!(crawled, want);
    // The test web is served from 127.0.0.1: one referring IP and one subnet hold every link.
    for (key, address) in [("ips", "127.0.0.1"), ("subnets", "127.0.0")] {
        let n = v[key].as_array().unwrap();
        assert_eq!(n.len(), 1, "{key}: {n:?}");
        assert_eq!(n[0]["network_address"], address);
        assert_eq!(n[0]["backlinks"], total);
    }
}
