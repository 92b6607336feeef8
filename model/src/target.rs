//! What a question is about: a target as a user writes it (a URL, a host, a prefix), parsed once
//! at the edge into the set of target URLs it covers. Ahrefs v2, DataForSEO, the CLI and the
//! store all speak of targets through [`Target`].

use crate::{registrable_domain, url_host};
use std::fmt;
use std::str::FromStr;

/// How a v2 target is read (SPEC §6 `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// That URL.
    #[default]
    Exact,
    /// Every URL on the host, `www.` folded.
    Domain,
    /// The host and its subdomains.
    Subdomains,
    /// Every URL starting with the target.
    Prefix,
}

impl Mode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exact => "exact",
            Mode::Domain => "domain",
            Mode::Subdomains => "subdomains",
            Mode::Prefix => "prefix",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `mode` that is none of exact, domain, subdomains and prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown mode '{0}' (use exact, domain, subdomains or prefix)")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;
    fn from_str(s: &str) -> Result<Self, UnknownMode> {
        Ok(match s {
            "exact" => Mode::Exact,
            "domain" => Mode::Domain,
            "subdomains" => Mode::Subdomains,
            "prefix" => Mode::Prefix,
            _ => return Err(UnknownMode(s.to_string())),
        })
    }
}

/// A target with nothing in it (only blanks, or only a scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The target is empty; give a URL, a host or a prefix")]
pub struct EmptyTarget;

/// The target URLs a question covers. Hosts are lowercase; URLs and prefixes are scheme-free
/// with a lowercase authority and the path as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
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

impl Target {
    /// A v2 `target` read in `mode`: the scheme stripped (any case), the authority lowercased,
    /// the path kept as given.
    pub fn parse(raw: &str, mode: Mode) -> Result<Target, EmptyTarget> {
        let t = strip_scheme(raw.trim());
        if t.is_empty() {
            return Err(EmptyTarget);
        }
        let host = url_host(t).to_ascii_lowercase();
        let authority_end = t.find(['/', '?']).unwrap_or(t.len());
        let normalised = format!(
            "{}{}",
            t[..authority_end].to_ascii_lowercase(),
            &t[authority_end..]
        );
        Ok(match mode {
            Mode::Exact => Target::Exact(normalised),
            Mode::Domain => Target::Domain(host),
            Mode::Subdomains => Target::Subdomains(host),
            Mode::Prefix => Target::Prefix(normalised),
        })
    }

    /// A DataForSEO `target`: a URL with its scheme is that page; a bare registrable domain
    /// (`forbes.com`) covers its subdomains; any other host (`www.trustpilot.com`) is that host
    /// only.
    pub fn dataforseo(raw: &str) -> Result<Target, EmptyTarget> {
        let t = raw.trim();
        if strip_scheme(t).len() != t.len() {
            return Target::parse(t, Mode::Exact);
        }
        let host = t.trim_end_matches('/').to_ascii_lowercase();
        if host.is_empty() {
            return Err(EmptyTarget);
        }
        Ok(if registrable_domain(&host) == host {
            Target::Subdomains(host)
        } else {
            Target::Host(host)
        })
    }

    /// The host the target is on (for a URL or prefix, its host without port).
    pub fn host(&self) -> &str {
        match self {
            Target::Exact(u) | Target::Prefix(u) => url_host(u),
            Target::Domain(h) | Target::Subdomains(h) | Target::Host(h) => h,
        }
    }

    /// The registrable domain of [`Target::host`] (whose domain rating a target has).
    pub fn registrable_domain(&self) -> &str {
        registrable_domain(self.host())
    }

    /// The same target without its subdomains: [`Target::Subdomains`] becomes
    /// [`Target::Host`]; others are unchanged (DataForSEO's `include_subdomains: false`).
    pub fn without_subdomains(self) -> Target {
        match self {
            Target::Subdomains(h) => Target::Host(h),
            t => t,
        }
    }
}

/// `raw` without a leading `http://` or `https://` in any case.
fn strip_scheme(raw: &str) -> &str {
    for scheme in ["http://", "https://"] {
        if raw
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
        {
            return &raw[scheme.len()..];
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_targets_lose_their_scheme_and_the_case_of_their_authority() {
        assert_eq!(
            Target::parse(" HTTPS://Ahrefs.COM/Blog/ ", Mode::Exact),
            Ok(Target::Exact("ahrefs.com/Blog/".into()))
        );
        assert_eq!(
            Target::parse("http://WWW.a.test:8080/x", Mode::Domain),
            Ok(Target::Domain("www.a.test".into()))
        );
        assert_eq!(
            Target::parse("a.test/p?q=1", Mode::Prefix),
            Ok(Target::Prefix("a.test/p?q=1".into()))
        );
        assert_eq!(Target::parse("  ", Mode::Exact), Err(EmptyTarget));
        assert_eq!(
            Target::parse("https://", Mode::Subdomains),
            Err(EmptyTarget)
        );
    }

    #[test]
    fn dataforseo_targets_are_pages_domains_or_hosts() {
        assert_eq!(
            Target::dataforseo("https://Ahrefs.com/blog/"),
            Ok(Target::Exact("ahrefs.com/blog/".into()))
        );
        assert_eq!(
            Target::dataforseo("Forbes.com/"),
            Ok(Target::Subdomains("forbes.com".into()))
        );
        assert_eq!(
            Target::dataforseo("www.trustpilot.com"),
            Ok(Target::Host("www.trustpilot.com".into()))
        );
        assert_eq!(
            Target::dataforseo("forbes.com").map(Target::without_subdomains),
            Ok(Target::Host("forbes.com".into()))
        );
        assert_eq!(Target::dataforseo(""), Err(EmptyTarget));
    }

    #[test]
    fn a_target_knows_its_host_and_domain() {
        let t = Target::parse("https://Blog.Example.co.uk:443/a", Mode::Exact).unwrap();
        assert_eq!(t.host(), "blog.example.co.uk");
        assert_eq!(t.registrable_domain(), "example.co.uk");
        assert_eq!(
            Target::Subdomains("a.site.test".into()).registrable_domain(),
            "site.test"
        );
    }

    #[test]
    fn modes_read_their_wire_names_only() {
        assert_eq!("prefix".parse::<Mode>(), Ok(Mode::Prefix));
        assert_eq!(
            "Exact".parse::<Mode>().unwrap_err().to_string(),
            "Unknown mode 'Exact' (use exact, domain, subdomains or prefix)"
        );
    }
}
