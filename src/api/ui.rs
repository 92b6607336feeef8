//! The dashboard at `/ui`: static files embedded in the binary (no build step, nothing to
//! install) that read the v2 API of the same server, plus two small JSON endpoints for what
//! the v2 API has no table for: the watched links with their states, and the last runs.
//! Tokens apply as on the API: when the server needs one, the page asks for it and sends it.

use super::{tokens, ApiContext};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as J};
use std::collections::HashMap;

const INDEX: &str = include_str!("ui/index.html");
const APP: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/style.css");
/// uPlot 1.6.32 (MIT, `ui/vendor/uPlot.LICENSE`), the charts: 51 KB, no dependencies, no build
/// step, canvas-drawn time series with bars, hover values and drag-to-zoom (ARCHITECTURE.md
/// says why this library).
const UPLOT_JS: &str = include_str!("ui/vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("ui/vendor/uPlot.min.css");

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// `/ui`.
pub async fn index() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `/ui/app.js`.
pub async fn app() -> Response {
    file(APP, "text/javascript; charset=utf-8")
}

/// `/ui/style.css`.
pub async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}

/// `/ui/uplot.js`: the vendored chart library.
pub async fn uplot_js() -> Response {
    file(UPLOT_JS, "text/javascript; charset=utf-8")
}

/// `/ui/uplot.css`: the chart library's styles.
pub async fn uplot_css() -> Response {
    file(UPLOT_CSS, "text/css; charset=utf-8")
}

fn json_reply(status: StatusCode, v: J) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The token check of the v2 API: `None` when the request may go on.
fn refused(ctx: &ApiContext, q: &HashMap<String, String>) -> Option<Response> {
    let need = match ctx.auth_required() {
        Ok(n) => n,
        Err(e) => {
            return Some(json_reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": e.to_string()}),
            ))
        }
    };
    if !need {
        return None;
    }
    let t = q.get("token").map(|t| t.trim()).unwrap_or("");
    match tokens::find(&ctx.store, t) {
        Ok(Some(_)) if !t.is_empty() => None,
        _ => Some(json_reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "This server requires a token: enter it in the Token field"}),
        )),
    }
}

async fn blocking(ctx: ApiContext, f: fn(&ApiContext) -> anyhow::Result<J>) -> Response {
    match tokio::task::spawn_blocking(move || f(&ctx)).await {
        Ok(Ok(v)) => json_reply(StatusCode::OK, v),
        Ok(Err(e)) => json_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": crate::sentence::of(&e)}),
        ),
        Err(_) => json_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "Internal error"}),
        ),
    }
}

/// `/ui/api/watch`: every watched link with its state (as `linkdiff watch status`).
pub async fn watched(
    State(ctx): State<ApiContext>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&ctx, &q) {
        return r;
    }
    blocking(ctx, |ctx| {
        let rows = crate::watched::watched(&ctx.store)?
            .iter()
            .map(|w| crate::watched::status(&ctx.store, w))
            .collect::<anyhow::Result<Vec<J>>>()?;
        Ok(json!({ "watched": rows }))
    })
    .await
}

/// `/ui/api/runs`: the last 50 runs, newest first.
pub async fn runs(
    State(ctx): State<ApiContext>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&ctx, &q) {
        return r;
    }
    blocking(ctx, |ctx| {
        use linkdiff_query::time::iso;
        let rows: Vec<J> = ctx
            .store
            .runs()?
            .iter()
            .rev()
            .take(50)
            .map(|r| {
                json!({
                    "id": r.id, "kind": if r.is_import() { "import" } else { "crawl" },
                    "as_of": iso(r.as_of), "finished": r.finished.map(iso),
                    "fetched": r.fetched, "new_pages": r.new_pages, "errors": r.errors,
                })
            })
            .collect();
        Ok(json!({ "runs": rows }))
    })
    .await
}
