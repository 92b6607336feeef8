//! Sitemaps (sitemaps.org): the pages a host lists, found from its robots.txt `Sitemap:` lines
//! or `/sitemap.xml`. Pure: bytes in, URLs and named problems out.
//!
//! Read: XML `urlset` and `sitemapindex` (`<loc>`), gzip (recognised by its magic bytes, not by
//! a header), plain text (one URL per line), RSS 2.0 (`<item><link>`) and Atom (`<entry><link
//! href>`). The protocol's limits hold: at most [`MAX_URLS`] URLs and [`MAX_BYTES`] bytes
//! (uncompressed) per file. A sitemap lists only URLs of its own host (scheme, host and port):
//! others are skipped and counted. XML entities beyond the five predefined ones are not expanded
//! (a DTD is ignored), so entity expansion cannot blow up. A `urlset` entry's `<lastmod>` comes
//! with its page: the crawl fetches pages changed since its last run first.

use std::io::Read;
use url::Url;

/// Most URLs read from one sitemap file.
pub const MAX_URLS: usize = 50_000;
/// Largest sitemap file, uncompressed.
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

/// A page a sitemap lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The page.
    pub url: Url,
    /// Its `<lastmod>` (a `urlset` entry's W3C date or date-time), as Unix seconds; `None`
    /// when absent or not a date.
    pub lastmod: Option<i64>,
}

/// What one sitemap file says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sitemap {
    /// Pages listed (`urlset`, text, feeds), on the sitemap's own host.
    pub pages: Vec<Listed>,
    /// Further sitemaps (`sitemapindex`), on the sitemap's own host.
    pub children: Vec<Url>,
    /// URLs skipped because they are on another host.
    pub other_host: u64,
    /// What was wrong, if anything: `sitemap_malformed`, `sitemap_too_big` (the rest of the
    /// file was ignored), `sitemap_too_many_urls`.
    pub problem: Option<&'static str>,
}

/// Read the sitemap at `at` from its body.
pub fn parse(at: &Url, body: &[u8]) -> Sitemap {
    let mut out = Sitemap::default();
    let text = match decompress(body) {
        Ok(t) => t,
        Err(p) => {
            out.problem = Some(p);
            return out;
        }
    };
    let (text, cut) = if text.len() > MAX_BYTES {
        (&text[..MAX_BYTES], true)
    } else {
        (&text[..], false)
    };
    let first = text
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    let is_xml = first.is_some_and(|i| text[i] == b'<');
    let push = |out: &mut Sitemap, loc: &str, child: bool, lastmod: Option<i64>| {
        if out.pages.len() + out.children.len() >= MAX_URLS {
            out.problem.get_or_insert("sitemap_too_many_urls");
            return;
        }
        let Ok(u) = at.join(loc.trim()) else {
            return;
        };
        if !matches!(u.scheme(), "http" | "https") {
            return;
        }
        if u.origin() != at.origin() {
            out.other_host += 1;
        } else if child {
            out.children.push(u);
        } else {
            out.pages.push(Listed { url: u, lastmod });
        }
    };
    if !is_xml {
        for line in String::from_utf8_lossy(text).lines() {
            let line = line.trim();
            if line.starts_with("http://") || line.starts_with("https://") {
                push(&mut out, line, false, None);
            }
        }
    } else if let Err(p) = read_xml(text, |loc, child, lastmod| {
        push(&mut out, loc, child, lastmod.and_then(w3c_time))
    }) {
        out.problem = Some(p);
    }
    if cut {
        out.problem.get_or_insert("sitemap_too_big");
    }
    out
}

/// The body, gunzipped when it starts with gzip's magic bytes (at most [`MAX_BYTES`] + 1 bytes
/// out, so a gzip bomb stops there).
fn decompress(body: &[u8]) -> Result<Vec<u8>, &'static str> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| "sitemap_malformed")?;
    Ok(out)
}

/// A W3C Datetime (the sitemap protocol's `<lastmod>`: `YYYY-MM-DD`, or a date-time with a
/// zone, seconds optional) as Unix seconds.
pub fn w3c_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%#z") {
        return Some(t.timestamp());
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

/// Every `<loc>` of `<url>` (with its `<lastmod>`) and `<sitemap>`, `<link>` of an RSS
/// `<item>` and `<link href>` of an Atom `<entry>`, with whether it names another sitemap.
fn read_xml(
    text: &[u8],
    mut found: impl FnMut(&str, bool, Option<&str>),
) -> Result<(), &'static str> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(text);
    r.config_mut().trim_text(true);
    let mut buf = Vec::new();
    // Local names of the open elements.
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut root_seen = false;
    let mut text_of_loc = String::new();
    // The `<loc>` and `<lastmod>` of the open `<url>`.
    let mut url_loc: Option<String> = None;
    let mut url_lastmod: Option<String> = None;
    loop {
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|_| "sitemap_malformed")?;
        match ev {
            Event::Start(e) => {
                root_seen = true;
                let name = e.local_name().as_ref().to_vec();
                if name == b"link" && path.last().is_some_and(|p| p == b"entry") {
                    atom_href(&e, &mut found);
                }
                path.push(name);
                text_of_loc.clear();
            }
            Event::Empty(e) => {
                root_seen = true;
                if e.local_name().as_ref() == b"link" && path.last().is_some_and(|p| p == b"entry")
                {
                    atom_href(&e, &mut found);
                }
            }
            Event::Text(t) => {
                if let Ok(s) = t.decode() {
                    text_of_loc.push_str(&s);
                }
            }
            Event::GeneralRef(e) => {
                // Only the five predefined entities and character references: nothing is
                // expanded from a DTD.
                let name = e.decode().map_err(|_| "sitemap_malformed")?;
                let c = match &*name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => match e.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => return Err("sitemap_malformed"),
                    },
                };
                text_of_loc.push(c);
            }
            Event::CData(t) => text_of_loc.push_str(&String::from_utf8_lossy(&t)),
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(|p| p.as_slice());
                match (name.as_slice(), parent) {
                    (b"loc", Some(b"url")) => url_loc = Some(std::mem::take(&mut text_of_loc)),
                    (b"lastmod", Some(b"url")) => {
                        url_lastmod = Some(std::mem::take(&mut text_of_loc))
                    }
                    (b"url", _) => {
                        if let Some(loc) = url_loc.take() {
                            found(&loc, false, url_lastmod.as_deref());
                        }
                        url_lastmod = None;
                    }
                    (b"loc", Some(b"sitemap")) => found(&text_of_loc, true, None),
                    (b"link", Some(b"item")) => found(&text_of_loc, false, None),
                    _ => {}
                }
                text_of_loc.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen || !path.is_empty() {
        return Err("sitemap_malformed");
    }
    Ok(())
}

fn atom_href(
    e: &quick_xml::events::BytesStart<'_>,
    found: &mut impl FnMut(&str, bool, Option<&str>),
) {
    let is_alternate = e
        .try_get_attribute("rel")
        .ok()
        .flatten()
        .is_none_or(|a| a.value.as_ref() == b"alternate");
    if let Ok(Some(href)) = e.try_get_attribute("href") {
        if is_alternate {
            if let Ok(v) = href.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                found(&v, false, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Url {
        Url::parse("http://a.test/sitemap.xml").unwrap()
    }

    fn strs(u: &[Url]) -> Vec<&str> {
        u.iter().map(Url::as_str).collect()
    }

    fn pages(s: &Sitemap) -> Vec<&str> {
        s.pages.iter().map(|l| l.url.as_str()).collect()
    }

    #[test]
    fn urlset_index_text_rss_and_atom() {
        let set = br#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://a.test/p1?x=1&amp;y=2</loc><lastmod>2026-11-01</lastmod></url>
  <url><loc> /relative </loc></url>
  <url><loc>http://b.test/other</loc></url>
</urlset>"#;
        let s = parse(&at(), set);
        assert_eq!(
            pages(&s),
            ["http://a.test/p1?x=1&y=2", "http://a.test/relative"]
        );
        assert_eq!((s.other_host, s.problem), (1, None));
        assert_eq!(
            s.pages.iter().map(|l| l.lastmod).collect::<Vec<_>>(),
            [w3c_time("2026-11-01T00:00:00Z"), None]
        );

        let idx = br#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>http://a.test/s2.xml.gz</loc></sitemap></sitemapindex>"#;
        let s = parse(&at(), idx);
        assert_eq!(strs(&s.children), ["http://a.test/s2.xml.gz"]);

        let s = parse(
            &at(),
            b"http://a.test/t1\n\nhttp://a.test/t2\r\nnot a url\n",
        );
        assert_eq!(pages(&s), ["http://a.test/t1", "http://a.test/t2"]);

        let rss = br#"<rss version="2.0"><channel><link>http://a.test/</link><item><title>x</title><link>http://a.test/post</link></item></channel></rss>"#;
        assert_eq!(pages(&parse(&at(), rss)), ["http://a.test/post"]);

        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><link href="http://a.test/"/><entry><link rel="alternate" href="http://a.test/e1"/><link rel="edit" href="http://a.test/edit"/></entry></feed>"#;
        assert_eq!(pages(&parse(&at(), atom)), ["http://a.test/e1"]);
    }

    #[test]
    fn lastmod_in_the_protocols_date_formats() {
        let day = 1_764_547_200; // 2025-12-01T00:00:00Z
        assert_eq!(w3c_time("2025-12-01"), Some(day));
        assert_eq!(w3c_time(" 2025-12-01T00:00:00Z "), Some(day));
        assert_eq!(w3c_time("2025-12-01T01:30:00+01:30"), Some(day));
        assert_eq!(w3c_time("2025-12-01T02:00+02:00"), Some(day));
        assert_eq!(w3c_time("2025-12-01T00:00:00.250Z"), Some(day));
        for bad in ["", "yesterday", "2025-13-01", "1 Dec 2025"] {
            assert_eq!(w3c_time(bad), None, "{bad}");
        }
        // Before or after `<loc>`, in the same `<url>` only.
        let set = br#"<urlset><url><lastmod>2025-12-01</lastmod><loc>http://a.test/a</loc></url><url><loc>http://a.test/b</loc></url><url><lastmod>2025-12-01</lastmod></url></urlset>"#;
        let s = parse(&at(), set);
        assert_eq!(
            s.pages
                .iter()
                .map(|l| (l.url.path(), l.lastmod))
                .collect::<Vec<_>>(),
            [("/a", Some(day)), ("/b", None)]
        );
    }

    #[test]
    fn gzip_is_read_by_its_magic_and_a_bomb_stops_at_the_cap() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"<urlset><url><loc>http://a.test/z</loc></url></urlset>")
            .unwrap();
        let s = parse(&at(), &gz.finish().unwrap());
        assert_eq!(pages(&s), ["http://a.test/z"]);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..60 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        assert_eq!(parse(&at(), &bomb).problem, Some("sitemap_too_big"));
    }

    #[test]
    fn malformed_xml_and_entities_are_named_problems() {
        let s = parse(&at(), b"<urlset><url><loc>http://a.test/1</loc></url>");
        assert_eq!(s.problem, Some("sitemap_malformed"));
        let lol = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><urlset><url><loc>http://a.test/&lol2;</loc></url></urlset>"#;
        let s = parse(&at(), lol);
        assert_eq!(s.problem, Some("sitemap_malformed"));
        assert!(s.pages.is_empty());
        assert_eq!(parse(&at(), b"").problem, None);
    }
}
