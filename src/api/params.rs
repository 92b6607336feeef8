//! Lenient parsing of Ahrefs v2 query strings: clients send `" : , ( ) < >` unencoded, the PHP
//! client quotes with addslashes, Python uses `quote_plus`. Only `&` and the first `=` split.

/// Decoded parameters, in request order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// Percent-decode (`+` = space); invalid escapes stay as written. `None` on invalid UTF-8.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

impl Params {
    /// Parse a raw query string (or form body). Errors name the parameter with bad UTF-8.
    pub fn parse(raw: &str) -> Result<Params, String> {
        let mut pairs = Vec::new();
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k = decode(k).ok_or_else(|| "A parameter name is not valid UTF-8".to_string())?;
            let v = decode(v).ok_or_else(|| format!("Parameter '{k}' is not valid UTF-8"))?;
            pairs.push((k.to_ascii_lowercase(), v));
        }
        Ok(Params { pairs })
    }

    /// Parameters from raw bytes (a query string with invalid UTF-8 is reported clearly).
    pub fn parse_bytes(raw: &[u8]) -> Result<Params, String> {
        match std::str::from_utf8(raw) {
            Ok(s) => Params::parse(s),
            Err(_) => Err("The request parameters are not valid UTF-8".into()),
        }
    }

    /// Add the pairs of `other` (form body after query string).
    pub fn extend(&mut self, other: Params) {
        self.pairs.extend(other.pairs);
    }

    /// Last value of `k` (later values win), trimmed of surrounding whitespace.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    /// Build from pairs (CLI).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_specials_and_encodings() {
        let p = Params::parse(r#"from=backlinks&where=anchor:"a,b",subdomain(url_from,"x.com")&having=first_seen>"2024-01-01"&target=ahrefs.com%2Fblog&q=a+b%20c&bad=%zz"#).unwrap();
        assert_eq!(
            p.get("where"),
            Some(r#"anchor:"a,b",subdomain(url_from,"x.com")"#)
        );
        assert_eq!(p.get("having"), Some(r#"first_seen>"2024-01-01""#));
        assert_eq!(p.get("target"), Some("ahrefs.com/blog"));
        assert_eq!(p.get("q"), Some("a b c"));
        assert_eq!(p.get("bad"), Some("%zz"));
        assert!(Params::parse("where=%ff%fe")
            .unwrap_err()
            .contains("'where'"));
        assert_eq!(decode("50%").unwrap(), "50%");
        assert_eq!(decode("%4").unwrap(), "%4");
    }
}
