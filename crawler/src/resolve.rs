//! DNS with `--resolve` overrides and the SSRF guard: private, loopback, link-local and
//! unspecified addresses are refused unless `--allow-private` is given. A `--resolve` rule
//! trusts exactly its mapping (those host names to that address); it never makes the address
//! itself fetchable, so a page on a resolved host cannot point the crawler at
//! `http://127.0.0.1:PORT/` (in any notation: the URL parser turns decimal, hex and octal forms
//! into the same IPv4 address, and IPv4-mapped IPv6 is checked as IPv4).

//!
//! Names not covered by a rule go to a caching async resolver (hickory-resolver): the
//! system's configuration (`/etc/resolv.conf`) by default, or the servers of `--dns`;
//! answers cached by their TTL, failures (NXDOMAIN) by the zone's negative TTL, so a crawl of
//! ten thousand hosts asks each name once.

use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The caching resolver names go to: the system's configuration, or given servers.
#[derive(Clone, Default)]
pub struct Dns {
    /// `None`: the system's (built once per process, on first use).
    servers: Option<Arc<TokioResolver>>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.servers.is_some() {
            "Dns(--dns)"
        } else {
            "Dns(system)"
        })
    }
}

fn options() -> ResolverOpts {
    let mut o = ResolverOpts::default();
    o.timeout = Duration::from_secs(5);
    o.attempts = 2;
    o.cache_size = 64 * 1024;
    o
}

impl Dns {
    /// Ask these servers (`--dns IP:PORT`, UDP with TCP fallback) instead of the system's.
    pub fn servers(addrs: &[SocketAddr]) -> Dns {
        let mut group = NameServerConfigGroup::new();
        for a in addrs {
            group.merge(NameServerConfigGroup::from_ips_clear(
                &[a.ip()],
                a.port(),
                true,
            ));
        }
        let cfg = ResolverConfig::from_parts(None, Vec::new(), group);
        let r = TokioResolver::builder_with_config(cfg, TokioConnectionProvider::default())
            .with_options(options())
            .build();
        Dns {
            servers: Some(Arc::new(r)),
        }
    }

    fn resolver(&self) -> Option<&TokioResolver> {
        static SYSTEM: OnceLock<Option<TokioResolver>> = OnceLock::new();
        match &self.servers {
            Some(r) => Some(r),
            None => SYSTEM
                .get_or_init(|| {
                    TokioResolver::builder_tokio()
                        .ok()
                        .map(|b| b.with_options(options()).build())
                })
                .as_ref(),
        }
    }

    /// The addresses of `host`. Without a readable system configuration, the C library's
    /// resolver answers instead.
    async fn lookup(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        match self.resolver() {
            Some(r) => r
                .lookup_ip(host)
                .await
                .map(|ips| ips.iter().collect())
                .map_err(|e| std::io::Error::other(e.to_string())),
            None => Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|a| a.ip())
                .collect()),
        }
    }
}

/// One `--resolve HOST:PORT:ADDR` rule; `HOST` may be `*` or `*.suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    /// Host pattern, lowercase.
    pub host: String,
    /// Port the rule was written for (informational: the URL's port is used to connect).
    pub port: u16,
    /// Address to connect to.
    pub addr: IpAddr,
}

/// A `--resolve` value that is not `HOST:PORT:ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--resolve '{0}' is not HOST:PORT:ADDR")]
pub struct BadResolveRule(pub String);

impl ResolveRule {
    /// Parse `HOST:PORT:ADDR` (ADDR may be `[v6]`).
    pub fn parse(s: &str) -> Result<ResolveRule, BadResolveRule> {
        let bad = || BadResolveRule(s.to_string());
        let (host, rest) = s.split_once(':').ok_or_else(bad)?;
        let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let addr: IpAddr = addr.trim_matches(['[', ']']).parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(ResolveRule {
            host: host.to_ascii_lowercase(),
            port,
            addr,
        })
    }

    /// Whether the rule covers `host`.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        if self.host == "*" {
            return true;
        }
        if let Some(suffix) = self.host.strip_prefix("*.") {
            return host.ends_with(&format!(".{suffix}")) || host == suffix;
        }
        self.host == host
    }
}

/// True for addresses a crawler must not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (o[0] == 100 && (o[1] & 0xC0) == 64)
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xFE00) == 0xFC00
                || (s[0] & 0xFFC0) == 0xFE80
        }
    }
}

/// A host name refused by the guard: it resolves only to private or loopback addresses.
/// Carried through reqwest's error chain and recognised by type (the crawler reports it as
/// `blocked`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} resolves only to private or loopback addresses ({addrs}); use --allow-private or --resolve")]
pub struct Refused {
    /// The host name looked up.
    pub host: String,
    /// The addresses it resolved to, comma-separated.
    pub addrs: String,
}

/// reqwest resolver applying the rules and the guard.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    /// `--resolve` rules, first match wins.
    pub rules: Arc<Vec<ResolveRule>>,
    /// `--allow-private`.
    pub allow_private: bool,
    /// Where names without a rule are looked up.
    pub dns: Dns,
}

impl GuardedResolver {
    /// The override for `host`, if any.
    pub fn override_for(&self, host: &str) -> Option<IpAddr> {
        self.rules.iter().find(|r| r.matches(host)).map(|r| r.addr)
    }

    /// Whether an IP literal in a URL may be fetched: public addresses always, private ones
    /// only with `--allow-private` (a `--resolve` rule's address does not count).
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        self.allow_private || !is_private(ip)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            if let Some(ip) = this.override_for(&host) {
                let addrs: Addrs = Box::new(std::iter::once(SocketAddr::new(ip, 0)));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> = this
                .dns
                .lookup(&host)
                .await?
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| this.allow_private || !is_private(a.ip()))
                .collect();
            if allowed.is_empty() {
                let shown: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                return Err(Refused {
                    host,
                    addrs: shown.join(", "),
                }
                .into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_match_wildcards() {
        let r = ResolveRule::parse("*.test:8080:127.0.0.1").unwrap();
        assert!(r.matches("h001.test") && r.matches("a.b.TEST") && !r.matches("test.com"));
        assert!(ResolveRule::parse("*:1:::1").is_ok());
        assert!(ResolveRule::parse("x:y:z").is_err());
        assert!(ResolveRule::parse("a.com:80:[::1]")
            .unwrap()
            .matches("a.com"));
    }

    #[test]
    fn ip_literals_in_any_notation_need_allow_private_even_when_resolve_names_them() {
        let guard = GuardedResolver {
            rules: Arc::new(vec![
                ResolveRule::parse("evil.test:18777:127.0.0.1").unwrap()
            ]),
            allow_private: false,
            dns: Dns::default(),
        };
        for url in [
            "http://127.0.0.1:18777/secret",
            "http://0x7f000001:18777/",
            "http://2130706433:18777/",
            "http://0177.0.0.1:18777/",
            "http://0x7f.1:18777/",
            "http://[::1]:18777/",
            "http://[::ffff:127.0.0.1]:18777/",
            "http://[::ffff:7f00:1]:18777/",
            "http://10.0.0.1/",
            "http://[fd00::1]/",
        ] {
            let u = url::Url::parse(url).unwrap();
            let ip: IpAddr = u
                .host_str()
                .unwrap()
                .trim_matches(['[', ']'])
                .parse()
                .unwrap_or_else(|_| panic!("{url} has an IP host"));
            assert!(!guard.ip_allowed(ip), "{url} must be refused");
            let open = GuardedResolver {
                allow_private: true,
                ..guard.clone()
            };
            assert!(open.ip_allowed(ip), "{url} allowed with --allow-private");
        }
        assert!(guard.ip_allowed("93.184.216.34".parse().unwrap()));
        // The name itself keeps its mapping.
        assert_eq!(
            guard.override_for("evil.test"),
            Some("127.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.1.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }
}
