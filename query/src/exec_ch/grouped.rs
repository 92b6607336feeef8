//! The grouped and aggregate tables: `anchors`, `refdomains` (with `stats`), the counters,
//! `refdomains_new_lost`, `metrics` and the page tables, each one statement.

use super::flat::Source;
use super::{alias_conds, alias_order, cond_sql, limit_sql, order_term};
use crate::catalogue::{Col, ColType, Table};
use crate::filter::Cond;
use crate::plan::Plan;
use linkdiff_model::Target;
use linkdiff_store::clickhouse::{scope_sql, ChStore};

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
        "SELECT {cols} FROM (SELECT url_from, anchor, first_seen, streak_start FROM ({scan})) AS jl \
         ANY LEFT JOIN ({right}) AS jr USING url_from"
    );
    if ratings {
        base = format!(
            "SELECT {cols}, d_rating FROM ({base}) AS jl ANY LEFT JOIN (SELECT name AS p_domain, \
             domain_rating AS d_rating, ver AS d_ver FROM {} FINAL) AS jr USING p_domain",
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

/// Live backlinks of the scope grouped: the rows statement under `row_col`'s filters, the
/// `HAVING` of the other `where` terms and `having`, and the `order_by` terms.
struct Groups {
    rows: String,
    having: String,
    order: String,
}

fn backlink_groups(
    ch: &ChStore,
    plan: &Plan,
    row_col: fn(Col) -> bool,
    ratings: bool,
) -> Option<Groups> {
    let row_conds: Vec<&Cond> = plan.where_.iter().filter(|c| row_col(c.col.id)).collect();
    let group_conds = plan.where_.iter().filter(|c| !row_col(c.col.id));
    Some(Groups {
        rows: grouped_rows(ch, plan, &row_conds, ratings)?,
        having: alias_conds(group_conds.chain(&plan.having))?,
        order: alias_order(plan),
    })
}

/// `anchors`: the rows statement (every catalogue column as `c_NAME`) and the `stats`
/// statement (`s_backlinks`, `s_refpages` over every group passing the filters).
pub(super) fn anchors_sql(ch: &ChStore, plan: &Plan) -> Option<(String, String)> {
    let Groups {
        rows,
        having,
        order,
    } = backlink_groups(ch, plan, crate::exec_rust::anchors_row_col, false)?;
    let groups = format!(
        "SELECT anchor AS c_anchor, toInt64(count()) AS c_backlinks, toInt64(uniqExact(url_from)) AS c_refpages, \
         '' AS c_refdomain, toInt64(uniqExact(p_domain)) AS c_refdomains, min(first_seen) AS c_first_seen, \
         max(last_visited) AS c_last_visited FROM ({rows}) GROUP BY anchor HAVING {having}"
    );
    let page = format!(
        "{groups} ORDER BY {order}c_backlinks DESC, lower(c_anchor), c_anchor {}",
        limit_sql(plan)
    );
    let stats = format!(
        "SELECT (SELECT toInt64(sum(c_backlinks)) FROM ({groups})) AS s_backlinks, \
         (SELECT toInt64(uniqExact(url_from)) FROM ({rows}) WHERE anchor IN (SELECT c_anchor FROM ({groups}))) AS s_refpages"
    );
    Some((page, stats))
}

/// `refdomains`: the rows statement (every catalogue column as `c_NAME`) and the `stats`
/// statement (`s_refdomains`, `s_ips`, `s_class_c` over every group passing the filters).
pub(super) fn refdomains_sql(ch: &ChStore, plan: &Plan) -> Option<(String, String)> {
    let Groups {
        rows,
        having,
        order,
    } = backlink_groups(ch, plan, crate::exec_rust::refdomains_row_col, true)?;
    let groups = format!(
        "SELECT p_domain AS c_refdomain, toInt64(count()) AS c_backlinks, toInt64(uniqExact(url_from)) AS c_refpages, \
         min(first_seen) AS c_first_seen, max(last_visited) AS c_last_visited, toInt64(max(d_rating)) AS c_domain_rating \
         FROM ({rows}) GROUP BY p_domain HAVING {having}"
    );
    let page = format!(
        "{groups} ORDER BY {order}c_backlinks DESC, lower(c_refdomain), c_refdomain {}",
        limit_sql(plan)
    );
    let in_groups = format!("FROM ({rows}) WHERE p_domain IN (SELECT c_refdomain FROM ({groups}))");
    // `uniqExact` of a Nullable over no rows is NULL on 18.16 and 0 on current releases:
    // `ifNull` makes both answer SQLite's 0.
    let stats = format!(
        "SELECT (SELECT toInt64(count()) FROM ({groups})) AS s_refdomains, \
         (SELECT toInt64(ifNull(uniqExact(nullIf(p_ip, '')), 0)) {in_groups}) AS s_ips, \
         (SELECT toInt64(ifNull(uniqExact(nullIf(p_class_c, '')), 0)) {in_groups}) AS s_class_c"
    );
    Some((page, stats))
}

/// `ahrefs_rank` / `pages_extended`: the crawled pages of the scope, every catalogue column
/// as `c_NAME`.
pub(super) fn pages_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
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
        "SELECT {cols}, ur FROM (SELECT {cols} FROM ({scan})) AS jl ANY LEFT JOIN \
         (SELECT url, url_rating AS ur, ver AS ur_ver FROM {} FINAL WHERE url GLOBAL IN (SELECT url FROM ({scan}))) AS jr \
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
        "SELECT {} FROM ({q}) WHERE {w} ORDER BY {order}ur DESC, lower(url), url {}",
        select.join(", "),
        limit_sql(plan)
    ))
}

/// `metrics` / `metrics_extended`: one row from two aggregates, the live backlinks of the
/// scope and its crawled pages, every column as `c_NAME`.
pub(super) fn metrics_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
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
    // `ifNull` around the Nullable `uniqExact`s: 0, not NULL, over no rows on every release.
    let bb = format!(
        "SELECT 1 AS one, toInt64(count()) AS c_backlinks, toInt64(uniqExact(url_from)) AS c_refpages, \
         toInt64(countIf(link_type = 0 AND alt = '')) AS c_text, toInt64(countIf(link_type = 0 AND alt <> '')) AS c_image, \
         toInt64(countIf(nofollow <> 0)) AS c_nofollow, toInt64(countIf(nofollow = 0)) AS c_dofollow, \
         toInt64(countIf(link_type = 1)) AS c_redirect, toInt64(countIf(link_type = 4)) AS c_canonical, \
         toInt64(countIf({gov})) AS c_gov, toInt64(countIf({edu})) AS c_edu, \
         toInt64(uniqExact(p_domain)) AS c_refdomains, toInt64(ifNull(uniqExact(nullIf(p_class_c, '')), 0)) AS c_refclass_c, \
         toInt64(ifNull(uniqExact(nullIf(p_ip, '')), 0)) AS c_refips \
         FROM (SELECT url_from, link_type, alt, nofollow FROM ({scan})) AS jl ANY LEFT JOIN \
         (SELECT url AS url_from, domain AS p_domain, ip AS p_ip, class_c AS p_class_c, ver AS p_ver FROM {pages} FINAL \
          WHERE url GLOBAL IN (SELECT url_from FROM ({scan}))) AS jr USING url_from",
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
    let w = alias_conds(&plan.having)?;
    let all: Vec<String> = Table::MetricsExtended
        .columns()
        .iter()
        .map(|c| format!("c_{}", c.name))
        .collect();
    Some(format!(
        "SELECT {} FROM ({bb}) AS jl ANY LEFT JOIN ({pp}) AS jr USING one WHERE {w}",
        all.join(", ")
    ))
}

/// `refdomains_new_lost` and its counters: the days each referring domain was gained (its
/// live backlinks to the scope went from none to some) or lost (back to none), as columns
/// `c_date, c_type, c_refdomain, c_domain_rating` (18.16 has no window functions: each
/// domain's daily deltas are sorted and summed as arrays).
/// `group` is the pages column the transitions are counted by: `domain` (registrable
/// domains) or `host` (referring hosts).
pub(super) fn refdomain_transitions_sql(ch: &ChStore, scope: &Target, group: &str) -> String {
    let events = ch.table_name("events");
    let scope = scope_sql(scope);
    let day = "(time - ((time % 86400) + 86400) % 86400)";
    let scan = format!("SELECT url_from, kind, time, ver FROM {events} FINAL WHERE {scope}");
    let deltas = format!(
        "SELECT p_domain AS rd, ev_day, toInt64(sum(if(kind = 0, 1, -1))) AS delta FROM \
           (SELECT url_from, kind, {day} AS ev_day FROM ({scan})) AS jl ANY LEFT JOIN \
           (SELECT url AS url_from, {group} AS p_domain, ver AS p_ver FROM {} FINAL \
            WHERE url GLOBAL IN (SELECT url_from FROM {events} WHERE {scope})) AS jr USING url_from \
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
         toInt64(d_rating) AS c_domain_rating FROM ({steps}) AS jl ANY LEFT JOIN \
         (SELECT name AS rd, domain_rating AS d_rating, ver AS d_ver FROM {} FINAL) AS jr USING rd",
        ch.table_name("domains")
    )
}

pub(super) fn refdomains_new_lost_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
    let x = refdomain_transitions_sql(ch, &plan.scope, "domain");
    let (limit, order) = (limit_sql(plan), alias_order(plan));
    if plan.table == Table::RefdomainsNewLost {
        let w = alias_conds(plan.where_.iter().chain(&plan.having))?;
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
    let having = alias_conds(&plan.having)?;
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
pub(super) fn counters_sql(ch: &ChStore, plan: &Plan) -> Option<String> {
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
            "(SELECT {ev_cols}, {link_cols} FROM (SELECT {ev_cols} FROM ({scan})) AS jl ANY LEFT JOIN \
             (SELECT url_to, url_from, link_type, anchor, n, {link_cols}, ver AS l_ver FROM {} FINAL WHERE {scope}) AS jr \
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
    let (having, order) = (alias_conds(&plan.having)?, alias_order(plan));
    Some(format!(
        "SELECT {} FROM {from} GROUP BY c_date, c_url_to HAVING {having} \
         ORDER BY {order}c_date DESC, lower(c_url_to), c_url_to DESC {}",
        cols.join(", "),
        limit_sql(plan)
    ))
}
