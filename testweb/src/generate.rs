//! The deterministic generator behind the test web.

use linkdiff_model::LinkType;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU32, Ordering};

/// Shape of a test web.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Generator seed: same seed, same web.
    pub seed: u64,
    /// Number of hosts.
    pub hosts: usize,
    /// Content pages per host in epoch 1 (plus the root `/`).
    pub pages_per_host: usize,
    /// External links per content page.
    pub links_per_page: usize,
    /// Filler text per page, bytes (to reach realistic page sizes in benchmarks).
    pub filler_bytes: usize,
    /// `Crawl-delay` written in every served robots.txt.
    pub crawl_delay: Option<f64>,
    /// Hosts whose robots.txt answers 500 (so nothing on them may be fetched).
    pub robots_5xx: Vec<usize>,
    /// Pages per host that nothing links to, listed only in sitemaps (0: no sitemaps at all,
    /// `/sitemap.xml` answers 404). See `server::sitemaps` for which host lists them how.
    pub sitemap_orphans: usize,
    /// Every page loads `/insert.js`, which adds one link with DOM calls
    /// (`http://js.test/<host><path>`): links only a rendering finds, for the rendering
    /// benchmark. Not part of the page truths.
    pub scripts: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            seed: 1,
            hosts: 12,
            pages_per_host: 8,
            links_per_page: 6,
            filler_bytes: 0,
            crawl_delay: None,
            robots_5xx: Vec::new(),
            sitemap_orphans: 0,
            scripts: false,
        }
    }
}

/// The script of [`WebConfig::scripts`].
const INSERT_JS: &str = "var a = document.createElement('a'); \
    a.href = 'http://js.test/' + location.host.split(':')[0] + location.pathname; \
    a.textContent = 'inserted by a script'; document.body.appendChild(a);";

/// What a URL answers in one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageKind {
    /// 200 with links.
    Ok,
    /// 404 or 410.
    Gone(u16),
    /// 500.
    Error,
    /// 301/302 to the URL.
    Redirect(u16, String),
    /// Disallowed by robots.txt (would answer 200 if fetched).
    Disallowed,
}

/// One generated link, as the extractor must find it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GenLink {
    /// Absolute normalised target.
    pub url_to: String,
    /// Kind.
    pub link_type: LinkType,
    /// Anchor (href only).
    pub anchor: String,
    /// rel=nofollow.
    pub nofollow: bool,
    /// Redirect code for HTTP redirects.
    pub redirect: u16,
}

/// Ground truth of one page in one epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageTruth {
    /// What it answers.
    pub kind: PageKind,
    /// Every link the page carries (internal and external), in document order; for a
    /// redirect, the redirect link.
    pub links: Vec<GenLink>,
}

/// A deterministic web of `hosts × pages` with epochs.
#[derive(Debug)]
pub struct TestWeb {
    cfg: WebConfig,
    port: AtomicU32,
    epoch: AtomicU32,
}

/// Character encodings the hosts use, by host number modulo 4: (label, where declared, a word
/// that needs that encoding).
const ENCODINGS: [(&str, &str, &str); 4] = [
    ("utf-8", "meta", "naïve"),
    ("windows-1251", "meta", "привет"),
    ("iso-8859-1", "header", "café"),
    ("shift_jis", "header", "日本"),
];

const WORDS: [&str; 16] = [
    "alpha", "backlink", "crawler", "delta", "engine", "forest", "garden", "harbor", "index",
    "jungle", "kernel", "lantern", "meadow", "nebula", "orchard", "prairie",
];

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl TestWeb {
    /// A web with this configuration, epoch 1, not yet bound to a port.
    pub fn new(cfg: WebConfig) -> TestWeb {
        TestWeb {
            cfg,
            port: AtomicU32::new(80),
            epoch: AtomicU32::new(1),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WebConfig {
        &self.cfg
    }

    /// Set the port absolute URLs carry (the server does it when it binds).
    pub fn set_port(&self, port: u16) {
        self.port.store(port as u32, Ordering::SeqCst);
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port.load(Ordering::SeqCst) as u16
    }

    /// Current epoch (1 or 2).
    pub fn epoch(&self) -> u32 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Move to an epoch.
    pub fn set_epoch(&self, e: u32) {
        self.epoch.store(e, Ordering::SeqCst);
    }

    fn h(&self, parts: &[u64]) -> u64 {
        parts
            .iter()
            .fold(mix(self.cfg.seed), |acc, &p| mix(acc ^ p))
    }

    /// Host name of host `i`.
    pub fn host(i: usize) -> String {
        format!("h{i:03}.test")
    }

    /// Origin `http://hNNN.test:PORT`.
    pub fn origin(&self, i: usize) -> String {
        format!("http://{}:{}", Self::host(i), self.port())
    }

    /// The seed URLs: every host's root.
    pub fn seeds(&self) -> Vec<String> {
        (0..self.cfg.hosts)
            .map(|i| format!("{}/", self.origin(i)))
            .collect()
    }

    /// Content pages of a host in an epoch (epoch 2 adds pages).
    fn page_count(&self, host: usize, epoch: u32) -> usize {
        let extra = if epoch >= 2 {
            (self.h(&[host as u64, 77]) % 3) as usize
        } else {
            0
        };
        self.cfg.pages_per_host + extra
    }

    fn page_url(&self, host: usize, j: usize) -> String {
        format!("{}/p{j}.html", self.origin(host))
    }

    /// What `/p{j}.html` of `host` is in `epoch`, before robots.
    fn page_kind(&self, host: usize, j: usize, epoch: u32) -> PageKind {
        if j >= self.page_count(host, epoch) {
            return PageKind::Gone(404);
        }
        let r = self.h(&[host as u64, j as u64, 11]) % 100;
        if epoch == 1 {
            return if r < 4 {
                PageKind::Redirect(301, self.page_url(host, (j + 1) % self.cfg.pages_per_host))
            } else {
                PageKind::Ok
            };
        }
        let other = (host + 1 + (r as usize % (self.cfg.hosts - 1).max(1))) % self.cfg.hosts;
        match r {
            0..=3 => {
                PageKind::Redirect(301, self.page_url(host, (j + 1) % self.cfg.pages_per_host))
            }
            4..=7 => PageKind::Gone(404),
            8..=10 => PageKind::Gone(410),
            11..=13 => PageKind::Error,
            14..=16 => PageKind::Redirect(302, self.page_url(other, 0)),
            17..=19 => {
                PageKind::Redirect(301, self.page_url(host, (j + 1) % self.cfg.pages_per_host))
            }
            20..=22 if self.robots_served(host) => PageKind::Disallowed,
            _ => PageKind::Ok,
        }
    }

    /// Hosts numbered 6, 13, 20, ... answer 404 for robots.txt (allow all).
    fn robots_served(&self, host: usize) -> bool {
        host % 7 != 6
    }

    /// robots.txt of a host in an epoch: `None` means 404.
    pub fn robots(&self, host: usize, epoch: u32) -> Option<String> {
        if !self.robots_served(host) {
            return None;
        }
        let mut s = String::from("User-agent: *\nDisallow: /private/\n");
        if let Some(d) = self.cfg.crawl_delay {
            let _ = writeln!(s, "Crawl-delay: {d}");
        }
        for j in 0..self.page_count(host, epoch) {
            if self.page_kind(host, j, epoch) == PageKind::Disallowed {
                let _ = writeln!(s, "Disallow: /p{j}.html");
            }
        }
        Some(s)
    }

    fn anchor(&self, seed: u64, host: usize) -> String {
        let a = WORDS[(seed % 16) as usize];
        let b = WORDS[((seed >> 8) % 16) as usize];
        if seed.is_multiple_of(5) {
            format!("{a} {}", ENCODINGS[host % 4].2)
        } else {
            format!("{a} {b}")
        }
    }

    /// Links of a 200 content page (internal first, then external of every type).
    fn content_links(&self, host: usize, j: usize, epoch: u32) -> Vec<GenLink> {
        let mut links = vec![GenLink {
            url_to: format!("{}/", self.origin(host)),
            link_type: LinkType::Href,
            anchor: "Home".into(),
            nofollow: false,
            redirect: 0,
        }];
        let n = self.cfg.links_per_page + if epoch >= 2 { 2 } else { 0 };
        for k in 0..n {
            let s = self.h(&[host as u64, j as u64, k as u64, 23]);
            // In epoch 2: links k < links_per_page are removed 1 in 6; anchors change 1 in 8;
            // the two extra links are new.
            if epoch >= 2 && k < self.cfg.links_per_page && s.is_multiple_of(6) {
                continue;
            }
            let anchor_seed = if epoch >= 2 && s % 8 == 1 {
                s ^ 0xABCD
            } else {
                s
            };
            let other =
                (host + 1 + (s >> 16) as usize % (self.cfg.hosts - 1).max(1)) % self.cfg.hosts;
            let pj = (s >> 24) as usize % (self.cfg.pages_per_host + 1);
            let url_to = if pj == self.cfg.pages_per_host {
                format!("{}/", self.origin(other))
            } else {
                self.page_url(other, pj)
            };
            let link_type = match (s >> 32) % 20 {
                0 => LinkType::Frame,
                1 => LinkType::Form,
                2 => LinkType::Alternate,
                _ => LinkType::Href,
            };
            let anchor = if link_type == LinkType::Href {
                self.anchor(anchor_seed, host)
            } else {
                String::new()
            };
            links.push(GenLink {
                url_to,
                link_type,
                anchor,
                nofollow: link_type == LinkType::Href && (s >> 40).is_multiple_of(7),
                redirect: 0,
            });
        }
        if (self.h(&[host as u64, j as u64, 31])).is_multiple_of(4) {
            links.push(GenLink {
                url_to: format!("{}/feed.xml", self.origin((host + 1) % self.cfg.hosts)),
                link_type: LinkType::Rss,
                anchor: String::new(),
                nofollow: false,
                redirect: 0,
            });
        }
        links
    }

    /// Links of a host's root page: every content page (internal) and one external link.
    fn root_links(&self, host: usize, epoch: u32) -> Vec<GenLink> {
        let mut links: Vec<GenLink> = (0..self.page_count(host, epoch))
            .map(|j| GenLink {
                url_to: self.page_url(host, j),
                link_type: LinkType::Href,
                anchor: format!("Page {j}"),
                nofollow: false,
                redirect: 0,
            })
            .collect();
        links.push(GenLink {
            url_to: format!("{}/", self.origin((host + 1) % self.cfg.hosts)),
            link_type: LinkType::Href,
            anchor: format!("Next site {}", ENCODINGS[host % 4].2),
            nofollow: false,
            redirect: 0,
        });
        links
    }

    /// Ground truth of one path on one host in an epoch.
    pub fn page_truth(&self, host: usize, path: &str, epoch: u32) -> Option<PageTruth> {
        if host >= self.cfg.hosts {
            return None;
        }
        if self.cfg.robots_5xx.contains(&host) {
            return Some(PageTruth {
                kind: PageKind::Disallowed,
                links: Vec::new(),
            });
        }
        if path == "/" {
            return Some(PageTruth {
                kind: PageKind::Ok,
                links: self.root_links(host, epoch),
            });
        }
        let j: usize = path
            .strip_prefix("/p")?
            .strip_suffix(".html")?
            .parse()
            .ok()?;
        let kind = self.page_kind(host, j, epoch);
        let links = match &kind {
            PageKind::Ok | PageKind::Disallowed => self.content_links(host, j, epoch),
            PageKind::Redirect(code, to) => vec![GenLink {
                url_to: to.clone(),
                link_type: LinkType::Redirect,
                anchor: String::new(),
                nofollow: false,
                redirect: *code,
            }],
            _ => Vec::new(),
        };
        Some(PageTruth { kind, links })
    }

    /// Ground truth of every URL a `hosts`-scope crawl from [`TestWeb::seeds`] reaches in
    /// `epoch`, starting from `known` (URLs already in the index, revisited every run).
    pub fn truth(&self, epoch: u32, known: &[String]) -> BTreeMap<String, PageTruth> {
        let mut out = BTreeMap::new();
        let mut queue: Vec<String> = self.seeds();
        queue.extend(known.iter().cloned());
        while let Some(url) = queue.pop() {
            if out.contains_key(&url) {
                continue;
            }
            let Some((host, path)) = self.split(&url) else {
                continue;
            };
            let Some(t) = self.page_truth(host, &path, epoch) else {
                continue;
            };
            if matches!(t.kind, PageKind::Ok | PageKind::Redirect(..)) {
                for l in &t.links {
                    if linkdiff_crawler::follows(l.link_type) {
                        queue.push(l.url_to.clone());
                    }
                }
            }
            out.insert(url, t);
        }
        out
    }

    /// `(host index, path)` of a URL on this web.
    pub fn split(&self, url: &str) -> Option<(usize, String)> {
        let rest = url.strip_prefix("http://")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let host = authority.split(':').next()?;
        let i: usize = host
            .strip_prefix('h')?
            .strip_suffix(".test")?
            .parse()
            .ok()?;
        Some((
            i,
            if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
        ))
    }

    /// The response for `path` on `host` now: (status, headers, body).
    pub fn respond(&self, host_header: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let epoch = self.epoch();
        let host_name = host_header.split(':').next().unwrap_or("");
        let Some(host) = self.split(&format!("http://{host_name}/")).map(|(h, _)| h) else {
            return (404, vec![], b"unknown host".to_vec());
        };
        if path == "/robots.txt" {
            if self.cfg.robots_5xx.contains(&host) {
                return (500, vec![], b"robots broken".to_vec());
            }
            return match self.robots(host, epoch) {
                Some(r) => (
                    200,
                    vec![("content-type".into(), "text/plain".into())],
                    r.into_bytes(),
                ),
                None => (404, vec![], b"no robots".to_vec()),
            };
        }
        if path == "/insert.js" && self.cfg.scripts {
            return (
                200,
                vec![("content-type".into(), "application/javascript".into())],
                INSERT_JS.as_bytes().to_vec(),
            );
        }
        if path == "/feed.xml" {
            return (
                200,
                vec![("content-type".into(), "application/rss+xml".into())],
                b"<rss><channel><title>feed</title></channel></rss>".to_vec(),
            );
        }
        let Some(t) = self.page_truth(host, path, epoch) else {
            return (404, vec![], b"not found".to_vec());
        };
        match t.kind {
            PageKind::Gone(code) => (code, vec![], b"gone".to_vec()),
            PageKind::Error => (500, vec![], b"internal error".to_vec()),
            PageKind::Redirect(code, to) => (code, vec![("location".into(), to)], Vec::new()),
            PageKind::Ok | PageKind::Disallowed if self.cfg.robots_5xx.contains(&host) => (
                200,
                vec![("content-type".into(), "text/html".into())],
                b"<p>private</p>".to_vec(),
            ),
            PageKind::Ok | PageKind::Disallowed => self.render(host, path, &t.links),
        }
    }

    fn render(
        &self,
        host: usize,
        path: &str,
        links: &[GenLink],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let (label, declared, _) = ENCODINGS[host % 4];
        let mut head = String::new();
        let mut body = String::new();
        if declared == "meta" {
            let _ = write!(head, "<meta charset=\"{label}\">");
        }
        let _ = write!(head, "<title>{} {}</title>", Self::host(host), path);
        for (k, l) in links.iter().enumerate() {
            let url = html_escape(&l.url_to);
            match l.link_type {
                LinkType::Href => {
                    let rel = if l.nofollow { " rel=\"nofollow\"" } else { "" };
                    let _ = writeln!(
                        body,
                        "<p>Paragraph {k} says <a href=\"{url}\"{rel}>{}</a> and more.</p>",
                        html_escape(&l.anchor)
                    );
                }
                LinkType::Frame => {
                    let _ = writeln!(body, "<div><iframe src=\"{url}\"></iframe></div>");
                }
                LinkType::Form => {
                    let _ = writeln!(body, "<form action=\"{url}\"><input name=q></form>");
                }
                LinkType::Alternate => {
                    let _ = write!(
                        head,
                        "<link rel=\"alternate\" hreflang=\"de\" href=\"{url}\">"
                    );
                }
                LinkType::Rss => {
                    let _ = write!(
                        head,
                        "<link rel=\"alternate\" type=\"application/rss+xml\" href=\"{url}\">"
                    );
                }
                LinkType::Canonical => {
                    let _ = write!(head, "<link rel=\"canonical\" href=\"{url}\">");
                }
                LinkType::Redirect => {
                    let _ = write!(
                        head,
                        "<meta http-equiv=\"refresh\" content=\"30; url={url}\">"
                    );
                }
            }
        }
        let mut filler = String::new();
        let mut k = 0;
        while filler.len() < self.cfg.filler_bytes {
            let _ = writeln!(
                filler,
                "<p class=\"filler\">{} {} {} text to make the page as big as a real one.</p>",
                WORDS[k % 16],
                WORDS[(k * 7) % 16],
                k
            );
            k += 1;
        }
        let script = if self.cfg.scripts {
            "<script src=\"/insert.js\"></script>"
        } else {
            ""
        };
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head>{head}</head><body>\n<main>\n{body}</main>\n<footer>{filler}</footer>{script}</body></html>\n"
        );
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).expect("known label");
        let (bytes, _, _) = enc.encode(&html);
        let ct = if declared == "header" {
            format!("text/html; charset={label}")
        } else {
            "text/html".to_string()
        };
        (200, vec![("content-type".into(), ct)], bytes.into_owned())
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> TestWeb {
        let w = TestWeb::new(WebConfig::default());
        w.set_port(8080);
        w
    }

    #[test]
    fn same_seed_same_web_other_seed_other_web() {
        let a = web().truth(1, &[]);
        assert_eq!(a, web().truth(1, &[]));
        let other = TestWeb::new(WebConfig {
            seed: 2,
            ..WebConfig::default()
        });
        other.set_port(8080);
        assert_ne!(a, other.truth(1, &[]));
    }

    #[test]
    fn epoch_two_mutates_the_web() {
        let w = web();
        let e1 = w.truth(1, &[]);
        let known: Vec<String> = e1.keys().cloned().collect();
        let e2 = w.truth(2, &known);
        let kinds: Vec<&PageKind> = e2.values().map(|t| &t.kind).collect();
        assert!(kinds.iter().any(|k| matches!(k, PageKind::Gone(_))));
        assert!(kinds.iter().any(|k| matches!(k, PageKind::Redirect(..))));
        assert!(e2.len() > e1.len(), "epoch 2 adds pages");
        let changed = e1
            .iter()
            .filter(|(u, t)| e2.get(*u).map(|t2| t2.links != t.links).unwrap_or(true))
            .count();
        assert!(
            changed > e1.len() / 4,
            "links change: {changed} of {}",
            e1.len()
        );
    }

    #[test]
    fn responses_follow_the_truth_and_dispatch_on_host() {
        let w = web();
        let (code, headers, body) = w.respond("h001.test:8080", "/");
        assert_eq!(code, 200);
        assert!(headers.is_empty() || headers[0].1.starts_with("text/html"));
        let text = encoding_rs::WINDOWS_1251.decode(&body).0;
        assert!(text.contains("h001.test /"), "{text}");
        let (_, _, b2) = w.respond("h002.test", "/");
        assert_ne!(body, b2);
        assert_eq!(w.respond("nope.test", "/").0, 404);
        assert_eq!(w.respond("h001.test", "/p9999.html").0, 404);
        assert_eq!(w.respond("h006.test", "/robots.txt").0, 404);
    }
}
