//! `--target-domains`: the domain list and which hosts it covers.

use super::*;

/// Why a domain list (`--target-domains`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadDomainList {
    /// A line that is neither a domain nor a URL.
    #[error("line {line}: {text:?} is not a domain")]
    NotADomain {
        /// Line number, from 1.
        line: usize,
        /// The line without its comment.
        text: String,
    },
    /// Nothing but blanks and comments.
    #[error("no domains listed")]
    Empty,
}

/// A set of domains; a host is covered when it or one of its parent domains is listed
/// (`example.com` covers `www.example.com` and `example.com`, not `notexample.com`).
#[derive(Debug, Clone, Default)]
pub struct DomainSet(HashSet<String>);

impl DomainSet {
    /// One domain per line; blank lines and `#` comments ignored; a URL gives its host;
    /// a leading `www.` or `*.` is kept as written (so list the bare domain to cover all).
    pub fn parse(text: &str) -> Result<DomainSet, BadDomainList> {
        let mut set = HashSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let host = match url::Url::parse(line) {
                Ok(u) if u.host_str().is_some() => u.host_str().unwrap_or("").to_string(),
                _ => line
                    .trim_start_matches("*.")
                    .trim_end_matches('.')
                    .to_string(),
            };
            let host = host.to_ascii_lowercase();
            if host.is_empty() || host.contains(['/', ' ', ':']) {
                return Err(BadDomainList::NotADomain {
                    line: n + 1,
                    text: line.to_string(),
                });
            }
            set.insert(host);
        }
        if set.is_empty() {
            return Err(BadDomainList::Empty);
        }
        Ok(DomainSet(set))
    }

    /// Whether `host` or a parent domain of it is listed.
    pub fn covers(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        let mut h = host;
        loop {
            if self.0.contains(h) {
                return true;
            }
            match h.split_once('.') {
                Some((_, parent)) => h = parent,
                None => return false,
            }
        }
    }

    /// Whether the host of `url` (a normalised URL: its host is lowercase) is covered.
    pub fn covers_url(&self, url: &str) -> bool {
        self.covers(linkdiff_model::url_host(url))
    }
}
