//! Ahrefs API v3 Site Explorer (`GET /v3/site-explorer/…`) and `subscription-info`, answered
//! from the index: the scripts written against Ahrefs' v3 API (and its official SDK, which
//! validates every answer with its models) pointed at `linkdiff serve`.
//!
//! Requests are GET query parameters with `Authorization: Bearer TOKEN` (linkdiff's tokens).
//! List endpoints require `select`; `where` is v3's JSON filter ([`filter`]); `order_by` is
//! `field:desc,field2:asc`. The backlinks of the target are read from the index (live, and the
//! lost ones the `history` asks for), grouped by `aggregation`, filtered, sorted and paged, then
//! projected to `select`. Errors are HTTP 4xx/5xx with `{"error": "…"}`.

pub mod filter;
pub mod items;

use super::params::Params;
use super::render::{self, Format};
use super::{tokens, ApiContext};
use linkdiff_model::{Mode, Target};
use linkdiff_query::filter::{Filter as QueryFilter, Func, Op, Term};
use linkdiff_query::{self as query, time, QueryParams, Table, MAX_LIMIT};
use serde_json::{json, Map, Value as J};
use std::cmp::Ordering;

/// The v3 endpoints linkdiff answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `site-explorer/all-backlinks`.
    AllBacklinks,
    /// `site-explorer/refdomains`.
    Refdomains,
    /// `site-explorer/anchors`.
    Anchors,
    /// `site-explorer/backlinks-stats`.
    BacklinksStats,
    /// `site-explorer/domain-rating`.
    DomainRating,
    /// `subscription-info/limits-and-usage`.
    LimitsAndUsage,
}

impl Endpoint {
    /// Every endpoint with its path under `/v3/`.
    pub const ALL: [(Endpoint, &'static str); 6] = [
        (Endpoint::AllBacklinks, "site-explorer/all-backlinks"),
        (Endpoint::Refdomains, "site-explorer/refdomains"),
        (Endpoint::Anchors, "site-explorer/anchors"),
        (Endpoint::BacklinksStats, "site-explorer/backlinks-stats"),
        (Endpoint::DomainRating, "site-explorer/domain-rating"),
        (
            Endpoint::LimitsAndUsage,
            "subscription-info/limits-and-usage",
        ),
    ];

    /// The endpoint at `/v3/{path}`.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .iter()
            .find(|(_, p)| *p == path)
            .map(|(e, _)| *e)
    }

    /// The fields of the endpoint's items (`select`, `where` and `order_by` name these).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::AllBacklinks => items::BACKLINK_FIELDS,
            Endpoint::Refdomains => items::REFDOMAIN_FIELDS,
            Endpoint::Anchors => items::ANCHOR_FIELDS,
            _ => &[],
        }
    }

    /// The answer's root key.
    fn root(self) -> &'static str {
        match self {
            Endpoint::AllBacklinks => "backlinks",
            Endpoint::Refdomains => "refdomains",
            Endpoint::Anchors => "anchors",
            Endpoint::BacklinksStats => "metrics",
            Endpoint::DomainRating => "domain_rating",
            Endpoint::LimitsAndUsage => "limits_and_usage",
        }
    }
}

/// Why a v3 request got no answer: the status and the `{"error": …}` sentence.
#[derive(Debug, thiserror::Error)]
pub enum V3Error {
    /// A parameter is missing or wrong (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// No token, or not one of the index's (HTTP 401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The token's units are spent (HTTP 403).
    #[error("Insufficient units: this request costs {cost} units and the API key has {left} left")]
    Units {
        /// What the request costs.
        cost: u64,
        /// What the key has left.
        left: u64,
    },
    /// Something failed on the server's side (HTTP 500).
    #[error("Internal error: {0}")]
    Internal(String),
}

impl V3Error {
    /// The HTTP status of the error.
    pub fn http_status(&self) -> u16 {
        match self {
            V3Error::BadRequest(_) => 400,
            V3Error::Unauthorized(_) => 401,
            V3Error::Units { .. } => 403,
            V3Error::Internal(_) => 500,
        }
    }
}

impl From<anyhow::Error> for V3Error {
    fn from(e: anyhow::Error) -> Self {
        match super::timed_out(&e) {
            Some(t) => V3Error::BadRequest(t.to_string()),
            None => V3Error::Internal(format!("{e:#}")),
        }
    }
}

impl From<query::QueryError> for V3Error {
    fn from(e: query::QueryError) -> Self {
        V3Error::from(anyhow::Error::new(e))
    }
}

/// A v3 answer: status, content type and body.
#[derive(Debug)]
pub struct V3Reply {
    /// HTTP status.
    pub status: u16,
    /// `application/json`, `text/csv`, …
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// What it cost, for the headers v3 sends (`x-api-rows`, `x-api-units-cost-row`,
    /// `x-api-units-cost-total-actual`): rows answered and units spent.
    pub cost: Option<(usize, u64)>,
}

/// The least a request costs, in units (as Ahrefs charges at least 50 units a request).
pub const MIN_UNITS: u64 = 50;

/// Answer `endpoint` for `params` with the `Authorization` header's bearer token.
pub fn answer(ctx: &ApiContext, endpoint: Endpoint, p: &Params, bearer: Option<&str>) -> V3Reply {
    match respond(ctx, endpoint, p, bearer) {
        Ok(r) => r,
        Err(e) => V3Reply {
            status: e.http_status(),
            content_type: "application/json",
            body: json!({ "error": e.to_string() }).to_string(),
            cost: None,
        },
    }
}

/// `history`: which lost backlinks an answer includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum History {
    /// Live backlinks only.
    Live,
    /// Live, and those lost on or after this day (Unix seconds at 00:00Z).
    Since(i64),
    /// Live and every lost one.
    AllTime,
}

/// `aggregation` of `all-backlinks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregation {
    /// Links from one referring domain to the same URL with the same anchor and type are one
    /// item (the strongest), with `link_group_count`.
    SimilarLinks,
    /// The strongest link of each referring domain, with `link_group_count`.
    OnePerDomain,
    /// Every link.
    All,
}

fn bad(msg: impl Into<String>) -> V3Error {
    V3Error::BadRequest(msg.into())
}

/// The token's name, when the server requires tokens.
fn authorize(ctx: &ApiContext, bearer: Option<&str>) -> Result<Option<String>, V3Error> {
    if !ctx.auth_required()? {
        return Ok(None);
    }
    let Some(token) = bearer.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err(V3Error::Unauthorized(
            "This server requires an API key: send Authorization: Bearer TOKEN (see linkdiff token create)",
        ));
    };
    match tokens::find(&ctx.store, token)? {
        Some((name, _)) => Ok(Some(name)),
        None => Err(V3Error::Unauthorized("Invalid API key")),
    }
}

fn respond(
    ctx: &ApiContext,
    endpoint: Endpoint,
    p: &Params,
    bearer: Option<&str>,
) -> Result<V3Reply, V3Error> {
    let token = authorize(ctx, bearer)?;
    let format = match p.get("output").map(str::trim).unwrap_or("json") {
        "" | "json" => Format::Json,
        "csv" => Format::Csv,
        "xml" => Format::Xml,
        "php" => Format::Php,
        o => {
            return Err(bad(format!(
                "Unknown output '{o}' (use json, csv, xml or php)"
            )))
        }
    };
    let (tree, rows) = match endpoint {
        Endpoint::LimitsAndUsage => (limits_and_usage(ctx, token.as_deref())?, 0),
        Endpoint::DomainRating => (domain_rating(ctx, p)?, 1),
        Endpoint::BacklinksStats => (backlinks_stats(ctx, p)?, 1),
        Endpoint::AllBacklinks | Endpoint::Refdomains | Endpoint::Anchors => {
            list(ctx, endpoint, p)?
        }
    };
    let cost = match endpoint {
        Endpoint::LimitsAndUsage => 0,
        _ => (rows as u64).max(MIN_UNITS),
    };
    if let (Some(name), true) = (&token, cost > 0) {
        let _guard = ctx
            .spend_lock
            .lock()
            .map_err(|_| V3Error::Internal("quota lock".into()))?;
        if let Err(left) = tokens::spend(&ctx.store, name, cost * 100)? {
            return Err(V3Error::Units {
                cost,
                left: left / 100,
            });
        }
    }
    let (content_type, body) = match format {
        Format::Json => ("application/json", tree.to_string()),
        Format::Csv => (
            "text/csv; charset=utf-8",
            render::render(&tree, Format::Csv),
        ),
        Format::Xml => ("application/xml", render::render(&tree, Format::Xml)),
        _ => (
            "text/plain; charset=utf-8",
            render::render(&tree, Format::Php),
        ),
    };
    Ok(V3Reply {
        status: 200,
        content_type,
        body,
        cost: Some((rows, cost)),
    })
}

/// `target` and `mode` (default `subdomains`), read by the one target parser.
fn target(p: &Params) -> Result<Target, V3Error> {
    let raw = p
        .get("target")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("Parameter 'target' is required"))?;
    let mode = match p.get("mode").map(str::trim) {
        None | Some("") => Mode::Subdomains,
        Some(m) => m.parse::<Mode>().map_err(|e| bad(e.to_string()))?,
    };
    Target::parse(raw, mode).map_err(|e| bad(e.to_string()))
}

/// `protocol`: `both` (default), `http` or `https`: which target URLs count.
fn protocol(p: &Params) -> Result<Option<&'static str>, V3Error> {
    match p.get("protocol").map(str::trim) {
        None | Some("") | Some("both") => Ok(None),
        Some("http") => Ok(Some("http://")),
        Some("https") => Ok(Some("https://")),
        Some(o) => Err(bad(format!(
            "Unknown protocol '{o}' (use both, http or https)"
        ))),
    }
}

fn history(p: &Params) -> Result<History, V3Error> {
    match p.get("history").map(str::trim) {
        None | Some("") | Some("all_time") => Ok(History::AllTime),
        Some("live") => Ok(History::Live),
        Some(h) => h
            .strip_prefix("since:")
            .and_then(time::parse)
            .map(History::Since)
            .ok_or_else(|| {
                bad(format!(
                    "Unknown history '{h}' (use live, all_time or since:YYYY-MM-DD)"
                ))
            }),
    }
}

fn count(p: &Params, name: &str, default: usize) -> Result<usize, V3Error> {
    match p.get(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_LIMIT)
            .ok_or_else(|| {
                bad(format!(
                    "Parameter '{name}' must be a whole number between 0 and {MAX_LIMIT}, not '{v}'"
                ))
            }),
    }
}

/// `select`: required, each field one the endpoint answers.
fn select(p: &Params, fields: &[&'static str]) -> Result<Vec<&'static str>, V3Error> {
    let raw = p
        .get("select")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("Parameter 'select' is required: a comma-separated list of fields"))?;
    raw.split(',')
        .map(|f| {
            let f = f.trim();
            fields
                .iter()
                .find(|x| **x == f)
                .copied()
                .ok_or_else(|| bad(format!("Unknown column '{f}' in 'select'")))
        })
        .collect()
}

/// `order_by`: `field[:asc|desc]`, comma-separated.
fn order_by(p: &Params, fields: &[&'static str]) -> Result<Vec<(&'static str, bool)>, V3Error> {
    let Some(raw) = p.get("order_by").map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|part| {
            let (f, dir) = part.split_once(':').unwrap_or((part, "asc"));
            let f = f.trim();
            let field = fields
                .iter()
                .find(|x| **x == f)
                .copied()
                .ok_or_else(|| bad(format!("Unknown column '{f}' in 'order_by'")))?;
            match dir.trim() {
                "asc" => Ok((field, false)),
                "desc" => Ok((field, true)),
                d => Err(bad(format!(
                    "Unknown order '{d}' for '{f}' (use asc or desc)"
                ))),
            }
        })
        .collect()
}

/// Sort `items` by `rules` (nulls last either way), the rest of the order as it was.
fn sort(items: &mut [J], rules: &[(&str, bool)]) {
    if rules.is_empty() {
        return;
    }
    items.sort_by(|a, b| {
        for (f, desc) in rules {
            let (x, y) = (&a[*f], &b[*f]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => {
                    let o = filter::compare(x, y).unwrap_or(Ordering::Equal);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

/// Every backlink of `target` the history asks for, as full items (live first, in the
/// index's key order; then lost ones, the latest loss of each link that is not live again).
fn backlink_items(
    ctx: &ApiContext,
    target: &Target,
    history: History,
    scheme: Option<&str>,
    fields: &[&str],
) -> Result<Vec<J>, V3Error> {
    let all = |table: Table, select: &str, where_: &str| -> Result<_, V3Error> {
        Ok(query::run(
            &ctx.store,
            table,
            &QueryParams {
                select: Some(select.into()),
                where_: query::parse_clause(Some(where_), "where")?,
                limit: MAX_LIMIT,
                ..QueryParams::new(target.clone())
            },
        )?)
    };
    let live = all(Table::Backlinks, items::BACKLINK_COLUMNS, "")?;
    let cols = items::Columns::of(&live);
    let mut out: Vec<J> = cols
        .rows()
        .iter()
        .map(|row| items::backlink(&cols, row, false, fields))
        .collect();
    if history != History::Live {
        let live_ids: std::collections::HashSet<_> = out.iter().map(items::identity).collect();
        let lost = all(Table::NewLost, items::LOST_COLUMNS, "type=lost")?;
        let since = match history {
            History::Since(d) => time::date(d),
            _ => String::new(),
        };
        let mut latest: std::collections::HashMap<_, J> = std::collections::HashMap::new();
        let cols = items::Columns::of(&lost);
        for row in cols.rows() {
            let item = items::backlink(&cols, row, true, fields);
            let id = items::identity(&item);
            let at = item["last_seen"].as_str().unwrap_or("").to_string();
            if live_ids.contains(&id) || at[..10.min(at.len())] < *since {
                continue;
            }
            let newer = latest
                .get(&id)
                .is_none_or(|old| old["last_seen"].as_str().unwrap_or("") < at.as_str());
            if newer {
                latest.insert(id, item);
            }
        }
        let mut lost: Vec<J> = latest.into_values().collect();
        lost.sort_by_key(items::identity);
        out.extend(lost);
    }
    if let Some(s) = scheme {
        out.retain(|i| i["url_to"].as_str().is_some_and(|u| u.starts_with(s)));
    }
    Ok(out)
}

/// Keep the strongest item of each key (highest `domain_rating_source`, then
/// `url_rating_source`, then the order they came in) and count the group.
fn strongest_per(items: Vec<J>, key: impl Fn(&J) -> String) -> Vec<J> {
    let mut order: Vec<String> = Vec::new();
    let mut best: std::collections::HashMap<String, (J, u64)> = std::collections::HashMap::new();
    let strength = |i: &J| {
        (
            i["is_lost"].as_bool() != Some(true),
            i["domain_rating_source"].as_f64().unwrap_or(0.0),
            i["url_rating_source"].as_f64().unwrap_or(0.0),
        )
    };
    for i in items {
        let k = key(&i);
        match best.get_mut(&k) {
            Some((b, n)) => {
                *n += 1;
                if strength(&i).partial_cmp(&strength(b)) == Some(Ordering::Greater) {
                    *b = i;
                }
            }
            None => {
                order.push(k.clone());
                best.insert(k, (i, 1));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| best.remove(&k))
        .map(|(mut i, n)| {
            i["link_group_count"] = J::from(n);
            i
        })
        .collect()
}

/// An item with only the selected fields, in `select`'s order.
fn project(item: &J, select: &[&str]) -> J {
    let mut m = Map::new();
    for f in select {
        m.insert((*f).to_string(), item[*f].clone());
    }
    J::Object(m)
}

/// A v3 condition on a field as a term of the v2 `backlinks` table's `where`, when the two
/// select exactly the same links: dofollow flags, whole-number comparisons of the integer
/// columns, and ASCII `isubstring` (v2's `substring` ignores ASCII case).
fn push_term(field: &str, modifier: Option<filter::Modifier>, cond: &filter::Cond) -> Option<Term> {
    use filter::{Cmp, Cond};
    if modifier.is_some() {
        return None;
    }
    let op = |c: Cmp| match c {
        Cmp::Eq => Op::Eq,
        Cmp::Neq => Op::Ne,
        Cmp::Gt => Op::Gt,
        Cmp::Gte => Op::Ge,
        Cmp::Lt => Op::Lt,
        Cmp::Lte => Op::Le,
    };
    let flag = |v: &J| match v {
        J::Bool(b) => Some(*b),
        J::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        J::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        _ => None,
    };
    let cmp = |col: &str, o: Op, value: String| Term::Cmp {
        col: col.into(),
        op: o,
        value,
    };
    match (field, cond) {
        ("is_dofollow" | "is_nofollow", Cond::Cmp(c @ (Cmp::Eq | Cmp::Neq), v)) => {
            let mut nofollow = flag(v)?;
            if field == "is_dofollow" {
                nofollow = !nofollow;
            }
            if *c == Cmp::Neq {
                nofollow = !nofollow;
            }
            Some(cmp("nofollow", Op::Eq, nofollow.to_string()))
        }
        (
            "url_rating_source" | "links_internal" | "links_external" | "page_size",
            Cond::Cmp(c, J::Number(n)),
        ) => {
            let whole = n.as_i64().or_else(|| {
                let f = n.as_f64()?;
                (f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i64)
            })?;
            let col = match field {
                "url_rating_source" => "ahrefs_rank",
                f => f,
            };
            Some(cmp(col, op(*c), whole.to_string()))
        }
        ("anchor" | "title" | "url_from" | "url_to" | "alt", Cond::Substring(needle, true))
            if needle.is_ascii() =>
        {
            Some(Term::Call {
                func: Func::Substring,
                col: field.into(),
                value: needle.clone(),
            })
        }
        _ => None,
    }
}

/// A `where` that is an `and` of pushable conditions, as v2 filter terms.
fn push_filter(f: &filter::Filter, out: &mut Vec<Term>) -> Option<()> {
    match f {
        filter::Filter::And(parts) => parts.iter().try_for_each(|p| push_filter(p, out)),
        filter::Filter::Field {
            field,
            modifier,
            test: filter::FieldTest::Is(filter::CondTree::Leaf(c)),
        } => {
            out.push(push_term(field, *modifier, c)?);
            Some(())
        }
        filter::Filter::Field {
            field,
            modifier,
            test: filter::FieldTest::Is(filter::CondTree::And(cs)),
        } => cs.iter().try_for_each(|c| match c {
            filter::CondTree::Leaf(c) => {
                out.push(push_term(field, *modifier, c)?);
                Some(())
            }
            _ => None,
        }),
        _ => None,
    }
}

/// `order_by` on fields v2 orders the same way (numbers, and the link's first-seen time,
/// never null), as v2 `order_by` text.
fn push_order(order: &[(&str, bool)]) -> Option<String> {
    let parts: Option<Vec<String>> = order
        .iter()
        .map(|(f, desc)| {
            let col = match *f {
                "domain_rating_source" => "domain_rating",
                "url_rating_source" => "ahrefs_rank",
                "links_internal" | "links_external" | "page_size" => f,
                "first_seen_link" => "first_seen",
                _ => return None,
            };
            Some(format!("{col}:{}", if *desc { "desc" } else { "asc" }))
        })
        .collect();
    parts.map(|p| p.join(","))
}

/// Live links, every one (`history=live`, `aggregation=all`), answered by one v2 query that
/// filters, sorts and pages in the database when the `where` and `order_by` say nothing v2
/// would read differently; `None` when they do (the whole list is then read).
fn pushed_down(
    ctx: &ApiContext,
    target: &Target,
    select: &[&str],
    where_: Option<&filter::Filter>,
    order: &[(&str, bool)],
    limit: usize,
    offset: usize,
) -> Result<Option<Vec<J>>, V3Error> {
    let mut terms = Vec::new();
    if let Some(f) = where_ {
        if push_filter(f, &mut terms).is_none() {
            return Ok(None);
        }
    }
    let Some(order_by) = push_order(order) else {
        return Ok(None);
    };
    let r = query::run(
        &ctx.store,
        Table::Backlinks,
        &QueryParams {
            select: Some(items::BACKLINK_COLUMNS.into()),
            where_: QueryFilter { terms },
            order_by: Some(order_by).filter(|o| !o.is_empty()),
            limit,
            offset,
            ..QueryParams::new(target.clone())
        },
    )?;
    let cols = items::Columns::of(&r);
    Ok(Some(
        cols.rows()
            .iter()
            .map(|row| items::backlink(&cols, row, false, select))
            .collect(),
    ))
}

/// `all-backlinks`, `refdomains`, `anchors`: the root tree and the rows answered.
fn list(ctx: &ApiContext, endpoint: Endpoint, p: &Params) -> Result<(J, usize), V3Error> {
    let fields = endpoint.fields();
    let select = select(p, fields)?;
    let target = target(p)?;
    let scheme = protocol(p)?;
    let history = history(p)?;
    let limit = count(p, "limit", 1000)?;
    let offset = count(p, "offset", 0)?;
    let order = order_by(p, fields)?;
    let where_ = match p.get("where").map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => Some(filter::parse(w, fields).map_err(V3Error::BadRequest)?),
        None => None,
    };
    let aggregation = match p.get("aggregation").map(str::trim) {
        None | Some("") | Some("similar_links") => Aggregation::SimilarLinks,
        Some("1_per_domain") => Aggregation::OnePerDomain,
        Some("all") => Aggregation::All,
        Some(a) => {
            return Err(bad(format!(
                "Unknown aggregation '{a}' (use similar_links, 1_per_domain or all)"
            )))
        }
    };
    if aggregation == Aggregation::All && select.contains(&"link_group_count") {
        return Err(bad(
            "'link_group_count' cannot be selected with aggregation=all",
        ));
    }
    if endpoint == Endpoint::AllBacklinks
        && history == History::Live
        && aggregation == Aggregation::All
        && scheme.is_none()
    {
        if let Some(page) = pushed_down(
            ctx,
            &target,
            &select,
            where_.as_ref(),
            &order,
            limit,
            offset,
        )? {
            let n = page.len();
            return Ok((json!({ endpoint.root(): page }), n));
        }
    }
    // The fields to compute: those asked for, those the filter and order read, and those the
    // grouping needs.
    let mut fields: Vec<&str> = items::ALWAYS.to_vec();
    if endpoint == Endpoint::AllBacklinks {
        fields.extend(select.iter().copied());
        fields.extend(order.iter().map(|(f, _)| *f));
        if let Some(f) = &where_ {
            fields.extend(f.fields());
        }
    }
    fields.sort_unstable();
    fields.dedup();
    let backlinks = backlink_items(ctx, &target, history, scheme, &fields)?;
    let mut rows = match endpoint {
        Endpoint::AllBacklinks => match aggregation {
            Aggregation::All => backlinks,
            Aggregation::OnePerDomain => strongest_per(backlinks, |i| {
                i["root_name_source"].as_str().unwrap_or("").to_string()
            }),
            Aggregation::SimilarLinks => strongest_per(backlinks, |i| {
                format!(
                    "{}\0{}\0{}\0{}",
                    i["root_name_source"].as_str().unwrap_or(""),
                    i["url_to"].as_str().unwrap_or(""),
                    i["link_type"].as_str().unwrap_or(""),
                    i["anchor"].as_str().unwrap_or("")
                )
            }),
        },
        Endpoint::Refdomains => items::refdomains(&backlinks),
        _ => items::anchors(&backlinks),
    };
    if let Some(f) = &where_ {
        rows.retain(|i| f.test(i));
    }
    sort(&mut rows, &order);
    let page: Vec<J> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|i| project(&i, &select))
        .collect();
    let n = page.len();
    Ok((json!({ endpoint.root(): page }), n))
}

/// `date` (required by v3 for stats and ratings): a day, not in the future.
fn date(p: &Params) -> Result<Option<i64>, V3Error> {
    match p.get("date").map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => time::parse(&d[..10.min(d.len())])
            .map(Some)
            .ok_or_else(|| bad(format!("Parameter 'date' must be YYYY-MM-DD, not '{d}'"))),
    }
}

/// `backlinks-stats`: live and all-time backlinks and referring domains, as of `date` (the
/// links first seen by then and not lost by then).
fn backlinks_stats(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let target = target(p)?;
    let scheme = protocol(p)?;
    let at = date(p)?;
    let all = backlink_items(ctx, &target, History::AllTime, scheme, items::ALWAYS)?;
    let end = at.map(|d| format!("{}T23:59:59Z", time::date(d)));
    let seen_by = |i: &J| {
        end.as_ref().is_none_or(|e| {
            i["first_seen_link"]
                .as_str()
                .is_some_and(|f| f <= e.as_str())
        })
    };
    let live_at = |i: &J| {
        seen_by(i)
            && match (i["last_seen"].as_str(), &end) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(lost), Some(e)) => lost > e.as_str(),
            }
    };
    let domains = |it: &mut dyn Iterator<Item = &J>| {
        it.map(|i| i["root_name_source"].as_str().unwrap_or(""))
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    let live: Vec<&J> = all.iter().filter(|i| live_at(i)).collect();
    let ever: Vec<&J> = all.iter().filter(|i| seen_by(i)).collect();
    Ok(json!({ "metrics": {
        "live": live.len(),
        "all_time": ever.len(),
        "live_refdomains": domains(&mut live.iter().copied()),
        "all_time_refdomains": domains(&mut ever.iter().copied()),
    }}))
}

/// `domain-rating`: the target's registrable domain's rating now. The index keeps no history
/// of ratings yet, so a past `date` answers `null` rather than today's value.
fn domain_rating(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let target = target(p)?;
    let today = time::day(chrono::Utc::now().timestamp()) * 86_400;
    let rec = ctx
        .store
        .domain(target.registrable_domain())
        .map_err(|e| V3Error::from(anyhow::Error::new(e)))?
        .unwrap_or_default();
    let current = date(p)?.is_none_or(|d| d >= today);
    Ok(json!({ "domain_rating": {
        "domain_rating": if current { Some(rec.domain_rating as f64) } else { None },
        "ahrefs_rank": if current && rec.ahrefs_top > 0 { Some(rec.ahrefs_top) } else { None },
    }}))
}

/// `limits-and-usage`: the API key's units (1 unit = 1 row of a linkdiff token).
fn limits_and_usage(ctx: &ApiContext, token: Option<&str>) -> Result<J, V3Error> {
    let rec = match token {
        Some(name) => ctx
            .store
            .token(name)
            .map_err(|e| V3Error::from(anyhow::Error::new(e)))?,
        None => None,
    };
    Ok(json!({ "limits_and_usage": match (token, rec) {
        (Some(name), Some(r)) => json!({
            "subscription": format!("linkdiff token {name}"),
            "usage_reset_date": null,
            "units_limit_workspace": null,
            "units_usage_workspace": null,
            "units_limit_api_key": r.rows_limit,
            "units_usage_api_key": r.rows_limit.saturating_sub(r.centirows_left / 100),
            "api_key_expiration_date": null,
        }),
        _ => json!({
            "subscription": "linkdiff (no tokens: unlimited)",
            "usage_reset_date": null,
            "units_limit_workspace": null,
            "units_usage_workspace": null,
            "units_limit_api_key": null,
            "units_usage_api_key": null,
            "api_key_expiration_date": null,
        }),
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(w: &str) -> Option<String> {
        let f = filter::parse(w, items::BACKLINK_FIELDS).unwrap();
        let mut terms = Vec::new();
        push_filter(&f, &mut terms)?;
        Some(QueryFilter { terms }.to_string())
    }

    #[test]
    fn filters_v2_reads_the_same_way_go_into_the_query() {
        assert_eq!(
            pushed(r#"{"and":[{"field":"is_dofollow","is":["eq",1]},{"field":"url_rating_source","is":["gte",30.0]},{"field":"anchor","is":["isubstring","seo"]}]}"#).as_deref(),
            Some("nofollow=false,ahrefs_rank>=30,substring(anchor,seo)")
        );
        assert_eq!(
            pushed(r#"{"field":"is_nofollow","is":["neq",true]}"#).as_deref(),
            Some("nofollow=false")
        );
        assert_eq!(
            pushed(r#"{"field":"links_internal","is":{"and":[["gte",1],["lt",1000]]}}"#).as_deref(),
            Some("links_internal>=1,links_internal<1000")
        );
        // Case-sensitive tests, fractions, or/not and fields v2 lacks read the whole list.
        for w in [
            r#"{"field":"anchor","is":["substring","SEO"]}"#,
            r#"{"field":"anchor","is":["eq","SEO"]}"#,
            r#"{"field":"url_rating_source","is":["gte",29.5]}"#,
            r#"{"or":[{"field":"is_dofollow","is":["eq",true]}]}"#,
            r#"{"not":{"field":"is_dofollow","is":["eq",true]}}"#,
            r#"{"field":"traffic","is":"is_null"}"#,
            r#"{"field":"anchor","modifier":"lowercase","is":["isubstring","seo"]}"#,
        ] {
            assert_eq!(pushed(w), None, "{w}");
        }
        assert_eq!(
            push_order(&[("domain_rating_source", true), ("first_seen_link", false)]).as_deref(),
            Some("domain_rating:desc,first_seen:asc")
        );
        assert_eq!(push_order(&[("anchor", false)]), None);
    }
}
