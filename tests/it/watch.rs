//! `linkdiff watch`: links placed on other sites are checked every crawl, even outside the
//! crawl's scope, and their status says what happened and since when.

use crate::support::*;
use linkdiff_model::{registrable_domain, url_host, LinkType};
use linkdiff_store::Store;
use linkdiff_testweb::{GenLink, PageKind, PageTruth, WebConfig};
use std::collections::BTreeMap;

fn external_hrefs<'a>(url: &str, t: &'a PageTruth) -> impl Iterator<Item = &'a GenLink> + 'a {
    let from = registrable_domain(url_host(url)).to_string();
    t.links.iter().filter(move |l| {
        l.link_type == LinkType::Href
            && !l.nofollow
            && registrable_domain(url_host(&l.url_to)) != from
    })
}

fn status(db: &str) -> BTreeMap<(String, String), serde_json::Value> {
    let out = bin(&["watch", "status", "--db", db, "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .map(|r| {
            (
                (
                    r["url_from"].as_str().unwrap().to_string(),
                    r["url_to"].as_str().unwrap().to_string(),
                ),
                r,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_links_are_checked_every_crawl_outside_the_scope_and_say_since_when() {
    let w = web(WebConfig {
        hosts: 8,
        pages_per_host: 5,
        ..WebConfig::default()
    })
    .await;
    let t1 = w.web.truth(1, &[]);
    let known: Vec<String> = t1.keys().cloned().collect();
    w.web.set_epoch(2);
    let t2 = w.web.truth(2, &known);
    w.web.set_epoch(1);
    let seed_host = url_host(&w.web.seeds()[0]).to_string();
    let elsewhere = |u: &str| url_host(u) != seed_host;
    let ok = |t: Option<&PageTruth>| t.is_some_and(|t| t.kind == PageKind::Ok);
    // A link that stays, one removed from its page, one whose page goes 404/410: all on pages
    // outside the seed's host (the crawl's scope).
    let mut kept = None;
    let mut removed = None;
    let mut gone = None;
    for (url, p1) in t1
        .iter()
        .filter(|(u, p)| elsewhere(u) && p.kind == PageKind::Ok)
    {
        let p2 = t2.get(url);
        for l in external_hrefs(url, p1) {
            let still = p2.is_some_and(|p| {
                p.links
                    .iter()
                    .any(|m| m.url_to == l.url_to && m.anchor == l.anchor)
            });
            let pick = (url.clone(), l.url_to.clone(), l.anchor.clone());
            if ok(p2) && still && kept.is_none() {
                kept = Some(pick);
            } else if ok(p2) && !still && removed.is_none() {
                removed = Some(pick);
            } else if p2.is_some_and(|p| matches!(p.kind, PageKind::Gone(_))) && gone.is_none() {
                gone = Some(pick);
            }
        }
    }
    let (kept, removed, gone) = (kept.unwrap(), removed.unwrap(), gone.unwrap());

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db_s = db.to_str().unwrap();
    let add = |l: &(String, String, String), note: &str| {
        let out = bin(&[
            "watch", "add", &l.0, &l.1, "--anchor", &l.2, "--note", note, "--db", db_s,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    add(&kept, "placed in January");
    add(&gone, "guest post");
    let csv = dir.path().join("links.csv");
    std::fs::write(
        &csv,
        format!(
            "url_from,url_to,anchor,note\n{},{},\"{}\",\"outreach, batch 2\"\n",
            removed.0, removed.1, removed.2
        ),
    )
    .unwrap();
    let out = bin(&["watch", "import", csv.to_str().unwrap(), "--db", db_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = status(db_s);
    assert_eq!(before.len(), 3);
    assert!(before.values().all(|r| r["state"] == "not visited yet"));
    assert_eq!(
        before[&(removed.0.clone(), removed.1.clone())]["note"],
        "outreach, batch 2"
    );

    // Crawl only the seed's host: the watched pages are fetched all the same.
    let store = Store::open(&db).unwrap();
    let cfg = |d: &str| linkdiff_crawler::CrawlConfig {
        seeds: vec![url::Url::parse(&w.web.seeds()[0]).unwrap()],
        ..crawl_cfg(&w, Some(day(d)))
    };
    crawl(&store, &cfg("2026-01-05")).await;
    let s1 = status(db_s);
    for l in [&kept, &removed, &gone] {
        let r = &s1[&(l.0.clone(), l.1.clone())];
        assert_eq!(r["state"], "live", "{r}");
        assert_eq!(r["since"], "2026-01-05T00:00:00Z");
    }
    w.web.set_epoch(2);
    crawl(&store, &cfg("2026-01-12")).await;
    let s2 = status(db_s);
    let r = &s2[&(kept.0.clone(), kept.1.clone())];
    assert_eq!(
        (
            r["state"].as_str(),
            r["since"].as_str(),
            r["last_checked"].as_str()
        ),
        (
            Some("live"),
            Some("2026-01-05T00:00:00Z"),
            Some("2026-01-12T00:00:00Z")
        )
    );
    let r = &s2[&(removed.0.clone(), removed.1.clone())];
    assert_eq!(r["state"], "missing", "{r}");
    assert_eq!(r["since"], "2026-01-12T00:00:00Z");
    assert_eq!(r["detail"], "lost: removedfromhtml");
    let r = &s2[&(gone.0.clone(), gone.1.clone())];
    assert_eq!(r["state"], "page error", "{r}");
    assert_eq!(r["since"], "2026-01-12T00:00:00Z");
    assert!(r["detail"].as_str().unwrap().starts_with("HTTP 4"), "{r}");
    drop(store);

    let out = bin(&["watch", "remove", &kept.0, &kept.1, "--db", db_s]);
    assert!(out.status.success());
    assert_eq!(status(db_s).len(), 2);
    let out = bin(&["watch", "remove", &kept.0, &kept.1, "--db", db_s]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "removing twice is a usage error"
    );
    // A bad CSV line writes nothing.
    std::fs::write(&csv, "http://a.test/,http://b.test/\nnot-a-url,x\n").unwrap();
    let out = bin(&["watch", "import", csv.to_str().unwrap(), "--db", db_s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    assert_eq!(status(db_s).len(), 2);
}

/// Issue 24: the backlink exports users already have (Ahrefs in UTF-16 with tabs, Semrush and
/// Majestic CSV) become watched links checked by the next crawl, or a seed list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlink_exports_of_ahrefs_semrush_and_majestic_are_watched_from_day_one() {
    let w = web(WebConfig {
        hosts: 6,
        pages_per_host: 4,
        ..WebConfig::default()
    })
    .await;
    let t1 = w.web.truth(1, &[]);
    // Three real links of the web, one per export, each on a page outside the seed's host.
    let seed_host = url_host(&w.web.seeds()[0]).to_string();
    let mut picks = t1
        .iter()
        .filter(|(url, t)| url_host(url) != seed_host && t.kind == PageKind::Ok)
        .filter_map(|(url, t)| {
            external_hrefs(url, t)
                .next()
                .map(|l| (url.clone(), l.clone()))
        });
    let mut next = || picks.next().expect("enough links");
    let (a, s, m) = (next(), next(), next());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let db_s = db.to_str().unwrap();

    // Ahrefs: UTF-16LE with a BOM, tab-separated, quoted, its own column names and extras.
    let ahrefs_text = format!(
        "\"Referring page title\"\t\"Referring page URL\"\t\"Domain rating\"\t\"Target URL\"\t\"Left context\"\t\"Anchor\"\t\"Right context\"\n\
         \"A page\"\t\"{}\"\t\"12\"\t\"{}\"\t\"\"\t\"{}\"\t\"\"\n",
        a.0, a.1.url_to, a.1.anchor
    );
    let mut ahrefs = vec![0xFF, 0xFE];
    for u in ahrefs_text.encode_utf16() {
        ahrefs.extend_from_slice(&u.to_le_bytes());
    }
    let semrush = format!(
        "Page ascore,Source title,Source url,Target url,Anchor,External links,Internal links,Nofollow\n\
         7,\"Title, with comma\",{},{},\"{}\",3,10,false\n",
        s.0, s.1.url_to, s.1.anchor
    );
    let majestic = format!(
        "\u{feff}Source URL,Anchor Text,Source Crawl Date,FlagNoFollow,Target URL\n{},\"{}\",2026-11-01,-,{}\n",
        m.0, m.1.anchor, m.1.url_to
    );
    for (name, bytes, fmt) in [
        ("ahrefs.csv", ahrefs.clone(), "ahrefs"),
        ("semrush.csv", semrush.into_bytes(), "semrush"),
        ("majestic.csv", majestic.into_bytes(), "majestic"),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        let out = bin(&["watch", "import", f.to_str().unwrap(), "--db", db_s]);
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            said.contains("watching 1 links") && said.contains(fmt),
            "{said}"
        );
    }
    let before = status(db_s);
    assert_eq!(before.len(), 3, "{before:?}");
    for (from, l) in [&a, &s, &m] {
        let row = &before[&(from.clone(), l.url_to.clone())];
        assert_eq!(row["anchor"], l.anchor.as_str(), "{row}");
        assert_eq!(row["state"], "not visited yet");
    }

    // The crawl checks them although only the seed's host is in scope.
    let store = Store::open(&db).unwrap();
    let cfg = linkdiff_crawler::CrawlConfig {
        seeds: vec![url::Url::parse(&w.web.seeds()[0]).unwrap()],
        ..crawl_cfg(&w, Some(day("2026-03-01")))
    };
    crawl(&store, &cfg).await;
    drop(store);
    let after = status(db_s);
    assert!(after.values().all(|r| r["state"] == "live"), "{after:?}");

    // --as-seeds: the referring pages, once each, and the index untouched.
    let seeds = dir.path().join("seeds.txt");
    let f = dir.path().join("ahrefs.csv");
    let out = bin(&[
        "watch",
        "import",
        f.to_str().unwrap(),
        "--format",
        "ahrefs",
        "--as-seeds",
        seeds.to_str().unwrap(),
        "--db",
        dir.path().join("none.db").to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&seeds).unwrap(),
        format!("{}\n", a.0)
    );
    assert!(!dir.path().join("none.db").exists());

    // A bad row names its line and writes nothing; a header nobody wrote is named.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "Source url,Target url,Anchor\n{},{},x\n\nnot a url,{},y\n",
            s.0, s.1.url_to, s.1.url_to
        ),
    )
    .unwrap();
    let out = bin(&["watch", "import", bad.to_str().unwrap(), "--db", db_s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.csv line 4"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&bad, "Page,Link\nhttp://a.test/,http://b.test/\n").unwrap();
    let out = bin(&["watch", "import", bad.to_str().unwrap(), "--db", db_s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --format"));
    assert_eq!(status(db_s).len(), 3);
}
