//! The typed store every other crate uses: one API over two engines. SQLite (the default,
//! several processes at once) and the key-value engine (`sled:PATH`, one process; memory for
//! tests).

use crate::clickhouse::client::ChLocation;
use crate::clickhouse::ChStore;
use crate::kv::KvBackend;
use crate::kv_store::KvStore;
use crate::records::{
    DomainRecord, EventRecord, FrontierEntry, LinkRecord, PageRecord, RunRecord, Stats, TokenRecord,
};
use crate::sql::SqlStore;
use crate::write::WriteBatch;
use crate::{Result, StoreError};
use linkdiff_model::LinkId;
use linkdiff_model::Target;
use std::path::Path;
use std::sync::Arc;

/// Which engine a `--db` value names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (the default).
    Sqlite(std::path::PathBuf),
    /// A sled directory (`sled:PATH`).
    Sled(std::path::PathBuf),
    /// A ClickHouse database (`clickhouse://HOST:PORT/DATABASE`).
    ClickHouse(String),
}

impl Location {
    /// Parse a `--db` value: `sled:PATH` or a SQLite file path.
    pub fn parse(spec: &Path) -> Location {
        let s = spec.to_string_lossy();
        if s.starts_with("clickhouse://") {
            return Location::ClickHouse(s.into_owned());
        }
        match s.strip_prefix("sled:") {
            Some(rest) => Location::Sled(rest.into()),
            None => Location::Sqlite(spec.to_owned()),
        }
    }
}

enum Engine {
    Kv(KvStore),
    Sql(SqlStore),
    Ch(Box<ChStore>),
}

/// The linkdiff store. Cheap to clone (shared).
#[derive(Clone)]
pub struct Store {
    engine: Arc<Engine>,
}

type Iter<'a, T> = Box<dyn Iterator<Item = Result<T>> + 'a>;

impl Store {
    /// Open or create the index named by a `--db` value: a SQLite file, or `sled:PATH`.
    pub fn open(spec: &Path) -> Result<Store> {
        Self::open_with(spec, true)
    }

    /// Open the index named by a `--db` value only if it exists: a missing (or empty) SQLite
    /// file, a missing sled directory or a ClickHouse database without linkdiff tables is
    /// [`StoreError::NoIndex`], and nothing is created. For commands that only read an index,
    /// where a fresh empty one would answer "no backlinks" to a typo.
    pub fn open_existing(spec: &Path) -> Result<Store> {
        Self::open_with(spec, false)
    }

    fn open_with(spec: &Path, create: bool) -> Result<Store> {
        let missing = |p: &Path| StoreError::NoIndex {
            location: p.display().to_string(),
            clickhouse: false,
        };
        let engine = match Location::parse(spec) {
            Location::Sqlite(p)
                if !create && p.metadata().is_ok_and(|m| m.is_file() && m.len() == 0) =>
            {
                return Err(missing(&p))
            }
            Location::Sqlite(p) | Location::Sled(p) if !create && !p.exists() => {
                return Err(missing(&p))
            }
            Location::Sqlite(p) => Engine::Sql(SqlStore::open(&p)?),
            Location::Sled(p) => {
                if p.is_file() {
                    return Err(StoreError::NotADatabase {
                        path: p.clone(),
                        detail: format!(
                            "it is a file, not a sled directory; a SQLite index opens with --db {}",
                            p.display()
                        ),
                    });
                }
                Engine::Kv(KvStore::open(&p)?)
            }
            Location::ClickHouse(spec) => {
                Engine::Ch(Box::new(ChStore::open_with(&ch_location(&spec)?, create)?))
            }
        };
        Ok(Store {
            engine: Arc::new(engine),
        })
    }

    /// Open a ClickHouse index as a crawl worker: pages, link sets, frontier and runs in the
    /// SQLite state file `state`, query rows sent to ClickHouse (see [`crate::clickhouse`]).
    /// `worker` names its runs (`I/N`, or empty).
    pub fn open_worker(spec: &str, state: &Path, worker: &str) -> Result<Store> {
        let ch = ChStore::open_worker(&ch_location(spec)?, state, worker)?;
        Ok(Store {
            engine: Arc::new(Engine::Ch(Box::new(ch))),
        })
    }

    /// The ClickHouse engine, when this store is one.
    pub fn clickhouse(&self) -> Option<&ChStore> {
        match &*self.engine {
            Engine::Ch(s) => Some(s),
            _ => None,
        }
    }

    /// A fresh in-memory store (key-value engine).
    pub fn memory() -> Store {
        Store {
            engine: Arc::new(Engine::Kv(KvStore::memory())),
        }
    }

    /// The SQLite engine, when this store is one (queries compile to SQL for it).
    pub fn sql(&self) -> Option<&SqlStore> {
        match &*self.engine {
            Engine::Sql(s) => Some(s),
            Engine::Kv(_) | Engine::Ch(_) => None,
        }
    }

    /// The key-value backend, when this store is one (benchmarks read raw sizes from it).
    pub fn kv_backend(&self) -> Option<&Arc<dyn KvBackend>> {
        match &*self.engine {
            Engine::Kv(s) => Some(s.backend()),
            Engine::Sql(_) | Engine::Ch(_) => None,
        }
    }

    /// `"sqlite"`, `"clickhouse"` or `"sled"`/`"memory"` (the key-value engine).
    pub fn engine_name(&self) -> &'static str {
        match &*self.engine {
            Engine::Sql(_) => "sqlite",
            Engine::Kv(_) => "key-value (sled or memory)",
            Engine::Ch(_) => "clickhouse",
        }
    }

    /// Commit a batch atomically.
    pub fn apply(&self, w: WriteBatch) -> Result<()> {
        match &*self.engine {
            Engine::Kv(s) => s.apply(w),
            Engine::Sql(s) => s.apply(w),
            Engine::Ch(s) => s.apply(w),
        }
    }

    /// Make everything applied durable (SQLite: commit the open transaction). Called at the
    /// end of each run, after ranks, after token changes and on shutdown.
    pub fn flush(&self) -> Result<()> {
        match &*self.engine {
            Engine::Kv(s) => s.flush(),
            Engine::Sql(s) => s.flush(),
            Engine::Ch(s) => s.flush(),
        }
    }

    /// A meta value.
    pub fn meta(&self, name: &str) -> Result<Option<String>> {
        match &*self.engine {
            Engine::Kv(s) => s.meta(name),
            Engine::Sql(s) => s.meta(name),
            Engine::Ch(s) => s.meta(name),
        }
    }

    /// Every meta value, by name.
    pub fn meta_values(&self) -> Result<Vec<(String, String)>> {
        match &*self.engine {
            Engine::Kv(s) => s.meta_values(),
            Engine::Sql(s) => s.meta_values(),
            Engine::Ch(s) => s.meta_values(),
        }
    }

    /// The page record of `url`.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>> {
        match &*self.engine {
            Engine::Kv(s) => s.page(url),
            Engine::Sql(s) => s.page(url),
            Engine::Ch(s) => s.page(url),
        }
    }

    /// The revalidation state of `url` (`ETag`, `Last-Modified`, body hash), if stored.
    pub fn validators(&self, url: &str) -> Result<Option<crate::Validators>> {
        match &*self.engine {
            Engine::Kv(s) => s.validators(url),
            Engine::Sql(s) => s.validators(url),
            Engine::Ch(s) => s.validators(url),
        }
    }

    /// The validators of `url` and its page record as last committed, for a fetch deciding
    /// whether to revalidate. On SQLite this reads a committed snapshot and never waits for
    /// the writer (it may miss this process's last 100 ms of writes: a page is fetched once
    /// per run, so what it needs was committed in an earlier run).
    pub fn revalidation(&self, url: &str) -> Result<Option<(crate::Validators, PageRecord)>> {
        match &*self.engine {
            Engine::Sql(s) => s.committed_revalidation(url),
            _ => {
                let Some(v) = self.validators(url)? else {
                    return Ok(None);
                };
                Ok(self.page(url)?.map(|p| (v, p)))
            }
        }
    }

    /// [`Store::forward_links`] as last committed, without waiting for the writer (see
    /// [`Store::revalidation`]).
    pub fn committed_forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        match &*self.engine {
            Engine::Sql(s) => s.committed_forward_links(url_from),
            _ => self.forward_links(url_from),
        }
    }

    /// `(url, depth, last_run)` of every page, in URL order: the part of each record a crawl
    /// reads to queue the known pages again (SQLite reads only those columns).
    pub fn page_heads(&self) -> Iter<'_, (String, u16, u64)> {
        match &*self.engine {
            Engine::Sql(s) => s.page_heads(),
            _ => Box::new(
                self.pages()
                    .map(|r| r.map(|(u, p)| (u, p.depth, p.last_run))),
            ),
        }
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> Iter<'_, (String, PageRecord)> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.pages()),
            Engine::Sql(s) => s.pages(),
            Engine::Ch(s) => s.pages(),
        }
    }

    /// One link of `url_from`.
    pub fn link(&self, url_from: &str, id: &LinkId) -> Result<Option<LinkRecord>> {
        if let Engine::Ch(s) = &*self.engine {
            return s.link(url_from, id);
        }
        Ok(self
            .forward_links(url_from)?
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r))
    }

    /// Every link record of `url_from` (live or not), in the page's order.
    pub fn forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        match &*self.engine {
            Engine::Kv(s) => s.forward_links(url_from),
            Engine::Sql(s) => s.forward_links(url_from),
            Engine::Ch(s) => s.forward_links(url_from),
        }
    }

    /// Every link record in the store, grouped by referring page (for ranks).
    pub fn all_links(&self) -> Iter<'_, (String, LinkId, LinkRecord)> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.all_links()),
            Engine::Sql(s) => s.all_links(),
            Engine::Ch(s) => s.all_links(),
        }
    }

    /// Live external backlinks whose `url_to` is in `scope`, as `(url_from, LinkId, record)`,
    /// in key order (target, then referring page).
    pub fn backlinks(&self, scope: &Target) -> Iter<'_, (String, LinkId, LinkRecord)> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.backlinks(scope)),
            Engine::Sql(s) => vec_iter(s.backlinks(scope)),
            Engine::Ch(s) => vec_iter(s.backlinks(scope)),
        }
    }

    /// Events whose `url_to` is in `scope`, in key order (target, then time).
    pub fn events(&self, scope: &Target) -> Iter<'_, EventRecord> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.events(scope)),
            Engine::Sql(s) => vec_iter(s.events(Some(scope))),
            Engine::Ch(s) => vec_iter(s.events(Some(scope))),
        }
    }

    /// Every event (status, tests, migration).
    pub fn all_events(&self) -> Iter<'_, EventRecord> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.all_events()),
            Engine::Sql(s) => vec_iter(s.events(None)),
            Engine::Ch(s) => vec_iter(s.events(None)),
        }
    }

    /// (new, lost) events whose target is in `scope`, at or after `since` (Unix seconds).
    pub fn count_events(&self, scope: &Target, since: i64) -> Result<(u64, u64)> {
        match &*self.engine {
            Engine::Sql(s) => s.count_events(scope, since),
            Engine::Ch(s) => s.count_events(scope, since),
            Engine::Kv(s) => {
                let (mut new, mut lost) = (0, 0);
                for ev in s.events(scope) {
                    let ev = ev?;
                    if ev.time >= since {
                        match ev.kind {
                            crate::EventKind::New => new += 1,
                            crate::EventKind::Lost => lost += 1,
                        }
                    }
                }
                Ok((new, lost))
            }
        }
    }

    /// [`Store::count_events`] of each scope, in order: on ClickHouse a few hundred scopes per
    /// statement (one round trip each costs more than the count), elsewhere one by one.
    pub fn count_events_many(&self, scopes: &[Target], since: i64) -> Result<Vec<(u64, u64)>> {
        match &*self.engine {
            Engine::Ch(s) => s.count_events_many(scopes, since),
            _ => scopes
                .iter()
                .map(|scope| self.count_events(scope, since))
                .collect(),
        }
    }

    /// Ranks of a registrable domain.
    pub fn domain(&self, domain: &str) -> Result<Option<DomainRecord>> {
        match &*self.engine {
            Engine::Kv(s) => s.domain(domain),
            Engine::Sql(s) => s.domain(domain),
            Engine::Ch(s) => s.domain(domain),
        }
    }

    /// Ranks of a registrable domain as answers give them: its record when `rank` wrote one
    /// (no crawled link touches the others), else its imported rating (the domain's own, else
    /// its `www.` host's), with no Ahrefs top; `None` when neither exists.
    pub fn domain_or_imported(&self, domain: &str) -> Result<Option<DomainRecord>> {
        if let Some(d) = self.domain(domain)? {
            return Ok(Some(d));
        }
        let www = format!("www.{domain}");
        let found = self.imported_ratings(&[domain, &www])?;
        Ok(found
            .get(domain)
            .or_else(|| found.get(&www))
            .map(|r| DomainRecord {
                domain_rating: r.rating,
                raw: 0.0,
                ahrefs_top: 0,
                source: Some(r.source),
            }))
    }

    /// Every domain record.
    pub fn domains(&self) -> Iter<'_, (String, DomainRecord)> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.domains()),
            Engine::Sql(s) => vec_iter(s.domains()),
            Engine::Ch(s) => vec_iter(s.domains()),
        }
    }

    /// The rating history of a registrable domain or a page: `(day, rating)` at each change
    /// `rank` recorded, oldest first (v3 `domain-rating-history`, `url-rating-history`).
    pub fn rating_history(&self, kind: crate::RatingKind, name: &str) -> Result<Vec<(i64, u8)>> {
        match &*self.engine {
            Engine::Kv(s) => s.rating_history(kind, name),
            Engine::Sql(s) => s.rating_history(kind, name),
            Engine::Ch(s) => s.rating_history(kind, name),
        }
    }

    /// The newest imported rating of each name asked (`linkdiff ranks import`; names without
    /// one are absent). Newest by import day; on the same day the first of
    /// [`crate::RankSource::ALL`] wins.
    pub fn imported_ratings(
        &self,
        names: &[&str],
    ) -> Result<std::collections::HashMap<String, crate::ImportedRating>> {
        let found: Vec<(String, crate::ImportedRating)> = match &*self.engine {
            Engine::Ch(s) => s.imported_ratings(names)?,
            _ => {
                let mut out = Vec::new();
                for &name in names {
                    for source in crate::RankSource::ALL {
                        let h = self.rating_history(crate::RatingKind::Imported(source), name)?;
                        if let Some(&(day, rating)) = h.last() {
                            out.push((
                                name.to_string(),
                                crate::ImportedRating {
                                    source,
                                    day,
                                    rating,
                                },
                            ));
                        }
                    }
                }
                out
            }
        };
        let mut best = std::collections::HashMap::new();
        for (name, r) in found {
            best.entry(name)
                .and_modify(|b: &mut crate::ImportedRating| {
                    if newer(&r, b) {
                        *b = r;
                    }
                })
                .or_insert(r);
        }
        Ok(best)
    }

    /// The frontier, in URL order.
    pub fn frontier(&self) -> Iter<'_, (String, FrontierEntry)> {
        self.frontier_after(None)
    }

    /// Frontier entries with a URL after `after` (all when `None`), in URL order.
    pub fn frontier_after<'a>(&'a self, after: Option<&str>) -> Iter<'a, (String, FrontierEntry)> {
        match &*self.engine {
            Engine::Kv(s) => Box::new(s.frontier_after(after)),
            Engine::Sql(s) => s.frontier_after(after),
            Engine::Ch(s) => s.frontier_after(after),
        }
    }

    /// One frontier entry.
    pub fn frontier_entry(&self, url: &str) -> Result<Option<FrontierEntry>> {
        match &*self.engine {
            Engine::Kv(s) => s.frontier_entry(url),
            Engine::Sql(s) => s.frontier_entry(url),
            Engine::Ch(s) => s.frontier_entry(url),
        }
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        match &*self.engine {
            Engine::Kv(s) => s.runs(),
            Engine::Sql(s) => s.runs(),
            Engine::Ch(s) => s.runs(),
        }
    }

    /// The latest run.
    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        Ok(self.runs()?.pop())
    }

    /// A token by name.
    pub fn token(&self, name: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .tokens()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r))
    }

    /// Every token.
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        match &*self.engine {
            Engine::Kv(s) => s.tokens(),
            Engine::Sql(s) => s.tokens(),
            Engine::Ch(s) => s.tokens(),
        }
    }

    /// Spend `centirows` of token `name` in one atomic read-check-write, so servers and
    /// `token` commands running at once keep one count. `Some(Ok(left))` when spent,
    /// `Some(Err(left))` when the quota is short, `None` when no such token.
    pub fn spend_token(&self, name: &str, centirows: u64) -> Result<Option<Result<u64, u64>>> {
        match &*self.engine {
            Engine::Sql(s) => s.spend_token(name, centirows),
            Engine::Ch(s) => s.spend_token(name, centirows),
            // One process per key-value database: read-modify-write is safe under this lock.
            Engine::Kv(s) => {
                static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
                let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
                let Some((_, mut rec)) = s.tokens()?.into_iter().find(|(n, _)| n == name) else {
                    return Ok(None);
                };
                if rec.centirows_left < centirows {
                    return Ok(Some(Err(rec.centirows_left)));
                }
                rec.centirows_left -= centirows;
                let mut w = WriteBatch::new();
                w.put_token(name, &rec);
                s.apply(w)?;
                Ok(Some(Ok(rec.centirows_left)))
            }
        }
    }

    /// Take the crawl lock for this index (one crawl at a time; readers and other writers
    /// are not blocked). `None` for the key-value engine, whose database is locked whole.
    pub fn crawl_lock(&self) -> Result<Option<crate::sql::CrawlLock>> {
        match &*self.engine {
            Engine::Sql(s) => s.crawl_lock().map(Some),
            Engine::Ch(s) => s.state().map(|l| l.crawl_lock()).transpose(),
            Engine::Kv(_) => Ok(None),
        }
    }

    /// Counts for `linkdiff status`.
    pub fn stats(&self) -> Result<Stats> {
        match &*self.engine {
            Engine::Kv(s) => s.stats(),
            Engine::Sql(s) => {
                let [pages, links, backlinks, events, runs] = s.counts()?;
                Ok(Stats {
                    pages,
                    links,
                    backlinks,
                    events,
                    runs,
                    size_bytes: s.size_on_disk()?,
                })
            }
            Engine::Ch(s) => {
                let [pages, links, backlinks, events, runs] = s.counts()?;
                Ok(Stats {
                    pages,
                    links,
                    backlinks,
                    events,
                    runs,
                    size_bytes: s.size_on_disk()?,
                })
            }
        }
    }
}

/// Parse a `clickhouse://` `--db` value.
fn ch_location(spec: &str) -> Result<ChLocation> {
    match ChLocation::parse(spec) {
        Some(Ok(l)) => Ok(l),
        Some(Err(e)) => Err(StoreError::ClickHouse {
            server: spec.split('@').next_back().unwrap_or(spec).to_string(),
            status: None,
            detail: e.to_string(),
        }),
        None => Err(StoreError::ClickHouse {
            server: spec.to_string(),
            status: None,
            detail: "expected clickhouse://HOST:PORT/DATABASE".into(),
        }),
    }
}

fn vec_iter<'a, T: 'a>(v: Result<Vec<T>>) -> Iter<'a, T> {
    match v {
        Ok(v) => Box::new(v.into_iter().map(Ok)),
        Err(e) => Box::new(std::iter::once(Err(e))),
    }
}

/// Whether imported rating `a` takes precedence over `b`: a later import day, or on the same
/// day, a source earlier in [`crate::RankSource::ALL`].
fn newer(a: &crate::ImportedRating, b: &crate::ImportedRating) -> bool {
    (a.day, std::cmp::Reverse(a.source.code())) > (b.day, std::cmp::Reverse(b.source.code()))
}
