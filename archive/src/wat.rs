//! WAT records (Common Crawl's link metadata, JSON in WARC `metadata` records) as visits.
//!
//! A WAT record describes one record of the original WARC. Only descriptions of `response`
//! records become visits. Links map by their WAT `path` to the link types the HTML extractor
//! gives:
//!
//! | WAT path | link type |
//! |---|---|
//! | `A@/href`, `AREA@/href` | href (anchor = `text`, alt = `alt`, nofollow from `rel`) |
//! | `LINK@/href` | `rel=canonical` → canonical; `rel=alternate` with an RSS/Atom `type` → rss; other `rel=alternate` → alternate; any other rel is not a link |
//! | `IFRAME@/src`, `FRAME@/src` | frame |
//! | `FORM@/action` | form |
//! | `<meta http-equiv=refresh>` in `Head.Metas` | redirect (status 0, like the extractor) |
//!
//! Everything else (`IMG@/src`, `SCRIPT@/src`, …) is not a link. A WAT has no text around
//! links, so `text_pre`/`text_post` are empty; nor the page's encoding or `<html lang>`
//! (`language` comes from `Content-Language` only).

use linkdiff_crawler::extract::{refresh_target, robots_nofollow, robots_noindex};
use linkdiff_crawler::fetch::Fetched;
use linkdiff_crawler::{extract_found, FoundLink, FoundPage, PageInput};
use linkdiff_model::{LinkType, Outcome, PageMeta};
use serde_json::Value;

/// Why a WAT record gives no visit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatError {
    /// The JSON does not parse or lacks the envelope.
    #[error("bad WAT record: {0}")]
    Malformed(String),
    /// The record describes something other than a response (request, warcinfo, …).
    #[error("not a response")]
    NotResponse,
}

/// A capture described by a WAT record.
#[derive(Debug, Clone)]
pub struct WatCapture {
    /// The page (`WARC-Target-URI` of the described record).
    pub uri: String,
    /// Its `WARC-Date`.
    pub date: String,
    /// The address it was fetched from.
    pub ip: String,
    /// HTTP status.
    pub status: u16,
    headers: Vec<(String, String)>,
    found: FoundPage,
    page_size: u64,
}

/// The parts of a WAT record read here; serde skips the rest without building it.
mod json {
    use serde::Deserialize;
    use std::borrow::Cow;

    /// A string borrowed from the record when it has no escapes.
    pub type Str<'a> = Option<Cow<'a, str>>;

    #[derive(Deserialize)]
    pub struct Doc<'a> {
        #[serde(rename = "Envelope", borrow)]
        pub envelope: Envelope<'a>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Envelope<'a> {
        #[serde(rename = "WARC-Header-Metadata", borrow)]
        pub warc: WarcMeta<'a>,
        #[serde(rename = "Payload-Metadata", borrow)]
        pub payload: Payload<'a>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct WarcMeta<'a> {
        #[serde(rename = "WARC-Type", borrow)]
        pub kind: Str<'a>,
        #[serde(rename = "WARC-Target-URI", borrow)]
        pub uri: Str<'a>,
        #[serde(rename = "WARC-Date", borrow)]
        pub date: Str<'a>,
        #[serde(rename = "WARC-IP-Address", borrow)]
        pub ip: Str<'a>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Payload<'a> {
        #[serde(rename = "HTTP-Response-Metadata", borrow)]
        pub http: Option<Http<'a>>,
    }

    /// A number written as a JSON string (as WAT does) or as a number.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub enum Num<'a> {
        Int(u64),
        #[serde(borrow)]
        Text(Cow<'a, str>),
    }

    impl Num<'_> {
        pub fn get(&self) -> Option<u64> {
            match self {
                Num::Int(n) => Some(*n),
                Num::Text(s) => s.trim().parse().ok(),
            }
        }
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Http<'a> {
        #[serde(rename = "Response-Message", borrow)]
        pub message: Option<Message<'a>>,
        #[serde(rename = "Headers")]
        pub headers: serde_json::Map<String, serde_json::Value>,
        #[serde(rename = "HTML-Metadata", borrow)]
        pub html: Option<Html<'a>>,
        #[serde(rename = "Entity-Length", borrow)]
        pub entity_length: Option<Num<'a>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Message<'a> {
        #[serde(rename = "Status", borrow)]
        pub status: Option<Num<'a>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Html<'a> {
        #[serde(rename = "Head", borrow)]
        pub head: Head<'a>,
        #[serde(rename = "Links", borrow)]
        pub links: Vec<Link<'a>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Head<'a> {
        #[serde(rename = "Title", borrow)]
        pub title: Str<'a>,
        #[serde(rename = "Base", borrow)]
        pub base: Str<'a>,
        #[serde(rename = "Metas", borrow)]
        pub metas: Vec<Meta<'a>>,
        #[serde(rename = "Link", borrow)]
        pub link: Vec<Link<'a>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Meta<'a> {
        #[serde(borrow)]
        pub name: Str<'a>,
        #[serde(borrow)]
        pub content: Str<'a>,
        #[serde(rename = "http-equiv", borrow)]
        pub equiv: Str<'a>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Link<'a> {
        #[serde(borrow)]
        pub path: Str<'a>,
        #[serde(borrow)]
        pub url: Str<'a>,
        #[serde(borrow)]
        pub text: Str<'a>,
        #[serde(borrow)]
        pub rel: Str<'a>,
        #[serde(rename = "type", borrow)]
        pub kind: Str<'a>,
        #[serde(borrow)]
        pub alt: Str<'a>,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn own(s: &json::Str<'_>) -> String {
    s.as_deref().unwrap_or("").to_string()
}

/// The link type of a WAT `path` (with the element's `rel` and `type`), or `None` when the
/// path is not a link.
fn link_type(path: &str, rels: &[&str], kind: &str) -> Option<LinkType> {
    let path = path.as_bytes();
    let is = |p: &str| path.eq_ignore_ascii_case(p.as_bytes());
    if is("A@/href") || is("AREA@/href") {
        Some(LinkType::Href)
    } else if is("IFRAME@/src") || is("FRAME@/src") {
        Some(LinkType::Frame)
    } else if is("FORM@/action") {
        Some(LinkType::Form)
    } else if !is("LINK@/href") {
        None
    } else if rels.contains(&"canonical") {
        Some(LinkType::Canonical)
    } else if rels.contains(&"alternate") {
        let kind = kind.to_ascii_lowercase();
        Some(if kind.contains("rss") || kind.contains("atom") {
            LinkType::Rss
        } else {
            LinkType::Alternate
        })
    } else {
        None
    }
}

/// Read the JSON of a WAT `metadata` record.
pub fn parse(block: &[u8]) -> Result<WatCapture, WatError> {
    let doc: json::Doc<'_> =
        serde_json::from_slice(block).map_err(|e| WatError::Malformed(e.to_string()))?;
    let env = doc.envelope;
    if !env
        .warc
        .kind
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("response"))
    {
        return Err(WatError::NotResponse);
    }
    let http = env.payload.http.ok_or(WatError::NotResponse)?;
    let status = http
        .message
        .as_ref()
        .and_then(|m| m.status.as_ref())
        .and_then(json::Num::get)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(WatError::NotResponse)?;
    let headers: Vec<(String, String)> = http
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    let html = http.html.unwrap_or_default();
    let head = html.head;
    let mut found = FoundPage {
        title: own(&head.title),
        base_href: head.base.as_deref().map(str::to_string),
        ..Default::default()
    };
    for meta in &head.metas {
        let content = meta.content.as_deref().unwrap_or("");
        let name = meta.name.as_deref().unwrap_or("");
        let equiv = meta.equiv.as_deref().unwrap_or("");
        if name.eq_ignore_ascii_case("robots") {
            found.robots_nofollow |= robots_nofollow(content);
            found.robots_noindex |= robots_noindex(content);
        }
        if equiv.eq_ignore_ascii_case("refresh") {
            if let Some(href) = refresh_target(content) {
                found.links.push(FoundLink {
                    href,
                    link_type: LinkType::Redirect,
                    anchor: String::new(),
                    alt: String::new(),
                    nofollow: false,
                });
            }
        }
    }
    for l in head.link.iter().chain(&html.links) {
        let (Some(path), Some(url)) = (l.path.as_deref(), l.url.as_deref()) else {
            continue;
        };
        let rel = l.rel.as_deref().unwrap_or("").to_ascii_lowercase();
        let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
        let Some(link_type) = link_type(path, &rels, l.kind.as_deref().unwrap_or("")) else {
            continue;
        };
        let nofollow = rels
            .iter()
            .any(|t| matches!(*t, "nofollow" | "ugc" | "sponsored"));
        found.links.push(FoundLink {
            href: url.to_string(),
            link_type,
            anchor: if link_type == LinkType::Href {
                own(&l.text)
            } else {
                String::new()
            },
            alt: own(&l.alt),
            nofollow,
        });
    }
    Ok(WatCapture {
        uri: own(&env.warc.uri),
        date: own(&env.warc.date),
        ip: own(&env.warc.ip),
        status,
        headers,
        found,
        page_size: http
            .entity_length
            .as_ref()
            .and_then(json::Num::get)
            .unwrap_or(0),
    })
}

impl WatCapture {
    /// The visit outcome, by the crawler's rules for statuses (redirects, gone, failures)
    /// and the extractor's for links.
    pub fn outcome(self, url: &url::Url) -> Outcome {
        let all: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let fetched = Fetched {
            status: self.status,
            headers: Fetched::kept_headers(&all),
            body: Vec::new(),
            truncated: false,
            ip: self.ip.clone(),
        };
        if !(200..300).contains(&self.status) {
            return crate::outcome_or_failed(url, &fetched);
        }
        let ct = fetched.header("content-type");
        let meta = PageMeta {
            http_code: self.status,
            ip: self.ip,
            page_size: self.page_size,
            ..Default::default()
        };
        if !linkdiff_crawler::extract::is_html(ct) {
            return Outcome::Fetched {
                meta,
                links: Vec::new(),
            };
        }
        let input = PageInput {
            url: url.as_str(),
            content_type: ct,
            content_language: fetched.header("content-language"),
            x_robots_tag: fetched.header("x-robots-tag"),
            link_header: fetched.header("link"),
            body: &[],
        };
        let ex = extract_found(&input, "", self.found);
        Outcome::Fetched {
            meta: PageMeta {
                title: ex.page.title,
                language: ex.page.language,
                links_internal: ex.page.links_internal,
                links_external: ex.page.links_external,
                noindex: ex.page.noindex,
                ..meta
            },
            links: ex.links,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn capture(status: u16, headers: Value, head: Value, links: Value) -> WatCapture {
        let rec = crate::testfiles::wat(
            "http://src.test/p",
            "2024-03-01T10:00:00Z",
            status,
            headers,
            head,
            links,
        );
        let body_start = rec.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let json = &rec[body_start..rec.len() - 4];
        parse(json).unwrap()
    }

    fn url() -> url::Url {
        url::Url::parse("http://src.test/p").unwrap()
    }

    #[test]
    fn links_map_by_path_to_link_types_resolved_against_base() {
        let c = capture(
            200,
            json!({"Content-Type": "text/html"}),
            json!({
                "Title": " Hello  world ",
                "Base": "http://src.test/dir/",
                "Metas": [{"http-equiv": "refresh", "content": "0; url=/next"}],
                "Link": [
                    {"path": "LINK@/href", "rel": "canonical", "url": "http://src.test/canon"},
                    {"path": "LINK@/href", "rel": "alternate", "type": "application/rss+xml", "url": "/feed"},
                    {"path": "LINK@/href", "rel": "alternate", "hreflang": "de", "url": "/de"},
                    {"path": "LINK@/href", "rel": "stylesheet", "url": "/s.css"}
                ]
            }),
            json!([
                {"path": "A@/href", "url": "rel", "text": " a  b "},
                {"path": "A@/href", "url": "http://t.test/", "text": "T", "rel": "nofollow noopener"},
                {"path": "AREA@/href", "url": "http://t.test/area", "alt": "map"},
                {"path": "IMG@/src", "url": "/img.png"},
                {"path": "IFRAME@/src", "url": "http://f.test/"},
                {"path": "FORM@/action", "url": "/go"},
                {"path": "A@/href", "url": "javascript:void(0)", "text": "js"}
            ]),
        );
        assert_eq!(c.date, "2024-03-01T10:00:00Z");
        let Outcome::Fetched { meta, links } = c.outcome(&url()) else {
            panic!("a 200 is fetched");
        };
        assert_eq!(meta.title, "Hello world");
        assert_eq!(meta.ip, "192.0.2.7");
        let got: Vec<(LinkType, &str, &str, bool)> = links
            .iter()
            .map(|l| {
                (
                    l.link_type,
                    l.url_to.as_str(),
                    l.anchor.as_str(),
                    l.nofollow,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (LinkType::Redirect, "http://src.test/next", "", false),
                (LinkType::Canonical, "http://src.test/canon", "", false),
                (LinkType::Rss, "http://src.test/feed", "", false),
                (LinkType::Alternate, "http://src.test/de", "", false),
                (LinkType::Href, "http://src.test/dir/rel", "a b", false),
                (LinkType::Href, "http://t.test/", "T", true),
                (LinkType::Href, "http://t.test/area", "", false),
                (LinkType::Frame, "http://f.test/", "", false),
                (LinkType::Form, "http://src.test/go", "", false),
            ]
        );
        assert_eq!(links[6].alt, "map");
        assert_eq!((meta.links_internal, meta.links_external), (1, 2));
    }

    #[test]
    fn page_nofollow_redirects_gone_and_non_responses() {
        let c = capture(
            200,
            json!({}),
            json!({"Metas": [{"name": "robots", "content": "noindex, nofollow"}]}),
            json!([{"path": "A@/href", "url": "http://t.test/"}]),
        );
        let Outcome::Fetched { links, meta } = c.outcome(&url()) else {
            panic!()
        };
        assert!(links[0].nofollow);
        assert!(meta.noindex, "meta robots noindex, nofollow");
        let moved = capture(301, json!({"Location": "/new"}), json!({}), json!([]));
        match moved.outcome(&url()) {
            Outcome::Redirected { link, .. } => {
                assert_eq!(link.url_to, "http://src.test/new");
                assert_eq!(link.redirect, 301);
            }
            other => panic!("{other:?}"),
        }
        let gone = capture(404, json!({}), json!({}), json!([]));
        assert_eq!(gone.outcome(&url()), Outcome::Gone { http_code: 404 });
        let broken = capture(503, json!({}), json!({}), json!([]));
        assert_eq!(broken.outcome(&url()), Outcome::Failed { http_code: 503 });
        let request = json!({"Envelope": {"WARC-Header-Metadata": {"WARC-Type": "request"}}});
        assert_eq!(
            parse(request.to_string().as_bytes()).unwrap_err(),
            WatError::NotResponse
        );
        assert!(matches!(parse(b"{not json"), Err(WatError::Malformed(_))));
    }
}
