//! Hosts and domains: the registrable domain by the Public Suffix List, a URL's host, class C
//! networks and gov/edu domains.

/// The registrable domain of `host` by the Public Suffix List (`www.example.co.uk` →
/// `example.co.uk`). Hosts under an unknown TLD such as `.test` follow the list's default rule,
/// so `a.site.test` → `site.test`. IP addresses and single labels are their own domain.
pub fn registrable_domain(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return host;
    }
    match psl::domain_str(host) {
        Some(d) => d,
        None => host,
    }
}

/// The "class C" network of an IP address, as backlink tools count referring subnets: the
/// first three octets of an IPv4 address (`203.0.113.7` → `203.0.113`), the first three
/// 16-bit groups of an IPv6 address (a /48); `None` for an empty or unparsable address.
pub fn class_c(ip: &str) -> Option<String> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            Some(format!("{}.{}.{}", o[0], o[1], o[2]))
        }
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => class_c(&v4.to_string()),
            None => {
                let s = v6.segments();
                Some(format!("{:x}:{:x}:{:x}", s[0], s[1], s[2]))
            }
        },
    }
}

/// Whether a registrable domain is a government (`kind` = `gov`) or education (`edu`) one:
/// its last label is that word (`nasa.gov`, `mit.edu`), or the label before the last one is
/// (`ons.gov.uk`, `unsw.edu.au`).
pub fn domain_kind(domain: &str, kind: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && (labels[labels.len() - 1] == kind
            || (labels.len() >= 3 && labels[labels.len() - 2] == kind))
}

/// The host part of an absolute `http(s)://` URL string, without port or credentials.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let authority = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    if authority.starts_with('[') {
        return authority
            .split_once(']')
            .map(|(h, _)| &h[1..])
            .unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gov_and_edu_domains() {
        assert!(domain_kind("nasa.gov", "gov") && domain_kind("ons.gov.uk", "gov"));
        assert!(domain_kind("unsw.edu.au", "edu") && domain_kind("mit.edu", "edu"));
        assert!(!domain_kind("gov.example.com", "gov") && !domain_kind("edu", "edu"));
    }

    #[test]
    fn class_c_networks() {
        assert_eq!(class_c("203.0.113.7").as_deref(), Some("203.0.113"));
        assert_eq!(class_c("::ffff:203.0.113.7").as_deref(), Some("203.0.113"));
        assert_eq!(class_c("2001:db8:1:2::5").as_deref(), Some("2001:db8:1"));
        assert_eq!(class_c(""), None);
        assert_eq!(class_c("not an ip"), None);
    }

    #[test]
    fn registrable_domains_follow_the_psl() {
        assert_eq!(registrable_domain("www.example.co.uk"), "example.co.uk");
        assert_eq!(registrable_domain("a.b.example.com"), "example.com");
        assert_eq!(registrable_domain("site.test"), "site.test");
        assert_eq!(registrable_domain("www.site.test"), "site.test");
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn url_host_strips_scheme_port_and_path() {
        assert_eq!(url_host("http://a.b.test:8080/x?y"), "a.b.test");
        assert_eq!(url_host("https://user@x.com/"), "x.com");
        assert_eq!(url_host("http://[::1]:80/"), "::1");
    }
}
