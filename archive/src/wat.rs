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

use linkdiff_crawler::extract::{refresh_target, robots_nofollow};
use linkdiff_crawler::fetch::Fetched;
use linkdiff_crawler::{extract_found, FoundLink, FoundPage, PageInput};
use linkdiff_store::{LinkType, Outcome, PageMeta};
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

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Read the JSON of a WAT `metadata` record.
pub fn parse(block: &[u8]) -> Result<WatCapture, WatError> {
    let doc: Value =
        serde_json::from_slice(block).map_err(|e| WatError::Malformed(e.to_string()))?;
    let env = doc
        .get("Envelope")
        .ok_or_else(|| WatError::Malformed("no Envelope".into()))?;
    let warc = &env["WARC-Header-Metadata"];
    if !warc["WARC-Type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("response"))
    {
        return Err(WatError::NotResponse);
    }
    let http = &env["Payload-Metadata"]["HTTP-Response-Metadata"];
    let status: u16 = match &http["Response-Message"]["Status"] {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        _ => None,
    }
    .ok_or(WatError::NotResponse)?;
    let headers: Vec<(String, String)> = http["Headers"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    let html = &http["HTML-Metadata"];
    let head = &html["Head"];
    let mut found = FoundPage {
        title: text(&head["Title"]),
        base_href: head["Base"].as_str().map(str::to_string),
        ..Default::default()
    };
    for meta in head["Metas"].as_array().into_iter().flatten() {
        let content = meta["content"].as_str().unwrap_or("");
        let name = meta["name"].as_str().unwrap_or("");
        let equiv = meta["http-equiv"].as_str().unwrap_or("");
        if name.eq_ignore_ascii_case("robots") && robots_nofollow(content) {
            found.robots_nofollow = true;
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
    let entries = head["Link"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(html["Links"].as_array().into_iter().flatten());
    for l in entries {
        let (Some(path), Some(url)) = (l["path"].as_str(), l["url"].as_str()) else {
            continue;
        };
        let rel = l["rel"].as_str().unwrap_or("").to_ascii_lowercase();
        let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
        let link_type = match path.to_ascii_uppercase().as_str() {
            "A@/HREF" | "AREA@/HREF" => LinkType::Href,
            "IFRAME@/SRC" | "FRAME@/SRC" => LinkType::Frame,
            "FORM@/ACTION" => LinkType::Form,
            "LINK@/HREF" if rels.contains(&"canonical") => LinkType::Canonical,
            "LINK@/HREF" if rels.contains(&"alternate") => {
                let ty = l["type"].as_str().unwrap_or("").to_ascii_lowercase();
                if ty.contains("rss") || ty.contains("atom") {
                    LinkType::Rss
                } else {
                    LinkType::Alternate
                }
            }
            _ => continue,
        };
        let nofollow = rels
            .iter()
            .any(|t| matches!(*t, "nofollow" | "ugc" | "sponsored"));
        found.links.push(FoundLink {
            href: url.to_string(),
            link_type,
            anchor: if link_type == LinkType::Href {
                l["text"].as_str().unwrap_or("").to_string()
            } else {
                String::new()
            },
            alt: l["alt"].as_str().unwrap_or("").to_string(),
            nofollow,
        });
    }
    let page_size = match &http["Entity-Length"] {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    };
    Ok(WatCapture {
        uri: warc["WARC-Target-URI"].as_str().unwrap_or("").to_string(),
        date: warc["WARC-Date"].as_str().unwrap_or("").to_string(),
        ip: warc["WARC-IP-Address"].as_str().unwrap_or("").to_string(),
        status,
        headers,
        found,
        page_size,
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
        let Outcome::Fetched { links, .. } = c.outcome(&url()) else {
            panic!()
        };
        assert!(links[0].nofollow);
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
