//! Types shared by the crawler and the indexer, which do not depend on each other.

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
        }
    }
}

/// Page-level fields of one successful visit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// HTTP status.
    pub http_code: u16,
    /// `<title>`.
    pub title: String,
    /// ISO 639-1 language or empty.
    pub language: String,
    /// Encoding name (`utf8`, `iso-8859-1`, ...).
    pub encoding: String,
    /// Body bytes after decompression.
    pub page_size: u64,
    /// Address connected to.
    pub ip: String,
    /// href links to the same registrable domain.
    pub links_internal: u32,
    /// href links to another registrable domain.
    pub links_external: u32,
    /// The page says noindex (meta robots or `X-Robots-Tag`): its links do not count.
    pub noindex: bool,
}

/// What one fetch of a page found; the crawler produces it, the indexer applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// 2xx: the page's full link set now (empty for non-HTML bodies).
    Fetched {
        /// Page fields.
        meta: PageMeta,
        /// Links in document order.
        links: Vec<Link>,
    },
    /// 3xx: the page now redirects; its only link is the redirect.
    Redirected {
        /// Page fields (status, ip).
        meta: PageMeta,
        /// The `redirect` link to the `Location` target.
        link: Link,
    },
    /// The page is as the last full fetch left it: a `304 Not Modified` to a conditional
    /// request, or a 200 whose body hashes the same. Its visit dates advance; its links stay
    /// as they are (no new or lost events), and it keeps its last full fetch's status.
    Unchanged {
        /// 304, or 200 for the same content.
        http_code: u16,
    },
    /// 404 or 410: the page is dropped.
    Gone {
        /// 404 or 410.
        http_code: u16,
    },
    /// robots.txt disallows the page: it is dropped.
    Disallowed,
    /// 5xx, other 4xx, timeout or connection error: links kept; dropped after 3 such runs.
    Failed {
        /// Status, or 0 for network errors.
        http_code: u16,
    },
}

/// One fetch of `url` in run `run` at the run's clock `time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The page fetched (before redirects; each hop is its own visit).
    pub url: String,
    /// Run clock, Unix seconds UTC.
    pub time: i64,
    /// Run number.
    pub run: u64,
    /// Link hops from a seed.
    pub depth: u16,
    /// What the fetch found.
    pub outcome: Outcome,
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

/// One crawl worker's share of the web (`--worker I/N`): the registrable domains whose hash
/// falls in slot `index` of `count`. A domain's pages all belong to one worker, so per-host
/// politeness holds without coordination and every row keyed by a referring page comes from
/// one worker. The hash is FNV-1a (64-bit) of the registrable domain: the same on every
/// machine and release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// This worker's slot, `0..count`.
    pub index: u32,
    /// Number of workers.
    pub count: u32,
}

impl Partition {
    /// Parse `I/N` (0 ≤ I < N).
    pub fn parse(s: &str) -> Result<Partition, String> {
        let bad = || format!("--worker {s}: expected I/N with 0 <= I < N, e.g. 0/2");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }

    /// Whether pages on `host` are this worker's.
    pub fn owns(&self, host: &str) -> bool {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in registrable_domain(&host.to_ascii_lowercase()).bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h % self.count as u64 == self.index as u64
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The "class C" network of an IP address, as backlink tools count referring subnets: the
/// first three octets of an IPv4 address (`203.0.113.7` → `203.0.113`), the first three
/// 16-bit groups of an IPv6 address (a /48); `None` for an empty or unparsable address.
pub fn class_c(ip: &str) -> Option<String> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            Some(format!("{}.{}.{}", o[0], o[1], o[2]))
        }
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => class_c(&v4.to_string()),
            None => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}", s[0], s[1], s[2]))
            }
        },
    }
}

/// Whether a registrable domain is a government (`kind` = `gov`) or education (`edu`) one:
/// its last label is that word (`nasa.gov`, `mit.edu`), or the label before the last one is
/// (`ons.gov.uk`, `unsw.edu.au`).
pub fn domain_kind(domain: &str, kind: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && (labels[labels.len() - 1] == kind
            || (labels.len() >= 3 && labels[labels.len() - 2] == kind))
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
    fn gov_and_edu_domains() {
        assert!(domain_kind("nasa.gov", "gov") && domain_kind("ons.gov.uk", "gov"));
        assert!(domain_kind("unsw.edu.au", "edu") && domain_kind("mit.edu", "edu"));
        assert!(!domain_kind("gov.example.com", "gov") && !domain_kind("edu", "edu"));
    }

    #[test]
    fn class_c_networks() {
        assert_eq!(class_c("203.0.113.7").as_deref(), Some("203.0.113"));
        assert_eq!(class_c("::ffff:203.0.113.7").as_deref(), Some("203.0.113"));
        assert_eq!(class_c("2001:db8:1:2::5").as_deref(), Some("2001:db8:1"));
        assert_eq!(class_c(""), None);
        assert_eq!(class_c("not an ip"), None);
    }

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
