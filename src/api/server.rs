//! The axum router and server loop.

use super::{answer_v2, dataforseo, params::Params, tokens, ApiContext};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{any, post};
use axum::Router;
use base64::Engine;
use serde_json::Value as J;
use std::time::Instant;

/// The router.
pub fn router(ctx: ApiContext) -> Router {
    Router::new()
        .route("/", any(v2))
        .route("/v3/backlinks/bulk_new_lost_backlinks/live", post(bulk))
        .fallback(not_found)
        .with_state(ctx)
}

/// Largest request body read.
const MAX_BODY: usize = 8 * 1024 * 1024;

async fn v2(State(ctx): State<ApiContext>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let answer = tokio::task::spawn_blocking(move || {
        let mut params = Params::parse(&raw_query)?;
        if method == Method::POST && !body.is_empty() {
            params.extend(Params::parse_bytes(&body)?);
        }
        Ok::<_, String>(answer_v2(&ctx, &params, false))
    })
    .await;
    let answer = match answer {
        Ok(Ok(a)) => a,
        Ok(Err(msg)) => super::Answer {
            body: super::render::render(
                &super::render::error_tree(&msg),
                super::render::Format::Json,
            ),
            format: super::render::Format::Json,
            cost: 0,
            rows_left: None,
            error: true,
        },
        Err(e) => {
            tracing::error!("v2 handler panicked: {e}");
            return json_response(500, &serde_json::json!({"error": "Internal error"}));
        }
    };
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        error = answer.error,
        cost = answer.cost,
        "GET /"
    );
    let mut resp = Response::new(Body::from(answer.body));
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static(answer.format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&tokens::rows_text(answer.cost)) {
        h.insert("x-rows-cost", v);
    }
    if let Some(left) = answer.rows_left {
        if let Ok(v) = HeaderValue::from_str(&tokens::rows_text(left)) {
            h.insert("x-rows-left", v);
        }
    }
    resp
}

fn json_response(status: u16, body: &J) -> Response {
    let mut resp = Response::new(Body::from(serde_json::to_string(body).unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

async fn bulk(State(ctx): State<ApiContext>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let res = tokio::task::spawn_blocking(move || -> anyhow::Result<(u16, J)> {
        if ctx.auth_required()? {
            let ok = match basic_auth(&headers) {
                Some((name, token)) => tokens::check_pair(&ctx.store, &name, &token)?.is_some(),
                None => false,
            };
            if !ok {
                return Ok((
                    401,
                    dataforseo::envelope(
                        40100,
                        "You are not authorized to access this resource.",
                        vec![],
                        started,
                    ),
                ));
            }
        }
        Ok(dataforseo::answer(
            &ctx.store,
            &body,
            chrono::Utc::now().timestamp(),
        ))
    })
    .await;
    let (status, body) = match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!("bulk_new_lost_backlinks: {e:#}");
            (
                500,
                dataforseo::envelope(50000, "Internal Error.", vec![], started),
            )
        }
        Err(_) => (
            500,
            dataforseo::envelope(50000, "Internal Error.", vec![], started),
        ),
    };
    tracing::info!(
        status,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "POST /v3/backlinks/bulk_new_lost_backlinks/live"
    );
    let mut resp = json_response(status, &body);
    if status == 401 {
        resp.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"linkdiff\""),
        );
    }
    resp
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_string();
    tracing::info!(path, "404");
    if path.starts_with("/v3") {
        json_response(
            404,
            &dataforseo::envelope(40400, "Not Found.", vec![], Instant::now()),
        )
    } else {
        json_response(
            404,
            &serde_json::json!({"error": format!("Unknown path '{path}': the Ahrefs v2 API is on / and DataForSEO on /v3/backlinks/bulk_new_lost_backlinks/live")}),
        )
    }
}

/// Serve until `shutdown` completes, then let requests in flight finish.
///
/// Each connection serves one request: the request line is repaired first (see
/// [`super::rawline`]) so that raw `" < >` from Ahrefs v2 clients are accepted.
pub async fn serve(
    ctx: ApiContext,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(ctx);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let io = hyper_util::rt::TokioIo::new(super::rawline::FixRequestLine::new(stream));
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        conns.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(io, svc)
                .await;
        });
        while conns.try_join_next().is_some() {}
    }
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drain).await;
    Ok(())
}
