//! No false alarms: a visit that would report lost links because its page failed, or because
//! links vanished from an otherwise unchanged page, is fetched once more in the same run
//! before anything is reported.

use crate::support::*;
use linkdiff_store::{EventKind, Store};
use linkdiff_testweb::WebConfig;

/// (day, kind, url_to, reason) of every event.
fn events(store: &Store) -> Vec<(String, EventKind, String, Option<String>)> {
    let mut v: Vec<_> = store
        .all_events()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                linkdiff_query::time::date(e.time),
                e.kind,
                e.url_to,
                e.reason.map(|r| r.as_str().to_string()),
            )
        })
        .collect();
    v.sort_by_key(|e| format!("{e:?}"));
    v
}

async fn two_runs(
    w: &linkdiff_testweb::RunningWeb,
    key: &str,
    recheck: bool,
) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let origin = w.web.origin(0);
    let cfg = |d: &str| linkdiff_crawler::CrawlConfig {
        seeds: ["flicker", "blip"]
            .iter()
            .map(|k| url::Url::parse(&format!("{origin}/special/{k}/{key}")).unwrap())
            .collect(),
        scope: linkdiff_crawler::Scope::Seeds,
        recheck_delay: recheck.then(|| std::time::Duration::from_millis(30)),
        ..crawl_cfg(w, Some(day(d)))
    };
    crawl(&store, &cfg("2026-01-05")).await;
    crawl(&store, &cfg("2026-01-12")).await;
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flickering_link_and_a_404_blip_are_rechecked_not_reported() {
    let w = web(WebConfig {
        hosts: 1,
        pages_per_host: 1,
        ..WebConfig::default()
    })
    .await;
    let new = |to: &str| {
        (
            "2026-01-05".to_string(),
            EventKind::New,
            to.to_string(),
            None,
        )
    };
    // With rechecks: the second run's first fetches look wrong, the second fetches are
    // fine, and nothing is lost.
    let (_d1, store) = two_runs(&w, "with", true).await;
    assert_eq!(
        events(&store),
        vec![
            new("http://blip-target.test/"),
            new("http://flicker-target.test/")
        ]
    );
    // Without them, the same pages report losses (and the blip's link comes back later).
    let (_d2, store) = two_runs(&w, "without", false).await;
    let lost: Vec<_> = events(&store)
        .into_iter()
        .filter(|e| e.1 == EventKind::Lost)
        .map(|e| (e.2, e.3.unwrap_or_default()))
        .collect();
    assert_eq!(
        lost,
        vec![
            (
                "http://blip-target.test/".to_string(),
                "notfound".to_string()
            ),
            (
                "http://flicker-target.test/".to_string(),
                "removedfromhtml".to_string()
            )
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_back_right_after_a_pageerror_loss_is_marked_recovered_not_new() {
    let w = web(WebConfig {
        hosts: 1,
        pages_per_host: 1,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    let seed = format!("{}/special/outage/r", w.web.origin(0));
    for d in 1..=5 {
        let cfg = linkdiff_crawler::CrawlConfig {
            seeds: vec![url::Url::parse(&seed).unwrap()],
            scope: linkdiff_crawler::Scope::Seeds,
            retries: 1,
            ..crawl_cfg(&w, Some(day(&format!("2026-01-0{d}"))))
        };
        crawl(&store, &cfg).await;
    }
    let got: Vec<(String, EventKind, Option<String>)> = events(&store)
        .into_iter()
        .map(|e| (e.0, e.1, e.3))
        .collect();
    assert_eq!(
        got,
        vec![
            ("2026-01-01".to_string(), EventKind::New, None),
            (
                "2026-01-04".to_string(),
                EventKind::Lost,
                Some("pageerror".into())
            ),
        ],
        "no new event when the link came back on the 5th"
    );
    let v = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks_new_lost",
            "--target",
            "outage-target.test",
            "--mode",
            "domain",
            "--select",
            "date,type,reason,recovered",
        ],
    );
    let rows = v["refpages"].as_array().unwrap();
    let lost = rows.iter().find(|r| r["type"] == "lost").unwrap();
    assert_eq!(lost["recovered"], true, "{v}");
    let live = cli_json(
        db.to_str().unwrap(),
        &[
            "backlinks",
            "--target",
            "outage-target.test",
            "--mode",
            "domain",
        ],
    );
    let row = &live["refpages"][0];
    assert_eq!(row["first_seen"], "2026-01-01T00:00:00Z", "{live}");
}
