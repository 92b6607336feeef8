//! The axum router and server loop.

use super::dataforseo::DfsStatus;
use super::render::Format;
use super::{
    answer_request, dataforseo, params::Params, render_result, tokens, Access, ApiContext,
};
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
        .route("/v3/backlinks/{function}/{live}", post(dfs_route))
        .route(
            "/v3/backlinks/available_filters",
            axum::routing::get(|| async {
                let (status, body) = super::dfs_filters::answer();
                json_response(status, &body)
            }),
        )
        .route("/v3/site-explorer/{name}", any(v3))
        .route("/v3/subscription-info/{name}", any(v3))
        .route("/v3/batch-analysis/{name}", any(v3))
        .route("/ui", axum::routing::get(super::ui::index))
        .route("/ui/", axum::routing::get(super::ui::index))
        .route("/ui/app.js", axum::routing::get(super::ui::app))
        .route("/ui/style.css", axum::routing::get(super::ui::style))
        .route("/ui/uplot.js", axum::routing::get(super::ui::uplot_js))
        .route("/ui/uplot.css", axum::routing::get(super::ui::uplot_css))
        .route("/ui/api/watch", axum::routing::get(super::ui::watched))
        .route("/ui/api/runs", axum::routing::get(super::ui::runs))
        .fallback(not_found)
        .with_state(ctx)
}

/// Largest request body read.
const MAX_BODY: usize = 8 * 1024 * 1024;

async fn v2(State(ctx): State<ApiContext>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let too_long = req.extensions().get::<TargetTooLong>().is_some();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY).await;
    let params = if too_long {
        Err(format!(
            "The request line is longer than {} bytes; send long where/having expressions with POST",
            super::rawline::MAX_TARGET
        ))
    } else {
        body.map_err(|_| format!("The request body is over {MAX_BODY} bytes or was cut off"))
            .and_then(|body| {
                let mut params = Params::parse(&raw_query)?;
                if method == Method::POST && !body.is_empty() {
                    params.extend(Params::parse_bytes(&body)?);
                }
                Ok(params)
            })
    };
    // A heavy request waits for its turn; cheap ones never wait.
    let params = params.map(|p| {
        let request = super::V2Request::parse(&p);
        (p, request)
    });
    let heavy = matches!(&params, Ok((_, Ok(r))) if r.is_heavy());
    let turn = match heavy {
        true => match tokio::time::timeout(HEAVY_WAIT, ctx.heavy.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                let busy = "The server is busy with other large queries (whole domains, grouped tables, sorted or filtered scans); retry later";
                return json_response(200, &serde_json::json!({ "error": busy }));
            }
        },
        false => None,
    };
    let work = move || {
        let _turn = turn;
        let (params, request) = match params {
            Ok(p) => p,
            Err(e) => return (Format::Json, Err(super::ApiError::BadRequest(e))),
        };
        let format = match Format::for_api(params.get("output").unwrap_or("json").trim()) {
            Ok(f) => f,
            Err(e) => return (Format::Json, Err(super::ApiError::BadRequest(e))),
        };
        let access = Access::Client(params.get("token").map(str::to_string));
        (
            format,
            ctx.limited(|| answer_request(&ctx, request, &access)),
        )
    };
    // Cheap requests (an exact target, or a key-order scan that stops after its page: well
    // under a millisecond) run on the I/O thread: the hop to the blocking pool and back cost
    // more than the query. Heavy ones, which already took a turn, go to the blocking pool.
    let answered = if heavy {
        tokio::task::spawn_blocking(work).await
    } else {
        Ok(work())
    };
    let (format, result) = match answered {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("v2 handler panicked: {e}");
            return json_response(500, &serde_json::json!({"error": "Internal error"}));
        }
    };
    let (cost, rows_left) = result.as_ref().map_or((0, None), |a| (a.cost, a.rows_left));
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        error = result.is_err(),
        cost,
        "GET /"
    );
    let body = render_result(&result, format);
    // Over HTTP the format is json, xml or php, and errors keep it.
    let content_type = format.content_type();
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&tokens::rows_text(cost)) {
        h.insert("x-rows-cost", v);
    }
    if let Some(left) = rows_left {
        if let Ok(v) = HeaderValue::from_str(&tokens::rows_text(left)) {
            h.insert("x-rows-left", v);
        }
    }
    resp
}

/// An Ahrefs v3 request (`GET /v3/site-explorer/…`, `/v3/subscription-info/…`): the bearer
/// token from `Authorization`, the parameters from the query string. List endpoints read a
/// whole target, so they take turns with the other heavy requests.
async fn v3(State(ctx): State<ApiContext>, req: Request) -> Response {
    let started = Instant::now();
    let path = req.uri().path().trim_start_matches("/v3/").to_string();
    let Some(endpoint) = super::v3::Endpoint::from_path(&path) else {
        return not_found(req).await;
    };
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_string);
    let params = match Params::parse(req.uri().query().unwrap_or("")) {
        Ok(p) => p,
        Err(e) => return json_response(400, &serde_json::json!({ "error": e })),
    };
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = format!("The request body is over {MAX_BODY} bytes or was cut off");
            return json_response(400, &serde_json::json!({ "error": e }));
        }
    };
    let cheap = endpoint.is_cheap(&params);
    let heavy = endpoint.is_heavy() && !cheap;
    let turn = if heavy {
        match tokio::time::timeout(HEAVY_WAIT, ctx.heavy.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                let busy = "The server is busy with other large queries; retry later";
                return json_response(429, &serde_json::json!({ "error": busy }));
            }
        }
    } else {
        None
    };
    let work = move || {
        let _turn = turn;
        ctx.limited(|| super::v3::answer(&ctx, endpoint, &params, &body, bearer.as_deref()))
    };
    // Cheap requests run on the I/O thread, as v2's do: the hop to the blocking pool and back
    // cost more than their query (BENCHMARKS.md "v3 under the HTTP load").
    let reply = if cheap {
        Ok(work())
    } else {
        tokio::task::spawn_blocking(work).await
    };
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("v3 handler panicked: {e}");
            return json_response(500, &serde_json::json!({"error": "Internal error"}));
        }
    };
    tracing::info!(
        status = reply.status,
        elapsed_ms = started.elapsed().as_millis() as u64,
        path,
        "GET"
    );
    let mut resp = Response::new(Body::from(reply.body));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static(reply.content_type));
    if let Some((rows, units)) = reply.cost {
        h.insert("x-api-rows", HeaderValue::from(rows));
        h.insert("x-api-units-cost-row", HeaderValue::from_static("1"));
        h.insert("x-api-units-cost-total-actual", HeaderValue::from(units));
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

/// The DataForSEO endpoints served.
#[derive(Debug, Clone, Copy)]
enum Dfs {
    Bulk(dataforseo::Bulk),
    Summary,
    Competitors,
    Intersection,
    PageIntersection,
    Pages(super::dfs_pages::PagesList),
    Series(super::dfs_timeseries::Series),
    List(super::dfs_lists::List),
}

impl Dfs {
    /// The endpoint of a function name (`summary`, `bulk_ranks`, …).
    fn from_function(f: &str) -> Option<Dfs> {
        use super::dfs_lists::List;
        Some(match f {
            "summary" => Dfs::Summary,
            "competitors" => Dfs::Competitors,
            "domain_intersection" => Dfs::Intersection,
            "page_intersection" => Dfs::PageIntersection,
            "domain_pages_summary" => Dfs::Pages(super::dfs_pages::PagesList::DomainPagesSummary),
            "referring_networks" => Dfs::Pages(super::dfs_pages::PagesList::ReferringNetworks),
            "domain_pages" => Dfs::Pages(super::dfs_pages::PagesList::DomainPages),
            "timeseries_new_lost_summary" => Dfs::Series(super::dfs_timeseries::Series::NewLost),
            "timeseries_summary" => Dfs::Series(super::dfs_timeseries::Series::Totals),
            "history" => Dfs::Series(super::dfs_timeseries::Series::History),
            "backlinks" => Dfs::List(List::Backlinks),
            "referring_domains" => Dfs::List(List::ReferringDomains),
            "anchors" => Dfs::List(List::Anchors),
            _ => Dfs::Bulk(
                dataforseo::Bulk::ALL
                    .into_iter()
                    .find(|b| b.function() == f)?,
            ),
        })
    }

    fn path(self) -> String {
        match self {
            Dfs::Bulk(k) => k.path(),
            Dfs::Summary => "/v3/backlinks/summary/live".into(),
            Dfs::Competitors => "/v3/backlinks/competitors/live".into(),
            Dfs::Intersection => "/v3/backlinks/domain_intersection/live".into(),
            Dfs::PageIntersection => "/v3/backlinks/page_intersection/live".into(),
            Dfs::Pages(l) => format!("/v3/backlinks/{}/live", l.function()),
            Dfs::Series(k) => format!("/v3/backlinks/{}/live", k.function()),
            Dfs::List(l) => format!("/v3/backlinks/{}/live", l.function()),
        }
    }
}

/// `POST /v3/backlinks/{function}/live`, and the same at `live.ai` (the path DataForSEO's MCP
/// server calls; the answer is the same).
async fn dfs_route(
    axum::extract::Path((function, live)): axum::extract::Path<(String, String)>,
    state: State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match Dfs::from_function(&function).filter(|_| live == "live" || live == "live.ai") {
        Some(endpoint) => dfs(endpoint, state, headers, body).await,
        None => {
            let (status, body) = DfsStatus::NotFound.reply(Instant::now());
            json_response(status, &body)
        }
    }
}

/// A DataForSEO endpoint: Basic auth with a token when tokens are required, then the answer.
async fn dfs(
    endpoint: Dfs,
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let res = tokio::task::spawn_blocking(move || -> anyhow::Result<(u16, J)> {
        let ctx = &ctx;
        ctx.limited(|| dfs_answer(endpoint, ctx, &headers, &body, started))
    })
    .await;
    dfs_reply(endpoint, res, started)
}

/// A DataForSEO request's answer, under the context's query time limit.
fn dfs_answer(
    endpoint: Dfs,
    ctx: &ApiContext,
    headers: &HeaderMap,
    body: &Bytes,
    started: Instant,
) -> anyhow::Result<(u16, J)> {
    {
        if ctx.auth_required()? {
            let ok = match basic_auth(headers) {
                Some((name, token)) => tokens::check_pair(&ctx.store, &name, &token)?.is_some(),
                None => false,
            };
            if !ok {
                return Ok(DfsStatus::Unauthorized.reply(started));
            }
        }
        Ok(match endpoint {
            Dfs::Bulk(kind) => {
                dataforseo::answer(&ctx.store, kind, body, chrono::Utc::now().timestamp())
            }
            Dfs::Summary => super::dfs_summary::answer(&ctx.store, body),
            Dfs::Competitors => super::dfs_competitors::answer(&ctx.store, body),
            Dfs::Intersection => super::dfs_intersection::answer(&ctx.store, body),
            Dfs::PageIntersection => super::dfs_intersection::answer_pages(&ctx.store, body),
            Dfs::Pages(l) => super::dfs_pages::answer(&ctx.store, l, body),
            Dfs::List(l) => super::dfs_lists::answer(&ctx.store, l, body),
            Dfs::Series(k) => super::dfs_timeseries::answer_series(
                &ctx.store,
                k,
                body,
                chrono::Utc::now().timestamp(),
            ),
        })
    }
}

/// The HTTP response of a DataForSEO request, logged.
fn dfs_reply(
    endpoint: Dfs,
    res: Result<anyhow::Result<(u16, J)>, tokio::task::JoinError>,
    started: Instant,
) -> Response {
    let (status, body) = match res {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::error!("{}: {e:#}", endpoint.path());
            DfsStatus::Internal.reply(started)
        }
        Err(_) => DfsStatus::Internal.reply(started),
    };
    tracing::info!(
        status,
        elapsed_ms = started.elapsed().as_millis() as u64,
        path = endpoint.path(),
        "POST"
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
        let (status, body) = DfsStatus::NotFound.reply(Instant::now());
        json_response(status, &body)
    } else {
        json_response(
            404,
            &serde_json::json!({"error": format!("Unknown path '{path}': the Ahrefs v2 API is on / and DataForSEO on /v3/backlinks/summary/live, /v3/backlinks/backlinks/live, /v3/backlinks/referring_domains/live, /v3/backlinks/anchors/live, /v3/backlinks/timeseries_new_lost_summary/live, /v3/backlinks/bulk_new_lost_backlinks/live and /v3/backlinks/bulk_new_lost_referring_domains/live")}),
        )
    }
}

/// Limits of the HTTP edge.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A connection that has not sent a complete request head this long after it opened or
    /// after its last answer is closed (slow or idle clients cannot hold connections).
    pub header_timeout: std::time::Duration,
    /// Heavy requests ([`super::V2Request::is_heavy`]) running at once; the others wait their turn (up
    /// to [`HEAVY_WAIT`]) while cheap requests go straight on.
    pub heavy_queries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            header_timeout: std::time::Duration::from_secs(10),
            heavy_queries: (cores / 2).max(1),
        }
    }
}

/// Longest wait for a turn to run a heavy request before answering that the server is busy.
pub const HEAVY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Marks a request whose target was longer than [`super::rawline::MAX_TARGET`] (set by the
/// connection from the request-line adapter's out-of-band signal, never by the client).
#[derive(Debug, Clone, Copy)]
pub struct TargetTooLong;

/// [`serve_with`] with the default [`Limits`].
pub async fn serve(
    ctx: ApiContext,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(ctx, listener, Limits::default(), shutdown).await
}

/// Serve until `shutdown` completes, then let requests in flight finish.
///
/// Connections are kept alive; every request line is repaired first (see
/// [`super::rawline`]) so that raw `" < >` from Ahrefs v2 clients are accepted.
pub async fn serve_with(
    ctx: ApiContext,
    listener: tokio::net::TcpListener,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper::service::Service;
    let mut ctx = ctx;
    ctx.heavy = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.heavy_queries.max(1)));
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
        let too_long = super::rawline::TooLong::default();
        let io = hyper_util::rt::TokioIo::new(super::rawline::FixRequestLine::new(
            stream,
            too_long.clone(),
        ));
        let inner = hyper_util::service::TowerToHyperService::new(app.clone());
        let svc =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                if too_long.next_request() {
                    req.extensions_mut().insert(TargetTooLong);
                }
                inner.call(req)
            });
        let header_timeout = limits.header_timeout;
        conns.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(io, svc)
                .await;
        });
        while conns.try_join_next().is_some() {}
    }
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drain).await;
    Ok(())
}
