//! One crawl run. The loop here only orchestrates: [`scheduler`] decides which fetch may start
//! (politeness, back-off), [`fetch_task`] fetches and extracts on the runtime's threads,
//! [`run_state`] turns results into visits and frontier writes, and [`writer`] commits them
//! on a thread of its own.

mod fetch_task;
mod run_state;
mod scheduler;
mod writer;

pub use fetch_task::{outcome_of, FetchFailure};
pub(crate) use scheduler::authority as authority_of;
pub use scheduler::MAX_RESIDENT;

use crate::fetch::Fetcher;
use crate::CrawlError;
use fetch_task::{task, RenderCtx, Revalidate, TaskResult};
use linkdiff_model::{Outcome, Visit};
use linkdiff_store::{RunRecord, Store, WriteBatch};
use run_state::{InScope, RunState};
use scheduler::{url_hash, Item, Next, Scheduler};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;
use url::Url;
use writer::Writer;

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
    /// Pages fetched in every run whatever the scope (`linkdiff watch`): they do not widen the
    /// scope, so their links are followed only where the seeds' scope allows.
    pub watched: Vec<Url>,
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
    /// A visit that would report lost links because its page failed, or because links
    /// vanished from an otherwise unchanged page, is held and the page fetched once more
    /// after this delay in the same run; `None` applies every visit as fetched.
    pub recheck_delay: Option<Duration>,
    /// This worker's share of the domains (`--worker I/N`): URLs on other workers' domains are
    /// out of scope (seeds included). `None`: every domain.
    pub partition: Option<linkdiff_model::Partition>,
    /// Conditional recrawls: a page fetched before is asked for with `If-None-Match` /
    /// `If-Modified-Since`, and fetched whole at least every this many visits (servers with
    /// broken validators exist). 0 turns revalidation off (every visit a full fetch, no
    /// body-hash check).
    pub revalidate_every: u32,
    /// Read each in-scope host's sitemaps (robots.txt `Sitemap:` lines, else `/sitemap.xml`)
    /// and queue the pages they list.
    pub sitemaps: bool,
    /// Most pages taken from one host's sitemaps in a run.
    pub max_sitemap_urls: u64,
    /// Which pages are rendered (`--render`); anything but `Never` needs a renderer
    /// ([`Crawler::with_renderer`]), without one pages are not rendered.
    pub render: crate::render::RenderMode,
    /// Pages rendered whatever `render` says (watched links placed by scripts, `watch add
    /// --render`); they too need a renderer.
    pub render_pages: Vec<Url>,
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
    /// Visits of this process that found the page unchanged: `[304, same content]` (not
    /// stored with the run: a resumed run counts from its restart).
    pub unchanged: [u64; 2],
    /// Pages first found in a sitemap in this process's part of the run.
    pub sitemap_pages: u64,
    /// Renderings so far in this process's part of the run (`--render`).
    pub render: crate::render::RenderCounts,
    /// Fetches in flight.
    pub in_flight: usize,
    /// Time since the run (or its resumption) started.
    pub elapsed: Duration,
    /// Error messages worth showing the user (refused addresses, first few errors), drained
    /// by whoever displays progress.
    pub notes: Vec<String>,
}

/// Receives each visit with the frontier writes it caused; must commit both atomically. As
/// ripgrep's `Sink`, it names its own error type, which ends the crawl as
/// [`CrawlError::Sink`] with the error kept as its source.
pub trait VisitSink: Send {
    /// Why a visit could not be committed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Commit one visit.
    fn apply(&mut self, visit: &Visit, frontier: WriteBatch) -> Result<(), Self::Error>;

    /// Commit one visit unless it looks like a false alarm (lost links from a failing page, or
    /// from a page that otherwise looks unchanged); then commit only `frontier` and `requeue`
    /// (the page back in the frontier, so a run killed before the recheck fetches it when
    /// resumed) in one batch and return false, and the crawler fetches the page once more
    /// later in the run. By default every visit is committed.
    fn apply_unless_suspicious(
        &mut self,
        visit: &Visit,
        frontier: WriteBatch,
        requeue: WriteBatch,
    ) -> Result<bool, Self::Error> {
        let _ = requeue;
        self.apply(visit, frontier).map(|()| true)
    }
}

/// A crawler bound to a store.
pub struct Crawler {
    store: Store,
    cfg: CrawlConfig,
    fetcher: Fetcher,
    renderer: Option<std::sync::Arc<dyn crate::render::Renderer>>,
}

/// Longest redirect chain followed.
pub const MAX_REDIRECTS: u8 = 10;

fn fmt_time(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The writer stopped: its error says why.
async fn writer_failed<S: VisitSink + 'static>(writer: Writer<S>) -> CrawlError {
    match writer.finish().await {
        Err(e) => e,
        Ok(_) => CrawlError::WriterStopped("the writer stopped"),
    }
}

impl Crawler {
    /// A crawler over `store` with `cfg`.
    pub fn new(store: Store, cfg: CrawlConfig) -> Result<Crawler, CrawlError> {
        let fetcher = Fetcher::new(cfg.fetch.clone())?;
        Ok(Crawler {
            store,
            cfg,
            fetcher,
            renderer: None,
        })
    }

    /// Render pages with `renderer` as `--render` says (see [`crate::render`]).
    pub fn with_renderer(
        mut self,
        renderer: std::sync::Arc<dyn crate::render::Renderer>,
    ) -> Crawler {
        self.renderer = Some(renderer);
        self
    }

    fn render_counts(
        &self,
        shared: &Option<std::sync::Arc<crate::render::RenderShared>>,
    ) -> crate::render::RenderCounts {
        match (shared, &self.renderer) {
            (Some(s), Some(r)) => crate::render::RenderCounts {
                browser_peak_rss: r.peak_rss(),
                escaped: r.escaped(),
                ..s.stats.counts()
            },
            _ => Default::default(),
        }
    }

    fn period(&self) -> Option<Duration> {
        (self.cfg.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / self.cfg.rate))
    }

    /// Start a new run (or resume a killed one), returning the run record.
    fn begin(&self) -> Result<(RunRecord, bool), CrawlError> {
        let last = self.store.last_run()?;
        // An interrupted crawl run is resumed; an interrupted import is not a crawl (it
        // resumes from its own checkpoints), so a crawl after it starts a new run.
        if let Some(r) = last
            .as_ref()
            .filter(|r| r.finished.is_none() && !r.is_import())
        {
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

    /// Queue the run's starting URLs: for a new run the seeds and every indexed page in scope
    /// (written to the frontier); for a resumed one only what was already seen is
    /// remembered, and the frontier is paged in by [`Crawler::refill`].
    fn start(
        &self,
        state: &mut RunState,
        sched: &mut Scheduler,
        seeds: &[Url],
        scope: &InScope,
        resumed: bool,
    ) -> Result<(), CrawlError> {
        let run = state.run.id;
        if resumed {
            for r in self.store.frontier() {
                let (url, e) = r?;
                if e.run == run {
                    state.see(&url);
                }
            }
            sched.overflow = true;
            for r in self.store.page_heads() {
                let (url, _, last_run) = r?;
                if last_run == run {
                    state.see(&url);
                }
            }
            return Ok(());
        }
        let mut w = WriteBatch::new();
        let mine = |u: &&Url| {
            self.cfg
                .partition
                .is_none_or(|p| p.owns(u.host_str().unwrap_or("")))
        };
        for u in seeds.iter().chain(&self.cfg.watched).filter(mine) {
            if let Some(item) = state.discover(u.clone(), 0, 0, Vec::new(), &mut w) {
                sched.admit(item);
            }
        }
        for r in self.store.page_heads() {
            let (url, depth, _) = r?;
            let Ok(u) = Url::parse(&url) else { continue };
            if scope.allows(&u, None) {
                if let Some(item) = state.discover(u, depth, 0, Vec::new(), &mut w) {
                    sched.admit(item);
                }
            }
            if w.len() >= 10_000 {
                self.store.apply(std::mem::take(&mut w))?;
            }
        }
        if sched.queued == 0 && !sched.overflow {
            return Err(CrawlError::NoSeeds);
        }
        w.put_run(&state.run);
        self.store.apply(w)?;
        Ok(())
    }

    /// Perform one run: every known in-scope page and every seed is fetched once, new pages
    /// found by links are added. Visits go to `sink` on a writer thread; the sink comes back
    /// with the finished run record. Stops early (and leaves the run resumable) when `stop`
    /// turns true.
    pub async fn run<S: VisitSink + 'static>(
        &self,
        sink: S,
        mut stop: watch::Receiver<bool>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(RunRecord, S), CrawlError> {
        let (run, resumed) = self.begin()?;
        let mut seeds: Vec<Url> = self.cfg.seeds.clone();
        if resumed {
            seeds.extend(run.config.lines().filter_map(|l| Url::parse(l).ok()));
        }
        let scope = InScope::new(self.cfg.scope, &seeds, self.cfg.max_depth)
            .partitioned(self.cfg.partition);
        let mut sched = Scheduler::new(self.period(), self.cfg.concurrency);
        sched.max_resident = self.cfg.max_resident.max(1);
        let mut state = RunState::new(run);
        state.changed_since = self
            .store
            .runs()?
            .iter()
            .rev()
            .find(|r| r.finished.is_some() && r.id != state.run.id)
            .map(|r| r.as_of);
        self.start(&mut state, &mut sched, &seeds, &scope, resumed)?;

        let (held_tx, mut held_rx) = tokio::sync::mpsc::unbounded_channel::<writer::Held>();
        let writer = Writer::start(sink, self.store.clone(), state.run.new_pages, held_tx)?;
        let recheck = self.cfg.recheck_delay;
        let started = Instant::now();
        let mut inflight: JoinSet<TaskResult> = JoinSet::new();
        let mut stopping = *stop.borrow();
        let agent = self.cfg.fetch.user_agent.clone();
        let render_shared = ((self.cfg.render != crate::render::RenderMode::Never
            || !self.cfg.render_pages.is_empty())
            && self.renderer.is_some())
        .then(|| {
            let mut shared = crate::render::RenderShared::new(
                self.fetcher.clone(),
                agent.clone(),
                self.period(),
            );
            shared.always_render(&self.cfg.render_pages);
            std::sync::Arc::new(shared)
        });
        if let Some(shared) = &render_shared {
            if let Some(hosts) = self.store.meta(crate::render::RENDER_HOSTS_META)? {
                shared.remember(&hosts);
            }
        }
        let mut last_progress = Instant::now() - Duration::from_secs(10);
        loop {
            if sched.overflow && sched.queued < (sched.max_resident / 4) as u64 {
                // The frontier is read back: everything queued for it must be written.
                if writer.flush().await.is_err() {
                    return Err(writer_failed(writer).await);
                }
                self.refill(&mut sched, state.run.id)?;
            }
            let mut wait = None;
            while !stopping && inflight.len() < sched.concurrency {
                let budget_left = self
                    .cfg
                    .max_pages
                    .is_none_or(|m| state.run.fetched + (inflight.len() as u64) < m);
                if !budget_left {
                    break;
                }
                match sched.next(self.cfg.max_pages_per_host) {
                    Next::Launch(host, item, robots, limiter) => {
                        let fetcher = self.fetcher.clone();
                        let agent = agent.clone();
                        let revalidate = (self.cfg.revalidate_every > 0).then(|| Revalidate {
                            store: self.store.clone(),
                            every: self.cfg.revalidate_every,
                        });
                        let render = match (&render_shared, &self.renderer) {
                            (Some(shared), Some(renderer)) => Some(RenderCtx {
                                renderer: renderer.clone(),
                                mode: self.cfg.render,
                                shared: shared.clone(),
                                limiter,
                            }),
                            _ => None,
                        };
                        inflight
                            .spawn(task(fetcher, agent, host, item, robots, revalidate, render));
                    }
                    Next::Skip(url) => {
                        sched.resident.remove(&url_hash(url.as_str()));
                        let mut w = WriteBatch::new();
                        w.remove_frontier(url.as_str());
                        if writer.batch(w).await.is_err() {
                            return Err(writer_failed(writer).await);
                        }
                    }
                    Next::Wait(after) => {
                        wait = after;
                        break;
                    }
                }
            }
            let budget_done = self.cfg.max_pages.is_some_and(|m| state.run.fetched >= m);
            if inflight.is_empty()
                && (stopping || (sched.queued == 0 && !sched.overflow) || budget_done)
            {
                // Held visits come back from the writer: their pages are fetched once more.
                if !stopping && recheck.is_some() {
                    if writer.flush().await.is_err() {
                        return Err(writer_failed(writer).await);
                    }
                    let mut again = false;
                    while let Ok(h) = held_rx.try_recv() {
                        again |= self.hold(h, &mut sched);
                    }
                    if again {
                        continue;
                    }
                }
                break;
            }
            let now = Instant::now();
            if now.duration_since(last_progress) >= Duration::from_millis(200)
                || !state.notes.is_empty()
            {
                last_progress = now;
                progress(&Progress {
                    run: state.run.id,
                    fetched: state.run.fetched,
                    queued: sched.queued,
                    errors: state.run.errors,
                    in_flight: inflight.len(),
                    elapsed: started.elapsed(),
                    notes: std::mem::take(&mut state.notes),
                    unchanged: [state.unchanged_304, state.unchanged_same],
                    sitemap_pages: state.sitemap_pages,
                    render: self.render_counts(&render_shared),
                });
            }
            let sleep_for = wait
                .unwrap_or(Duration::from_millis(50))
                .max(Duration::from_millis(1));
            tokio::select! {
                Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                    let res = joined?;
                    if let Some((visit, frontier, may_hold)) = self.handle(res, &mut state, &mut sched, &scope)? {
                        let may_hold = may_hold && recheck.is_some();
                        if writer.visit(visit, frontier, &state.run, may_hold).await.is_err() {
                            return Err(writer_failed(writer).await);
                        }
                    }
                    // Pages a sitemap listed go to the stored frontier like discovered ones.
                    if !state.sitemap_frontier.is_empty() {
                        let w = std::mem::take(&mut state.sitemap_frontier);
                        if writer.batch(w).await.is_err() {
                            return Err(writer_failed(writer).await);
                        }
                    }
                }
                Some(h) = held_rx.recv() => {
                    self.hold(h, &mut sched);
                }
                _ = tokio::time::sleep(sleep_for) => {}
                _ = stop.changed() => { stopping = *stop.borrow(); }
            }
        }
        let (sink, new_pages) = writer.finish().await?;
        let mut run = state.run.clone();
        run.new_pages = new_pages;
        run.error_kinds = state.error_kinds();
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
        if let Some(shared) = &render_shared {
            w.put_meta(crate::render::RENDER_HOSTS_META, &shared.remembered());
        }
        self.store.apply(w)?;
        self.store.flush()?;
        progress(&Progress {
            run: run.id,
            fetched: run.fetched,
            queued: sched.queued,
            errors: run.errors,
            in_flight: 0,
            elapsed: started.elapsed(),
            notes: std::mem::take(&mut state.notes),
            unchanged: [state.unchanged_304, state.unchanged_same],
            sitemap_pages: state.sitemap_pages,
            render: self.render_counts(&render_shared),
        });
        Ok((run, sink))
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

    /// A visit the writer held as a likely false alarm: its page is fetched once more after
    /// the recheck delay (that visit is applied as it comes). False when rechecks are off.
    fn hold(&self, (url, depth): writer::Held, sched: &mut Scheduler) -> bool {
        let (Some(delay), Ok(u)) = (self.cfg.recheck_delay, Url::parse(&url)) else {
            return false;
        };
        let mut item = Item::new(u, depth, 0, Vec::new());
        item.recheck = true;
        sched.admit_after(item, delay);
        true
    }

    /// The sitemaps to read for `host` once its robots.txt is in: its `Sitemap:` lines on the
    /// host itself, else `/sitemap.xml`; none when sitemaps are off, the host is out of scope,
    /// or it was done this run.
    fn sitemaps_of(
        &self,
        host: &str,
        rules: &crate::robots::RobotsRules,
        page: &Url,
        state: &mut RunState,
        scope: &InScope,
    ) -> Vec<Item> {
        let mut root = page.clone();
        root.set_path("/");
        root.set_query(None);
        root.set_fragment(None);
        if !self.cfg.sitemaps || !scope.allows(&root, Some(1)) || !state.sitemap_host(host) {
            return Vec::new();
        }
        let mut listed: Vec<Url> = Vec::new();
        for s in rules.sitemaps() {
            match root.join(s.trim()) {
                Ok(u) if u.origin() == root.origin() => listed.push(u),
                _ => state.sitemap_problem("sitemap_other_host"),
            }
        }
        let guess = rules.sitemaps().is_empty();
        if guess {
            if let Ok(u) = root.join("/sitemap.xml") {
                listed.push(u);
            }
        }
        listed
            .into_iter()
            .filter(|u| state.see_sitemap(u))
            .map(|u| {
                let mut item = Item::sitemap(u, 1);
                item.sitemap_guess = guess;
                item
            })
            .collect()
    }

    /// A finished task: robots rules to install, a retry to schedule, or a visit to write
    /// (returned, with its frontier writes and whether it may be held for a recheck; the items
    /// it found are queued here).
    #[allow(clippy::type_complexity)]
    fn handle(
        &self,
        res: TaskResult,
        state: &mut RunState,
        sched: &mut Scheduler,
        scope: &InScope,
    ) -> Result<Option<(Visit, WriteBatch, bool)>, CrawlError> {
        let (item, outcome, failure, validators, known_links) = match res {
            TaskResult::Robots { host, rules, item } => {
                let maps = self.sitemaps_of(&host, &rules, &item.url, state, scope);
                sched.robots_loaded(&host, rules, item);
                // Sitemaps are read before the host's pages: their `<lastmod>` may reorder
                // them (pages changed since the last run first).
                for m in maps {
                    sched.admit_first(m);
                }
                return Ok(None);
            }
            TaskResult::Sitemap {
                host,
                item,
                sitemap,
            } => {
                sched.done(&host);
                sched.resident.remove(&url_hash(item.url.as_str()));
                let (children, pages, changed) =
                    state.sitemap_read(&host, &item, sitemap, scope, self.cfg.max_sitemap_urls);
                for child in children {
                    sched.admit_first(child);
                }
                state.sitemap_promoted += sched.promote(&host, &changed) as u64;
                // Like discovered links: in the stored frontier, queued while there is room.
                for page in pages {
                    sched.admit(page);
                }
                return Ok(None);
            }
            TaskResult::Retry {
                host,
                item,
                after,
                failure,
            } => {
                state.note(&item.url, &failure);
                let (retries, backoff) = (self.cfg.retries, self.cfg.retry_backoff);
                let Some(item) = sched.retry(&host, item, after, retries, backoff) else {
                    return Ok(None);
                };
                let outcome = Outcome::Failed {
                    http_code: failure.http_code(),
                };
                (item, outcome, Some(failure), None, Vec::new())
            }
            TaskResult::Page {
                host,
                item,
                outcome,
                failure,
                validators,
                known_links,
            } => {
                if let Some(f) = &failure {
                    state.note(&item.url, f);
                }
                sched.done(&host);
                (item, outcome, failure, validators, known_links)
            }
        };
        let time = match self.cfg.as_of {
            Some(_) => state.run.as_of,
            None => chrono::Utc::now().timestamp().max(state.run.as_of),
        };
        let url_key = url_hash(item.url.as_str());
        let may_hold = !item.recheck;
        let url = item.url.to_string();
        let mut recorded = state.record(item, outcome, failure, &known_links, scope, time);
        if let Some(v) = validators {
            recorded
                .frontier
                .put_validators(&url, &linkdiff_store::Validators { at: time, ..v });
        }
        sched.resident.remove(&url_key);
        for q in recorded.queue {
            sched.admit(q);
        }
        Ok(Some((recorded.visit, recorded.frontier, may_hold)))
    }
}
