//! The HTTP API (`linkdiff serve`): Ahrefs v2 on `/`, DataForSEO bulk new/lost on
//! `/v3/backlinks/bulk_new_lost_backlinks/live`. `linkdiff query` answers through the same
//! [`answer`] (typed: [`V2Answer`] or [`ApiError`]), and each edge renders it, so the CLI
//! prints exactly what the server sends.

pub mod dataforseo;
pub mod dfs_competitors;
pub mod dfs_filter;
pub mod dfs_filters;
pub mod dfs_intersection;
pub mod dfs_lists;
pub mod dfs_pages;
pub mod dfs_summary;
pub mod dfs_timeseries;
pub mod params;
pub mod rawline;
pub mod render;
pub mod server;
pub mod tokens;
pub mod ui;
pub mod v3;

use linkdiff_model::{Mode, Target};
use linkdiff_query::{self as query, QueryParams, Table, MAX_LIMIT};
use linkdiff_store::{Store, StoreError};
use params::Params;
use render::Format;
use serde_json::{json, Value as J};
use std::sync::{Arc, Mutex};

/// Shared server state.
#[derive(Clone)]
pub struct ApiContext {
    /// The index.
    pub store: Store,
    /// Time limit of each request's queries (`serve --query-timeout`; `None`: no limit).
    pub query_timeout: Option<std::time::Duration>,
    /// The option that sets `query_timeout`, named in the error (`--query-timeout` for
    /// `serve`, `--timeout` for `query`).
    pub timeout_flag: &'static str,
    /// The server listens on a non-loopback address (tokens are then always required).
    pub public: bool,
    /// Serialises quota spending.
    pub spend_lock: Arc<Mutex<()>>,
    /// Turns for [`V2Request::is_heavy`] requests (set from `server::Limits::heavy_queries`).
    pub heavy: Arc<tokio::sync::Semaphore>,
}

impl ApiContext {
    /// A context over `store`.
    pub fn new(store: Store, public: bool) -> Self {
        ApiContext {
            store,
            query_timeout: None,
            timeout_flag: "--query-timeout",
            public,
            spend_lock: Arc::default(),
            heavy: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// Whether requests must carry a valid token (looked up on every request, so a token
    /// created or revoked by another process counts at once).
    pub fn auth_required(&self) -> anyhow::Result<bool> {
        Ok(self.public || !self.store.tokens()?.is_empty())
    }
}

/// Who asks, as the edge decides it: the CLI opens the index file itself (`Local`, no tokens);
/// an HTTP client proves itself with its `token` parameter when the server requires tokens.
#[derive(Debug, Clone)]
pub enum Access {
    /// The index's owner on this machine.
    Local,
    /// A client of the server, with the token it sent (if any).
    Client(Option<String>),
}

/// What a v2 answer holds before rendering.
#[derive(Debug, Clone)]
pub enum V2Body {
    /// A table's rows (JSON is written straight from them; other formats via [`render::tree`]).
    Table(query::QueryResult),
    /// A small fixed-shape answer (`subscription_info`, `domain_rating`).
    Tree(J),
}

/// An answer of the v2 API before rendering.
#[derive(Debug, Clone)]
pub struct V2Answer {
    /// The answer (rendered by the edge in the requested format).
    pub body: V2Body,
    /// Rows this request cost, in hundredths.
    pub cost: u64,
    /// Rows left on the token, in hundredths (when a token was used).
    pub rows_left: Option<u64>,
}

/// Why a v2 request got no answer. Its `Display` is the sentence the API returns as
/// `{"error": ...}`; [`ApiError::http_status`] is the status it goes with. Both are decided
/// here, once, for the server and the CLI.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is missing or wrong (`from`, `target`, `mode`, `limit`, `where`, a body
    /// over the size limit…): the client can fix it.
    #[error("{0}")]
    BadRequest(String),
    /// The server requires a token and none was sent.
    #[error("This server requires a token: add token=... (see linkdiff token create)")]
    NoToken,
    /// The token sent is not one of the index's.
    #[error("Invalid token")]
    InvalidToken,
    /// The token's rows are spent.
    #[error("Row quota exhausted: this request costs {} rows and token '{token}' has {} left", tokens::rows_text(*cost), tokens::rows_text(*left))]
    QuotaExhausted {
        /// The token's name.
        token: String,
        /// What the request costs, in hundredths of rows.
        cost: u64,
        /// What the token has left, in hundredths of rows.
        left: u64,
    },
    /// The query failed: a column or value the table does not take, the time limit, or the
    /// store.
    #[error(transparent)]
    Query(#[from] query::QueryError),
    /// Something on the server's side failed (the token table could not be read).
    #[error("Internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of the error's answer: 200 for every v2 error, as Ahrefs' v2 API
    /// answered them (clients read the `error` field, not the status).
    pub fn http_status(&self) -> u16 {
        200
    }

    fn bad(e: impl std::fmt::Display) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

/// The time-limit error in `e`'s chain, if a query of the request was stopped by it (see
/// `linkdiff_store::deadline`): found by type, never by its text.
pub fn timed_out(e: &anyhow::Error) -> Option<&StoreError> {
    e.chain().find_map(|c| {
        let store = c.downcast_ref::<StoreError>().or_else(|| {
            match c.downcast_ref::<query::QueryError>() {
                Some(query::QueryError::Store(s)) => Some(s),
                _ => None,
            }
        });
        store.filter(|s| matches!(s, StoreError::TimedOut { .. }))
    })
}

impl ApiContext {
    /// Run `f` (one request's work) under this context's query time limit.
    pub fn limited<T>(&self, f: impl FnOnce() -> T) -> T {
        linkdiff_store::deadline::limit(self.query_timeout, self.timeout_flag, f)
    }
}

/// The body for a result in `format`. Errors keep XML and PHP (clients parse those) and are
/// JSON otherwise, as Ahrefs answered.
pub fn render_result(r: &Result<V2Answer, ApiError>, format: Format) -> String {
    match r {
        Ok(a) => match (&a.body, format) {
            (V2Body::Table(r), Format::Json) => render::json(r),
            (V2Body::Table(r), _) => render::render(&render::tree(r), format),
            (V2Body::Tree(t), _) => render::render(t, format),
        },
        Err(e) => {
            let format = if matches!(format, Format::Xml | Format::Php) {
                format
            } else {
                Format::Json
            };
            render::render(&render::error_tree(&e.to_string()), format)
        }
    }
}

/// Rows a result row costs, in hundredths (seeds: 0.2 for backlinks and new/lost, 1 for
/// counters and anchors; `refdomains` is grouped like `anchors` and costs the same; Ahrefs'
/// `backlinks_one_per_domain` costs 2 per result; `broken_backlinks` rows are backlinks rows).
pub fn centirows_per_result(t: Table) -> u64 {
    match t {
        Table::Backlinks | Table::NewLost | Table::BrokenBacklinks => 20,
        Table::OnePerDomain => 200,
        Table::Counters
        | Table::Anchors
        | Table::Refdomains
        | Table::RefdomainsNewLost
        | Table::RefdomainsCounters
        | Table::Metrics
        | Table::MetricsExtended
        | Table::AhrefsRank
        | Table::PagesExtended => 100,
    }
}

/// A v2 request parsed at the edge: what is asked, with its target and filters as values.
#[derive(Debug, Clone)]
pub enum V2Request {
    /// `from=subscription_info`.
    SubscriptionInfo,
    /// `from=domain_rating`: the rating of the target's registrable domain.
    DomainRating(Target),
    /// A table (`from=backlinks`, `anchors`, …) and its parameters.
    Table {
        /// The table.
        table: Table,
        /// Target, filters, columns, order and page.
        params: QueryParams,
    },
}

impl V2Request {
    /// Read `p`: `from`, then `mode`, `target`, `limit`, `offset`, `where` and `having`, each
    /// checked in that order (the first problem is the error).
    pub fn parse(p: &Params) -> Result<V2Request, ApiError> {
        let from = p.get("from").unwrap_or("").trim();
        let target = || -> Result<&str, ApiError> {
            match p.get("target").unwrap_or("").trim() {
                "" => Err(ApiError::bad("Parameter 'target' is required")),
                t => Ok(t),
            }
        };
        Ok(match from {
            "" => return Err(ApiError::bad("Parameter 'from' is required (backlinks, backlinks_one_per_domain, backlinks_new_lost, backlinks_new_lost_counters, anchors, refdomains, refdomains_new_lost, refdomains_new_lost_counters, metrics, metrics_extended, ahrefs_rank, pages_extended, broken_backlinks, domain_rating or subscription_info)")),
            "subscription_info" => V2Request::SubscriptionInfo,
            "domain_rating" => V2Request::DomainRating(
                Target::parse(target()?, Mode::Exact).map_err(ApiError::bad)?,
            ),
            t => {
                let table: Table = t.parse::<Table>().map_err(ApiError::bad)?;
                let mode: Mode = p
                    .get("mode")
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .unwrap_or("exact")
                    .parse::<Mode>()
                    .map_err(ApiError::bad)?;
                let target = Target::parse(target()?, mode).map_err(ApiError::bad)?;
                let limit = parse_count(p, "limit", 1000)?;
                let offset = parse_count(p, "offset", 0)?;
                let clause = |name: &'static str| {
                    query::parse_clause(p.get(name), name).map_err(ApiError::from)
                };
                let params = QueryParams {
                    select: p.get("select").map(str::to_string),
                    where_: clause("where")?,
                    having: clause("having")?,
                    order_by: p.get("order_by").map(str::to_string),
                    limit,
                    offset,
                    ..QueryParams::new(target)
                };
                V2Request::Table { table, params }
            }
        })
    }

    /// Whether the request may read a large part of the index: a target wider than one URL
    /// with a grouped table (anchors, counters, refdomains…), `backlinks_one_per_domain`,
    /// `broken_backlinks`, an `order_by` or a filter. Those take turns so that they cannot
    /// starve the cheap ones: an exact target, or a scan in key order that stops after its
    /// page of rows.
    pub fn is_heavy(&self) -> bool {
        let V2Request::Table { table, params } = self else {
            return false;
        };
        if matches!(params.target, Target::Exact(_)) {
            return false;
        }
        table.grouped()
            || *table == Table::OnePerDomain
            // Reads every backlink of the scope to find the few whose target is broken.
            || *table == Table::BrokenBacklinks
            || params.order_by.as_deref().is_some_and(|o| !o.trim().is_empty())
            || !params.where_.terms.is_empty()
            || !params.having.terms.is_empty()
    }
}

/// Rows a request costs before its results, in hundredths: 1, or 10 for
/// `backlinks_one_per_domain` (as Ahrefs charged).
pub fn centirows_per_request(t: Table) -> u64 {
    match t {
        Table::OnePerDomain => 1000,
        _ => 100,
    }
}

fn parse_count(p: &Params, name: &str, default: usize) -> Result<usize, ApiError> {
    match p.get(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_LIMIT || name == "offset")
            .ok_or_else(|| ApiError::BadRequest(format!("Parameter '{name}' must be a whole number between 0 and {MAX_LIMIT}, not '{v}'"))),
    }
}

/// Answer Ahrefs v2 parameters for `access`: the one core behind `serve`, `query` and `demo`.
pub fn answer(ctx: &ApiContext, p: &Params, access: &Access) -> Result<V2Answer, ApiError> {
    answer_request(ctx, V2Request::parse(p), access)
}

/// Answer a request already read by [`V2Request::parse`] (the server reads it first to know
/// whether it is heavy). The token is checked before a problem of the request is reported.
pub fn answer_request(
    ctx: &ApiContext,
    request: Result<V2Request, ApiError>,
    access: &Access,
) -> Result<V2Answer, ApiError> {
    let internal = |e: anyhow::Error| ApiError::Internal(format!("{e}"));
    let token = match access {
        Access::Client(sent) if ctx.auth_required().map_err(internal)? => {
            Some(sent.as_deref().unwrap_or("").trim())
        }
        _ => None,
    };
    let token = if let Some(t) = token {
        if t.is_empty() {
            return Err(ApiError::NoToken);
        }
        match tokens::find(&ctx.store, t).map_err(internal)? {
            Some((name, rec)) => Some((name, rec)),
            None => return Err(ApiError::InvalidToken),
        }
    } else {
        None
    };
    let (body, cost) = match request? {
        V2Request::SubscriptionInfo => {
            let info = match &token {
                Some((name, rec)) => {
                    json!({"rows_left": rec.centirows_left / 100, "rows_limit": rec.rows_limit, "subscription": format!("linkdiff token {name}")})
                }
                None => {
                    json!({"rows_left": 0, "rows_limit": 0, "subscription": "linkdiff (no tokens: unlimited)"})
                }
            };
            (V2Body::Tree(json!({ "info": info })), 0)
        }
        V2Request::DomainRating(target) => {
            let rec = ctx
                .store
                .domain_or_imported(target.registrable_domain())
                .map_err(|e| internal(e.into()))?
                .unwrap_or_default();
            let mut domain =
                json!({"domain_rating": rec.domain_rating, "ahrefs_top": rec.ahrefs_top});
            // An imported rating says where it came from; a crawl's answer keeps v2's shape.
            if let Some(source) = rec.source {
                domain["domain_rating_source"] = source.name().into();
            }
            (V2Body::Tree(json!({ "domain": domain })), 100)
        }
        V2Request::Table { table, params: qp } => {
            let r = query::run(&ctx.store, table, &qp).map_err(|e| {
                if let query::QueryError::Store(t @ StoreError::TimedOut { .. }) = &e {
                    tracing::warn!(
                        from = table.name(),
                        target = ?qp.target,
                        where_ = %qp.where_,
                        having = %qp.having,
                        order_by = qp.order_by.as_deref().unwrap_or(""),
                        "query stopped: {t}"
                    );
                }
                ApiError::Query(e)
            })?;
            let cost = centirows_per_request(table)
                + centirows_per_result(table) * r.rows.len() as u64
                + if qp.where_.terms.is_empty() { 0 } else { 500 }
                + if qp.having.terms.is_empty() { 0 } else { 500 };
            (V2Body::Table(r), cost)
        }
    };
    let rows_left = match token {
        None => None,
        Some((name, _)) => {
            let _guard = ctx
                .spend_lock
                .lock()
                .map_err(|_| ApiError::Internal("quota lock".into()))?;
            match tokens::spend(&ctx.store, &name, cost).map_err(internal)? {
                Ok(left) => Some(left),
                Err(left) => {
                    return Err(ApiError::QuotaExhausted {
                        token: name,
                        cost,
                        left,
                    })
                }
            }
        }
    };
    Ok(V2Answer {
        body,
        cost,
        rows_left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heavy(q: &str) -> bool {
        V2Request::parse(&Params::parse(q).expect("valid query")).is_ok_and(|r| r.is_heavy())
    }

    #[test]
    fn wide_grouped_sorted_or_filtered_requests_are_heavy() {
        assert!(!heavy(
            "from=backlinks&target=http://a.test/p&mode=exact&order_by=anchor"
        ));
        assert!(!heavy("from=anchors&target=http://a.test/p"));
        assert!(!heavy("from=backlinks&target=a.test&mode=domain&limit=10"));
        assert!(!heavy("from=subscription_info"));
        assert!(heavy("from=anchors&target=test&mode=subdomains"));
        assert!(heavy(
            "from=refdomains_new_lost_counters&target=a.test&mode=domain"
        ));
        assert!(heavy(
            "from=backlinks_one_per_domain&target=a.test&mode=prefix"
        ));
        assert!(heavy(
            "from=backlinks&target=a.test&mode=domain&order_by=domain_rating:desc"
        ));
        assert!(heavy(
            "from=backlinks&target=a.test&mode=domain&where=nofollow=false"
        ));
    }
}
