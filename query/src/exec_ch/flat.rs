//! The flat tables (rows of links or events) in two statements: the keys of the page of rows
//! in order, then those rows with every selected column, read by key literals.

use super::{cell, cond_sql, limit_sql, literal, order_term};
use crate::catalogue::{Col, Table};
use crate::debug_sql;
use crate::error::Result;
use crate::filter::Cond;
use crate::plan::Plan;
use crate::value::Value;
use linkdiff_store::clickhouse::{scope_sql, ChStore};

/// The rows a flat table reads: link records (`backlinks`) or events (`backlinks_new_lost`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Source {
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
    pub(super) fn expr(self, c: Col) -> Option<String> {
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
                Col::Rendered => s("l_rendered"),
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
            Col::Rendered => s("rendered"),
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
                Col::Rendered => Some(&["rendered"][..]),
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
            | Col::Rendered
            | Col::Alt
            | Col::TextPre
            | Col::TextPost => self.link = true,
            _ => self.page = true,
        }
    }
}

/// Join `right` (a subquery naming `key` and `cols`) to the statement `left` whose columns
/// are `have`, one `ANY LEFT JOIN` level.
fn join(left: String, have: &mut Vec<String>, right: String, key: &str, cols: &[&str]) -> String {
    have.extend(cols.iter().map(|c| c.to_string()));
    format!(
        "SELECT {} FROM ({left}) AS jl ANY LEFT JOIN ({right}) AS jr USING {key}",
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

/// `col AS p_col, …` for the joined names `cols` (each a two-letter prefix and the table's
/// column name).
fn prefixed(cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("{} AS {c}", &c[2..]))
        .collect::<Vec<_>>()
        .join(", ")
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
            prefixed(&cols),
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
            "l_rendered",
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
            prefixed(&cols),
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
    let limit = limit_sql(plan);
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
pub(super) fn run_flat(ch: &ChStore, src: Source, plan: &Plan) -> Result<Option<Vec<Vec<Value>>>> {
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
