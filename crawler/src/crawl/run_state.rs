//! What one run knows while it goes: its record (counters persisted with every visit), the
//! URLs already seen, the error kinds, the scope rule; and how a fetched visit turns into the
//! visit record, the frontier writes and the new URLs to queue. No I/O: the loop does that.

use super::fetch_task::FetchFailure;
use super::scheduler::{authority, url_hash, Item};
use super::{Scope, MAX_REDIRECTS};
use crate::follows;
use linkdiff_model::{Link, Outcome, Visit};
use linkdiff_store::{FrontierEntry, RunRecord, WriteBatch};
use std::collections::{HashMap, HashSet};
use url::Url;

/// The one scope check: which URLs a run fetches.
#[derive(Debug, Clone)]
pub(crate) struct InScope {
    scope: Scope,
    seed_hosts: HashSet<String>,
    seed_urls: HashSet<String>,
    max_depth: Option<u16>,
    partition: Option<linkdiff_model::Partition>,
}

impl InScope {
    /// The rule of a run over `seeds` (`--scope`, `--max-depth`).
    pub fn new(scope: Scope, seeds: &[Url], max_depth: Option<u16>) -> InScope {
        InScope {
            scope,
            seed_hosts: seeds.iter().map(authority).collect(),
            seed_urls: seeds.iter().map(|u| u.to_string()).collect(),
            max_depth,
            partition: None,
        }
    }

    /// Only URLs on this worker's domains (`--worker I/N`).
    pub fn partitioned(mut self, p: Option<linkdiff_model::Partition>) -> InScope {
        self.partition = p;
        self
    }

    /// Whether the run fetches `u` at `depth` hops from a seed (`None`: a page already in the
    /// index, whose depth was checked when it was found).
    pub fn allows(&self, u: &Url, depth: Option<u16>) -> bool {
        let url_ok = match self.scope {
            Scope::Seeds => self.seed_urls.contains(u.as_str()),
            Scope::Hosts => self.seed_hosts.contains(&authority(u)),
            Scope::All => true,
        };
        let mine = self
            .partition
            .is_none_or(|p| p.owns(u.host_str().unwrap_or("")));
        url_ok && mine && depth.is_none_or(|d| self.max_depth.is_none_or(|m| d <= m))
    }
}

/// A recorded visit: what goes to the writer (which adds the run record, see
/// [`super::writer`]), and the URLs it found to queue.
pub(crate) struct Recorded {
    pub visit: Visit,
    pub frontier: WriteBatch,
    pub queue: Vec<Item>,
}

/// The state of the run in progress.
pub(crate) struct RunState {
    /// The run record; written with every visit, so a killed run resumes with its counters.
    pub run: RunRecord,
    /// URLs queued or fetched in this run (by hash).
    seen: HashSet<u64>,
    /// Failures by kind.
    errors: HashMap<String, u64>,
    /// Messages for the user, drained by progress reports.
    pub notes: Vec<String>,
    /// Visits this process made that found the page unchanged: a 304, or the same body.
    pub unchanged_304: u64,
    /// (see `unchanged_304`)
    pub unchanged_same: u64,
    /// Pages first found in a sitemap this run.
    pub sitemap_pages: u64,
    /// Pages listed by the sitemap being read, to queue.
    sitemap_queue: Vec<Item>,
    /// Frontier writes for pages sitemaps listed, written by the loop after each task.
    pub sitemap_frontier: WriteBatch,
    /// Hosts whose sitemaps were looked for, and the pages taken from each.
    sitemap_hosts: HashMap<String, u64>,
    /// When the last finished run began (its `as_of`): a known page whose sitemap
    /// `<lastmod>` is later changed since, and is fetched first. `None` on a first run.
    pub changed_since: Option<i64>,
    /// Known pages the sitemap being read says changed, most recently modified first.
    sitemap_changed: Vec<Url>,
    /// Known pages moved to the front of their host's queue by a sitemap's `<lastmod>`.
    pub sitemap_promoted: u64,
}

impl RunState {
    /// The state of `run` (fresh, or resumed with its counters).
    pub fn new(run: RunRecord) -> RunState {
        let errors = run.error_kinds.iter().cloned().collect();
        RunState {
            run,
            seen: HashSet::new(),
            errors,
            notes: Vec::new(),
            unchanged_304: 0,
            unchanged_same: 0,
            sitemap_pages: 0,
            sitemap_queue: Vec::new(),
            sitemap_frontier: WriteBatch::new(),
            sitemap_hosts: HashMap::new(),
            changed_since: None,
            sitemap_changed: Vec::new(),
            sitemap_promoted: 0,
        }
    }

    /// Remember `url` as seen; true when it was not yet.
    pub fn see(&mut self, url: &str) -> bool {
        self.seen.insert(url_hash(url))
    }

    /// A frontier entry for `url` in this run and its queue item, if the URL is new to the
    /// run.
    pub fn discover(
        &mut self,
        u: Url,
        depth: u16,
        redirects: u8,
        chain: Vec<u64>,
        w: &mut WriteBatch,
    ) -> Option<Item> {
        if !self.see(u.as_str()) {
            return None;
        }
        w.put_frontier(
            u.as_str(),
            &FrontierEntry {
                depth,
                redirects,
                run: self.run.id,
            },
        );
        Some(Item::new(u, depth, redirects, chain))
    }

    /// Whether `host`'s sitemaps are still to be looked for in this run (true once).
    pub fn sitemap_host(&mut self, host: &str) -> bool {
        if self.sitemap_hosts.contains_key(host) {
            return false;
        }
        self.sitemap_hosts.insert(host.to_string(), 0);
        true
    }

    /// Whether the sitemap at `u` is new in this run (an index listing itself, or two
    /// indexes listing each other, are read once).
    pub fn see_sitemap(&mut self, u: &Url) -> bool {
        self.see(&format!("sitemap {u}"))
    }

    /// Count a sitemap problem by name (in the run's error kinds, not its failed fetches).
    pub fn sitemap_problem(&mut self, kind: &str) {
        self.count(kind.to_string());
        self.run.error_kinds = self.error_kinds();
    }

    /// Take what one sitemap of `host` lists: its pages (in scope, up to `max` per host per
    /// run, most recently modified first) into the frontier, returned second to queue; the
    /// nested sitemaps to read (up to 3 levels), returned first; and the known pages whose
    /// `<lastmod>` is after [`RunState::changed_since`], returned third to fetch first.
    pub fn sitemap_read(
        &mut self,
        host: &str,
        item: &Item,
        sitemap: crate::sitemap::Sitemap,
        scope: &InScope,
        max: u64,
    ) -> (Vec<Item>, Vec<Item>, Vec<Url>) {
        if let Some(p) = sitemap.problem {
            self.sitemap_problem(p);
        }
        for _ in 0..sitemap.other_host {
            self.count("sitemap_other_host".into());
        }
        let mut w = std::mem::take(&mut self.sitemap_frontier);
        // Most recently modified first: new pages are queued in that order, and known pages
        // modified since the last finished run are promoted in it.
        let mut listed = sitemap.pages;
        listed.sort_by_key(|l| std::cmp::Reverse(l.lastmod));
        for l in listed {
            let u = l.url;
            let changed =
                matches!((l.lastmod, self.changed_since), (Some(m), Some(since)) if m > since);
            let taken = self.sitemap_hosts.entry(host.to_string()).or_default();
            if *taken >= max {
                self.count("sitemap_over_max_urls".into());
                break;
            }
            if !scope.allows(&u, Some(1)) {
                continue;
            }
            let again = changed.then(|| u.clone());
            if let Some(page) = self.discover(u, 1, 0, Vec::new(), &mut w) {
                *self.sitemap_hosts.entry(host.to_string()).or_default() += 1;
                self.sitemap_pages += 1;
                self.sitemap_queue.push(page);
            } else if let Some(u) = again {
                self.sitemap_changed.push(u);
            }
        }
        self.sitemap_frontier = w;
        self.run.error_kinds = self.error_kinds();
        let mut children = Vec::new();
        for c in sitemap.children {
            if item.sitemap >= 3 {
                self.count("sitemap_too_deep".into());
                break;
            }
            if self.see_sitemap(&c) {
                children.push(Item::sitemap(c, item.sitemap + 1));
            }
        }
        (
            children,
            std::mem::take(&mut self.sitemap_queue),
            std::mem::take(&mut self.sitemap_changed),
        )
    }

    /// Note a failure for the user: always when the guard refused an address, else the
    /// first few.
    pub fn note(&mut self, url: &Url, failure: &FetchFailure) {
        if failure.blocked() || self.errors.values().sum::<u64>() < 5 {
            self.notes.push(failure.describe(url));
        }
    }

    /// Turn a finished fetch into its visit (at `time`), the frontier writes (this URL done,
    /// new in-scope URLs added) and the items to queue, and count it in the run's counters
    /// (all but `new_pages`, which the writer counts: it alone reads the index).
    pub fn record(
        &mut self,
        item: Item,
        outcome: Outcome,
        failure: Option<FetchFailure>,
        known_links: &[Link],
        scope: &InScope,
        time: i64,
    ) -> Recorded {
        let mut w = WriteBatch::new();
        w.remove_frontier(item.url.as_str());
        let mut queue = Vec::new();
        match &outcome {
            Outcome::Fetched { .. } | Outcome::Unchanged { .. } => {
                let links = match &outcome {
                    Outcome::Fetched { links, .. } => links.as_slice(),
                    _ => known_links,
                };
                match &outcome {
                    Outcome::Unchanged { http_code: 304, .. } => self.unchanged_304 += 1,
                    Outcome::Unchanged { .. } => self.unchanged_same += 1,
                    _ => {}
                }
                let depth = item.depth.saturating_add(1);
                for l in links.iter().filter(|l| follows(l.link_type)) {
                    let Ok(u) = Url::parse(&l.url_to) else {
                        continue;
                    };
                    if scope.allows(&u, Some(depth)) {
                        queue.extend(self.discover(u, depth, 0, Vec::new(), &mut w));
                    }
                }
            }
            Outcome::Redirected { link, .. } => {
                let mut chain = item.chain.clone();
                chain.push(url_hash(item.url.as_str()));
                if item.redirects >= MAX_REDIRECTS {
                    self.count("redirect_chain_too_long".into());
                } else if chain.contains(&url_hash(&link.url_to)) {
                    self.count("redirect_loop".into());
                } else if let Ok(u) = Url::parse(&link.url_to) {
                    if scope.allows(&u, Some(item.depth)) {
                        queue.extend(self.discover(
                            u,
                            item.depth,
                            item.redirects + 1,
                            chain,
                            &mut w,
                        ));
                    }
                }
            }
            _ => {}
        }
        if let Some(f) = &failure {
            self.count(f.kind());
            self.run.errors += 1;
        }
        self.run.fetched += 1;
        if let Outcome::Fetched { meta, .. } | Outcome::Redirected { meta, .. } = &outcome {
            self.run.bytes += meta.page_size;
        }
        self.run.error_kinds = self.error_kinds();
        let visit = Visit {
            url: item.url.to_string(),
            time,
            run: self.run.id,
            depth: item.depth,
            outcome,
        };
        Recorded {
            visit,
            frontier: w,
            queue,
        }
    }

    fn count(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Failures by kind, sorted.
    pub fn error_kinds(&self) -> Vec<(String, u64)> {
        let mut kinds: Vec<_> = self.errors.iter().map(|(k, v)| (k.clone(), *v)).collect();
        kinds.sort();
        kinds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linkdiff_model::{Link, LinkType, PageMeta};

    fn url(s: &str) -> Url {
        Url::parse(s).expect("valid")
    }

    fn fetched(links: Vec<Link>) -> Outcome {
        Outcome::Fetched {
            meta: PageMeta {
                page_size: 100,
                ..Default::default()
            },
            links,
        }
    }

    fn state() -> RunState {
        RunState::new(RunRecord {
            id: 3,
            ..Default::default()
        })
    }

    #[test]
    fn sitemap_pages_come_newest_first_and_known_changed_pages_are_named() {
        use crate::sitemap::{Listed, Sitemap};
        let mut st = state();
        st.changed_since = Some(100);
        let scope = InScope::new(Scope::Hosts, &[url("http://a.test/")], None);
        for known in ["http://a.test/old-changed", "http://a.test/old-same"] {
            st.see(known);
        }
        let listed = |u: &str, lastmod| Listed {
            url: url(u),
            lastmod,
        };
        let map = Sitemap {
            pages: vec![
                listed("http://a.test/old-same", Some(50)),
                listed("http://a.test/new-undated", None),
                listed("http://a.test/old-changed", Some(200)),
                listed("http://a.test/new-recent", Some(300)),
                listed("http://a.test/new-older", Some(10)),
            ],
            ..Default::default()
        };
        let item = Item::sitemap(url("http://a.test/sitemap.xml"), 1);
        let (_, queue, changed) = st.sitemap_read("a.test", &item, map, &scope, 100);
        let paths: Vec<&str> = queue.iter().map(|i| i.url.path()).collect();
        assert_eq!(paths, ["/new-recent", "/new-older", "/new-undated"]);
        assert_eq!(changed, [url("http://a.test/old-changed")]);
        // A first run (nothing to compare with) promotes nothing.
        let mut first = state();
        first.see("http://a.test/x");
        let map = Sitemap {
            pages: vec![listed("http://a.test/x", Some(300))],
            ..Default::default()
        };
        assert!(first
            .sitemap_read("a.test", &item, map, &scope, 100)
            .2
            .is_empty());
    }

    #[test]
    fn scope_rules() {
        let seeds = [url("http://a.test/start"), url("http://b.test:8080/")];
        let hosts = InScope::new(Scope::Hosts, &seeds, Some(2));
        assert!(hosts.allows(&url("http://a.test/other"), Some(2)));
        assert!(!hosts.allows(&url("http://a.test/other"), Some(3)));
        assert!(hosts.allows(&url("http://a.test/other"), None));
        assert!(hosts.allows(&url("http://b.test:8080/x"), Some(1)));
        assert!(
            !hosts.allows(&url("http://b.test/x"), Some(1)),
            "port is part of the host"
        );
        assert!(!hosts.allows(&url("http://c.test/"), Some(0)));
        let only = InScope::new(Scope::Seeds, &seeds, None);
        assert!(only.allows(&url("http://a.test/start"), Some(5)));
        assert!(!only.allows(&url("http://a.test/other"), Some(1)));
        assert!(InScope::new(Scope::All, &seeds, None).allows(&url("http://z.test/"), Some(9)));
    }

    #[test]
    fn followed_links_in_scope_are_queued_once_with_depth_plus_one() {
        let scope = InScope::new(Scope::Hosts, &[url("http://a.test/")], None);
        let mut s = state();
        s.see("http://a.test/");
        let links = vec![
            Link::bare("http://a.test/b", LinkType::Href),
            Link::bare("http://a.test/b", LinkType::Href),
            Link::bare("http://a.test/", LinkType::Href),
            Link::bare("http://a.test/feed", LinkType::Rss),
            Link::bare("http://other.test/", LinkType::Href),
            Link::bare("http://a.test/f", LinkType::Frame),
        ];
        let item = Item::new(url("http://a.test/"), 4, 0, Vec::new());
        let r = s.record(item, fetched(links), None, &[], &scope, 1_000);
        let queued: Vec<_> = r.queue.iter().map(|i| (i.url.as_str(), i.depth)).collect();
        assert_eq!(queued, [("http://a.test/b", 5), ("http://a.test/f", 5)]);
        assert_eq!((s.run.fetched, s.run.bytes), (1, 100));
        assert_eq!((r.visit.time, r.visit.run, r.visit.depth), (1_000, 3, 4));
        // Frontier: this URL removed, two added.
        assert_eq!(r.frontier.len(), 3);
    }

    #[test]
    fn redirect_loops_and_long_chains_are_counted_not_followed() {
        let scope = InScope::new(Scope::All, &[], None);
        let mut s = state();
        let redirect = |to: &str| Outcome::Redirected {
            meta: PageMeta::default(),
            link: Link::bare(to, LinkType::Redirect),
        };
        let first = Item::new(url("http://a.test/1"), 0, 0, Vec::new());
        let r = s.record(first, redirect("http://a.test/2"), None, &[], &scope, 0);
        assert_eq!(r.queue.len(), 1);
        let second = r.queue.into_iter().next().expect("queued");
        assert_eq!(second.redirects, 1);
        let r = s.record(second, redirect("http://a.test/1"), None, &[], &scope, 0);
        assert!(r.queue.is_empty());
        let long = Item::new(url("http://a.test/9"), 0, MAX_REDIRECTS, Vec::new());
        let r = s.record(long, redirect("http://a.test/10"), None, &[], &scope, 0);
        assert!(r.queue.is_empty());
        assert_eq!(
            s.error_kinds(),
            [
                ("redirect_chain_too_long".to_string(), 1),
                ("redirect_loop".to_string(), 1)
            ]
        );
        assert_eq!(s.run.errors, 0, "a loop is not a failed fetch");
    }

    #[test]
    fn failures_count_by_kind_and_notes_stay_few_except_refusals() {
        let scope = InScope::new(Scope::All, &[], None);
        let mut s = state();
        for i in 0..8 {
            let u = url(&format!("http://a.test/{i}"));
            let f = FetchFailure::Status(503);
            s.note(&u, &f);
            let item = Item::new(u, 0, 0, Vec::new());
            s.record(
                item,
                Outcome::Failed { http_code: 503 },
                Some(f),
                &[],
                &scope,
                0,
            );
        }
        assert_eq!(s.notes.len(), 5);
        let refused = FetchFailure::Network(crate::fetch::FetchError::Blocked("private".into()));
        s.note(&url("http://10.0.0.1/"), &refused);
        assert_eq!(s.notes.len(), 6);
        assert_eq!(s.error_kinds(), [("503".to_string(), 8)]);
        assert_eq!((s.run.errors, s.run.fetched), (8, 8));
    }
}
