//! Ahrefs API v3 Site Explorer over HTTP (issue 26, first endpoints): every answer agrees with
//! the v2 tables on the same index; `where`, `order_by`, paging, `history`, `aggregation` and
//! `output`; bad requests are HTTP 400 with `{"error"}`; keys are bearer tokens whose units are
//! spent and reported.
use crate::support::*;
use linkdiff_model::Target;
use linkdiff_query::{QueryParams, Table, Value};
use linkdiff_testweb::WebConfig;
use serde_json::Value as J;
use std::collections::BTreeMap;

fn web_cfg() -> WebConfig {
    WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    }
}

/// `GET /v3/{path}?{query}` with an optional bearer token: (status, body as JSON or text).
async fn v3(
    addr: std::net::SocketAddr,
    path: &str,
    query: &str,
    bearer: Option<&str>,
) -> (u16, String) {
    let auth = bearer.map(|b| format!("Bearer {b}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let (status, _, body) = raw(addr, "GET", &format!("/v3/{path}?{query}"), &headers, b"").await;
    (status, body)
}

async fn v3_json(addr: std::net::SocketAddr, path: &str, query: &str) -> J {
    let (status, body) = v3(addr, path, query, None).await;
    assert_eq!(status, 200, "{path}?{query}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The `backlinks` items of `all-backlinks?{query}` (asserting HTTP 200).
async fn all_backlinks(addr: std::net::SocketAddr, query: &str) -> Vec<J> {
    v3_json(addr, "site-explorer/all-backlinks", query).await["backlinks"]
        .as_array()
        .unwrap()
        .clone()
}

/// A v2 table's rows for `target` (every row), as text cells by column name.
fn v2(
    store: &linkdiff_store::Store,
    table: Table,
    target: Target,
    select: &str,
    where_: &str,
) -> Vec<BTreeMap<String, String>> {
    let r = linkdiff_query::run(
        store,
        table,
        &QueryParams {
            select: Some(select.into()),
            where_: linkdiff_query::parse_clause(Some(where_), "where").unwrap(),
            limit: linkdiff_query::MAX_LIMIT,
            ..QueryParams::new(target)
        },
    )
    .unwrap();
    r.rows
        .iter()
        .map(|row| {
            r.columns
                .iter()
                .zip(row)
                .map(|(c, v): (_, &Value)| (c.name.to_string(), v.text()))
                .collect()
        })
        .collect()
}

fn s(j: &J) -> String {
    match j {
        J::String(s) => s.clone(),
        J::Null => String::new(),
        other => other.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_answers_agree_with_the_v2_tables_on_the_same_index() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let target = || Target::Subdomains("h001.test".into());
    let q = "target=h001.test&mode=subdomains";

    // all-backlinks, live, every link: the v2 backlinks rows.
    let live = v3_json(
        addr,
        "site-explorer/all-backlinks",
        &format!(
            "{q}&history=live&aggregation=all&select=url_from,url_to,anchor,is_dofollow,is_lost"
        ),
    )
    .await;
    let mut got: Vec<(String, String, String, bool)> = live["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                s(&i["url_from"]),
                s(&i["url_to"]),
                s(&i["anchor"]),
                i["is_dofollow"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, String, String, bool)> = v2(
        &store,
        Table::Backlinks,
        target(),
        "url_from,url_to,anchor,nofollow",
        "",
    )
    .into_iter()
    .map(|r| {
        (
            r["url_from"].clone(),
            r["url_to"].clone(),
            r["anchor"].clone(),
            r["nofollow"] == "false",
        )
    })
    .collect();
    got.sort();
    want.sort();
    assert!(want.len() > 5, "a target with backlinks");
    assert_eq!(got, want);
    assert!(live["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["is_lost"] == J::Bool(false)));

    // refdomains and anchors, live: the v2 groups.
    let rd = v3_json(
        addr,
        "site-explorer/refdomains",
        &format!("{q}&history=live&select=domain,links_to_target"),
    )
    .await;
    let got: BTreeMap<String, String> = rd["refdomains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["domain"]), s(&i["links_to_target"])))
        .collect();
    let want: BTreeMap<String, String> = v2(
        &store,
        Table::Refdomains,
        target(),
        "refdomain,backlinks",
        "",
    )
    .into_iter()
    .map(|r| (r["refdomain"].clone(), r["backlinks"].clone()))
    .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let an = v3_json(
        addr,
        "site-explorer/anchors",
        &format!("{q}&history=live&select=anchor,links_to_target,refpages,refdomains"),
    )
    .await;
    let got: BTreeMap<String, (String, String, String)> = an["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                s(&i["anchor"]),
                (
                    s(&i["links_to_target"]),
                    s(&i["refpages"]),
                    s(&i["refdomains"]),
                ),
            )
        })
        .collect();
    let want: BTreeMap<String, (String, String, String)> = v2(
        &store,
        Table::Anchors,
        target(),
        "anchor,backlinks,refpages,refdomains",
        "",
    )
    .into_iter()
    .map(|r| {
        (
            r["anchor"].clone(),
            (
                r["backlinks"].clone(),
                r["refpages"].clone(),
                r["refdomains"].clone(),
            ),
        )
    })
    .collect();
    assert_eq!(got, want);

    // all_time adds the links lost in the second crawl, each with its reason and date, none
    // of them live.
    let all = v3_json(addr, "site-explorer/all-backlinks", &format!("{q}&history=all_time&aggregation=all&select=url_from,url_to,anchor,link_type,is_lost,lost_reason,drop_reason,last_seen,first_seen_link")).await;
    let all = all["backlinks"].as_array().unwrap().clone();
    let lost: Vec<&J> = all
        .iter()
        .filter(|i| i["is_lost"] == J::Bool(true))
        .collect();
    assert!(!lost.is_empty(), "the second epoch removes links");
    assert_eq!(all.len(), want_len(&live) + lost.len());
    for l in &lost {
        assert!(
            // A reason from v3's seven, or, for a page robots.txt now disallows, v3's drop
            // reason.
            (l["lost_reason"].is_string() != (l["drop_reason"] == "disallowed"))
                && s(&l["last_seen"]).starts_with("2026-01-12"),
            "{l}"
        );
    }
    let v2_lost = v2(
        &store,
        Table::NewLost,
        target(),
        "url_from,url_to,anchor",
        "type=lost",
    );
    for l in &lost {
        assert!(
            v2_lost
                .iter()
                .any(|r| r["url_from"] == s(&l["url_from"]) && r["url_to"] == s(&l["url_to"])),
            "{l}"
        );
    }

    // backlinks-stats: the same counts.
    let st = v3_json(addr, "site-explorer/backlinks-stats", q).await;
    assert_eq!(st["metrics"]["live"], J::from(want_len(&live)));
    assert_eq!(st["metrics"]["all_time"], J::from(all.len()));
    assert_eq!(
        st["metrics"]["live_refdomains"],
        J::from(rd["refdomains"].as_array().unwrap().len())
    );
    // As of the first crawl's day, nothing the second crawl found or lost counts.
    let before = v3_json(
        addr,
        "site-explorer/backlinks-stats",
        &format!("{q}&date=2026-01-05"),
    )
    .await;
    let first_day = all
        .iter()
        .filter(|i| s(&i["first_seen_link"]).starts_with("2026-01-05"))
        .count();
    assert!(
        first_day > 0 && first_day < all.len(),
        "both crawls found links"
    );
    assert_eq!(before["metrics"]["live"], J::from(first_day));
    assert_eq!(before["metrics"]["all_time"], J::from(first_day));

    // where: v3's JSON filter, against v2's where.
    let dofollow = v3_json(
        addr,
        "site-explorer/all-backlinks",
        &format!(
            "{q}&history=live&aggregation=all&select=url_from&where={}",
            enc(r#"{"field":"is_dofollow","is":["eq",true]}"#)
        ),
    )
    .await;
    let v2_dofollow = v2(
        &store,
        Table::Backlinks,
        target(),
        "url_from",
        "nofollow=false",
    );
    assert_eq!(
        dofollow["backlinks"].as_array().unwrap().len(),
        v2_dofollow.len()
    );
    let some_anchor = want_first_anchor(&live);
    let w = format!(
        r#"{{"or":[{{"field":"anchor","is":["eq","{some_anchor}"]}},{{"not":{{"field":"is_dofollow","is":["eq",true]}}}}]}}"#
    );
    let either = v3_json(
        addr,
        "site-explorer/all-backlinks",
        &format!(
            "{q}&history=live&aggregation=all&select=anchor,is_dofollow&where={}",
            enc(&w)
        ),
    )
    .await;
    let expected = live["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| s(&i["anchor"]) == some_anchor || i["is_dofollow"] == J::Bool(false))
        .count();
    assert_eq!(either["backlinks"].as_array().unwrap().len(), expected);

    // order_by and paging: pages of a sorted list put back together are the list.
    let sorted = v3_json(addr, "site-explorer/all-backlinks", &format!("{q}&history=live&aggregation=all&select=url_from,anchor&order_by=url_from:desc,anchor:asc")).await;
    let sorted = sorted["backlinks"].as_array().unwrap().clone();
    assert!(sorted
        .windows(2)
        .all(|p| s(&p[0]["url_from"]) >= s(&p[1]["url_from"])));
    let mut pages = Vec::new();
    for offset in (0..sorted.len()).step_by(3) {
        let p = v3_json(addr, "site-explorer/all-backlinks", &format!("{q}&history=live&aggregation=all&select=url_from,anchor&order_by=url_from:desc,anchor:asc&limit=3&offset={offset}")).await;
        pages.extend(p["backlinks"].as_array().unwrap().clone());
    }
    assert_eq!(pages, sorted);

    // aggregation: one per referring domain, with the size of each group.
    let per = v3_json(
        addr,
        "site-explorer/all-backlinks",
        &format!(
            "{q}&history=live&aggregation=1_per_domain&select=root_name_source,link_group_count"
        ),
    )
    .await;
    let per = per["backlinks"].as_array().unwrap();
    assert_eq!(per.len(), rd["refdomains"].as_array().unwrap().len());
    let grouped: u64 = per
        .iter()
        .map(|i| i["link_group_count"].as_u64().unwrap())
        .sum();
    assert_eq!(grouped as usize, want_len(&live));

    // output=csv: a header row of the selected fields, one line per item.
    let (status, csv) = v3(
        addr,
        "site-explorer/refdomains",
        &format!("{q}&history=live&select=domain,links_to_target&output=csv"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("domain,links_to_target"));
    assert_eq!(lines.count(), rd["refdomains"].as_array().unwrap().len());

    // Live links, every one: answered by one v2 query when the filter and order allow it.
    // The answer is the same as reading the whole list (forced here by a condition on a field
    // v2 does not have, true for every link).
    let always = r#"{"field":"traffic","is":"is_null"}"#;
    for (w, order, page) in [
        (None, "", "limit=7&offset=3"),
        (
            Some(
                r#"{"and":[{"field":"is_dofollow","is":["eq",1]},{"field":"url_rating_source","is":["gte",1]},{"field":"anchor","is":["isubstring","E"]}]}"#,
            ),
            "domain_rating_source:desc,url_rating_source:asc",
            "limit=5&offset=2",
        ),
        (
            None,
            "first_seen_link:desc,links_external:asc",
            "limit=1000",
        ),
        (
            Some(r#"{"field":"is_nofollow","is":["neq",true]}"#),
            "page_size:desc",
            "limit=4",
        ),
        (
            Some(r#"{"field":"links_internal","is":{"and":[["gte",1],["lt",1000]]}}"#),
            "",
            "limit=1000",
        ),
    ] {
        let select = "url_from,url_to,anchor,is_dofollow,domain_rating_source,url_rating_source,first_seen_link,links_external";
        let fast_where = w.map(|w| format!("&where={}", enc(w))).unwrap_or_default();
        let slow_where = match w {
            Some(w) => format!("&where={}", enc(&format!(r#"{{"and":[{w},{always}]}}"#))),
            None => format!("&where={}", enc(always)),
        };
        let base =
            format!("{q}&history=live&aggregation=all&select={select}&order_by={order}&{page}");
        let fast = v3_json(
            addr,
            "site-explorer/all-backlinks",
            &format!("{base}{fast_where}"),
        )
        .await;
        let slow = v3_json(
            addr,
            "site-explorer/all-backlinks",
            &format!("{base}{slow_where}"),
        )
        .await;
        assert!(
            !slow["backlinks"].as_array().unwrap().is_empty(),
            "{base}{slow_where}"
        );
        assert_eq!(fast, slow, "{base}{fast_where}");
    }

    // domain-rating: the rating rank computed for the target's domain.
    let dr = v3_json(addr, "site-explorer/domain-rating", "target=h001.test").await;
    let rec = store.domain("h001.test").unwrap().unwrap_or_default();
    assert_eq!(
        dr["domain_rating"]["domain_rating"],
        J::from(rec.domain_rating as f64)
    );
}

fn want_len(live: &J) -> usize {
    live["backlinks"].as_array().unwrap().len()
}

fn want_first_anchor(live: &J) -> String {
    live["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| s(&i["anchor"]))
        .find(|a| !a.is_empty() && !a.contains('"'))
        .unwrap()
}

/// Percent-encode a query value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_refuses_bad_requests_and_spends_the_keys_units() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let q = "target=h001.test";
    let err = |body: &str| {
        serde_json::from_str::<J>(body).unwrap()["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (st, body) = v3(addr, "site-explorer/all-backlinks", q, None).await;
    assert_eq!(
        (st, err(&body).contains("'select' is required")),
        (400, true),
        "{body}"
    );
    let (st, body) = v3(
        addr,
        "site-explorer/all-backlinks",
        &format!("{q}&select=url_from,bogus"),
        None,
    )
    .await;
    assert_eq!(
        (st, err(&body)),
        (400, "Unknown column 'bogus' in 'select'".to_string())
    );
    let (st, body) = v3(
        addr,
        "site-explorer/refdomains",
        &format!(
            "{q}&select=domain&where={}",
            enc(r#"{"field":"domain","is":["like","x"]}"#)
        ),
        None,
    )
    .await;
    assert_eq!(
        (st, err(&body).contains("unknown operator 'like'")),
        (400, true),
        "{body}"
    );
    let (st, body) = v3(addr, "site-explorer/anchors", "select=anchor", None).await;
    assert_eq!(
        (st, err(&body).contains("'target' is required")),
        (400, true),
        "{body}"
    );
    let (st, body) = v3(
        addr,
        "site-explorer/anchors",
        &format!("{q}&select=anchor&mode=everything"),
        None,
    )
    .await;
    assert_eq!(
        (st, err(&body).contains("Unknown mode")),
        (400, true),
        "{body}"
    );
    let (st, body) = v3(
        addr,
        "site-explorer/all-backlinks",
        &format!("{q}&select=link_group_count&aggregation=all"),
        None,
    )
    .await;
    assert_eq!(
        (st, err(&body).contains("link_group_count")),
        (400, true),
        "{body}"
    );
    let (st, _) = v3(addr, "site-explorer/organic-keywords", q, None).await;
    assert_eq!(st, 404);

    // Without tokens the server is open; once a token exists, v3 needs it as a bearer key.
    let (_, body) = v3(addr, "subscription-info/limits-and-usage", "", None).await;
    assert!(body.contains("no tokens"), "{body}");
    let key = linkdiff::api::tokens::create(&store, "agency", 1_000).unwrap();
    let (st, body) = v3(
        addr,
        "site-explorer/anchors",
        &format!("{q}&select=anchor"),
        None,
    )
    .await;
    assert_eq!((st, err(&body).contains("Bearer")), (401, true), "{body}");
    let (st, _) = v3(
        addr,
        "site-explorer/anchors",
        &format!("{q}&select=anchor"),
        Some("wrong"),
    )
    .await;
    assert_eq!(st, 401);
    let (st, body) = v3(
        addr,
        "site-explorer/anchors",
        &format!("{q}&select=anchor&limit=2"),
        Some(&key),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = v3(addr, "subscription-info/limits-and-usage", "", Some(&key)).await;
    assert_eq!(st, 200);
    let usage: J = serde_json::from_str(&body).unwrap();
    assert_eq!(
        usage["limits_and_usage"]["units_limit_api_key"],
        J::from(1_000)
    );
    // Two rows, charged at the 50-unit minimum.
    assert_eq!(
        usage["limits_and_usage"]["units_usage_api_key"],
        J::from(50)
    );
    for _ in 0..19 {
        v3(addr, "site-explorer/domain-rating", q, Some(&key)).await;
    }
    let (st, body) = v3(addr, "site-explorer/domain-rating", q, Some(&key)).await;
    assert_eq!(
        (st, err(&body).contains("Insufficient units")),
        (403, true),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adobes_published_v3_client_reads_the_index() {
    let Some(client) = ahrefs_node_client() else {
        eprintln!("SKIPPED adobes_published_v3_client_reads_the_index: no node/npm to run {AHREFS_NODE_CLIENT}");
        return;
    };
    let (w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let key = linkdiff::api::tokens::create(&store, "adobe", 10_000).unwrap();
    let target = format!("http://h001.test:{}/", w.addr.port());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/ahrefs_v3.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&client)
        .arg(&target)
        .env("AHREFS_API_BASE_URL", format!("http://{addr}/v3"))
        .env("AHREFS_API_KEY", &key)
        .env("HELIX_FETCH_FORCE_HTTP1", "true")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: J = serde_json::from_str(text.trim()).unwrap();
    // The client's backlinks request (mode=prefix, its own JSON where and order_by) is answered
    // with a backlinks array; its filter also asks for is_content and traffic_domain, which a
    // self-hosted index cannot know (null), so no link passes — and none is invented.
    assert_eq!(j["backlinks"]["ok"], J::Bool(true), "{j}");
    assert_eq!(j["backlinks"]["rows"], J::from(0), "{j}");
    assert!(
        s(&j["backlinks"]["url"])
            .contains("/v3/site-explorer/all-backlinks?select=title%2Curl_from%2Curl_to"),
        "{j}"
    );
    // Its broken-backlinks request (the same kind of filter, ordered by DR and traffic) is
    // answered the same way: a backlinks array, nothing invented for the unknowable fields.
    assert_eq!(j["broken"]["ok"], J::Bool(true), "{j}");
    assert_eq!(j["broken"]["rows"], J::from(0), "{j}");
    assert!(
        s(&j["broken"]["url"]).contains(
            "/v3/site-explorer/broken-backlinks?select=title%2Curl_from%2Curl_to%2Ctraffic_domain"
        ),
        "{j}"
    );
    // It logs the row count and cost from the headers v3 sends.
    assert!(
        j["logged"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| s(l).contains("number of rows: 0") && s(l).contains("total cost: 50")),
        "{j}"
    );
    // The same request without the two unknowable fields finds the target's dofollow links
    // from strong domains, as the v2 table does.
    let w = r#"{"and":[{"field":"is_dofollow","is":["eq",1]},{"field":"domain_rating_source","is":["gte",29.5]},{"field":"links_external","is":["lte",300]}]}"#;
    let (st, body) = v3(addr, "site-explorer/all-backlinks", &format!("select=title,url_from,url_to&mode=prefix&target={}&history=live&aggregation=all&where={}", enc(&target), enc(w)), Some(&key)).await;
    assert_eq!(st, 200);
    let got = serde_json::from_str::<J>(&body).unwrap()["backlinks"]
        .as_array()
        .unwrap()
        .len();
    let want = v2(
        &store,
        Table::Backlinks,
        Target::Prefix(target.trim_start_matches("http://").into()),
        "url_from,nofollow,domain_rating,links_external",
        "",
    )
    .into_iter()
    .filter(|r| {
        r["nofollow"] == "false"
            && r["domain_rating"].parse::<f64>().unwrap() >= 29.5
            && r["links_external"].parse::<i64>().unwrap() <= 300
    })
    .count();
    assert!(want > 0, "strong dofollow links exist");
    assert_eq!(got, want);
    // Its key was charged: the client's request and ours, 50 units each at least.
    let (_, usage) = v3(addr, "subscription-info/limits-and-usage", "", Some(&key)).await;
    let usage: J = serde_json::from_str(&usage).unwrap();
    assert!(
        usage["limits_and_usage"]["units_usage_api_key"]
            .as_u64()
            .unwrap()
            >= 100,
        "{usage}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_pages_outlinks_and_history_agree_with_the_index() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let q = "target=h001.test&mode=subdomains";
    let host = |u: &str| linkdiff_model::url_host(u).to_string();
    let domain = |u: &str| linkdiff_model::registrable_domain(&host(u)).to_string();

    // pages-by-backlinks (and its former name): the live backlinks counted per target page.
    let pages = v3_json(addr, "site-explorer/pages-by-backlinks", &format!("{q}&select=url_to,links_to_target,refdomains_target,title_target,http_code_target&history=live")).await;
    let old = v3_json(addr, "site-explorer/best-by-external-links", &format!("{q}&select=url_to,links_to_target,refdomains_target,title_target,http_code_target&history=live")).await;
    assert_eq!(pages["pages"], old["pages"]);
    let mut want: BTreeMap<String, (u64, std::collections::BTreeSet<String>)> = BTreeMap::new();
    for r in v2(
        &store,
        Table::Backlinks,
        Target::Subdomains("h001.test".into()),
        "url_from,url_to",
        "",
    ) {
        let e = want.entry(r["url_to"].clone()).or_default();
        e.0 += 1;
        e.1.insert(domain(&r["url_from"]));
    }
    let got: BTreeMap<String, (u64, usize)> = pages["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                s(&p["url_to"]),
                (
                    p["links_to_target"].as_u64().unwrap(),
                    p["refdomains_target"].as_u64().unwrap() as usize,
                ),
            )
        })
        .collect();
    let want: BTreeMap<String, (u64, usize)> = want
        .into_iter()
        .map(|(u, (n, d))| (u, (n, d.len())))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert!(pages["pages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["http_code_target"] == 200 && p["title_target"].is_string()));

    // What h001.test links to, against the v2 backlinks of the whole test web whose referring
    // page is on h001.test.
    let from_h001: Vec<BTreeMap<String, String>> = v2(
        &store,
        Table::Backlinks,
        Target::Subdomains("test".into()),
        "url_from,url_to,anchor,nofollow",
        "",
    )
    .into_iter()
    .filter(|r| domain(&r["url_from"]) == "h001.test")
    .collect();
    // (v2's backlinks are external links only: internal ones come from the pages' link sets.)
    let external: Vec<&BTreeMap<String, String>> = from_h001
        .iter()
        .filter(|r| domain(&r["url_to"]) != "h001.test")
        .collect();
    let mut internal_rows: Vec<BTreeMap<String, String>> = Vec::new();
    for page in v2(
        &store,
        Table::PagesExtended,
        Target::Subdomains("h001.test".into()),
        "url",
        "",
    ) {
        for (id, rec) in store.forward_links(&page["url"]).unwrap() {
            if rec.live && domain(&id.url_to) == "h001.test" {
                internal_rows.push(BTreeMap::from([
                    ("anchor".to_string(), id.anchor.clone()),
                    ("url_to".to_string(), id.url_to.clone()),
                ]));
            }
        }
    }
    let internal: Vec<&BTreeMap<String, String>> = internal_rows.iter().collect();
    assert!(!external.is_empty() && !internal.is_empty());
    let st = v3_json(addr, "site-explorer/outlinks-stats", q).await;
    assert_eq!(st["metrics"]["outgoing_links"], J::from(external.len()));
    assert_eq!(
        st["metrics"]["outgoing_links_dofollow"],
        J::from(external.iter().filter(|r| r["nofollow"] == "false").count())
    );
    let domains: std::collections::BTreeSet<String> =
        external.iter().map(|r| domain(&r["url_to"])).collect();
    assert_eq!(st["metrics"]["linked_domains"], J::from(domains.len()));
    let ld = v3_json(
        addr,
        "site-explorer/linkeddomains",
        &format!("{q}&select=domain,links_from_target,linked_pages"),
    )
    .await;
    let got: BTreeMap<String, u64> = ld["linkeddomains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["domain"]), i["links_from_target"].as_u64().unwrap()))
        .collect();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in &external {
        *want.entry(domain(&r["url_to"])).or_default() += 1;
    }
    assert_eq!(got, want);
    for (path, rows) in [
        ("linked-anchors-external", &external),
        ("linked-anchors-internal", &internal),
    ] {
        let a = v3_json(
            addr,
            &format!("site-explorer/{path}"),
            &format!("{q}&select=anchor,links_from_target,linked_pages"),
        )
        .await;
        let got: BTreeMap<String, u64> = a["linkedanchors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (s(&i["anchor"]), i["links_from_target"].as_u64().unwrap()))
            .collect();
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for r in rows.iter() {
            *want.entry(r["anchor"].clone()).or_default() += 1;
        }
        assert_eq!(got, want, "{path}");
    }

    // pages-by-internal-links (and its former name): the internal links counted per page.
    let ip = v3_json(
        addr,
        "site-explorer/pages-by-internal-links",
        &format!("{q}&select=url_to,links_to_target,title_target"),
    )
    .await;
    let old = v3_json(
        addr,
        "site-explorer/best-by-internal-links",
        &format!("{q}&select=url_to,links_to_target,title_target"),
    )
    .await;
    assert_eq!(ip, old);
    let got: BTreeMap<String, u64> = ip["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["url_to"]), i["links_to_target"].as_u64().unwrap()))
        .collect();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for r in &internal {
        *want.entry(r["url_to"].clone()).or_default() += 1;
    }
    assert_eq!(got, want);

    // broken-backlinks: the v2 broken_backlinks rows, with the target page's status.
    let broken = v3_json(
        addr,
        "site-explorer/broken-backlinks",
        "target=test&aggregation=all&select=url_from,url_to,http_code_target",
    )
    .await;
    let broken = broken["backlinks"].as_array().unwrap().clone();
    let mut got: Vec<(String, String)> = broken
        .iter()
        .map(|i| (s(&i["url_from"]), s(&i["url_to"])))
        .collect();
    let mut want: Vec<(String, String)> = v2(
        &store,
        Table::BrokenBacklinks,
        Target::Subdomains("test".into()),
        "url_from,url_to",
        "",
    )
    .into_iter()
    .map(|r| (r["url_from"].clone(), r["url_to"].clone()))
    .collect();
    got.sort();
    want.sort();
    assert!(!want.is_empty(), "the second epoch breaks pages");
    assert_eq!(got, want);
    assert!(broken
        .iter()
        .all(|i| !(200..400).contains(&i["http_code_target"].as_u64().unwrap())));

    // batch-analysis: each target's numbers as the single-target endpoints give them.
    let body = r#"{"select":["index","url","backlinks","refdomains","outgoing_links","domain_rating"],"targets":[{"url":"h001.test","mode":"subdomains","protocol":"both"},{"url":"h002.test","mode":"subdomains","protocol":"both"}]}"#;
    let (st, _, answer) = raw(
        addr,
        "POST",
        "/v3/batch-analysis/batch-analysis",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(st, 200, "{answer}");
    let answer: J = serde_json::from_str(&answer).unwrap();
    for (i, t) in ["h001.test", "h002.test"].into_iter().enumerate() {
        let item = &answer["targets"][i];
        let stats = v3_json(
            addr,
            "site-explorer/backlinks-stats",
            &format!("target={t}"),
        )
        .await;
        let out = v3_json(addr, "site-explorer/outlinks-stats", &format!("target={t}")).await;
        assert_eq!(item["index"], J::from(i));
        assert_eq!(item["url"], J::from(t));
        assert_eq!(item["backlinks"], stats["metrics"]["live"], "{t}");
        assert_eq!(
            item["refdomains"], stats["metrics"]["live_refdomains"],
            "{t}"
        );
        assert_eq!(
            item["outgoing_links"], out["metrics"]["outgoing_links"],
            "{t}"
        );
    }
    let bad = r#"{"select":["traffic_x"],"targets":[{"url":"h001.test","mode":"subdomains","protocol":"both"}]}"#;
    let (st, _, answer) = raw(
        addr,
        "POST",
        "/v3/batch-analysis/batch-analysis",
        &[],
        bad.as_bytes(),
    )
    .await;
    assert_eq!(
        (st, answer.contains("Unknown column 'traffic_x'")),
        (400, true),
        "{answer}"
    );

    // refdomains-history: none before the first crawl, today's live referring domains on the
    // second crawl's day.
    let h = v3_json(
        addr,
        "site-explorer/refdomains-history",
        &format!("{q}&date_from=2026-01-04&date_to=2026-01-12&history_grouping=daily"),
    )
    .await;
    let h = h["refdomains"].as_array().unwrap();
    assert_eq!(h.len(), 9);
    assert_eq!(
        h[0],
        serde_json::json!({"date": "2026-01-04", "refdomains": 0})
    );
    let live = v3_json(
        addr,
        "site-explorer/refdomains",
        &format!("{q}&history=live&select=domain"),
    )
    .await;
    assert_eq!(
        h[8]["refdomains"],
        J::from(live["refdomains"].as_array().unwrap().len())
    );
    assert!(
        h[1]["refdomains"].as_u64().unwrap() > 0,
        "the first crawl's day has referring domains"
    );
    let (st, body) = v3(addr, "site-explorer/refdomains-history", q, None).await;
    assert_eq!(
        (st, body.contains("'date_from' is required")),
        (400, true),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_rating_histories_follow_the_ranks_of_each_run() {
    let w = web(web_cfg()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = linkdiff_store::Store::open(&dir.path().join("db")).unwrap();
    let addr = api(&store).await;
    let home = format!("http://h001.test:{}/", w.addr.port());
    let now = |store: &linkdiff_store::Store| {
        (
            store.domain("h001.test").unwrap().unwrap().domain_rating,
            store.page(&home).unwrap().unwrap().url_rating,
        )
    };
    crawl(&store, &crawl_cfg(&w, Some(day("2026-01-05")))).await;
    let (dr1, ur1) = now(&store);
    w.web.set_epoch(2);
    crawl(&store, &crawl_cfg(&w, Some(day("2026-01-12")))).await;
    let (dr2, ur2) = now(&store);

    // Daily: nothing before the first run, the first run's rating until the second's day.
    let h = v3_json(
        addr,
        "site-explorer/domain-rating-history",
        "target=h001.test&date_from=2026-01-04&date_to=2026-01-13&history_grouping=daily",
    )
    .await;
    let got: Vec<(String, J)> = h["domain_ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (s(&i["date"]), i["domain_rating"].clone()))
        .collect();
    let mut want = vec![("2026-01-04".to_string(), J::Null)];
    for d in 5..=13 {
        let r = if d < 12 { dr1 } else { dr2 };
        want.push((format!("2026-01-{d:02}"), J::from(r as f64)));
    }
    assert_eq!(got, want);
    assert!(dr1 > 0 || dr2 > 0, "the domain is rated");

    // domain-rating on a past day reads the same history.
    let past = |date: &str| {
        let q = format!("target=h001.test&date={date}");
        async move {
            v3_json(addr, "site-explorer/domain-rating", &q).await["domain_rating"]["domain_rating"]
                .clone()
        }
    };
    assert_eq!(past("2026-01-04").await, J::Null);
    assert_eq!(past("2026-01-06").await, J::from(dr1 as f64));
    assert_eq!(past("2026-01-12").await, J::from(dr2 as f64));

    // A page's URL Rating by month (the period's rating as of its last day or date_to).
    let h = v3_json(
        addr,
        "site-explorer/url-rating-history",
        &format!(
            "target={}&mode=exact&date_from=2025-12-01&date_to=2026-01-08",
            enc(&home)
        ),
    )
    .await;
    assert_eq!(
        h["url_ratings"],
        serde_json::json!([
            {"date": "2025-12-01", "url_rating": null},
            {"date": "2026-01-01", "url_rating": ur1 as f64},
        ])
    );
    let h = v3_json(
        addr,
        "site-explorer/url-rating-history",
        &format!("target={}&date_from=2026-01-01", enc(&home)),
    )
    .await;
    assert_eq!(h["url_ratings"][0]["url_rating"], J::from(ur2 as f64));
    // The history is what the store recorded: one row per change.
    let rows = store
        .rating_history(linkdiff_store::RatingKind::Domain, "h001.test")
        .unwrap();
    assert_eq!(rows.len(), if dr1 == dr2 { 1 } else { 2 }, "{rows:?}");
    let (st, body) = v3(
        addr,
        "site-explorer/url-rating-history",
        "target=h001.test&mode=domain&date_from=2026-01-01",
        None,
    )
    .await;
    assert_eq!((st, body.contains("mode exact")), (400, true), "{body}");
}

/// Every page of `all-backlinks?{q}` (each `limit`, every offset until a short page) is the
/// slice of `whole` at its offset.
async fn pages_are_slices(addr: std::net::SocketAddr, q: &str, whole: &[J], limits: &[usize]) {
    for &limit in limits {
        let mut offset = 0;
        loop {
            let page = all_backlinks(addr, &format!("{q}&limit={limit}&offset={offset}")).await;
            let want: Vec<J> = whole.iter().skip(offset).take(limit).cloned().collect();
            assert_eq!(page, want, "{q}: limit {limit} offset {offset}");
            if page.len() < limit {
                break;
            }
            offset += limit;
        }
    }
}

/// v3's defaults (`similar_links`, no `order_by`) are answered page by page from the first
/// target URLs' groups; every page must be the slice of the whole list at its offset (the
/// whole list, asked with a limit past its end, is the path that reads everything).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_default_grouping_read_page_by_page_gives_the_slices_of_the_whole_list() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let select = "select=url_from,url_to,anchor,link_type,is_lost,link_group_count,domain_rating_source,is_dofollow";
    let dofollow = enc(r#"{"field":"is_dofollow","is":["eq",1]}"#);
    let mut grouped = 0;
    let mut lost = 0;
    for extra in [
        String::new(),
        "history=since:2026-01-10".to_string(),
        "history=live".to_string(),
        format!("where={dofollow}"),
    ] {
        let q = format!("target=h001.test&mode=subdomains&{select}&{extra}");
        let whole = all_backlinks(addr, &format!("{q}&limit=100000")).await;
        assert!(whole.len() > 10, "{extra}: {} groups", whole.len());
        grouped += whole
            .iter()
            .filter(|i| i["link_group_count"].as_u64().unwrap() > 1)
            .count();
        lost += whole.iter().filter(|i| i["is_lost"] == true).count();
        pages_are_slices(addr, &q, &whole, &[1, 3, 7]).await;
    }
    assert!(
        grouped > 0 && lost > 0,
        "grouped {grouped}, lost {lost}: the web should have both"
    );
}

/// The same on a hand-made index where a lost link belongs to a live group (its count says
/// so), a lost-only group follows the live ones, and groups span several target URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_default_grouping_counts_lost_links_into_live_groups_page_by_page() {
    use linkdiff_model::{Link, LinkType, Outcome, PageMeta, Visit};
    let dir = tempfile::tempdir().unwrap();
    let store = linkdiff_store::Store::open(&dir.path().join("g.db")).unwrap();
    let ix = linkdiff_indexer::Indexer::new(store.clone());
    let link = |to: &str, anchor: &str| Link {
        anchor: anchor.into(),
        ..Link::bare(to, LinkType::Href)
    };
    for (run, when) in [(1, "2026-03-01"), (2, "2026-03-08")] {
        for from in ["r.test", "s.test", "u.test"] {
            for p in 0..4 {
                let mut links = vec![
                    link("http://t.test/a", "same"),
                    link("http://t.test/b", &format!("b{p}")),
                    link("http://t.test/c", "c"),
                ];
                // The second visit: page 3 drops its "same" link (lost into a live group),
                // page 0 drops "gone" (a lost-only group).
                if run == 2 && p == 3 {
                    links.remove(0);
                }
                if run == 1 && p == 0 {
                    links.push(link("http://t.test/a", "gone"));
                }
                ix.apply(&Visit {
                    url: format!("http://{from}/p{p}"),
                    time: day(when),
                    run,
                    depth: 0,
                    outcome: Outcome::Fetched {
                        meta: PageMeta {
                            http_code: 200,
                            ..Default::default()
                        },
                        links,
                    },
                })
                .unwrap();
            }
        }
    }
    store.flush().unwrap();
    drop(ix);
    let addr = api(&store).await;
    let q = "target=t.test&mode=domain&select=url_from,url_to,anchor,is_lost,link_group_count";
    let whole = all_backlinks(addr, &format!("{q}&limit=1000")).await;
    let same: Vec<u64> = whole
        .iter()
        .filter(|i| i["anchor"] == "same")
        .map(|i| i["link_group_count"].as_u64().unwrap())
        .collect();
    assert_eq!(same, vec![4, 4, 4], "{whole:?}");
    assert_eq!(whole.last().unwrap()["anchor"], "gone", "{whole:?}");
    pages_are_slices(addr, q, &whole, &[1, 2, 5]).await;
}
