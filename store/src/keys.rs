//! Key layout. Every key starts with a one-byte table tag; integers are big-endian so that
//! byte order is numeric order; `0x00` separates variable-length parts (URLs and anchors never
//! contain NUL: the extractor strips it).
//!
//! | tag | key | value |
//! |---|---|---|
//! | `M` | name | meta value (schema version, created_by) |
//! | `P` | url_from | [`crate::PageRecord`] |
//! | `F` | url_from | every link of the page, live and dead: `Vec<(LinkId, LinkRecord)>` |
//! | `B` | target_key(url_to) 0 url_from 0 type anchor 0 n | url_to (live external links) |
//! | `E` | target_key(url_to) 0 time url_from 0 type anchor 0 n kind | [`crate::EventRecord`] |
//! | `D` | registrable domain | [`crate::DomainRecord`] |
//! | `Q` | url | [`crate::FrontierEntry`] |
//! | `R` | run id | [`crate::RunRecord`] |
//! | `T` | token name | [`crate::TokenRecord`] |

use linkdiff_model::{LinkId, LinkType};

/// Meta entries.
pub const META: u8 = b'M';
/// Page records.
pub const PAGE: u8 = b'P';
/// Forward links by referring page.
pub const FORWARD: u8 = b'F';
/// Live external backlinks by target.
pub const BACKLINK: u8 = b'B';
/// New/lost events by target.
pub const EVENT: u8 = b'E';
/// Domain ranks.
pub const DOMAIN: u8 = b'D';
/// Crawl frontier.
pub const FRONTIER: u8 = b'Q';
/// Crawl runs.
pub const RUN: u8 = b'R';
/// API tokens.
pub const TOKEN: u8 = b'T';
/// Pages' revalidation state (`ETag`, `Last-Modified`, body hash).
pub const VALIDATORS: u8 = b'V';
/// Rating history: `H`, the kind's code, the name, `0`, the day (big-endian, offset so that
/// byte order is time order).
pub const RATING: u8 = b'H';

/// Prefix of every rating-history key of `name`.
pub fn rating_prefix(kind: u8, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + name.len() + 8);
    k.push(RATING);
    k.push(kind);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

/// Key of `name`'s rating on `day`.
pub fn rating(kind: u8, name: &str, day: i64) -> Vec<u8> {
    let mut k = rating_prefix(kind, name);
    k.extend_from_slice(&((day as u64) ^ (1 << 63)).to_be_bytes());
    k
}

/// The reversed form of a host, labels reversed and a trailing dot (`www.example.com` →
/// `com.example.www.`), so that a host and all its subdomains share a prefix that ends on a
/// label boundary.
pub fn reverse_host(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let mut out = String::with_capacity(host.len() + 1);
    for (i, label) in host.rsplit('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(label);
    }
    out.push('.');
    out
}

/// Scheme-free, host-reversed form of a URL used to index targets:
/// `https://www.example.com:8080/a?b` → `com.example.www.:8080/a?b`. The path always starts
/// with `/`.
pub fn target_key(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let authority = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i + 1..].contains(']') => (&authority[..i], &authority[i..]),
        _ => (authority, ""),
    };
    let mut out = reverse_host(host);
    out.push_str(port);
    if !path.starts_with('/') {
        out.push('/');
    }
    out.push_str(path);
    out
}

fn push_link_id(out: &mut Vec<u8>, id: &LinkId) {
    out.push(id.link_type.code());
    out.extend_from_slice(id.anchor.as_bytes());
    out.push(0);
    out.extend_from_slice(&id.n.to_be_bytes());
}

/// Parse the `type anchor 0 n` tail written by `push_link_id`.
fn parse_link_tail(tail: &[u8], url_to: String) -> Option<LinkId> {
    let (&code, rest) = tail.split_first()?;
    let link_type = LinkType::from_code(code)?;
    let nul = rest.iter().position(|&b| b == 0)?;
    let anchor = String::from_utf8(rest[..nul].to_vec()).ok()?;
    let n_bytes: [u8; 2] = rest.get(nul + 1..nul + 3)?.try_into().ok()?;
    Some(LinkId {
        url_to,
        link_type,
        anchor,
        n: u16::from_be_bytes(n_bytes),
    })
}

/// `tag` + bytes.
pub fn tagged(tag: u8, s: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + s.len());
    k.push(tag);
    k.extend_from_slice(s.as_bytes());
    k
}

/// Key of a page record.
pub fn page(url: &str) -> Vec<u8> {
    tagged(PAGE, url)
}

/// Key of the link set of `url_from`.
pub fn forward(url_from: &str) -> Vec<u8> {
    tagged(FORWARD, url_from)
}

/// Key of one backlink entry.
pub fn backlink(url_from: &str, id: &LinkId) -> Vec<u8> {
    let mut k = tagged(BACKLINK, &target_key(&id.url_to));
    k.push(0);
    k.extend_from_slice(url_from.as_bytes());
    k.push(0);
    push_link_id(&mut k, id);
    k
}

/// Decode a backlink key (value = url_to) into `(url_from, LinkId)`.
pub fn parse_backlink(key: &[u8], url_to: String) -> Option<(String, LinkId)> {
    let body = key.strip_prefix(&[BACKLINK])?;
    let a = body.iter().position(|&b| b == 0)?;
    let rest = &body[a + 1..];
    let b = rest.iter().position(|&b| b == 0)?;
    let url_from = String::from_utf8(rest[..b].to_vec()).ok()?;
    Some((url_from, parse_link_tail(&rest[b + 1..], url_to)?))
}

/// Key of one event. `kind` is 0 for new, 1 for lost.
pub fn event(url_from: &str, id: &LinkId, time: i64, kind: u8) -> Vec<u8> {
    let mut k = tagged(EVENT, &target_key(&id.url_to));
    k.push(0);
    k.extend_from_slice(&(time as u64 ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(url_from.as_bytes());
    k.push(0);
    push_link_id(&mut k, id);
    k.push(kind);
    k
}

/// The part of a `B` or `E` key that names the target URL (`target_key(url_to)`).
pub fn target_of(key: &[u8]) -> Option<&[u8]> {
    let body = &key[1..];
    let a = body.iter().position(|&b| b == 0)?;
    Some(&body[..a])
}

/// Run id as a key.
pub fn run(id: u64) -> Vec<u8> {
    let mut k = vec![RUN];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> LinkId {
        LinkId {
            url_to: "https://www.example.com/a?b=1".into(),
            link_type: LinkType::Canonical,
            anchor: "Hello world".into(),
            n: 3,
        }
    }

    #[test]
    fn target_key_reverses_host_and_keeps_port_and_path() {
        assert_eq!(
            target_key("https://www.Example.com/a?b"),
            "com.example.www./a?b"
        );
        assert_eq!(target_key("http://h1.test:8080"), "test.h1.:8080/");
        assert_eq!(target_key("example.com/x"), "com.example./x");
    }

    #[test]
    fn backlink_keys_round_trip() {
        let k = backlink("http://a.test/", &id());
        assert_eq!(
            parse_backlink(&k, id().url_to),
            Some(("http://a.test/".into(), id()))
        );
        assert_eq!(target_of(&k), Some("com.example.www./a?b=1".as_bytes()));
    }

    #[test]
    fn event_keys_sort_by_time_within_a_target() {
        let a = event("u", &id(), -5, 0);
        let b = event("u", &id(), 10, 0);
        let c = event("u", &id(), 1_000_000, 1);
        assert!(a < b && b < c);
    }
}
