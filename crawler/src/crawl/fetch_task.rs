//! One fetch task: robots.txt first for a new host, then the page, classified into what the
//! run does next (record a visit, retry later) with a typed [`FetchFailure`]. HTML is
//! extracted here, on the task's thread, so the scheduler loop never parses pages.

use super::scheduler::Item;
use crate::extract::{extract, is_html, PageInput};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::normalize;
use crate::robots::{RobotsRules, MAX_ROBOTS_BYTES};
use linkdiff_model::{Link, LinkType, Outcome, PageMeta};
use linkdiff_store::{Store, Validators};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Why a fetch gave no page to index. Typed, so run statistics and retries never look at
/// error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// The server answered with this status: 429 or 5xx (retried first) or another
    /// non-success code that is not a redirect or 404/410.
    Status(u16),
    /// A 3xx without a usable `Location`.
    BadRedirect(u16),
    /// No response: timeout, connection or protocol error, or refused by the SSRF guard.
    Network(FetchError),
}

impl FetchFailure {
    /// The key counted in the run's `error_kinds`: the status code, `bad_redirect`, or the
    /// network error's kind (`timeout`, `connect`, `blocked`, `other`).
    pub fn kind(&self) -> String {
        match self {
            FetchFailure::Status(code) => code.to_string(),
            FetchFailure::BadRedirect(_) => "bad_redirect".to_string(),
            FetchFailure::Network(e) => e.kind().to_string(),
        }
    }

    /// The status recorded with the failed visit (0 when there was no response).
    pub fn http_code(&self) -> u16 {
        match self {
            FetchFailure::Status(code) | FetchFailure::BadRedirect(code) => *code,
            FetchFailure::Network(_) => 0,
        }
    }

    /// Whether another attempt in the same run may succeed: 429, 5xx and network errors,
    /// but not an address the guard refused.
    pub fn retryable(&self) -> bool {
        match self {
            FetchFailure::Status(code) => *code == 429 || (500..600).contains(code),
            FetchFailure::BadRedirect(_) => false,
            FetchFailure::Network(e) => !matches!(e, FetchError::Blocked(_)),
        }
    }

    /// Whether the SSRF guard refused the address (always worth showing the user).
    pub fn blocked(&self) -> bool {
        matches!(self, FetchFailure::Network(FetchError::Blocked(_)))
    }

    /// A line for the user about this failure of `url`.
    pub fn describe(&self, url: &url::Url) -> String {
        match self {
            FetchFailure::Status(code) => format!("{url}: HTTP {code}"),
            FetchFailure::BadRedirect(code) => format!("{url}: {code} without a usable Location"),
            FetchFailure::Network(e @ FetchError::Blocked(_)) => format!("refused {url}: {e}"),
            FetchFailure::Network(e) => format!("{url}: {e}"),
        }
    }
}

/// What a fetch task hands back to the run loop.
// One value per fetch, moved once into the loop: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum TaskResult {
    /// robots.txt of `host` was fetched (or found missing); `item` waited for it.
    Robots {
        host: String,
        rules: RobotsRules,
        item: Item,
    },
    /// A visit to record: a page, a redirect, gone, disallowed, or a final failure.
    /// `validators`: the page's revalidation state to store with the visit (`None`: leave it);
    /// `known_links`: for an unchanged page, the stored links to follow as if extracted.
    Page {
        host: String,
        item: Item,
        outcome: Outcome,
        failure: Option<FetchFailure>,
        validators: Option<Validators>,
        known_links: Vec<Link>,
    },
    /// A sitemap was read (or could not be: `sitemap` says what is wrong in `problem`).
    Sitemap {
        host: String,
        item: Item,
        sitemap: crate::sitemap::Sitemap,
    },
    /// A failure another attempt may fix (`after`: the server's `Retry-After`).
    Retry {
        host: String,
        item: Item,
        after: Option<Duration>,
        failure: FetchFailure,
    },
}

/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

fn retry_after(f: &Fetched) -> Option<Duration> {
    f.header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER))
}

/// How a fetch revalidates a page it fetched before (`--revalidate-every`).
#[derive(Clone)]
pub(crate) struct Revalidate {
    /// Where the validators and the stored links are read.
    pub store: Store,
    /// A full fetch at least every this many visits (1: never conditional).
    pub every: u32,
}

/// How a fetch task renders the pages `--render` asks for.
#[derive(Clone)]
pub(crate) struct RenderCtx {
    /// The browser.
    pub renderer: Arc<dyn crate::render::Renderer>,
    /// `--render`.
    pub mode: crate::render::RenderMode,
    /// The run's robots, limiters, counters and verdicts.
    pub shared: Arc<crate::render::RenderShared>,
    /// The page's host's rate limiter (the scheduler's own, so the page and its rendering
    /// share one budget).
    pub limiter: Option<Arc<governor::DefaultDirectRateLimiter>>,
}

/// A fetched page classified, then rendered when `render` asks for it: the links found only
/// in the rendered DOM are added to the page's (a failed rendering keeps the static links
/// and is counted).
async fn page(
    host: String,
    item: Item,
    f: Fetched,
    render: Option<&RenderCtx>,
    robots: &Arc<RobotsRules>,
) -> TaskResult {
    let mut res = classify(host, item, &f);
    let Some(ctx) = render else { return res };
    let TaskResult::Page {
        host,
        item,
        outcome: Outcome::Fetched { meta, links },
        ..
    } = &mut res
    else {
        return res;
    };
    let ct = f.header("content-type");
    let wanted = ctx.shared.forced(&item.url) || ctx.shared.wants(ctx.mode, host, &f.body);
    if !is_html(ct) || !wanted {
        return res;
    }
    let stats = &ctx.shared.stats;
    let job = crate::render::RenderJob {
        url: item.url.clone(),
        body: f.body.clone(),
        content_type: ct.unwrap_or("text/html").to_string(),
        fetch: Arc::new(crate::render::PageSubFetch::new(
            ctx.shared.clone(),
            host.clone(),
            Some(robots.clone()),
            ctx.limiter.clone(),
        )),
    };
    match ctx.renderer.render(job).await {
        Ok(r) => {
            stats.pages.fetch_add(1, Ordering::Relaxed);
            if !r.settled {
                stats.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            let ex = extract(&PageInput {
                url: item.url.as_str(),
                content_type: Some("text/html; charset=utf-8"),
                content_language: f.header("content-language"),
                x_robots_tag: f.header("x-robots-tag"),
                link_header: None,
                body: r.html.as_bytes(),
            });
            if meta.title.is_empty() {
                meta.title = ex.page.title;
            }
            let added = crate::render::merge(links, ex.links);
            meta.links_internal = meta.links_internal.max(ex.page.links_internal);
            meta.links_external = meta.links_external.max(ex.page.links_external);
            stats.links_added.fetch_add(added as u64, Ordering::Relaxed);
            if ctx.mode == crate::render::RenderMode::Auto {
                ctx.shared.decided(host, added);
            }
        }
        Err(_) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            meta.render_failed = true;
        }
    }
    res
}

/// XXH3 (64-bit) of a body: stable across builds and versions (a published algorithm), unlike
/// the standard library's hasher, and ~20× faster than the byte-at-a-time FNV-1a it replaced
/// (which was 8 % of a crawl's CPU). A page hashed by FNV-1a in an earlier run differs once,
/// and is then extracted and diffed as usual: nothing is lost or new that did not change.
pub fn body_hash(body: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(body)
}

/// The stored validators of `url`, when its last successful visit wrote them. Read on the
/// task's thread, like extraction: point reads of a committed snapshot (tens of
/// microseconds; a hop to the blocking pool cost more CPU and memory than it saved, and
/// reading through the writer's connection made the runtime's threads wait while it applied
/// visits; see BENCHMARKS.md).
fn known(store: &Store, url: &url::Url) -> Option<Validators> {
    let (v, page) = store.revalidation(url.as_str()).ok().flatten()?;
    // Only what the page's last successful visit wrote describes its stored links.
    (page.last_ok_visit == Some(v.at) && !page.dropped).then_some(v)
}

/// The live links of `url`'s stored link set: what an unchanged page links to, followed as
/// if extracted.
fn stored_links(store: &Store, url: &url::Url) -> Vec<Link> {
    store
        .committed_forward_links(url.as_str())
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, r)| r.live)
        .map(|(id, _)| Link::bare(id.url_to, id.link_type))
        .collect()
}

/// Fetch robots.txt (when `robots` is `None`) or the page of `item`.
pub(crate) async fn task(
    fetcher: Fetcher,
    agent: String,
    host: String,
    item: Item,
    robots: Option<Arc<RobotsRules>>,
    revalidate: Option<Revalidate>,
    render: Option<RenderCtx>,
) -> TaskResult {
    let Some(robots) = robots else {
        let mut robots_url = item.url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        let fetched = match robots_fetch(&fetcher, robots_url).await {
            Ok(f) => Some(f),
            Err(FetchError::Blocked(_) | FetchError::Tls(_)) => {
                // The SSRF guard refused the host, or its TLS handshake failed, before any
                // request: there are no rules to honour and nothing can be fetched. Every page
                // of the host goes on to the same refusal, counted by kind (`blocked`, `tls`)
                // instead of silently disallowed (the host's queue must not wait for rules).
                return TaskResult::Robots {
                    host,
                    rules: RobotsRules::AllowAll,
                    item,
                };
            }
            Err(_) => None,
        };
        let rules = RobotsRules::from_fetch(
            &agent,
            fetched.as_ref().map(|f| (f.status, f.body.as_slice())),
        );
        return TaskResult::Robots { host, rules, item };
    };
    if !robots.allowed(item.url.as_str()) {
        return TaskResult::Page {
            host,
            item,
            outcome: Outcome::Disallowed,
            failure: None,
            validators: None,
            known_links: Vec::new(),
        };
    }
    if item.sitemap > 0 {
        let mut sitemap = match get_following(&fetcher, item.url.clone(), crate::sitemap::MAX_BYTES)
            .await
        {
            Ok((at, f)) if (200..300).contains(&f.status) => crate::sitemap::parse(&at, &f.body),
            Ok(f) if f.1.status == 404 || f.1.status == 410 => crate::sitemap::Sitemap::default(),
            _ => crate::sitemap::Sitemap {
                problem: Some("sitemap_unreachable"),
                ..Default::default()
            },
        };
        if item.sitemap_guess {
            // Only a guess at /sitemap.xml: what is not a sitemap there is no problem.
            sitemap.problem = None;
        }
        return TaskResult::Sitemap {
            host,
            item,
            sitemap,
        };
    }
    let Some(rv) = revalidate else {
        return match fetcher.get(&item.url).await {
            Ok(f) => page(host, item, f, render.as_ref(), &robots).await,
            Err(e) => failed(host, item, FetchFailure::Network(e), None),
        };
    };
    // A recheck (the second fetch of a held visit in this run) is always a full fetch: the
    // held visit's writes may not be committed yet, and the snapshot `known` reads could
    // still show the validators from before it.
    let known = if item.recheck {
        None
    } else {
        known(&rv.store, &item.url)
    };
    // Conditional unless this visit is due a full fetch.
    // A page that is rendered is fetched whole and rendered every time: its HTML may be the
    // same while what its scripts load is not, so neither a 304 nor an unchanged body says
    // its links are unchanged.
    let rendered = |body: Option<&[u8]>| {
        render.as_ref().is_some_and(|c| {
            c.shared.forced(&item.url)
                || match body {
                    Some(b) => c.shared.wants(c.mode, &host, b),
                    None => {
                        c.mode == crate::render::RenderMode::Always
                            || c.shared.verdict(&host) == Some(true)
                    }
                }
        })
    };
    let conditional = known
        .as_ref()
        .filter(|k| k.unchanged + 1 < rv.every && !rendered(None));
    let fetched = match conditional {
        Some(k) => fetcher.get_if_changed(&item.url, k).await,
        None => fetcher.get(&item.url).await,
    };
    let f = match fetched {
        Ok(f) => f,
        Err(e) => return failed(host, item, FetchFailure::Network(e), None),
    };
    let unchanged = |http_code: u16, v: Validators, known_links: Vec<Link>| TaskResult::Page {
        host: host.clone(),
        item: item.clone(),
        outcome: Outcome::Unchanged { http_code },
        failure: None,
        validators: Some(v),
        known_links,
    };
    if let (304, Some(k)) = (f.status, conditional) {
        let v = Validators {
            unchanged: k.unchanged + 1,
            ..k.clone()
        };
        return unchanged(304, v, stored_links(&rv.store, &item.url));
    }
    let fresh = |f: &Fetched, hash: u64| Validators {
        etag: f.header("etag").unwrap_or("").to_string(),
        last_modified: f.header("last-modified").unwrap_or("").to_string(),
        body_hash: hash,
        unchanged: 0,
        at: 0, // set to the visit's time where the visit is recorded
    };
    if (200..300).contains(&f.status) && !f.truncated {
        let hash = body_hash(&f.body);
        let v = fresh(&f, hash);
        let html = is_html(f.header("content-type"));
        if known.as_ref().is_some_and(|k| k.body_hash == hash) && !(html && rendered(Some(&f.body)))
        {
            return unchanged(200, v, stored_links(&rv.store, &item.url));
        }
        match page(host, item, f, render.as_ref(), &robots).await {
            TaskResult::Page {
                host,
                item,
                outcome: outcome @ Outcome::Fetched { .. },
                failure,
                ..
            } => {
                return TaskResult::Page {
                    host,
                    item,
                    outcome,
                    failure,
                    validators: Some(v),
                    known_links: Vec::new(),
                };
            }
            other => return other,
        }
    }
    // Anything but a full fetch leaves the validators alone: they stay tied to the last
    // successful visit (see `known`).
    classify(host, item, &f)
}

/// robots.txt, following up to five redirects (RFC 9309 §2.3.1.2: a host that moved to HTTPS
/// redirects its robots.txt too); what the last hop answered.
async fn robots_fetch(fetcher: &Fetcher, url: url::Url) -> Result<Fetched, FetchError> {
    get_following(fetcher, url, MAX_ROBOTS_BYTES)
        .await
        .map(|(_, f)| f)
}

/// GET `url` following up to five redirects (robots.txt and sitemaps, which are not pages):
/// the last URL and its answer.
async fn get_following(
    fetcher: &Fetcher,
    mut url: url::Url,
    cap: usize,
) -> Result<(url::Url, Fetched), FetchError> {
    for _ in 0..5 {
        let f = fetcher.get_capped(&url, cap).await?;
        let next = f
            .header("location")
            .and_then(|l| normalize::resolve(&url, l))
            .and_then(|n| url::Url::parse(&n).ok());
        match next {
            Some(next) if (300..400).contains(&f.status) => url = next,
            _ => return Ok((url, f)),
        }
    }
    let f = fetcher.get_capped(&url, cap).await?;
    Ok((url, f))
}

fn failed(host: String, item: Item, failure: FetchFailure, after: Option<Duration>) -> TaskResult {
    if failure.retryable() {
        TaskResult::Retry {
            host,
            item,
            after,
            failure,
        }
    } else {
        TaskResult::Page {
            host,
            item,
            outcome: Outcome::Failed {
                http_code: failure.http_code(),
            },
            failure: Some(failure),
            validators: None,
            known_links: Vec::new(),
        }
    }
}

/// A response to a visit: extract HTML, follow the shape of redirects, sort out failures.
pub(crate) fn classify(host: String, item: Item, f: &Fetched) -> TaskResult {
    match outcome_of(&item.url, f) {
        Ok(outcome) => TaskResult::Page {
            host,
            item,
            outcome,
            failure: None,
            validators: None,
            known_links: Vec::new(),
        },
        Err(failure) => failed(host, item, failure, retry_after(f)),
    }
}

/// What a response of `url` says about the page: a visit outcome, or why it gives none
/// (the caller decides whether to retry or record `Outcome::Failed`). Pure: the crawler and
/// archive import (`linkdiff import`) turn responses into visits with this one function.
pub fn outcome_of(url: &url::Url, f: &Fetched) -> Result<Outcome, FetchFailure> {
    let status = f.status;
    let meta = PageMeta {
        http_code: status,
        ip: f.ip.clone(),
        page_size: f.body.len() as u64,
        ..Default::default()
    };
    match status {
        200..=299 => {
            let ct = f.header("content-type");
            if !is_html(ct) {
                return Ok(Outcome::Fetched {
                    meta,
                    links: Vec::new(),
                });
            }
            let ex = extract(&PageInput {
                url: url.as_str(),
                content_type: ct,
                content_language: f.header("content-language"),
                x_robots_tag: f.header("x-robots-tag"),
                link_header: f.header("link"),
                body: &f.body,
            });
            let meta = PageMeta {
                title: ex.page.title,
                language: ex.page.language,
                encoding: ex.page.encoding,
                links_internal: ex.page.links_internal,
                links_external: ex.page.links_external,
                noindex: ex.page.noindex,
                ..meta
            };
            Ok(Outcome::Fetched {
                meta,
                links: ex.links,
            })
        }
        300..=399 => match f
            .header("location")
            .and_then(|l| normalize::resolve(url, l))
        {
            Some(to) => {
                let link = Link {
                    redirect: status,
                    ..Link::bare(to, LinkType::Redirect)
                };
                Ok(Outcome::Redirected { meta, link })
            }
            None => Err(FetchFailure::BadRedirect(status)),
        },
        404 | 410 => Ok(Outcome::Gone { http_code: status }),
        _ => Err(FetchFailure::Status(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(url: &str) -> Item {
        Item::new(url::Url::parse(url).expect("valid"), 0, 0, Vec::new())
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Fetched {
        Fetched {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
            ip: "127.0.0.1".into(),
        }
    }

    fn outcome(r: TaskResult) -> (Outcome, Option<FetchFailure>) {
        match r {
            TaskResult::Page {
                outcome, failure, ..
            } => (outcome, failure),
            _ => panic!("expected a visit to record"),
        }
    }

    #[test]
    fn html_is_extracted_and_other_types_are_recorded_without_links() {
        let html = response(
            200,
            &[("content-type", "text/html")],
            "<title>T</title><a href=/b>b</a>",
        );
        match outcome(classify("a.test".into(), item("http://a.test/"), &html)) {
            (Outcome::Fetched { meta, links }, None) => {
                assert_eq!(meta.title, "T");
                assert_eq!(links.len(), 1);
                assert_eq!(links[0].url_to, "http://a.test/b");
            }
            other => panic!("{other:?}"),
        }
        let pdf = response(200, &[("content-type", "application/pdf")], "<a href=/b>");
        match outcome(classify("a.test".into(), item("http://a.test/x.pdf"), &pdf)) {
            (Outcome::Fetched { links, meta }, None) => {
                assert!(links.is_empty());
                assert_eq!(meta.page_size, "<a href=/b>".len() as u64);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn redirects_gone_and_failures_are_typed() {
        let moved = response(301, &[("location", "/new")], "");
        match outcome(classify("a.test".into(), item("http://a.test/old"), &moved)) {
            (Outcome::Redirected { link, .. }, None) => {
                assert_eq!(link.url_to, "http://a.test/new");
                assert_eq!(link.redirect, 301);
            }
            other => panic!("{other:?}"),
        }
        let no_location = response(302, &[], "");
        let (o, f) = outcome(classify(
            "a.test".into(),
            item("http://a.test/"),
            &no_location,
        ));
        assert_eq!(o, Outcome::Failed { http_code: 302 });
        assert_eq!(f, Some(FetchFailure::BadRedirect(302)));
        assert_eq!(f.map(|f| f.kind()).as_deref(), Some("bad_redirect"));
        let gone = response(410, &[], "");
        let (o, f) = outcome(classify("a.test".into(), item("http://a.test/"), &gone));
        assert_eq!((o, f), (Outcome::Gone { http_code: 410 }, None));
        let forbidden = response(403, &[], "");
        let (o, f) = outcome(classify(
            "a.test".into(),
            item("http://a.test/"),
            &forbidden,
        ));
        assert_eq!(o, Outcome::Failed { http_code: 403 });
        assert_eq!(f.map(|f| f.kind()).as_deref(), Some("403"));
    }

    #[test]
    fn overload_is_retried_after_the_servers_delay_capped() {
        let busy = response(503, &[("retry-after", "7")], "");
        match classify("a.test".into(), item("http://a.test/"), &busy) {
            TaskResult::Retry { after, failure, .. } => {
                assert_eq!(after, Some(Duration::from_secs(7)));
                assert_eq!(failure, FetchFailure::Status(503));
            }
            _ => panic!("503 is retried"),
        }
        let slow = response(429, &[("retry-after", "86400")], "");
        match classify("a.test".into(), item("http://a.test/"), &slow) {
            TaskResult::Retry { after, .. } => assert_eq!(after, Some(MAX_RETRY_AFTER)),
            _ => panic!("429 is retried"),
        }
    }

    #[test]
    fn failure_kinds_and_retry_rules() {
        let blocked = FetchFailure::Network(FetchError::Blocked("10.0.0.1 is private".into()));
        assert!(!blocked.retryable() && blocked.blocked());
        assert_eq!(blocked.kind(), "blocked");
        assert_eq!(blocked.http_code(), 0);
        assert!(blocked
            .describe(&url::Url::parse("http://10.0.0.1/").expect("valid"))
            .starts_with("refused http://10.0.0.1/"));
        let timeout = FetchFailure::Network(FetchError::Timeout);
        assert!(timeout.retryable() && !timeout.blocked());
        assert_eq!(timeout.kind(), "timeout");
        assert!(FetchFailure::Status(500).retryable());
        assert!(!FetchFailure::Status(401).retryable());
    }
}
