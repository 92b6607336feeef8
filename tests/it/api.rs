//! The HTTP API and `linkdiff query` on an index built by crawling the test web.

use crate::support::*;
use linkdiff_testweb::WebConfig;
use serde_json::Value as J;
use std::path::Path;

fn web_cfg() -> WebConfig {
    WebConfig {
        hosts: 8,
        pages_per_host: 6,
        ..WebConfig::default()
    }
}

/// Replace the random port so golden files are stable.
fn unport(s: &str, port: u16) -> String {
    s.replace(&format!(":{port}"), ":PORT")
}

fn golden(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden {}; run with UPDATE_GOLDEN=1 and review",
            path.display()
        )
    });
    assert_eq!(
        got, want,
        "golden {name} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)"
    );
}

const QUERIES: [(&str, &str); 7] = [
    ("backlinks", "from=backlinks&target=h001.test&mode=domain&order_by=url_from,anchor&limit=4"),
    ("new_lost", "from=backlinks_new_lost&target=h001.test&mode=domain&order_by=date:desc,type,url_from,anchor&limit=4&select=date,type,origin,url_from,url_to,anchor,link_type,http_code,first_seen,last_visited"),
    ("counters", "from=backlinks_new_lost_counters&target=h001.test&mode=subdomains&select=date,new,lost,new_total,lost_total"),
    ("anchors", "from=anchors&target=h001.test&mode=domain&limit=5"),
    ("refdomains", "from=refdomains&target=h001.test&mode=domain&limit=4"),
    ("metrics_extended", "from=metrics_extended&target=h001.test&mode=domain"),
    ("pages_extended", "from=pages_extended&target=h001.test&mode=domain&limit=3"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_golden_json_and_xml_and_the_cli_agrees() {
    let (w, dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let port = w.addr.port();
    let (addr, stopper) = api_stoppable(&store).await;
    let mut first_json = String::new();
    for (name, q) in QUERIES {
        for output in ["json", "xml"] {
            let (status, headers, body) =
                raw(addr, "GET", &format!("/?{q}&output={output}"), &[], b"").await;
            assert_eq!(status, 200);
            assert!(header(&headers, "x-rows-cost").is_some());
            assert!(!body.contains("\"error\""), "{body}");
            golden(&format!("{name}.{output}"), &unport(&body, port));
            if first_json.is_empty() {
                first_json = body.clone();
            }
        }
    }
    // backlinks_one_per_domain costs 10 rows per request and 2 per result, as Ahrefs charged.
    let (_, h, body) = raw(
        addr,
        "GET",
        "/?from=backlinks_one_per_domain&target=h001.test&mode=domain&limit=3&output=json",
        &[],
        b"",
    )
    .await;
    let rows = serde_json::from_str::<J>(&body).unwrap()["refpages"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(rows, 3, "{body}");
    assert_eq!(header(&h, "x-rows-cost"), Some("16"));
    // `linkdiff query --output json` prints exactly what the server answers.
    stopper.stop().await;
    drop(store);
    let db = dir.path().join("db").display().to_string();
    let http_body = first_json;
    let out = tokio::task::spawn_blocking(move || {
        bin(&[
            "query",
            "backlinks",
            "--target",
            "h001.test",
            "--mode",
            "domain",
            "--order-by",
            "url_from,anchor",
            "--limit",
            "4",
            "--output",
            "json",
            "--db",
            &db,
        ])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), http_body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_as_the_public_clients_send_them() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    // A two-word anchor that exists in this web.
    let p = linkdiff_query::QueryParams::new(linkdiff_model::Target::Domain("h001.test".into()));
    let rows = linkdiff_query::run(&store, linkdiff_query::Table::Anchors, &p).unwrap();
    let anchor = rows
        .rows
        .iter()
        .map(|r| r[0].text())
        .find(|a| a.split(' ').count() == 2 && a.is_ascii())
        .expect("a two-word anchor");
    let plus = anchor.replace(' ', "+");
    let addr = api(&store).await;
    let get = |t: String| async move { raw(addr, "GET", &t, &[], b"").await.2 };
    let canonical = get(format!("/?from=backlinks&target=h001.test&mode=domain&select=url_from,anchor&where=anchor%3D%22{}%22&limit=10&output=json", anchor.replace(' ', "%20"))).await;
    let n = serde_json::from_str::<J>(&canonical).unwrap()["refpages"]
        .as_array()
        .unwrap()
        .len();
    assert!(n > 0, "{canonical}");
    // PHP client: output first, from last, where quoted with addslashes, specials raw.
    let php = get(format!(r#"/?output=json&target=h001.test&mode=domain&limit=10&select=url_from,anchor&where=anchor=\"{anchor}\"&from=backlinks"#)).await;
    assert_eq!(php, canonical);
    // Python ahrefs-api-python: token/from/target/mode raw, where with quote_plus.
    let py = get(format!("/?token=&from=backlinks&target=h001.test&mode=domain&select=url_from%2Canchor&limit=10&output=json&where=anchor%3D%22{plus}%22")).await;
    assert_eq!(py, canonical);
    // POST with a form body answers the same.
    let body = format!("from=backlinks&target=h001.test&mode=domain&select=url_from%2Canchor&limit=10&output=json&where=anchor%3D%22{plus}%22");
    let (_, _, post) = raw(
        addr,
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(post, canonical);
    // Node client leaves ( ) and quotes unencoded.
    let encoded = get("/?from=backlinks&target=h001.test&mode=domain&select=url_from&limit=50&output=json&where=subdomain%28url_from%2C%22h000.test%22%29".into()).await;
    let node = get(r#"/?from=backlinks&target=h001.test&mode=domain&select=url_from&limit=50&output=json&where=subdomain(url_from,"h000.test")"#.into()).await;
    assert_eq!(node, encoded);
    assert!(
        node.contains("h000.test") && !node.contains("h002.test"),
        "{node}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_one_clear_error_never_a_500() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let long_where = format!("anchor=\"{}\"", "x".repeat(100_000));
    let cases: Vec<(String, &str)> = vec![
        ("/?from=nope&target=a.test".into(), "Unknown table 'nope'"),
        (
            "/?from=backlinks&target=a.test&mode=sideways".into(),
            "Unknown mode 'sideways'",
        ),
        (
            "/?from=backlinks&target=a.test&output=yaml".into(),
            "Unknown output 'yaml'",
        ),
        (
            "/?from=backlinks&target=a.test&select=bogus".into(),
            "Unknown column 'bogus'",
        ),
        (
            "/?from=backlinks&target=a.test&order_by=anchor:up".into(),
            "Unknown order direction 'up'",
        ),
        (
            "/?from=backlinks_new_lost_counters&target=a.test&having=url_from=\"x\"".into(),
            "Column 'url_from' can not be used in 'having' for table backlinks_new_lost_counters",
        ),
        (
            "/?from=backlinks&target=a.test&where=anchor=\"x".into(),
            "unterminated string",
        ),
        (
            "/?from=backlinks&target=a.test&limit=-1".into(),
            "Parameter 'limit'",
        ),
        (
            "/?from=backlinks&target=a.test&limit=abc".into(),
            "Parameter 'limit'",
        ),
        (
            "/?from=backlinks&target=a.test&limit=5000001".into(),
            "Parameter 'limit'",
        ),
        (
            format!("/?from=backlinks&target=a.test&where={long_where}"),
            "longer than 61440 bytes",
        ),
        (
            "/?from=backlinks&target=a.test&where=%ff%fe".into(),
            "'where' is not valid UTF-8",
        ),
        ("/?from=backlinks".into(), "'target' is required"),
        ("/?target=a.test".into(), "'from' is required"),
    ];
    for (target, want) in cases {
        let (status, _, body) = raw(addr, "GET", &target, &[], b"").await;
        assert_eq!(status, 200, "{target}");
        let v: J = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error for {target}: {body}"));
        assert!(msg.contains(want), "{target}: {msg}");
    }
    let (_, _, xml) = raw(
        addr,
        "GET",
        "/?from=nope&target=a.test&output=xml",
        &[],
        b"",
    )
    .await;
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><AhrefsApiResponse><error>Unknown table"
        ),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_sees_the_first_token_and_the_last_revoke_at_once() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let addr = api(&store).await;
    let q = "/?from=backlinks&target=h001.test&mode=domain&limit=2";
    let (_, _, open) = raw(addr, "GET", q, &[], b"").await;
    assert!(open.contains("refpages"), "{open}");
    // As `token create` in another process would: straight into the index.
    let token = linkdiff::api::tokens::create(&store, "late", 10).unwrap();
    let (_, _, closed) = raw(addr, "GET", q, &[], b"").await;
    assert!(closed.contains("requires a token"), "{closed}");
    let (_, _, with) = raw(addr, "GET", &format!("{q}&token={token}"), &[], b"").await;
    assert!(with.contains("refpages"), "{with}");
    // Revoking the only token opens the server again.
    let mut w = linkdiff_store::WriteBatch::new();
    w.remove_token("late");
    store.apply(w).unwrap();
    store.flush().unwrap();
    let (_, _, reopened) = raw(addr, "GET", q, &[], b"").await;
    assert!(reopened.contains("refpages"), "{reopened}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_quotas_and_row_costs() {
    let (_w, _dir, store) = indexed_web(web_cfg(), day("2026-01-05"), day("2026-01-12")).await;
    let token = linkdiff::api::tokens::create(&store, "agency", 10).unwrap();
    let addr = api(&store).await;
    let (_, _, body) = raw(
        addr,
        "GET",
        "/?from=backlinks&target=h001.test&mode=domain&limit=2",
        &[],
        b"",
    )
    .await;
    assert!(body.contains("requires a token"), "{body}");
    let (_, _, body) = raw(
        addr,
        "GET",
        "/?token=wrong&from=backlinks&target=h001.test&mode=domain&limit=2",
        &[],
        b"",
    )
    .await;
    assert!(body.contains("Invalid token"), "{body}");
    // 1 row per request + 0.2 per result + 5 for where.
    let (_, h, body) = raw(addr, "GET", &format!("/?token={token}&from=backlinks&target=h001.test&mode=domain&limit=2&where=nofollow=false"), &[], b"").await;
    assert_eq!(
        serde_json::from_str::<J>(&body).unwrap()["refpages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(header(&h, "x-rows-cost"), Some("6.4"));
    assert_eq!(header(&h, "x-rows-left"), Some("3.6"));
    let (_, _, info) = raw(
        addr,
        "GET",
        &format!("/?token={token}&from=subscription_info"),
        &[],
        b"",
    )
    .await;
    let v: J = serde_json::from_str(&info).unwrap();
    assert_eq!(v["info"]["rows_limit"], 10);
    assert_eq!(v["info"]["rows_left"], 3);
    let (_, _, body) = raw(addr, "GET", &format!("/?token={token}&from=backlinks&target=h001.test&mode=domain&limit=2&where=nofollow=false"), &[], b"").await;
    assert!(body.contains("Row quota exhausted"), "{body}");
    let (_, _, dr) = raw(
        addr,
        "GET",
        &format!("/?token={token}&from=domain_rating&target=h001.test"),
        &[],
        b"",
    )
    .await;
    let v: J = serde_json::from_str(&dr).unwrap();
    assert!(
        v["domain"]["domain_rating"].as_u64().unwrap() <= 100
            && v["domain"]["ahrefs_top"].as_u64().unwrap() >= 1,
        "{dr}"
    );
}
