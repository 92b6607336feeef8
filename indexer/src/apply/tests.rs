//! One test per indexing rule of SPEC §5.

use super::*;
use linkdiff_model::LinkType;
use linkdiff_model::Target;
use linkdiff_store::{EventKind, LostReason, Origin};

const DAY: i64 = 86_400;
const FROM: &str = "http://ref.test/page";

fn link(to: &str, anchor: &str) -> Link {
    Link {
        anchor: anchor.into(),
        ..Link::bare(to, LinkType::Href)
    }
}

fn fetched(links: Vec<Link>) -> Outcome {
    Outcome::Fetched {
        meta: PageMeta {
            http_code: 200,
            title: "Ref".into(),
            encoding: "utf8".into(),
            ..Default::default()
        },
        links,
    }
}

struct T {
    ix: Indexer,
    run: u64,
}

impl T {
    fn new() -> T {
        T {
            ix: Indexer::new(Store::memory()),
            run: 0,
        }
    }
    fn visit(&mut self, day: i64, outcome: Outcome) -> ApplySummary {
        self.visit_url(FROM, day, outcome)
    }
    fn visit_url(&mut self, url: &str, day: i64, outcome: Outcome) -> ApplySummary {
        self.run += 1;
        self.ix
            .apply(&Visit {
                url: url.into(),
                time: day * DAY,
                run: self.run,
                depth: 0,
                outcome,
            })
            .unwrap()
    }
    /// (date day, kind, origin, url_to, anchor) of every event, sorted.
    fn events(&self) -> Vec<(i64, EventKind, Origin, String, String)> {
        let mut v: Vec<_> = self
            .ix
            .store()
            .all_events()
            .map(|e| {
                let e = e.unwrap();
                (e.time / DAY, e.kind, e.origin, e.url_to, e.anchor)
            })
            .collect();
        v.sort_by_key(|e| format!("{:?}", e));
        v
    }
    fn backlinks(&self, target: &str) -> Vec<(String, LinkId)> {
        self.ix
            .store()
            .backlinks(&Target::Subdomains(target.into()))
            .map(|r| {
                let (from, id, _) = r.unwrap();
                (from, id)
            })
            .collect()
    }
    /// (first_seen, last_visited, prev_visited) of a link of FROM, as the tables show them.
    fn dates(&self, to: &str, anchor: &str, n: u16) -> (i64, i64, Option<i64>) {
        let r = self.record(to, anchor, n);
        let page = self.ix.store().page(FROM).unwrap().unwrap();
        let (last, prev) = r.visits(&page);
        (r.first_seen, last, prev)
    }
    fn record(&self, to: &str, anchor: &str, n: u16) -> LinkRecord {
        let id = LinkId {
            url_to: to.into(),
            link_type: LinkType::Href,
            anchor: anchor.into(),
            n,
        };
        self.ix.store().link(FROM, &id).unwrap().unwrap()
    }
}

const A: &str = "https://a.test/";
const B: &str = "https://b.test/x";

fn ev(
    day: i64,
    kind: EventKind,
    origin: Origin,
    to: &str,
    anchor: &str,
) -> (i64, EventKind, Origin, String, String) {
    (day, kind, origin, to.into(), anchor.into())
}

#[test]
fn first_visit_gives_fresh_new_events_and_original_links() {
    let mut t = T::new();
    let s = t.visit(1, fetched(vec![link(A, "a")]));
    assert_eq!((s.new, s.lost), (1, 0));
    assert_eq!(
        t.events(),
        vec![ev(1, EventKind::New, Origin::Fresh, A, "a")]
    );
    let r = t.record(A, "a", 0);
    assert!(r.original && r.live);
    assert_eq!(t.dates(A, "a", 0), (DAY, DAY, None));
    assert_eq!(
        t.ix.store().page(FROM).unwrap().unwrap().first_ok_visit,
        Some(DAY)
    );
}

#[test]
fn added_link_is_new_recrawl_and_not_original() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    t.visit(2, fetched(vec![link(A, "a"), link(B, "b")]));
    assert!(t
        .events()
        .contains(&ev(2, EventKind::New, Origin::Recrawl, B, "b")));
    assert!(!t.record(B, "b", 0).original);
    assert_eq!(t.events().len(), 2);
}

#[test]
fn removed_link_is_lost_recrawl_and_leaves_the_backlink_index() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a"), link(B, "b")]));
    t.visit(2, fetched(vec![link(A, "a")]));
    assert!(t
        .events()
        .contains(&ev(2, EventKind::Lost, Origin::Recrawl, B, "b")));
    assert!(t.backlinks("b.test").is_empty());
    assert_eq!(t.backlinks("a.test").len(), 1);
}

#[test]
fn anchor_change_is_lost_plus_new() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "old")]));
    t.visit(2, fetched(vec![link(A, "new")]));
    let e = t.events();
    assert!(e.contains(&ev(2, EventKind::Lost, Origin::Recrawl, A, "old")));
    assert!(e.contains(&ev(2, EventKind::New, Origin::Recrawl, A, "new")));
}

#[test]
fn duplicate_identical_links_two_to_one_is_one_lost() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a"), link(A, "a")]));
    assert_eq!(t.backlinks("a.test").len(), 2);
    let s = t.visit(2, fetched(vec![link(A, "a")]));
    assert_eq!((s.new, s.lost), (0, 1));
    assert_eq!(t.backlinks("a.test").len(), 1);
    assert!(!t.record(A, "a", 1).live && t.record(A, "a", 0).live);
}

#[test]
fn nofollow_toggle_updates_in_place_without_events() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    let mut l = link(A, "a");
    l.nofollow = true;
    l.text_pre = "before".into();
    let s = t.visit(2, fetched(vec![l]));
    assert_eq!((s.new, s.lost), (0, 0));
    let r = t.record(A, "a", 0);
    assert!(r.nofollow);
    assert_eq!(r.text_pre, "before");
}

#[test]
fn gone_404_and_410_drop_every_link() {
    for code in [404, 410] {
        let mut t = T::new();
        t.visit(1, fetched(vec![link(A, "a"), link(B, "b")]));
        let s = t.visit(2, Outcome::Gone { http_code: code });
        assert!(s.dropped);
        let e = t.events();
        assert!(
            e.contains(&ev(2, EventKind::Lost, Origin::Drop, A, "a")),
            "{code}"
        );
        assert!(
            e.contains(&ev(2, EventKind::Lost, Origin::Drop, B, "b")),
            "{code}"
        );
        assert!(t.backlinks("a.test").is_empty());
        assert_eq!(t.ix.store().page(FROM).unwrap().unwrap().last_status, code);
    }
}

#[test]
fn robots_disallow_drops() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    t.visit(2, Outcome::Disallowed);
    assert!(t
        .events()
        .contains(&ev(2, EventKind::Lost, Origin::Drop, A, "a")));
}

#[test]
fn one_5xx_keeps_links_three_drop() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    let s = t.visit(2, Outcome::Failed { http_code: 503 });
    assert_eq!((s.lost, s.dropped), (0, false));
    assert_eq!(t.backlinks("a.test").len(), 1);
    t.visit(3, Outcome::Failed { http_code: 0 });
    assert_eq!(t.backlinks("a.test").len(), 1);
    let s = t.visit(4, Outcome::Failed { http_code: 500 });
    assert!(s.dropped);
    assert!(t
        .events()
        .contains(&ev(4, EventKind::Lost, Origin::Drop, A, "a")));
    // A success in between resets the count.
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    t.visit(2, Outcome::Failed { http_code: 500 });
    t.visit(3, Outcome::Failed { http_code: 500 });
    t.visit(4, fetched(vec![link(A, "a")]));
    t.visit(5, Outcome::Failed { http_code: 500 });
    assert_eq!(t.backlinks("a.test").len(), 1);
}

#[test]
fn content_page_turning_into_301_drops_links_and_adds_the_redirect() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    let mut r = link("https://c.test/new", "");
    r.link_type = LinkType::Redirect;
    r.redirect = 301;
    t.visit(
        2,
        Outcome::Redirected {
            meta: PageMeta {
                http_code: 301,
                ..Default::default()
            },
            link: r,
        },
    );
    let e = t.events();
    assert!(e.contains(&ev(2, EventKind::Lost, Origin::Drop, A, "a")));
    assert!(e.contains(&ev(
        2,
        EventKind::New,
        Origin::Recrawl,
        "https://c.test/new",
        ""
    )));
    let bl = t.backlinks("c.test");
    assert_eq!(bl[0].1.link_type, LinkType::Redirect);
}

#[test]
fn reappearing_link_gets_a_new_event_and_keeps_first_seen() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    t.visit(2, fetched(vec![]));
    t.visit(5, fetched(vec![link(A, "a")]));
    let e = t.events();
    assert!(e.contains(&ev(5, EventKind::New, Origin::Recrawl, A, "a")));
    assert_eq!(e.len(), 3);
    assert_eq!(t.dates(A, "a", 0), (DAY, 5 * DAY, Some(DAY)));
}

#[test]
fn prev_and_last_visited_across_three_visits() {
    let mut t = T::new();
    for d in [1, 3, 7] {
        t.visit(d, fetched(vec![link(A, "a")]));
    }
    assert_eq!(t.dates(A, "a", 0), (DAY, 7 * DAY, Some(3 * DAY)));
}

#[test]
fn lost_links_freeze_their_dates_and_failed_visits_do_not_count() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a"), link(B, "b")]));
    t.visit(2, Outcome::Failed { http_code: 503 });
    t.visit(3, fetched(vec![link(A, "a"), link(B, "b")]));
    t.visit(4, fetched(vec![link(A, "a")]));
    t.visit(6, fetched(vec![link(A, "a")]));
    // B was last seen on day 3, and before that on day 1 (day 2 failed).
    assert_eq!(t.dates(B, "b", 0), (DAY, 3 * DAY, Some(DAY)));
    assert_eq!(t.dates(A, "a", 0), (DAY, 6 * DAY, Some(4 * DAY)));
    // Back on day 7: prev_visited is the last sighting before the gap.
    t.visit(7, fetched(vec![link(A, "a"), link(B, "b")]));
    assert_eq!(t.dates(B, "b", 0), (DAY, 7 * DAY, Some(3 * DAY)));
    t.visit(8, fetched(vec![link(A, "a"), link(B, "b")]));
    assert_eq!(t.dates(B, "b", 0), (DAY, 8 * DAY, Some(7 * DAY)));
}

#[test]
fn unchanged_recrawl_writes_only_the_page_record() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a"), link(B, "b")]));
    let v = Visit {
        url: FROM.into(),
        time: 2 * DAY,
        run: 99,
        depth: 0,
        outcome: fetched(vec![link(A, "a"), link(B, "b")]),
    };
    let mut w = linkdiff_store::WriteBatch::new();
    t.ix.prepare(&v, &mut w).unwrap();
    assert_eq!(w.len(), 1, "only the page record");
}

#[test]
fn url_from_first_seen_is_the_first_successful_visit() {
    let mut t = T::new();
    t.visit(1, Outcome::Failed { http_code: 500 });
    t.visit(2, fetched(vec![link(A, "a")]));
    t.visit(3, fetched(vec![link(A, "a")]));
    let p = t.ix.store().page(FROM).unwrap().unwrap();
    assert_eq!(
        (p.first_visit, p.first_ok_visit),
        (Some(DAY), Some(2 * DAY))
    );
    assert!(
        t.record(A, "a", 0).original,
        "first successful visit counts as the first visit"
    );
}

#[test]
fn internal_links_are_stored_but_never_backlinks_or_events() {
    let mut t = T::new();
    let s = t.visit(
        1,
        fetched(vec![link("http://www.ref.test/other", "in"), link(A, "a")]),
    );
    assert_eq!((s.links, s.new), (2, 1));
    assert!(t.backlinks("ref.test").is_empty());
    assert_eq!(t.ix.store().forward_links(FROM).unwrap().len(), 2);
}

#[test]
fn reapplying_a_visit_changes_nothing() {
    let mut t = T::new();
    t.visit(1, fetched(vec![link(A, "a")]));
    let v = Visit {
        url: FROM.into(),
        time: 2 * DAY,
        run: 9,
        depth: 0,
        outcome: fetched(vec![link(B, "b")]),
    };
    assert!(t.ix.apply(&v).unwrap().applied);
    let before = (t.events(), t.record(B, "b", 0));
    let again = t.ix.apply(&v).unwrap();
    assert!(!again.applied);
    assert_eq!((t.events(), t.record(B, "b", 0)), before);
}

#[test]
fn archived_captures_apply_in_time_order_within_one_run_and_never_twice() {
    let t = T::new();
    let capture = |day: i64, links: Vec<Link>| Visit {
        url: FROM.into(),
        time: day * DAY,
        run: 7,
        depth: 0,
        outcome: fetched(links),
    };
    let first =
        t.ix.apply_archived(
            &capture(1, vec![link("http://t.test/a", "A")]),
            WriteBatch::new(),
        )
        .unwrap();
    assert!(matches!(first, Archived::Applied(s) if s.new == 1 && s.new_page));
    // A later capture in the same import run still applies: the rule is time, not runs.
    let later =
        t.ix.apply_archived(
            &capture(3, vec![link("http://t.test/b", "B")]),
            WriteBatch::new(),
        )
        .unwrap();
    assert!(matches!(later, Archived::Applied(s) if s.new == 1 && s.lost == 1 && !s.new_page));
    // The same capture again, and an older one, write nothing.
    let again =
        t.ix.apply_archived(
            &capture(3, vec![link("http://t.test/b", "B")]),
            WriteBatch::new(),
        )
        .unwrap();
    assert_eq!(again, Archived::Already);
    let older =
        t.ix.apply_archived(
            &capture(2, vec![link("http://t.test/c", "C")]),
            WriteBatch::new(),
        )
        .unwrap();
    assert_eq!(older, Archived::OutOfOrder);
    let days: Vec<(i64, EventKind)> = t.events().into_iter().map(|e| (e.0, e.1)).collect();
    assert_eq!(
        days,
        vec![
            (1, EventKind::New),
            (3, EventKind::Lost),
            (3, EventKind::New)
        ]
    );
    assert_eq!(t.backlinks("t.test").len(), 1);
}

#[test]
fn a_broken_streak_starts_at_its_first_failure_and_ends_with_an_answer() {
    let mut t = T::new();
    let since = |t: &T| t.ix.store().page(FROM).unwrap().unwrap().broken_since;
    t.visit(1, fetched(vec![]));
    assert_eq!(since(&t), None);
    t.visit(2, Outcome::Failed { http_code: 503 });
    t.visit(3, Outcome::Gone { http_code: 404 });
    assert_eq!(since(&t), Some(2 * DAY), "the streak keeps its start");
    t.visit(4, fetched(vec![]));
    assert_eq!(since(&t), None);
    t.visit(5, Outcome::Disallowed);
    assert_eq!(since(&t), None, "robots says nothing of the page");
    t.visit(6, Outcome::Gone { http_code: 410 });
    assert_eq!(since(&t), Some(6 * DAY));
}

#[test]
fn every_lost_event_says_why() {
    let mut t = T::new();
    let to = |s: &str| link(&format!("http://t.test/{s}"), s);
    let redirect = |to: &str| Outcome::Redirected {
        meta: PageMeta {
            http_code: 301,
            ..Default::default()
        },
        link: Link {
            redirect: 301,
            ..Link::bare(to, LinkType::Redirect)
        },
    };
    for p in ["a", "b", "c", "e", "f"] {
        t.visit_url(
            &format!("http://ref.test/{p}"),
            1,
            fetched(vec![to(p), to("kept")]),
        );
    }
    t.visit_url("http://ref.test/d", 1, redirect("http://t.test/one"));
    // Day 2: a drops a link, b is gone, c redirects, d redirects elsewhere, e is disallowed,
    // f fails for three runs.
    t.visit_url("http://ref.test/a", 2, fetched(vec![to("kept")]));
    t.visit_url("http://ref.test/b", 2, Outcome::Gone { http_code: 404 });
    t.visit_url("http://ref.test/c", 2, redirect("http://ref.test/new"));
    t.visit_url("http://ref.test/d", 2, redirect("http://t.test/two"));
    t.visit_url("http://ref.test/e", 2, Outcome::Disallowed);
    for day in 2..5 {
        t.visit_url("http://ref.test/f", day, Outcome::Failed { http_code: 503 });
    }
    let mut got: Vec<(String, String, Option<LostReason>)> =
        t.ix.store()
            .all_events()
            .map(|e| e.unwrap())
            .map(|e| (e.url_from, e.url_to, e.kind, e.reason))
            .filter(|(.., kind, _)| *kind == EventKind::Lost)
            .map(|(from, to, _, r)| (from, to, r))
            .collect();
    got.sort();
    let lost = |from: &str, to: &str, r| {
        (
            format!("http://ref.test/{from}"),
            format!("http://t.test/{to}"),
            Some(r),
        )
    };
    assert_eq!(
        got,
        vec![
            lost("a", "a", LostReason::RemovedFromHtml),
            lost("b", "b", LostReason::NotFound),
            lost("b", "kept", LostReason::NotFound),
            lost("c", "c", LostReason::PageRedirected),
            lost("c", "kept", LostReason::PageRedirected),
            lost("d", "one", LostReason::LostRedirect),
            lost("e", "e", LostReason::RobotsBlocked),
            lost("e", "kept", LostReason::RobotsBlocked),
            lost("f", "f", LostReason::PageError),
            lost("f", "kept", LostReason::PageError),
        ]
    );
    assert!(t
        .ix
        .store()
        .all_events()
        .map(|e| e.unwrap())
        .filter(|e| e.kind == EventKind::New)
        .all(|e| e.reason.is_none()));
}

#[test]
fn a_link_back_right_after_a_pageerror_drop_recovers_instead_of_reappearing() {
    let mut t = T::new();
    let l = || vec![link("http://t.test/x", "X")];
    t.visit(1, fetched(l()));
    for day in 2..=4 {
        t.visit(day, Outcome::Failed { http_code: 503 });
    }
    // Day 4 dropped the page: the link was lost for `pageerror`.
    t.visit(5, fetched(l()));
    let evs: Vec<(i64, EventKind, Option<LostReason>, bool)> =
        t.ix.store()
            .all_events()
            .map(|e| e.unwrap())
            .map(|e| (e.time / DAY, e.kind, e.reason, e.recovered))
            .collect();
    assert_eq!(
        evs,
        vec![
            (1, EventKind::New, None, false),
            (4, EventKind::Lost, Some(LostReason::PageError), true)
        ]
    );
    assert_eq!(t.backlinks("t.test").len(), 1);
    assert_eq!(
        t.dates("http://t.test/x", "X", 0).0,
        DAY,
        "first_seen stays"
    );

    // Back only after another failing visit: a loss like any other, and a new event.
    let mut t = T::new();
    t.visit(1, fetched(l()));
    for day in 2..=5 {
        t.visit(day, Outcome::Failed { http_code: 503 });
    }
    t.visit(6, fetched(l()));
    let kinds: Vec<(i64, EventKind, bool)> =
        t.ix.store()
            .all_events()
            .map(|e| e.unwrap())
            .map(|e| (e.time / DAY, e.kind, e.recovered))
            .collect();
    assert_eq!(
        kinds,
        vec![
            (1, EventKind::New, false),
            (4, EventKind::Lost, false),
            (6, EventKind::New, false)
        ]
    );
}

#[test]
fn a_page_that_turns_noindex_loses_its_links_for_that_reason_and_gets_them_back_after() {
    let mut t = T::new();
    let noindex = |links: Vec<Link>| match fetched(links) {
        Outcome::Fetched { mut meta, links } => {
            meta.noindex = true;
            Outcome::Fetched { meta, links }
        }
        other => other,
    };
    t.visit(1, fetched(vec![link("http://t.test/x", "X")]));
    t.visit(2, noindex(vec![link("http://t.test/x", "X")]));
    assert!(
        t.backlinks("t.test").is_empty(),
        "links of a noindex page do not count"
    );
    t.visit(3, fetched(vec![link("http://t.test/x", "X")]));
    let evs: Vec<(i64, EventKind, Option<LostReason>)> =
        t.ix.store()
            .all_events()
            .map(|e| e.unwrap())
            .map(|e| (e.time / DAY, e.kind, e.reason))
            .collect();
    assert_eq!(
        evs,
        vec![
            (1, EventKind::New, None),
            (2, EventKind::Lost, Some(LostReason::Noindex)),
            (3, EventKind::New, None)
        ]
    );
    assert_eq!(
        t.dates("http://t.test/x", "X", 0).0,
        DAY,
        "first_seen stays"
    );
}

#[test]
fn a_page_canonicalising_elsewhere_keeps_only_its_canonical_link() {
    let mut t = T::new();
    let canonical = |to: &str| Link::bare(to, LinkType::Canonical);
    t.visit(
        1,
        fetched(vec![canonical(FROM), link("http://t.test/x", "X")]),
    );
    assert_eq!(
        t.backlinks("t.test").len(),
        1,
        "canonical to itself: links count"
    );
    t.visit(
        2,
        fetched(vec![
            canonical("http://other.test/page"),
            link("http://t.test/x", "X"),
        ]),
    );
    assert!(t.backlinks("t.test").is_empty());
    assert_eq!(
        t.backlinks("other.test").len(),
        1,
        "the canonical link itself stays"
    );
    let lost: Vec<(String, Option<LostReason>)> =
        t.ix.store()
            .all_events()
            .map(|e| e.unwrap())
            .filter(|e| e.kind == EventKind::Lost)
            .map(|e| (e.url_to, e.reason))
            .collect();
    assert_eq!(
        lost,
        vec![(
            "http://t.test/x".to_string(),
            Some(LostReason::NotCanonical)
        )]
    );
    assert!(canonical_elsewhere(
        FROM,
        &[canonical("https://ref.test/page")]
    ));
    assert!(!canonical_elsewhere(FROM, &[canonical(FROM)]));
}

#[test]
fn a_held_visit_does_not_take_the_mark_that_ranks_are_stale_with_it() {
    let ix = Indexer::new(Store::memory());
    let visit = |run: u64, url: &str, outcome: Outcome| Visit {
        url: url.into(),
        time: run as i64 * DAY,
        run,
        depth: 0,
        outcome,
    };
    let with_link = || fetched(vec![link("https://t.com/", "t")]);
    ix.apply(&visit(1, FROM, with_link())).unwrap();
    crate::rank::recompute(ix.store()).unwrap();
    assert!(!crate::rank::ranks_stale(ix.store()).unwrap());
    // A later run on a new indexer (a new crawl): its first graph change is a page gone
    // missing, a suspicious visit held for a recheck, whose writes are not applied.
    let ix = Indexer::new(ix.store().clone());
    let held = ix
        .apply_unless_suspicious(
            &visit(2, FROM, Outcome::Gone { http_code: 404 }),
            WriteBatch::new(),
            WriteBatch::new(),
        )
        .unwrap();
    assert!(held.is_none(), "a lost link from a gone page is held");
    assert!(!crate::rank::ranks_stale(ix.store()).unwrap());
    // The next change of the graph marks the ranks stale after all.
    ix.apply(&visit(2, "http://other.test/", with_link()))
        .unwrap();
    assert!(crate::rank::ranks_stale(ix.store()).unwrap());
}

#[test]
fn a_visit_whose_rendering_failed_is_held_when_it_would_lose_links() {
    let ix = Indexer::new(Store::memory());
    let visit = |run: u64, outcome: Outcome| Visit {
        url: FROM.into(),
        time: run as i64 * DAY,
        run,
        depth: 0,
        outcome,
    };
    // Run 1 rendered the page: a static link and one a script inserted, under a title the
    // script set.
    let rendered = Outcome::Fetched {
        meta: PageMeta {
            http_code: 200,
            title: "Set by the script".into(),
            ..Default::default()
        },
        links: vec![
            link("https://t.com/", "static"),
            link("https://t.com/js", "js"),
        ],
    };
    ix.apply(&visit(1, rendered)).unwrap();
    // Run 2: the rendering failed; the static links only, and the static (empty) title. The
    // title differs, so only the failed rendering can tell this visit apart from a real loss.
    let static_only = |failed: bool| Outcome::Fetched {
        meta: PageMeta {
            http_code: 200,
            render_failed: failed,
            ..Default::default()
        },
        links: vec![link("https://t.com/", "static")],
    };
    let held = ix
        .apply_unless_suspicious(
            &visit(2, static_only(true)),
            WriteBatch::new(),
            WriteBatch::new(),
        )
        .unwrap();
    assert!(held.is_none(), "the script's link is not reported lost");
    // A rendering that worked and no longer finds the link: lost, as any other change.
    let applied = ix
        .apply_unless_suspicious(
            &visit(2, static_only(false)),
            WriteBatch::new(),
            WriteBatch::new(),
        )
        .unwrap()
        .expect("applied");
    assert_eq!(applied.lost, 1);
}
