//! The ClickHouse engine (`--db clickhouse://HOST:PORT/DATABASE`): the index on a ClickHouse
//! server or cluster, for indexes that outgrow one machine.
//!
//! Two ways to open it:
//! - **Reader** ([`ChStore::open`]): `query`, `serve`, `status`, `bulk-new-lost`, `rank`,
//!   `token`, `watch`. Reads are `SELECT … FINAL`; writes (ranks, tokens, meta) are inserted at
//!   once.
//! - **Worker** ([`ChStore::open_worker`]): a crawl. The diff needs the previous visit of each
//!   page, so pages, link sets, the frontier and runs stay in a local SQLite state file (the
//!   SQLite engine, holding only those). What queries read goes to ClickHouse as rows: each
//!   visit's rows are written into the state file's `outbox` in the same transaction as the
//!   visit, then sent in batches (at least once a second, and on flush) and deleted. A killed
//!   worker resends what it had not deleted: every row carries the version it was given when
//!   written, so a resent row replaces itself (`ReplacingMergeTree(ver)`) and the answers do
//!   not change. No per-visit transaction reaches the server.
//!
//! Versions are nanoseconds from a clock that never goes back in this process; rows of one key
//! come from one worker (keys start with the referring page, whose domain picks the worker), so
//! the newest row is the last one written.

pub mod client;
mod rows;
pub mod schema;

use crate::keys::target_key;
use crate::records::{
    DomainRecord, EventRecord, FrontierEntry, LinkRecord, PageRecord, RunRecord, TokenRecord,
};
use crate::sql::SqlStore;
use crate::write::{Write, WriteBatch};
use crate::{Result, StoreError};
use client::{quote, ChLocation, Client};
use linkdiff_model::LinkId;
use linkdiff_model::Target;
use rows::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Longest time a worker's committed rows wait in the outbox before they are sent.
pub const SEND_EVERY: Duration = Duration::from_secs(1);

/// Outbox entries (visits) sent per round of inserts.
const SEND_BATCH: usize = 2_000;

/// How often a failed send is tried before the error reaches the caller (with 0.5, 1, 2 s
/// pauses): a server restart is waited out, a stopped server stops the crawl.
const SEND_ATTEMPTS: u32 = 4;

const LINK_COLS: &str = "tkey, url_to, url_from, link_type, anchor, n, live, nofollow, redirect, \
     alt, text_pre, text_post, first_seen, streak_start, before_streak, last_seen, prev_seen, \
     original, external, ver";
const EVENT_COLS: &str = "tkey, url_to, time, url_from, link_type, anchor, n, kind, origin, \
     http_code, links_internal, links_external, reason, ver";
const PAGE_COLS: &str = "url, first_visit, last_visit, last_ok_visit, first_ok_visit, \
     prev_ok_visit, last_status, consecutive_failures, dropped, title, language, encoding, \
     page_size, ip, links_internal, links_external, depth, last_run, broken_since, ver";

/// How long rows fetched along with a scan answer point reads (`page`, `link`, `domain`) of
/// the same request: a query's reads see the index as of its scan, give or take this.
const READ_CACHE_TTL: Duration = Duration::from_secs(2);

/// Records fetched in bulk with a scan, so the per-row reads a query makes next (referring
/// pages, lost links' records, domain ratings) are not one round trip each.
struct ReadCache {
    at: Instant,
    pages: std::collections::HashMap<String, Option<PageRecord>>,
    links: std::collections::HashMap<(String, LinkId), LinkRecord>,
    domains: Option<std::collections::HashMap<String, DomainRecord>>,
}

impl ReadCache {
    fn new() -> ReadCache {
        ReadCache {
            at: Instant::now(),
            pages: Default::default(),
            links: Default::default(),
            domains: None,
        }
    }

    /// Forget everything older than the TTL or grown past a bound.
    fn fresh(&mut self) -> &mut ReadCache {
        if self.at.elapsed() > READ_CACHE_TTL || self.pages.len() + self.links.len() > 1_000_000 {
            *self = ReadCache::new();
        }
        self
    }
}

/// A crawl worker's local part: the SQLite state file and its outbox.
struct WorkerState {
    local: SqlStore,
    /// `I/N` (empty for a single process): names this worker's runs in ClickHouse.
    worker: String,
    last_send: Mutex<Instant>,
}

/// The ClickHouse engine.
pub struct ChStore {
    loc: ChLocation,
    client: Client,
    state: Option<WorkerState>,
    clock: Mutex<u64>,
    tokens: Mutex<()>,
    cache: Mutex<ReadCache>,
    /// The compiled statements run so far, while recording (see `record_statements`).
    recorded: Mutex<Option<Vec<String>>>,
}

/// Rows for ClickHouse grouped by table, as `JSONEachRow` lines.
#[derive(Default)]
struct Rows {
    tables: BTreeMap<&'static str, Vec<u8>>,
}

impl Rows {
    fn push<T: Serialize>(&mut self, table: &'static str, row: &T) {
        let buf = self.tables.entry(table).or_default();
        serde_json::to_writer(&mut *buf, row).expect("rows always serialize");
        buf.push(b'\n');
    }

    fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// One text: `table\tjson` per line (the outbox format).
    fn to_outbox(&self) -> String {
        let mut out = String::new();
        for (t, lines) in &self.tables {
            for line in String::from_utf8_lossy(lines).lines() {
                out.push_str(t);
                out.push('\t');
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Parse outbox texts back into rows by table.
    fn add_outbox(&mut self, text: &str) {
        for line in text.lines() {
            if let Some((t, json)) = line.split_once('\t') {
                let Some((name, ..)) = schema::TABLES.iter().find(|(n, ..)| *n == t) else {
                    continue;
                };
                let buf = self.tables.entry(name).or_default();
                buf.extend_from_slice(json.as_bytes());
                buf.push(b'\n');
            }
        }
    }
}

/// `tkey` conditions of a scope: equality for one URL, key ranges for the others.
pub fn scope_sql(scope: &Target) -> String {
    if let Target::Exact(url) = scope {
        return format!("tkey = {}", quote(&target_key(url)));
    }
    let parts: Vec<String> = crate::scope::prefixes(scope)
        .iter()
        .map(|p| {
            let q = quote(p);
            let hi = format!("{}\\xFF'", &q[..q.len() - 1]);
            format!("(tkey >= {q} AND tkey < {hi})")
        })
        .collect();
    format!("({})", parts.join(" OR "))
}

impl ChStore {
    /// Connect to the index at `loc` for reading (and small writes). Creates the database and
    /// tables on first use of a single server; a cluster is created by
    /// [`ChStore::init`] (`linkdiff clickhouse init --cluster NAME`).
    pub fn open(loc: &ChLocation) -> Result<ChStore> {
        Self::open_with(loc, true)
    }

    /// Open the index at `loc`; with `create` false, a database without linkdiff tables is
    /// [`StoreError::NoIndex`] instead of being initialised (one server) or refused (a cluster).
    pub fn open_with(loc: &ChLocation, create: bool) -> Result<ChStore> {
        let client = Client::new(&loc.servers[0], loc);
        let store = ChStore {
            loc: loc.clone(),
            client,
            state: None,
            clock: Mutex::new(0),
            tokens: Mutex::new(()),
            cache: Mutex::new(ReadCache::new()),
            recorded: Mutex::new(None),
        };
        store.check_schema(create)?;
        Ok(store)
    }

    /// Open a crawl worker: ClickHouse at `loc` and the local state file at `state` (created
    /// when missing). `worker` names the worker's runs (`I/N`, or empty).
    pub fn open_worker(loc: &ChLocation, state: &Path, worker: &str) -> Result<ChStore> {
        let mut store = Self::open(loc)?;
        store.state = Some(WorkerState {
            local: SqlStore::open(state)?,
            worker: worker.to_string(),
            last_send: Mutex::new(Instant::now()),
        });
        // Rows a killed run left unsent go first.
        store.send_outbox()?;
        Ok(store)
    }

    /// Create the database and tables on every server of `loc` (`Distributed` tables over
    /// `cluster` when given) and record the layout version.
    pub fn init(loc: &ChLocation, cluster: Option<&str>) -> Result<()> {
        let servers: Vec<Client> = loc.servers.iter().map(|s| Client::new(s, loc)).collect();
        schema::create(&servers, &loc.database, cluster)?;
        let store = ChStore {
            loc: loc.clone(),
            client: servers[0].clone(),
            state: None,
            clock: Mutex::new(0),
            tokens: Mutex::new(()),
            cache: Mutex::new(ReadCache::new()),
            recorded: Mutex::new(None),
        };
        let mut w = WriteBatch::new();
        w.put_meta("clickhouse_schema", &schema::CH_SCHEMA_VERSION.to_string());
        if let Some(c) = cluster {
            w.put_meta("clickhouse_cluster", c);
        }
        store.apply(w)
    }

    fn check_schema(&self, create: bool) -> Result<()> {
        let db = &self.loc.database;
        #[derive(serde::Deserialize)]
        struct N {
            n: u64,
        }
        let n: Vec<N> = self.client.select(&format!(
            "SELECT count() AS n FROM system.tables WHERE database = {} AND name = 'meta'",
            quote(db)
        ))?;
        if n.first().is_none_or(|n| n.n == 0) {
            if !create {
                return Err(StoreError::NoIndex {
                    location: format!("ClickHouse database {db} at {}", self.loc.servers.join(",")),
                    clickhouse: true,
                });
            }
            if self.loc.servers.len() > 1 {
                return Err(self.client_error(format!(
                    "database {db} has no linkdiff tables; create them with `linkdiff clickhouse init --db … --cluster NAME`"
                )));
            }
            Self::init(&self.loc, None)?;
            return Ok(());
        }
        match self.remote_meta("clickhouse_schema")? {
            Some(v) if v == schema::CH_SCHEMA_VERSION.to_string() => Ok(()),
            found => Err(self.client_error(format!(
                "database {db} has linkdiff layout {}, this build reads {}",
                found.unwrap_or_else(|| "(none)".into()),
                schema::CH_SCHEMA_VERSION
            ))),
        }
    }

    fn client_error(&self, detail: String) -> StoreError {
        StoreError::ClickHouse {
            server: self.client.server().to_string(),
            status: None,
            detail,
        }
    }

    /// Where the index lives, without the password.
    pub fn location(&self) -> String {
        self.loc.display()
    }

    /// The worker's local state (SQLite), when this is a worker.
    pub fn state(&self) -> Option<&SqlStore> {
        self.state.as_ref().map(|s| &s.local)
    }

    fn table(&self, t: &str) -> String {
        format!("{}.{t}", self.loc.database)
    }

    /// A table's name qualified with the database, for statements compiled elsewhere (the
    /// query crate's ClickHouse dialect).
    pub fn table_name(&self, t: &str) -> String {
        self.table(t)
    }

    /// Whether this is a crawl worker (its reads come from the local state, not ClickHouse).
    pub fn is_worker(&self) -> bool {
        self.state.is_some()
    }

    /// Run a compiled `SELECT` and return its rows as JSON objects keyed by column name.
    pub fn select_objects(
        &self,
        sql: &str,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        if let Some(r) = self
            .recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            r.push(sql.to_string());
        }
        self.client.select(sql)
    }

    /// Keep the text of every compiled statement run from now on (`select_objects`), so a
    /// test can replay exactly what the query compiler sent on another ClickHouse release.
    pub fn record_statements(&self) {
        *self.recorded.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
    }

    /// The statements recorded since `record_statements`, in the order they ran; recording
    /// stops.
    pub fn take_recorded(&self) -> Vec<String> {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default()
    }

    /// `n` consecutive row versions.
    fn versions(&self, n: usize) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut c = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        let base = (*c + 1).max(now);
        *c = base + n as u64;
        base
    }

    /// Apply a batch: a worker commits the local part and the outbox together, then sends
    /// when due; a reader inserts the rows at once.
    pub fn apply(&self, batch: WriteBatch) -> Result<()> {
        let base = self.versions(batch.ops.len());
        let worker = self.state.as_ref().map_or("", |s| s.worker.as_str());
        let mut rows = Rows::default();
        let mut local = WriteBatch::new();
        for (i, op) in batch.ops.into_iter().enumerate() {
            let ver = base + i as u64;
            match op {
                Write::Page(url, r) => {
                    rows.push(
                        "pages",
                        &PageRow {
                            ver,
                            ..PageRow::new(&url, &r)
                        },
                    );
                    local.ops.push(Write::Page(url, r));
                }
                Write::UrlRating(url, ur) => {
                    let row = UrlRatingRow {
                        url: url.clone(),
                        url_rating: ur,
                        ver,
                    };
                    rows.push("url_ratings", &row);
                    local.ops.push(Write::UrlRating(url, ur));
                }
                Write::Links(url, links) => {
                    rows.push(
                        "linksets",
                        &LinkSetRow {
                            ver,
                            ..LinkSetRow::new(&url, &links)
                        },
                    );
                    local.ops.push(Write::Links(url, links));
                }
                Write::Backlink(from, id, r) => rows.push(
                    "links",
                    &LinkRow {
                        ver,
                        ..LinkRow::new(&from, &id, &r, true)
                    },
                ),
                Write::Unlist(from, id, r) => rows.push(
                    "links",
                    &LinkRow {
                        ver,
                        ..LinkRow::new(&from, &id, &r, false)
                    },
                ),
                Write::Event(e) => rows.push(
                    "events",
                    &EventRow {
                        ver,
                        ..EventRow::new(&e)
                    },
                ),
                Write::Recovered(e) => rows.push(
                    "recovered",
                    &RecoveredRow {
                        url_to: e.url_to,
                        time: e.time,
                        url_from: e.url_from,
                        link_type: e.link_type.code(),
                        anchor: e.anchor,
                        n: e.n,
                        ver,
                    },
                ),
                Write::Domain(d, r) => rows.push(
                    "domains",
                    &DomainRow {
                        ver,
                        ..DomainRow::new(&d, &r)
                    },
                ),
                Write::Frontier(..) | Write::Unqueue(_) | Write::Validators(..) => {
                    local.ops.push(op)
                }
                Write::Run(r) => {
                    rows.push(
                        "runs",
                        &RunRow {
                            ver,
                            ..RunRow::new(worker, &r)
                        },
                    );
                    local.ops.push(Write::Run(r));
                }
                Write::Token(name, t) => rows.push(
                    "tokens",
                    &TokenRow {
                        ver,
                        ..TokenRow::new(&name, &t)
                    },
                ),
                Write::Untoken(name) => rows.push(
                    "tokens",
                    &TokenRow {
                        deleted: 1,
                        ver,
                        hash: String::new(),
                        rows_limit: 0,
                        centirows_left: 0,
                        created: 0,
                        name,
                    },
                ),
                Write::Meta(name, value) => {
                    rows.push(
                        "meta",
                        &MetaRow {
                            name: name.clone(),
                            value: value.clone(),
                            deleted: 0,
                            ver,
                        },
                    );
                    local.ops.push(Write::Meta(name, value));
                }
                Write::Unmeta(name) => {
                    rows.push(
                        "meta",
                        &MetaRow {
                            name: name.clone(),
                            value: String::new(),
                            deleted: 1,
                            ver,
                        },
                    );
                    local.ops.push(Write::Unmeta(name));
                }
                Write::Outbox(_) | Write::Unoutbox(_) => {
                    return Err(StoreError::Aborted(
                        "outbox writes are the engine's own".into(),
                    ))
                }
                Write::Fail => local.ops.push(Write::Fail),
            }
        }
        match &self.state {
            None => {
                // What this process writes is read back at once, not from the cache.
                *self.cached() = ReadCache::new();
                if local.ops.iter().any(|w| matches!(w, Write::Fail)) {
                    return Err(StoreError::Aborted("failure injected by a test".into()));
                }
                self.insert(&rows)
            }
            Some(st) => {
                if !rows.is_empty() {
                    local.ops.push(Write::Outbox(rows.to_outbox()));
                }
                st.local.apply(local)?;
                let due = st
                    .last_send
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .elapsed()
                    >= SEND_EVERY;
                if due {
                    self.send_outbox()?;
                }
                Ok(())
            }
        }
    }

    fn insert(&self, rows: &Rows) -> Result<()> {
        for (t, body) in &rows.tables {
            let mut attempt = 0;
            loop {
                match self.client.insert(&self.table(t), body) {
                    Ok(()) => break,
                    Err(e) if attempt + 1 >= SEND_ATTEMPTS => return Err(e),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(500 << attempt));
                        attempt += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Send every committed outbox entry, oldest first, then delete what was sent.
    fn send_outbox(&self) -> Result<()> {
        let Some(st) = &self.state else {
            return Ok(());
        };
        loop {
            let entries = st.local.outbox(SEND_BATCH)?;
            let Some(&(upto, _)) = entries.last() else {
                break;
            };
            let mut rows = Rows::default();
            for (_, text) in &entries {
                rows.add_outbox(text);
            }
            self.insert(&rows)?;
            let mut done = WriteBatch::new();
            done.ops.push(Write::Unoutbox(upto));
            st.local.apply(done)?;
            if entries.len() < SEND_BATCH {
                break;
            }
        }
        *st.last_send.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(())
    }

    /// Make everything applied durable: commit the state file and send the outbox.
    pub fn flush(&self) -> Result<()> {
        if let Some(st) = &self.state {
            st.local.flush()?;
            self.send_outbox()?;
        }
        Ok(())
    }

    /// Rows of the outbox not yet sent (tests, status).
    pub fn unsent(&self) -> Result<usize> {
        match &self.state {
            Some(st) => Ok(st.local.outbox(usize::MAX >> 1)?.len()),
            None => Ok(0),
        }
    }

    fn remote_meta(&self, name: &str) -> Result<Option<String>> {
        let rows: Vec<MetaRow> = self.client.select(&format!(
            "SELECT name, value, deleted, ver FROM {} FINAL WHERE name = {}",
            self.table("meta"),
            quote(name)
        ))?;
        Ok(rows.into_iter().find(|r| r.deleted == 0).map(|r| r.value))
    }

    /// A meta value (a worker's own first, then the shared one).
    pub fn meta(&self, name: &str) -> Result<Option<String>> {
        if let Some(st) = &self.state {
            if let Some(v) = st.local.meta(name)? {
                return Ok(Some(v));
            }
        }
        self.remote_meta(name)
    }

    /// Every meta value, by name (a worker's own values win).
    pub fn meta_values(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<MetaRow> = self.client.select(&format!(
            "SELECT name, value, deleted, ver FROM {} FINAL ORDER BY name",
            self.table("meta")
        ))?;
        let mut out: BTreeMap<String, String> = rows
            .into_iter()
            .filter(|r| r.deleted == 0)
            .map(|r| (r.name, r.value))
            .collect();
        if let Some(st) = &self.state {
            out.extend(st.local.meta_values()?);
        }
        Ok(out.into_iter().collect())
    }

    fn pages_where(&self, cond: &str) -> Result<Vec<(String, PageRecord)>> {
        let rows: Vec<PageRow> = self.client.select(&format!(
            "SELECT {PAGE_COLS}, url_rating FROM (SELECT {PAGE_COLS} FROM {} FINAL WHERE {cond})
             ANY LEFT JOIN (SELECT url, url_rating, ver AS rating_ver FROM {} FINAL WHERE {cond})
             USING url ORDER BY url",
            self.table("pages"),
            self.table("url_ratings"),
        ))?;
        Ok(rows.into_iter().map(PageRow::into_record).collect())
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, ReadCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep the pages matching `cond` for the point reads that follow a scan.
    fn prefetch_pages(&self, cond: &str) -> Result<()> {
        let pages = self.pages_where(cond)?;
        let mut c = self.cached();
        let c = c.fresh();
        c.pages
            .extend(pages.into_iter().map(|(url, p)| (url, Some(p))));
        Ok(())
    }

    /// One link record of a page (from what a scan fetched, else one read).
    pub fn link(&self, url_from: &str, id: &LinkId) -> Result<Option<LinkRecord>> {
        if let Some(st) = &self.state {
            return Ok(st
                .local
                .forward_links(url_from)?
                .into_iter()
                .find(|(i, _)| i == id)
                .map(|(_, r)| r));
        }
        let key = (url_from.to_string(), id.clone());
        if let Some(r) = self.cached().fresh().links.get(&key) {
            return Ok(Some(r.clone()));
        }
        Ok(self
            .forward_links(url_from)?
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r))
    }

    /// A page record (a worker's state file, else ClickHouse).
    /// A page's revalidation state: a worker's local state (readers do not crawl).
    pub fn validators(&self, url: &str) -> Result<Option<crate::Validators>> {
        match &self.state {
            Some(st) => st.local.validators(url),
            None => Ok(None),
        }
    }

    /// The stored record of `url`.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>> {
        if let Some(st) = &self.state {
            return st.local.page(url);
        }
        if let Some(p) = self.cached().fresh().pages.get(url) {
            return Ok(p.clone());
        }
        let cond = format!("url = {}", quote(url));
        let p = self.pages_where(&cond)?.pop().map(|(_, p)| p);
        self.cached()
            .fresh()
            .pages
            .insert(url.to_string(), p.clone());
        Ok(p)
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> Box<dyn Iterator<Item = Result<(String, PageRecord)>> + '_> {
        if let Some(st) = &self.state {
            return st.local.pages();
        }
        vec_iter(self.pages_where("1"))
    }

    /// A page's link records: a worker's every link; from ClickHouse its external links (the
    /// ones queries show).
    pub fn forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        if let Some(st) = &self.state {
            return st.local.forward_links(url_from);
        }
        let rows: Vec<LinkRow> = self.client.select(&format!(
            "SELECT {LINK_COLS} FROM {} FINAL WHERE url_from = {} ORDER BY tkey, link_type, anchor, n",
            self.table("links"),
            quote(url_from)
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (_, id, rec) = r.into_record();
                (id, rec)
            })
            .collect())
    }

    /// Every live followed link (the rank's edges) as `(url_from, id, record)`; only the
    /// target, `live` and `nofollow` are meaningful when read from ClickHouse.
    pub fn all_links(&self) -> Box<dyn Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_> {
        if let Some(st) = &self.state {
            return st.local.all_links();
        }
        // Streamed: a reader thread decodes the answer as it arrives and hands rows over a
        // bounded channel, so memory holds a few hundred pages' targets, not the whole graph.
        let sql = format!(
            "SELECT url_from, targets, ver FROM {} FINAL ORDER BY url_from",
            self.table("linksets")
        );
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<LinkSetRow>>(256);
        let client = self.client.clone();
        std::thread::spawn(move || {
            let sent = client.select_each(&sql, |row: LinkSetRow| {
                tx.send(Ok(row)).map_err(|_| StoreError::ClickHouse {
                    server: client.server().to_string(),
                    status: None,
                    detail: "the reader of the edges stopped".into(),
                })
            });
            if let Err(e) = sent {
                let _ = tx.send(Err(e));
            }
        });
        Box::new(rx.into_iter().flat_map(|r| -> Box<dyn Iterator<Item = _>> {
            let r = match r {
                Ok(r) => r,
                Err(e) => return Box::new(std::iter::once(Err(e))),
            };
            let from = r.url_from;
            Box::new(r.targets.into_iter().map(move |to| {
                let id = LinkId {
                    url_to: to,
                    link_type: linkdiff_model::LinkType::Href,
                    anchor: String::new(),
                    n: 0,
                };
                let rec = LinkRecord {
                    live: true,
                    ..LinkRecord::default()
                };
                Ok((from.clone(), id, rec))
            }))
        }))
    }

    /// Live external backlinks of `scope`, in key order.
    pub fn backlinks(&self, scope: &Target) -> Result<Vec<(String, LinkId, LinkRecord)>> {
        let rows: Vec<LinkRow> = self.client.select(&format!(
            "SELECT {LINK_COLS} FROM {} FINAL WHERE live = 1 AND external = 1 AND {}
             ORDER BY tkey, url_from, link_type, anchor, n, url_to",
            self.table("links"),
            scope_sql(scope)
        ))?;
        if self.state.is_none() {
            // The referring and the target pages of these links.
            let links = self.table("links");
            let scope = scope_sql(scope);
            self.prefetch_pages(&format!(
                "url GLOBAL IN (SELECT url_from FROM {links} WHERE live = 1 AND external = 1 AND {scope})
                 OR url GLOBAL IN (SELECT url_to FROM {links} WHERE live = 1 AND external = 1 AND {scope})"
            ))?;
        }
        Ok(rows.into_iter().map(LinkRow::into_record).collect())
    }

    /// Events of `scope` (all when `None`), in key order, with their recovered marks.
    pub fn events(&self, scope: Option<&Target>) -> Result<Vec<EventRecord>> {
        let cond = scope.map_or("1".to_string(), scope_sql);
        let rows: Vec<EventRow> = self.client.select(&format!(
            "SELECT {EVENT_COLS}, (url_to, time, url_from, link_type, anchor, n) GLOBAL IN
               (SELECT url_to, time, url_from, link_type, anchor, n FROM {}) AS recovered
             FROM {} FINAL WHERE {cond}
             ORDER BY tkey, time, url_from, link_type, anchor, n, kind, url_to",
            self.table("recovered"),
            self.table("events"),
        ))?;
        if self.state.is_none() {
            // What the rows of these events show: their referring pages and link records.
            let events = self.table("events");
            self.prefetch_pages(&format!(
                "url GLOBAL IN (SELECT url_from FROM {events} WHERE {cond})
                 OR url GLOBAL IN (SELECT url_to FROM {events} WHERE {cond})"
            ))?;
            let links: Vec<LinkRow> = self.client.select(&format!(
                "SELECT {LINK_COLS} FROM {} FINAL WHERE {cond}",
                self.table("links")
            ))?;
            let mut c = self.cached();
            let c = c.fresh();
            for l in links {
                let (from, id, rec) = l.into_record();
                c.links.insert((from, id), rec);
            }
        }
        Ok(rows.into_iter().map(EventRow::into_record).collect())
    }

    /// (new, lost) events of `scope` at or after `since`.
    pub fn count_events(&self, scope: &Target, since: i64) -> Result<(u64, u64)> {
        #[derive(serde::Deserialize)]
        struct C {
            new: u64,
            lost: u64,
        }
        let c: Vec<C> = self.client.select(&format!(
            "SELECT countIf(kind = 0) AS new, countIf(kind = 1) AS lost FROM
               (SELECT kind, ver FROM {} FINAL WHERE {} AND time >= {since})",
            self.table("events"),
            scope_sql(scope)
        ))?;
        Ok(c.first().map_or((0, 0), |c| (c.new, c.lost)))
    }

    /// A domain's ranks (all domains are read at once and kept for the read cache's TTL:
    /// a query asks for many).
    pub fn domain(&self, name: &str) -> Result<Option<DomainRecord>> {
        if let Some(d) = &self.cached().fresh().domains {
            return Ok(d.get(name).cloned());
        }
        let all: std::collections::HashMap<String, DomainRecord> =
            self.domains()?.into_iter().collect();
        let found = all.get(name).cloned();
        self.cached().fresh().domains = Some(all);
        Ok(found)
    }

    fn domains_where(&self, cond: &str) -> Result<Vec<(String, DomainRecord)>> {
        let rows: Vec<DomainRow> = self.client.select(&format!(
            "SELECT name, domain_rating, raw, ahrefs_top, ver FROM {} FINAL WHERE {cond} ORDER BY name",
            self.table("domains")
        ))?;
        Ok(rows.into_iter().map(DomainRow::into_record).collect())
    }

    /// Every domain's ranks.
    pub fn domains(&self) -> Result<Vec<(String, DomainRecord)>> {
        self.domains_where("1")
    }

    /// A worker's frontier after `after` (empty for a reader).
    pub fn frontier_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = Result<(String, FrontierEntry)>> + 'a> {
        match &self.state {
            Some(st) => st.local.frontier_after(after),
            None => Box::new(std::iter::empty()),
        }
    }

    /// One frontier entry of a worker.
    pub fn frontier_entry(&self, url: &str) -> Result<Option<FrontierEntry>> {
        match &self.state {
            Some(st) => st.local.frontier_entry(url),
            None => Ok(None),
        }
    }

    /// A worker's own runs; a reader's: every worker's, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        if let Some(st) = &self.state {
            return st.local.runs();
        }
        let rows: Vec<RunRow> = self.client.select(&format!(
            "SELECT worker, id, as_of, started, finished, fetched, new_pages, errors, bytes,
                    error_kinds, config, ver
             FROM {} FINAL ORDER BY started, worker, id",
            self.table("runs")
        ))?;
        Ok(rows.into_iter().map(RunRow::into_record).collect())
    }

    /// Every token.
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        let rows: Vec<TokenRow> = self.client.select(&format!(
            "SELECT name, hash, rows_limit, centirows_left, created, deleted, ver
             FROM {} FINAL ORDER BY name",
            self.table("tokens")
        ))?;
        Ok(rows
            .into_iter()
            .filter(|t| t.deleted == 0)
            .map(TokenRow::into_record)
            .collect())
    }

    /// Spend from a token: read, check, write under this process's lock. ClickHouse has no
    /// transactions, so two servers spending one token at the same instant can both succeed
    /// (documented; one server per token avoids it).
    pub fn spend_token(&self, name: &str, centirows: u64) -> Result<Option<Result<u64, u64>>> {
        let _g = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, mut rec)) = self.tokens()?.into_iter().find(|(n, _)| n == name) else {
            return Ok(None);
        };
        if rec.centirows_left < centirows {
            return Ok(Some(Err(rec.centirows_left)));
        }
        rec.centirows_left -= centirows;
        let mut rows = Rows::default();
        let ver = self.versions(1);
        rows.push(
            "tokens",
            &TokenRow {
                ver,
                ..TokenRow::new(name, &rec)
            },
        );
        self.insert(&rows)?;
        Ok(Some(Ok(rec.centirows_left)))
    }

    /// `[pages, live links, live external backlinks, events, runs]`.
    pub fn counts(&self) -> Result<[u64; 5]> {
        #[derive(serde::Deserialize)]
        struct C {
            n: u64,
        }
        let one = |sql: String| -> Result<u64> {
            Ok(self.client.select::<C>(&sql)?.first().map_or(0, |c| c.n))
        };
        let t = |n| self.table(n);
        Ok([
            one(format!("SELECT count() AS n FROM {} FINAL", t("pages")))?,
            one(format!(
                "SELECT sum(length(targets)) AS n FROM (SELECT targets, ver FROM {} FINAL)",
                t("linksets")
            ))?,
            one(format!(
                "SELECT count() AS n FROM (SELECT ver FROM {} FINAL WHERE live = 1 AND external = 1)",
                t("links")
            ))?,
            one(format!("SELECT count() AS n FROM {} FINAL", t("events")))?,
            one(format!("SELECT count() AS n FROM {} FINAL", t("runs")))?,
        ])
    }

    /// Link records (live and lost), the unit of the bytes-per-link figure.
    pub fn link_records(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct C {
            n: u64,
        }
        let sql = format!(
            "SELECT count() AS n FROM (SELECT ver FROM {} FINAL)",
            self.table("links")
        );
        Ok(self.client.select::<C>(&sql)?.first().map_or(0, |c| c.n))
    }

    /// Bytes on disk of the database's active parts on every server named.
    pub fn size_on_disk(&self) -> Result<u64> {
        #[derive(serde::Deserialize)]
        struct C {
            n: u64,
        }
        let mut total = 0;
        for s in &self.loc.servers {
            let c = Client::new(s, &self.loc);
            let rows: Vec<C> = c.select(&format!(
                "SELECT sum(bytes) AS n FROM system.parts WHERE database = {} AND active",
                quote(&self.loc.database)
            ))?;
            total += rows.first().map_or(0, |c| c.n);
        }
        Ok(total)
    }

    /// Merge every table's parts now (`OPTIMIZE … FINAL`), so old row versions leave the disk
    /// (ClickHouse does this in the background anyway; benchmarks measure after it).
    pub fn optimize(&self) -> Result<()> {
        let cluster = self.remote_meta("clickhouse_cluster")?;
        for s in &self.loc.servers {
            let c = Client::new(s, &self.loc);
            for (name, ..) in schema::TABLES {
                let t = match cluster {
                    Some(_) => format!("{name}_local"),
                    None => name.to_string(),
                };
                c.execute(&format!("OPTIMIZE TABLE {}.{t} FINAL", self.loc.database))?;
            }
        }
        Ok(())
    }
}

fn vec_iter<'a, T: 'a>(v: Result<Vec<T>>) -> Box<dyn Iterator<Item = Result<T>> + 'a> {
    match v {
        Ok(v) => Box::new(v.into_iter().map(Ok)),
        Err(e) => Box::new(std::iter::once(Err(e))),
    }
}
