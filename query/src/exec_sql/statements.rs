//! One statement builder per table: flat rows (`backlinks`, `backlinks_new_lost`, one per domain), counters, `anchors`/`refdomains` with their `stats`, `refdomains_new_lost`, metrics and the page tables.

use super::*;

/// The statement of a `backlinks` or `backlinks_new_lost` plan: one row per result, the
/// selected columns in order. With `order_by`, rows are sorted on their keys and sort columns
/// only, and the page returned is joined back for its columns (late materialisation).
pub(super) fn flat_stmt(plan: &Plan) -> Stmt {
    let t = plan.table;
    let filter_cols = plan
        .where_
        .iter()
        .chain(&plan.having)
        .map(|w| w.col.id)
        .chain(plan.order.iter().map(|o| o.0.id));
    let mut inner_joins = Joins::of(t, filter_cols.clone());
    let mut all_joins = Joins::of(t, filter_cols.chain(plan.select.iter().map(|c| c.id)));
    if t == Table::BrokenBacklinks {
        inner_joins.target_page = true;
        all_joins.target_page = true;
    }
    let keys: Vec<&str> = key_order(t).into_iter().filter(|k| !k.is_empty()).collect();
    let select: Vec<String> = plan.select.iter().map(|c| row_expr(t, c.id)).collect();
    let mut st = Stmt::default();
    let late = !plan.order.is_empty();
    if late {
        let mut inner: Vec<String> = row_key(t)
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} AS k{i}"))
            .collect();
        inner.extend(
            plan.order
                .iter()
                .enumerate()
                .map(|(i, (c, _))| format!("{} AS o{i}", row_expr(t, c.id))),
        );
        inner.extend(keys.iter().enumerate().map(|(i, k)| format!("{k} AS d{i}")));
        st.push(&format!(
            "SELECT {} FROM (SELECT {}",
            select.join(", "),
            inner.join(", ")
        ));
        st.push(&from_sql(t, inner_joins, plan.wide));
    } else {
        st.push(&format!("SELECT {}", select.join(", ")));
        st.push(&from_sql(t, all_joins, plan.wide));
    }
    st.push(" WHERE ");
    scope_sql(&mut st, &plan.scope);
    if t.backlink_rows() {
        st.push(" AND b.live = 1");
    }
    if t == Table::BrokenBacklinks {
        st.push(" AND tp.broken_since IS NOT NULL");
    }
    conds_sql(&mut st, plan.where_.iter().chain(&plan.having), |c| {
        row_expr(t, c.col.id)
    });
    if t == Table::OnePerDomain {
        one_per_domain_sql(&mut st, plan);
    }
    st.push(&format!(
        " ORDER BY {}{}",
        order_sql(plan, |c| row_expr(t, c.id)),
        keys.join(", ")
    ));
    limit_sql(&mut st, plan);
    if late {
        // Join back from the sorted keys: the row, its target, then what the columns read.
        let (name, a) = row_table(t);
        let on: Vec<String> = row_key(t)
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = k.k{i}"))
            .collect();
        st.push(&format!(
            ") k CROSS JOIN {name} {a} ON {} CROSS JOIN urls u ON u.id = {a}.target CROSS JOIN hosts h ON h.id = u.host_id",
            on.join(" AND ")
        ));
        st.push(&row_joins(t, all_joins));
        let outer_order: Vec<String> = plan
            .order
            .iter()
            .enumerate()
            .map(|(i, (c, desc))| {
                format!(
                    "k.o{i}{}{}",
                    if c.ty == ColType::Str {
                        " COLLATE NOCASE"
                    } else {
                        ""
                    },
                    if *desc { " DESC" } else { "" }
                )
            })
            .chain((0..keys.len()).map(|i| format!("k.d{i}")))
            .collect();
        st.push(&format!(" ORDER BY {}", outer_order.join(", ")));
    }
    st
}

/// Host-level scopes count from the `daily` table (O(hosts × days)) when nothing else is
/// asked of the events.
pub(super) fn counters_from_daily(plan: &Plan) -> bool {
    plan.where_.is_empty()
        && !plan.counters_by_url()
        && matches!(
            plan.scope,
            Target::Domain(_) | Target::Subdomains(_) | Target::Host(_)
        )
}

/// The statement of a `backlinks_new_lost_counters` plan. Columns: every catalogue column
/// under its alias (unused ones constant), so `having`/`order_by` name aliases.
pub(super) fn counters_stmt(plan: &Plan) -> Stmt {
    let t = Table::Counters;
    let by_url = plan.counters_by_url();
    let mut st = Stmt::default();
    let daily = counters_from_daily(plan);
    let url = if by_url {
        url_expr("u", "h")
    } else {
        "''".into()
    };
    let (date, new, lost, new_total, lost_total) = if daily {
        (
            "dl.day * 86400".to_string(),
            "sum(dl.new)".to_string(),
            "sum(dl.lost)".to_string(),
            "sum(dl.new)".to_string(),
            "sum(dl.lost)".to_string(),
        )
    } else {
        let mut w = Stmt::default();
        conds_sql(&mut w, &plan.where_, |c| row_expr(Table::NewLost, c.col.id));
        let pass = |kind: u8| format!("sum(CASE WHEN e.kind = {kind}{} THEN 1 ELSE 0 END)", w.sql);
        // The `where` parameters are bound twice (new, then lost), before the scope's.
        st.params.extend(w.params.iter().cloned());
        st.params.extend(w.params);
        (
            row_expr(Table::NewLost, Col::Date),
            pass(0),
            pass(1),
            "sum(e.kind = 0)".into(),
            "sum(e.kind = 1)".into(),
        )
    };
    let cols: Vec<String> = t
        .columns()
        .iter()
        .map(|c| {
            let x = match c.id {
                Col::Date => date.clone(),
                Col::UrlTo => url.clone(),
                Col::New => new.clone(),
                Col::Lost => lost.clone(),
                Col::NewTotal => new_total.clone(),
                Col::LostTotal => lost_total.clone(),
                _ => match c.ty {
                    ColType::Str => "''".into(),
                    ColType::Time => "NULL".into(),
                    _ => "0".into(),
                },
            };
            format!("{x} AS {}", alias(c))
        })
        .collect();
    // The parameters bound so far belong to this select list.
    st.push(&format!("SELECT {}", cols.join(", ")));
    if daily {
        st.push(" FROM hosts h CROSS JOIN daily dl ON dl.host = h.id WHERE ");
        scope_sql(&mut st, &plan.scope);
        st.push(" GROUP BY dl.day");
    } else {
        let cols = plan.where_.iter().map(|c| c.col.id);
        st.push(&from_sql(
            Table::NewLost,
            Joins::of(Table::NewLost, cols),
            plan.wide,
        ));
        st.push(" WHERE ");
        scope_sql(&mut st, &plan.scope);
        st.push(" GROUP BY c_date, c_url_to");
    }
    st.push(" HAVING 1");
    conds_sql(&mut st, &plan.having, |c| alias(c.col));
    st.push(&format!(
        " ORDER BY {}c_date DESC, c_url_to COLLATE NOCASE, c_url_to DESC",
        order_sql(plan, alias)
    ));
    limit_sql(&mut st, plan);
    st
}

/// Live backlinks in scope grouped by `group` (`SELECT select ... GROUP BY group HAVING ...`):
/// `where` terms on the columns `row_col` names filter backlinks, the other terms and `having`
/// filter groups. Shared by `anchors` and `refdomains`, rows and `stats`.
pub(super) fn backlink_groups(
    plan: &Plan,
    select: &str,
    group: &str,
    row_col: fn(Col) -> bool,
) -> Stmt {
    let t = plan.table;
    let mut st = Stmt::default();
    st.push(select);
    st.push(&from_sql(t, ANCHORS_JOINS, plan.wide));
    st.push(" WHERE ");
    scope_sql(&mut st, &plan.scope);
    st.push(" AND b.live = 1");
    conds_sql(
        &mut st,
        plan.where_.iter().filter(|c| row_col(c.col.id)),
        |c| row_expr(t, c.col.id),
    );
    st.push(&format!(" GROUP BY {group} HAVING 1"));
    conds_sql(
        &mut st,
        plan.where_
            .iter()
            .filter(|c| !row_col(c.col.id))
            .chain(&plan.having),
        |c| alias(c.col),
    );
    st
}

/// `anchors`: the grouping part shared by the rows and the `stats` statements.
pub(super) fn anchors_groups(plan: &Plan, select: &str) -> Stmt {
    backlink_groups(plan, select, "b.anchor", anchors_row_col)
}

/// `anchors` reads the referring host (refdomains) and page (last visit) of each backlink.
pub(super) const ANCHORS_JOINS: Joins = Joins {
    ref_host: true,
    link: false,
    target_page: false,
};

pub(super) fn anchors_select() -> String {
    let t = Table::Anchors;
    let cols: Vec<String> = t
        .columns()
        .iter()
        .map(|c| {
            let x = match c.id {
                Col::Anchor => "b.anchor".to_string(),
                Col::Backlinks => "count(*)".into(),
                Col::Refpages => "count(DISTINCT b.page)".into(),
                Col::Refdomain => "''".into(),
                Col::Refdomains => "count(DISTINCT ph.domain)".into(),
                Col::FirstSeen => "min(b.first_seen)".into(),
                Col::LastVisited => format!("max({})", last_visited()),
                _ => "0".into(),
            };
            format!("{x} AS {}", alias(c))
        })
        .collect();
    format!("SELECT {}", cols.join(", "))
}

pub(super) fn anchors_stmt(plan: &Plan) -> Stmt {
    let mut st = anchors_groups(plan, &anchors_select());
    st.push(&format!(
        " ORDER BY {}c_backlinks DESC, c_anchor COLLATE NOCASE, c_anchor",
        order_sql(plan, alias)
    ));
    limit_sql(&mut st, plan);
    st
}

/// `stats` of `anchors`: backlinks and distinct referring pages over every group that passes
/// the filters (not only the page returned). Without filters that is every backlink in scope.
pub(super) fn anchors_stats_stmt(plan: &Plan) -> Stmt {
    let t = Table::Anchors;
    let filtered = !plan.where_.is_empty() || !plan.having.is_empty();
    let mut st = Stmt::default();
    if filtered {
        let groups = anchors_groups(plan, &anchors_select());
        st.push(&format!(
            "WITH g AS ({}) SELECT (SELECT coalesce(sum(c_backlinks), 0) FROM g), (SELECT count(DISTINCT b.page){}",
            groups.sql,
            from_sql(t, ANCHORS_JOINS, plan.wide)
        ));
        st.params = groups.params;
    } else {
        st.push("SELECT count(*), count(DISTINCT b.page)");
        st.push(&scope_rows_sql("backlinks", "b", plan.wide));
    }
    st.push(" WHERE ");
    scope_sql(&mut st, &plan.scope);
    st.push(" AND b.live = 1");
    if filtered {
        conds_sql(
            &mut st,
            plan.where_.iter().filter(|c| anchors_row_col(c.col.id)),
            |c| row_expr(t, c.col.id),
        );
        st.push(" AND b.anchor IN (SELECT c_anchor FROM g))");
    }
    st
}

/// `refdomains`: the grouping part shared by the rows and the `stats` statements.
pub(super) fn refdomains_groups(plan: &Plan) -> Stmt {
    let t = Table::Refdomains;
    let cols: Vec<String> = t
        .columns()
        .iter()
        .map(|c| {
            let x = match c.id {
                Col::Refdomain => "ph.domain".to_string(),
                Col::Backlinks => "count(*)".into(),
                Col::Refpages => "count(DISTINCT b.page)".into(),
                Col::FirstSeen => "min(b.first_seen)".into(),
                Col::LastVisited => format!("max({})", last_visited()),
                Col::DomainRating => "max(ph.domain_rating)".into(),
                _ => "0".into(),
            };
            format!("{x} AS {}", alias(c))
        })
        .collect();
    backlink_groups(
        plan,
        &format!("SELECT {}", cols.join(", ")),
        "ph.domain",
        refdomains_row_col,
    )
}

pub(super) fn refdomains_stmt(plan: &Plan) -> Stmt {
    let mut st = refdomains_groups(plan);
    st.push(&format!(
        " ORDER BY {}c_backlinks DESC, c_refdomain COLLATE NOCASE, c_refdomain",
        order_sql(plan, alias)
    ));
    limit_sql(&mut st, plan);
    st
}

/// `stats` of `refdomains`: referring domains, distinct referring-page IPs and their class C
/// networks over every group that passes the filters.
pub(super) fn refdomains_stats_stmt(plan: &Plan) -> Stmt {
    let t = Table::Refdomains;
    let mut st = Stmt::default();
    if plan.where_.is_empty() && plan.having.is_empty() {
        // Every group passes: one pass over the scope's live backlinks, no grouping first.
        st.push(&format!(
            "SELECT count(DISTINCT ph.domain), count(DISTINCT nullif(p.ip, '')), count(DISTINCT ld_class_c(p.ip)){} WHERE ",
            from_sql(t, ANCHORS_JOINS, plan.wide)
        ));
        scope_sql(&mut st, &plan.scope);
        st.push(" AND b.live = 1");
        return st;
    }
    let groups = refdomains_groups(plan);
    st.push(&format!(
        "WITH g AS ({}) SELECT (SELECT count(*) FROM g), count(DISTINCT nullif(p.ip, '')), count(DISTINCT ld_class_c(p.ip)){}",
        groups.sql,
        from_sql(t, ANCHORS_JOINS, plan.wide)
    ));
    st.params = groups.params;
    st.push(" WHERE ");
    scope_sql(&mut st, &plan.scope);
    st.push(" AND b.live = 1");
    conds_sql(
        &mut st,
        plan.where_.iter().filter(|c| refdomains_row_col(c.col.id)),
        |c| row_expr(t, c.col.id),
    );
    st.push(" AND ph.domain IN (SELECT c_refdomain FROM g)");
    st
}

/// `backlinks_one_per_domain`: keep only each referring domain's strongest backlink among
/// those passing the filters: highest `ahrefs_rank` of the referring page, then dofollow, then
/// key order.
pub(super) fn one_per_domain_sql(st: &mut Stmt, plan: &Plan) {
    let t = Table::OnePerDomain;
    let keys = row_key(t);
    let order: Vec<&str> = key_order(t).into_iter().filter(|k| !k.is_empty()).collect();
    st.push(&format!(
        " AND ({}) IN (SELECT {} FROM (SELECT {}, row_number() OVER (PARTITION BY ph.domain ORDER BY coalesce(p.url_rating, 0) DESC, coalesce(b.nofollow, 0), {}) AS rn",
        keys.join(", "),
        (0..keys.len()).map(|i| format!("w{i}")).collect::<Vec<_>>().join(", "),
        keys.iter().enumerate().map(|(i, k)| format!("{k} AS w{i}")).collect::<Vec<_>>().join(", "),
        order.join(", ")
    ));
    let cols = plan.where_.iter().chain(&plan.having).map(|c| c.col.id);
    let joins = Joins {
        ref_host: true,
        ..Joins::of(t, cols)
    };
    st.push(&from_sql(t, joins, plan.wide));
    st.push(" WHERE ");
    scope_sql(st, &plan.scope);
    st.push(" AND b.live = 1");
    conds_sql(st, plan.where_.iter().chain(&plan.having), |c| {
        row_expr(t, c.col.id)
    });
    st.push(") WHERE rn = 1)");
}

/// `refdomains_new_lost`: the days each referring domain was gained or lost, as columns
/// `c_date, c_type, c_refdomain, c_domain_rating` of a CTE `x` (see the Rust executor's
/// `refdomain_transitions` for the rule).
/// `group` is `ph.domain` (registrable domains) or `ph.host` (referring hosts).
pub(super) fn refdomain_transitions_sql(st: &mut Stmt, scope: &Target, group: &str, wide: bool) {
    st.push(&format!(
        "WITH d AS (SELECT {group} AS rd, {day} AS day, sum(CASE e.kind WHEN 0 THEN 1 ELSE -1 END) AS delta{from} WHERE ",
        day = row_expr(Table::NewLost, Col::Date),
        from = from_sql(Table::NewLost, Joins { ref_host: true, ..Joins::default() }, wide),
    ));
    scope_sql(st, scope);
    st.push(
        " GROUP BY rd, day), \
         r AS (SELECT rd, day, delta, sum(delta) OVER (PARTITION BY rd ORDER BY day ROWS UNBOUNDED PRECEDING) AS after FROM d), \
         x AS (SELECT day AS c_date, (CASE WHEN after > 0 THEN 'new' ELSE 'lost' END) AS c_type, rd AS c_refdomain, \
               coalesce((SELECT domain_rating FROM domains WHERE name = rd), 0) AS c_domain_rating \
               FROM r WHERE (after - delta = 0 AND after > 0) OR (after - delta > 0 AND after = 0)) ",
    );
}

pub(super) fn refdomains_new_lost_stmt(plan: &Plan) -> Stmt {
    let t = plan.table;
    let mut st = Stmt::default();
    refdomain_transitions_sql(&mut st, &plan.scope, "ph.domain", plan.wide);
    let rows_alias = |c: &Column| alias(c);
    if t == Table::RefdomainsNewLost {
        st.push("SELECT c_date, c_type, c_refdomain, c_domain_rating FROM x WHERE 1");
        conds_sql(&mut st, plan.where_.iter().chain(&plan.having), |c| {
            rows_alias(c.col)
        });
        st.push(&format!(
            " ORDER BY {}c_date DESC, c_type DESC, c_refdomain COLLATE NOCASE, c_refdomain",
            order_sql(plan, alias)
        ));
    } else {
        // Rows hold every column in catalogue order; the `where` columns are blank.
        let mut pass = Stmt::default();
        pass.push("1");
        conds_sql(&mut pass, &plan.where_, |c| rows_alias(c.col));
        st.push(&format!(
            "SELECT c_date, '', '', 0, sum(c_type = 'new' AND ({w})) AS c_new, sum(c_type = 'lost' AND ({w})) AS c_lost, \
             sum(c_type = 'new') AS c_new_total, sum(c_type = 'lost') AS c_lost_total FROM x GROUP BY c_date HAVING 1",
            w = pass.sql
        ));
        // The filter appears twice in the text: its parameters twice, in order.
        let params = pass.params.clone();
        st.params.extend(params.iter().cloned());
        st.params.extend(params);
        conds_sql(&mut st, &plan.having, |c| rows_alias(c.col));
        st.push(&format!(" ORDER BY {}c_date DESC", order_sql(plan, alias)));
    }
    limit_sql(&mut st, plan);
    st
}

/// `metrics` / `metrics_extended`: one row from two aggregates, the live backlinks of the
/// scope (`bb`) and its crawled pages (`pp`).
pub(super) fn metrics_stmt(plan: &Plan) -> Stmt {
    let t = plan.table;
    let ok = "pg.last_status BETWEEN 200 AND 299";
    let html = format!("({ok} AND pg.encoding <> '')");
    let backlink_cols = [
        (Col::Backlinks, "count(*)".to_string()),
        (Col::Refpages, "count(DISTINCT b.page)".into()),
        (
            Col::Text,
            "coalesce(sum(b.link_type = 0 AND coalesce(b.alt, '') = ''), 0)".into(),
        ),
        (
            Col::Image,
            "coalesce(sum(b.link_type = 0 AND coalesce(b.alt, '') <> ''), 0)".into(),
        ),
        (Col::Nofollow, "coalesce(sum(b.nofollow <> 0), 0)".into()),
        (Col::Dofollow, "coalesce(sum(b.nofollow = 0), 0)".into()),
        (Col::Redirect, "coalesce(sum(b.link_type = 1), 0)".into()),
        (Col::Canonical, "coalesce(sum(b.link_type = 4), 0)".into()),
        (
            Col::Gov,
            "coalesce(sum(ld_domain_kind(ph.domain, 'gov')), 0)".into(),
        ),
        (
            Col::Edu,
            "coalesce(sum(ld_domain_kind(ph.domain, 'edu')), 0)".into(),
        ),
        (Col::Refdomains, "count(DISTINCT ph.domain)".into()),
        (Col::RefclassC, "count(DISTINCT ld_class_c(p.ip))".into()),
        (Col::Refips, "count(DISTINCT nullif(p.ip, ''))".into()),
    ];
    let page_cols = [
        (Col::Pages, "count(*)".to_string()),
        (Col::ValidPages, format!("coalesce(sum({ok}), 0)")),
        (Col::HtmlPages, format!("coalesce(sum({html}), 0)")),
        (
            Col::LinksInternal,
            format!("coalesce(sum(CASE WHEN {html} THEN pg.links_internal ELSE 0 END), 0)"),
        ),
        (
            Col::LinksExternal,
            format!("coalesce(sum(CASE WHEN {html} THEN pg.links_external ELSE 0 END), 0)"),
        ),
    ];
    let part = |cols: &[(Col, String)]| -> String {
        cols.iter()
            .map(|(c, x)| format!("{x} AS c_{}", col_name(*c)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let outer: Vec<String> = t.columns().iter().map(alias).collect();
    let mut st = Stmt::default();
    st.push(&format!(
        "SELECT {} FROM (SELECT {}{} WHERE ",
        outer.join(", "),
        part(&backlink_cols),
        from_sql(Table::Refdomains, ANCHORS_JOINS, plan.wide)
    ));
    scope_sql(&mut st, &plan.scope);
    st.push(&format!(
        " AND b.live = 1) bb, (SELECT {} FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN pages pg ON pg.id = u.id WHERE ",
        part(&page_cols)
    ));
    scope_sql(&mut st, &plan.scope);
    st.push(" AND pg.last_visit IS NOT NULL) pp WHERE 1");
    conds_sql(&mut st, &plan.having, |c| alias(c.col));
    st
}

/// `ahrefs_rank` / `pages_extended`: the crawled pages of the scope.
pub(super) fn pages_stmt(plan: &Plan) -> Stmt {
    let t = plan.table;
    let expr = |c: Col| -> String {
        match c {
            Col::Url => "pg.url",
            Col::AhrefsRank => "coalesce(pg.url_rating, 0)",
            Col::FirstSeen => "pg.first_visit",
            Col::LastVisited => "pg.last_visit",
            Col::HttpCode => "pg.last_status",
            Col::Size => "pg.page_size",
            Col::LinksInternal => "pg.links_internal",
            Col::LinksExternal => "pg.links_external",
            Col::Encoding => "pg.encoding",
            Col::Title => "pg.title",
            _ => "pg.language",
        }
        .to_string()
    };
    let cols: Vec<String> = t.columns().iter().map(|c| expr(c.id)).collect();
    let mut st = Stmt::default();
    st.push(&format!(
        "SELECT {} FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN pages pg ON pg.id = u.id WHERE ",
        cols.join(", ")
    ));
    scope_sql(&mut st, &plan.scope);
    st.push(" AND pg.last_visit IS NOT NULL");
    conds_sql(&mut st, plan.where_.iter().chain(&plan.having), |c| {
        expr(c.col.id)
    });
    st.push(&format!(
        " ORDER BY {}coalesce(pg.url_rating, 0) DESC, pg.url COLLATE NOCASE, pg.url",
        order_sql(plan, |c| expr(c.id))
    ));
    limit_sql(&mut st, plan);
    st
}

/// The API name of a metrics column.
pub(super) fn col_name(c: Col) -> &'static str {
    Table::MetricsExtended
        .columns()
        .iter()
        .find(|x| x.id == c)
        .map_or("unknown", |x| x.name)
}
