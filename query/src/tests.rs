//! Tables on a small hand-built index with the expected rows written out.

use crate::*;
use linkdiff_indexer::Indexer;
use linkdiff_model::{Link, LinkType, Mode, Outcome, PageMeta, Target, Visit};
use linkdiff_store::Store;

const DAY: i64 = 86_400;
// 2024-03-01 and 2024-03-08.
const D1: i64 = 19_783 * DAY;
const D2: i64 = 19_790 * DAY;

fn link(to: &str, anchor: &str, nofollow: bool) -> Link {
    Link {
        url_to: to.into(),
        link_type: LinkType::Href,
        anchor: anchor.into(),
        alt: String::new(),
        text_pre: "pre".into(),
        text_post: "post".into(),
        nofollow,
        redirect: 0,
        rendered: false,
    }
}

fn visit(ix: &Indexer, run: u64, url: &str, time: i64, links: Vec<Link>) {
    ix.apply(&Visit {
        url: url.into(),
        time,
        run,
        depth: 0,
        outcome: Outcome::Fetched {
            meta: PageMeta {
                http_code: 200,
                title: format!("T {url}"),
                encoding: "utf8".into(),
                language: "en".into(),
                // a.test and b.test share a class C network; c.test is elsewhere.
                ip: match url.split('/').nth(2) {
                    Some("a.test") => "192.0.2.1",
                    Some("b.test") => "192.0.2.9",
                    _ => "198.51.100.7",
                }
                .into(),
                links_external: links.len() as u32,
                ..Default::default()
            },
            links,
        },
    })
    .unwrap();
}

/// Day 1: a.test/1 → t.com/ ("seo tools"), t.com/blog ("blog"); b.test/ → www.t.com/ ("seo
/// tools", nofollow), shop.t.com/ ("shop"). Day 2: a.test/1 drops the blog link and adds
/// t.com/new ("new page"); b.test/ unchanged.
fn build(store: &Store) {
    let ix = Indexer::new(store.clone());
    visit(
        &ix,
        1,
        "http://a.test/1",
        D1,
        vec![
            link("https://t.com/", "seo tools", false),
            link("https://t.com/blog", "blog", false),
        ],
    );
    visit(
        &ix,
        1,
        "http://b.test/",
        D1,
        vec![
            link("https://www.t.com/", "SEO tools", true),
            link("https://shop.t.com/", "shop", false),
        ],
    );
    visit(
        &ix,
        2,
        "http://a.test/1",
        D2,
        vec![
            link("https://t.com/", "seo tools", false),
            link("https://t.com/new", "new page", false),
        ],
    );
    visit(
        &ix,
        2,
        "http://b.test/",
        D2,
        vec![
            link("https://www.t.com/", "SEO tools", true),
            link("https://shop.t.com/", "shop", false),
        ],
    );
}

/// The same index in memory (key-value engine) and in SQLite.
struct Index {
    mem: Store,
    sql: Store,
    _dir: tempfile::TempDir,
}

fn index() -> Index {
    let dir = tempfile::tempdir().unwrap();
    let (mem, sql) = (
        Store::memory(),
        Store::open(&dir.path().join("i.db")).unwrap(),
    );
    build(&mem);
    build(&sql);
    Index {
        mem,
        sql,
        _dir: dir,
    }
}

/// Answer with every executor on every engine; they must agree (rows, order, stats, errors).
fn run(s: &Index, t: Table, p: &QueryParams) -> Result<QueryResult> {
    let a = run_with(&s.mem, t, p, Executor::Rust);
    let b = run_with(&s.sql, t, p, Executor::Rust);
    let c = run_with(&s.sql, t, p, Executor::Sql);
    let show = |r: &Result<QueryResult>| match r {
        Ok(r) => format!("{:?} {:?}", r.rows, r.stats),
        Err(e) => format!("error: {e}"),
    };
    assert_eq!(
        show(&a),
        show(&b),
        "Rust executor: memory vs SQLite store, {p:?}"
    );
    assert_eq!(show(&b), show(&c), "Rust vs SQL executor on SQLite, {p:?}");
    c
}

fn params(target: &str, mode: Mode) -> QueryParams {
    QueryParams::new(Target::parse(target, mode).expect("a target"))
}

/// A `where`/`having` text as a filter value.
fn clause(text: &str) -> Filter {
    parse_clause(Some(text), "where").expect("a filter")
}

fn texts(r: &QueryResult) -> Vec<Vec<String>> {
    r.rows
        .iter()
        .map(|row| row.iter().map(Value::text).collect())
        .collect()
}

#[test]
fn backlinks_by_mode() {
    let s = index();
    let mut p = params("https://t.com", Mode::Domain);
    p.select = Some("url_from,url_to,anchor,nofollow,first_seen,prev_visited,last_visited".into());
    let r = run(&s, Table::Backlinks, &p).unwrap();
    assert_eq!(
        texts(&r),
        vec![
            vec![
                "http://a.test/1",
                "https://t.com/",
                "seo tools",
                "false",
                "2024-03-01T00:00:00Z",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z"
            ],
            vec![
                "http://a.test/1",
                "https://t.com/new",
                "new page",
                "false",
                "2024-03-08T00:00:00Z",
                "",
                "2024-03-08T00:00:00Z"
            ],
            vec![
                "http://b.test/",
                "https://www.t.com/",
                "SEO tools",
                "true",
                "2024-03-01T00:00:00Z",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z"
            ],
        ]
    );
    assert_eq!(
        run(&s, Table::Backlinks, &params("t.com", Mode::Subdomains))
            .unwrap()
            .rows
            .len(),
        4
    );
    assert_eq!(
        run(&s, Table::Backlinks, &params("http://t.com/", Mode::Exact))
            .unwrap()
            .rows
            .len(),
        1
    );
    assert_eq!(
        run(&s, Table::Backlinks, &params("t.com/n", Mode::Prefix))
            .unwrap()
            .rows
            .len(),
        1
    );
}

#[test]
fn backlinks_where_order_limit_offset() {
    let s = index();
    let mut p = params("t.com", Mode::Subdomains);
    p.select = Some("url_to".into());
    p.where_ = clause("nofollow=false,substring(anchor,\"o\")");
    p.order_by = Some("url_to:desc".into());
    let r = run(&s, Table::Backlinks, &p).unwrap();
    // "new page" has no "o"; the nofollow "SEO tools" link is filtered out.
    assert_eq!(
        texts(&r),
        vec![vec!["https://t.com/"], vec!["https://shop.t.com/"]]
    );
    p.offset = 1;
    p.limit = 1;
    assert_eq!(
        texts(&run(&s, Table::Backlinks, &p).unwrap()),
        vec![vec!["https://shop.t.com/"]]
    );
}

#[test]
fn new_lost_rows() {
    let s = index();
    let mut p = params("t.com", Mode::Domain);
    p.select = Some("date,type,origin,url_from,url_to,anchor".into());
    p.order_by = Some("date,type,url_to".into());
    let r = run(&s, Table::NewLost, &p).unwrap();
    assert_eq!(
        texts(&r),
        vec![
            vec![
                "2024-03-01",
                "new",
                "fresh",
                "http://a.test/1",
                "https://t.com/",
                "seo tools"
            ],
            vec![
                "2024-03-01",
                "new",
                "fresh",
                "http://a.test/1",
                "https://t.com/blog",
                "blog"
            ],
            vec![
                "2024-03-01",
                "new",
                "fresh",
                "http://b.test/",
                "https://www.t.com/",
                "SEO tools"
            ],
            vec![
                "2024-03-08",
                "lost",
                "recrawl",
                "http://a.test/1",
                "https://t.com/blog",
                "blog"
            ],
            vec![
                "2024-03-08",
                "new",
                "recrawl",
                "http://a.test/1",
                "https://t.com/new",
                "new page"
            ],
        ]
    );
}

#[test]
fn counters_where_drops_new_but_not_totals() {
    let s = index();
    let mut p = params("t.com", Mode::Subdomains);
    p.select = Some("date,new,lost,new_total,lost_total".into());
    let r = run(&s, Table::Counters, &p).unwrap();
    assert_eq!(
        texts(&r),
        vec![
            vec!["2024-03-08", "1", "1", "1", "1"],
            vec!["2024-03-01", "4", "0", "4", "0"]
        ]
    );
    p.where_ = clause("nofollow=true");
    let r = run(&s, Table::Counters, &p).unwrap();
    assert_eq!(
        texts(&r),
        vec![
            vec!["2024-03-08", "0", "0", "1", "1"],
            vec!["2024-03-01", "1", "0", "4", "0"]
        ]
    );
    p.having = clause("new>=1");
    assert_eq!(
        texts(&run(&s, Table::Counters, &p).unwrap()),
        vec![vec!["2024-03-01", "1", "0", "4", "0"]]
    );
    // Grouped by url_to when selected (the default select includes it).
    let r = run(&s, Table::Counters, &params("t.com", Mode::Domain)).unwrap();
    assert_eq!(
        r.columns.iter().map(|c| c.name).collect::<Vec<_>>(),
        ["date", "url_to", "new", "lost", "new_total", "lost_total"]
    );
    // Day 1: t.com/, t.com/blog, www.t.com/; day 2: t.com/blog (lost), t.com/new.
    assert_eq!(r.rows.len(), 5);
}

#[test]
fn anchors_group_case_sensitively_with_stats() {
    let s = index();
    let r = run(&s, Table::Anchors, &params("t.com", Mode::Subdomains)).unwrap();
    assert_eq!(
        texts(&r),
        vec![
            vec![
                "new page",
                "1",
                "1",
                "1",
                "2024-03-08T00:00:00Z",
                "2024-03-08T00:00:00Z"
            ],
            vec![
                "SEO tools",
                "1",
                "1",
                "1",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z"
            ],
            vec![
                "seo tools",
                "1",
                "1",
                "1",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z"
            ],
            vec![
                "shop",
                "1",
                "1",
                "1",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z"
            ],
        ]
    );
    assert_eq!(r.stats, [("backlinks", 4), ("refpages", 2)]);
    let mut p = params("t.com", Mode::Subdomains);
    p.where_ = clause("refdomain=\"b.test\"");
    let r = run(&s, Table::Anchors, &p).unwrap();
    assert_eq!(r.rows.len(), 2);
    assert_eq!(r.stats, [("backlinks", 2), ("refpages", 1)]);
}

#[test]
fn bad_queries_get_one_clear_error() {
    let s = index();
    let cases = [
        (
            Table::Backlinks,
            "select",
            "bogus",
            "Unknown column 'bogus' in 'select'",
        ),
        (
            Table::Backlinks,
            "order_by",
            "anchor:sideways",
            "Unknown order direction 'sideways'",
        ),
        (
            Table::Counters,
            "having",
            "url_from=\"x\"",
            "Column 'url_from' can not be used in 'having' for table backlinks_new_lost_counters",
        ),
        (
            Table::Backlinks,
            "where",
            "domain_rating>5",
            "Column 'domain_rating' can not be used in 'where' for table backlinks",
        ),
        (Table::NewLost, "where", "anchor=\"x", "unterminated string"),
    ];
    for (t, field, v, want) in cases {
        let mut p = params("t.com", Mode::Domain);
        match field {
            "select" => p.select = Some(v.into()),
            "order_by" => p.order_by = Some(v.into()),
            clause @ ("having" | "where") => match parse_clause(Some(v), clause) {
                Ok(f) if clause == "having" => p.having = f,
                Ok(f) => p.where_ = f,
                Err(e) => {
                    assert!(e.to_string().contains(want), "{e}");
                    continue;
                }
            },
            _ => unreachable!("{field}"),
        }
        let e = run(&s, t, &p).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
    }
    let mut p = params("t.com", Mode::Domain);
    p.limit = MAX_LIMIT + 1;
    assert!(run(&s, Table::Backlinks, &p).is_err());
    assert!(Target::parse("", Mode::Domain).is_err());
}

#[test]
fn values_are_bound_never_spliced_into_sql() {
    let s = index();
    let evil = r#"x'); DROP TABLE backlinks; --"#;
    let mut p = params("t.com", Mode::Domain);
    p.where_ = clause(&format!(
        "anchor=\"{}\",substring(title,\"{evil}\")",
        evil.replace('"', "\\\"")
    ));
    p.order_by = Some("title:desc".into());
    let plan = plan(Table::Backlinks, &p).unwrap();
    let st = exec_sql::compile(&plan);
    assert!(!st.sql.contains("DROP"), "{}", st.sql);
    assert!(st
        .params
        .iter()
        .any(|v| format!("{v:?}").contains("DROP TABLE")));
    assert!(run(&s, Table::Backlinks, &p).unwrap().rows.is_empty());
    // The table is still there and answers.
    let r = run(&s, Table::Backlinks, &params("t.com", Mode::Domain)).unwrap();
    assert_eq!(r.rows.len(), 3);
}

#[test]
fn refdomains_group_live_backlinks_by_referring_domain_with_ip_stats() {
    let s = index();
    let ix = Indexer::new(s.sql.clone());
    let mem = Indexer::new(s.mem.clone());
    // A third referring domain on day 2, with one link.
    for i in [&ix, &mem] {
        visit(
            i,
            2,
            "http://c.test/x",
            D2,
            vec![link("https://t.com/blog", "again", false)],
        );
    }
    let r = run(&s, Table::Refdomains, &params("t.com", Mode::Subdomains)).unwrap();
    let text: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(Value::text).collect())
        .collect();
    assert_eq!(
        text,
        vec![
            vec![
                "a.test",
                "2",
                "1",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z",
                "0"
            ],
            vec![
                "b.test",
                "2",
                "1",
                "2024-03-01T00:00:00Z",
                "2024-03-08T00:00:00Z",
                "0"
            ],
            vec![
                "c.test",
                "1",
                "1",
                "2024-03-08T00:00:00Z",
                "2024-03-08T00:00:00Z",
                "0"
            ],
        ]
    );
    assert_eq!(r.stats, [("refdomains", 3), ("ips", 3), ("class_c", 2)]);
    // Row filters apply before grouping, group filters after; stats follow the filters.
    let mut p = params("t.com", Mode::Subdomains);
    p.where_ = clause("first_seen<\"2024-03-05\"");
    p.having = clause("backlinks>=1");
    let r = run(&s, Table::Refdomains, &p).unwrap();
    assert_eq!(r.rows.len(), 2, "c.test links only since day 2");
    assert_eq!(r.stats, [("refdomains", 2), ("ips", 2), ("class_c", 1)]);
    let mut p = params("t.com", Mode::Subdomains);
    p.having = clause("backlinks=1");
    p.select = Some("refdomain".into());
    let r = run(&s, Table::Refdomains, &p).unwrap();
    assert_eq!(r.rows, vec![vec![Value::Str("c.test".into())]]);
    assert_eq!(r.stats, [("refdomains", 1), ("ips", 1), ("class_c", 1)]);
    // Exact target: only the links to that URL.
    let r = run(
        &s,
        Table::Refdomains,
        &params("https://t.com/blog", Mode::Exact),
    )
    .unwrap();
    assert_eq!(r.rows.len(), 1);
}

#[test]
fn one_per_domain_keeps_each_referring_domains_strongest_backlink() {
    let s = index();
    let pairs = |r: &QueryResult| -> Vec<(String, String)> {
        let (from, to) = (
            r.columns.iter().position(|c| c.id == Col::UrlFrom).unwrap(),
            r.columns.iter().position(|c| c.id == Col::UrlTo).unwrap(),
        );
        r.rows
            .iter()
            .map(|row| (row[from].text(), row[to].text()))
            .collect()
    };
    let p = params("t.com", Mode::Subdomains);
    let r = run(&s, Table::OnePerDomain, &p).unwrap();
    // Equal ranks: dofollow wins (b.test's shop link over its nofollow www link), then key
    // order (a.test's link to t.com/ before the one to t.com/new).
    assert_eq!(
        pairs(&r),
        [
            ("http://a.test/1".into(), "https://t.com/".into()),
            ("http://b.test/".into(), "https://shop.t.com/".into())
        ]
    );
    // Filters choose among the backlinks first.
    let mut p = params("t.com", Mode::Subdomains);
    p.where_ = clause("nofollow=true");
    let r = run(&s, Table::OnePerDomain, &p).unwrap();
    assert_eq!(
        pairs(&r),
        [("http://b.test/".into(), "https://www.t.com/".into())]
    );
    let mut p = params("t.com", Mode::Subdomains);
    p.order_by = Some("url_from:desc".into());
    p.select = Some("url_from,url_to".into());
    let r = run(&s, Table::OnePerDomain, &p).unwrap();
    assert_eq!(r.rows[0][0].text(), "http://b.test/");
    assert_eq!(r.rows.len(), 2);
}

#[test]
fn refdomains_new_and_lost_follow_each_domains_live_backlinks() {
    let s = index();
    // Day 3: b.test drops both its links (the domain is lost); a.test drops one of two (still
    // linking: no event); c.test links for the first time.
    let d3 = D2 + 7 * DAY;
    for store in [&s.sql, &s.mem] {
        let ix = Indexer::new(store.clone());
        visit(&ix, 3, "http://b.test/", d3, vec![]);
        visit(
            &ix,
            3,
            "http://a.test/1",
            d3,
            vec![link("https://t.com/", "seo tools", false)],
        );
        visit(
            &ix,
            3,
            "http://c.test/x",
            d3,
            vec![link("https://t.com/", "hi", false)],
        );
    }
    let text = |r: &QueryResult| -> Vec<Vec<String>> {
        r.rows
            .iter()
            .map(|row| row.iter().map(Value::text).collect())
            .collect()
    };
    let p = params("t.com", Mode::Subdomains);
    let r = run(&s, Table::RefdomainsNewLost, &p).unwrap();
    assert_eq!(
        text(&r),
        [
            ["2024-03-15", "new", "c.test", "0"],
            ["2024-03-15", "lost", "b.test", "0"],
            ["2024-03-01", "new", "a.test", "0"],
            ["2024-03-01", "new", "b.test", "0"],
        ]
    );
    let mut p = params("t.com", Mode::Subdomains);
    p.where_ = clause("refdomain=\"b.test\"");
    let r = run(&s, Table::RefdomainsNewLost, &p).unwrap();
    assert_eq!(r.rows.len(), 2);
    // Counters: per day, `where` counted in new/lost, the totals ignore it.
    let r = run(&s, Table::RefdomainsCounters, &p).unwrap();
    assert_eq!(
        text(&r),
        [
            ["2024-03-15", "0", "1", "1", "1"],
            ["2024-03-01", "1", "0", "2", "0"],
        ]
    );
    let mut p = params("t.com", Mode::Subdomains);
    p.having = clause("lost>0");
    let r = run(&s, Table::RefdomainsCounters, &p).unwrap();
    assert_eq!(r.rows.len(), 1);
    // The DataForSEO counts since a day: (new, lost) hosts, then (new, lost) domains.
    let scope = linkdiff_model::Target::Subdomains("t.com".into());
    let counts = |(new, lost)| Changes { new, lost };
    for (since, hosts, domains) in [
        (D1, (3, 1), (3, 1)),
        (d3, (1, 1), (1, 1)),
        (d3 + DAY, (0, 0), (0, 0)),
    ] {
        let want = ReferringChanges {
            hosts: counts(hosts),
            domains: counts(domains),
        };
        assert_eq!(referring_changes(&s.sql, &scope, since).unwrap(), want);
        assert_eq!(referring_changes(&s.mem, &scope, since).unwrap(), want);
        assert_eq!(
            exec_rust::referring_changes(&s.sql, &scope, since).unwrap(),
            want
        );
    }
    // An exact target: only the links to that URL count.
    let r = run(
        &s,
        Table::RefdomainsNewLost,
        &params("https://shop.t.com/", Mode::Exact),
    )
    .unwrap();
    assert_eq!(
        text(&r),
        [
            ["2024-03-15", "lost", "b.test"],
            ["2024-03-01", "new", "b.test"],
        ]
        .map(|r| [r[0], r[1], r[2], "0"])
    );
}

#[test]
fn metrics_count_backlinks_and_crawled_pages_of_the_scope() {
    let s = index();
    for store in [&s.sql, &s.mem] {
        let ix = Indexer::new(store.clone());
        // A page of the target itself, crawled, and a government referrer with an image link.
        visit(
            &ix,
            2,
            "https://t.com/",
            D2,
            vec![link("http://x.test/", "out", false)],
        );
        let mut img = link("https://t.com/blog", "", false);
        img.alt = "logo".into();
        visit(&ix, 2, "http://www.nasa.gov/x", D2, vec![img]);
    }
    let p = params("t.com", Mode::Subdomains);
    let r = run(&s, Table::MetricsExtended, &p).unwrap();
    let got: Vec<(&str, String)> = r
        .columns
        .iter()
        .zip(&r.rows[0])
        .map(|(c, v)| (c.name, v.text()))
        .collect();
    let want = [
        ("backlinks", "5"),
        ("refpages", "3"),
        ("pages", "1"),
        ("valid_pages", "1"),
        ("text", "4"),
        ("image", "1"),
        ("nofollow", "1"),
        ("dofollow", "4"),
        ("redirect", "0"),
        ("canonical", "0"),
        ("gov", "1"),
        ("edu", "0"),
        ("html_pages", "1"),
        ("links_internal", "0"),
        ("links_external", "1"),
        ("refdomains", "3"),
        ("refclass_c", "2"),
        ("refips", "3"),
    ];
    let want: Vec<(&str, String)> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
    assert_eq!(got, want);
    let r = run(&s, Table::Metrics, &p).unwrap();
    assert_eq!(r.columns.len(), 15);
    let mut p = params("t.com", Mode::Subdomains);
    p.having = clause("backlinks>100");
    assert!(run(&s, Table::Metrics, &p).unwrap().rows.is_empty());
}

#[test]
fn ahrefs_rank_and_pages_extended_list_the_crawled_pages_of_the_scope() {
    let s = index();
    let r = run(&s, Table::PagesExtended, &params("a.test", Mode::Domain)).unwrap();
    let text: Vec<String> = r.rows[0].iter().map(Value::text).collect();
    assert_eq!(
        text,
        [
            "http://a.test/1",
            "0",
            "2024-03-01T00:00:00Z",
            "2024-03-08T00:00:00Z",
            "200",
            "0",
            "0",
            "2",
            "utf8",
            "T http://a.test/1",
            "en"
        ]
    );
    assert_eq!(r.rows.len(), 1);
    // Every crawled page under `test`, strongest first then by URL; targets never crawled
    // (t.com) are not pages of the scope.
    let mut p = params("test", Mode::Subdomains);
    p.select = Some("url".into());
    let r = run(&s, Table::AhrefsRank, &p).unwrap();
    let urls: Vec<String> = r.rows.iter().map(|row| row[0].text()).collect();
    assert_eq!(urls, ["http://a.test/1", "http://b.test/"]);
    p.order_by = Some("url:desc".into());
    p.where_ = clause("url<>\"http://nothing.test/\"");
    let r = run(&s, Table::AhrefsRank, &p).unwrap();
    assert_eq!(r.rows[0][0].text(), "http://b.test/");
    assert!(
        run(&s, Table::AhrefsRank, &params("t.com", Mode::Subdomains))
            .unwrap()
            .rows
            .is_empty()
    );
}

#[test]
fn sitewide_links_come_from_most_of_a_domains_visited_pages_and_only_when_selected() {
    let dir = tempfile::tempdir().unwrap();
    let (mem, sql) = (
        Store::memory(),
        Store::open(&dir.path().join("s.db")).unwrap(),
    );
    for store in [&mem, &sql] {
        let ix = Indexer::new(store.clone());
        // blog.test: 6 pages, 5 with the footer link → sitewide (10 > max(6, 9)).
        // tiny.test: 3 pages, all with it → too few pages (6 ≤ 9).
        // big.test: 12 pages, 6 with it → not most (12 ≤ 12).
        for (site, pages, linking) in [
            ("blog.test", 6, 5),
            ("tiny.test", 3, 3),
            ("big.test", 12, 6),
        ] {
            for i in 0..pages {
                let links = if i < linking {
                    vec![link("https://t.com/", "made by T", false)]
                } else {
                    vec![link("https://other.org/", "x", false)]
                };
                visit(&ix, 1, &format!("http://{site}/{i}"), D1, links);
            }
        }
    }
    let s = Index {
        mem,
        sql,
        _dir: dir,
    };
    let p = QueryParams {
        select: Some("url_from,sitewide".into()),
        where_: clause("sitewide=true"),
        ..params("t.com", Mode::Domain)
    };
    let r = run(&s, Table::Backlinks, &p).unwrap();
    let from: Vec<String> = texts(&r).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        from,
        (0..5)
            .map(|i| format!("http://blog.test/{i}"))
            .collect::<Vec<_>>()
    );
    assert!(texts(&r).iter().all(|r| r[1] == "true"));
    let all = run(&s, Table::Backlinks, &params("t.com", Mode::Domain)).unwrap();
    assert_eq!(all.rows.len(), 5 + 3 + 6);
    assert!(
        all.columns.iter().all(|c| c.name != "sitewide"),
        "not in the default answer"
    );
    let p = QueryParams {
        select: Some("url_from,sitewide".into()),
        order_by: Some("sitewide:desc,url_from".into()),
        ..params("t.com", Mode::Domain)
    };
    let r = run(&s, Table::Backlinks, &p).unwrap();
    assert_eq!(texts(&r)[0], vec!["http://blog.test/0", "true"]);
    assert_eq!(texts(&r)[5][1], "false");
}

#[test]
fn rendered_marks_links_only_a_rendering_found_and_is_answered_only_when_selected() {
    let dir = tempfile::tempdir().unwrap();
    let (mem, sql) = (
        Store::memory(),
        Store::open(&dir.path().join("r.db")).unwrap(),
    );
    let rendered = |to: &str, anchor: &str| Link {
        rendered: true,
        ..link(to, anchor, false)
    };
    for store in [&mem, &sql] {
        let ix = Indexer::new(store.clone());
        // Day 1: the widget's link only in the rendered DOM. Day 2: the page's HTML has it
        // too (the site moved it server-side), and a second widget link appears.
        visit(
            &ix,
            1,
            "http://a.test/",
            D1,
            vec![
                link("https://t.com/", "home", false),
                rendered("https://t.com/w", "widget"),
            ],
        );
        visit(
            &ix,
            1,
            "http://b.test/",
            D1,
            vec![link("https://t.com/b", "b", false)],
        );
        visit(
            &ix,
            2,
            "http://a.test/",
            D2,
            vec![
                link("https://t.com/", "home", false),
                link("https://t.com/w", "widget", false),
                rendered("https://t.com/w2", "widget 2"),
            ],
        );
    }
    let s = Index {
        mem,
        sql,
        _dir: dir,
    };
    let p = QueryParams {
        select: Some("url_to,rendered".into()),
        order_by: Some("url_to".into()),
        ..params("t.com", Mode::Domain)
    };
    assert_eq!(
        texts(&run(&s, Table::Backlinks, &p).unwrap()),
        [
            ["https://t.com/", "false"],
            ["https://t.com/b", "false"],
            ["https://t.com/w", "false"],
            ["https://t.com/w2", "true"],
        ]
    );
    let p = QueryParams {
        select: Some("url_to".into()),
        where_: clause("rendered=true"),
        ..params("t.com", Mode::Domain)
    };
    assert_eq!(
        texts(&run(&s, Table::Backlinks, &p).unwrap()),
        [["https://t.com/w2"]]
    );
    // The new events carry the link's flag as it is now.
    let p = QueryParams {
        select: Some("url_to,type,rendered".into()),
        where_: clause("rendered=true"),
        ..params("t.com", Mode::Domain)
    };
    assert_eq!(
        texts(&run(&s, Table::NewLost, &p).unwrap()),
        [["https://t.com/w2", "new", "true"]]
    );
    for t in [Table::Backlinks, Table::NewLost] {
        let all = run(&s, t, &params("t.com", Mode::Domain)).unwrap();
        assert!(
            all.columns.iter().all(|c| c.name != "rendered"),
            "not in the default answer of {t:?}"
        );
    }
}

#[test]
fn lost_events_carry_their_reason_only_when_asked() {
    let s = index();
    let p = QueryParams {
        select: Some("url_to,type,reason".into()),
        ..params("t.com", Mode::Subdomains)
    };
    let r = run(&s, Table::NewLost, &p).unwrap();
    let lost: Vec<Vec<String>> = texts(&r)
        .into_iter()
        .filter(|row| row[1] == "lost")
        .collect();
    assert_eq!(
        lost,
        vec![vec![
            "https://t.com/blog".to_string(),
            "lost".into(),
            "removedfromhtml".into()
        ]]
    );
    assert!(texts(&r)
        .iter()
        .filter(|row| row[1] == "new")
        .all(|row| row[2].is_empty()));
    let p = QueryParams {
        select: Some("url_to".into()),
        where_: clause("reason=\"removedfromhtml\""),
        ..params("t.com", Mode::Subdomains)
    };
    assert_eq!(
        texts(&run(&s, Table::NewLost, &p).unwrap()),
        vec![vec!["https://t.com/blog".to_string()]]
    );
    let all = run(&s, Table::NewLost, &params("t.com", Mode::Subdomains)).unwrap();
    assert!(all.columns.iter().all(|c| c.name != "reason"));
}
