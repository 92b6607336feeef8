//! The extractor: one fetched page (final URL, headers, body) → page fields and links
//! (SPEC §4). A pure function: no I/O, no async, never fails on any input.
//!
//! Two engines feed one walker (`walker.rs`: links, anchors, context) with element and text events:
//! - **stream** (the default, [`extract`]): html5gum's WHATWG tokenizer (`tokens.rs`) and a
//!   model of HTML tree construction without the tree (`nesting.rs`): implied end tags, scopes,
//!   the adoption agency and reopened formatting elements, tables, SVG/MathML, framesets,
//!   scripting off (`<noscript>` is markup). Time is linear in the page: every step is O(1)
//!   amortised or looks at most 256 elements deep.
//! - **tree** ([`Engine::Tree`]): html5ever's full tree through scraper, the test oracle.
//!
//! They give identical results on every fixture, on generated well-formed HTML and on real
//! pages (`tests/extract_differential.rs`). Intended differences, both from markup that HTML
//! repairs:
//! 1. **A misnested `<a>` is one link.** When a block closes an open `<a>`
//!    (`<p><a href=x>one</p><p>two</a>`), HTML clones the `<a>` around the following text;
//!    the tree then shows a second link to x with anchor "two". The stream counts the one `<a>` the author wrote
//!    (anchor "one"): the clone only shapes nesting. Link targets are the same either way.
//! 2. **Stray table content keeps its place.** Text or inline elements directly inside
//!    `<table>`/`<tr>` (outside cells) are moved before the table by HTML; the stream leaves
//!    them where they are, so the `text_pre`/`text_post` of links next to them can differ.
//!    Links and anchors are the same.
//!
//! Limits that bound what one hostile page costs: [`MAX_LINKS`] links stored per page (the
//! rest counted), anchors collapsed to [`MAX_ANCHOR`] characters, titles too, context to
//! [`MAX_CONTEXT`]; scope checks deeper than 256 open elements treat the element as out of
//! scope (browsers cap depth near there too).

pub mod hostile;
mod nesting;
mod oracle;
mod tag;
mod text;
mod tokens;
mod walker;

use crate::charset;
use crate::normalize;
use linkdiff_model::{registrable_domain, Link, LinkType};
use serde::Serialize;
use url::Url;
use walker::Walker;

/// What the extractor needs to know about a response.
#[derive(Debug, Clone, Default)]
pub struct PageInput<'a> {
    /// Final URL of the page (after the fetch; redirects are separate visits).
    pub url: &'a str,
    /// `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// `Content-Language` header.
    pub content_language: Option<&'a str>,
    /// `X-Robots-Tag` header(s), joined by commas.
    pub x_robots_tag: Option<&'a str>,
    /// `Link` header(s), joined by commas.
    pub link_header: Option<&'a str>,
    /// Body after decompression (possibly truncated by `--max-body`).
    pub body: &'a [u8],
}

/// Page-level fields (SPEC §4), named as in the Ahrefs v2 columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PageFields {
    /// Final URL.
    pub url: String,
    /// Encoding name (`utf8`, `iso-8859-1`, ...).
    pub encoding: String,
    /// `<title>`, whitespace collapsed.
    pub title: String,
    /// ISO 639-1 code, lowercase, or empty.
    pub language: String,
    /// Body bytes.
    pub page_size: u64,
    /// href links to the same registrable domain.
    pub links_internal: u32,
    /// href links to another registrable domain.
    pub links_external: u32,
    /// The page asks not to be indexed (`<meta name=robots content=noindex>` or
    /// `X-Robots-Tag: noindex`, `none` too): its links are lost with reason `noindex`.
    pub noindex: bool,
}

/// One outgoing link with its context (the shared [`Link`] type).
pub type ExtractedLink = Link;

/// The extractor's result for one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Extracted {
    /// Page fields.
    pub page: PageFields,
    /// Every link in document order (HTTP `Link` header links first).
    pub links: Vec<ExtractedLink>,
}

/// Longest anchor kept, in characters.
pub const MAX_ANCHOR: usize = 1000;
/// Longest `text_pre` / `text_post`, in characters.
pub const MAX_CONTEXT: usize = 100;
/// Links stored per page. Further `href` links still count in `links_internal` /
/// `links_external`; further links of other types are dropped. Real pages stay far below
/// (a large category page has a few thousand); the cap bounds what one hostile page costs.
pub const MAX_LINKS: usize = 10_000;

/// True for content types the extractor parses (`text/html`, `application/xhtml+xml`); a
/// missing type counts as HTML.
pub fn is_html(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "text/html" || mime == "application/xhtml+xml" || mime.is_empty()
        }
    }
}

/// Extract page fields and links from one page with the streaming extractor. Never panics;
/// any bytes give a result, in time linear in the body's size.
pub fn extract(input: &PageInput<'_>) -> Extracted {
    extract_with(input, Engine::Stream)
}

/// Which parser feeds the walker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// html5gum's tokenizer and the open-element rules of `nesting.rs`: the default.
    #[default]
    Stream,
    /// A full html5ever tree through scraper: the test oracle (see the module docs for the
    /// intended differences).
    Tree,
}

/// Extract with the given engine (the CLI's `extract --engine`, the differential tests).
pub fn extract_with(input: &PageInput<'_>, engine: Engine) -> Extracted {
    let page_url = Url::parse(input.url).ok();
    let tld = page_url
        .as_ref()
        .and_then(|u| u.host_str())
        .and_then(|h| h.rsplit('.').next());
    let decoded = charset::decode(input.body, input.content_type, tld);
    let mut w = Walker::default();
    // About one link per 200 bytes on link-dense pages: most pages grow the list once or
    // never, instead of eight times.
    w.links
        .reserve((decoded.text.len() / 200).clamp(16, MAX_LINKS));
    match engine {
        Engine::Stream => tokens::walk(&decoded.text, &mut w),
        Engine::Tree => oracle::walk(&decoded.text, &mut w),
    }
    let found = Found {
        title: w.title,
        html_lang: w.html_lang,
        base_href: w.base_href,
        robots_nofollow: w.robots_nofollow,
        robots_noindex: w.robots_noindex,
        links: w.links,
        overflow_hrefs: w.overflow_hrefs,
    };
    resolve_found(input, page_url, decoded.encoding, found)
}

/// A link some other parser found on a page (a Common Crawl WAT record), before URL
/// resolution; it has no surrounding text.
#[derive(Debug, Clone)]
pub struct FoundLink {
    /// The attribute value as written (relative or absolute).
    pub href: String,
    /// Kind of link.
    pub link_type: LinkType,
    /// Anchor text, raw (collapsed here).
    pub anchor: String,
    /// Alt text, raw.
    pub alt: String,
    /// The element's own rel says nofollow/ugc/sponsored.
    pub nofollow: bool,
}

/// A page some other parser read: its page-level facts and links in document order.
#[derive(Debug, Clone, Default)]
pub struct FoundPage {
    /// `<title>`, raw.
    pub title: String,
    /// `<html lang>`.
    pub html_lang: Option<String>,
    /// `<base href>`.
    pub base_href: Option<String>,
    /// `<meta name=robots>` says nofollow (or none).
    pub robots_nofollow: bool,
    /// `<meta name=robots>` says noindex (or none).
    pub robots_noindex: bool,
    /// Links in document order.
    pub links: Vec<FoundLink>,
}

/// Page fields and links from a page another parser already read (`input.body` is not
/// parsed; it may be empty), by the same rules as [`extract`]: URL resolution against
/// `<base>`, `Link` header canonicals, page-level nofollow, the [`MAX_LINKS`] cap, internal
/// and external counts. `encoding` is reported as given.
pub fn extract_found(input: &PageInput<'_>, encoding: &str, page: FoundPage) -> Extracted {
    let mut links = Vec::with_capacity(page.links.len().min(MAX_LINKS));
    let mut overflow_hrefs = Vec::new();
    for l in page.links {
        if links.len() >= MAX_LINKS {
            if l.link_type == LinkType::Href {
                overflow_hrefs.push(l.href);
            }
            continue;
        }
        links.push(walker::RawLink {
            href: l.href,
            link_type: l.link_type,
            anchor: walker::collapsed(&l.anchor),
            alt: (!l.alt.is_empty()).then(|| walker::collapsed(&l.alt)),
            text_pre: String::new(),
            text_post: String::new(),
            nofollow: l.nofollow,
        });
    }
    let found = Found {
        title: walker::collapsed(&page.title),
        html_lang: page.html_lang,
        base_href: page.base_href,
        robots_nofollow: page.robots_nofollow,
        robots_noindex: page.robots_noindex,
        links,
        overflow_hrefs,
    };
    resolve_found(
        input,
        Url::parse(input.url).ok(),
        encoding.to_string(),
        found,
    )
}

/// What a walk over a page found, before URL resolution.
struct Found {
    title: String,
    html_lang: Option<String>,
    base_href: Option<String>,
    robots_nofollow: bool,
    robots_noindex: bool,
    links: Vec<walker::RawLink>,
    overflow_hrefs: Vec<String>,
}

/// Resolve found links against the page's base into page fields and links.
fn resolve_found(
    input: &PageInput<'_>,
    page_url: Option<Url>,
    encoding: String,
    w: Found,
) -> Extracted {
    let host = page_url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("")
        .to_string();
    let mut page = PageFields {
        url: input.url.to_string(),
        encoding,
        title: text::cap_collapsed(w.title, MAX_ANCHOR),
        language: language(w.html_lang.as_deref(), input.content_language),
        page_size: input.body.len() as u64,
        ..Default::default()
    };

    let mut links = Vec::with_capacity(w.links.len() + 1);
    let Some(page_url) = page_url else {
        return Extracted { page, links };
    };
    let base = w
        .base_href
        .as_deref()
        .and_then(|b| page_url.join(b.trim()).ok())
        .filter(|b| matches!(b.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone());

    let page_nofollow = w.robots_nofollow || input.x_robots_tag.is_some_and(robots_nofollow);
    page.noindex = w.robots_noindex || input.x_robots_tag.is_some_and(robots_noindex);
    if let Some(h) = input.link_header {
        for target in canonical_from_link_header(h) {
            if let Some(url_to) = normalize::resolve(&page_url, &target) {
                links.push(ExtractedLink {
                    nofollow: page_nofollow,
                    ..Link::bare(url_to, LinkType::Canonical)
                });
            }
        }
    }
    let own_domain = registrable_domain(&host).to_string();
    // Internal or external by registrable domain, from the parsed URL's host (both sides as
    // the url crate writes hosts); most links of a page go to the page's own host or to the
    // host of the one before, which are not looked up again.
    let mut last_host: Option<(String, bool)> = None;
    let mut count = |url_to: &normalize::Resolved, page: &mut PageFields| {
        let link_host = url_to.host();
        let internal = match &last_host {
            _ if link_host == host => true,
            Some((h, internal)) if h == link_host => *internal,
            _ => {
                let internal = registrable_domain(link_host) == own_domain;
                last_host = Some((link_host.to_string(), internal));
                internal
            }
        };
        if internal {
            page.links_internal += 1;
        } else {
            page.links_external += 1;
        }
    };
    let mut resolver = normalize::Resolver::new(&base);
    for raw in w.links {
        let Some(url_to) = resolver.resolve(&raw.href) else {
            continue;
        };
        if raw.link_type == LinkType::Href {
            count(&url_to, &mut page);
        }
        links.push(ExtractedLink {
            url_to: url_to.url,
            link_type: raw.link_type,
            anchor: text::cap_collapsed(raw.anchor, MAX_ANCHOR),
            alt: raw
                .alt
                .map_or_else(String::new, |alt| text::cap_collapsed(alt, MAX_ANCHOR)),
            text_pre: raw.text_pre,
            text_post: raw.text_post,
            nofollow: raw.nofollow || page_nofollow,
            redirect: 0,
            rendered: false,
        });
    }
    for href in &w.overflow_hrefs {
        if let Some(url_to) = resolver.resolve(href) {
            count(&url_to, &mut page);
        }
    }
    Extracted { page, links }
}

/// `<html lang>` primary subtag, else the first `Content-Language`, if it is ISO 639-1.
fn language(html_lang: Option<&str>, header: Option<&str>) -> String {
    let pick = |s: &str| {
        let primary = s
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        (primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_lowercase())).then_some(primary)
    };
    html_lang
        .and_then(pick)
        .or_else(|| header.and_then(|h| h.split(',').find_map(pick)))
        .unwrap_or_default()
}

/// Whether a robots directive list (`<meta name=robots>` content, `X-Robots-Tag`) says
/// noindex (`noindex` or `none`).
pub fn robots_noindex(content: &str) -> bool {
    content
        .split([',', ' ', ';'])
        .map(|t| t.trim().to_ascii_lowercase())
        .any(|t| t == "noindex" || t == "none")
}

/// Whether a robots directive list (`<meta name=robots>` content, `X-Robots-Tag`) says
/// nofollow (`nofollow` or `none`).
pub fn robots_nofollow(content: &str) -> bool {
    content
        .split([',', ' ', ';'])
        .map(|t| t.trim().to_ascii_lowercase())
        .any(|t| t == "nofollow" || t == "none")
}

/// Targets of `Link: <url>; rel="canonical"` entries.
fn canonical_from_link_header(h: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = h;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = &rest[open + 1..open + close];
        let after = &rest[open + close + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        let is_canonical = params.split(';').any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim_matches(['"', ',', ' ', '\t'])
                        .split_whitespace()
                        .any(|t| t.eq_ignore_ascii_case("canonical"))
            })
        });
        if is_canonical {
            out.push(target.to_string());
        }
        rest = &after[params_end..];
    }
    out
}

/// The URL of `<meta http-equiv=refresh content="5; url=...">`.
pub fn refresh_target(content: &str) -> Option<String> {
    let (_, rest) = content.split_once([';', ','])?;
    let rest = rest.trim_start();
    let rest = if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case("url") {
        rest[3..].trim_start().strip_prefix('=')?.trim()
    } else {
        rest.trim()
    };
    let rest = rest.trim_matches(['"', '\'']);
    (!rest.is_empty()).then(|| rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::text::collapse;
    use super::*;

    #[test]
    fn refresh_and_link_header_parsing() {
        assert_eq!(refresh_target("0; URL='/next'"), Some("/next".into()));
        assert_eq!(
            refresh_target("5;url=http://x.test/"),
            Some("http://x.test/".into())
        );
        assert_eq!(refresh_target("5"), None);
        assert_eq!(
            canonical_from_link_header(
                r#"<https://a.test/c>; rel="canonical", <https://a.test/p>; rel=prev"#
            ),
            vec!["https://a.test/c"]
        );
    }

    #[test]
    fn internal_and_external_by_registrable_domain() {
        let counts = |url: &str, body: &str| {
            let ex = extract(&PageInput {
                url,
                content_type: Some("text/html"),
                body: body.as_bytes(),
                ..Default::default()
            });
            (ex.page.links_internal, ex.page.links_external)
        };
        let body = "<a href=/a>1</a> <a href=https://blog.example.co.uk/x>2</a>
            <a href=//example.co.uk/>3</a> <a href=http://other.co.uk/>4</a>
            <a href=https://example.co.uk:8443/>5</a> <a href=http://co.uk/>6</a>";
        assert_eq!(counts("http://www.example.co.uk/p", body), (4, 2));
        // IPv6 hosts compare as the url crate writes them, brackets included, on both sides.
        let body = "<a href=/x>1</a> <a href=http://[::1]:9/y>2</a> <a href=http://[::2]/>3</a>";
        assert_eq!(counts("http://[::1]:8080/", body), (2, 1));
    }

    /// One piece of a paragraph: text, or a link with its anchor.
    #[derive(Debug, Clone)]
    enum Piece {
        Text(String),
        Link(String),
    }

    fn piece() -> impl proptest::strategy::Strategy<Value = Piece> {
        use proptest::prelude::*;
        prop_oneof![
            6 => "[a-c é\n\t]{0,12}".prop_map(Piece::Text),
            4 => "[a-c ]{1,6}".prop_map(Piece::Link),
            // Past the block buffer's limit and the long-text-node cut: many words, one long
            // word, whitespace alone.
            1 => Just(Piece::Text("lorem ipsum ".repeat(1500))),
            2 => Just(Piece::Text("dolor sit amet ".repeat(700))),
            1 => Just(Piece::Text("sed é ".repeat(1500))),
            1 => Just(Piece::Text("x".repeat(17_000))),
            1 => Just(Piece::Text(" \n".repeat(9000))),
            1 => Just(Piece::Text(format!("{}tail end", "é ".repeat(9000)))),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// `text_pre` and `text_post` are the paragraph's text before the link and after it,
        /// collapsed and cut at word boundaries, however the text is split into nodes and
        /// however long it runs.
        #[test]
        fn context_is_the_collapsed_text_either_side_of_the_link(
            pieces in proptest::collection::vec(piece(), 1..40),
        ) {
            let mut body = String::from("<p>");
            for p in &pieces {
                match p {
                    Piece::Text(t) => body.push_str(t),
                    Piece::Link(a) => body.push_str(&format!("<a href=/x>{a}</a>")),
                }
            }
            body.push_str("</p>");
            let ex = extract(&PageInput {
                url: "http://a.test/",
                body: body.as_bytes(),
                ..Default::default()
            });
            let text = |p: &Piece| match p {
                Piece::Text(t) | Piece::Link(t) => t.clone(),
            };
            let links: Vec<usize> = (0..pieces.len())
                .filter(|&i| matches!(pieces[i], Piece::Link(_)))
                .collect();
            proptest::prop_assert_eq!(ex.links.len(), links.len());
            for (l, &i) in ex.links.iter().zip(&links) {
                let before: String = pieces[..i].iter().map(text).collect();
                let after: String = pieces[i + 1..].iter().map(text).collect();
                proptest::prop_assert_eq!(&l.anchor, &collapse(&text(&pieces[i]), MAX_ANCHOR));
                proptest::prop_assert_eq!(&l.text_pre, &text::cut_pre(&collapse(&before, 1 << 30)));
                proptest::prop_assert_eq!(&l.text_post, &text::cut_post(&collapse(&after, 1 << 30)));
            }
        }
    }

    /// Text after a link arriving in two nodes, the second starting mid-word, with the
    /// first ending at every length around `text_post`'s cut.
    #[test]
    fn text_post_waits_for_the_word_at_its_cut() {
        for n in MAX_CONTEXT - 5..MAX_CONTEXT + 8 {
            let first: String = "ab ".repeat(60).chars().take(n).collect();
            let body = format!("<p><a href=/x>a</a> {first}<b>cdefg hij</b> tail</p>");
            let ex = extract(&PageInput {
                url: "http://a.test/",
                body: body.as_bytes(),
                ..Default::default()
            });
            let after = format!(" {first}cdefg hij tail");
            assert_eq!(
                ex.links[0].text_post,
                text::cut_post(&collapse(&after, 1 << 30)),
                "{n}"
            );
        }
    }

    /// Attribute values read in place and values built from pieces (character references,
    /// non-ASCII) come out the same.
    #[test]
    fn attribute_values_in_place_or_in_pieces() {
        let body = r#"<a href="/a&amp;b&#x41;c" rel='no&#102;ollow'>1</a><a href=/é?q=&quot;x>2</a>
            <a href="&#47;lead">3</a><a href="/plain" rel=nofollow>4</a><img alt="a&lt;b">"#;
        let ex = extract(&PageInput {
            url: "http://a.test/",
            body: body.as_bytes(),
            ..Default::default()
        });
        let got: Vec<(&str, bool)> = ex
            .links
            .iter()
            .map(|l| (l.url_to.as_str(), l.nofollow))
            .collect();
        assert_eq!(
            got,
            [
                ("http://a.test/a&bAc", true),
                ("http://a.test/%C3%A9?q=%22x", false),
                ("http://a.test/lead", false),
                ("http://a.test/plain", true),
            ]
        );
    }

    #[test]
    fn languages() {
        assert_eq!(language(Some("en-US"), Some("fr")), "en");
        assert_eq!(language(None, Some("de-DE, fr")), "de");
        assert_eq!(language(Some("x"), None), "");
    }

    #[test]
    fn noindex_from_meta_robots_or_the_header() {
        let page = |body: &str, header: Option<&str>| {
            extract(&PageInput {
                url: "http://a.test/",
                content_type: Some("text/html"),
                x_robots_tag: header,
                body: body.as_bytes(),
                ..Default::default()
            })
            .page
            .noindex
        };
        assert!(page("<meta name=robots content='noindex, follow'>", None));
        assert!(page("<meta name=ROBOTS content=none>", None));
        assert!(page("<p>x", Some("noarchive, noindex")));
        assert!(!page("<meta name=robots content='index, nofollow'>", None));
        assert!(!page("<meta name=googlebot content=noindex>", None));
        for engine in [Engine::Stream, Engine::Tree] {
            let ex = extract_with(
                &PageInput {
                    url: "http://a.test/",
                    body: b"<head><meta name=robots content=noindex></head>",
                    ..Default::default()
                },
                engine,
            );
            assert!(ex.page.noindex, "{engine:?}");
        }
    }
}
