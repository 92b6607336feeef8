//! Issue 24, part 2: conditional recrawls. A recrawl asks with `If-None-Match`; a `304` (or a
//! 200 with the same body) is an unchanged visit: visit dates advance, every link stays live
//! with its `first_seen`, nothing is new or lost — and a page that did change is still diffed.

use crate::support::*;
use linkdiff_store::Store;
use linkdiff_testweb::WebConfig;
use std::sync::atomic::Ordering;

fn events(store: &Store) -> usize {
    store.stats().unwrap().events as usize
}

/// `url_from → (first_seen, last_visited, prev_visited)` of the live backlinks of one host.
fn dates(db: &str, target: &str) -> Vec<(String, String, String, String)> {
    let v = cli_json(
        db,
        &[
            "backlinks",
            "--target",
            target,
            "--mode",
            "domain",
            "--select",
            "url_from,first_seen,last_visited,prev_visited",
        ],
    );
    let mut out: Vec<_> = v["refpages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (
                s("url_from"),
                s("first_seen"),
                s("last_visited"),
                s("prev_visited"),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_page_answers_304_and_only_its_visit_dates_move() {
    let w = web(WebConfig {
        hosts: 6,
        pages_per_host: 6,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let db_s = db.to_str().unwrap();
    let store = Store::open(&db).unwrap();
    let first = crawl(&store, &crawl_cfg(&w, Some(day("2026-04-01")))).await;
    assert!(!first.contains("Unchanged"), "{first}");
    assert_eq!(w.not_modified.load(Ordering::Relaxed), 0);
    let events_after_first = events(&store);
    let target = "h001.test";
    let before = dates(db_s, target);
    assert!(!before.is_empty());

    // Nothing changed: every page fetched before answers 304.
    let second = crawl(&store, &crawl_cfg(&w, Some(day("2026-04-08")))).await;
    let n304 = w.not_modified.load(Ordering::Relaxed);
    let pages = store.stats().unwrap().pages;
    assert!(
        n304 > 0 && n304 * 10 >= pages * 8,
        "{n304} of {pages}: {second}"
    );
    assert!(
        second.contains(&format!("Unchanged: {n304} (304)")),
        "{second}"
    );
    assert!(second.contains("0 new and 0 lost backlinks"), "{second}");
    assert_eq!(
        events(&store),
        events_after_first,
        "no event from an unchanged page"
    );
    let after = dates(db_s, target);
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&b.0, &b.1), (&a.0, &a.1), "same link, same first_seen");
        assert_eq!(a.2, "2026-04-08T00:00:00Z", "last_visited advanced: {a:?}");
        assert_eq!(
            a.3, "2026-04-01T00:00:00Z",
            "prev_visited is the last visit: {a:?}"
        );
    }

    // The web changes: changed pages answer 200 and are diffed as ever.
    w.web.set_epoch(2);
    let third = crawl(&store, &crawl_cfg(&w, Some(day("2026-04-15")))).await;
    assert!(!third.contains("0 new and 0 lost backlinks"), "{third}");
    assert!(events(&store) > events_after_first);

    // Validators ignored every visit (`--revalidate-every 1`): a full fetch, and the same
    // body is unchanged all the same, by its hash.
    let cfg = linkdiff_crawler::CrawlConfig {
        revalidate_every: 1,
        ..crawl_cfg(&w, Some(day("2026-04-22")))
    };
    let n304 = w.not_modified.load(Ordering::Relaxed);
    let fourth = crawl(&store, &cfg).await;
    assert_eq!(
        w.not_modified.load(Ordering::Relaxed),
        n304,
        "no conditional request"
    );
    assert!(
        fourth.contains("(same content)") && !fourth.contains("Unchanged: 0 (304), 0"),
        "{fourth}"
    );
    assert!(fourth.contains("0 new and 0 lost backlinks"), "{fourth}");

    // Off (`--revalidate-every 0`): every page fetched and extracted.
    let cfg = linkdiff_crawler::CrawlConfig {
        revalidate_every: 0,
        ..crawl_cfg(&w, Some(day("2026-04-29")))
    };
    let fifth = crawl(&store, &cfg).await;
    assert!(!fifth.contains("Unchanged"), "{fifth}");
    assert!(fifth.contains("0 new and 0 lost backlinks"), "{fifth}");
}
