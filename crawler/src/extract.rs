//! The extractor: one fetched page (final URL, headers, body) → page fields and links
//! (SPEC §4). A pure function: no I/O, no async, never fails on any input.

use crate::charset;
use crate::normalize;
use ego_tree::iter::Edge;
use linkdiff_store::model::url_host;
use linkdiff_store::{registrable_domain, Link, LinkType};
use scraper::{Html, Node};
use serde::Serialize;
use url::Url;

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

/// Extract page fields and links from one page. Never panics; any bytes give a result.
pub fn extract(input: &PageInput<'_>) -> Extracted {
    let page_url = Url::parse(input.url).ok();
    let host = page_url
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("")
        .to_string();
    let tld = host.rsplit('.').next();
    let decoded = charset::decode(input.body, input.content_type, tld);
    let doc = parse_without_scripting(&decoded.text);
    let mut w = Walker::default();
    w.walk(&doc);

    let mut page = PageFields {
        url: input.url.to_string(),
        encoding: decoded.encoding,
        title: w.title.trim().to_string(),
        language: language(w.html_lang.as_deref(), input.content_language),
        page_size: input.body.len() as u64,
        ..Default::default()
    };

    let mut links = Vec::new();
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
    if let Some(h) = input.link_header {
        for target in canonical_from_link_header(h) {
            if let Some(url_to) = normalize::resolve(&page_url, &target) {
                links.push(ExtractedLink {
                    url_to,
                    link_type: LinkType::Canonical,
                    anchor: String::new(),
                    alt: String::new(),
                    text_pre: String::new(),
                    text_post: String::new(),
                    nofollow: page_nofollow,
                    redirect: 0,
                });
            }
        }
    }
    let own_domain = registrable_domain(&host).to_string();
    for raw in w.links {
        let Some(url_to) = normalize::resolve(&base, &raw.href) else {
            continue;
        };
        if raw.link_type == LinkType::Href {
            if registrable_domain(url_host(&url_to)) == own_domain {
                page.links_internal += 1;
            } else {
                page.links_external += 1;
            }
        }
        links.push(ExtractedLink {
            url_to,
            link_type: raw.link_type,
            anchor: collapse(&raw.anchor, MAX_ANCHOR),
            alt: collapse(&raw.alt.unwrap_or_default(), MAX_ANCHOR),
            text_pre: cut_pre(&raw.text_pre),
            text_post: cut_post(&raw.text_post),
            nofollow: raw.nofollow || page_nofollow,
            redirect: 0,
        });
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

fn robots_nofollow(content: &str) -> bool {
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

/// Collapse whitespace runs to one space, trim, and cap at `max` characters.
fn collapse(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut n = 0;
    for word in s.split_whitespace() {
        if n >= max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
            n += 1;
        }
        for c in word.chars() {
            if n >= max {
                break;
            }
            out.push(c);
            n += 1;
        }
    }
    out
}

/// The last ≤ 100 characters of `s`, dropping a word cut in half at the start.
fn cut_pre(s: &str) -> String {
    let s = s.trim();
    let count = s.chars().count();
    if count <= MAX_CONTEXT {
        return s.to_string();
    }
    let start = s
        .char_indices()
        .nth(count - MAX_CONTEXT)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let cut_mid_word = !s[..start].ends_with(' ') && !s[start..].starts_with(' ');
    let tail = &s[start..];
    let tail = if cut_mid_word {
        tail.split_once(' ').map(|(_, r)| r).unwrap_or("")
    } else {
        tail
    };
    tail.trim().to_string()
}

/// The first ≤ 100 characters of `s`, dropping a word cut in half at the end.
fn cut_post(s: &str) -> String {
    let s = s.trim();
    let Some((end, _)) = s.char_indices().nth(MAX_CONTEXT) else {
        return s.to_string();
    };
    let cut_mid_word = !s[end..].starts_with(' ') && !s[..end].ends_with(' ');
    let head = &s[..end];
    let head = if cut_mid_word {
        head.rsplit_once(' ').map(|(l, _)| l).unwrap_or("")
    } else {
        head
    };
    head.trim().to_string()
}

/// Parse as a browser with scripting off does (html5lib's and search engines' view): the
/// content of `<noscript>` is markup, so the links in it are found. A crawler runs no scripts.
fn parse_without_scripting(text: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    use html5ever::tree_builder::TreeBuilderOpts;
    use html5ever::{driver, ParseOpts};
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts {
            scripting_enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    driver::parse_document(scraper::HtmlTreeSink::new(Html::new_document()), opts).one(text)
}

/// Elements whose text is not visible (to a reader without scripts, `<noscript>` content is).
fn is_invisible(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "template"
            | "head"
            | "title"
            | "textarea"
            | "select"
            | "option"
            | "svg"
            | "math"
    )
}

/// Elements that bound `text_pre` / `text_post`.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "li"
            | "td"
            | "th"
            | "div"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "blockquote"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "nav"
            | "body"
            | "ul"
            | "ol"
            | "table"
            | "tr"
            | "main"
            | "aside"
            | "form"
            | "dl"
            | "dt"
            | "dd"
            | "pre"
            | "figure"
            | "figcaption"
            | "html"
    )
}

/// A link as found in the tree, before URL resolution.
#[derive(Debug)]
struct RawLink {
    href: String,
    link_type: LinkType,
    anchor: String,
    alt: Option<String>,
    text_pre: String,
    text_post: String,
    nofollow: bool,
}

/// One pass over the tree, collecting links with their text context.
#[derive(Default)]
struct Walker {
    links: Vec<RawLink>,
    /// Visible text since the last block boundary (whitespace collapsed), capped.
    block_text: String,
    /// Links whose element is open: indices into `links`, capturing anchor text.
    open: Vec<usize>,
    /// Links closed and still collecting `text_post`.
    pending_post: Vec<usize>,
    invisible_depth: usize,
    title: String,
    in_title: bool,
    html_lang: Option<String>,
    base_href: Option<String>,
    robots_nofollow: bool,
}

/// Cap on `block_text`: only its tail is ever used.
const BLOCK_TEXT_KEEP: usize = 4 * MAX_CONTEXT;

/// Append `text` to `buf` with whitespace runs collapsed to one space (NULs dropped).
fn push_collapsed(buf: &mut String, text: &str) {
    let space = |buf: &mut String| {
        if !buf.is_empty() && !buf.ends_with(' ') {
            buf.push(' ');
        }
    };
    if text.starts_with(char::is_whitespace) {
        space(buf);
    }
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            buf.push(' ');
        }
        if word.contains('\0') {
            buf.extend(word.chars().filter(|&c| c != '\0'));
        } else {
            buf.push_str(word);
        }
    }
    if text.ends_with(char::is_whitespace) {
        space(buf);
    }
}

/// The last `n` bytes of `s` or a little more, on a char boundary.
fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[i..]
}

impl Walker {
    fn walk(&mut self, doc: &Html) {
        for edge in doc.tree.root().traverse() {
            match edge {
                Edge::Open(node) => match node.value() {
                    Node::Element(el) => self.open_element(el),
                    Node::Text(t) => self.text(t),
                    _ => {}
                },
                Edge::Close(node) => {
                    if let Node::Element(el) = node.value() {
                        self.close_element(el);
                    }
                }
            }
        }
        self.boundary();
        for i in std::mem::take(&mut self.open) {
            self.links[i].anchor.shrink_to_fit();
        }
    }

    fn boundary(&mut self) {
        self.block_text.clear();
        self.pending_post.clear();
        // Block elements inside a link separate words of its anchor.
        for &i in &self.open {
            self.links[i].anchor.push(' ');
        }
    }

    fn text(&mut self, t: &str) {
        if self.in_title && self.title.len() < 4 * MAX_ANCHOR {
            push_collapsed(&mut self.title, t);
        }
        if self.invisible_depth > 0 {
            return;
        }
        // Only the tail of the block's text is ever used for text_pre: a long text node
        // replaces what came before it.
        if t.len() > 2 * BLOCK_TEXT_KEEP {
            self.block_text.clear();
            self.block_text.push(' ');
            push_collapsed(&mut self.block_text, tail(t, 2 * BLOCK_TEXT_KEEP));
        } else {
            push_collapsed(&mut self.block_text, t);
        }
        if self.block_text.len() > 2 * BLOCK_TEXT_KEEP {
            let cut = self.block_text.len() - BLOCK_TEXT_KEEP;
            let cut = (cut..self.block_text.len())
                .find(|&i| self.block_text.is_char_boundary(i))
                .unwrap_or(0);
            self.block_text.drain(..cut);
        }
        for &i in &self.open {
            let a = &mut self.links[i].anchor;
            if a.len() < 8 * MAX_ANCHOR {
                a.push_str(t);
            }
        }
        let mut still = Vec::new();
        for &i in &self.pending_post {
            let p = &mut self.links[i].text_post;
            push_collapsed(p, if p.is_empty() { t.trim_start() } else { t });
            if p.chars().count() <= MAX_CONTEXT + 1 {
                still.push(i);
            }
        }
        self.pending_post = still;
    }

    fn push_link(
        &mut self,
        href: &str,
        link_type: LinkType,
        nofollow: bool,
        alt: Option<String>,
    ) -> usize {
        self.links.push(RawLink {
            href: href.to_string(),
            link_type,
            anchor: String::new(),
            alt,
            text_pre: self.block_text.clone(),
            text_post: String::new(),
            nofollow,
        });
        self.links.len() - 1
    }

    fn open_element(&mut self, el: &scraper::node::Element) {
        let name = el.name();
        if name == "title" && self.title.is_empty() {
            self.in_title = true;
        }
        if is_invisible(name) {
            self.invisible_depth += 1;
        }
        if is_block(name) {
            self.boundary();
        }
        let rel_nofollow = || {
            el.attr("rel").is_some_and(|r| {
                r.split_ascii_whitespace().any(|t| {
                    t.eq_ignore_ascii_case("nofollow")
                        || t.eq_ignore_ascii_case("ugc")
                        || t.eq_ignore_ascii_case("sponsored")
                })
            })
        };
        match name {
            "html" if self.html_lang.is_none() => {
                self.html_lang = el.attr("lang").map(str::to_string);
            }
            "base" if self.base_href.is_none() => {
                self.base_href = el.attr("href").map(str::to_string);
            }
            "a" => {
                if let Some(href) = el.attr("href") {
                    let i = self.push_link(href, LinkType::Href, rel_nofollow(), None);
                    self.open.push(i);
                }
            }
            "area" => {
                if let Some(href) = el.attr("href") {
                    let alt = Some(el.attr("alt").unwrap_or("").to_string());
                    let i = self.push_link(href, LinkType::Href, rel_nofollow(), alt);
                    self.pending_post.push(i);
                }
            }
            "img" => {
                let alt = el.attr("alt").unwrap_or("");
                for &i in &self.open {
                    let l = &mut self.links[i];
                    if l.alt.is_none() {
                        l.alt = Some(alt.to_string());
                    }
                }
            }
            "br" => {
                self.text(" ");
            }
            "frame" | "iframe" => {
                if let Some(src) = el.attr("src") {
                    let i = self.push_link(src, LinkType::Frame, false, None);
                    if name == "iframe" {
                        self.pending_post.push(i);
                    }
                }
            }
            "form" => {
                if let Some(action) = el.attr("action") {
                    self.push_link(action, LinkType::Form, false, None);
                }
            }
            "link" => {
                let rel = el.attr("rel").unwrap_or("").to_ascii_lowercase();
                let tokens: Vec<&str> = rel.split_ascii_whitespace().collect();
                if let Some(href) = el.attr("href") {
                    let t = if tokens.contains(&"canonical") {
                        Some(LinkType::Canonical)
                    } else if tokens.contains(&"alternate") {
                        let ty = el.attr("type").unwrap_or("").trim().to_ascii_lowercase();
                        if ty == "application/rss+xml" || ty == "application/atom+xml" {
                            Some(LinkType::Rss)
                        } else {
                            Some(LinkType::Alternate)
                        }
                    } else {
                        None
                    };
                    if let Some(t) = t {
                        let nf = tokens
                            .iter()
                            .any(|t| matches!(*t, "nofollow" | "ugc" | "sponsored"));
                        self.push_link(href, t, nf, None);
                    }
                }
            }
            "meta" => {
                let equiv = el.attr("http-equiv").unwrap_or("");
                let mname = el.attr("name").unwrap_or("");
                let content = el.attr("content").unwrap_or("");
                if equiv.eq_ignore_ascii_case("refresh") {
                    if let Some(target) = refresh_target(content) {
                        self.push_link(&target, LinkType::Redirect, false, None);
                    }
                }
                if mname.eq_ignore_ascii_case("robots") && robots_nofollow(content) {
                    self.robots_nofollow = true;
                }
            }
            _ => {}
        }
    }

    fn close_element(&mut self, el: &scraper::node::Element) {
        let name = el.name();
        if name == "title" {
            self.in_title = false;
        }
        if is_invisible(name) {
            self.invisible_depth = self.invisible_depth.saturating_sub(1);
        }
        if name == "a" {
            if let Some(pos) = self
                .open
                .iter()
                .rposition(|&i| self.links[i].link_type == LinkType::Href)
            {
                let i = self.open.remove(pos);
                self.pending_post.push(i);
            }
        }
        if is_block(name) {
            self.boundary();
        }
    }
}

/// The URL of `<meta http-equiv=refresh content="5; url=...">`.
fn refresh_target(content: &str) -> Option<String> {
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
    use super::*;

    #[test]
    fn context_cuts_at_word_boundaries() {
        let long = "word ".repeat(40);
        let pre = cut_pre(&format!("{long}tail"));
        assert!(
            pre.chars().count() <= MAX_CONTEXT && pre.ends_with("tail") && pre.starts_with("word")
        );
        let post = cut_post(&format!("head {long}"));
        assert!(
            post.chars().count() <= MAX_CONTEXT
                && post.starts_with("head")
                && post.ends_with("word")
        );
        assert_eq!(cut_pre("abc"), "abc");
    }

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
    fn languages() {
        assert_eq!(language(Some("en-US"), Some("fr")), "en");
        assert_eq!(language(None, Some("de-DE, fr")), "de");
        assert_eq!(language(Some("x"), None), "");
    }
}
