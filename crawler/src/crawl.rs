//! One crawl run: frontier, per-host scheduling with politeness, fetch tasks, visits.

use crate::extract::{extract, is_html, PageInput};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::normalize;
use crate::robots::{RobotsRules, MAX_ROBOTS_BYTES};
use crate::{follows, CrawlError};
use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};
use linkdiff_store::{
    FrontierEntry, Link, LinkType, Outcome, PageMeta, RunRecord, Store, Visit, WriteBatch,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;

/// Which discovered URLs a run follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Only the listed URLs.
    Seeds,
    /// Every URL on the seeds' hosts.
    #[default]
    Hosts,
    /// Every link.
    All,
}

/// Settings of a crawl run.
#[derive(Debug, Clone)]
pub struct CrawlConfig {
    /// Seed URLs.
    pub seeds: Vec<Url>,
    /// The run's clock (`--as-of`), Unix seconds; `None` = the real clock per visit.
    pub as_of: Option<i64>,
    /// Scope.
    pub scope: Scope,
    /// Stop after this many fetched pages in the run.
    pub max_pages: Option<u64>,
    /// Maximum link hops from a seed.
    pub max_depth: Option<u16>,
    /// Maximum pages fetched per host in the run.
    pub max_pages_per_host: Option<u64>,
    /// Requests per second per host; 0 = unlimited.
    pub rate: f64,
    /// Fetches in flight at once.
    pub concurrency: usize,
    /// Extra attempts for 5xx, 429 and network errors within the run.
    pub retries: u8,
    /// First back-off before a retry (doubles each time; `Retry-After` wins when longer).
    pub retry_backoff: Duration,
    /// HTTP settings.
    pub fetch: crate::fetch::FetchConfig,
    /// Most URLs the scheduler keeps in memory ([`MAX_RESIDENT`] by default); the rest are paged
    /// in from the store's frontier.
    pub max_resident: usize,
}

/// Counters reported while a run goes.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Run number.
    pub run: u64,
    /// Pages fetched so far in the run.
    pub fetched: u64,
    /// URLs waiting.
    pub queued: u64,
    /// Failed fetches.
    pub errors: u64,
    /// Fetches in flight.
    pub in_flight: usize,
    /// Time since the run (or its resumption) started.
    pub elapsed: Duration,
    /// Error messages worth showing the user (refused addresses, first few errors), drained
    /// by whoever displays progress.
    pub notes: Vec<String>,
}

/// Receives each visit with the frontier writes it caused; must commit both atomically.
pub trait VisitSink: Send {
    /// Commit one visit.
    fn apply(&mut self, visit: &Visit, frontier: WriteBatch) -> Result<(), String>;
}

/// A crawler bound to a store.
pub struct Crawler {
    store: Store,
    cfg: CrawlConfig,
    fetcher: Fetcher,
}

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    DefaultClock,
    governor::middleware::NoOpMiddleware<<DefaultClock as Clock>::Instant>,
>;

#[derive(Debug, Clone)]
struct Item {
    url: Url,
    depth: u16,
    redirects: u8,
    attempts: u8,
    not_before: Option<Instant>,
    /// Hashes of the URLs earlier in this redirect chain (loop detection; not persisted, so a
    /// resumed run may follow a loop once more before the chain cap ends it).
    chain: Vec<u64>,
}

impl Item {
    /// A URL to fetch now, on its first attempt.
    fn new(url: Url, depth: u16, redirects: u8, chain: Vec<u64>) -> Item {
        Item {
            url,
            depth,
            redirects,
            attempts: 0,
            not_before: None,
            chain,
        }
    }
}

#[derive(Default)]
struct HostQueue {
    queue: VecDeque<Item>,
    in_flight: usize,
    limiter: Option<Arc<Limiter>>,
    robots: Option<Arc<RobotsRules>>,
    robots_loading: bool,
    fetched: u64,
    in_ready: bool,
}

// One value per fetch, moved once into the scheduler: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum TaskResult {
    Robots {
        host: String,
        rules: RobotsRules,
        item: Item,
    },
    Page {
        host: String,
        item: Item,
        outcome: Outcome,
        error: Option<(String, String)>,
    },
    Retry {
        host: String,
        item: Item,
        after: Option<Duration>,
        error: (String, String),
    },
}

fn limiter(period: Duration) -> Option<Arc<Limiter>> {
    Quota::with_period(period)
        .map(|q| Arc::new(RateLimiter::direct_with_clock(q, DefaultClock::default())))
}

fn authority(u: &Url) -> String {
    match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("")),
        None => u.host_str().unwrap_or("").to_string(),
    }
}

fn url_hash(s: &str) -> u64 {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(s)
}

impl Crawler {
    /// A crawler over `store` with `cfg`.
    pub fn new(store: Store, cfg: CrawlConfig) -> Result<Crawler, CrawlError> {
        let fetcher = Fetcher::new(cfg.fetch.clone()).map_err(CrawlError::Client)?;
        Ok(Crawler {
            store,
            cfg,
            fetcher,
        })
    }

    fn period(&self) -> Option<Duration> {
        (self.cfg.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / self.cfg.rate))
    }

    /// Start a new run (or resume a killed one), returning the run record.
    fn begin(&self) -> Result<(RunRecord, bool), CrawlError> {
        let last = self.store.last_run()?;
        if let Some(r) = last.as_ref().filter(|r| r.finished.is_none()) {
            return Ok((r.clone(), true));
        }
        let now = chrono::Utc::now().timestamp();
        let as_of = self.cfg.as_of.unwrap_or(now);
        if let Some(l) = &last {
            if as_of < l.as_of {
                return Err(CrawlError::AsOfBeforeLastRun {
                    given: fmt_time(as_of),
                    last: fmt_time(l.as_of),
                });
            }
        }
        let run = RunRecord {
            id: last.map(|l| l.id + 1).unwrap_or(1),
            as_of,
            started: now,
            config: self
                .cfg
                .seeds
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            ..Default::default()
        };
        Ok((run, false))
    }

    /// Perform one run: every known in-scope page and every seed is fetched once, new pages
    /// found by links are added. Returns the finished run record. Stops early (and leaves the
    /// run resumable) when `stop` turns true.
    pub async fn run(
        &self,
        sink: &mut dyn VisitSink,
        mut stop: watch::Receiver<bool>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<RunRecord, CrawlError> {
        let (mut run, resumed) = self.begin()?;
        let mut seed_urls: Vec<Url> = self.cfg.seeds.clone();
        if resumed {
            for line in run.config.lines() {
                if let Ok(u) = Url::parse(line) {
                    seed_urls.push(u);
                }
            }
        }
        let seed_hosts: HashSet<String> = seed_urls.iter().map(authority).collect();
        let seed_set: HashSet<String> = seed_urls.iter().map(|u| u.to_string()).collect();
        let mut sched = Scheduler::new(self.period(), self.cfg.concurrency.max(1));
        sched.max_resident = self.cfg.max_resident.max(1);
        let mut seen: HashSet<u64> = HashSet::new();

        if resumed {
            // The frontier is paged in by `refill`; here only what was seen is remembered.
            for r in self.store.frontier() {
                let (url, e) = r?;
                if e.run == run.id {
                    seen.insert(url_hash(&url));
                }
            }
            sched.overflow = true;
            for r in self.store.pages() {
                let (url, p) = r?;
                if p.last_run == run.id {
                    seen.insert(url_hash(&url));
                }
            }
        } else {
            let mut w = WriteBatch::new();
            let mut add = |w: &mut WriteBatch, sched: &mut Scheduler, u: Url, depth: u16| {
                if seen.insert(url_hash(u.as_str())) {
                    w.put_frontier(
                        u.as_str(),
                        &FrontierEntry {
                            depth,
                            redirects: 0,
                            run: run.id,
                        },
                    );
                    sched.admit(Item::new(u, depth, 0, Vec::new()));
                }
            };
            for u in &seed_urls {
                add(&mut w, &mut sched, u.clone(), 0);
            }
            for r in self.store.pages() {
                let (url, p) = r?;
                let Ok(u) = Url::parse(&url) else { continue };
                let in_scope = match self.cfg.scope {
                    Scope::Seeds => seed_set.contains(u.as_str()),
                    Scope::Hosts => seed_hosts.contains(&authority(&u)),
                    Scope::All => true,
                };
                if in_scope {
                    add(&mut w, &mut sched, u, p.depth);
                }
                if w.len() >= 10_000 {
                    self.store.apply(std::mem::take(&mut w))?;
                }
            }
            if sched.queued == 0 && !sched.overflow {
                return Err(CrawlError::NoSeeds);
            }
            w.put_run(&run);
            self.store.apply(w)?;
        }

        let started = Instant::now();
        let mut inflight: JoinSet<TaskResult> = JoinSet::new();
        let mut stopping = *stop.borrow();
        let mut errors: HashMap<String, u64> = run.error_kinds.iter().cloned().collect();
        let agent = self.cfg.fetch.user_agent.clone();
        let mut last_progress = Instant::now() - Duration::from_secs(10);
        let mut notes: Vec<String> = Vec::new();
        loop {
            let mut earliest: Option<Instant> = None;
            if sched.overflow && sched.queued < (sched.max_resident / 4) as u64 {
                self.refill(&mut sched, run.id)?;
            }
            if !stopping {
                while inflight.len() < sched.concurrency {
                    let budget_left = self
                        .cfg
                        .max_pages
                        .map(|m| run.fetched + (inflight.len() as u64) < m)
                        .unwrap_or(true);
                    if !budget_left {
                        break;
                    }
                    match sched.next(&mut earliest, self.cfg.max_pages_per_host) {
                        Next::Launch(host, item, robots) => {
                            let fetcher = self.fetcher.clone();
                            let agent = agent.clone();
                            inflight.spawn(async move {
                                task(fetcher, agent, host, item, robots).await
                            });
                        }
                        Next::Skip(url) => {
                            sched.resident.remove(&url_hash(url.as_str()));
                            let mut w = WriteBatch::new();
                            w.remove_frontier(url.as_str());
                            self.store.apply(w)?;
                        }
                        Next::Wait => break,
                    }
                }
            }
            let budget_done = self.cfg.max_pages.is_some_and(|m| run.fetched >= m);
            if inflight.is_empty()
                && (stopping || (sched.queued == 0 && !sched.overflow) || budget_done)
            {
                break;
            }
            let now = Instant::now();
            if now.duration_since(last_progress) >= Duration::from_millis(200) || !notes.is_empty()
            {
                last_progress = now;
                progress(&Progress {
                    run: run.id,
                    fetched: run.fetched,
                    queued: sched.queued,
                    errors: run.errors,
                    in_flight: inflight.len(),
                    elapsed: started.elapsed(),
                    notes: std::mem::take(&mut notes),
                });
            }
            let sleep_for = earliest
                .map(|e| e.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(50))
                .max(Duration::from_millis(1));
            tokio::select! {
                Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                    let res = match joined {
                        Ok(r) => r,
                        Err(e) => return Err(CrawlError::Sink(format!("fetch task failed: {e}"))),
                    };
                    if let TaskResult::Page { error: Some((kind, msg)), .. } | TaskResult::Retry { error: (kind, msg), .. } = &res {
                        if kind == "blocked" || errors.values().sum::<u64>() < 5 {
                            notes.push(msg.clone());
                        }
                    }
                    self.handle(res, &mut run, &mut sched, &mut seen, &seed_hosts, &seed_set, &mut errors, sink)?;
                }
                _ = tokio::time::sleep(sleep_for) => {}
                _ = stop.changed() => { stopping = *stop.borrow(); }
            }
        }
        run.error_kinds = errors.into_iter().collect();
        run.error_kinds.sort();
        let mut w = WriteBatch::new();
        if !stopping {
            // Whatever is left was cut by --max-pages or per-host limits: the run is complete.
            for r in self.store.frontier() {
                let (url, _) = r?;
                w.remove_frontier(&url);
            }
            run.finished = Some(chrono::Utc::now().timestamp());
        }
        w.put_run(&run);
        self.store.apply(w)?;
        self.store.flush()?;
        progress(&Progress {
            run: run.id,
            fetched: run.fetched,
            queued: sched.queued,
            errors: run.errors,
            in_flight: 0,
            elapsed: started.elapsed(),
            notes,
        });
        Ok(run)
    }

    /// Page frontier entries of this run from the store into memory, from the cursor on and
    /// then wrapping around, skipping URLs already in memory or in flight. Clears `overflow`
    /// when the store holds nothing more.
    fn refill(&self, sched: &mut Scheduler, run: u64) -> Result<(), CrawlError> {
        let start = sched.cursor.clone();
        let mut admitted = 0usize;
        let mut passes: Vec<(Option<String>, Option<String>)> = vec![(start.clone(), None)];
        if start.is_some() {
            passes.push((None, start));
        }
        'passes: for (from, until) in passes {
            for r in self.store.frontier_after(from.as_deref()) {
                let (url, e) = r?;
                if until.as_deref().is_some_and(|u| url.as_str() > u) {
                    break;
                }
                sched.cursor = Some(url.clone());
                if e.run != run || sched.resident.contains(&url_hash(&url)) {
                    continue;
                }
                let Ok(u) = Url::parse(&url) else { continue };
                sched.admit(Item::new(u, e.depth, e.redirects, Vec::new()));
                admitted += 1;
                if sched.queued as usize >= sched.max_resident {
                    break 'passes;
                }
            }
        }
        sched.overflow = admitted > 0 && sched.queued as usize >= sched.max_resident;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn handle(
        &self,
        res: TaskResult,
        run: &mut RunRecord,
        sched: &mut Scheduler,
        seen: &mut HashSet<u64>,
        seed_hosts: &HashSet<String>,
        seed_set: &HashSet<String>,
        errors: &mut HashMap<String, u64>,
        sink: &mut dyn VisitSink,
    ) -> Result<(), CrawlError> {
        match res {
            TaskResult::Robots { host, rules, item } => {
                sched.robots_loaded(&host, rules, self.period());
                sched.push_front(item);
                Ok(())
            }
            TaskResult::Retry {
                host,
                mut item,
                after,
                error,
            } => {
                sched.done(&host);
                if item.attempts < self.cfg.retries {
                    let backoff = self.cfg.retry_backoff * 2u32.pow(item.attempts as u32);
                    let wait = after.map(|a| a.max(backoff)).unwrap_or(backoff);
                    item.attempts += 1;
                    item.not_before = Some(Instant::now() + wait);
                    sched.push(item);
                    Ok(())
                } else {
                    let code = error.0.parse().unwrap_or(0);
                    self.record(
                        item,
                        Outcome::Failed { http_code: code },
                        Some(error),
                        run,
                        sched,
                        seen,
                        seed_hosts,
                        seed_set,
                        errors,
                        sink,
                    )
                }
            }
            TaskResult::Page {
                host,
                item,
                outcome,
                error,
            } => {
                sched.done(&host);
                sched.count_fetch(&host);
                self.record(
                    item, outcome, error, run, sched, seen, seed_hosts, seed_set, errors, sink,
                )
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        item: Item,
        outcome: Outcome,
        error: Option<(String, String)>,
        run: &mut RunRecord,
        sched: &mut Scheduler,
        seen: &mut HashSet<u64>,
        seed_hosts: &HashSet<String>,
        seed_set: &HashSet<String>,
        errors: &mut HashMap<String, u64>,
        sink: &mut dyn VisitSink,
    ) -> Result<(), CrawlError> {
        let mut w = WriteBatch::new();
        w.remove_frontier(item.url.as_str());
        let mut queued = Vec::new();
        let mut chain = item.chain.clone();
        chain.push(url_hash(item.url.as_str()));
        let redirect_loop = match &outcome {
            Outcome::Redirected { link, .. } => chain.contains(&url_hash(&link.url_to)),
            _ => false,
        };
        let mut enqueue = |target: &str, depth: u16, redirects: u8, w: &mut WriteBatch| {
            let Ok(u) = Url::parse(target) else { return };
            let in_scope = match self.cfg.scope {
                Scope::Seeds => seed_set.contains(u.as_str()),
                Scope::Hosts => seed_hosts.contains(&authority(&u)),
                Scope::All => true,
            };
            if !in_scope || self.cfg.max_depth.is_some_and(|m| depth > m) {
                return;
            }
            if seen.insert(url_hash(u.as_str())) {
                w.put_frontier(
                    u.as_str(),
                    &FrontierEntry {
                        depth,
                        redirects,
                        run: run.id,
                    },
                );
                let chain = if redirects > 0 {
                    chain.clone()
                } else {
                    Vec::new()
                };
                queued.push(Item::new(u, depth, redirects, chain));
            }
        };
        match &outcome {
            Outcome::Fetched { links, .. } => {
                for l in links.iter().filter(|l| follows(l.link_type)) {
                    enqueue(&l.url_to, item.depth.saturating_add(1), 0, &mut w);
                }
            }
            Outcome::Redirected { link, .. } => {
                if item.redirects >= MAX_REDIRECTS {
                    *errors.entry("redirect_chain_too_long".into()).or_default() += 1;
                } else if redirect_loop {
                    *errors.entry("redirect_loop".into()).or_default() += 1;
                } else {
                    enqueue(&link.url_to, item.depth, item.redirects + 1, &mut w);
                }
            }
            _ => {}
        }
        if let Some((kind, _)) = &error {
            *errors.entry(kind.clone()).or_default() += 1;
            run.errors += 1;
        }
        run.fetched += 1;
        let page_before = self.store.page(item.url.as_str())?;
        if page_before.is_none() {
            run.new_pages += 1;
        }
        if let Outcome::Fetched { meta, .. } | Outcome::Redirected { meta, .. } = &outcome {
            run.bytes += meta.page_size;
        }
        run.error_kinds = errors.iter().map(|(k, v)| (k.clone(), *v)).collect();
        w.put_run(run);
        let visit = Visit {
            url: item.url.to_string(),
            time: self
                .cfg
                .as_of
                .map(|_| run.as_of)
                .unwrap_or_else(|| chrono::Utc::now().timestamp().max(run.as_of)),
            run: run.id,
            depth: item.depth,
            outcome,
        };
        sink.apply(&visit, w).map_err(CrawlError::Sink)?;
        sched.resident.remove(&url_hash(item.url.as_str()));
        for q in queued {
            sched.admit(q);
        }
        Ok(())
    }
}

/// Longest redirect chain followed.
pub const MAX_REDIRECTS: u8 = 10;

fn fmt_time(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

enum Next {
    Launch(String, Item, Option<Arc<RobotsRules>>),
    Skip(Url),
    Wait,
}

/// Most URLs held in memory by the scheduler; the rest wait in the store's frontier and are
/// paged in as the queue drains, so memory stays bounded on big crawls.
pub const MAX_RESIDENT: usize = 100_000;

struct Scheduler {
    /// URLs queued in memory or in flight (by hash).
    resident: HashSet<u64>,
    /// Some frontier entries of this run are only in the store.
    overflow: bool,
    /// Last frontier key paged in.
    cursor: Option<String>,
    /// Cap on URLs held in memory.
    max_resident: usize,
    hosts: HashMap<String, HostQueue>,
    ready: VecDeque<String>,
    queued: u64,
    period: Option<Duration>,
    concurrency: usize,
    clock: DefaultClock,
}

impl Scheduler {
    fn new(period: Option<Duration>, concurrency: usize) -> Scheduler {
        Scheduler {
            resident: HashSet::new(),
            overflow: false,
            cursor: None,
            max_resident: MAX_RESIDENT,
            hosts: HashMap::new(),
            ready: VecDeque::new(),
            queued: 0,
            period,
            concurrency,
            clock: DefaultClock::default(),
        }
    }

    fn host_mut(&mut self, host: &str) -> &mut HostQueue {
        let period = self.period;
        self.hosts
            .entry(host.to_string())
            .or_insert_with(|| HostQueue {
                limiter: period.and_then(limiter),
                ..Default::default()
            })
    }

    fn mark_ready(&mut self, host: &str) {
        let hq = self.host_mut(host);
        if !hq.in_ready {
            hq.in_ready = true;
            self.ready.push_back(host.to_string());
        }
    }

    /// Queue a URL in memory if there is room; otherwise it waits in the store's frontier.
    fn admit(&mut self, item: Item) {
        if self.queued as usize >= self.max_resident {
            self.overflow = true;
            return;
        }
        self.resident.insert(url_hash(item.url.as_str()));
        self.push(item);
    }

    fn push(&mut self, item: Item) {
        let host = authority(&item.url);
        self.host_mut(&host).queue.push_back(item);
        self.queued += 1;
        self.mark_ready(&host);
    }

    fn push_front(&mut self, item: Item) {
        let host = authority(&item.url);
        self.host_mut(&host).queue.push_front(item);
        self.queued += 1;
        self.mark_ready(&host);
    }

    fn done(&mut self, host: &str) {
        let hq = self.host_mut(host);
        hq.in_flight = hq.in_flight.saturating_sub(1);
        let has_work = !hq.queue.is_empty();
        if has_work {
            self.mark_ready(host);
        }
    }

    fn count_fetch(&mut self, host: &str) {
        self.host_mut(host).fetched += 1;
    }

    fn robots_loaded(&mut self, host: &str, rules: RobotsRules, period: Option<Duration>) {
        let hq = self.host_mut(host);
        hq.robots_loading = false;
        hq.in_flight = hq.in_flight.saturating_sub(1);
        if let Some(delay) = rules.crawl_delay() {
            let d = Duration::from_secs_f64(delay);
            if period.is_none_or(|p| d > p) && !d.is_zero() {
                hq.limiter = limiter(d);
                // The robots.txt request just made counts against the new limit.
                if let Some(l) = &hq.limiter {
                    let _ = l.check();
                }
            }
        }
        hq.robots = Some(Arc::new(rules));
    }

    /// The next fetch that may start now, or Wait (with `earliest` set when a host is
    /// waiting on its rate limit or back-off).
    fn next(&mut self, earliest: &mut Option<Instant>, per_host: Option<u64>) -> Next {
        let per_host_max = if self.period.is_some() {
            1
        } else {
            self.concurrency
        };
        let now = Instant::now();
        for _ in 0..self.ready.len() {
            let Some(host) = self.ready.pop_front() else {
                break;
            };
            let hq = self.hosts.get_mut(&host).expect("ready hosts exist");
            if hq.queue.is_empty() {
                hq.in_ready = false;
                continue;
            }
            if per_host.is_some_and(|m| hq.fetched >= m) && hq.robots.is_some() {
                let item = hq.queue.pop_front().expect("non-empty");
                self.queued -= 1;
                self.ready.push_back(host);
                return Next::Skip(item.url);
            }
            if hq.in_flight >= per_host_max || hq.robots_loading {
                hq.in_ready = false;
                continue;
            }
            if let Some(nb) = hq.queue.front().and_then(|i| i.not_before) {
                if nb > now {
                    // Put the waiting item behind the others of its host.
                    if hq.queue.len() > 1
                        && hq
                            .queue
                            .iter()
                            .any(|i| i.not_before.is_none_or(|t| t <= now))
                    {
                        let it = hq.queue.pop_front().expect("non-empty");
                        hq.queue.push_back(it);
                    } else {
                        *earliest = Some(earliest.map_or(nb, |e| e.min(nb)));
                    }
                    self.ready.push_back(host);
                    continue;
                }
            }
            if let Some(l) = &hq.limiter {
                if let Err(nu) = l.check() {
                    let at = now + nu.wait_time_from(self.clock.now());
                    *earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    self.ready.push_back(host);
                    continue;
                }
            }
            let item = hq.queue.pop_front().expect("non-empty");
            self.queued -= 1;
            hq.in_flight += 1;
            if hq.robots.is_none() {
                hq.robots_loading = true;
            }
            let robots = hq.robots.clone();
            if hq.queue.is_empty() {
                hq.in_ready = false;
            } else {
                self.ready.push_back(host.clone());
            }
            return Next::Launch(host, item, robots);
        }
        Next::Wait
    }
}

fn header_duration(f: &Fetched) -> Option<Duration> {
    f.header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(120)))
}

async fn task(
    fetcher: Fetcher,
    agent: String,
    host: String,
    item: Item,
    robots: Option<Arc<RobotsRules>>,
) -> TaskResult {
    let Some(robots) = robots else {
        let mut robots_url = item.url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        let outcome = match fetcher.get_capped(&robots_url, MAX_ROBOTS_BYTES).await {
            Ok(f) => Some(f),
            Err(FetchError::Blocked(_)) => {
                // The SSRF guard refused the host before any connection: there are no rules
                // to honour. Every page of the host goes on to the same guard, which refuses
                // and counts each one (the host's queue must not wait for rules forever).
                return TaskResult::Robots {
                    host,
                    rules: RobotsRules::AllowAll,
                    item,
                };
            }
            Err(_) => None,
        };
        let rules = RobotsRules::from_fetch(
            &agent,
            outcome.as_ref().map(|f| (f.status, f.body.as_slice())),
        );
        return TaskResult::Robots { host, rules, item };
    };
    if !robots.allowed(item.url.as_str()) {
        return TaskResult::Page {
            host,
            item,
            outcome: Outcome::Disallowed,
            error: None,
        };
    }
    match fetcher.get(&item.url).await {
        Err(e) => {
            let verb = if matches!(e, FetchError::Blocked(_)) {
                "refused "
            } else {
                ""
            };
            let err = (e.kind().to_string(), format!("{verb}{}: {e}", item.url));
            if matches!(e, FetchError::Blocked(_)) {
                TaskResult::Page {
                    host,
                    item,
                    outcome: Outcome::Failed { http_code: 0 },
                    error: Some(err),
                }
            } else {
                TaskResult::Retry {
                    host,
                    item,
                    after: None,
                    error: err,
                }
            }
        }
        Ok(f) => classify(host, item, f),
    }
}

fn classify(host: String, item: Item, f: Fetched) -> TaskResult {
    let status = f.status;
    let meta = PageMeta {
        http_code: status,
        ip: f.ip.clone(),
        page_size: f.body.len() as u64,
        ..Default::default()
    };
    match status {
        200..=299 => {
            let ct = f.header("content-type");
            if !is_html(ct) {
                return TaskResult::Page {
                    host,
                    item,
                    outcome: Outcome::Fetched {
                        meta,
                        links: Vec::new(),
                    },
                    error: None,
                };
            }
            let url = item.url.to_string();
            let ex = extract(&PageInput {
                url: &url,
                content_type: ct,
                content_language: f.header("content-language"),
                x_robots_tag: f.header("x-robots-tag"),
                link_header: f.header("link"),
                body: &f.body,
            });
            let meta = PageMeta {
                title: ex.page.title,
                language: ex.page.language,
                encoding: ex.page.encoding,
                links_internal: ex.page.links_internal,
                links_external: ex.page.links_external,
                ..meta
            };
            TaskResult::Page {
                host,
                item,
                outcome: Outcome::Fetched {
                    meta,
                    links: ex.links,
                },
                error: None,
            }
        }
        300..=399 => match f
            .header("location")
            .and_then(|l| normalize::resolve(&item.url, l))
        {
            Some(to) => {
                let link = Link {
                    url_to: to,
                    link_type: LinkType::Redirect,
                    anchor: String::new(),
                    alt: String::new(),
                    text_pre: String::new(),
                    text_post: String::new(),
                    nofollow: false,
                    redirect: status,
                };
                TaskResult::Page {
                    host,
                    item,
                    outcome: Outcome::Redirected { meta, link },
                    error: None,
                }
            }
            None => TaskResult::Page {
                host,
                item,
                outcome: Outcome::Failed { http_code: status },
                error: Some((
                    "bad_redirect".into(),
                    format!("{status} without a usable Location"),
                )),
            },
        },
        404 | 410 => TaskResult::Page {
            host,
            item,
            outcome: Outcome::Gone { http_code: status },
            error: None,
        },
        429 | 500..=599 => {
            let after = header_duration(&f);
            TaskResult::Retry {
                host,
                item,
                after,
                error: (status.to_string(), format!("HTTP {status}")),
            }
        }
        _ => TaskResult::Page {
            host,
            item,
            outcome: Outcome::Failed { http_code: status },
            error: Some((status.to_string(), format!("HTTP {status}"))),
        },
    }
}
