//! Links as extracted from a page and their identity across visits (SPEC §4, §5).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a page links to another URL (SPEC §4), with the Ahrefs v2 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkType {
    /// `<a href>`, `<area href>`.
    Href,
    /// HTTP 3xx `Location` or `<meta http-equiv="refresh">`.
    Redirect,
    /// `<frame src>`, `<iframe src>`.
    Frame,
    /// `<form action>`.
    Form,
    /// `<link rel="canonical">` or an HTTP `Link` header with rel=canonical.
    Canonical,
    /// `<link rel="alternate">` with an RSS or Atom type.
    Rss,
    /// Any other `<link rel="alternate">`.
    Alternate,
}

impl LinkType {
    /// Every link type, in key order.
    pub const ALL: [LinkType; 7] = [
        LinkType::Href,
        LinkType::Redirect,
        LinkType::Frame,
        LinkType::Form,
        LinkType::Canonical,
        LinkType::Rss,
        LinkType::Alternate,
    ];

    /// The wire name (`"href"`, `"redirect"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkType::Href => "href",
            LinkType::Redirect => "redirect",
            LinkType::Frame => "frame",
            LinkType::Form => "form",
            LinkType::Canonical => "canonical",
            LinkType::Rss => "rss",
            LinkType::Alternate => "alternate",
        }
    }

    /// One byte used in keys.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`LinkType::code`].
    pub fn from_code(c: u8) -> Option<LinkType> {
        LinkType::ALL.get(c as usize).copied()
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link type name that is none of [`LinkType::ALL`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown link type '{0}'")]
pub struct UnknownLinkType(pub String);

impl FromStr for LinkType {
    type Err = UnknownLinkType;
    fn from_str(s: &str) -> Result<Self, UnknownLinkType> {
        LinkType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownLinkType(s.to_string()))
    }
}

/// Identity of one link occurrence on a referring page across visits (SPEC §5), minus the
/// page itself: `(url_to, link_type, anchor, n)`, `n` numbering repeated identical links.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkId {
    /// Normalised target URL.
    pub url_to: String,
    /// Kind of link.
    pub link_type: LinkType,
    /// Anchor text (visible text of the element, whitespace collapsed).
    pub anchor: String,
    /// 0 for the first occurrence of this (url_to, link_type, anchor) on the page, 1 for the next...
    pub n: u16,
}

/// One outgoing link of a page as extracted (SPEC §4), named as the Ahrefs v2 columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Normalised absolute target.
    pub url_to: String,
    /// Kind of link.
    pub link_type: LinkType,
    /// Visible text of the element (href links only).
    pub anchor: String,
    /// Alt of the first image inside the link (or an `<area>`'s own alt).
    pub alt: String,
    /// Up to 100 characters of visible text before the element, within its block.
    pub text_pre: String,
    /// Up to 100 characters of visible text after the element, within its block.
    pub text_post: String,
    /// rel nofollow/ugc/sponsored, or page-level nofollow.
    pub nofollow: bool,
    /// 3xx for HTTP redirects, 0 otherwise (meta refresh is 0).
    pub redirect: u16,
    /// Found only in the DOM a headless browser rendered, not in the page's HTML as fetched
    /// (Ahrefs v3 `http_crawl: false`). Written in JSON only when set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rendered: bool,
}

impl Link {
    /// A link of `link_type` to `url_to` with no text of its own or around it, followed (an
    /// HTTP redirect or a `Link` header's canonical), the start of a link built in a test.
    pub fn bare(url_to: impl Into<String>, link_type: LinkType) -> Link {
        Link {
            url_to: url_to.into(),
            link_type,
            anchor: String::new(),
            alt: String::new(),
            text_pre: String::new(),
            text_post: String::new(),
            nofollow: false,
            redirect: 0,
            rendered: false,
        }
    }
}
