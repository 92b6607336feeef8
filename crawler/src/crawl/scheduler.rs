//! Which fetch starts next: per-host queues, politeness (rate limit, `Crawl-delay`, one robots
//! fetch before a host's pages), retry back-off and the per-host page cap. Pure: no I/O, and
//! time comes from an injected governor [`Clock`], so the rules are tested with a fake clock
//! and no sleeps.

use crate::robots::RobotsRules;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Most URLs held in memory by the scheduler; the rest wait in the store's frontier and are
/// paged in as the queue drains, so memory stays bounded on big crawls.
pub const MAX_RESIDENT: usize = 100_000;

/// A URL waiting to be fetched, with what the crawl knows about how it was reached.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub url: Url,
    pub depth: u16,
    pub redirects: u8,
    pub attempts: u8,
    /// Earliest start (scheduler time) after a failed attempt.
    not_before: Option<Nanos>,
    /// Hashes of the URLs earlier in this redirect chain (loop detection; not persisted, so a
    /// resumed run may follow a loop once more before the chain cap ends it).
    pub chain: Vec<u64>,
    /// A second fetch of a page whose first visit in the run looked like a false alarm: this
    /// one is applied as it comes.
    pub recheck: bool,
    /// 0 for a page; n for a sitemap at nesting level n (1 from robots.txt or /sitemap.xml).
    /// A sitemap fetch obeys robots.txt and the host's rate like a page, but is no visit.
    pub sitemap: u8,
    /// A sitemap looked for at `/sitemap.xml` (robots.txt named none): silent when missing or
    /// not a sitemap, since many hosts answer that URL with a page or a redirect home.
    pub sitemap_guess: bool,
}

impl Item {
    /// A URL to fetch now, on its first attempt.
    pub fn new(url: Url, depth: u16, redirects: u8, chain: Vec<u64>) -> Item {
        Item {
            url,
            depth,
            redirects,
            attempts: 0,
            not_before: None,
            chain,
            recheck: false,
            sitemap: 0,
            sitemap_guess: false,
        }
    }

    /// A sitemap to read, at nesting `level` (1..=3).
    pub fn sitemap(url: Url, level: u8) -> Item {
        Item {
            sitemap: level,
            ..Item::new(url, 1, 0, Vec::new())
        }
    }
}

/// What [`Scheduler::next`] decided.
pub(crate) enum Next<C: Clock = DefaultClock> {
    /// Fetch this item of this host now; `None` robots means "fetch robots.txt first". The
    /// host's rate limiter comes along for requests made on the page's behalf (rendering).
    Launch(
        String,
        Item,
        Option<Arc<RobotsRules>>,
        Option<Arc<Limiter<C>>>,
    ),
    /// The host reached its page cap: drop this URL from the frontier.
    Skip(Url),
    /// Nothing may start now; ask again after the duration (a rate limit or back-off ends),
    /// or when a fetch finishes (`None`).
    Wait(Option<Duration>),
}

pub(crate) type Limiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

struct HostQueue<C: Clock> {
    queue: VecDeque<Item>,
    in_flight: usize,
    limiter: Option<Arc<Limiter<C>>>,
    robots: Option<Arc<RobotsRules>>,
    robots_loading: bool,
    fetched: u64,
    in_ready: bool,
}

/// The hash the crawl uses to remember URLs (seen, resident) without keeping them.
pub(crate) fn url_hash(s: &str) -> u64 {
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(s)
}

/// `host[:port]` of a URL: the unit of politeness.
pub(crate) fn authority(u: &Url) -> String {
    match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or("")),
        None => u.host_str().unwrap_or("").to_string(),
    }
}

/// Per-host queues in round-robin order. Hosts with work and room are on `ready`.
pub(crate) struct Scheduler<C: Clock = DefaultClock> {
    /// URLs queued in memory or in flight (by hash).
    pub resident: HashSet<u64>,
    /// Some frontier entries of this run are only in the store.
    pub overflow: bool,
    /// Last frontier key paged in.
    pub cursor: Option<String>,
    /// Cap on URLs held in memory.
    pub max_resident: usize,
    /// URLs queued in memory (not in flight).
    pub queued: u64,
    /// Fetches in flight at once, over all hosts.
    pub concurrency: usize,
    hosts: HashMap<String, HostQueue<C>>,
    ready: VecDeque<String>,
    /// Interval between requests to one host (`--rate`); `None` = unlimited.
    period: Option<Duration>,
    clock: C,
    start: C::Instant,
}

impl Scheduler<DefaultClock> {
    /// A scheduler on the real clock.
    pub fn new(period: Option<Duration>, concurrency: usize) -> Scheduler {
        Scheduler::with_clock(period, concurrency, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Scheduler<C> {
    /// A scheduler on `clock`.
    pub fn with_clock(period: Option<Duration>, concurrency: usize, clock: C) -> Scheduler<C> {
        let start = clock.now();
        Scheduler {
            resident: HashSet::new(),
            overflow: false,
            cursor: None,
            max_resident: MAX_RESIDENT,
            queued: 0,
            concurrency: concurrency.max(1),
            hosts: HashMap::new(),
            ready: VecDeque::new(),
            period,
            clock,
            start,
        }
    }

    /// Scheduler time: nanoseconds since the scheduler was made.
    fn now(&self) -> Nanos {
        self.clock.now().duration_since(self.start)
    }

    fn limiter(&self, period: Duration) -> Option<Arc<Limiter<C>>> {
        Quota::with_period(period)
            .map(|q| Arc::new(RateLimiter::direct_with_clock(q, self.clock.clone())))
    }

    fn host_mut(&mut self, host: &str) -> &mut HostQueue<C> {
        if !self.hosts.contains_key(host) {
            let limiter = self.period.and_then(|p| self.limiter(p));
            self.hosts.insert(
                host.to_string(),
                HostQueue {
                    queue: VecDeque::new(),
                    in_flight: 0,
                    limiter,
                    robots: None,
                    robots_loading: false,
                    fetched: 0,
                    in_ready: false,
                },
            );
        }
        self.hosts.get_mut(host).expect("inserted above")
    }

    fn mark_ready(&mut self, host: &str) {
        let hq = self.host_mut(host);
        if !hq.in_ready {
            hq.in_ready = true;
            self.ready.push_back(host.to_string());
        }
    }

    /// Queue a URL in memory if there is room; otherwise it waits in the store's frontier
    /// (`overflow`).
    pub fn admit(&mut self, item: Item) {
        if self.queued as usize >= self.max_resident {
            self.overflow = true;
            return;
        }
        self.resident.insert(url_hash(item.url.as_str()));
        self.push(item);
    }

    /// Queue `item` to start no earlier than `after` from now (a recheck), whatever the room.
    pub fn admit_after(&mut self, mut item: Item, after: Duration) {
        item.not_before = Some(self.now() + Nanos::from(after));
        self.resident.insert(url_hash(item.url.as_str()));
        self.push(item);
    }

    fn push(&mut self, item: Item) {
        let host = authority(&item.url);
        self.host_mut(&host).queue.push_back(item);
        self.queued += 1;
        self.mark_ready(&host);
    }

    /// Queue `item` at the front of its host's queue (a sitemap: read before the pages it
    /// may reorder).
    pub fn admit_first(&mut self, item: Item) {
        let host = authority(&item.url);
        self.resident.insert(url_hash(item.url.as_str()));
        self.host_mut(&host).queue.push_front(item);
        self.queued += 1;
        self.mark_ready(&host);
    }

    /// Move the queued pages of `host` among `urls` (most recently modified first) to the
    /// front of its queue, in that order, behind nothing but what is already promoted; pages
    /// not queued (fetched, in flight, or waiting in the stored frontier) are left alone.
    /// One pass over the host's queue. Returns how many moved.
    pub fn promote(&mut self, host: &str, urls: &[Url]) -> usize {
        let Some(hq) = self.hosts.get_mut(host) else {
            return 0;
        };
        let rank: std::collections::HashMap<u64, usize> = urls
            .iter()
            .enumerate()
            .rev()
            .map(|(i, u)| (url_hash(u.as_str()), i))
            .collect();
        let mut moved: Vec<(usize, Item)> = Vec::new();
        let mut rest = VecDeque::with_capacity(hq.queue.len());
        for item in hq.queue.drain(..) {
            match rank.get(&url_hash(item.url.as_str())) {
                Some(&r) if item.sitemap == 0 && item.attempts == 0 => moved.push((r, item)),
                _ => rest.push_back(item),
            }
        }
        moved.sort_by_key(|(r, _)| *r);
        let n = moved.len();
        // Sitemaps still to read stay first (they may reorder more).
        let maps = rest.iter().take_while(|i| i.sitemap > 0).count();
        let mut queue: VecDeque<Item> = rest.drain(..maps).collect();
        queue.extend(moved.into_iter().map(|(_, i)| i));
        queue.extend(rest);
        hq.queue = queue;
        n
    }

    /// A fetch of `host` ended (page or failure).
    pub fn done(&mut self, host: &str) {
        let hq = self.host_mut(host);
        hq.in_flight = hq.in_flight.saturating_sub(1);
        hq.fetched += 1;
        if !hq.queue.is_empty() {
            self.mark_ready(host);
        }
    }

    /// A fetch of `host` failed and `item` goes back in its queue, after a back-off of
    /// `backoff · 2^attempts` or the server's `Retry-After` when longer. Hands the item back
    /// (and keeps nothing) when it has used its `retries`.
    pub fn retry(
        &mut self,
        host: &str,
        mut item: Item,
        after: Option<Duration>,
        retries: u8,
        backoff: Duration,
    ) -> Option<Item> {
        let hq = self.host_mut(host);
        hq.in_flight = hq.in_flight.saturating_sub(1);
        if item.attempts >= retries {
            if !hq.queue.is_empty() {
                self.mark_ready(host);
            }
            return Some(item);
        }
        let backoff = backoff.saturating_mul(2u32.saturating_pow(item.attempts as u32));
        let wait = after.map_or(backoff, |a| a.max(backoff));
        item.attempts += 1;
        item.not_before = Some(self.now() + Nanos::from(wait));
        self.push(item);
        None
    }

    /// The robots.txt of `host` arrived: its rules (and `Crawl-delay`, when slower than
    /// `--rate`) apply from now on, and `item`, which waited for them, goes first.
    pub fn robots_loaded(&mut self, host: &str, rules: RobotsRules, item: Item) {
        let period = self.period;
        let delay_limiter = rules
            .crawl_delay()
            .map(Duration::from_secs_f64)
            .filter(|d| !d.is_zero() && period.is_none_or(|p| *d > p))
            .and_then(|d| self.limiter(d));
        let hq = self.host_mut(host);
        hq.robots_loading = false;
        hq.in_flight = hq.in_flight.saturating_sub(1);
        if let Some(l) = delay_limiter {
            // The robots.txt request just made counts against the new limit.
            let _ = l.check();
            hq.limiter = Some(l);
        }
        hq.robots = Some(Arc::new(rules));
        hq.queue.push_front(item);
        self.queued += 1;
        self.mark_ready(host);
    }

    /// The next fetch that may start now. `per_host` is `--max-pages-per-host`.
    pub fn next(&mut self, per_host: Option<u64>) -> Next<C> {
        let per_host_max = if self.period.is_some() {
            1
        } else {
            self.concurrency
        };
        let now = self.now();
        let mut earliest: Option<Nanos> = None;
        let mut wake = |at: Nanos| earliest = Some(earliest.map_or(at, |e| e.min(at)));
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
                        wake(nb);
                    }
                    self.ready.push_back(host);
                    continue;
                }
            }
            if let Some(l) = &hq.limiter {
                if let Err(not_until) = l.check() {
                    wake(now + Nanos::from(not_until.wait_time_from(self.clock.now())));
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
            let limiter = hq.limiter.clone();
            if hq.queue.is_empty() {
                hq.in_ready = false;
            } else {
                self.ready.push_back(host.clone());
            }
            return Next::Launch(host, item, robots, limiter);
        }
        Next::Wait(earliest.map(|e| Duration::from(e.duration_since(now))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    const SEC: Duration = Duration::from_secs(1);

    fn sched(
        period: Option<Duration>,
        concurrency: usize,
    ) -> (Scheduler<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (
            Scheduler::with_clock(period, concurrency, clock.clone()),
            clock,
        )
    }

    fn item(url: &str) -> Item {
        Item::new(Url::parse(url).expect("valid"), 0, 0, Vec::new())
    }

    /// Launch the next fetch, expecting one; returns (host, path, robots known).
    fn launch<C: Clock + Clone>(s: &mut Scheduler<C>) -> (String, String, bool) {
        match s.next(None) {
            Next::Launch(host, item, robots, _) => {
                (host, item.url.path().to_string(), robots.is_some())
            }
            Next::Skip(u) => panic!("skipped {u}"),
            Next::Wait(w) => panic!("waits {w:?}"),
        }
    }

    #[test]
    fn changed_pages_move_to_the_front_newest_first_and_sitemaps_stay_ahead() {
        let (mut s, _) = sched(None, 1);
        s.robots_loaded(
            "a.test",
            RobotsRules::from_fetch("linkdiff", Some((404, b""))),
            item("http://a.test/"),
        );
        for p in ["/1", "/2", "/3", "/4"] {
            s.admit(item(&format!("http://a.test{p}")));
        }
        s.admit_first(Item::sitemap(Url::parse("http://a.test/s.xml").unwrap(), 1));
        let urls: Vec<Url> = ["/4", "/9", "/2"]
            .iter()
            .map(|p| Url::parse(&format!("http://a.test{p}")).unwrap())
            .collect();
        assert_eq!(s.promote("a.test", &urls), 2, "/9 is not queued");
        assert_eq!(s.promote("b.test", &urls), 0);
        let mut order = Vec::new();
        for _ in 0..6 {
            let (_, path, _) = launch(&mut s);
            order.push(path);
            s.done("a.test");
        }
        assert_eq!(order, ["/s.xml", "/4", "/2", "/", "/1", "/3"]);
    }

    fn waits<C: Clock + Clone>(s: &mut Scheduler<C>) -> Option<Duration> {
        match s.next(None) {
            Next::Wait(w) => w,
            Next::Launch(_, i, _, _) => panic!("launched {}", i.url),
            Next::Skip(u) => panic!("skipped {u}"),
        }
    }

    /// Serve robots.txt for the host whose first item was just launched.
    fn robots<C: Clock + Clone>(s: &mut Scheduler<C>, host: &str, path: &str, txt: &str) {
        let rules = RobotsRules::from_fetch("linkdiff", Some((200, txt.as_bytes())));
        s.robots_loaded(host, rules, item(&format!("http://{host}{path}")));
    }

    #[test]
    fn robots_first_then_one_request_per_period_per_host() {
        let (mut s, clock) = sched(Some(SEC), 8);
        s.admit(item("http://a.test/1"));
        s.admit(item("http://a.test/2"));
        // The first launch fetches robots.txt; the host's pages wait for it.
        assert_eq!(launch(&mut s), ("a.test".into(), "/1".into(), false));
        assert_eq!(waits(&mut s), None);
        robots(&mut s, "a.test", "/1", "User-agent: *\nAllow: /\n");
        // robots.txt used this second's request.
        assert_eq!(waits(&mut s), Some(SEC));
        clock.advance(SEC);
        assert_eq!(launch(&mut s), ("a.test".into(), "/1".into(), true));
        // One fetch in flight per host when rate-limited.
        assert_eq!(waits(&mut s), None);
        s.done("a.test");
        assert_eq!(waits(&mut s), Some(SEC));
        clock.advance(SEC / 2);
        assert_eq!(waits(&mut s), Some(SEC / 2));
        clock.advance(SEC / 2);
        assert_eq!(launch(&mut s).1, "/2");
        assert_eq!(s.queued, 0);
    }

    #[test]
    fn crawl_delay_slows_a_host_beyond_the_rate() {
        let (mut s, clock) = sched(Some(SEC), 8);
        s.admit(item("http://a.test/1"));
        s.admit(item("http://a.test/2"));
        launch(&mut s);
        robots(&mut s, "a.test", "/1", "User-agent: *\nCrawl-delay: 5\n");
        assert_eq!(waits(&mut s), Some(5 * SEC));
        clock.advance(5 * SEC);
        assert_eq!(launch(&mut s).1, "/1");
        s.done("a.test");
        assert_eq!(waits(&mut s), Some(5 * SEC));
    }

    #[test]
    fn hosts_take_turns_and_unlimited_hosts_fill_the_concurrency() {
        let (mut s, _clock) = sched(None, 3);
        for u in [
            "http://a.test/1",
            "http://a.test/2",
            "http://a.test/3",
            "http://b.test/1",
        ] {
            s.admit(item(u));
        }
        assert_eq!(launch(&mut s).0, "a.test");
        assert_eq!(launch(&mut s).0, "b.test");
        robots(&mut s, "a.test", "/1", "");
        robots(&mut s, "b.test", "/1", "");
        let order: Vec<_> = (0..4)
            .map(|_| launch(&mut s))
            .map(|(h, p, _)| format!("{h}{p}"))
            .collect();
        assert_eq!(order, ["a.test/1", "b.test/1", "a.test/2", "a.test/3"]);
        assert_eq!(waits(&mut s), None);
    }

    #[test]
    fn retries_back_off_doubling_and_retry_after_wins_when_longer() {
        let (mut s, clock) = sched(None, 4);
        s.admit(item("http://a.test/1"));
        launch(&mut s);
        robots(&mut s, "a.test", "/1", "");
        let mut attempt = match s.next(None) {
            Next::Launch(_, i, _, _) => i,
            _ => panic!("launches"),
        };
        for expected in [SEC, 2 * SEC] {
            assert!(s.retry("a.test", attempt, None, 3, SEC).is_none());
            assert_eq!(waits(&mut s), Some(expected));
            clock.advance(expected);
            attempt = match s.next(None) {
                Next::Launch(_, i, _, _) => i,
                _ => panic!("launches after the back-off"),
            };
        }
        assert!(s.retry("a.test", attempt, Some(30 * SEC), 3, SEC).is_none());
        assert_eq!(waits(&mut s), Some(30 * SEC));
        clock.advance(30 * SEC);
        let last = match s.next(None) {
            Next::Launch(_, i, _, _) => i,
            _ => panic!("launches"),
        };
        assert_eq!(last.attempts, 3);
        let given_up = s.retry("a.test", last, None, 3, SEC).expect("retries used");
        assert_eq!(given_up.url.path(), "/1");
        assert_eq!(s.queued, 0);
    }

    #[test]
    fn an_item_in_back_off_lets_the_rest_of_its_host_go_first() {
        let (mut s, _clock) = sched(None, 4);
        s.admit(item("http://a.test/1"));
        s.admit(item("http://a.test/2"));
        launch(&mut s);
        robots(&mut s, "a.test", "/1", "");
        let first = match s.next(None) {
            Next::Launch(_, i, _, _) => i,
            _ => panic!("launches"),
        };
        assert!(s.retry("a.test", first, None, 1, 10 * SEC).is_none());
        assert_eq!(launch(&mut s).1, "/2");
        assert_eq!(waits(&mut s), Some(10 * SEC));
    }

    #[test]
    fn the_per_host_cap_skips_the_rest() {
        let (mut s, _clock) = sched(None, 4);
        s.admit(item("http://a.test/1"));
        s.admit(item("http://a.test/2"));
        assert!(matches!(s.next(Some(1)), Next::Launch(..)));
        robots(&mut s, "a.test", "/1", "");
        assert!(matches!(s.next(Some(1)), Next::Launch(..)));
        s.done("a.test");
        match s.next(Some(1)) {
            Next::Skip(u) => assert_eq!(u.path(), "/2"),
            _ => panic!("the second page is over the cap"),
        }
    }

    #[test]
    fn urls_beyond_the_resident_cap_overflow_to_the_store() {
        let (mut s, _clock) = sched(None, 4);
        s.max_resident = 2;
        for i in 0..3 {
            s.admit(item(&format!("http://a.test/{i}")));
        }
        assert_eq!(s.queued, 2);
        assert!(s.overflow);
        assert_eq!(s.resident.len(), 2);
    }
}
