//! Rendering pages whose links exist only after JavaScript runs (`crawl --render`).
//!
//! The crawler does not know about browsers: it hands a fetched page to a [`Renderer`] (the
//! binary plugs in `linkdiff-render`, which drives headless Chromium) together with a
//! [`SubFetch`], the only way the rendering may reach the network. [`PageSubFetch`] is that
//! way for a crawl: the SSRF guard of the crawl's [`Fetcher`] (every notation, every redirect
//! hop, since the browser follows redirects by asking again), robots.txt of each host, the
//! host's rate limit and a body cap. The rendered DOM goes through the same extractor; links
//! found only there are added to the page's links ([`merge`]).
//!
//! `--render auto` renders a page when its static HTML looks script-built
//! ([`looks_script_built`]), and then decides for its host for the rest of the run: a host
//! whose first rendering found links the static pass missed is rendered page by page, a host
//! whose first rendering added nothing is not rendered again this run.

use crate::fetch::{FetchError, Fetcher};
use crate::robots::RobotsRules;
use linkdiff_model::Link;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// A boxed future, as the object-safe traits here return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// When a crawl renders pages (`--render`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenderMode {
    /// Never: static HTML only (the default; needs no browser).
    #[default]
    Never,
    /// Pages whose HTML looks script-built, and the hosts where rendering found more links.
    Auto,
    /// Every HTML page.
    Always,
}

/// A `--render` value that is not `never`, `auto` or `always`.
#[derive(Debug, thiserror::Error)]
#[error("unknown render mode {0:?}: use never, auto or always")]
pub struct UnknownRenderMode(pub String);

impl std::str::FromStr for RenderMode {
    type Err = UnknownRenderMode;
    fn from_str(s: &str) -> Result<RenderMode, UnknownRenderMode> {
        match s {
            "never" => Ok(RenderMode::Never),
            "auto" => Ok(RenderMode::Auto),
            "always" => Ok(RenderMode::Always),
            other => Err(UnknownRenderMode(other.to_string())),
        }
    }
}

/// What a rendering's request got back.
#[derive(Debug, Clone)]
pub struct SubResponse {
    /// HTTP status (3xx with `location`: the browser asks again for the next hop).
    pub status: u16,
    /// The headers the browser needs (content type, location, CORS).
    pub headers: Vec<(String, String)>,
    /// The body, capped.
    pub body: Vec<u8>,
}

/// Why a rendering's request was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubRefusal {
    /// The SSRF guard refused the address (private, loopback, link-local, …).
    #[error("refused: {0}")]
    Blocked(String),
    /// robots.txt of the host disallows the URL.
    #[error("disallowed by robots.txt")]
    Robots,
    /// Not a kind of request a rendering may make (a method other than GET, a scheme other
    /// than http/https, past the page's request budget).
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// The request failed (timeout, connection, TLS).
    #[error("{0}")]
    Failed(String),
}

/// The only way a rendering reaches the network.
pub trait SubFetch: Send + Sync {
    /// GET `url` on behalf of the page being rendered.
    fn get(&self, url: Url) -> BoxFuture<'static, Result<SubResponse, SubRefusal>>;
    /// Record a request the renderer refused by itself (its kind: `image`, `stylesheet`,
    /// `method`, …), for the run's counters.
    fn refused_by_renderer(&self, kind: &str);
}

/// One page to render: the document as the crawler fetched it (the browser is answered from
/// this body, never downloads it again) and the way out for everything else.
#[derive(Clone)]
pub struct RenderJob {
    /// The page's URL.
    pub url: Url,
    /// The fetched body.
    pub body: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Where the page's scripts, XHR and `fetch()` go.
    pub fetch: Arc<dyn SubFetch>,
}

/// A rendered page.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The DOM serialised as HTML after the network went idle (or at the timeout).
    pub html: String,
    /// False when the render timeout came before the network was idle (the DOM as it was).
    pub settled: bool,
}

/// Why a page could not be rendered (its static links stand).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    /// The browser could not be started, crashed, or stopped answering.
    #[error("browser: {0}")]
    Browser(String),
    /// The page could not be rendered (its tab crashed, the DOM could not be read).
    #[error("page: {0}")]
    Page(String),
}

/// Renders pages; implemented by `linkdiff-render` over headless Chromium.
pub trait Renderer: Send + Sync {
    /// Render `job` and return its DOM.
    fn render(&self, job: RenderJob) -> BoxFuture<'static, Result<Rendered, RenderError>>;
    /// Peak resident memory of the browser's processes so far, bytes (0 when unknown).
    fn peak_rss(&self) -> u64 {
        0
    }
    /// Connections the browser opened outside the interception (WebSockets, anything else
    /// not paused), which reached nothing (the renderer's proxy closes them).
    fn escaped(&self) -> u64 {
        0
    }
}

/// Counters of a run's renderings (the run summary reports them).
#[derive(Debug, Default)]
pub struct RenderStats {
    /// Pages rendered (settled or timed out).
    pub pages: AtomicU64,
    /// Renderings that failed (the page's static links were kept).
    pub failures: AtomicU64,
    /// Renderings cut by `--render-timeout` before the network was idle.
    pub timeouts: AtomicU64,
    /// Requests the renderings made through linkdiff's fetcher.
    pub requests: AtomicU64,
    /// Requests refused: by the SSRF guard.
    pub refused_blocked: AtomicU64,
    /// Requests refused by robots.txt.
    pub refused_robots: AtomicU64,
    /// Requests refused by kind (images, stylesheets, fonts, media, other methods, frames).
    pub refused_other: AtomicU64,
    /// Links found only in rendered DOMs.
    pub links_added: AtomicU64,
}

/// A snapshot of [`RenderStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderCounts {
    /// Pages rendered.
    pub pages: u64,
    /// Renderings that failed.
    pub failures: u64,
    /// Renderings cut by the timeout.
    pub timeouts: u64,
    /// Requests made for renderings.
    pub requests: u64,
    /// Requests the SSRF guard refused.
    pub refused_blocked: u64,
    /// Requests robots.txt refused.
    pub refused_robots: u64,
    /// Requests refused by kind.
    pub refused_other: u64,
    /// Links found only by rendering.
    pub links_added: u64,
    /// The browser's peak resident memory, bytes.
    pub browser_peak_rss: u64,
    /// Connections outside the interception, closed unanswered.
    pub escaped: u64,
}

impl RenderStats {
    /// The counters now.
    pub fn counts(&self) -> RenderCounts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RenderCounts {
            pages: g(&self.pages),
            failures: g(&self.failures),
            timeouts: g(&self.timeouts),
            requests: g(&self.requests),
            refused_blocked: g(&self.refused_blocked),
            refused_robots: g(&self.refused_robots),
            refused_other: g(&self.refused_other),
            links_added: g(&self.links_added),
            browser_peak_rss: 0,
            escaped: 0,
        }
    }
}

/// Most requests one rendering may make; the rest are refused (a page that keeps polling
/// cannot keep the crawl busy).
pub const MAX_SUBREQUESTS: u64 = 200;

/// Largest body a rendering's request reads (scripts, JSON).
pub const MAX_SUB_BODY: usize = 5 << 20;

/// A rate limiter for one host.
pub type HostLimiter = governor::DefaultDirectRateLimiter;

/// What every rendering of a run shares: the fetcher and its guard, robots.txt and a rate
/// limiter per host, the counters, and `auto`'s verdict per host.
pub struct RenderShared {
    fetcher: Fetcher,
    agent: String,
    period: Option<Duration>,
    robots: Mutex<HashMap<String, Arc<RobotsRules>>>,
    limiters: Mutex<HashMap<String, Arc<HostLimiter>>>,
    /// The run's counters.
    pub stats: RenderStats,
    verdicts: Mutex<HashMap<String, bool>>,
    always: HashSet<String>,
}

impl RenderShared {
    /// Shared state for a run fetching with `fetcher` as `agent`, `period` apart per host.
    pub fn new(fetcher: Fetcher, agent: String, period: Option<Duration>) -> RenderShared {
        RenderShared {
            fetcher,
            agent,
            period,
            robots: Mutex::new(HashMap::new()),
            limiters: Mutex::new(HashMap::new()),
            stats: RenderStats::default(),
            verdicts: Mutex::new(HashMap::new()),
            always: HashSet::new(),
        }
    }

    /// Render `pages` whatever the mode (watched links placed by scripts).
    pub fn always_render(&mut self, pages: &[Url]) {
        self.always.extend(pages.iter().map(|u| u.to_string()));
    }

    /// Whether `url` is rendered whatever the mode.
    pub fn forced(&self, url: &Url) -> bool {
        self.always.contains(url.as_str())
    }

    /// Whether `mode` renders a page of `host` whose static HTML is `body`.
    pub fn wants(&self, mode: RenderMode, host: &str, body: &[u8]) -> bool {
        match mode {
            RenderMode::Never => false,
            RenderMode::Always => true,
            RenderMode::Auto => match self.verdict(host) {
                Some(v) => v,
                None => looks_script_built(body, host),
            },
        }
    }

    /// `auto`'s verdict for `host` in this run, once a rendering there decided it.
    pub fn verdict(&self, host: &str) -> Option<bool> {
        self.verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .copied()
    }

    /// Record what a rendering of `host` added; the first rendering decides (see the module
    /// documentation).
    pub fn decided(&self, host: &str, added: usize) {
        self.verdicts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host.to_string())
            .or_insert(added > 0);
    }

    fn limiter(&self, host: &str) -> Option<Arc<HostLimiter>> {
        let period = self.period?;
        let mut all = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = all.get(host) {
            return Some(l.clone());
        }
        let l = Arc::new(governor::RateLimiter::direct(governor::Quota::with_period(
            period,
        )?));
        all.insert(host.to_string(), l.clone());
        Some(l)
    }

    /// robots.txt of `url`'s host, fetched once per run; a host the address guard refuses
    /// is refused as such (not as "disallowed by robots.txt"), and not remembered.
    async fn robots(&self, url: &Url) -> Result<Arc<RobotsRules>, SubRefusal> {
        let key = crate::crawl::authority_of(url);
        if let Some(r) = self
            .robots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(r.clone());
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let fetched = match self
            .fetcher
            .get_capped(&robots_url, crate::robots::MAX_ROBOTS_BYTES)
            .await
        {
            Ok(f) => Some(f),
            Err(FetchError::Blocked(why)) => return Err(SubRefusal::Blocked(why)),
            Err(_) => None,
        };
        let rules = Arc::new(RobotsRules::from_fetch(
            &self.agent,
            fetched.as_ref().map(|f| (f.status, f.body.as_slice())),
        ));
        self.robots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, rules.clone());
        Ok(rules)
    }
}

/// The way out of one page's rendering: its own host's robots rules and rate limiter come
/// from the crawl's scheduler (so the page's requests and the rendering's share one budget),
/// every other host's from [`RenderShared`].
pub struct PageSubFetch {
    shared: Arc<RenderShared>,
    host: String,
    robots: Option<Arc<RobotsRules>>,
    limiter: Option<Arc<HostLimiter>>,
    requests: AtomicU64,
}

impl PageSubFetch {
    /// The way out for a page of `host` (`robots` and `limiter`: that host's rules and rate
    /// limiter in the crawl, when it has them).
    pub fn new(
        shared: Arc<RenderShared>,
        host: String,
        robots: Option<Arc<RobotsRules>>,
        limiter: Option<Arc<HostLimiter>>,
    ) -> PageSubFetch {
        PageSubFetch {
            shared,
            host,
            robots,
            limiter,
            requests: AtomicU64::new(0),
        }
    }
}

impl SubFetch for PageSubFetch {
    fn get(&self, url: Url) -> BoxFuture<'static, Result<SubResponse, SubRefusal>> {
        let shared = self.shared.clone();
        let same_host = crate::crawl::authority_of(&url) == self.host;
        let own = same_host.then(|| self.robots.clone()).flatten();
        let own_limiter = same_host.then(|| self.limiter.clone()).flatten();
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let stats = &shared.stats;
            if !matches!(url.scheme(), "http" | "https") {
                stats.refused_other.fetch_add(1, Ordering::Relaxed);
                return Err(SubRefusal::NotAllowed(format!("scheme {}", url.scheme())));
            }
            if n >= MAX_SUBREQUESTS {
                stats.refused_other.fetch_add(1, Ordering::Relaxed);
                return Err(SubRefusal::NotAllowed(format!(
                    "more than {MAX_SUBREQUESTS} requests"
                )));
            }
            let robots = match own {
                Some(r) => r,
                None => match shared.robots(&url).await {
                    Ok(r) => r,
                    Err(refused) => {
                        stats.refused_blocked.fetch_add(1, Ordering::Relaxed);
                        return Err(refused);
                    }
                },
            };
            if !robots.allowed(url.as_str()) {
                stats.refused_robots.fetch_add(1, Ordering::Relaxed);
                return Err(SubRefusal::Robots);
            }
            let limiter = match own_limiter {
                Some(l) => Some(l),
                None => shared.limiter(&crate::crawl::authority_of(&url)),
            };
            if let Some(l) = limiter {
                l.until_ready().await;
            }
            stats.requests.fetch_add(1, Ordering::Relaxed);
            match shared.fetcher.get_capped(&url, MAX_SUB_BODY).await {
                Ok(f) => Ok(SubResponse {
                    status: f.status,
                    headers: f.headers,
                    body: f.body,
                }),
                Err(FetchError::Blocked(why)) => {
                    stats.refused_blocked.fetch_add(1, Ordering::Relaxed);
                    Err(SubRefusal::Blocked(why))
                }
                Err(e) => Err(SubRefusal::Failed(e.to_string())),
            }
        })
    }

    fn refused_by_renderer(&self, _kind: &str) {
        self.shared
            .stats
            .refused_other
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// The page's links with the links found only in its rendered DOM appended (in DOM order).
/// A link is the same when its target, type and anchor are (the static one is kept: its
/// context is what the server sent). The added links are marked `rendered`. Returns how many
/// were added.
pub fn merge(links: &mut Vec<Link>, rendered: Vec<Link>) -> usize {
    let key = |l: &Link| (l.url_to.clone(), l.link_type, l.anchor.clone());
    let mut have: HashMap<(String, linkdiff_model::LinkType, String), usize> = HashMap::new();
    for l in links.iter() {
        *have.entry(key(l)).or_default() += 1;
    }
    let before = links.len();
    for l in rendered {
        match have.get_mut(&key(&l)) {
            Some(n) if *n > 0 => *n -= 1,
            _ => links.push(Link {
                rendered: true,
                ..l
            }),
        }
    }
    links.len() - before
}

/// Whether static HTML of a page on `host` may be built by its scripts, so `--render auto`
/// renders it (until a rendering on the host decides, see [`RenderShared::wants`]). Scripts
/// present and any of:
/// - an empty application container: an element with id `root`, `app`, `__next`, `__nuxt`
///   or `svelte` and nothing inside;
/// - a `<noscript>` that asks for JavaScript (mentions "javascript");
/// - fewer than 200 characters of visible text;
/// - an inline script that builds markup or loads data: `createElement`, `appendChild`,
///   `insertAdjacentHTML`, `innerHTML`, `document.write`, `fetch(`, `XMLHttpRequest`;
/// - a script served by the page's own host (third-party scripts alone, such as analytics,
///   do not count).
pub fn looks_script_built(html: &[u8], host: &str) -> bool {
    let lower: Vec<u8> = html
        .iter()
        .take(2 << 20)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if !has(b"<script") {
        return false;
    }
    for id in ["root", "app", "__next", "__nuxt", "svelte"] {
        for q in ['"', '\''] {
            let open = format!("id={q}{id}{q}");
            if let Some(at) = find(&lower, open.as_bytes()) {
                // Nothing but whitespace between the tag's end and the next tag's start.
                let rest = &lower[at..];
                if let Some(gt) = rest.iter().position(|&b| b == b'>') {
                    let inner = &rest[gt + 1..];
                    let text_end = inner.iter().position(|&b| b == b'<').unwrap_or(0);
                    if inner[..text_end].iter().all(|b| b.is_ascii_whitespace())
                        && inner[text_end..].starts_with(b"</")
                    {
                        return true;
                    }
                }
            }
        }
    }
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<noscript") {
        let start = from + at;
        let end = find(&lower[start..], b"</noscript")
            .map(|e| start + e)
            .unwrap_or(lower.len());
        if find(&lower[start..end], b"javascript").is_some() {
            return true;
        }
        from = end.max(start + 1);
    }
    if visible_text_len(&lower) < 200 {
        return true;
    }
    let builders: [&[u8]; 7] = [
        b"createelement",
        b"appendchild",
        b"insertadjacenthtml",
        b"innerhtml",
        b"document.write",
        b"fetch(",
        b"xmlhttprequest",
    ];
    let host = host.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<script") {
        let start = from + at;
        let tag_end = lower[start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| start + e);
        let tag = &lower[start..tag_end];
        let close = find(&lower[tag_end..], b"</script").map_or(lower.len(), |e| tag_end + e);
        match script_src(tag) {
            Some(src) if own_script(&src, &host) => return true,
            Some(_) => {}
            None => {
                let body = &lower[(tag_end + 1).min(close)..close];
                if builders.iter().any(|b| find(body, b).is_some()) {
                    return true;
                }
            }
        }
        from = close.max(start + 1);
    }
    false
}

/// The `src` of a `<script …` tag (lowercased), if it has one.
fn script_src(tag: &[u8]) -> Option<String> {
    let at = find(tag, b" src=")
        .or_else(|| find(tag, b"\tsrc="))
        .or_else(|| find(tag, b"\nsrc="))?;
    let v = &tag[at + 5..];
    let (quote, v) = match v.first() {
        Some(q @ (b'"' | b'\'')) => (Some(*q), &v[1..]),
        _ => (None, v),
    };
    let end = v
        .iter()
        .position(|&b| match quote {
            Some(q) => b == q,
            None => b.is_ascii_whitespace() || b == b'>',
        })
        .unwrap_or(v.len());
    Some(String::from_utf8_lossy(&v[..end]).into_owned())
}

/// Whether a script URL as written is served by `host` (relative URLs are).
fn own_script(src: &str, host: &str) -> bool {
    let rest = if let Some(r) = src.strip_prefix("//") {
        r
    } else if let Some((scheme, r)) = src.split_once("://") {
        if !matches!(scheme, "http" | "https") {
            return false;
        }
        r
    } else {
        return !src.starts_with("data:");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority == host || authority.split(':').next() == Some(host)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Non-blank characters outside tags, scripts, styles and templates.
fn visible_text_len(lower: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < lower.len() {
        if lower[i] == b'<' {
            let skip_to: Option<&[u8]> = [
                (&b"<script"[..], &b"</script"[..]),
                (b"<style", b"</style"),
                (b"<template", b"</template"),
                (b"<noscript", b"</noscript"),
            ]
            .iter()
            .find(|(open, _)| lower[i..].starts_with(open))
            .map(|(_, close)| *close);
            let end = match skip_to {
                Some(close) => find(&lower[i..], close).map(|e| i + e),
                None => Some(i),
            };
            match end.and_then(|e| lower[e..].iter().position(|&b| b == b'>').map(|g| e + g)) {
                Some(gt) => i = gt + 1,
                None => break,
            }
            continue;
        }
        if !lower[i].is_ascii_whitespace() {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The store's meta key holding the hosts where rendering found links the static pass
/// missed, one per line: `auto` renders them from the start of later runs.
pub const RENDER_HOSTS_META: &str = "render:hosts";

impl RenderShared {
    /// Start with `hosts` (one per line, as [`RenderShared::remembered`] wrote them) known to
    /// need rendering.
    pub fn remember(&self, hosts: &str) {
        let mut v = self.verdicts.lock().unwrap_or_else(|p| p.into_inner());
        for h in hosts.lines().map(str::trim).filter(|h| !h.is_empty()) {
            v.insert(h.to_string(), true);
        }
    }

    /// The hosts known to need rendering, one per line, sorted.
    pub fn remembered(&self) -> String {
        let mut hosts: Vec<String> = rendering_hosts(self).into_iter().collect();
        hosts.sort();
        hosts.join("\n")
    }
}

/// The hosts `auto` decided to keep rendering (for the run summary and tests).
pub fn rendering_hosts(shared: &RenderShared) -> HashSet<String> {
    shared
        .verdicts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(_, v)| **v)
        .map(|(h, _)| h.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkdiff_model::LinkType;

    #[test]
    fn modes_parse_and_unknown_ones_are_named() {
        assert_eq!("auto".parse::<RenderMode>().ok(), Some(RenderMode::Auto));
        assert_eq!("never".parse::<RenderMode>().ok(), Some(RenderMode::Never));
        let e = "sometimes".parse::<RenderMode>().unwrap_err();
        assert!(e.to_string().contains("never, auto or always"), "{e}");
    }

    #[test]
    fn script_built_pages_are_recognised_and_ordinary_ones_are_not() {
        let spa =
            br#"<html><body><div id="root"></div><script src="/app.js"></script></body></html>"#;
        let b = |html: &[u8]| looks_script_built(html, "a.test");
        assert!(b(spa));
        let next = br#"<body><div id='__next'>  </div><script>x()</script>"#;
        assert!(b(next));
        let asks = br#"<body><noscript>Please enable JavaScript to use this site.</noscript>
            <script src=a.js></script><p>"#;
        let long =
            "Plenty of words in an article that a reader can read without scripts. ".repeat(10);
        let asks = [&asks[..], long.as_bytes()].concat();
        assert!(b(&asks));
        let thin = b"<body><script src=a.js></script><p>Loading...</p></body>";
        assert!(b(thin));
        let article = format!(
            "<body><div id=\"root\"><p>{long}</p></div><script src=https://cdn.test/a.js></script></body>"
        );
        assert!(!b(article.as_bytes()));
        // The same article with a script of its own host, or an inline one that builds links.
        let own = article.replace("https://cdn.test/a.js", "/a.js");
        assert!(b(own.as_bytes()));
        let own_abs = article.replace("https://cdn.test/a.js", "'//a.test/a.js'");
        assert!(b(own_abs.as_bytes()));
        let inline = article.replace(
            "<script src=https://cdn.test/a.js></script>",
            "<script>document.body.appendChild(document.createElement('a'))</script>",
        );
        assert!(b(inline.as_bytes()));
        let analytics = article.replace(
            "<script src=https://cdn.test/a.js></script>",
            "<script>window.dataLayer = [];</script>",
        );
        assert!(!b(analytics.as_bytes()));
        // No scripts: nothing a browser would add.
        assert!(!b(b"<body><div id=root></div></body>"));
        // Script text does not count as visible text.
        let big_script = format!("<body><script>{}</script><p>hi</p>", "var a=1;".repeat(100));
        assert!(b(big_script.as_bytes()));
    }

    #[test]
    fn merge_adds_only_links_the_static_pass_missed() {
        let l = |to: &str, anchor: &str| Link {
            anchor: anchor.into(),
            ..Link::bare(to, LinkType::Href)
        };
        let mut links = vec![l("http://a.test/x", "x"), l("http://a.test/y", "y")];
        let rendered = vec![
            l("http://a.test/x", "x"),
            l("http://b.test/new", "partner"),
            l("http://a.test/y", "y"),
            l("http://a.test/y", "y"),
        ];
        assert_eq!(merge(&mut links, rendered), 2);
        let tos: Vec<&str> = links.iter().map(|l| l.url_to.as_str()).collect();
        assert_eq!(
            tos,
            [
                "http://a.test/x",
                "http://a.test/y",
                "http://b.test/new",
                "http://a.test/y"
            ]
        );
        let flags: Vec<bool> = links.iter().map(|l| l.rendered).collect();
        assert_eq!(flags, [false, false, true, true]);
    }

    #[test]
    fn auto_decides_per_host_from_its_first_rendering() {
        let f = Fetcher::new(crate::fetch::FetchConfig {
            user_agent: "t".into(),
            timeout: Duration::from_secs(1),
            max_body: 1,
            resolver: Default::default(),
            ca_certs: Vec::new(),
        })
        .expect("client");
        let s = RenderShared::new(f, "t".into(), None);
        let spa = br#"<div id="app"></div><script src=x.js></script>"#;
        let plain = b"<p>no scripts here</p>";
        assert!(s.wants(RenderMode::Auto, "a.test", spa));
        assert!(!s.wants(RenderMode::Auto, "a.test", plain));
        assert!(s.wants(RenderMode::Always, "a.test", plain));
        s.decided("a.test", 2);
        s.decided("a.test", 0);
        assert!(s.wants(RenderMode::Auto, "a.test", plain));
        s.decided("b.test", 0);
        assert!(!s.wants(RenderMode::Auto, "b.test", spa));
        assert_eq!(
            rendering_hosts(&s).into_iter().collect::<Vec<_>>(),
            ["a.test"]
        );
        // Remembered for the next run: only the hosts where rendering found links.
        s.remember("c.test\n");
        assert_eq!(s.remembered(), "a.test\nc.test");
        let next = RenderShared::new(s.fetcher.clone(), "t".into(), None);
        next.remember(&s.remembered());
        assert!(next.wants(RenderMode::Auto, "c.test", plain));
        assert!(!next.wants(RenderMode::Auto, "b.test", plain));
    }
}
