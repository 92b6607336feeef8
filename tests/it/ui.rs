//! The dashboard in a real headless browser (Chromium): the page loads, the charts draw one
//! point per day of the target's counters, a filter narrows the tables, the CSV link holds the
//! rows shown, tokens apply; a screenshot is kept in target/test-output/.

use crate::support::*;
use linkdiff_testweb::WebConfig;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LINKDIFF_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(PathBuf::from)
}

/// The DOM after the page's scripts ran (they mark `<body data-ready="1">` when done).
fn dom(browser: &Path, url: &str) -> String {
    let out = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("run chromium");
    let html = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        html.contains("data-ready=\"1\""),
        "the page did not finish loading: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    html
}

/// The part of `html` from `id="from"` to `id="to"` (or the end).
fn section<'a>(html: &'a str, from: &str, to: Option<&str>) -> &'a str {
    let a = html.find(&format!("id=\"{from}\"")).expect("section");
    let b = to
        .and_then(|t| html[a..].find(&format!("id=\"{t}\"")).map(|i| a + i))
        .unwrap_or(html.len());
    &html[a..b]
}

fn attr<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = html[start..].find('"')? + start;
    Some(&html[start..end])
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_the_targets_days_filters_tables_and_downloads_csv() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: no Chromium (install the Debian package `chromium`; .ci/run does)");
        return;
    };
    let (_w, dir, store) = indexed_web(
        WebConfig {
            hosts: 8,
            pages_per_host: 5,
            ..WebConfig::default()
        },
        day("2026-01-05"),
        day("2026-01-12"),
    )
    .await;
    let db = dir.path().join("db");
    let addr = api(&store).await;
    let target = "h001.test";
    // What the page must show, from the API itself.
    let counts = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks_new_lost_counters",
            "--target",
            target,
            "--mode",
            "domain",
            "--select",
            "date,new,lost",
        ],
    );
    let days = counts["counts"].as_array().unwrap().len();
    assert!(days >= 2, "{counts}");
    let backlinks = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks",
            "--target",
            target,
            "--mode",
            "domain",
            "--select",
            "url_from,url_to,anchor,link_type,nofollow,domain_rating,first_seen,last_visited",
        ],
    );
    let rows = backlinks["refpages"].as_array().unwrap();
    let needle = rows
        .iter()
        .find_map(|r| r["anchor"].as_str().filter(|a| a.len() > 3))
        .unwrap()
        .to_string();
    let matching = rows
        .iter()
        .filter(|r| {
            r.as_object().unwrap().values().any(|v| {
                let s = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                s.to_lowercase().contains(&needle.to_lowercase())
            })
        })
        .count();
    assert!(matching < rows.len());
    let out = bin(&[
        "watch",
        "add",
        rows[0]["url_from"].as_str().unwrap(),
        rows[0]["url_to"].as_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(out.status.success());

    let base = format!("http://{addr}/ui#target={target}&mode=domain");
    let b = browser.clone();
    let url = base.clone();
    let page = tokio::task::spawn_blocking(move || dom(&b, &url))
        .await
        .unwrap();
    let chart = section(&page, "chart-backlinks", Some("chart-refdomains"));
    assert_eq!(
        chart.matches("class=\"pt new\"").count(),
        days,
        "one point per day"
    );
    assert_eq!(chart.matches("class=\"pt lost\"").count(), days);
    let bl = section(&page, "backlinks", Some("events"));
    assert_eq!(attr(bl, "data-rows"), Some(rows.len().to_string().as_str()));
    let watched = section(&page, "watched", Some("runs"));
    assert_eq!(attr(watched, "data-rows"), Some("1"));
    assert!(watched.contains("live"), "the watched link's state");
    let runs = section(&page, "runs", None);
    assert_eq!(attr(runs, "data-rows"), Some("2"));

    // A filter (from the address, as typing it in the box does) narrows the table and the CSV.
    let b = browser.clone();
    let url = format!("{base}&q={}", needle.replace(' ', "%20"));
    let page = tokio::task::spawn_blocking(move || dom(&b, &url))
        .await
        .unwrap();
    let bl = section(&page, "backlinks", Some("events"));
    assert_eq!(attr(bl, "data-rows"), Some(matching.to_string().as_str()));
    let csv_at = bl.find("class=\"csv\"").unwrap();
    let href = attr(&bl[csv_at..], "href").unwrap();
    let csv = percent_decode(href.strip_prefix("data:text/csv;charset=utf-8,").unwrap());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "url_from,url_to,anchor,link_type,nofollow,domain_rating,first_seen,last_visited"
    );
    assert_eq!(lines.len(), matching + 1, "{csv}");

    // A screenshot for people.
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output/ui.png");
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let (b, url, s) = (browser.clone(), base.clone(), shot.clone());
    let ok = tokio::task::spawn_blocking(move || {
        Command::new(&b)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--virtual-time-budget=15000",
                "--window-size=1280,2000",
            ])
            .arg(format!("--screenshot={}", s.display()))
            .arg(&url)
            .output()
            .is_ok_and(|o| o.status.success())
    })
    .await
    .unwrap();
    assert!(
        ok && shot.metadata().unwrap().len() > 10_000,
        "screenshot at {}",
        shot.display()
    );

    // Tokens apply: without one the sections say so; with one the page loads.
    let token = linkdiff::api::tokens::create(&store, "ui", 100_000).unwrap();
    let b = browser.clone();
    let url = base.clone();
    let page = tokio::task::spawn_blocking(move || dom(&b, &url))
        .await
        .unwrap();
    assert!(section(&page, "watched", Some("runs")).contains("requires a token"));
    assert!(section(&page, "backlinks", Some("events")).contains("requires a token"));
    let url = format!("{base}&token={token}");
    let page = tokio::task::spawn_blocking(move || dom(&browser, &url))
        .await
        .unwrap();
    let bl = section(&page, "backlinks", Some("events"));
    assert_eq!(attr(bl, "data-rows"), Some(rows.len().to_string().as_str()));
}
