//! Which target URLs a query covers (SPEC §6 modes), and how each store engine scans them.

use crate::keys;

/// Which target URLs a query covers (SPEC §6 modes), as range scans on the reversed-host index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetScope {
    /// Exactly this URL (scheme ignored).
    Exact(String),
    /// Every URL on this host, with `www.` folded.
    Domain(String),
    /// This host and every subdomain on label boundaries.
    Subdomains(String),
    /// Every URL whose host+path starts with this (a whole host, then any path prefix).
    Prefix(String),
    /// Every URL on exactly this host (no `www.` folding, no subdomains).
    Host(String),
}

impl TargetScope {
    /// Target-key prefixes to scan. A host's own URLs are exactly those whose key continues
    /// with `/` or `:` (port) after the reversed host, so `domain` and `host` scans never walk
    /// through subdomains.
    pub(crate) fn prefixes(&self) -> Vec<String> {
        let host = |h: &str| {
            let r = keys::reverse_host(h);
            vec![format!("{r}/"), format!("{r}:")]
        };
        match self {
            TargetScope::Exact(url) => {
                let mut k = keys::target_key(url);
                k.push('\0');
                vec![k]
            }
            TargetScope::Domain(h) => {
                let bare = h.strip_prefix("www.").unwrap_or(h);
                let mut v = host(bare);
                v.extend(host(&format!("www.{bare}")));
                v
            }
            TargetScope::Subdomains(h) => vec![keys::reverse_host(h)],
            TargetScope::Prefix(p) => vec![keys::target_key(p)],
            TargetScope::Host(h) => host(h),
        }
    }

    /// Whether `url` is one of the target URLs this scope covers (what a scan would return).
    pub fn covers(&self, url: &str) -> bool {
        let mut key = keys::target_key(url);
        key.push('\0');
        self.prefixes().iter().any(|p| key.starts_with(p.as_str()))
    }

    /// Scan prefixes with the table tag.
    pub(crate) fn scans(&self, tag: u8) -> Vec<Vec<u8>> {
        self.prefixes()
            .into_iter()
            .map(|p| keys::tagged(tag, &p))
            .collect()
    }
}
