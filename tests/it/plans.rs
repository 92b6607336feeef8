//! Issue 32: every statement shape the SQL compiler produces plans well on the bundled SQLite.
//! `EXPLAIN QUERY PLAN` for the every-table comparison's questions (all four modes, both join
//! orders) must not scan a big table inside a loop, build an automatic index on one, or (for a
//! scope of a few hosts) scan a big table at all.

use crate::store_v2::questions;
use crate::support::*;
use linkdiff_model::{Mode, Target};
use linkdiff_query::exec_sql::{explain, PlanStep};
use linkdiff_query::{parse_clause, plan, QueryParams, Table};
use linkdiff_store::Store;
use linkdiff_testweb::WebConfig;

/// Aliases the compiler gives the tables that grow with the index (links, events, pages,
/// URLs); hosts, domains and materialised subqueries are not among them.
const BIG: &[&str] = &[
    "b",
    "e",
    "p",
    "u",
    "pg",
    "tp",
    "b2",
    "p2",
    "pd",
    "ud",
    "dl",
    "backlinks",
    "events",
    "pages",
    "urls",
];

/// What is wrong with one statement's plan, if anything.
fn problems(steps: &[PlanStep], wide: bool) -> Vec<String> {
    let mut out = Vec::new();
    let by_id = |id: i64| steps.iter().find(|s| s.id == id);
    for (i, s) in steps.iter().enumerate() {
        let words: Vec<&str> = s.detail.split_whitespace().collect();
        let (verb, alias) = match words.as_slice() {
            [v @ ("SCAN" | "SEARCH"), a, ..] => (*v, *a),
            _ => continue,
        };
        if !BIG.contains(&alias) {
            continue;
        }
        if s.detail.contains("AUTOMATIC") {
            out.push(format!("automatic index: {}", s.detail));
        }
        if verb != "SCAN" {
            continue;
        }
        // An earlier loop at the same level means this scan runs once per row of it.
        let inner = steps[..i].iter().any(|o| {
            o.parent == s.parent
                && (o.detail.starts_with("SCAN ") || o.detail.starts_with("SEARCH "))
        });
        // So does any scan under a correlated subquery.
        let mut correlated = false;
        let mut up = s.parent;
        while let Some(a) = by_id(up) {
            correlated |= a.detail.starts_with("CORRELATED");
            up = a.parent;
        }
        if inner || correlated {
            out.push(format!("full scan inside a loop: {}", s.detail));
        } else if !wide {
            out.push(format!("full scan for a narrow scope: {}", s.detail));
        }
    }
    out
}

fn params(q: &[(&str, String)]) -> (Table, QueryParams) {
    let get = |k: &str| q.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let table: Table = get("from").unwrap().parse().unwrap();
    (
        table,
        QueryParams {
            select: get("select"),
            where_: parse_clause(get("where").as_deref(), "where").unwrap(),
            having: parse_clause(get("having").as_deref(), "having").unwrap(),
            order_by: get("order_by"),
            limit: get("limit").map_or(1000, |l| l.parse().unwrap()),
            offset: get("offset").map_or(0, |o| o.parse().unwrap()),
            ..QueryParams::new(
                Target::parse(
                    &get("target").unwrap(),
                    get("mode").map_or(Mode::Exact, |m| m.parse().unwrap()),
                )
                .unwrap(),
            )
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_statement_shape_plans_without_a_full_scan_in_a_loop() {
    let w = web(WebConfig {
        hosts: 4,
        pages_per_host: 10,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("i.db")).unwrap();
    crawl(&store, &crawl_cfg(&w, Some(day("2026-03-01")))).await;
    let sql = store.sql().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for q in questions(w.addr.port()) {
        let (table, qp) = params(&q);
        let Ok(base) = plan(table, &qp) else {
            continue; // bad-input questions
        };
        // A narrow scope must plan well hosts-first; a subdomains scope may also run wide.
        let orders: &[bool] = if matches!(qp.target, Target::Subdomains(_)) {
            &[false, true]
        } else {
            &[false]
        };
        for &wide in orders {
            let p = linkdiff_query::Plan {
                wide,
                ..base.clone()
            };
            for (text, steps) in explain(sql, &p).unwrap() {
                if !seen.insert((text.clone(), wide)) {
                    continue;
                }
                checked += 1;
                let bad = problems(&steps, wide);
                if !bad.is_empty() {
                    failures.push(format!(
                        "{q:?} (wide: {wide}):\n  {}\n  {text}",
                        bad.join("\n  ")
                    ));
                }
            }
        }
    }
    eprintln!("{checked} distinct statements planned");
    assert!(checked > 80, "only {checked} statements");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_check_catches_the_plan_that_ran_for_minutes() {
    // The whole-TLD refdomains `stats` plan of the bundled SQLite before issue 32.
    let step = |id, parent, d: &str| PlanStep {
        id,
        parent,
        detail: d.into(),
    };
    let before = [
        step(41, 37, "MATERIALIZE g"),
        step(
            55,
            41,
            "SEARCH h USING COVERING INDEX sqlite_autoindex_hosts_1 (rhost>? AND rhost<?)",
        ),
        step(
            84,
            41,
            "SEARCH b USING AUTOMATIC PARTIAL COVERING INDEX (live=?)",
        ),
        step(89, 41, "SEARCH p USING INTEGER PRIMARY KEY (rowid=?)"),
    ];
    assert_eq!(problems(&before, true).len(), 1);
    let scan_inside = [
        step(2, 0, "SEARCH h USING INDEX x (rhost>? AND rhost<?)"),
        step(3, 0, "SCAN b"),
    ];
    assert_eq!(problems(&scan_inside, true).len(), 1);
    let narrow_scan = [
        step(2, 0, "SCAN b"),
        step(3, 0, "SEARCH u USING INTEGER PRIMARY KEY (rowid=?)"),
    ];
    assert_eq!(problems(&narrow_scan, false).len(), 1);
    assert!(problems(&narrow_scan, true).is_empty());
}
