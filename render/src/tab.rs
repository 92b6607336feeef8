//! One page rendered in one tab: every request the page makes is paused (the DevTools
//! protocol's Fetch domain, at the request stage) and answered by linkdiff — the document from
//! the body the crawler already fetched, scripts, XHR and `fetch()` through the crawl's
//! [`SubFetch`], everything else refused — until the network is idle or the time is up.

use base64::Engine as _;
use chromiumoxide::cdp::browser_protocol::fetch::{
    EnableParams, EventRequestPaused, FailRequestParams, FulfillRequestParams, HeaderEntry,
    RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::network::{ErrorReason, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::NavigateParams;
use chromiumoxide::Page;
use futures_util::StreamExt;
use linkdiff_crawler::render::{RenderError, RenderJob, Rendered, SubRefusal};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// No request for this long (and none in flight): the page has settled.
pub const IDLE: Duration = Duration::from_millis(500);

/// Longest wait for the DOM once the page settled or timed out (a page stuck in a script
/// loop never answers).
const READ_DOM: Duration = Duration::from_secs(5);

/// Headers passed from a response to the browser: what it needs to run the page (type,
/// redirects, CORS), nothing that would set state (cookies).
const PASSED_HEADERS: [&str; 3] = ["content-type", "location", "access-control-allow-origin"];

/// Requests in flight and when the last one started or ended.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
    fn idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
            && self
                .last
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .elapsed()
                >= IDLE
    }
}

/// What to do with a paused request.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    /// The page itself: answered from the crawler's body.
    Document,
    /// Through linkdiff's fetcher.
    Fetch,
    /// Refused; the kind is counted.
    Refuse(&'static str),
}

fn without_fragment(u: &str) -> &str {
    u.split('#').next().unwrap_or(u)
}

/// The rule for one request (see the crate documentation).
fn decide(method: &str, kind: &ResourceType, url: &str, page: &str, served: bool) -> Action {
    if method != "GET" {
        return Action::Refuse("method");
    }
    match kind {
        ResourceType::Document if !served && without_fragment(url) == without_fragment(page) => {
            Action::Document
        }
        // Another document (a navigation away, a frame): frames are crawled as pages of their
        // own; a page leaving is not this page.
        ResourceType::Document => Action::Refuse("document"),
        ResourceType::Script | ResourceType::Xhr | ResourceType::Fetch => Action::Fetch,
        ResourceType::Image => Action::Refuse("image"),
        ResourceType::Stylesheet => Action::Refuse("stylesheet"),
        ResourceType::Font => Action::Refuse("font"),
        ResourceType::Media | ResourceType::TextTrack => Action::Refuse("media"),
        ResourceType::WebSocket | ResourceType::EventSource => Action::Refuse("stream"),
        // The favicon, beacons, prefetches, manifests, CSP reports: nothing a link is built
        // from (the favicon alone was a request per page and delayed the idle point).
        _ => Action::Refuse("other"),
    }
}

fn headers(pairs: &[(String, String)]) -> Vec<HeaderEntry> {
    pairs
        .iter()
        .filter(|(k, _)| PASSED_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| HeaderEntry::new(k.clone(), v.clone()))
        .collect()
}

fn fulfil(
    ev: &EventRequestPaused,
    status: u16,
    h: Vec<HeaderEntry>,
    body: &[u8],
) -> FulfillRequestParams {
    let mut p = FulfillRequestParams::new(ev.request_id.clone(), status as i64);
    p.response_headers = Some(h);
    p.body = Some(chromiumoxide::Binary::from(
        base64::engine::general_purpose::STANDARD.encode(body),
    ));
    p
}

/// Answer one paused request.
async fn answer(page: Page, ev: Arc<EventRequestPaused>, action: Action, job: Arc<RenderJob>) {
    // `Err(reason)`: fail the request with that reason.
    let reply: Result<FulfillRequestParams, ErrorReason> = match action {
        Action::Document => {
            let h = vec![HeaderEntry::new("content-type", job.content_type.clone())];
            Ok(fulfil(&ev, 200, h, &job.body))
        }
        Action::Refuse(kind) => {
            job.fetch.refused_by_renderer(kind);
            Err(ErrorReason::BlockedByClient)
        }
        Action::Fetch => match url::Url::parse(&ev.request.url) {
            Ok(u) => match job.fetch.get(u).await {
                Ok(resp) => Ok(fulfil(&ev, resp.status, headers(&resp.headers), &resp.body)),
                Err(SubRefusal::Failed(_)) => Err(ErrorReason::Failed),
                Err(SubRefusal::Blocked(_) | SubRefusal::Robots | SubRefusal::NotAllowed(_)) => {
                    Err(ErrorReason::BlockedByClient)
                }
            },
            Err(_) => {
                job.fetch.refused_by_renderer("url");
                Err(ErrorReason::BlockedByClient)
            }
        },
    };
    // A tab closed under a request, or a request the browser gave up on: nothing to do.
    let _ = match reply {
        Ok(params) => page.execute(params).await.map(drop),
        Err(reason) => page
            .execute(FailRequestParams::new(ev.request_id.clone(), reason))
            .await
            .map(drop),
    };
}

fn page_error(e: impl std::fmt::Display) -> RenderError {
    RenderError::Page(e.to_string())
}

/// A blank tab whose requests are paused for linkdiff to answer: the stream of paused
/// requests, subscribed before anything can be asked for.
pub(crate) type Paused = chromiumoxide::listeners::EventStream<EventRequestPaused>;

/// Make `page` (a blank tab) ready: subscribe to its paused requests and pause every request
/// at the request stage. Done ahead of the page it will render (see the crate's tab pool).
pub(crate) async fn prepare(page: &Page) -> Result<Paused, RenderError> {
    let paused = page
        .event_listener::<EventRequestPaused>()
        .await
        .map_err(page_error)?;
    page.execute(
        EnableParams::builder()
            .pattern(
                RequestPattern::builder()
                    .url_pattern("*")
                    .request_stage(RequestStage::Request)
                    .build(),
            )
            .build(),
    )
    .await
    .map_err(page_error)?;
    Ok(paused)
}

/// Render `job` in `page` (a tab made ready by [`prepare`]), giving it `timeout` to settle.
pub(crate) async fn render(
    page: &Page,
    mut paused: Paused,
    job: RenderJob,
    timeout: Duration,
) -> Result<Rendered, RenderError> {
    let deadline = Instant::now() + timeout;
    let job = Arc::new(job);
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    let served = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let intercept = {
        let (page, job, activity, served) =
            (page.clone(), job.clone(), activity.clone(), served.clone());
        tokio::spawn(async move {
            let page_url = job.url.to_string();
            while let Some(ev) = paused.next().await {
                let action = decide(
                    &ev.request.method,
                    &ev.resource_type,
                    &ev.request.url,
                    &page_url,
                    served.load(Ordering::Acquire),
                );
                if action == Action::Document {
                    served.store(true, Ordering::Release);
                }
                activity.in_flight.fetch_add(1, Ordering::AcqRel);
                activity.touch();
                let (page, job, activity) = (page.clone(), job.clone(), activity.clone());
                tokio::spawn(async move {
                    answer(page, ev, action, job).await;
                    activity.touch();
                    activity.in_flight.fetch_sub(1, Ordering::AcqRel);
                });
            }
        })
    };
    let result = settle_and_read(page, &job, &activity, &served, deadline).await;
    intercept.abort();
    result
}

async fn settle_and_read(
    page: &Page,
    job: &RenderJob,
    activity: &Activity,
    served: &std::sync::atomic::AtomicBool,
    deadline: Instant,
) -> Result<Rendered, RenderError> {
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, page.execute(NavigateParams::new(job.url.as_str()))).await {
        Ok(Ok(nav)) => {
            if let Some(e) = &nav.result.error_text {
                return Err(RenderError::Page(format!("navigation failed: {e}")));
            }
        }
        Ok(Err(e)) => return Err(page_error(e)),
        Err(_) => return Err(RenderError::Page("navigation timed out".into())),
    }
    let settled = loop {
        if served.load(Ordering::Acquire) && activity.idle() {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let read = page.evaluate("document.documentElement ? document.documentElement.outerHTML : ''");
    let html = match tokio::time::timeout(READ_DOM, read).await {
        Ok(Ok(v)) => v.into_value::<String>().map_err(page_error)?,
        Ok(Err(e)) => return Err(page_error(e)),
        Err(_) => {
            return Err(RenderError::Page(
                "the DOM could not be read in time".into(),
            ))
        }
    };
    Ok(Rendered { html, settled })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_answered_once_and_other_kinds_by_rule() {
        use Action::{Document, Fetch, Refuse};
        let page = "http://a.test/p";
        let cases = [
            (
                "GET",
                ResourceType::Document,
                "http://a.test/p#x",
                false,
                Document,
            ),
            (
                "GET",
                ResourceType::Document,
                "http://a.test/p",
                true,
                Refuse("document"),
            ),
            (
                "GET",
                ResourceType::Document,
                "http://a.test/frame",
                false,
                Refuse("document"),
            ),
            (
                "GET",
                ResourceType::Script,
                "http://cdn.test/a.js",
                true,
                Fetch,
            ),
            (
                "GET",
                ResourceType::Fetch,
                "http://a.test/l.json",
                true,
                Fetch,
            ),
            (
                "GET",
                ResourceType::Xhr,
                "http://a.test/l.json",
                true,
                Fetch,
            ),
            (
                "GET",
                ResourceType::Other,
                "http://a.test/favicon.ico",
                true,
                Refuse("other"),
            ),
            (
                "POST",
                ResourceType::Fetch,
                "http://a.test/api",
                true,
                Refuse("method"),
            ),
            (
                "GET",
                ResourceType::Image,
                "http://a.test/i.png",
                true,
                Refuse("image"),
            ),
            (
                "GET",
                ResourceType::Stylesheet,
                "http://a.test/s.css",
                true,
                Refuse("stylesheet"),
            ),
            (
                "GET",
                ResourceType::Font,
                "http://a.test/f.woff",
                true,
                Refuse("font"),
            ),
            (
                "GET",
                ResourceType::WebSocket,
                "ws://a.test/",
                true,
                Refuse("stream"),
            ),
        ];
        for (method, kind, url, served, want) in cases {
            assert_eq!(
                decide(method, &kind, url, page, served),
                want,
                "{method} {kind:?} {url}"
            );
        }
    }

    #[test]
    fn only_the_headers_a_page_needs_are_passed() {
        let h = headers(&[
            ("content-type".into(), "application/json".into()),
            ("set-cookie".into(), "a=b".into()),
            ("location".into(), "/next".into()),
        ]);
        let names: Vec<&str> = h.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["content-type", "location"]);
    }
}
