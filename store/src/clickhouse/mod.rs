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

mod admin;
mod outbox;
mod read;
mod write;
use write::Rows;

/// Longest time a worker's committed rows wait in the outbox before they are sent.
pub const SEND_EVERY: Duration = Duration::from_secs(1);

/// Outbox entries (visits) sent per round of inserts.
const SEND_BATCH: usize = 2_000;

/// How often a failed send is tried before the error reaches the caller (with 0.5, 1, 2 s
/// pauses): a server restart is waited out, a stopped server stops the crawl.
const SEND_ATTEMPTS: u32 = 4;

const LINK_COLS: &str = "tkey, url_to, url_from, link_type, anchor, n, live, nofollow, redirect, \
     alt, text_pre, text_post, first_seen, streak_start, before_streak, last_seen, prev_seen, \
     original, external, rendered, ver";
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
    /// The `config` of the run last written whole, for its progress rows (a ClickHouse row
    /// replaces the whole run).
    run_config: Mutex<Option<(u64, String)>>,
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
            run_config: Mutex::new(None),
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
            run_config: Mutex::new(None),
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
            Some(v) if v == schema::CH_SCHEMA_VERSION.to_string() => {
                let servers: Vec<Client> = self
                    .loc
                    .servers
                    .iter()
                    .map(|s| Client::new(s, &self.loc))
                    .collect();
                let cluster = self.remote_meta("clickhouse_cluster")?;
                // Columns added since the database was made (`links.rendered`): without them
                // no link could be written or read.
                schema::add_missing_columns(&servers, db, cluster.is_some())?;
                // A database made before `ratings` and `v_events` existed gets them (best
                // effort: a user allowed only to read still reads the other tables).
                let has: Vec<N> = self.client.select(&format!(
                    "SELECT count() AS n FROM system.tables WHERE database = {} AND name = 'v_events'",
                    quote(db)
                ))?;
                if has.first().is_none_or(|n| n.n == 0) {
                    let _ = schema::create(&servers, db, cluster.as_deref());
                }
                Ok(())
            }
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
}

fn vec_iter<'a, T: 'a>(v: Result<Vec<T>>) -> Box<dyn Iterator<Item = Result<T>> + 'a> {
    match v {
        Ok(v) => Box::new(v.into_iter().map(Ok)),
        Err(e) => Box::new(std::iter::once(Err(e))),
    }
}
