//! Serving the test web over HTTP on a loopback port, dispatching on the Host header.

use crate::TestWeb;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every request the web answered: (host, path, when).
pub type RequestLog = Arc<Mutex<Vec<(String, String, Instant)>>>;

/// A test web being served.
pub struct RunningWeb {
    /// The generator (switch epochs through it).
    pub web: Arc<TestWeb>,
    /// Bound address (127.0.0.1:port).
    pub addr: SocketAddr,
    /// Request log, for politeness tests.
    pub log: RequestLog,
    /// `304 Not Modified` answers given (conditional requests whose `ETag` matched).
    pub not_modified: Arc<std::sync::atomic::AtomicU64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RunningWeb {
    /// The `--resolve` argument that routes every `.test` host to this server.
    pub fn resolve_arg(&self) -> String {
        format!("*.test:{}:127.0.0.1", self.addr.port())
    }

    /// A crawl of this web (used by `demo` and the tests): every host seeded, `--scope hosts`,
    /// no rate limit (the hosts are ours), `*.test` resolved to this server, quick retries.
    pub fn crawl_config(&self, as_of: Option<i64>) -> linkdiff_crawler::CrawlConfig {
        use linkdiff_crawler::resolve::{GuardedResolver, ResolveRule};
        linkdiff_crawler::CrawlConfig {
            seeds: self
                .web
                .seeds()
                .iter()
                .filter_map(|s| url::Url::parse(s).ok())
                .collect(),
            watched: Vec::new(),
            as_of,
            scope: linkdiff_crawler::Scope::Hosts,
            max_pages: None,
            max_depth: None,
            max_pages_per_host: None,
            rate: 0.0,
            concurrency: 16,
            retries: 1,
            retry_backoff: Duration::from_millis(50),
            max_resident: linkdiff_crawler::MAX_RESIDENT,
            // Rechecks on, and quick: the tests' crawls go through them.
            recheck_delay: Some(Duration::from_millis(20)),
            partition: None,
            revalidate_every: 8,
            // Off: the tests that count requests per host expect pages only (the sitemap
            // tests turn it on).
            sitemaps: false,
            max_sitemap_urls: 50_000,
            render: Default::default(),
            render_pages: Vec::new(),
            fetch: linkdiff_crawler::fetch::FetchConfig {
                user_agent: concat!("linkdiff/", env!("CARGO_PKG_VERSION")).into(),
                timeout: Duration::from_secs(10),
                max_body: 5 << 20,
                resolver: GuardedResolver {
                    rules: Arc::new(vec![ResolveRule {
                        host: "*.test".into(),
                        port: self.addr.port(),
                        addr: std::net::Ipv4Addr::LOCALHOST.into(),
                    }]),
                    allow_private: false,
                    dns: Default::default(),
                },
                ca_certs: Vec::new(),
            },
        }
    }
}

impl Drop for RunningWeb {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Clone)]
struct Ctx {
    web: Arc<TestWeb>,
    log: RequestLog,
    not_modified: Arc<std::sync::atomic::AtomicU64>,
}

/// Bind `127.0.0.1:0` (or `port`) and serve `web` on the current tokio runtime.
pub async fn serve(web: TestWeb, port: u16) -> std::io::Result<RunningWeb> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    web.set_port(addr.port());
    let web = Arc::new(web);
    let log: RequestLog = Arc::default();
    let not_modified: Arc<std::sync::atomic::AtomicU64> = Arc::default();
    let ctx = Ctx {
        web: web.clone(),
        log: log.clone(),
        not_modified: not_modified.clone(),
    };
    let app = axum::Router::new().fallback(handle).with_state(ctx);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningWeb {
        web,
        addr,
        log,
        not_modified,
        shutdown: Some(tx),
    })
}

async fn handle(State(ctx): State<Ctx>, req: Request) -> Response {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    let path = req.uri().path().to_string();
    ctx.log.lock().expect("log lock").push((
        host.split(':').next().unwrap_or("").to_string(),
        path.clone(),
        Instant::now(),
    ));
    if let Some(e) = path
        .strip_prefix("/_testweb/epoch/")
        .and_then(|e| e.parse().ok())
    {
        ctx.web.set_epoch(e);
        return Response::new(Body::from(format!("epoch {e}\n")));
    }
    #[cfg(feature = "misbehave")]
    if let Some(resp) = special(&path).await {
        return resp;
    }
    if ctx.web.config().sitemap_orphans > 0 {
        if let Some(resp) = sitemaps(&ctx.web, &host, &path) {
            return resp;
        }
    }
    let (code, headers, body) = ctx.web.respond(&host, &path);
    // Conditional requests as real servers answer them: a strong `ETag` from the body, and
    // `304 Not Modified` (no body) when `If-None-Match` names it.
    let etag = (code == 200).then(|| format!("\"{:016x}\"", fnv(body.as_ref())));
    if let Some(tag) = &etag {
        let asked = req
            .headers()
            .get("if-none-match")
            .and_then(|h| h.to_str().ok());
        if asked.is_some_and(|a| a.split(',').any(|t| t.trim() == tag)) {
            ctx.not_modified
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            if let Ok(v) = HeaderValue::from_str(tag) {
                resp.headers_mut().insert("etag", v);
            }
            return resp;
        }
    }
    let mut resp = Response::new(Body::from(body));
    if let Some(v) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        resp.headers_mut().insert("etag", v);
    }
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(name), Ok(val)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(name, val);
        }
    }
    resp
}

/// The sitemaps of a web with `sitemap_orphans` (N) pages per host that nothing links to
/// (`/orphan/I.html`, each linking to `h000.test`'s root):
/// - even hosts: robots.txt names `/maps/index.xml` (and a sitemap on another host, which a
///   crawler must skip); the index lists `/maps/pages.xml.gz` (gzip, orphans 0..N/2),
///   `/maps/feed.txt` (plain text, the rest) and itself;
/// - odd hosts but h003: no `Sitemap:` line; `/sitemap.xml` lists every orphan and one URL on
///   another host;
/// - h003: robots.txt names `/sitemap.xml`, which is malformed XML (a guessed `/sitemap.xml`
///   that is not a sitemap is no problem; a named one is).
fn sitemaps(web: &TestWeb, host_header: &str, path: &str) -> Option<Response> {
    let host = host_header.split(':').next().unwrap_or("");
    let i: usize = host
        .strip_prefix('h')?
        .strip_suffix(".test")?
        .parse()
        .ok()?;
    let n = web.config().sitemap_orphans;
    let origin = web.origin(i);
    let ok = |ctype: &str, body: Vec<u8>| {
        let mut r = Response::new(Body::from(body));
        r.headers_mut()
            .insert("content-type", HeaderValue::from_str(ctype).ok()?);
        Some(r)
    };
    let urlset = |range: std::ops::Range<usize>, extra: &str| {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for o in range {
            x.push_str(&format!(
                "<url><loc>{origin}/orphan/{o}.html</loc><lastmod>2026-11-0{}</lastmod></url>\n",
                1 + o % 9
            ));
        }
        x.push_str(extra);
        x.push_str("</urlset>\n");
        x
    };
    match (path, i % 2, i) {
        ("/robots.txt", 0, _) => {
            let (_, _, body) = web.respond(host_header, path);
            let mut t = String::from_utf8_lossy(&body).into_owned();
            t.push_str(&format!(
                "\nSitemap: {origin}/maps/index.xml\nSitemap: http://elsewhere.test/maps.xml\n"
            ));
            ok("text/plain", t.into_bytes())
        }
        ("/robots.txt", 1, 3) => {
            let (_, _, body) = web.respond(host_header, path);
            let mut t = String::from_utf8_lossy(&body).into_owned();
            t.push_str(&format!("\nSitemap: {origin}/sitemap.xml\n"));
            ok("text/plain", t.into_bytes())
        }
        ("/maps/index.xml", 0, _) => ok(
            "application/xml",
            format!(
                "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><sitemap><loc>{origin}/maps/pages.xml.gz</loc></sitemap><sitemap><loc>{origin}/maps/feed.txt</loc></sitemap><sitemap><loc>{origin}/maps/index.xml</loc></sitemap></sitemapindex>"
            )
            .into_bytes(),
        ),
        ("/maps/pages.xml.gz", 0, _) => {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(urlset(0..n / 2, "").as_bytes()).ok()?;
            ok("application/octet-stream", gz.finish().ok()?)
        }
        ("/maps/feed.txt", 0, _) => {
            let lines: String = (n / 2..n)
                .map(|o| format!("{origin}/orphan/{o}.html\n"))
                .collect();
            ok("text/plain", lines.into_bytes())
        }
        ("/sitemap.xml", 1, 3) => ok("application/xml", b"<urlset><url><loc>".to_vec()),
        ("/sitemap.xml", 1, _) => ok(
            "application/xml",
            urlset(0..n, "<url><loc>http://elsewhere.test/x.html</loc></url>\n").into_bytes(),
        ),
        (p, _, _) if p.starts_with("/orphan/") => {
            let o: usize = p.strip_prefix("/orphan/")?.strip_suffix(".html")?.parse().ok()?;
            (o < n).then_some(())?;
            ok(
                "text/html; charset=utf-8",
                format!(
                    "<!doctype html><html><head><title>Orphan {o} of h{i:03}</title></head><body><p>Only a sitemap lists this page: <a href=\"{}/\">home of h000</a>.</p></body></html>",
                    web.origin(0)
                )
                .into_bytes(),
            )
        }
        _ => None,
    }
}

/// FNV-1a (64-bit), the test web's `ETag`.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Misbehaving endpoints for crawler tests (feature `misbehave`), on every host, never linked
/// from the web:
/// `/special/slow` (answers after 30 s), `/special/endless` (a body that never ends),
/// `/special/pdf` (not HTML), `/special/429?n=N` (429 with Retry-After: 1),
/// `/special/chain/N` (a redirect chain of N hops), `/special/loop/a` ⇄ `/special/loop/b`,
/// `/special/crawl-delay/robots.txt`, `/special/flicker/KEY` (a link to
/// `http://flicker-target.test/` on odd-numbered requests only, same title always),
/// `/special/blip/KEY` (404 on its second request only, else a page linking to
/// `http://blip-target.test/`), `/special/outage/KEY` (500 on requests 2 to 9, else a page
/// linking to `http://outage-target.test/`).
#[cfg(feature = "misbehave")]
async fn special(path: &str) -> Option<Response> {
    let rest = path.strip_prefix("/special/")?;
    let mut resp = Response::new(Body::empty());
    let html = |resp: &mut Response, body: String| {
        *resp.body_mut() = Body::from(body);
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("text/html"));
    };
    if rest.starts_with("outage/") {
        // 500 for requests 2 to 9: three failing runs with one retry each, the recheck of the
        // third and its retry; then back.
        if (2..=9).contains(&request_number(rest)) {
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        } else {
            html(
                &mut resp,
                "<title>outage</title><p><a href=\"http://outage-target.test/\">back</a></p>"
                    .into(),
            );
        }
        return Some(resp);
    }
    if let Some(kind) = ["flicker/", "blip/"].iter().find(|k| rest.starts_with(*k)) {
        let n = request_number(rest);
        let page = |link: &str| {
            format!("<title>{kind}</title><p>A page <a href=\"{link}\">with a link</a>.</p>")
        };
        match (*kind, n) {
            ("flicker/", n) if n % 2 == 1 => html(&mut resp, page("http://flicker-target.test/")),
            ("flicker/", _) => html(&mut resp, format!("<title>{kind}</title><p>A page.</p>")),
            (_, 2) => *resp.status_mut() = StatusCode::NOT_FOUND,
            _ => html(&mut resp, page("http://blip-target.test/")),
        }
        return Some(resp);
    }
    match rest {
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            *resp.body_mut() = Body::from("<a href=\"http://late.test/\">late</a>");
        }
        "endless" => {
            let chunk = bytes_chunk();
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            *resp.body_mut() = Body::from_stream(stream);
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("text/html"));
        }
        "pdf" => {
            *resp.body_mut() = Body::from("%PDF-1.4 <a href=\"http://x.test/\">no</a>");
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/pdf"));
        }
        "429" => {
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        "loop/a" | "loop/b" => {
            let to = if rest == "loop/a" {
                "/special/loop/b"
            } else {
                "/special/loop/a"
            };
            *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
            resp.headers_mut()
                .insert("location", HeaderValue::from_str(to).ok()?);
        }
        _ => {
            let n: u32 = rest.strip_prefix("chain/")?.parse().ok()?;
            if n == 0 {
                *resp.body_mut() = Body::from("<p>end of chain</p>");
                resp.headers_mut()
                    .insert("content-type", HeaderValue::from_static("text/html"));
            } else {
                *resp.status_mut() = StatusCode::FOUND;
                let to = format!("/special/chain/{}", n - 1);
                resp.headers_mut()
                    .insert("location", HeaderValue::from_str(&to).ok()?);
            }
        }
    }
    Some(resp)
}

/// How many times `key` was asked for, this one included.
#[cfg(feature = "misbehave")]
fn request_number(key: &str) -> u32 {
    static COUNTS: std::sync::OnceLock<Mutex<std::collections::HashMap<String, u32>>> =
        std::sync::OnceLock::new();
    let mut counts = COUNTS
        .get_or_init(Default::default)
        .lock()
        .expect("counts lock");
    let n = counts.entry(key.to_string()).or_insert(0);
    *n += 1;
    *n
}

#[cfg(feature = "misbehave")]
fn bytes_chunk() -> axum::body::Bytes {
    axum::body::Bytes::from("<p>endless <a href=\"http://more.test/\">more</a></p>\n".repeat(200))
}
