//! Links resolved without the url crate when they are already written the way it would
//! write them: `https://host/path?query`, `//host/path`, `/path`, `path`, `?query` with plain
//! characters, lowercase-able ASCII hosts, no ports, no userinfo, no dot segments, no
//! percent-encoded dots. Anything else is left to the url crate ([`SimpleBase::resolve`]
//! answers `None`), so the answer is always the url crate's: the differential tests in
//! `mod.rs` check it on generated hrefs.
//!
//! Why: on link-dense pages the url crate's parse of every absolute link (scheme, host
//! through IDNA, path) was a quarter of extraction's instructions; most hrefs on the web
//! need none of that work.

use std::ops::Range;
use url::{Position, Url};

/// A link resolved and normalised: its URL as the url crate writes it, and where the host
/// is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The URL, serialised.
    pub url: String,
    /// Byte range of the host in `url` (IPv6 addresses with their brackets, as
    /// [`Url::host_str`] has them).
    host: Range<usize>,
}

impl Resolved {
    /// The URL's host.
    pub fn host(&self) -> &str {
        &self.url[self.host.clone()]
    }

    /// From a URL the url crate parsed (no host: an empty range).
    pub(crate) fn from_url(url: Url) -> Self {
        let host = if url.host_str().is_some() {
            url[..Position::BeforeHost].len()..url[..Position::AfterHost].len()
        } else {
            0..0
        };
        Resolved {
            url: url.into(),
            host,
        }
    }
}

impl From<Resolved> for String {
    fn from(r: Resolved) -> String {
        r.url
    }
}

/// The parts of an http(s) base URL that simple links are resolved against.
pub(crate) struct SimpleBase<'a> {
    /// `http` or `https`.
    scheme: &'a str,
    /// Everything before the path (`https://user@host:8080`).
    origin: &'a str,
    /// The host's range in `origin`.
    host: Range<usize>,
    /// The path up to and including its last `/`.
    dir: &'a str,
    /// The whole path.
    path: &'a str,
}

impl<'a> SimpleBase<'a> {
    /// `None` for bases that are not http(s) with a host (no fast path then).
    pub(crate) fn new(base: &'a Url) -> Option<Self> {
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return None;
        }
        let origin = &base[..Position::BeforePath];
        let path = base.path();
        let dir = &path[..path.rfind('/')? + 1];
        Some(SimpleBase {
            scheme: base.scheme(),
            origin,
            host: base[..Position::BeforeHost].len()..base[..Position::AfterHost].len(),
            dir,
            path,
        })
    }

    /// `href` (trimmed) resolved, its fragment dropped, when it is simple; `None` means "ask
    /// the url crate", never "not a link".
    pub(crate) fn resolve(&self, href: &str) -> Option<Resolved> {
        let href = &href[..plain_bytes(href.as_bytes())?];
        // An empty href (a lone fragment) is the base itself, query and all: the url crate's.
        if href.is_empty() {
            return None;
        }
        let (scheme, after_scheme) = if let Some(rest) = strip_prefix_ci(href, "http://") {
            ("http", Some(rest))
        } else if let Some(rest) = strip_prefix_ci(href, "https://") {
            ("https", Some(rest))
        } else if let Some(rest) = href.strip_prefix("//") {
            (self.scheme, Some(rest))
        } else {
            (self.scheme, None)
        };
        if let Some(rest) = after_scheme {
            let end = rest
                .bytes()
                .position(|c| c == b'/' || c == b'?')
                .unwrap_or(rest.len());
            let (host, tail) = rest.split_at(end);
            if !simple_host(host) {
                return None;
            }
            let mut url = String::with_capacity(scheme.len() + 4 + href.len());
            url.push_str(scheme);
            url.push_str("://");
            let start = url.len();
            url.push_str(host);
            url[start..].make_ascii_lowercase();
            let host_range = start..url.len();
            if !tail.starts_with('/') {
                url.push('/');
            }
            url.push_str(tail);
            return Some(Resolved {
                url,
                host: host_range,
            });
        }
        // Relative to the base: the first segment must not look like a scheme.
        let first_end = href
            .bytes()
            .position(|c| c == b'/' || c == b'?')
            .unwrap_or(href.len());
        if href.as_bytes()[..first_end].contains(&b':') {
            return None;
        }
        let prefix = match href.as_bytes()[0] {
            b'/' => "",
            b'?' => self.path,
            _ => self.dir,
        };
        let mut url = String::with_capacity(self.origin.len() + prefix.len() + href.len());
        url.push_str(self.origin);
        url.push_str(prefix);
        url.push_str(href);
        Some(Resolved {
            url,
            host: self.host.clone(),
        })
    }
}

/// Bytes the url crate copies as they are in an http(s) path, query or host (letters,
/// digits and `-._~!$&'()*+,;=:@/%?`), with the exceptions [`plain_bytes`] checks.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
                    | b'%'
                    | b'?'
            );
        c += 1;
    }
    t
};

/// [`PLAIN`] bytes that need no second look: all but `/ ? % ' .`.
static BORING: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = PLAIN[c] && !matches!(c as u8, b'/' | b'?' | b'%' | b'\'' | b'.');
        c += 1;
    }
    t
};

/// Where the fragment of `b` starts (its length if it has none), if the url crate copies
/// what comes before as it is (the host aside, checked separately): only [`PLAIN`] bytes, no
/// `%2e` (a dot the url crate may treat as a dot segment), no `.` or `..` segment in the
/// path, no `'` in the query (percent-encoded there). One pass, which also finds the `#`.
fn plain_bytes(b: &[u8]) -> Option<usize> {
    let mut seg_start = 0;
    let mut in_query = false;
    for (i, &c) in b.iter().enumerate() {
        // Most bytes are letters and digits: one table lookup each.
        if BORING[c as usize] {
            continue;
        }
        if c == b'#' {
            return Some(i);
        }
        if !PLAIN[c as usize] {
            return None;
        }
        match c {
            b'/' => seg_start = i + 1,
            b'?' => in_query = true,
            b'%' if b.get(i + 1) == Some(&b'2')
                && b.get(i + 2).is_some_and(|e| e | 0x20 == b'e') =>
            {
                return None
            }
            b'\'' if in_query => return None,
            b'.' if i == seg_start && !in_query => {
                let end = |j: usize| matches!(b.get(j), None | Some(b'/' | b'?' | b'#'));
                if end(i + 1) || (b.get(i + 1) == Some(&b'.') && end(i + 2)) {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some(b.len())
}

fn strip_prefix_ci<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A host the url crate only lowercases: dot-separated labels of ASCII letters, digits and
/// inner hyphens, no punycode-looking label, and a last label starting with a letter (so it
/// is not read as an IPv4 number).
fn simple_host(host: &str) -> bool {
    let mut labels = host.split('.');
    let mut last = "";
    let ok = labels.all(|l| {
        last = l;
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b.get(2..4) != Some(b"--")
    });
    ok && last.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
}
