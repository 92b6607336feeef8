//! The HTTP API (`linkdiff serve`): Ahrefs v2 on `/`, DataForSEO bulk new/lost on
//! `/v3/backlinks/bulk_new_lost_backlinks/live`. `linkdiff query` answers through the same
//! [`answer_v2`], so the CLI prints exactly what the server sends.

pub mod dataforseo;
pub mod params;
pub mod rawline;
pub mod render;
pub mod server;
pub mod tokens;

use linkdiff_query::{self as query, Mode, QueryParams, Table, MAX_LIMIT};
use linkdiff_store::Store;
use params::Params;
use render::Format;
use serde_json::{json, Value as J};
use std::sync::{Arc, Mutex};

/// Shared server state.
#[derive(Clone)]
pub struct ApiContext {
    /// The index.
    pub store: Store,
    /// The server listens on a non-loopback address (tokens are then always required).
    pub public: bool,
    /// Serialises quota spending.
    pub spend_lock: Arc<Mutex<()>>,
}

impl ApiContext {
    /// A context over `store`.
    pub fn new(store: Store, public: bool) -> Self {
        ApiContext {
            store,
            public,
            spend_lock: Arc::default(),
        }
    }

    /// Whether requests must carry a valid token.
    pub fn auth_required(&self) -> anyhow::Result<bool> {
        Ok(self.public || !self.store.tokens()?.is_empty())
    }
}

/// One answer of the v2 API.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Rendered body.
    pub body: String,
    /// Format used.
    pub format: Format,
    /// Rows this request cost, in hundredths.
    pub cost: u64,
    /// Rows left on the token, in hundredths (when a token was used).
    pub rows_left: Option<u64>,
    /// The body is an error.
    pub error: bool,
}

/// Rows a result row costs, in hundredths (seeds: 0.2 for backlinks and new/lost, 1 for
/// counters and anchors).
pub fn centirows_per_result(t: Table) -> u64 {
    match t {
        Table::Backlinks | Table::NewLost => 20,
        Table::Counters | Table::Anchors => 100,
    }
}

fn parse_count(p: &Params, name: &str, default: usize) -> Result<usize, String> {
    match p.get(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_LIMIT || name == "offset")
            .ok_or_else(|| format!("Parameter '{name}' must be a whole number between 0 and {MAX_LIMIT}, not '{v}'")),
    }
}

/// Answer Ahrefs v2 parameters. `cli` allows CLI-only formats and skips tokens.
pub fn answer_v2(ctx: &ApiContext, p: &Params, cli: bool) -> Answer {
    let format = match Format::parse(p.get("output").unwrap_or("json").trim(), cli) {
        Ok(f) => f,
        Err(e) => {
            return Answer {
                body: render::render(&render::error_tree(&e), Format::Json),
                format: Format::Json,
                cost: 0,
                rows_left: None,
                error: true,
            }
        }
    };
    match answer_tree(ctx, p, cli) {
        Ok((tree, cost, rows_left)) => Answer {
            body: render::render(&tree, format),
            format,
            cost,
            rows_left,
            error: false,
        },
        Err(e) => Answer {
            body: render::render(
                &render::error_tree(&e),
                if matches!(format, Format::Xml | Format::Php) {
                    format
                } else {
                    Format::Json
                },
            ),
            format,
            cost: 0,
            rows_left: None,
            error: true,
        },
    }
}

fn answer_tree(ctx: &ApiContext, p: &Params, cli: bool) -> Result<(J, u64, Option<u64>), String> {
    let internal = |e: anyhow::Error| format!("Internal error: {e}");
    let token = if cli || !ctx.auth_required().map_err(internal)? {
        None
    } else {
        let t = p.get("token").unwrap_or("").trim();
        if t.is_empty() {
            return Err(
                "This server requires a token: add token=... (see linkdiff token create)".into(),
            );
        }
        match tokens::find(&ctx.store, t).map_err(internal)? {
            Some((name, rec)) => Some((name, rec)),
            None => return Err("Invalid token".into()),
        }
    };
    let from = p.get("from").unwrap_or("").trim();
    let (tree, cost) = match from {
        "" => return Err("Parameter 'from' is required (backlinks, backlinks_new_lost, backlinks_new_lost_counters, anchors, domain_rating or subscription_info)".into()),
        "subscription_info" => {
            let info = match &token {
                Some((name, rec)) => json!({"rows_left": rec.centirows_left / 100, "rows_limit": rec.rows_limit, "subscription": format!("linkdiff token {name}")}),
                None => json!({"rows_left": 0, "rows_limit": 0, "subscription": "linkdiff (no tokens: unlimited)"}),
            };
            (json!({ "info": info }), 0)
        }
        "domain_rating" => {
            let target = p.get("target").unwrap_or("").trim();
            if target.is_empty() {
                return Err("Parameter 'target' is required".into());
            }
            let host = linkdiff_store::model::url_host(target.trim_start_matches("https://").trim_start_matches("http://")).to_ascii_lowercase();
            let d = linkdiff_store::registrable_domain(&host).to_string();
            let rec = ctx.store.domain(&d).map_err(|e| internal(e.into()))?.unwrap_or_default();
            (json!({"domain": {"domain_rating": rec.domain_rating, "ahrefs_top": rec.ahrefs_top}}), 100)
        }
        t => {
            let table: Table = t.parse()?;
            let mode: Mode = p.get("mode").map(str::trim).filter(|m| !m.is_empty()).unwrap_or("exact").parse()?;
            let target = p.get("target").unwrap_or("").trim();
            if target.is_empty() {
                return Err("Parameter 'target' is required".into());
            }
            let qp = QueryParams {
                target: target.to_string(),
                mode,
                select: p.get("select").map(str::to_string),
                where_: p.get("where").map(str::to_string).filter(|s| !s.trim().is_empty()),
                having: p.get("having").map(str::to_string).filter(|s| !s.trim().is_empty()),
                order_by: p.get("order_by").map(str::to_string),
                limit: parse_count(p, "limit", 1000)?,
                offset: parse_count(p, "offset", 0)?,
            };
            let r = query::run(&ctx.store, table, &qp).map_err(|e| e.to_string())?;
            let cost = 100
                + centirows_per_result(table) * r.rows.len() as u64
                + if qp.where_.is_some() { 500 } else { 0 }
                + if qp.having.is_some() { 500 } else { 0 };
            (render::tree(&r), cost)
        }
    };
    let rows_left = match token {
        None => None,
        Some((name, _)) => {
            let _guard = ctx
                .spend_lock
                .lock()
                .map_err(|_| "Internal error: quota lock".to_string())?;
            match tokens::spend(&ctx.store, &name, cost).map_err(internal)? {
                Ok(left) => Some(left),
                Err(left) => {
                    return Err(format!(
                        "Row quota exhausted: this request costs {} rows and token '{name}' has {} left",
                        tokens::rows_text(cost),
                        tokens::rows_text(left)
                    ))
                }
            }
        }
    };
    Ok((tree, cost, rows_left))
}
