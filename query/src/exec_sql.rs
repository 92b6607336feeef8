//! The SQL executor: compiles a plan into one SQL statement with bound parameters (values
//! are never spliced into SQL text) and runs it on a read snapshot of the SQLite store.
//! Filtering, grouping, `having`, ordering, counters, anchors and `stats` run in SQLite.

use crate::catalogue::{Col, ColType, Column, Table};
use crate::changes::{Changes, ReferringChanges};
use crate::error::Result;
use crate::exec_rust::{anchors_row_col, refdomains_row_col};
use crate::filter::{Cond, Func, Lit, Op, Test};
use crate::plan::Plan;
use crate::value::Value;
use crate::QueryResult;
use linkdiff_model::Target;
use linkdiff_store::rusqlite::types::{Value as Sql, ValueRef};
use linkdiff_store::rusqlite::{params_from_iter, Connection};
use linkdiff_store::sql::schema::url_expr;
use linkdiff_store::sql::urls::scope_condition;
use linkdiff_store::sql::SqlStore;

/// A SQL statement under construction: text and its parameters in order.
#[derive(Debug, Default, Clone)]
pub struct Stmt {
    /// SQL text with `?` placeholders.
    pub sql: String,
    /// Bound values, in placeholder order.
    pub params: Vec<Sql>,
}

impl Stmt {
    fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }
    fn bind(&mut self, v: Sql) {
        self.sql.push('?');
        self.params.push(v);
    }
}

const LINK_TYPE_NAME: &str = "CASE {} WHEN 0 THEN 'href' WHEN 1 THEN 'redirect' WHEN 2 THEN 'frame' WHEN 3 THEN 'form' WHEN 4 THEN 'canonical' WHEN 5 THEN 'rss' ELSE 'alternate' END";

fn link_type(x: &str) -> String {
    format!("({})", LINK_TYPE_NAME.replace("{}", x))
}

/// Visit dates of link record `b` on page `p` (see `LinkRecord::visits`): a live link was on
/// every successful visit since `streak_start`; a dead one keeps its frozen dates.
fn last_visited() -> &'static str {
    "(CASE WHEN coalesce(b.live, 0) = 1 THEN coalesce(p.last_ok_visit, b.streak_start) ELSE coalesce(b.last_seen, 0) END)"
}

fn prev_visited() -> &'static str {
    "(CASE WHEN coalesce(b.live, 0) = 1 THEN (CASE WHEN b.streak_start < coalesce(p.last_ok_visit, b.streak_start) THEN (CASE WHEN p.prev_ok_visit IS NULL THEN NULL ELSE max(p.prev_ok_visit, b.streak_start) END) ELSE b.before_streak END) ELSE b.prev_seen END)"
}

/// The SQL expression of a column of the row tables. Aliases: `h`/`u` target host and URL,
/// `p` the referring page (every referring page has a row), `ph` its host (with the domain's
/// rating copied in), `b` the link, `e` the event, `tp` the target's page.
fn row_expr(table: Table, col: Col) -> String {
    let events = !(table.backlink_rows() || matches!(table, Table::Anchors | Table::Refdomains));
    let s = |x: &str| x.to_string();
    match col {
        Col::UrlFrom => s("p.url"),
        Col::UrlTo => url_expr("u", "h"),
        Col::AhrefsRank => s("coalesce(p.url_rating, 0)"),
        Col::DomainRating => s("ph.domain_rating"),
        Col::AhrefsTop => s("ph.ahrefs_top"),
        Col::IpFrom => s("coalesce(p.ip, '')"),
        Col::LinksInternal if events => s("e.links_internal"),
        Col::LinksExternal if events => s("e.links_external"),
        Col::LinksInternal => s("coalesce(p.links_internal, 0)"),
        Col::LinksExternal => s("coalesce(p.links_external, 0)"),
        Col::PageSize => s("coalesce(p.page_size, 0)"),
        Col::Encoding => s("coalesce(p.encoding, '')"),
        Col::Language => s("coalesce(p.language, '')"),
        Col::Title => s("coalesce(p.title, '')"),
        Col::FirstSeen => s("coalesce(b.first_seen, 0)"),
        Col::LastVisited => s(last_visited()),
        Col::PrevVisited => s(prev_visited()),
        Col::Original => s("coalesce(b.original, 0)"),
        Col::LinkType if events => link_type("e.link_type"),
        Col::LinkType => link_type("b.link_type"),
        Col::Redirect => s("coalesce(b.redirect, 0)"),
        Col::Nofollow => s("coalesce(b.nofollow, 0)"),
        Col::Alt => s("coalesce(b.alt, '')"),
        Col::Anchor if events => s("e.anchor"),
        Col::Anchor => s("b.anchor"),
        Col::TextPre => s("coalesce(b.text_pre, '')"),
        Col::TextPost => s("coalesce(b.text_post, '')"),
        Col::HttpCode if events => s("e.http_code"),
        Col::HttpCode => s("coalesce(tp.last_status, 0)"),
        Col::BrokenAt => s("tp.broken_since"),
        // `LostReason` codes (linkdiff-store) by name; '' for new events.
        Col::Recovered => s("coalesce(e.recovered, 0)"),
        Col::Reason => s("(CASE e.reason WHEN 0 THEN 'removedfromhtml' WHEN 1 THEN 'notfound' WHEN 2 THEN 'pageredirected' WHEN 3 THEN 'pageerror' WHEN 4 THEN 'noindex' WHEN 5 THEN 'notcanonical' WHEN 6 THEN 'robotsblocked' WHEN 7 THEN 'lostredirect' ELSE '' END)"),
        // Pages of the referring domain with a live link to this target, against the domain's
        // visited pages (see `SITEWIDE_MIN_PAGES`).
        Col::Sitewide => s(&format!(
            "(2 * (SELECT count(DISTINCT b2.page) FROM backlinks b2 CROSS JOIN pages p2 ON p2.id = b2.page
                   CROSS JOIN hosts h2 ON h2.id = p2.host_id
                   WHERE b2.target = b.target AND b2.live = 1 AND h2.domain = ph.domain)
              > max((SELECT count(*) FROM hosts hd CROSS JOIN urls ud ON ud.host_id = hd.id
                     CROSS JOIN pages pd ON pd.id = ud.id
                     WHERE hd.domain = ph.domain AND pd.last_ok_visit IS NOT NULL AND pd.dropped = 0),
                    {}))",
            2 * crate::catalogue::SITEWIDE_MIN_PAGES - 1
        )),
        Col::UrlFromFirstSeen => s("p.first_ok_visit"),
        Col::Date => s("(e.time - ((e.time % 86400) + 86400) % 86400)"),
        Col::Type => s("(CASE e.kind WHEN 0 THEN 'new' ELSE 'lost' END)"),
        Col::Origin => {
            s("(CASE e.origin WHEN 0 THEN 'fresh' WHEN 1 THEN 'recrawl' ELSE 'drop' END)")
        }
        Col::Refdomain => s("ph.domain"),
        Col::New | Col::Lost | Col::NewTotal | Col::LostTotal => s("0"),
        Col::Backlinks | Col::Refpages | Col::Refdomains => s("1"),
        // Only in `metrics`, which has its own statement.
        Col::Pages
        | Col::ValidPages
        | Col::HtmlPages
        | Col::Text
        | Col::Image
        | Col::Dofollow
        | Col::Canonical
        | Col::Gov
        | Col::Edu
        | Col::RefclassC
        | Col::Refips
        | Col::Url
        | Col::Size => s("0"),
    }
}

/// Output alias of a column in grouped statements.
fn alias(c: &Column) -> String {
    format!("c_{}", c.name)
}

/// Append `x <cond>` for one filter term.
fn cond_sql(st: &mut Stmt, x: &str, c: &Cond) {
    match &c.test {
        Test::Cmp(op, Lit::Time { t, day_only: true }) => {
            let lo = t.div_euclid(86_400) * 86_400;
            let hi = lo + 86_400;
            let (a, b) = (Sql::Integer(lo), Sql::Integer(hi));
            match op {
                Op::Eq => {
                    st.push(&format!("({x} >= "));
                    st.bind(a);
                    st.push(&format!(" AND {x} < "));
                    st.bind(b);
                    st.push(")");
                }
                Op::Ne => {
                    st.push(&format!("({x} IS NULL OR {x} < "));
                    st.bind(a);
                    st.push(&format!(" OR {x} >= "));
                    st.bind(b);
                    st.push(")");
                }
                Op::Lt | Op::Ge => {
                    st.push(&format!("{x} {} ", op.as_str()));
                    st.bind(a);
                }
                Op::Le => {
                    st.push(&format!("{x} < "));
                    st.bind(b);
                }
                Op::Gt => {
                    st.push(&format!("{x} >= "));
                    st.bind(b);
                }
            }
        }
        Test::Cmp(op, lit) => {
            let (v, collate) = match lit {
                Lit::Int(i) => (Sql::Integer(*i), ""),
                Lit::Bool(b) => (Sql::Integer(*b as i64), ""),
                Lit::Time { t, .. } => (Sql::Integer(*t), ""),
                Lit::Str(s) => (Sql::Text(s.clone()), " COLLATE NOCASE"),
            };
            let nullable = matches!(lit, Lit::Time { .. });
            if nullable && *op == Op::Ne {
                st.push(&format!("({x} IS NULL OR {x} <> "));
                st.bind(v);
                st.push(")");
            } else {
                st.push(&format!("{x} {} ", op.as_str()));
                st.bind(v);
                st.push(collate);
            }
        }
        Test::Call(func, needle) => {
            let f = match func {
                Func::Substring => format!("instr(lower({x}), "),
                Func::Subdomain => format!("ld_subdomain({x}, "),
                Func::Word => format!("ld_word({x}, "),
            };
            st.push(&f);
            st.bind(Sql::Text(needle.clone()));
            st.push(if *func == Func::Substring {
                ") > 0"
            } else {
                ")"
            });
        }
    }
}

fn conds_sql<'a>(
    st: &mut Stmt,
    conds: impl IntoIterator<Item = &'a Cond>,
    expr: impl Fn(&Cond) -> String,
) {
    for c in conds {
        st.push(" AND ");
        cond_sql(st, &expr(c), c);
    }
}

fn order_sql(plan: &Plan, expr: impl Fn(&Column) -> String) -> String {
    plan.order
        .iter()
        .map(|(c, desc)| {
            let collate = if c.ty == ColType::Str {
                " COLLATE NOCASE"
            } else {
                ""
            };
            format!("{}{collate}{}, ", expr(c), if *desc { " DESC" } else { "" })
        })
        .collect()
}

fn scope_sql(st: &mut Stmt, scope: &Target) {
    let (cond, params) = scope_condition(scope);
    st.push(&cond);
    st.params.extend(params);
}

/// Which optional joins a statement needs.
#[derive(Debug, Clone, Copy, Default)]
struct Joins {
    /// `ph`: the referring host (rating, ahrefs_top, refdomain).
    ref_host: bool,
    /// `b` for events: the link record (dates, attributes).
    link: bool,
    /// `tp`: the target's page (backlinks `http_code`).
    target_page: bool,
}

impl Joins {
    fn of(table: Table, cols: impl IntoIterator<Item = Col>) -> Joins {
        let mut j = Joins::default();
        for c in cols {
            match c {
                Col::DomainRating | Col::AhrefsTop | Col::Refdomain | Col::Sitewide => {
                    j.ref_host = true
                }
                Col::HttpCode | Col::BrokenAt if table.backlink_rows() => j.target_page = true,
                Col::FirstSeen
                | Col::LastVisited
                | Col::PrevVisited
                | Col::Original
                | Col::Redirect
                | Col::Nofollow
                | Col::Alt
                | Col::TextPre
                | Col::TextPost => j.link = true,
                _ => {}
            }
        }
        j
    }
}

/// The row table of a table and its alias: `backlinks b` or `events e`.
fn row_table(table: Table) -> (&'static str, &'static str) {
    if table.backlink_rows() || matches!(table, Table::Anchors | Table::Refdomains) {
        ("backlinks", "b")
    } else {
        ("events", "e")
    }
}

/// The joins from a row to what its columns read: the referring page (always), the link
/// record of an event, the referring host, the target's page.
fn row_joins(table: Table, j: Joins) -> String {
    let (_, a) = row_table(table);
    let mut f = format!(" CROSS JOIN pages p ON p.id = {a}.page");
    if a == "e" && j.link {
        f.push_str(
            " LEFT JOIN backlinks b ON b.target = e.target AND b.page = e.page
              AND b.link_type = e.link_type AND b.anchor = e.anchor AND b.n = e.n",
        );
    }
    if j.ref_host {
        f.push_str(" CROSS JOIN hosts ph ON ph.id = p.host_id");
    }
    if j.target_page {
        f.push_str(" LEFT JOIN pages tp ON tp.id = u.id");
    }
    f
}

/// `FROM` the target scope's hosts and URLs to the table's rows, and the rows' joins.
///
/// The join order is stated (`CROSS JOIN`, which SQLite never reorders): the scope's hosts
/// (a range of `rhost`), their URLs (`urls_by_host`), the rows clustered by target, then each
/// row's page and host by primary key. For a `wide` scope (most of the index) the rows table
/// is read whole first and each row's URL and host looked up, which is about 4x faster there.
/// Left to choose, the bundled SQLite once put the rows before the URLs of a whole-TLD
/// `refdomains` (an automatic index on `live` probed once per host: minutes at 1M links);
/// `tests::plans` holds every statement shape to these orders.
fn from_sql(table: Table, j: Joins, wide: bool) -> String {
    let (name, a) = row_table(table);
    format!("{}{}", scope_rows_sql(name, a, wide), row_joins(table, j))
}

/// `FROM` the scope's hosts, URLs and the rows `name` (alias `a`) targeting them, in the order
/// [`from_sql`] states.
fn scope_rows_sql(name: &str, a: &str, wide: bool) -> String {
    if wide {
        format!(" FROM {name} {a} CROSS JOIN urls u ON u.id = {a}.target CROSS JOIN hosts h ON h.id = u.host_id")
    } else {
        format!(" FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN {name} {a} ON {a}.target = u.id")
    }
}

/// Whether `scope` covers at least a quarter of the index's hosts (only a `subdomains` scope
/// can, e.g. a whole TLD): then reading the rows table whole beats walking the scope's URLs.
/// Counted on the `rhost` index: milliseconds for 50,000 hosts.
fn is_wide(conn: &Connection, scope: &Target) -> Result<bool> {
    if !matches!(scope, Target::Subdomains(_)) {
        return Ok(false);
    }
    let (cond, params) = scope_condition(scope);
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM hosts h WHERE {cond}"))?
        .query_row(params_from_iter(params.iter()), |r| r.get(0))?;
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM hosts")?
        .query_row([], |r| r.get(0))?;
    Ok(n > 0 && n * 4 >= total)
}

/// The default (key) order of a row table: target key, then referring page, then link.
fn key_order(table: Table) -> [&'static str; 8] {
    if table.backlink_rows() {
        [
            "h.rhost",
            "u.tail",
            "p.url",
            "b.link_type",
            "b.anchor",
            "b.n",
            "",
            "",
        ]
    } else {
        [
            "h.rhost",
            "u.tail",
            "e.time",
            "p.url",
            "e.link_type",
            "e.anchor",
            "e.n",
            "e.kind",
        ]
    }
}

/// The primary key of a result row (to join back after sorting).
fn row_key(table: Table) -> &'static [&'static str] {
    if table.backlink_rows() {
        &["b.target", "b.page", "b.link_type", "b.anchor", "b.n"]
    } else {
        &[
            "e.target",
            "e.time",
            "e.page",
            "e.link_type",
            "e.anchor",
            "e.n",
            "e.kind",
        ]
    }
}

/// `LIMIT n OFFSET m` as literals, not parameters: SQLite re-prepares a statement on every
/// new binding of a `LIMIT` parameter (measured: 29 % of a server's CPU on cheap requests).
/// Both are validated integers.
fn limit_sql(st: &mut Stmt, plan: &Plan) {
    let offset = plan.offset.min(i64::MAX as usize);
    st.push(&format!(" LIMIT {} OFFSET {offset}", plan.limit));
}

/// The statement of a `backlinks` or `backlinks_new_lost` plan: one row per result, the
/// selected columns in order. With `order_by`, rows are sorted on their keys and sort columns
/// only, and the page returned is joined back for its columns (late materialisation).
fn flat_stmt(plan: &Plan) -> Stmt {
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
fn counters_from_daily(plan: &Plan) -> bool {
    plan.where_.is_empty()
        && !plan.counters_by_url()
        && matches!(
            plan.scope,
            Target::Domain(_) | Target::Subdomains(_) | Target::Host(_)
        )
}

/// The statement of a `backlinks_new_lost_counters` plan. Columns: every catalogue column
/// under its alias (unused ones constant), so `having`/`order_by` name aliases.
fn counters_stmt(plan: &Plan) -> Stmt {
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
fn backlink_groups(plan: &Plan, select: &str, group: &str, row_col: fn(Col) -> bool) -> Stmt {
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
fn anchors_groups(plan: &Plan, select: &str) -> Stmt {
    backlink_groups(plan, select, "b.anchor", anchors_row_col)
}

/// `anchors` reads the referring host (refdomains) and page (last visit) of each backlink.
const ANCHORS_JOINS: Joins = Joins {
    ref_host: true,
    link: false,
    target_page: false,
};

fn anchors_select() -> String {
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

fn anchors_stmt(plan: &Plan) -> Stmt {
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
fn anchors_stats_stmt(plan: &Plan) -> Stmt {
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
fn refdomains_groups(plan: &Plan) -> Stmt {
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

fn refdomains_stmt(plan: &Plan) -> Stmt {
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
fn refdomains_stats_stmt(plan: &Plan) -> Stmt {
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
fn one_per_domain_sql(st: &mut Stmt, plan: &Plan) {
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
fn refdomain_transitions_sql(st: &mut Stmt, scope: &Target, group: &str, wide: bool) {
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

fn refdomains_new_lost_stmt(plan: &Plan) -> Stmt {
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
fn metrics_stmt(plan: &Plan) -> Stmt {
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
fn pages_stmt(plan: &Plan) -> Stmt {
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
fn col_name(c: Col) -> &'static str {
    Table::MetricsExtended
        .columns()
        .iter()
        .find(|x| x.id == c)
        .map_or("unknown", |x| x.name)
}

/// The SQL of `plan` (for `EXPLAIN` and tests).
pub fn compile(plan: &Plan) -> Stmt {
    match plan.table {
        Table::Backlinks | Table::OnePerDomain | Table::BrokenBacklinks | Table::NewLost => {
            flat_stmt(plan)
        }
        Table::Counters => counters_stmt(plan),
        Table::Anchors => anchors_stmt(plan),
        Table::Refdomains => refdomains_stmt(plan),
        Table::RefdomainsNewLost | Table::RefdomainsCounters => refdomains_new_lost_stmt(plan),
        Table::Metrics | Table::MetricsExtended => metrics_stmt(plan),
        Table::AhrefsRank | Table::PagesExtended => pages_stmt(plan),
    }
}

/// A cell read in place (no owned `rusqlite::types::Value` in between: that copy and its
/// conversion were ~15 % of a cheap `backlinks` request's instructions).
fn cell(ty: ColType, v: ValueRef<'_>) -> Value {
    let int = match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) => Some(f as i64),
        _ => None,
    };
    match ty {
        ColType::Int => Value::Int(int.unwrap_or(0)),
        ColType::Bool => Value::Bool(int.unwrap_or(0) != 0),
        ColType::Time => Value::Time(int),
        ColType::Date => Value::Date(int.unwrap_or(0)),
        ColType::Str => Value::Str(match v {
            ValueRef::Text(s) => match std::str::from_utf8(s) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(s).into_owned(),
            },
            ValueRef::Null => String::new(),
            other => format!("{other:?}"),
        }),
    }
}

fn rows(conn: &Connection, st: &Stmt, cols: &[&'static Column]) -> Result<Vec<Vec<Value>>> {
    crate::debug_sql(&st.sql);
    let mut stmt = conn.prepare_cached(&st.sql)?;
    let n = stmt.column_count();
    let mut out = Vec::new();
    let mut it = stmt.query(params_from_iter(st.params.iter()))?;
    while let Some(r) = it.next()? {
        let mut row = Vec::with_capacity(n);
        for (i, c) in cols.iter().enumerate() {
            row.push(cell(c.ty, r.get_ref(i)?));
        }
        out.push(row);
    }
    Ok(out)
}

/// The statements `plan` compiles to (rows, then `stats` where the table has them).
pub fn statements(plan: &Plan) -> Vec<Stmt> {
    let mut out = vec![compile(plan)];
    match plan.table {
        Table::Anchors => out.push(anchors_stats_stmt(plan)),
        Table::Refdomains => out.push(refdomains_stats_stmt(plan)),
        _ => {}
    }
    out
}

/// One line of SQLite's `EXPLAIN QUERY PLAN`: its id, its parent's id and what it does
/// (`SCAN b`, `SEARCH u USING INDEX …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The step's id.
    pub id: i64,
    /// The enclosing step's id (0 at the top).
    pub parent: i64,
    /// SQLite's description.
    pub detail: String,
}

/// How the bundled SQLite will run each statement of `plan` (`EXPLAIN QUERY PLAN`, on the
/// store's own connection, so with its statistics), with the join order `plan.wide` states
/// (see [`wide`]): for the plan-shape tests and for reading a slow query
/// (`LINKDIFF_DEBUG_SQL=plan` prints it).
pub fn explain(store: &SqlStore, plan: &Plan) -> Result<Vec<(String, Vec<PlanStep>)>> {
    store.read(|conn| {
        statements(plan)
            .into_iter()
            .map(|st| Ok((st.sql.clone(), explain_stmt(conn, &st)?)))
            .collect()
    })
}

fn explain_stmt(conn: &Connection, st: &Stmt) -> Result<Vec<PlanStep>> {
    let mut q = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", st.sql))?;
    let rows = q.query_map(params_from_iter(st.params.iter()), |r| {
        Ok(PlanStep {
            id: r.get(0)?,
            parent: r.get(1)?,
            detail: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<linkdiff_store::rusqlite::Result<Vec<_>>>()?)
}

/// Whether `run` reads `plan`'s rows table first (see `Plan::wide`).
pub fn wide(store: &SqlStore, plan: &Plan) -> Result<bool> {
    store.read(|conn| plan_is_wide(conn, plan))
}

/// A wide scope, and a statement that reads every row of it: grouped tables, sorted flat
/// ones, and `broken_backlinks` (few rows match: it reads the scope to find them). `backlinks`
/// and `backlinks_new_lost` in key order walk the scope's URLs in order and stop at their page
/// (rows-first would sort the whole scope: 4.3 s instead of 2 ms at 10M links).
fn plan_is_wide(conn: &Connection, plan: &Plan) -> Result<bool> {
    let key_ordered =
        matches!(plan.table, Table::Backlinks | Table::NewLost) && plan.order.is_empty();
    Ok(!key_ordered && is_wide(conn, &plan.scope)?)
}

/// Answer `plan` on the SQLite store, in one read snapshot.
pub fn run(store: &SqlStore, plan: &Plan) -> Result<QueryResult> {
    store.read(|conn| {
        let plan = &Plan {
            wide: plan_is_wide(conn, plan)?,
            ..plan.clone()
        };
        let st = compile(plan);
        let grouped = plan.table.grouped();
        let all: Vec<&'static Column> = plan.table.columns().iter().collect();
        let got = rows(conn, &st, if grouped { &all } else { &plan.select })?;
        let project = |row: Vec<Value>| -> Vec<Value> {
            if !grouped {
                return row;
            }
            plan.select
                .iter()
                .map(|c| row[plan.table.index(c.id).expect("own column")].clone())
                .collect()
        };
        let (stats_stmt, names): (Option<Stmt>, &[&'static str]) = match plan.table {
            Table::Anchors => (Some(anchors_stats_stmt(plan)), &["backlinks", "refpages"]),
            Table::Refdomains => (
                Some(refdomains_stats_stmt(plan)),
                &["refdomains", "ips", "class_c"],
            ),
            _ => (None, &[]),
        };
        let stats = match stats_stmt {
            Some(s) => {
                crate::debug_sql(&s.sql);
                conn.prepare_cached(&s.sql)?
                    .query_row(params_from_iter(s.params.iter()), |r| {
                        names
                            .iter()
                            .enumerate()
                            .map(|(i, &name)| Ok((name, r.get::<_, i64>(i)? as u64)))
                            .collect::<linkdiff_store::rusqlite::Result<Vec<_>>>()
                    })?
            }
            None => Vec::new(),
        };
        Ok(QueryResult {
            table: plan.table,
            columns: plan.select.clone(),
            rows: got.into_iter().map(project).collect(),
            stats,
        })
    })
}

/// Referring hosts and registrable domains gained and lost on or after `since` (a day start,
/// Unix seconds), in one read snapshot.
pub fn referring_changes(store: &SqlStore, scope: &Target, since: i64) -> Result<ReferringChanges> {
    store.read(|conn| {
        let mut out = ReferringChanges::default();
        let wide = is_wide(conn, scope)?;
        for (by_host, group) in [(true, "ph.host"), (false, "ph.domain")] {
            let mut st = Stmt::default();
            refdomain_transitions_sql(&mut st, scope, group, wide);
            st.push("SELECT coalesce(sum(c_type = 'new'), 0), coalesce(sum(c_type = 'lost'), 0) FROM x WHERE c_date >= ");
            st.bind(Sql::Integer(since));
            let (n, l): (i64, i64) = conn
                .prepare_cached(&st.sql)?
                .query_row(params_from_iter(st.params.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            *out.of(by_host) = Changes {
                new: n as u64,
                lost: l as u64,
            };
        }
        Ok(out)
    })
}
