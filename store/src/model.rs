//! Types shared by the crawler and the indexer, which do not depend on each other.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a page links to another URL (SPEC §4), with the Ahrefs v2 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

impl FromStr for LinkType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LinkType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown link type '{s}'"))
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

/// The registrable domain of `host` by the Public Suffix List (`www.example.co.uk` →
/// `example.co.uk`). Hosts under an unknown TLD such as `.test` follow the list's default rule,
/// so `a.site.test` → `site.test`. IP addresses and single labels are their own domain.
pub fn registrable_domain(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    match psl::domain_str(host) {
        Some(d) => d,
        None => host,
    }
}

/// The host part of an absolute `http(s)://` URL string, without port or credentials.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map(|(h, _)| &h[1..])
            .unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains_follow_the_psl() {
        assert_eq!(registrable_domain("www.example.co.uk"), "example.co.uk");
        assert_eq!(registrable_domain("a.b.example.com"), "example.com");
        assert_eq!(registrable_domain("site.test"), "site.test");
        assert_eq!(registrable_domain("www.site.test"), "site.test");
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn url_host_strips_scheme_port_and_path() {
        assert_eq!(url_host("http://a.b.test:8080/x?y"), "a.b.test");
        assert_eq!(url_host("https://user@x.com/"), "x.com");
        assert_eq!(url_host("http://[::1]:80/"), "::1");
    }
}
