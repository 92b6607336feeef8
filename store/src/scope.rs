//! How each store engine scans a [`Target`]: its key prefixes on the reversed-host index, and
//! the same test for one URL.

use crate::keys;
use linkdiff_model::Target;

/// Target-key prefixes to scan. A host's own URLs are exactly those whose key continues with
/// `/` or `:` (port) after the reversed host, so `domain` and `host` scans never walk through
/// subdomains.
pub(crate) fn prefixes(target: &Target) -> Vec<String> {
    let host = |h: &str| {
        let r = keys::reverse_host(h);
        vec![format!("{r}/"), format!("{r}:")]
    };
    match target {
        Target::Exact(url) => {
            let mut k = keys::target_key(url);
            k.push('\0');
            vec![k]
        }
        Target::Domain(h) => {
            let bare = h.strip_prefix("www.").unwrap_or(h);
            let mut v = host(bare);
            v.extend(host(&format!("www.{bare}")));
            v
        }
        Target::Subdomains(h) => vec![keys::reverse_host(h)],
        Target::Prefix(p) => vec![keys::target_key(p)],
        Target::Host(h) => host(h),
    }
}

/// Scan prefixes of `target` with the table tag.
pub(crate) fn scans(target: &Target, tag: u8) -> Vec<Vec<u8>> {
    prefixes(target)
        .into_iter()
        .map(|p| keys::tagged(tag, &p))
        .collect()
}

/// Whether a URL is one of the target URLs a [`Target`] covers: exactly what a scan of the
/// target returns (the Rust executor filters page rows with it).
pub trait CoversUrl {
    /// Whether `url` is covered.
    fn covers(&self, url: &str) -> bool;
}

impl CoversUrl for Target {
    fn covers(&self, url: &str) -> bool {
        let mut key = keys::target_key(url);
        key.push('\0');
        prefixes(self).iter().any(|p| key.starts_with(p.as_str()))
    }
}
