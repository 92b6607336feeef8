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
use linkdiff_store::RatingKind;
use serde_json::{json, Map, Value as J};
use std::cmp::Ordering;

mod backlinks;
mod batch;
mod history;
mod outlinks;
mod pushdown;
mod request;
mod similar;
mod stats;
use backlinks::*;
use pushdown::*;
use request::*;
use stats::*;

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
    /// `site-explorer/pages-by-backlinks` (formerly `best-by-external-links`).
    PagesByBacklinks,
    /// `site-explorer/outlinks-stats`.
    OutlinksStats,
    /// `site-explorer/linkeddomains`.
    Linkeddomains,
    /// `site-explorer/linked-anchors-external`.
    LinkedAnchorsExternal,
    /// `site-explorer/linked-anchors-internal`.
    LinkedAnchorsInternal,
    /// `site-explorer/refdomains-history`.
    RefdomainsHistory,
    /// `site-explorer/broken-backlinks`.
    BrokenBacklinks,
    /// `POST batch-analysis/batch-analysis`.
    BatchAnalysis,
    /// `site-explorer/pages-by-internal-links` (formerly `best-by-internal-links`).
    PagesByInternalLinks,
    /// `site-explorer/domain-rating-history`.
    DomainRatingHistory,
    /// `site-explorer/url-rating-history`.
    UrlRatingHistory,
}

impl Endpoint {
    /// Every endpoint with its path under `/v3/`.
    pub const ALL: [(Endpoint, &'static str); 19] = [
        (Endpoint::AllBacklinks, "site-explorer/all-backlinks"),
        (Endpoint::Refdomains, "site-explorer/refdomains"),
        (Endpoint::Anchors, "site-explorer/anchors"),
        (Endpoint::BacklinksStats, "site-explorer/backlinks-stats"),
        (Endpoint::DomainRating, "site-explorer/domain-rating"),
        (
            Endpoint::LimitsAndUsage,
            "subscription-info/limits-and-usage",
        ),
        (
            Endpoint::PagesByBacklinks,
            "site-explorer/pages-by-backlinks",
        ),
        (
            Endpoint::PagesByBacklinks,
            "site-explorer/best-by-external-links",
        ),
        (Endpoint::OutlinksStats, "site-explorer/outlinks-stats"),
        (Endpoint::Linkeddomains, "site-explorer/linkeddomains"),
        (
            Endpoint::LinkedAnchorsExternal,
            "site-explorer/linked-anchors-external",
        ),
        (
            Endpoint::LinkedAnchorsInternal,
            "site-explorer/linked-anchors-internal",
        ),
        (
            Endpoint::RefdomainsHistory,
            "site-explorer/refdomains-history",
        ),
        (Endpoint::BrokenBacklinks, "site-explorer/broken-backlinks"),
        (Endpoint::BatchAnalysis, "batch-analysis/batch-analysis"),
        (
            Endpoint::PagesByInternalLinks,
            "site-explorer/pages-by-internal-links",
        ),
        (
            Endpoint::PagesByInternalLinks,
            "site-explorer/best-by-internal-links",
        ),
        (
            Endpoint::DomainRatingHistory,
            "site-explorer/domain-rating-history",
        ),
        (
            Endpoint::UrlRatingHistory,
            "site-explorer/url-rating-history",
        ),
    ];

    /// The endpoint at `/v3/{path}`.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL
            .iter()
            .find(|(_, p)| *p == path)
            .map(|(e, _)| *e)
    }

    /// Whether the endpoint reads a whole target (it then takes turns with the other heavy
    /// requests): all but the domain rating and the key's usage.
    pub fn is_heavy(self) -> bool {
        !matches!(self, Endpoint::DomainRating | Endpoint::LimitsAndUsage)
    }

    /// Whether this request is one v2 `backlinks` read in key order that stops after its page
    /// (`all-backlinks` of live links, every one, no `where`, `order_by` or `protocol`: see
    /// [`pushdown`]): as cheap as v2's cheap requests, so the server answers it as it answers
    /// those (no turn, on the I/O thread).
    pub fn is_cheap(self, p: &Params) -> bool {
        let is = |k: &str, v: &str| p.get(k).map(str::trim) == Some(v);
        let unset = |k: &str| p.get(k).is_none_or(|v| v.trim().is_empty());
        self == Endpoint::AllBacklinks
            && is("history", "live")
            && is("aggregation", "all")
            && unset("where")
            && unset("order_by")
            && (unset("protocol") || is("protocol", "both"))
    }

    /// The fields of the endpoint's items (`select`, `where` and `order_by` name these).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::AllBacklinks => items::BACKLINK_FIELDS,
            Endpoint::BrokenBacklinks => items::BROKEN_FIELDS,
            Endpoint::Refdomains => items::REFDOMAIN_FIELDS,
            Endpoint::Anchors => items::ANCHOR_FIELDS,
            Endpoint::PagesByBacklinks => items::PAGE_FIELDS,
            Endpoint::PagesByInternalLinks => outlinks::INTERNAL_PAGE_FIELDS,
            Endpoint::Linkeddomains => outlinks::LINKEDDOMAIN_FIELDS,
            Endpoint::LinkedAnchorsExternal => outlinks::ANCHOR_EXTERNAL_FIELDS,
            Endpoint::LinkedAnchorsInternal => outlinks::ANCHOR_INTERNAL_FIELDS,
            _ => &[],
        }
    }

    /// The answer's root key.
    fn root(self) -> &'static str {
        match self {
            Endpoint::AllBacklinks | Endpoint::BrokenBacklinks => "backlinks",
            Endpoint::BatchAnalysis => "targets",
            Endpoint::Refdomains => "refdomains",
            Endpoint::Anchors => "anchors",
            Endpoint::BacklinksStats => "metrics",
            Endpoint::DomainRating => "domain_rating",
            Endpoint::LimitsAndUsage => "limits_and_usage",
            Endpoint::PagesByBacklinks | Endpoint::PagesByInternalLinks => "pages",
            Endpoint::OutlinksStats => "metrics",
            Endpoint::Linkeddomains => "linkeddomains",
            Endpoint::LinkedAnchorsExternal | Endpoint::LinkedAnchorsInternal => "linkedanchors",
            Endpoint::RefdomainsHistory => "refdomains",
            Endpoint::DomainRatingHistory => "domain_ratings",
            Endpoint::UrlRatingHistory => "url_ratings",
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
pub fn answer(
    ctx: &ApiContext,
    endpoint: Endpoint,
    p: &Params,
    body: &[u8],
    bearer: Option<&str>,
) -> V3Reply {
    match respond(ctx, endpoint, p, body, bearer) {
        Ok(r) => r,
        Err(e) => V3Reply {
            status: e.http_status(),
            content_type: "application/json",
            body: json!({ "error": e.to_string() }).to_string(),
            cost: None,
        },
    }
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
    body: &[u8],
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
        Endpoint::OutlinksStats => (outlinks::outlinks_stats(ctx, p)?, 1),
        Endpoint::BatchAnalysis => batch::batch_analysis(ctx, body)?,
        Endpoint::RefdomainsHistory
        | Endpoint::DomainRatingHistory
        | Endpoint::UrlRatingHistory => {
            let t = match endpoint {
                Endpoint::RefdomainsHistory => history::refdomains_history(ctx, p)?,
                _ => history::rating_history(ctx, endpoint, p)?,
            };
            let n = t[endpoint.root()].as_array().map_or(0, Vec::len);
            (t, n)
        }
        _ => list(ctx, endpoint, p)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_key_order_page_of_live_links_is_cheap() {
        let cheap = |e: Endpoint, q: &str| e.is_cheap(&Params::parse(q).unwrap());
        let live = "target=a.test&history=live&aggregation=all&select=url_from&limit=10";
        assert!(cheap(Endpoint::AllBacklinks, live));
        assert!(cheap(
            Endpoint::AllBacklinks,
            &format!("{live}&protocol=both&where=&order_by=")
        ));
        for extra in [
            "&order_by=domain_rating_source:desc",
            r#"&where={"field":"is_dofollow","is":["eq",1]}"#,
            "&protocol=https",
        ] {
            assert!(
                !cheap(Endpoint::AllBacklinks, &format!("{live}{extra}")),
                "{extra}"
            );
        }
        // v3's defaults (all time, similar links) read the whole list.
        assert!(!cheap(
            Endpoint::AllBacklinks,
            "target=a.test&select=url_from"
        ));
        assert!(!cheap(Endpoint::Refdomains, live));
    }
}
