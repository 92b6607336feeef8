//! How a URL string is laid out in the `hosts` and `urls` tables, and how a target scope
//! becomes a condition on them.

use crate::keys::{reverse_host, target_key};
use linkdiff_model::Target;
use rusqlite::types::Value;

/// A URL split for storage: reversed host, the rest after the host (`:port/path?query` or
/// `/path`), and the scheme code (1 https, 0 http) or, when the URL does not rebuild from
/// those parts (user info, odd case), the whole URL as text.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlParts {
    /// `com.example.www.`
    pub rhost: String,
    /// `www.example.com`
    pub host: String,
    /// `/a?b` or `:8080/a`.
    pub tail: String,
    /// 1, 0 or the URL text.
    pub scheme: Value,
}

/// Split a reversed-host target key into `(rhost, tail)`: the tail starts at the first `/`
/// or `:` that follows a label's closing dot.
pub fn split_target_key(tkey: &str) -> (&str, &str) {
    let b = tkey.as_bytes();
    for i in 1..b.len() {
        if b[i - 1] == b'.' && (b[i] == b'/' || b[i] == b':') {
            return tkey.split_at(i);
        }
    }
    (tkey, "")
}

/// The forward host of a reversed one (`com.example.www.` → `www.example.com`).
pub fn unreverse(rhost: &str) -> String {
    let r = rhost.strip_suffix('.').unwrap_or(rhost);
    let labels: Vec<&str> = r.rsplit('.').collect();
    labels.join(".")
}

/// Split `url` for storage.
pub fn split(url: &str) -> UrlParts {
    let tkey = target_key(url);
    let (rhost, tail) = split_target_key(&tkey);
    let host = unreverse(rhost);
    let scheme = if url
        .strip_prefix("https://")
        .is_some_and(|r| rebuilds(r, &host, tail))
    {
        Value::Integer(1)
    } else if url
        .strip_prefix("http://")
        .is_some_and(|r| rebuilds(r, &host, tail))
    {
        Value::Integer(0)
    } else {
        Value::Text(url.to_string())
    };
    UrlParts {
        rhost: rhost.to_string(),
        host,
        tail: tail.to_string(),
        scheme,
    }
}

fn rebuilds(rest: &str, host: &str, tail: &str) -> bool {
    rest.len() == host.len() + tail.len() && rest.starts_with(host) && rest.ends_with(tail)
}

/// The smallest string greater than every string starting with `p` (URLs are ASCII once
/// normalised; DEL never occurs in them).
fn after_prefix(p: &str) -> String {
    format!("{p}\u{7f}")
}

/// A SQL condition on `hosts` aliased `h` and `urls` aliased `u` selecting the URLs of
/// `scope`, with its bound parameters (values are never spliced into SQL text).
pub fn scope_condition(scope: &Target) -> (String, Vec<Value>) {
    let t = |s: &str| Value::Text(s.to_string());
    match scope {
        Target::Exact(url) => {
            let k = target_key(url);
            let (r, tail) = split_target_key(&k);
            ("h.rhost = ? AND u.tail = ?".into(), vec![t(r), t(tail)])
        }
        Target::Domain(h) => {
            let bare = h.strip_prefix("www.").unwrap_or(h);
            (
                "h.rhost IN (?, ?)".into(),
                vec![
                    t(&reverse_host(bare)),
                    t(&reverse_host(&format!("www.{bare}"))),
                ],
            )
        }
        Target::Subdomains(h) => {
            let r = reverse_host(h);
            let upper = format!("{}/", &r[..r.len() - 1]);
            (
                "h.rhost >= ? AND h.rhost < ?".into(),
                vec![t(&r), t(&upper)],
            )
        }
        Target::Prefix(p) => {
            let k = target_key(p);
            let (r, tail) = split_target_key(&k);
            (
                "h.rhost = ? AND u.tail >= ? AND u.tail < ?".into(),
                vec![t(r), t(tail), t(&after_prefix(tail))],
            )
        }
        Target::Host(h) => ("h.rhost = ?".into(), vec![t(&reverse_host(h))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_rebuild() {
        let p = split("https://www.example.com:8080/a?b");
        assert_eq!(p.rhost, "com.example.www.");
        assert_eq!(p.host, "www.example.com");
        assert_eq!(p.tail, ":8080/a?b");
        assert_eq!(p.scheme, Value::Integer(1));
        assert_eq!(split("http://a.test/").scheme, Value::Integer(0));
        // User info does not rebuild from the parts: the URL is kept whole.
        let p = split("http://user@a.test/x");
        assert_eq!(p.scheme, Value::Text("http://user@a.test/x".into()));
        assert_eq!(p.rhost, "test.a.");
        let p = split("http://[::1]:80/");
        assert_eq!((p.rhost.as_str(), p.tail.as_str()), ("[::1].", ":80/"));
        assert_eq!(p.scheme, Value::Integer(0));
    }
}
