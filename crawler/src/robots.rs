//! robots.txt per host, per run (SPEC §3): 4xx = allow all; 5xx or unreachable = disallow all.

use texting_robots::Robot;

/// Largest robots.txt read; the rest is ignored.
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;
/// Longest `Crawl-delay` honoured, seconds.
pub const MAX_CRAWL_DELAY: f64 = 60.0;

/// The rules for one host in this run.
pub enum RobotsRules {
    /// No robots.txt (4xx): everything allowed.
    AllowAll,
    /// 5xx, timeout or connection error: nothing allowed this run.
    DisallowAll,
    /// Parsed rules.
    Rules(Box<Robot>),
}

impl RobotsRules {
    /// Build from a fetch outcome: `Some((status, body))`, or `None` when unreachable.
    pub fn from_fetch(agent: &str, outcome: Option<(u16, &[u8])>) -> RobotsRules {
        match outcome {
            Some((s, body)) if (200..300).contains(&s) => {
                let body = &body[..body.len().min(MAX_ROBOTS_BYTES)];
                match Robot::new(agent, body) {
                    Ok(r) => RobotsRules::Rules(Box::new(r)),
                    Err(_) => RobotsRules::AllowAll,
                }
            }
            Some((s, _)) if (400..500).contains(&s) => RobotsRules::AllowAll,
            _ => RobotsRules::DisallowAll,
        }
    }

    /// Whether `url` may be fetched.
    pub fn allowed(&self, url: &str) -> bool {
        match self {
            RobotsRules::AllowAll => true,
            RobotsRules::DisallowAll => false,
            RobotsRules::Rules(r) => r.allowed(url),
        }
    }

    /// The `Sitemap:` lines, as written.
    pub fn sitemaps(&self) -> Vec<String> {
        match self {
            RobotsRules::Rules(r) => r.sitemaps.clone(),
            _ => Vec::new(),
        }
    }

    /// `Crawl-delay` in seconds, capped at [`MAX_CRAWL_DELAY`].
    pub fn crawl_delay(&self) -> Option<f64> {
        match self {
            RobotsRules::Rules(r) => r.delay.map(|d| (d as f64).clamp(0.0, MAX_CRAWL_DELAY)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules() {
        let txt = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n";
        let r = RobotsRules::from_fetch("linkdiff", Some((200, txt)));
        assert!(!r.allowed("http://a.test/private/x") && r.allowed("http://a.test/p1.html"));
        assert_eq!(r.crawl_delay(), Some(2.0));
        assert!(
            RobotsRules::from_fetch("linkdiff", Some((404, b""))).allowed("http://a.test/private/")
        );
        assert!(!RobotsRules::from_fetch("linkdiff", Some((503, b""))).allowed("http://a.test/"));
        assert!(!RobotsRules::from_fetch("linkdiff", None).allowed("http://a.test/"));
        let agent = b"User-agent: linkdiff\nDisallow: /\n\nUser-agent: *\nAllow: /\n";
        assert!(!RobotsRules::from_fetch("linkdiff", Some((200, agent))).allowed("http://a.test/x"));
    }
}
