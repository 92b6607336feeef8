//! The ClickHouse dialect of the SQL executor: a plan compiled to one `SELECT` over the
//! ClickHouse tables (`linkdiff_store::clickhouse::schema`), answered by the servers, with the
//! same rows in the same order as [`crate::exec_sql`] on SQLite.
//!
//! Compiled today: `backlinks`, `backlinks_one_per_domain` (`LIMIT 1 BY` the referring
//! domain), `broken_backlinks` and `backlinks_new_lost` (`where`/`having`/`order_by` on every
//! column but `sitewide`; two statements: the page's keys, then its rows), `anchors`
//! and `refdomains` with their `stats`, `backlinks_new_lost_counters` (`where` on the event's
//! and the link's own columns), `metrics`, `metrics_extended`, `ahrefs_rank`,
//! `pages_extended`, `refdomains_new_lost` and its counters; not the `subdomain()`/`word()`
//! functions nor `sitewide`. Anything else returns `None` and
//! the caller answers with the Rust executor over the engine's scans (exact, but it reads every
//! row of the scope).
//!
//! Written for ClickHouse 18.16 and later: one `JOIN` per `SELECT` (joins nest as subqueries,
//! each level naming its columns), `ANY LEFT JOIN … USING`, literals quoted in the text (no
//! query parameters there), `FINAL` reads selecting `ver`, `GLOBAL IN` for subqueries over
//! `Distributed` tables. SQLite's `COLLATE NOCASE` is `lower()` (both fold ASCII only) and its
//! NULL order (first ascending) is spelled out.

use crate::catalogue::{Col, ColType, Table};
use crate::error::Result;
use crate::filter::{Cond, Func, Lit, Op, Test};
use crate::plan::Plan;
use crate::value::Value;
use crate::QueryResult;
use linkdiff_store::clickhouse::client::quote;
use linkdiff_store::clickhouse::{scope_sql, ChStore};

/// The rows a flat table reads: link records (`backlinks`) or events (`backlinks_new_lost`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
    /// Live external links (`links`).
    Links,
    /// New and lost events (`events`).
    Events,
}

impl Source {
    fn table(self) -> &'static str {
        match self {
            Source::Links => "links",
            Source::Events => "events",
        }
    }

    /// Key columns in key order (SQLite's target host and tail, then — for events — time,
    /// then the referring page and link id).
    fn keys(self) -> &'static [&'static str] {
        match self {
            Source::Links => &["tkey", "url_from", "link_type", "anchor", "n", "url_to"],
            Source::Events => &[
                "tkey",
                "time",
                "url_from",
                "link_type",
                "anchor",
                "n",
                "kind",
                "url_to",
            ],
        }
    }

    /// What every row of the table satisfies.
    fn base(self) -> &'static str {
        match self {
            Source::Links => "live = 1 AND external = 1",
            Source::Events => "1",
        }
    }

    /// The expression of a column over the joined row, or `None` when not compiled. Joined
    /// names: `p_*` the referring page, `ur` its rating, `d_*` its domain, `tp_status` the
    /// target's page, `l_*` an event's link record.
    fn expr(self, c: Col) -> Option<String> {
        let s = |x: &str| Some(x.to_string());
        if self == Source::Events {
            return match c {
                Col::Date => s("(time - ((time % 86400) + 86400) % 86400)"),
                Col::Type => s("if(kind = 0, 'new', 'lost')"),
                Col::LinksInternal => s("links_internal"),
                Col::LinksExternal => s("links_external"),
                Col::HttpCode => s("http_code"),
                Col::Origin => s("multiIf(origin = 0, 'fresh', origin = 1, 'recrawl', 'drop')"),
                Col::Reason => s(
                    "multiIf(isNull(reason), '', reason = 0, 'removedfromhtml', reason = 1, 'notfound', \
                     reason = 2, 'pageredirected', reason = 3, 'pageerror', reason = 4, 'noindex', \
                     reason = 5, 'notcanonical', reason = 6, 'robotsblocked', reason = 7, 'lostredirect', '')",
                ),
                Col::Recovered => s("recovered"),
                Col::FirstSeen => s("l_first_seen"),
                Col::Original => s("l_original"),
                Col::Redirect => s("l_redirect"),
                Col::Nofollow => s("l_nofollow"),
                Col::Alt => s("l_alt"),
                Col::TextPre => s("l_text_pre"),
                Col::TextPost => s("l_text_post"),
                // A dead link keeps its frozen dates; a live one's come from its page.
                Col::LastVisited => s("if(l_live = 1, ifNull(p_last_ok_visit, l_streak_start), l_last_seen)"),
                Col::PrevVisited => s(
                    "if(l_live = 1, \
                     if(l_streak_start < ifNull(p_last_ok_visit, l_streak_start), \
                        if(isNull(p_prev_ok_visit), CAST(NULL AS Nullable(Int64)), \
                           toNullable(greatest(assumeNotNull(p_prev_ok_visit), l_streak_start))), \
                        l_before_streak), \
                     l_prev_seen)",
                ),
                Col::AhrefsRank
                | Col::DomainRating
                | Col::UrlFrom
                | Col::UrlTo
                | Col::Encoding
                | Col::Title
                | Col::LinkType
                | Col::Anchor => Source::Links.expr(c),
                _ => None,
            };
        }
        match c {
            Col::UrlFrom => s("url_from"),
            Col::UrlTo => s("url_to"),
            Col::AhrefsRank => s("ur"),
            Col::DomainRating => s("d_rating"),
            Col::AhrefsTop => s("d_top"),
            Col::IpFrom => s("p_ip"),
            Col::LinksInternal => s("p_links_internal"),
            Col::LinksExternal => s("p_links_external"),
            Col::PageSize => s("p_page_size"),
            Col::Encoding => s("p_encoding"),
            Col::Language => s("p_language"),
            Col::Title => s("p_title"),
            Col::FirstSeen => s("first_seen"),
            // A live link was on every successful visit of its page since `streak_start`
            // (`LinkRecord::visits`; the same expressions as `exec_sql`).
            Col::LastVisited => s("ifNull(p_last_ok_visit, streak_start)"),
            Col::PrevVisited => s(
                "if(streak_start < ifNull(p_last_ok_visit, streak_start), \
                 if(isNull(p_prev_ok_visit), CAST(NULL AS Nullable(Int64)), \
                    toNullable(greatest(assumeNotNull(p_prev_ok_visit), streak_start))), \
                 before_streak)",
            ),
            Col::Original => s("original"),
            Col::LinkType => s(
                "multiIf(link_type = 0, 'href', link_type = 1, 'redirect', link_type = 2, 'frame', \
                 link_type = 3, 'form', link_type = 4, 'canonical', link_type = 5, 'rss', 'alternate')",
            ),
            Col::Redirect => s("redirect"),
            Col::Nofollow => s("nofollow"),
            Col::Alt => s("alt"),
            Col::Anchor => s("anchor"),
            Col::TextPre => s("text_pre"),
            Col::TextPost => s("text_post"),
            Col::HttpCode => s("tp_status"),
            Col::BrokenAt => s("tp_broken"),
            Col::UrlFromFirstSeen => s("p_first_ok_visit"),
            _ => None,
        }
    }

    /// Columns of the row itself (filters on them run in the scan, before any join), and
    /// the row columns they read.
    fn own(self, c: Col) -> Option<&'static [&'static str]> {
        let links = match c {
            Col::UrlFrom | Col::UrlTo | Col::LinkType | Col::Anchor => Some(&[][..]),
            _ => None,
        };
        match self {
            Source::Links => links.or(match c {
                Col::FirstSeen => Some(&["first_seen"][..]),
                Col::Original => Some(&["original"][..]),
                Col::Redirect => Some(&["redirect"][..]),
                Col::Nofollow => Some(&["nofollow"][..]),
                Col::Alt => Some(&["alt"][..]),
                Col::TextPre => Some(&["text_pre"][..]),
                Col::TextPost => Some(&["text_post"][..]),
                _ => None,
            }),
            Source::Events => links.or(match c {
                Col::Date | Col::Type => Some(&[][..]),
                Col::LinksInternal => Some(&["links_internal"][..]),
                Col::LinksExternal => Some(&["links_external"][..]),
                Col::HttpCode => Some(&["http_code"][..]),
                Col::Origin => Some(&["origin"][..]),
                Col::Reason => Some(&["reason"][..]),
                _ => None,
            }),
        }
    }

    /// Scan columns the expressions of `cols` read beyond the keys (joined ones excluded).
    fn scan_cols(self, cols: &[Col], ch: &ChStore) -> Vec<String> {
        let mut out: Vec<String> = self.keys().iter().map(|k| k.to_string()).collect();
        let mut add = |x: &str| {
            if !out.iter().any(|o| o == x) {
                out.push(x.to_string());
            }
        };
        for &c in cols {
            if let Some(xs) = self.own(c) {
                xs.iter().for_each(|x| add(x));
            }
            match (self, c) {
                (Source::Links, Col::LastVisited) => add("streak_start"),
                (Source::Links, Col::PrevVisited) => {
                    add("streak_start");
                    add("before_streak")
                }
                (Source::Events, Col::Recovered) => add(&format!(
                    "(url_to, time, url_from, link_type, anchor, n) GLOBAL IN \
                     (SELECT url_to, time, url_from, link_type, anchor, n FROM {}) AS recovered",
                    ch.table_name("recovered")
                )),
                _ => {}
            }
        }
        out
    }
}

/// Which tables a statement joins to its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Joins {
    /// The referring page (`pages` by `url_from`): its attributes and registrable domain.
    page: bool,
    /// The referring page's URL Rating (`url_ratings`).
    rating: bool,
    /// The referring domain's DR and Ahrefs top (`domains`, needs `page`).
    domain: bool,
    /// The target's page (`pages` by `url_to`): `http_code` of backlinks.
    target: bool,
    /// An event's link record (`links` by the link id): its attributes and dates.
    link: bool,
}

impl Joins {
    fn need(&mut self, src: Source, c: Col) {
        if src.own(c).is_some() || c == Col::Recovered {
            return;
        }
        match c {
            Col::AhrefsRank => self.rating = true,
            Col::DomainRating | Col::AhrefsTop => {
                self.page = true;
                self.domain = true
            }
            Col::HttpCode | Col::BrokenAt => self.target = true,
            Col::LastVisited | Col::PrevVisited if src == Source::Events => {
                self.page = true;
                self.link = true
            }
            Col::FirstSeen
            | Col::Original
            | Col::Redirect
            | Col::Nofollow
            | Col::Alt
            | Col::TextPre
            | Col::TextPost => self.link = true,
            _ => self.page = true,
        }
    }
}

/// `x <cond>` in ClickHouse SQL, or `None` for functions not compiled.
fn cond_sql(x: &str, c: &Cond) -> Option<String> {
    Some(match &c.test {
        Test::Cmp(op, Lit::Time { t, day_only: true }) => {
            let lo = t.div_euclid(86_400) * 86_400;
            let hi = lo + 86_400;
            match op {
                Op::Eq => format!("({x} >= {lo} AND {x} < {hi})"),
                Op::Ne => format!("(isNull({x}) OR {x} < {lo} OR {x} >= {hi})"),
                Op::Lt | Op::Ge => format!("{x} {} {lo}", op.as_str()),
                Op::Le => format!("{x} < {hi}"),
                Op::Gt => format!("{x} >= {hi}"),
            }
        }
        Test::Cmp(Op::Ne, Lit::Time { t, .. }) => format!("(isNull({x}) OR {x} <> {t})"),
        Test::Cmp(op, Lit::Time { t, .. }) => format!("{x} {} {t}", op.as_str()),
        Test::Cmp(op, Lit::Int(i)) => format!("{x} {} {i}", op.as_str()),
        Test::Cmp(op, Lit::Bool(b)) => format!("{x} {} {}", op.as_str(), *b as u8),
        Test::Cmp(op, Lit::Str(s)) => format!("lower({x}) {} lower({})", op.as_str(), quote(s)),
        Test::Call(Func::Substring, needle) => {
            format!("position(lower({x}), {}) > 0", quote(needle))
        }
        Test::Call(Func::Subdomain | Func::Word, _) => return None,
    })
}

/// `ORDER BY` terms of a column: SQLite's `NOCASE` and NULL order.
fn order_term(x: &str, ty: ColType, desc: bool) -> String {
    let x = if ty == ColType::Str {
        format!("lower({x})")
    } else {
        x.to_string()
    };
    if desc {
        format!("{x} DESC NULLS LAST")
    } else {
        format!("{x} ASC NULLS FIRST")
    }
}

/// Join `right` (a subquery naming `key` and `cols`) to the statement `left` whose columns
/// are `have`, one `ANY LEFT JOIN` level.
fn join(left: String, have: &mut Vec<String>, right: String, key: &str, cols: &[&str]) -> String {
    have.extend(cols.iter().map(|c| c.to_string()));
    format!(
        "SELECT {} FROM ({left}) ANY LEFT JOIN ({right}) USING {key}",
        have.join(", ")
    )
}

/// What the joins of a statement read: `IN` tests (`GLOBAL IN (subquery)` or `IN
/// (literals)`) choosing the referring pages and target pages, and the condition choosing an
/// event's link records.
struct Sets {
    from: String,
    to: String,
    links: String,
}

/// `scan` (rows with columns `have`) with the joins `j` needs.
fn joined(ch: &ChStore, scan: &str, have: &[String], j: Joins, sets: &Sets) -> String {
    let pages = ch.table_name("pages");
    // A column computed in the scan (`… AS name`) goes up under its name.
    let mut have: Vec<String> = have
        .iter()
        .map(|h| h.rsplit(" AS ").next().unwrap_or(h).to_string())
        .collect();
    let (from_set, to_set) = (&sets.from, &sets.to);
    let mut q = format!("SELECT {} FROM ({scan})", have.join(", "));
    if j.page {
        let cols = [
            "p_domain",
            "p_ip",
            "p_links_internal",
            "p_links_external",
            "p_page_size",
            "p_encoding",
            "p_language",
            "p_title",
            "p_last_ok_visit",
            "p_prev_ok_visit",
            "p_first_ok_visit",
        ];
        let right = format!(
            "SELECT url AS url_from, {}, ver AS p_ver FROM {pages} FINAL WHERE url {from_set}",
            cols.iter()
                .map(|c| format!("{} AS {c}", &c[2..]))
                .collect::<Vec<_>>()
                .join(", "),
        );
        q = join(q, &mut have, right, "url_from", &cols);
    }
    if j.rating {
        let right = format!(
            "SELECT url AS url_from, url_rating AS ur, ver AS ur_ver FROM {} FINAL WHERE url {from_set}",
            ch.table_name("url_ratings"),
        );
        q = join(q, &mut have, right, "url_from", &["ur"]);
    }
    if j.domain {
        let right = format!(
            "SELECT name AS p_domain, domain_rating AS d_rating, ahrefs_top AS d_top, ver AS d_ver FROM {} FINAL",
            ch.table_name("domains")
        );
        q = join(q, &mut have, right, "p_domain", &["d_rating", "d_top"]);
    }
    if j.target {
        let right = format!(
            "SELECT url AS url_to, last_status AS tp_status, broken_since AS tp_broken, ver AS tp_ver \
             FROM {pages} FINAL WHERE url {to_set}",
        );
        q = join(q, &mut have, right, "url_to", &["tp_status", "tp_broken"]);
    }
    if j.link {
        let cols = [
            "l_live",
            "l_first_seen",
            "l_original",
            "l_redirect",
            "l_nofollow",
            "l_alt",
            "l_text_pre",
            "l_text_post",
            "l_streak_start",
            "l_before_streak",
            "l_last_seen",
            "l_prev_seen",
        ];
        let right = format!(
            "SELECT url_to, url_from, link_type, anchor, n, {}, ver AS l_ver FROM {} FINAL WHERE {}",
            cols.iter()
                .map(|c| format!("{} AS {c}", &c[2..]))
                .collect::<Vec<_>>()
                .join(", "),
            ch.table_name("links"),
            sets.links
        );
        q = join(
            q,
            &mut have,
            right,
            "(url_to, url_from, link_type, anchor, n)",
            &cols,
        );
    }
    q
}

/// Phase 1 of a flat table: the keys (`k0`…) of the page of rows the plan returns, in order.
/// Only what the filters and the order read is scanned and joined; without order and filters
/// on joined columns, the page is cut in the scan itself. `None` when a column or function is
/// not compiled.
fn keys_sql(ch: &ChStore, src: Source, plan: &Plan) -> Option<String> {
    let conds: Vec<&Cond> = plan.where_.iter().chain(&plan.having).collect();
    for c in plan.select.iter().map(|c| c.id) {
        src.expr(c)?;
    }
    let mut j = Joins::default();
    let used: Vec<Col> = conds
        .iter()
        .map(|c| c.col.id)
        .chain(plan.order.iter().map(|o| o.0.id))
        .collect();
    for &c in &used {
        src.expr(c)?;
        j.need(src, c);
    }
    // `broken_backlinks`: rows whose target page is in a broken streak. One per domain:
    // each referring domain's strongest row (highest UR, then dofollow, then key order).
    let broken = plan.table == Table::BrokenBacklinks;
    let one_per_domain = plan.table == Table::OnePerDomain;
    j.target |= broken;
    if one_per_domain {
        j.need(src, Col::AhrefsRank);
        j.need(src, Col::DomainRating);
    }
    let table = ch.table_name(src.table());
    let scope = scope_sql(&plan.scope);
    let base = format!("{} AND {scope}", src.base());
    // Filters on the row's own columns run in the scan; the others after the joins.
    let mut inner_where = base.clone();
    let mut outer_where = String::from(if broken { "isNotNull(tp_broken)" } else { "1" });
    for c in &conds {
        let x = src.expr(c.col.id)?;
        let w = if src.own(c.col.id).is_some() {
            &mut inner_where
        } else {
            &mut outer_where
        };
        w.push_str(" AND ");
        w.push_str(&cond_sql(&x, c)?);
    }
    let limit = format!(
        "LIMIT {}, {}",
        plan.offset.min(i64::MAX as usize),
        plan.limit
    );
    let mut needs = used.clone();
    if one_per_domain {
        needs.push(Col::Nofollow);
    }
    let cols = src.scan_cols(&needs, ch);
    let keys: Vec<String> = src
        .keys()
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} AS k{i}"))
        .collect();
    let key_order = src.keys().join(", ");
    let scan = format!(
        "SELECT {}, ver FROM {table} FINAL WHERE {inner_where}",
        cols.join(", ")
    );
    if plan.order.is_empty() && outer_where == "1" && !one_per_domain {
        return Some(format!(
            "SELECT {} FROM ({scan}) ORDER BY {key_order} {limit}",
            keys.join(", ")
        ));
    }
    // The pages and link records of every row in scope (supersets read without FINAL).
    let set = |col: &str| format!("GLOBAL IN (SELECT {col} FROM {table} WHERE {base})");
    let sets = Sets {
        from: set("url_from"),
        to: set("url_to"),
        links: scope.clone(),
    };
    let mut q = joined(ch, &scan, &cols, j, &sets);
    if one_per_domain {
        q = format!(
            "SELECT * FROM ({q}) WHERE {outer_where} \
             ORDER BY p_domain, ur DESC, nofollow, {key_order} LIMIT 1 BY p_domain"
        );
    }
    let mut order: Vec<String> = plan
        .order
        .iter()
        .map(|(c, desc)| Some(order_term(&src.expr(c.id)?, c.ty, *desc)))
        .collect::<Option<_>>()?;
    order.push(key_order);
    Some(format!(
        "SELECT {} FROM ({q}) WHERE {outer_where} ORDER BY {} {limit}",
        keys.join(", "),
        order.join(", "),
    ))
}

/// A key cell of phase 1 as a SQL literal.
fn literal(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => quote(s),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => "NULL".into(),
    }
}

/// Phase 2 of a flat table: the selected columns (`c0`…) and keys (`k0`…) of the rows whose
/// keys phase 1 returned, read by those keys (the target keys use the primary index).
fn rows_sql(
    ch: &ChStore,
    src: Source,
    plan: &Plan,
    keys: &[serde_json::Map<String, serde_json::Value>],
) -> Option<String> {
    let mut j = Joins::default();
    let sel: Vec<Col> = plan.select.iter().map(|c| c.id).collect();
    for &c in &sel {
        j.need(src, c);
    }
    let at = |name: &str| src.keys().iter().position(|k| *k == name).expect("key");
    let list = |i: usize| -> String {
        let mut v: Vec<String> = keys
            .iter()
            .map(|r| literal(r.get(&format!("k{i}"))))
            .collect();
        v.sort();
        v.dedup();
        v.join(", ")
    };
    // Rows of those targets from those pages: a few more than the keys at most (the caller
    // keeps the keys' rows), and two short literal lists parse much faster than the tuples.
    let (tkeys, froms) = (list(at("tkey")), list(at("url_from")));
    let by_keys = format!("tkey IN ({tkeys}) AND url_from IN ({froms})");
    let cols = src.scan_cols(&sel, ch);
    let scan = format!(
        "SELECT {}, ver FROM {} FINAL WHERE {} AND {by_keys}",
        cols.join(", "),
        ch.table_name(src.table()),
        src.base(),
    );
    let sets = Sets {
        from: format!("IN ({froms})"),
        to: format!("IN ({})", list(at("url_to"))),
        links: by_keys,
    };
    let q = joined(ch, &scan, &cols, j, &sets);
    let select: Vec<String> = plan
        .select
        .iter()
        .enumerate()
        .map(|(i, c)| Some(format!("{} AS c{i}", src.expr(c.id)?)))
        .chain(
            src.keys()
                .iter()
                .enumerate()
                .map(|(i, k)| Some(format!("{k} AS k{i}"))),
        )
        .collect::<Option<_>>()?;
    Some(format!("SELECT {} FROM ({q})", select.join(", ")))
}

/// A flat table in two statements: the keys of the page (phase 1), then its rows.
fn run_flat(ch: &ChStore, src: Source, plan: &Plan) -> Result<Option<Vec<Vec<Value>>>> {
    let Some(keys_sql) = keys_sql(ch, src, plan) else {
        return Ok(None);
    };
    debug_sql(&keys_sql);
    let keys = ch.select_objects(&keys_sql)?;
    if keys.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let rows_sql = rows_sql(ch, src, plan, &keys).expect("phase 1 checked the columns");
    debug_sql(&rows_sql);
    let n = src.keys().len();
    let key = |r: &serde_json::Map<String, serde_json::Value>| -> String {
        (0..n)
            .map(|i| literal(r.get(&format!("k{i}"))))
            .collect::<Vec<_>>()
            .join("\u{1}")
    };
    let position: std::collections::HashMap<String, usize> =
        keys.iter().enumerate().map(|(i, r)| (key(r), i)).collect();
    let mut rows: Vec<(usize, Vec<Value>)> = Vec::with_capacity(keys.len());
    for r in ch.select_objects(&rows_sql)? {
        let Some(&at) = position.get(&key(&r)) else {
            continue;
        };
        let row = plan
            .select
            .iter()
            .enumerate()
            .map(|(i, c)| cell(c.ty, r.get(&format!("c{i}"))))
            .collect();
        rows.push((at, row));
    }
    rows.sort_by_key(|r| r.0);
    Ok(Some(rows.into_iter().map(|r| r.1).collect()))
}

/// Print compiled statements to stderr when `LINKDIFF_DEBUG_SQL` is set (to read or EXPLAIN).
fn debug_sql(sql: &str) {
    if std::env::var_os("LINKDIFF_DEBUG_SQL").is_some() {
        eprintln!("{sql};");
    }
}

/// The live backlinks of the scope with what the grouped tables read of them (`anchor`,
/// `url_from`, `first_seen`, `last_visited`, the referring domain `p_domain`), filtered by
/// `conds` on those columns.
fn grouped_rows(ch: &ChStore, plan: &Plan, conds: &[&Cond], ratings: bool) -> Option<String> {
    let (links, pages) = (ch.table_name("links"), ch.table_name("pages"));
    let scope = scope_sql(&plan.scope);
    let scan = format!(
        "SELECT url_from, anchor, first_seen, streak_start, ver FROM {links} FINAL \
         WHERE live = 1 AND external = 1 AND {scope}"
    );
    let right = format!(
        "SELECT url AS url_from, domain AS p_domain, last_ok_visit AS p_last_ok_visit, ip AS p_ip, \
         class_c AS p_class_c, ver AS p_ver FROM {pages} FINAL WHERE url GLOBAL IN (SELECT url_from FROM ({scan}))"
    );
    let cols =
        "url_from, anchor, first_seen, streak_start, p_domain, p_last_ok_visit, p_ip, p_class_c";
    let mut base = format!(
        "SELECT {cols} FROM (SELECT url_from, anchor, first_seen, streak_start FROM ({scan})) \
         ANY LEFT JOIN ({right}) USING url_from"
    );
    if ratings {
        base = format!(
            "SELECT {cols}, d_rating FROM ({base}) ANY LEFT JOIN (SELECT name AS p_domain, \
             domain_rating AS d_rating, ver AS d_ver FROM {} FINAL) USING p_domain",
            ch.table_name("domains")
        );
    }
    let mut w = String::from("1");
    for c in conds {
        let x = match c.col.id {
            Col::Refdomain => "p_domain".to_string(),
            Col::DomainRating if ratings => "d_rating".to_string(),
            other => Source::Links.expr(other)?,
        };
        w.push_str(" AND ");
        w.push_str(&cond_sql(&x, c)?);
    }
    Some(format!(
        "SELECT url_from, anchor, first_seen, ifNull(p_last_ok_visit, streak_start) AS last_visited, \
         p_domain, p_ip, p_class_c{} FROM ({base}) WHERE {w}",
        if ratings { ", d_rating" } else { "" }
    ))
}

/// `anchors`: the rows statement (every catalogue column as `c_NAME`) and the `stats`
/// statement (`s_backlinks`, `s_refpages` over every group passing the filters).
fn anchors_sql(ch: &ChStore, plan: &Plan) -> Option<(String, String)> {
    use crate::exec_rust::anchors_row_col;
    let row_conds: Vec<&Cond> = plan
        .where_
        .iter()
        .filter(|c| anchors_row_col(c.col.id))
        .collect();
    let rows = grouped_rows(ch, plan, &row_conds, false)?;
    let mut having = String::from("1");
    for c in plan
        .where_
        .iter()
        .filter(|c| !anchors_row_col(c.col.id))
        .chain(&plan.having)
    {
        having.push_str(" AND ");
        having.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
    }
    let groups = format!(
        "SELECT anchor AS c_anchor, toInt64(count()) AS c_backlinks, toInt64(uniqExact(url_from)) AS c_refpages, \
         '' AS c_refdomain, toInt64(uniqExact(p_domain)) AS c_refdomains, min(first_seen) AS c_first_seen, \
         max(last_visited) AS c_last_visited FROM ({rows}) GROUP BY anchor HAVING {having}"
    );
    let order: String = plan
        .order
        .iter()
        .map(|(c, desc)| order_term(&format!("c_{}", c.name), c.ty, *desc) + ", ")
        .collect();
    let page = format!(
        "{groups} ORDER BY {order}c_backlinks DESC, lower(c_anchor), c_anchor LIMIT {}, {}",
        plan.offset.min(i64::MAX as usize),
        plan.limit
    );
    let stats = format!(
        "SELECT (SELECT toInt64(sum(c_backlinks)) FROM ({groups})) AS s_backlinks, \
         (SELECT toInt64(uniqExact(url_from)) FROM ({rows}) WHERE anchor IN (SELECT c_anchor FROM ({groups}))) AS s_refpages"
    );
    Some((page, stats))
}

/// `refdomains`: the rows statement (every catalogue column as `c_NAME`) and the `stats`
/// statement (`s_refdomains`, `s_ips`, `s_class_c` over every group passing the filters).
fn refdomains_sql(ch: &ChStore, plan: &Plan) -> Option<(String, String)> {
    use crate::exec_rust::refdomains_row_col;
    let row_conds: Vec<&Cond> = plan
        .where_
        .iter()
        .filter(|c| refdomains_row_col(c.col.id))
        .collect();
    let rows = grouped_rows(ch, plan, &row_conds, true)?;
    let mut having = String::from("1");
    for c in plan
        .where_
        .iter()
        .filter(|c| !refdomains_row_col(c.col.id))
        .chain(&plan.having)
    {
        having.push_str(" AND ");
        having.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
    }
    let groups = format!(
        "SELECT p_domain AS c_refdomain, toInt64(count()) AS c_backlinks, toInt64(uniqExact(url_from)) AS c_refpages, \
         min(first_seen) AS c_first_seen, max(last_visited) AS c_last_visited, toInt64(max(d_rating)) AS c_domain_rating \
         FROM ({rows}) GROUP BY p_domain HAVING {having}"
    );
    let order: String = plan
        .order
        .iter()
        .map(|(c, desc)| order_term(&format!("c_{}", c.name), c.ty, *desc) + ", ")
        .collect();
    let page = format!(
        "{groups} ORDER BY {order}c_backlinks DESC, lower(c_refdomain), c_refdomain LIMIT {}, {}",
        plan.offset.min(i64::MAX as usize),
        plan.limit
    );
    let in_groups = format!("FROM ({rows}) WHERE p_domain IN (SELECT c_refdomain FROM ({groups}))");
    let stats = format!(
        "SELECT (SELECT toInt64(count()) FROM ({groups})) AS s_refdomains, \
         (SELECT toInt64(uniqExact(nullIf(p_ip, ''))) {in_groups}) AS s_ips, \
         (SELECT toInt64(uniqExact(nullIf(p_class_c, ''))) {in_groups}) AS s_class_c"
    );
    Some((page, stats))
}

/// `ahrefs_rank` / `pages_extended`: the crawled pages of the scope, every catalogue column
/// as `c_NAME`.
fn pages_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
    let expr = |c: Col| -> &'static str {
        match c {
            Col::Url => "url",
            Col::AhrefsRank => "ur",
            Col::FirstSeen => "first_visit",
            Col::LastVisited => "last_visit",
            Col::HttpCode => "last_status",
            Col::Size => "page_size",
            Col::LinksInternal => "links_internal",
            Col::LinksExternal => "links_external",
            Col::Encoding => "encoding",
            Col::Title => "title",
            _ => "language",
        }
    };
    let scope = scope_sql(&plan.scope);
    let cols = "url, first_visit, last_visit, last_status, page_size, links_internal, \
                links_external, encoding, title, language";
    let scan = format!(
        "SELECT {cols}, ver FROM {} FINAL WHERE {scope} AND isNotNull(last_visit)",
        ch.table_name("pages")
    );
    let q = format!(
        "SELECT {cols}, ur FROM (SELECT {cols} FROM ({scan})) ANY LEFT JOIN \
         (SELECT url, url_rating AS ur, ver AS ur_ver FROM {} FINAL WHERE url GLOBAL IN (SELECT url FROM ({scan}))) \
         USING url",
        ch.table_name("url_ratings")
    );
    let mut w = String::from("1");
    for c in plan.where_.iter().chain(&plan.having) {
        w.push_str(" AND ");
        w.push_str(&cond_sql(expr(c.col.id), c)?);
    }
    let select: Vec<String> = plan
        .table
        .columns()
        .iter()
        .map(|c| format!("{} AS c_{}", expr(c.id), c.name))
        .collect();
    let order: String = plan
        .order
        .iter()
        .map(|(c, desc)| order_term(expr(c.id), c.ty, *desc) + ", ")
        .collect();
    Some(format!(
        "SELECT {} FROM ({q}) WHERE {w} ORDER BY {order}ur DESC, lower(url), url LIMIT {}, {}",
        select.join(", "),
        plan.offset.min(i64::MAX as usize),
        plan.limit
    ))
}

/// `metrics` / `metrics_extended`: one row from two aggregates, the live backlinks of the
/// scope and its crawled pages, every column as `c_NAME`.
fn metrics_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
    let scope = scope_sql(&plan.scope);
    let links = ch.table_name("links");
    let scan = format!(
        "SELECT url_from, link_type, anchor, n, url_to, alt, nofollow, ver FROM {links} FINAL \
         WHERE live = 1 AND external = 1 AND {scope}"
    );
    let pages = ch.table_name("pages");
    let kind = |k: &str| {
        format!(
            "(length(splitByChar('.', p_domain)) >= 2 AND (arrayElement(splitByChar('.', p_domain), -1) = '{k}' \
             OR (length(splitByChar('.', p_domain)) >= 3 AND arrayElement(splitByChar('.', p_domain), -2) = '{k}')))"
        )
    };
    let bb = format!(
        "SELECT 1 AS one, toInt64(count()) AS c_backlinks, toInt64(uniqExact(url_from)) AS c_refpages, \
         toInt64(countIf(link_type = 0 AND alt = '')) AS c_text, toInt64(countIf(link_type = 0 AND alt <> '')) AS c_image, \
         toInt64(countIf(nofollow <> 0)) AS c_nofollow, toInt64(countIf(nofollow = 0)) AS c_dofollow, \
         toInt64(countIf(link_type = 1)) AS c_redirect, toInt64(countIf(link_type = 4)) AS c_canonical, \
         toInt64(countIf({gov})) AS c_gov, toInt64(countIf({edu})) AS c_edu, \
         toInt64(uniqExact(p_domain)) AS c_refdomains, toInt64(uniqExact(nullIf(p_class_c, ''))) AS c_refclass_c, \
         toInt64(uniqExact(nullIf(p_ip, ''))) AS c_refips \
         FROM (SELECT url_from, link_type, alt, nofollow FROM ({scan})) ANY LEFT JOIN \
         (SELECT url AS url_from, domain AS p_domain, ip AS p_ip, class_c AS p_class_c, ver AS p_ver FROM {pages} FINAL \
          WHERE url GLOBAL IN (SELECT url_from FROM ({scan}))) USING url_from",
        gov = kind("gov"),
        edu = kind("edu"),
    );
    let ok = "(last_status BETWEEN 200 AND 299)";
    let html = format!("({ok} AND encoding <> '')");
    let pp = format!(
        "SELECT 1 AS one, toInt64(count()) AS c_pages, toInt64(countIf({ok})) AS c_valid_pages, \
         toInt64(countIf({html})) AS c_html_pages, toInt64(sumIf(links_internal, {html})) AS c_links_internal, \
         toInt64(sumIf(links_external, {html})) AS c_links_external \
         FROM (SELECT last_status, encoding, links_internal, links_external, ver FROM {pages} FINAL \
         WHERE {scope} AND isNotNull(last_visit))"
    );
    let mut w = String::from("1");
    for c in &plan.having {
        w.push_str(" AND ");
        w.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
    }
    let all: Vec<String> = Table::MetricsExtended
        .columns()
        .iter()
        .map(|c| format!("c_{}", c.name))
        .collect();
    Some(format!(
        "SELECT {} FROM ({bb}) ANY LEFT JOIN ({pp}) USING one WHERE {w}",
        all.join(", ")
    ))
}

/// `refdomains_new_lost` and its counters: the days each referring domain was gained (its
/// live backlinks to the scope went from none to some) or lost (back to none), as columns
/// `c_date, c_type, c_refdomain, c_domain_rating` (18.16 has no window functions: each
/// domain's daily deltas are sorted and summed as arrays).
fn refdomain_transitions_sql(ch: &ChStore, plan: &Plan) -> String {
    let events = ch.table_name("events");
    let scope = scope_sql(&plan.scope);
    let day = "(time - ((time % 86400) + 86400) % 86400)";
    let scan = format!("SELECT url_from, kind, time, ver FROM {events} FINAL WHERE {scope}");
    let deltas = format!(
        "SELECT p_domain AS rd, ev_day, toInt64(sum(if(kind = 0, 1, -1))) AS delta FROM \
           (SELECT url_from, kind, {day} AS ev_day FROM ({scan})) ANY LEFT JOIN \
           (SELECT url AS url_from, domain AS p_domain, ver AS p_ver FROM {} FINAL \
            WHERE url GLOBAL IN (SELECT url_from FROM {events} WHERE {scope})) USING url_from \
         GROUP BY rd, ev_day",
        ch.table_name("pages")
    );
    let steps = format!(
        "SELECT rd, tupleElement(st, 1) AS ev_day, tupleElement(st, 2) AS delta, tupleElement(st, 3) AS after FROM \
           (SELECT rd, arrayJoin(arrayMap((pair, running) -> (tupleElement(pair, 1), tupleElement(pair, 2), running), \
              sorted, arrayCumSum(arrayMap(pair -> tupleElement(pair, 2), sorted)))) AS st FROM \
             (SELECT rd, arraySort(groupArray((ev_day, delta))) AS sorted FROM ({deltas}) GROUP BY rd)) \
         WHERE (after - delta = 0 AND after > 0) OR (after - delta > 0 AND after = 0)"
    );
    format!(
        "SELECT ev_day AS c_date, if(after > 0, 'new', 'lost') AS c_type, rd AS c_refdomain, \
         toInt64(d_rating) AS c_domain_rating FROM ({steps}) ANY LEFT JOIN \
         (SELECT name AS rd, domain_rating AS d_rating, ver AS d_ver FROM {} FINAL) USING rd",
        ch.table_name("domains")
    )
}

fn refdomains_new_lost_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
    let x = refdomain_transitions_sql(ch, plan);
    let limit = format!(
        "LIMIT {}, {}",
        plan.offset.min(i64::MAX as usize),
        plan.limit
    );
    let order: String = plan
        .order
        .iter()
        .map(|(c, desc)| order_term(&format!("c_{}", c.name), c.ty, *desc) + ", ")
        .collect();
    if plan.table == Table::RefdomainsNewLost {
        let mut w = String::from("1");
        for c in plan.where_.iter().chain(&plan.having) {
            w.push_str(" AND ");
            w.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
        }
        return Some(format!(
            "SELECT c_date, c_type, c_refdomain, c_domain_rating FROM ({x}) WHERE {w} \
             ORDER BY {order}c_date DESC, c_type DESC, lower(c_refdomain), c_refdomain {limit}"
        ));
    }
    // Counters: the `where` terms choose which transitions count as new/lost; the totals
    // count them all.
    let inner = |c: Col| match c {
        Col::Type => "x_type",
        Col::Refdomain => "x_refdomain",
        Col::DomainRating => "x_rating",
        _ => "c_date",
    };
    let mut pass = String::from("1");
    for c in &plan.where_ {
        pass.push_str(" AND ");
        pass.push_str(&cond_sql(inner(c.col.id), c)?);
    }
    let mut having = String::from("1");
    for c in &plan.having {
        having.push_str(" AND ");
        having.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
    }
    Some(format!(
        "SELECT c_date, '' AS c_type, '' AS c_refdomain, toInt64(0) AS c_domain_rating, \
         toInt64(countIf(x_type = 'new' AND {pass})) AS c_new, toInt64(countIf(x_type = 'lost' AND {pass})) AS c_lost, \
         toInt64(countIf(x_type = 'new')) AS c_new_total, toInt64(countIf(x_type = 'lost')) AS c_lost_total \
         FROM (SELECT c_date, c_type AS x_type, c_refdomain AS x_refdomain, c_domain_rating AS x_rating FROM ({x})) \
         GROUP BY c_date HAVING {having} ORDER BY {order}c_date DESC {limit}"
    ))
}

/// The `events` columns a counters filter may read, and the link record's through a join.
fn event_expr(c: Col) -> Option<(String, bool)> {
    let e = |x: &str| Some((x.to_string(), false));
    let l = |x: &str| Some((x.to_string(), true));
    match c {
        Col::Date => e("(time - ((time % 86400) + 86400) % 86400)"),
        Col::Type => e("if(kind = 0, 'new', 'lost')"),
        Col::UrlFrom => e("url_from"),
        Col::UrlTo => e("url_to"),
        Col::LinksInternal => e("links_internal"),
        Col::LinksExternal => e("links_external"),
        Col::HttpCode => e("http_code"),
        Col::Origin => e("multiIf(origin = 0, 'fresh', origin = 1, 'recrawl', 'drop')"),
        Col::Anchor => e("anchor"),
        Col::LinkType => Source::Links.expr(Col::LinkType).map(|x| (x, false)),
        Col::FirstSeen => l("first_seen"),
        Col::Original => l("original"),
        Col::Redirect => l("redirect"),
        Col::Nofollow => l("nofollow"),
        Col::Alt => l("alt"),
        Col::TextPre => l("text_pre"),
        Col::TextPost => l("text_post"),
        _ => None,
    }
}

/// `backlinks_new_lost_counters`: new and lost events per day (and target URL when it is
/// selected or filtered), every catalogue column as `c_NAME`.
fn counters_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
    let t = Table::Counters;
    let events = ch.table_name("events");
    let scope = scope_sql(&plan.scope);
    let mut pass = String::from("1");
    let mut with_link = false;
    for c in &plan.where_ {
        let (x, link) = event_expr(c.col.id)?;
        with_link |= link;
        pass.push_str(" AND ");
        pass.push_str(&cond_sql(&x, c)?);
    }
    let ev_cols = "tkey, url_to, time, url_from, link_type, anchor, n, kind, origin, http_code, links_internal, links_external";
    let scan = format!("SELECT {ev_cols}, ver FROM {events} FINAL WHERE {scope}");
    let from = if with_link {
        let link_cols = "first_seen, original, redirect, nofollow, alt, text_pre, text_post";
        format!(
            "(SELECT {ev_cols}, {link_cols} FROM (SELECT {ev_cols} FROM ({scan})) ANY LEFT JOIN \
             (SELECT url_to, url_from, link_type, anchor, n, {link_cols}, ver AS l_ver FROM {} FINAL WHERE {scope}) \
             USING (url_to, url_from, link_type, anchor, n))",
            ch.table_name("links")
        )
    } else {
        format!("({scan})")
    };
    let url = if plan.counters_by_url() {
        "url_to"
    } else {
        "''"
    };
    let cols: Vec<String> = t
        .columns()
        .iter()
        .map(|c| {
            let x = match c.id {
                Col::Date => event_expr(Col::Date).expect("date").0,
                Col::UrlTo => url.to_string(),
                Col::New => format!("toInt64(countIf(kind = 0 AND {pass}))"),
                Col::Lost => format!("toInt64(countIf(kind = 1 AND {pass}))"),
                Col::NewTotal => "toInt64(countIf(kind = 0))".into(),
                Col::LostTotal => "toInt64(countIf(kind = 1))".into(),
                _ => match c.ty {
                    ColType::Str => "''".into(),
                    ColType::Time => "CAST(NULL AS Nullable(Int64))".into(),
                    _ => "0".into(),
                },
            };
            format!("{x} AS c_{}", c.name)
        })
        .collect();
    let mut having = String::from("1");
    for c in &plan.having {
        having.push_str(" AND ");
        having.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
    }
    let order: String = plan
        .order
        .iter()
        .map(|(c, desc)| order_term(&format!("c_{}", c.name), c.ty, *desc) + ", ")
        .collect();
    Some(format!(
        "SELECT {} FROM {from} GROUP BY c_date, c_url_to HAVING {having} \
         ORDER BY {order}c_date DESC, lower(c_url_to), c_url_to DESC LIMIT {}, {}",
        cols.join(", "),
        plan.offset.min(i64::MAX as usize),
        plan.limit
    ))
}

/// A JSON cell as the column's value type.
fn cell(ty: ColType, v: Option<&serde_json::Value>) -> Value {
    let int = v.and_then(|v| v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)));
    match ty {
        ColType::Int => Value::Int(int.unwrap_or(0)),
        ColType::Bool => Value::Bool(int.unwrap_or(0) != 0),
        ColType::Time => Value::Time(int),
        ColType::Date => Value::Date(int.unwrap_or(0)),
        ColType::Str => Value::Str(v.and_then(|v| v.as_str()).unwrap_or("").to_string()),
    }
}

/// The compiled statements of `plan` (rows, then `stats` where the table has them), or
/// `None` when the plan needs the Rust executor.
pub fn compile(ch: &ChStore, plan: &Plan) -> Option<(String, Option<String>)> {
    if ch.is_worker() {
        return None;
    }
    match plan.table {
        Table::Anchors => anchors_sql(ch, plan).map(|(rows, stats)| (rows, Some(stats))),
        Table::Refdomains => refdomains_sql(ch, plan).map(|(rows, stats)| (rows, Some(stats))),
        Table::AhrefsRank | Table::PagesExtended => pages_sql(ch, plan).map(|s| (s, None)),
        Table::Metrics | Table::MetricsExtended => metrics_sql(ch, plan).map(|s| (s, None)),
        Table::RefdomainsNewLost | Table::RefdomainsCounters => {
            refdomains_new_lost_sql(ch, plan).map(|s| (s, None))
        }
        Table::Counters => counters_sql(ch, plan).map(|s| (s, None)),
        _ => None,
    }
}

/// Answer `plan` on ClickHouse with compiled statements; `None` when it is not compiled.
pub fn run(ch: &ChStore, plan: &Plan) -> Result<Option<QueryResult>> {
    let flat = match plan.table {
        Table::Backlinks | Table::BrokenBacklinks | Table::OnePerDomain => Some(Source::Links),
        Table::NewLost => Some(Source::Events),
        _ => None,
    };
    if let (Some(src), false) = (flat, ch.is_worker()) {
        return Ok(run_flat(ch, src, plan)?.map(|rows| QueryResult {
            table: plan.table,
            columns: plan.select.clone(),
            rows,
            stats: Vec::new(),
        }));
    }
    let Some((sql, stats_sql)) = compile(ch, plan) else {
        return Ok(None);
    };
    let grouped = plan.table.grouped();
    debug_sql(&sql);
    let rows = ch.select_objects(&sql)?;
    let rows = rows
        .into_iter()
        .map(|r| {
            plan.select
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let name = if grouped {
                        format!("c_{}", c.name)
                    } else {
                        format!("c{i}")
                    };
                    cell(c.ty, r.get(&name))
                })
                .collect()
        })
        .collect();
    let mut stats = Vec::new();
    if let Some(s) = stats_sql {
        let got = ch.select_objects(&s)?;
        let names: &[&'static str] = match plan.table {
            Table::Anchors => &["backlinks", "refpages"],
            Table::Refdomains => &["refdomains", "ips", "class_c"],
            _ => &[],
        };
        for name in names {
            let v = got
                .first()
                .and_then(|r| r.get(&format!("s_{name}")))
                .and_then(|v| v.as_u64().or_else(|| v.as_i64().map(|i| i.max(0) as u64)))
                .unwrap_or(0);
            stats.push((*name, v));
        }
    }
    Ok(Some(QueryResult {
        table: plan.table,
        columns: plan.select.clone(),
        rows,
        stats,
    }))
}
