//! Issue 24, part 1: sitemaps. Pages nothing links to are found through robots.txt's
//! `Sitemap:` lines (an index, gzip, plain text) or `/sitemap.xml`; other hosts' URLs, a
//! malformed file and an index that lists itself are counted problems, never a hang.

use crate::support::*;
use linkdiff_store::Store;
use linkdiff_testweb::WebConfig;

const ORPHANS: usize = 6;

fn orphans(store: &Store, host: usize) -> usize {
    let prefix = format!("http://h{host:03}.test:");
    store
        .pages()
        .filter_map(Result::ok)
        .filter(|(u, p)| {
            u.starts_with(&prefix) && u.contains("/orphan/") && p.last_ok_visit.is_some()
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_only_sitemaps_list_are_crawled_and_bad_sitemaps_are_counted() {
    let w = web(WebConfig {
        hosts: 4,
        pages_per_host: 3,
        sitemap_orphans: ORPHANS,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    // Off (the test web's default crawl): no orphan is found.
    let off = Store::open(&dir.path().join("off.db")).unwrap();
    crawl(&off, &crawl_cfg(&w, Some(day("2026-06-01")))).await;
    assert_eq!((0..4).map(|h| orphans(&off, h)).sum::<usize>(), 0);

    let store = Store::open(&dir.path().join("on.db")).unwrap();
    let cfg = linkdiff_crawler::CrawlConfig {
        sitemaps: true,
        ..crawl_cfg(&w, Some(day("2026-06-01")))
    };
    let summary = crawl(&store, &cfg).await;
    // h000, h002: robots.txt → index → gzip urlset + text file; h001: /sitemap.xml;
    // h003: malformed.
    assert_eq!(orphans(&store, 0), ORPHANS, "{summary}");
    assert_eq!(orphans(&store, 2), ORPHANS, "{summary}");
    assert_eq!(orphans(&store, 1), ORPHANS, "{summary}");
    assert_eq!(orphans(&store, 3), 0, "{summary}");
    assert!(
        summary.contains(&format!("{} pages first found in sitemaps", 3 * ORPHANS)),
        "{summary}"
    );
    assert!(summary.contains("sitemap_malformed 1"), "{summary}");
    // Two robots.txt lines on another host, one URL on another host in h001's sitemap.
    assert!(summary.contains("sitemap_other_host 3"), "{summary}");
    // The orphans' links are backlinks like any other.
    let v = cli_json(
        dir.path().join("on.db").to_str().unwrap(),
        &[
            "backlinks",
            "--target",
            "h000.test",
            "--mode",
            "domain",
            "--where",
            "substring(url_from,\"/orphan/\")",
        ],
    );
    assert_eq!(v["refpages"].as_array().unwrap().len(), 2 * ORPHANS, "{v}");

    // The index listed itself: read once. A second run reads the sitemaps again but finds
    // nothing new; the orphans are recrawled with everything else.
    let requests = |path: &str| {
        w.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, p, _)| h == "h000.test" && p == path)
            .count()
    };
    assert_eq!(requests("/maps/index.xml"), 1);
    let again = crawl(
        &store,
        &linkdiff_crawler::CrawlConfig {
            sitemaps: true,
            ..crawl_cfg(&w, Some(day("2026-06-08")))
        },
    )
    .await;
    assert!(!again.contains("first found in sitemaps"), "{again}");
    assert_eq!(requests("/maps/index.xml"), 2);
    assert_eq!(orphans(&store, 0), ORPHANS);

    // --max-sitemap-urls caps what one host's sitemaps add per run.
    let capped = Store::open(&dir.path().join("capped.db")).unwrap();
    let summary = crawl(
        &capped,
        &linkdiff_crawler::CrawlConfig {
            sitemaps: true,
            max_sitemap_urls: 2,
            ..crawl_cfg(&w, Some(day("2026-06-01")))
        },
    )
    .await;
    assert_eq!(orphans(&capped, 1), 2, "{summary}");
    assert!(summary.contains("sitemap_over_max_urls"), "{summary}");
}
