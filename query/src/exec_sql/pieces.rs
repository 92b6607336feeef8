//! SQL pieces every statement shares: column expressions, filter terms, the scope's `FROM` and its join order, key orders, `LIMIT`.

use super::*;

pub(super) const LINK_TYPE_NAME: &str = "CASE {} WHEN 0 THEN 'href' WHEN 1 THEN 'redirect' WHEN 2 THEN 'frame' WHEN 3 THEN 'form' WHEN 4 THEN 'canonical' WHEN 5 THEN 'rss' ELSE 'alternate' END";

pub(super) fn link_type(x: &str) -> String {
    format!("({})", LINK_TYPE_NAME.replace("{}", x))
}

/// Visit dates of link record `b` on page `p` (see `LinkRecord::visits`): a live link was on
/// every successful visit since `streak_start`; a dead one keeps its frozen dates.
pub(super) fn last_visited() -> &'static str {
    "(CASE WHEN coalesce(b.live, 0) = 1 THEN coalesce(p.last_ok_visit, b.streak_start) ELSE coalesce(b.last_seen, 0) END)"
}

pub(super) fn prev_visited() -> &'static str {
    "(CASE WHEN coalesce(b.live, 0) = 1 THEN (CASE WHEN b.streak_start < coalesce(p.last_ok_visit, b.streak_start) THEN (CASE WHEN p.prev_ok_visit IS NULL THEN NULL ELSE max(p.prev_ok_visit, b.streak_start) END) ELSE b.before_streak END) ELSE b.prev_seen END)"
}

/// The SQL expression of a column of the row tables. Aliases: `h`/`u` target host and URL,
/// `p` the referring page (every referring page has a row), `ph` its host (with the domain's
/// rating copied in), `b` the link, `e` the event, `tp` the target's page.
pub(super) fn row_expr(table: Table, col: Col) -> String {
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
        Col::Rendered => s("coalesce(b.rendered, 0)"),
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
pub(super) fn alias(c: &Column) -> String {
    format!("c_{}", c.name)
}

/// Append `x <cond>` for one filter term.
pub(super) fn cond_sql(st: &mut Stmt, x: &str, c: &Cond) {
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

pub(super) fn conds_sql<'a>(
    st: &mut Stmt,
    conds: impl IntoIterator<Item = &'a Cond>,
    expr: impl Fn(&Cond) -> String,
) {
    for c in conds {
        st.push(" AND ");
        cond_sql(st, &expr(c), c);
    }
}

pub(super) fn order_sql(plan: &Plan, expr: impl Fn(&Column) -> String) -> String {
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

pub(super) fn scope_sql(st: &mut Stmt, scope: &Target) {
    let (cond, params) = scope_condition(scope);
    st.push(&cond);
    st.params.extend(params);
}

/// Which optional joins a statement needs.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Joins {
    /// `ph`: the referring host (rating, ahrefs_top, refdomain).
    pub(super) ref_host: bool,
    /// `b` for events: the link record (dates, attributes).
    pub(super) link: bool,
    /// `tp`: the target's page (backlinks `http_code`).
    pub(super) target_page: bool,
}

impl Joins {
    pub(super) fn of(table: Table, cols: impl IntoIterator<Item = Col>) -> Joins {
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
                | Col::Rendered
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
pub(super) fn row_table(table: Table) -> (&'static str, &'static str) {
    if table.backlink_rows() || matches!(table, Table::Anchors | Table::Refdomains) {
        ("backlinks", "b")
    } else {
        ("events", "e")
    }
}

/// The joins from a row to what its columns read: the referring page (always), the link
/// record of an event, the referring host, the target's page.
pub(super) fn row_joins(table: Table, j: Joins) -> String {
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
pub(super) fn from_sql(table: Table, j: Joins, wide: bool) -> String {
    let (name, a) = row_table(table);
    format!("{}{}", scope_rows_sql(name, a, wide), row_joins(table, j))
}

/// `FROM` the scope's hosts, URLs and the rows `name` (alias `a`) targeting them, in the order
/// [`from_sql`] states.
pub(super) fn scope_rows_sql(name: &str, a: &str, wide: bool) -> String {
    if wide {
        format!(" FROM {name} {a} CROSS JOIN urls u ON u.id = {a}.target CROSS JOIN hosts h ON h.id = u.host_id")
    } else {
        format!(" FROM hosts h CROSS JOIN urls u ON u.host_id = h.id CROSS JOIN {name} {a} ON {a}.target = u.id")
    }
}

/// The default (key) order of a row table: target key, then referring page, then link.
pub(super) fn key_order(table: Table) -> [&'static str; 8] {
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
pub(super) fn row_key(table: Table) -> &'static [&'static str] {
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
pub(super) fn limit_sql(st: &mut Stmt, plan: &Plan) {
    let offset = plan.offset.min(i64::MAX as usize);
    st.push(&format!(" LIMIT {} OFFSET {offset}", plan.limit));
}
