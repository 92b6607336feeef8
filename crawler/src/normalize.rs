//! URL resolution and normalisation for extracted links.

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

/// [`resolve_url`] against one base, remembering the last [`Resolver::RECENT`] answers: a page
/// links to the same documents again and again (a type in every signature, one page's
/// `#fragments`), and comparing a few short strings costs less than parsing a URL.
pub struct Resolver<'a> {
    base: &'a Url,
    /// (href without fragment, its answer), overwritten round-robin.
    recent: Vec<(String, Option<Url>)>,
    next: usize,
}

impl<'a> Resolver<'a> {
    /// Answers remembered.
    pub const RECENT: usize = 8;

    /// A resolver against `base`.
    pub fn new(base: &'a Url) -> Self {
        Resolver {
            base,
            recent: Vec::with_capacity(Self::RECENT),
            next: 0,
        }
    }

    /// Exactly [`resolve_url`]`(base, href)`.
    pub fn resolve(&mut self, href: &str) -> Option<Url> {
        let href = cut(href)?;
        if let Some((_, url)) = self.recent.iter().find(|(h, _)| h == href) {
            return url.clone();
        }
        let url = self
            .base
            .join(href)
            .ok()
            .and_then(|mut u| normalise(&mut u).map(|()| u));
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
pub fn parse_absolute(s: &str) -> Result<Url, String> {
    let s = s.trim();
    let mut url = Url::parse(s).map_err(|e| format!("'{s}' is not a valid URL ({e})"))?;
    normalise(&mut url).ok_or_else(|| format!("'{s}' is not an http(s) URL"))?;
    Ok(url)
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
            assert_eq!(r.resolve(href), resolve_url(&base, href), "{href:?}");
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
