//! Crawl the test web at epoch 1 and epoch 2 and compare every backlink and every event with
//! the web's ground truth, computed here independently by the rules of SPEC §5.

use crate::support::*;
use linkdiff_model::Target;
use linkdiff_model::{registrable_domain, url_host};
use linkdiff_store::{EventKind, Store};
use linkdiff_testweb::{GenLink, PageKind, PageTruth, WebConfig};
use std::collections::{BTreeMap, HashMap};

pub(crate) type Key = (String, String, String, String, bool); // url_from, url_to, type, anchor, nofollow
pub(crate) type Ev = (
    String,
    &'static str,
    &'static str,
    String,
    String,
    String,
    String,
); // date, kind, origin, from, to, type, anchor

fn external(from: &str, to: &str) -> bool {
    registrable_domain(url_host(from)) != registrable_domain(url_host(to))
}

fn live_links(t: &PageTruth) -> Option<&[GenLink]> {
    match t.kind {
        PageKind::Ok | PageKind::Redirect(..) => Some(&t.links),
        _ => None,
    }
}

fn add_counts(out: &mut BTreeMap<Key, u32>, from: &str, links: &[GenLink]) {
    for l in links.iter().filter(|l| external(from, &l.url_to)) {
        *out.entry((
            from.into(),
            l.url_to.clone(),
            l.link_type.to_string(),
            l.anchor.clone(),
            l.nofollow,
        ))
        .or_default() += 1;
    }
}

/// Expected (live backlinks, events) after epoch-1 and epoch-2 visits of every page.
pub(crate) fn oracle(
    t1: &BTreeMap<String, PageTruth>,
    t2: &BTreeMap<String, PageTruth>,
    d1: &str,
    d2: &str,
) -> (BTreeMap<Key, u32>, Vec<Ev>) {
    let mut events = Vec::new();
    let mut live = BTreeMap::new();
    let ident = |l: &GenLink| (l.url_to.clone(), l.link_type.to_string(), l.anchor.clone());
    let multiset = |from: &str, ls: &[GenLink]| {
        let mut m: HashMap<(String, String, String), u32> = HashMap::new();
        for l in ls.iter().filter(|l| external(from, &l.url_to)) {
            *m.entry(ident(l)).or_default() += 1;
        }
        m
    };
    let mut push = |date: &str, kind, origin, from: &str, k: &(String, String, String), n: u32| {
        for _ in 0..n {
            events.push((
                date.to_string(),
                kind,
                origin,
                from.to_string(),
                k.0.clone(),
                k.1.clone(),
                k.2.clone(),
            ));
        }
    };
    for (url, p2) in t2 {
        let p1 = t1.get(url);
        let l1 = p1.and_then(live_links);
        if let Some(l) = l1 {
            for (k, n) in multiset(url, l) {
                push(d1, "new", "fresh", url, &k, n);
            }
        }
        let before = l1.map(|l| multiset(url, l)).unwrap_or_default();
        match (&p2.kind, live_links(p2)) {
            (_, Some(l2)) => {
                let now = multiset(url, l2);
                let fresh = l1.is_none();
                let was_content = matches!(p1.map(|p| &p.kind), Some(PageKind::Ok));
                let lost_origin = if was_content && matches!(p2.kind, PageKind::Redirect(..)) {
                    "drop"
                } else {
                    "recrawl"
                };
                for (k, n) in &now {
                    let b = before.get(k).copied().unwrap_or(0);
                    if *n > b {
                        push(
                            d2,
                            "new",
                            if fresh { "fresh" } else { "recrawl" },
                            url,
                            k,
                            n - b,
                        );
                    }
                }
                for (k, b) in &before {
                    let n = now.get(k).copied().unwrap_or(0);
                    if *b > n {
                        push(d2, "lost", lost_origin, url, k, b - n);
                    }
                }
                add_counts(&mut live, url, l2);
            }
            (PageKind::Gone(_) | PageKind::Disallowed, None) => {
                for (k, b) in &before {
                    push(d2, "lost", "drop", url, k, *b);
                }
            }
            _ => {
                // 5xx once: links kept as they were.
                if let Some(l) = l1 {
                    add_counts(&mut live, url, l);
                }
            }
        }
    }
    events.sort();
    (live, events)
}

pub(crate) fn index_backlinks(store: &Store) -> BTreeMap<Key, u32> {
    let mut out = BTreeMap::new();
    for r in store.backlinks(&Target::Subdomains("test".into())) {
        let (from, id, rec) = r.unwrap();
        // The reverse index's copy of the record is the current one.
        assert_eq!(
            store.link(&from, &id).unwrap().unwrap(),
            rec,
            "{from} -> {}",
            id.url_to
        );
        *out.entry((
            from,
            id.url_to,
            id.link_type.to_string(),
            id.anchor,
            rec.nofollow,
        ))
        .or_default() += 1;
    }
    out
}

pub(crate) fn index_events(store: &Store) -> Vec<Ev> {
    let mut v: Vec<Ev> = store
        .all_events()
        .map(|e| {
            let e = e.unwrap();
            let kind = if e.kind == EventKind::New {
                "new"
            } else {
                "lost"
            };
            (
                linkdiff_query::time::date(e.time),
                kind,
                e.origin.as_str(),
                e.url_from,
                e.url_to,
                e.link_type.to_string(),
                e.anchor,
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_epochs_match_the_ground_truth() {
    two_epochs(linkdiff_crawler::MAX_RESIDENT).await;
}

/// With at most 7 URLs in memory the frontier is paged from the store all the time: same index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_epochs_with_a_tiny_in_memory_queue() {
    two_epochs(7).await;
}

async fn two_epochs(max_resident: usize) {
    let w = web(WebConfig {
        hosts: 14,
        pages_per_host: 10,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let (d1, d2) = ("2026-01-05", "2026-01-12");

    let cfg = |d| linkdiff_crawler::CrawlConfig {
        max_resident,
        ..crawl_cfg(&w, Some(day(d)))
    };
    crawl(&store, &cfg(d1)).await;
    let t1 = w.web.truth(1, &[]);
    w.web.set_epoch(2);
    crawl(&store, &cfg(d2)).await;
    let known: Vec<String> = t1.keys().cloned().collect();
    let t2 = w.web.truth(2, &known);

    // The web really changed in every way the spec cares about.
    let kinds: Vec<&PageKind> = t2.values().map(|t| &t.kind).collect();
    for want in ["Gone", "Redirect", "Error", "Disallowed"] {
        assert!(
            kinds.iter().any(|k| format!("{k:?}").starts_with(want)),
            "test web has no {want} page"
        );
    }

    let (want_live, want_events) = oracle(&t1, &t2, d1, d2);
    let got_live = index_backlinks(&store);
    let missing: Vec<_> = want_live
        .iter()
        .filter(|(k, n)| got_live.get(*k) != Some(n))
        .take(5)
        .collect();
    let extra: Vec<_> = got_live
        .iter()
        .filter(|(k, n)| want_live.get(*k) != Some(n))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "backlinks differ\nmissing {missing:#?}\nextra {extra:#?}"
    );
    assert!(
        want_live.len() > 300,
        "a meaningful web: {} backlinks",
        want_live.len()
    );

    let got_events = index_events(&store);
    let missing: Vec<_> = want_events
        .iter()
        .filter(|e| !got_events.contains(e))
        .take(5)
        .collect();
    let extra: Vec<_> = got_events
        .iter()
        .filter(|e| !want_events.contains(e))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "events differ\nmissing {missing:#?}\nextra {extra:#?}"
    );
    assert_eq!(got_events.len(), want_events.len());

    // refdomains of every target domain: the live backlinks of the truth grouped by the
    // referring page's domain, with their count and distinct referring pages.
    // Every lost event says why, as the page's epoch-2 truth explains it.
    let mut reasons = std::collections::BTreeSet::new();
    for e in store.all_events() {
        let e = e.unwrap();
        if e.kind != EventKind::Lost {
            assert_eq!(e.reason, None);
            continue;
        }
        let want = match &t2[&e.url_from].kind {
            PageKind::Ok => "removedfromhtml",
            PageKind::Gone(_) => "notfound",
            PageKind::Disallowed => "robotsblocked",
            PageKind::Redirect(..) if e.link_type == linkdiff_model::LinkType::Redirect => {
                "lostredirect"
            }
            PageKind::Redirect(..) => "pageredirected",
            PageKind::Error => "pageerror",
        };
        let got = e.reason.map(|r| r.as_str()).unwrap_or("none");
        assert_eq!(got, want, "{} -> {}", e.url_from, e.url_to);
        reasons.insert(got);
    }
    assert!(
        reasons.len() >= 4,
        "the web loses links in many ways: {reasons:?}"
    );

    // broken_backlinks: live backlinks whose target answered 404/410/500 at its last visit,
    // broken since the first visit of that streak.
    let broken = |t: Option<&PageTruth>| {
        t.and_then(|t| match t.kind {
            PageKind::Gone(code) => Some(code as i64),
            PageKind::Error => Some(500),
            _ => None,
        })
    };
    let mut want_broken: BTreeMap<(Key, i64, String), u32> = BTreeMap::new();
    for (k, n) in &want_live {
        if let Some(code) = broken(t2.get(&k.1)) {
            let since = if broken(t1.get(&k.1)).is_some() {
                d1
            } else {
                d2
            };
            *want_broken
                .entry((k.clone(), code, since.to_string()))
                .or_default() += n;
        }
    }
    let p = linkdiff_query::QueryParams {
        limit: 100_000,
        ..linkdiff_query::QueryParams::new(Target::Subdomains("test".into()))
    };
    let r = linkdiff_query::run(&store, linkdiff_query::Table::BrokenBacklinks, &p).unwrap();
    let col = |name: &str| r.columns.iter().position(|c| c.name == name).unwrap();
    let mut got_broken: BTreeMap<(Key, i64, String), u32> = BTreeMap::new();
    for row in &r.rows {
        let t = |name: &str| row[col(name)].text();
        let key = (
            t("url_from"),
            t("url_to"),
            t("link_type"),
            t("anchor"),
            t("nofollow") == "true",
        );
        *got_broken
            .entry((
                key,
                t("http_code").parse().unwrap(),
                t("broken_at")[..10].to_string(),
            ))
            .or_default() += 1;
    }
    assert!(
        want_broken.len() > 10,
        "{} broken backlinks",
        want_broken.len()
    );
    assert_eq!(got_broken, want_broken, "broken_backlinks vs truth");

    let mut day2_transitions = 0;
    for target in [
        "h001.test",
        "h004.test",
        "h009.test",
        "h002.test",
        "h007.test",
    ] {
        let mut want: BTreeMap<String, (i64, std::collections::BTreeSet<String>)> = BTreeMap::new();
        for ((from, to, ..), n) in &want_live {
            if registrable_domain(url_host(to)) == target {
                let g = want
                    .entry(registrable_domain(url_host(from)).to_string())
                    .or_default();
                g.0 += *n as i64;
                g.1.insert(from.clone());
            }
        }
        let p = linkdiff_query::QueryParams::new(Target::Domain(target.into()));
        let r = linkdiff_query::run(&store, linkdiff_query::Table::Refdomains, &p).unwrap();
        let got: BTreeMap<String, (i64, i64)> = r
            .rows
            .iter()
            .map(|row| {
                let int = |v: &linkdiff_query::Value| v.text().parse::<i64>().unwrap();
                (row[0].text(), (int(&row[1]), int(&row[2])))
            })
            .collect();
        let want: BTreeMap<String, (i64, i64)> = want
            .into_iter()
            .map(|(d, (n, pages))| (d, (n, pages.len() as i64)))
            .collect();
        assert!(!want.is_empty(), "{target} has referring domains");
        assert_eq!(got, want, "refdomains of {target}");
        assert_eq!(r.stats[0], ("refdomains", want.len() as u64));

        // backlinks_one_per_domain: one row per referring domain, its page's UR the highest
        // among that domain's backlinks.
        let all = linkdiff_query::run(&store, linkdiff_query::Table::Backlinks, &p).unwrap();
        let one = linkdiff_query::run(&store, linkdiff_query::Table::OnePerDomain, &p).unwrap();
        let col = |r: &linkdiff_query::QueryResult, name: &str| {
            r.columns.iter().position(|c| c.name == name).unwrap()
        };
        let mut best_rank: BTreeMap<String, i64> = BTreeMap::new();
        for row in &all.rows {
            let d = registrable_domain(url_host(&row[col(&all, "url_from")].text())).to_string();
            let rank = row[col(&all, "ahrefs_rank")].text().parse::<i64>().unwrap();
            let e = best_rank.entry(d).or_insert(rank);
            *e = (*e).max(rank);
        }
        let mut seen = std::collections::BTreeSet::new();
        for row in &one.rows {
            let d = registrable_domain(url_host(&row[col(&one, "url_from")].text())).to_string();
            let rank = row[col(&one, "ahrefs_rank")].text().parse::<i64>().unwrap();
            assert_eq!(Some(&rank), best_rank.get(&d), "strongest backlink of {d}");
            assert!(seen.insert(d), "one row per domain");
        }
        assert_eq!(seen.len(), want.len());

        // metrics_extended agrees with the tables it summarises.
        let m = linkdiff_query::run(&store, linkdiff_query::Table::MetricsExtended, &p).unwrap();
        let metric = |name: &str| m.rows[0][col(&m, name)].text().parse::<usize>().unwrap();
        assert_eq!(metric("backlinks"), all.rows.len());
        assert_eq!(metric("refdomains"), want.len());
        assert_eq!(metric("dofollow") + metric("nofollow"), all.rows.len());
        assert!(metric("pages") >= metric("valid_pages") && metric("valid_pages") > 0);

        // refdomains_new_lost: with two crawls, every domain linking on day 1 is new then; on
        // day 2 the domains linking only now are new and those no longer linking are lost.
        let domains_of = |links: &mut dyn Iterator<Item = (&String, &String)>| {
            links
                .filter(|(_, to)| registrable_domain(url_host(to)) == target)
                .map(|(from, _)| registrable_domain(url_host(from)).to_string())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let day1 = domains_of(
            &mut want_events
                .iter()
                .filter(|e| e.0 == d1 && e.1 == "new")
                .map(|e| (&e.3, &e.4)),
        );
        let day2 = domains_of(&mut want_live.keys().map(|k| (&k.0, &k.1)));
        let mut expected: Vec<(String, &str, String)> = Vec::new();
        for d in day2.difference(&day1) {
            expected.push((d2.to_string(), "new", d.clone()));
        }
        for d in day1.difference(&day2) {
            expected.push((d2.to_string(), "lost", d.clone()));
        }
        for d in &day1 {
            expected.push((d1.to_string(), "new", d.clone()));
        }
        expected.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(a.1)).then(a.2.cmp(&b.2)));
        let r = linkdiff_query::run(&store, linkdiff_query::Table::RefdomainsNewLost, &p).unwrap();
        let got: Vec<(String, &str, String)> = r
            .rows
            .iter()
            .map(|row| {
                let kind = if row[1].text() == "new" {
                    "new"
                } else {
                    "lost"
                };
                (row[0].text(), kind, row[2].text())
            })
            .collect();
        assert_eq!(got, expected, "refdomains_new_lost of {target}");
        day2_transitions += expected.iter().filter(|e| e.0 == d2).count();
    }
    assert!(
        day2_transitions > 0,
        "the scenario gains or loses a referring domain"
    );

    // The run records count what each run fetched and how much of it was new to the index.
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 2);
    let first_seen_on = |d: &str| {
        store
            .pages()
            .filter(|p| p.as_ref().unwrap().1.first_visit == Some(day(d)))
            .count() as u64
    };
    assert_eq!(
        runs[0].new_pages,
        first_seen_on(d1),
        "run 1: every page is new"
    );
    assert_eq!(runs[0].new_pages, runs[0].fetched);
    assert!(first_seen_on(d2) > 0, "epoch 2 adds pages");
    assert_eq!(runs[1].new_pages, first_seen_on(d2));
    assert!(runs[1].fetched > runs[1].new_pages);
    for origin in ["fresh", "recrawl", "drop"] {
        assert!(
            want_events.iter().any(|e| e.2 == origin),
            "no {origin} event in the scenario"
        );
    }
}
