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
