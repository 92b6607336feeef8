//! The store conformance suite: behaviour every engine must have. Public behind the
//! `testing` feature so a new engine (a future backend crate) runs the same checks:
//! `for (name, check) in conformance::all() { check(&fresh_store(), name) }`.

use crate::*;
use linkdiff_model::*;

fn id(url_to: &str, anchor: &str, n: u16) -> LinkId {
    LinkId {
        url_to: url_to.into(),
        link_type: LinkType::Href,
        anchor: anchor.into(),
        n,
    }
}

fn live(external: bool) -> LinkRecord {
    LinkRecord {
        first_seen: 100,
        streak_start: 100,
        live: true,
        external,
        ..Default::default()
    }
}

/// Write `links` as the link sets of their pages, listing live external ones as backlinks.
fn put_links(w: &mut WriteBatch, links: Vec<(&str, LinkId, LinkRecord)>) {
    let mut by_page: std::collections::BTreeMap<&str, Vec<(LinkId, LinkRecord)>> =
        Default::default();
    for (from, id, rec) in links {
        if rec.live && rec.external {
            w.put_backlink(from, &id, &rec);
        }
        by_page.entry(from).or_default().push((id, rec));
    }
    for (from, set) in by_page {
        w.put_links(from, &set);
    }
}

/// A few pages linking to `example.com` and its neighbours, with internal and dead links.
pub fn sample(store: &Store) {
    let mut w = WriteBatch::new();
    let mut links = Vec::new();
    for (from, to) in [
        ("http://a.test/1", "https://example.com/"),
        ("http://a.test/1", "https://example.com/blog/x"),
        ("http://a.test/2", "http://www.example.com/blog/y"),
        ("http://b.test/", "http://shop.example.com/"),
        ("http://b.test/", "http://deep.shop.example.com:8080/z"),
        ("http://b.test/", "http://notexample.com/"),
        ("http://b.test/", "http://example.community/"),
    ] {
        links.push((from, id(to, "x", 0), live(true)));
    }
    // Internal and dead links never reach the backlink index.
    links.push((
        "http://a.test/1",
        id("http://a.test/2", "in", 0),
        live(false),
    ));
    let mut dead = live(true);
    dead.live = false;
    links.push((
        "http://a.test/1",
        id("https://example.com/gone", "x", 0),
        dead,
    ));
    put_links(&mut w, links);
    store.apply(w).unwrap();
}

/// The sorted `url_to` of the backlinks in `scope`.
pub fn targets(store: &Store, scope: Target) -> Vec<String> {
    let mut v: Vec<String> = store
        .backlinks(&scope)
        .map(|r| r.unwrap().1.url_to)
        .collect();
    v.sort();
    v
}

/// Every record type reads back as written.
pub fn round_trip_of_every_record(store: &Store, name: &str) {
    {
        let page = PageRecord {
            title: "T".into(),
            last_status: 200,
            links_external: 3,
            ..Default::default()
        };
        let run = RunRecord {
            id: 7,
            as_of: 5,
            ..Default::default()
        };
        let tok = TokenRecord {
            hash: "h".into(),
            rows_limit: 10,
            centirows_left: 1000,
            created: 1,
        };
        let fe = FrontierEntry {
            depth: 2,
            redirects: 0,
            run: 7,
        };
        let mut w = WriteBatch::new();
        w.put_page("http://a.test/", &page);
        w.put_run(&run);
        w.put_token("ci", &tok);
        w.put_frontier("http://a.test/x", &fe);
        w.put_domain(
            "a.test",
            &DomainRecord {
                domain_rating: 9,
                raw: 0.5,
                ahrefs_top: 1,
                source: None,
            },
        );
        w.put_domain(
            "b.test",
            &DomainRecord {
                domain_rating: 44,
                raw: 0.1,
                ahrefs_top: 2,
                source: Some(RankSource::Tranco),
            },
        );
        store.apply(w).unwrap();
        // Where a rating came from is kept with it.
        assert_eq!(
            store.domain("a.test").unwrap().unwrap().source,
            None,
            "{name}"
        );
        assert_eq!(
            store.domain("b.test").unwrap().unwrap().source,
            Some(RankSource::Tranco),
            "{name}"
        );
        assert_eq!(store.page("http://a.test/").unwrap(), Some(page), "{name}");
        assert_eq!(store.last_run().unwrap(), Some(run.clone()), "{name}");
        // Rating history: per name and kind, oldest first, a day written again replaced.
        let mut w = WriteBatch::new();
        w.put_rating(RatingKind::Domain, "a.test", 172_800, 30);
        w.put_rating(RatingKind::Domain, "a.test", 86_400, 20);
        w.put_rating(RatingKind::Domain, "a.test.x", 86_400, 99);
        w.put_rating(RatingKind::Url, "a.test", 86_400, 7);
        w.put_rating(RatingKind::Domain, "a.test", 172_800, 31);
        store.apply(w).unwrap();
        assert_eq!(
            store.rating_history(RatingKind::Domain, "a.test").unwrap(),
            vec![(86_400, 20), (172_800, 31)],
            "{name}"
        );
        assert_eq!(
            store.rating_history(RatingKind::Url, "a.test").unwrap(),
            vec![(86_400, 7)],
            "{name}"
        );
        // Imported ratings: the newest import day wins; on one day, the first source of
        // RankSource::ALL; names without one are absent; they are not rating history.
        let mut w = WriteBatch::new();
        w.put_rating(RatingKind::Imported(RankSource::Csv), "a.test", 86_400, 10);
        w.put_rating(
            RatingKind::Imported(RankSource::Tranco),
            "a.test",
            172_800,
            60,
        );
        w.put_rating(
            RatingKind::Imported(RankSource::CcWebgraph),
            "b.test",
            86_400,
            50,
        );
        w.put_rating(RatingKind::Imported(RankSource::Csv), "b.test", 86_400, 70);
        store.apply(w).unwrap();
        let got = store
            .imported_ratings(&["a.test", "b.test", "c.test"])
            .unwrap();
        assert_eq!(got.len(), 2, "{name}: {got:?}");
        assert_eq!(
            got["a.test"],
            ImportedRating {
                source: RankSource::Tranco,
                day: 172_800,
                rating: 60
            },
            "{name}"
        );
        assert_eq!(
            (got["b.test"].source, got["b.test"].rating),
            (RankSource::CcWebgraph, 50),
            "{name}"
        );
        assert_eq!(
            store.rating_history(RatingKind::Domain, "a.test").unwrap(),
            vec![(86_400, 20), (172_800, 31)],
            "{name}"
        );
        // A crawl's per-visit progress keeps the seeds and scope written at the run's start.
        let started = RunRecord {
            config: "seeds\nhttp://a.test/".into(),
            ..run.clone()
        };
        let mut w = WriteBatch::new();
        w.put_run(&started);
        store.apply(w).unwrap();
        let mut w = WriteBatch::new();
        let mut visited = started.progress();
        visited.fetched = 3;
        visited.error_kinds = vec![("timeout".into(), 1)];
        w.put_run_progress(visited.clone());
        visited.fetched = 4;
        w.put_run_progress(visited.clone());
        store.apply(w).unwrap();
        let stored = store.last_run().unwrap().unwrap();
        assert_eq!(stored.config, started.config, "{name}");
        assert_eq!(
            (stored.fetched, stored.error_kinds.clone()),
            (4, visited.error_kinds.clone()),
            "{name}"
        );
        let mut w = WriteBatch::new();
        w.put_run(&run);
        store.apply(w).unwrap();
        assert_eq!(store.token("ci").unwrap(), Some(tok), "{name}");
        assert_eq!(
            store.frontier_entry("http://a.test/x").unwrap(),
            Some(fe),
            "{name}"
        );
        assert_eq!(
            store.domain("a.test").unwrap().unwrap().ahrefs_top,
            1,
            "{name}"
        );
        assert_eq!(store.page("http://nope/").unwrap(), None, "{name}");
        // A URL Rating changes that field only; a page without a record stays absent.
        let mut w = WriteBatch::new();
        w.put_url_rating("http://a.test/", 42);
        w.put_url_rating("http://nope/", 7);
        store.apply(w).unwrap();
        let rated = store.page("http://a.test/").unwrap().unwrap();
        assert_eq!(rated.url_rating, 42, "{name}");
        assert_eq!(rated.title, "T", "{name}");
        assert_eq!(store.page("http://nope/").unwrap(), None, "{name}");
    }
}

/// Target scopes select exactly the URLs of each mode, on label boundaries.
pub fn scopes_select_exactly_their_urls(store: &Store, name: &str) {
    {
        sample(store);
        assert_eq!(
            targets(store, Target::Exact("example.com".into())),
            vec!["https://example.com/"],
            "{name}"
        );
        assert_eq!(
            targets(store, Target::Domain("example.com".into())),
            vec![
                "http://www.example.com/blog/y",
                "https://example.com/",
                "https://example.com/blog/x"
            ],
            "{name}"
        );
        assert_eq!(
            targets(store, Target::Subdomains("shop.example.com".into())),
            vec![
                "http://deep.shop.example.com:8080/z",
                "http://shop.example.com/"
            ],
            "{name}"
        );
        assert_eq!(
            targets(store, Target::Subdomains("example.com".into())).len(),
            5,
            "{name}: subdomains stop at label boundaries (not notexample.com, example.community)"
        );
        assert_eq!(
            targets(store, Target::Prefix("example.com/blog".into())),
            vec!["https://example.com/blog/x"],
            "{name}"
        );
    }
}

/// A page's link set keeps dead links (history); only live external ones are backlinks.
pub fn forward_links_keep_dead_links_for_history(store: &Store, name: &str) {
    {
        sample(store);
        let links = store.forward_links("http://a.test/1").unwrap();
        assert_eq!(links.len(), 4, "{name}");
        assert_eq!(links.iter().filter(|(_, r)| r.live).count(), 3, "{name}");
        let s = store.stats().unwrap();
        assert_eq!(
            (s.links, s.backlinks),
            (8, 7),
            "{name}: 7 external + 1 internal live"
        );
    }
}

/// A batch that fails half-way leaves no trace, and does not undo the batches before it.
pub fn a_visit_is_applied_wholly_or_not_at_all(store: &Store, name: &str) {
    let mut before = WriteBatch::new();
    before.put_page("http://b.test/", &PageRecord::default());
    store.apply(before).unwrap();
    let visit = |fail: bool| {
        let mut w = WriteBatch::new();
        w.put_page("http://a.test/", &PageRecord::default());
        let links = (0..50)
            .map(|i| {
                (
                    "http://a.test/",
                    id(&format!("http://x.test/{i}"), "a", 0),
                    live(true),
                )
            })
            .collect();
        put_links(&mut w, links);
        if fail {
            w.fail_for_test();
        }
        w
    };
    assert!(store.apply(visit(true)).is_err(), "{name}");
    assert_eq!(store.page("http://a.test/").unwrap(), None, "{name}");
    assert_eq!(
        store.forward_links("http://a.test/").unwrap().len(),
        0,
        "{name}"
    );
    assert_eq!(
        store.backlinks(&Target::Domain("x.test".into())).count(),
        0,
        "{name}"
    );
    assert!(
        store.page("http://b.test/").unwrap().is_some(),
        "{name}: earlier batch kept"
    );
    store.apply(visit(false)).unwrap();
    store.flush().unwrap();
    assert_eq!(
        store.forward_links("http://a.test/").unwrap().len(),
        50,
        "{name}"
    );
}

/// Events are found by target scope, and applying the same event twice stores it once; a
/// lost event keeps its reason.
pub fn events_are_scoped_and_reapplying_does_not_duplicate(store: &Store, name: &str) {
    {
        let lost = EventRecord {
            kind: EventKind::Lost,
            origin: Origin::Drop,
            time: 3 * 86_400,
            url_from: "http://r.test/".into(),
            url_to: "https://reason.example/".into(),
            link_type: LinkType::Href,
            anchor: "r".into(),
            n: 0,
            http_code: 404,
            links_internal: 0,
            links_external: 0,
            reason: Some(crate::LostReason::NotFound),
            recovered: false,
        };
        let mut w = WriteBatch::new();
        w.put_event(&lost);
        store.apply(w).unwrap();
        let got: Vec<_> = store
            .events(&Target::Domain("reason.example".into()))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got,
            vec![lost.clone()],
            "{name}: a lost event and its reason"
        );
        let mut w = WriteBatch::new();
        w.mark_recovered(&lost);
        store.apply(w).unwrap();
        let got: Vec<_> = store
            .events(&Target::Domain("reason.example".into()))
            .map(|r| r.unwrap())
            .collect();
        assert!(
            got.len() == 1 && got[0].recovered,
            "{name}: marked recovered"
        );
    }
    {
        let link = id("https://example.com/p", "a", 0);
        let ev = EventRecord {
            kind: EventKind::New,
            origin: Origin::Fresh,
            time: 86_400,
            url_from: "http://a.test/".into(),
            url_to: link.url_to.clone(),
            link_type: LinkType::Href,
            anchor: "a".into(),
            n: 0,
            http_code: 200,
            links_internal: 0,
            links_external: 1,
            reason: None,
            recovered: false,
        };
        for _ in 0..2 {
            let mut w = WriteBatch::new();
            w.put_event(&ev);
            store.apply(w).unwrap();
        }
        let got: Vec<_> = store
            .events(&Target::Domain("example.com".into()))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got, vec![ev], "{name}");
        assert_eq!(store.events(&Target::Domain("other.com".into())).count(), 0);
    }
}

/// Spending a token's rows is exact and refuses what the quota cannot pay.
pub fn tokens_spend_exactly(store: &Store, name: &str) {
    let mut w = WriteBatch::new();
    w.put_token(
        "t",
        &TokenRecord {
            hash: "h".into(),
            rows_limit: 1,
            centirows_left: 100,
            created: 0,
        },
    );
    store.apply(w).unwrap();
    assert_eq!(store.spend_token("t", 60).unwrap(), Some(Ok(40)), "{name}");
    assert_eq!(store.spend_token("t", 60).unwrap(), Some(Err(40)), "{name}");
    assert_eq!(store.spend_token("nope", 1).unwrap(), None, "{name}");
    assert_eq!(
        store.token("t").unwrap().unwrap().centirows_left,
        40,
        "{name}"
    );
}

/// Meta values are set, listed by name and removed.
pub fn meta_values_set_list_and_remove(store: &Store, name: &str) {
    let mut w = WriteBatch::new();
    w.put_meta("watch\ta", "1");
    w.put_meta("watch\tb", "2");
    store.apply(w).unwrap();
    let mut w = WriteBatch::new();
    w.remove_meta("watch\ta");
    w.remove_meta("watch\tnone");
    store.apply(w).unwrap();
    let watched: Vec<(String, String)> = store
        .meta_values()
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k.starts_with("watch\t"))
        .collect();
    assert_eq!(
        watched,
        vec![("watch\tb".to_string(), "2".to_string())],
        "{name}"
    );
    assert_eq!(store.meta("watch\ta").unwrap(), None, "{name}");
}

/// One check: runs on a fresh store; the name labels assertion messages.
pub type Check = fn(&Store, &str);

/// Every check of the suite, by name: a new engine runs each on a fresh store.
pub fn all() -> Vec<(&'static str, Check)> {
    vec![
        ("round_trip_of_every_record", round_trip_of_every_record),
        (
            "scopes_select_exactly_their_urls",
            scopes_select_exactly_their_urls,
        ),
        (
            "forward_links_keep_dead_links_for_history",
            forward_links_keep_dead_links_for_history,
        ),
        (
            "a_visit_is_applied_wholly_or_not_at_all",
            a_visit_is_applied_wholly_or_not_at_all,
        ),
        (
            "events_are_scoped_and_reapplying_does_not_duplicate",
            events_are_scoped_and_reapplying_does_not_duplicate,
        ),
        ("tokens_spend_exactly", tokens_spend_exactly),
        (
            "meta_values_set_list_and_remove",
            meta_values_set_list_and_remove,
        ),
    ]
}
