//! URL resolution and normalisation for extracted links.

mod simple;

pub use simple::Resolved;
use simple::SimpleBase;
use url::Url;

/// Resolve `href` against `base` and normalise it: http/https only, scheme and host lowercase,
/// IDN to punycode, default port dropped, fragment dropped, percent-encoding as the `url`
/// crate writes it. `None` for skipped schemes (`javascript:`, `mailto:`, `tel:`, `data:`, ...)
/// and for hrefs that do not parse.
pub fn resolve(base: &Url, href: &str) -> Option<String> {
    resolve_url(base, href).map(String::from)
}

/// [`resolve`], keeping the parsed URL (its host is read without parsing the string again).
pub fn resolve_url(base: &Url, href: &str) -> Option<Url> {
    let href = cut(href)?;
    let mut url = base.join(href).ok()?;
    normalise(&mut url)?;
    Some(url)
}

/// `href` trimmed, without its fragment; `None` when empty. The fragment is dropped anyway, and
/// nothing before a `#` depends on what follows it, so it is cut before parsing (parsing and
/// re-serialising fragments was ~2 % of extraction on documentation pages).
fn cut(href: &str) -> Option<&str> {
    let href = href.trim();
    (!href.is_empty()).then(|| href.split_once('#').map_or(href, |(h, _)| h))
}

/// [`resolve_url`] against one base, for the links of one page. Links already written the
/// way the url crate would write them are resolved without it (`simple.rs`); the last
/// [`Resolver::RECENT`] answers of the url crate are remembered: a page links to the same
/// documents again and again (a type in every signature, one page's `#fragments`), and
/// comparing a few short strings costs less than parsing a URL.
pub struct Resolver<'a> {
    base: &'a Url,
    simple: Option<SimpleBase<'a>>,
    /// (href without fragment, its answer), overwritten round-robin.
    recent: Vec<(String, Option<Resolved>)>,
    next: usize,
}

impl<'a> Resolver<'a> {
    /// Answers remembered.
    pub const RECENT: usize = 8;

    /// A resolver against `base`.
    pub fn new(base: &'a Url) -> Self {
        Resolver {
            base,
            simple: SimpleBase::new(base),
            recent: Vec::with_capacity(Self::RECENT),
            next: 0,
        }
    }

    /// Exactly [`resolve_url`]`(base, href)`, with the host's place kept.
    pub fn resolve(&mut self, href: &str) -> Option<Resolved> {
        let href = href.trim();
        if let Some(r) = self.simple.as_ref().and_then(|s| s.resolve(href)) {
            return Some(r);
        }
        let href = cut(href)?;
        if let Some((_, url)) = self.recent.iter().find(|(h, _)| h == href) {
            return url.clone();
        }
        let url = self
            .base
            .join(href)
            .ok()
            .and_then(|mut u| normalise(&mut u).map(|()| Resolved::from_url(u)));
        if self.recent.len() < Self::RECENT {
            self.recent.push((href.to_string(), url.clone()));
        } else {
            // The evicted entry's buffers are reused.
            let (h, u) = &mut self.recent[self.next];
            h.clear();
            h.push_str(href);
            u.clone_from(&url);
            self.next = (self.next + 1) % Self::RECENT;
        }
        url
    }
}

/// Normalise an absolute URL in place; `None` if it is not http(s) or has no host.
pub fn normalise(url: &mut Url) -> Option<()> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    url.set_fragment(None);
    if url.as_str().contains('\0') {
        return None;
    }
    Some(())
}

/// Parse and normalise an absolute URL given by a user or a seed list.
pub fn parse_absolute(s: &str) -> Result<Url, BadUrl> {
    let s = s.trim();
    let mut url = Url::parse(s).map_err(|source| BadUrl::Invalid {
        url: s.to_string(),
        source,
    })?;
    normalise(&mut url).ok_or_else(|| BadUrl::NotHttp(s.to_string()))?;
    Ok(url)
}

/// Why a URL given by a user or a seed list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadUrl {
    /// Not a URL at all.
    #[error("'{url}' is not a valid URL ({source})")]
    Invalid {
        /// What was given.
        url: String,
        /// The parser's reason.
        source: url::ParseError,
    },
    /// A URL, but not one linkdiff fetches (another scheme, no host).
    #[error("'{0}' is not an http(s) URL")]
    NotHttp(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://Example.com:443/dir/page.html?q=1").unwrap()
    }

    #[test]
    fn fragments_cut_before_parsing_resolve_as_when_dropped_after() {
        let slow = |href: &str| {
            let mut u = base().join(href.trim()).ok()?;
            normalise(&mut u)?;
            Some(String::from(u))
        };
        for href in [
            "#top",
            "#",
            "a#b",
            "?q#f",
            "//h.test/p#x",
            "http://us#er@h.test/",
            "../x/#y#z",
            "http://h.test#",
            " #frag ",
            "a\n#b",
            "%23#%23",
            "http://[::1]/#v6",
            "b?x=#1",
            "javascript:x#y",
            "#\0",
        ] {
            assert_eq!(resolve(&base(), href), slow(href), "{href:?}");
        }
    }

    #[test]
    fn the_resolver_answers_as_resolve_url_whatever_it_remembers() {
        let hrefs = [
            "a",
            "b#x",
            "a#y",
            "",
            "c",
            "d",
            "e",
            "f",
            "g",
            "h",
            "i",
            "a",
            "#z",
            "//o.test/",
            "b",
            "mailto:x",
            "mailto:x",
            "a",
            "../up",
            " a ",
        ];
        let base = base();
        let mut r = Resolver::new(&base);
        for href in hrefs.iter().chain(hrefs.iter().rev()) {
            assert_eq!(
                r.resolve(href),
                resolve_url(&base, href).map(Resolved::from_url),
                "{href:?}"
            );
        }
    }

    /// Pieces hrefs are made of: the forms the fast path takes and every near miss that
    /// must go to the url crate (case, ports, userinfo, IPv4 numbers, punycode, dot segments,
    /// encoded dots, characters the url crate encodes or rewrites).
    const PIECES: &[&str] = &[
        "http://",
        "https://",
        "HTTPS://",
        "hTtP:",
        "//",
        "/",
        "/",
        "?",
        "a",
        "Z",
        "b-c",
        "0",
        "9x",
        "0x1f",
        ".",
        "..",
        "./",
        "../",
        "%2e",
        "%2E",
        "%41",
        "%",
        ":",
        ":80",
        ":443",
        ":8080",
        "@",
        "user@",
        "xn--bcher-kva",
        "ab--c",
        "-",
        "'",
        "\\",
        " ",
        "\t",
        "\n",
        "ü",
        "[::1]",
        "127.0.0.1",
        "com",
        ".com",
        "example.org",
        "Example.ORG",
        "~",
        "!$&()*+,;=",
        "\"",
        "<",
        ">",
        "`",
        "{",
        "}",
        "|",
        "^",
        "[",
        "]",
        "\0",
        "mailto:",
        "javascript:",
        "&q=1",
        "index.html",
        "#",
    ];

    fn bases() -> Vec<Url> {
        [
            "https://Example.com:443/dir/page.html?q=1",
            "http://www.site.com/article",
            "http://u:p@h.test:8080/a/b/",
            "https://h.test/",
            "http://[::1]:9/x",
            "http://10.0.0.1/p?x",
            "https://xn--bcher-kva.de/d/",
        ]
        .iter()
        .map(|b| Url::parse(b).unwrap())
        .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The fast path answers exactly as the url crate, whatever the href.
        #[test]
        fn the_fast_path_answers_as_the_url_crate(
            picks in proptest::collection::vec(0..PIECES.len(), 1..8),
            base in 0..7usize,
        ) {
            let href: String = picks.iter().map(|&i| PIECES[i]).collect();
            let base = &bases()[base];
            let want = resolve_url(base, &href).map(Resolved::from_url);
            proptest::prop_assert_eq!(Resolver::new(base).resolve(&href), want, "{:?}", href);
        }
    }

    #[test]
    fn common_links_take_the_fast_path() {
        let base = Url::parse("https://www.site.com/blog/post?x=1").unwrap();
        let simple = simple::SimpleBase::new(&base).unwrap();
        for (href, url, host) in [
            (
                "https://A.Example.org/x/y?z=1&w",
                "https://a.example.org/x/y?z=1&w",
                "a.example.org",
            ),
            (
                "http://partner3.net",
                "http://partner3.net/",
                "partner3.net",
            ),
            ("//cdn.test?v=2", "https://cdn.test/?v=2", "cdn.test"),
            (
                "/internal/5",
                "https://www.site.com/internal/5",
                "www.site.com",
            ),
            ("next", "https://www.site.com/blog/next", "www.site.com"),
            ("/a?b#c d", "https://www.site.com/a?b", "www.site.com"),
            (
                "?page=2",
                "https://www.site.com/blog/post?page=2",
                "www.site.com",
            ),
        ] {
            let r = simple
                .resolve(href)
                .unwrap_or_else(|| panic!("{href} not simple"));
            assert_eq!((r.url.as_str(), r.host()), (url, host));
        }
        for href in [
            "../up",
            "http://h.test:8080/",
            "http://1.2.3.4/",
            "http://xn--d1a.test/",
            "/a b",
            "a:b",
        ] {
            assert_eq!(simple.resolve(href), None, "{href}");
        }
    }

    #[test]
    fn long_hosts_and_paths_take_the_fast_path_as_the_url_crate_does() {
        let base = Url::parse("https://www.site.com/a/b").unwrap();
        let label = "x".repeat(70);
        for href in [
            format!("https://{label}.test/p"),
            format!("https://{}com/", format!("{label}.").repeat(5)),
            format!("/{}", "seg/".repeat(500)),
        ] {
            let want = resolve_url(&base, &href).map(Resolved::from_url);
            assert_eq!(Resolver::new(&base).resolve(&href), want, "{href}");
        }
    }

    #[test]
    fn resolved_hosts_are_the_url_crates() {
        for base in bases() {
            let r = Resolved::from_url(base.clone());
            assert_eq!(r.host(), base.host_str().unwrap());
        }
    }

    #[test]
    fn relative_protocol_relative_and_idn() {
        assert_eq!(
            resolve(&base(), "x.html#frag").unwrap(),
            "https://example.com/dir/x.html"
        );
        assert_eq!(
            resolve(&base(), "//Other.COM:80/a").unwrap(),
            "https://other.com:80/a"
        );
        assert_eq!(
            resolve(&base(), "http://other.com:80/a").unwrap(),
            "http://other.com/a"
        );
        assert_eq!(
            resolve(&base(), "http://bücher.de/").unwrap(),
            "http://xn--bcher-kva.de/"
        );
        assert_eq!(
            resolve(&base(), " /a b ").unwrap(),
            "https://example.com/a%20b"
        );
    }

    #[test]
    fn skipped_schemes() {
        for h in [
            "javascript:void(0)",
            "mailto:a@b.c",
            "tel:123",
            "data:text/plain,x",
            "ftp://x/",
            "",
        ] {
            assert_eq!(resolve(&base(), h), None, "{h}");
        }
    }
}
