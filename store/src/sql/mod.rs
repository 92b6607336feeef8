//! The SQLite engine, the default store: one file in WAL mode, so one `crawl` writes while
//! any number of `query`, `status` and `serve` processes read.
//!
//! Writes are batched: each [`WriteBatch`] (one visit) is applied in a longer transaction that
//! commits every [`COMMIT_EVERY`] (and on [`SqlStore::flush`] and drop). A crash loses whole
//! visits only. A visit that fails half-way rolls the transaction back and the writer applies
//! the transaction's earlier batches again (it keeps them until the commit), so the failed
//! visit alone leaves no trace: per-visit savepoints did the same at 10 % of a crawl's time.

mod read;
pub mod schema;
pub mod urls;
pub mod views;
mod write;

use crate::write::WriteBatch;
use crate::{Result, StoreError};
use foldhash::HashMap as FastMap;
use foldhash::HashMapExt;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

pub use schema::SQL_SCHEMA_VERSION;

/// How long a transaction of the writer stays open before it is committed (and its visits
/// visible to readers; the committer thread looks every [`COMMITTER_TICK`]). Each commit
/// writes the pages it changed to the log, so hot index pages are written once per commit:
/// 250 ms instead of 100 ms took 8 % off a crawl of 20,050 new pages (BENCHMARKS.md).
pub const COMMIT_EVERY: Duration = Duration::from_millis(250);

/// How often the committer thread commits an old transaction and checkpoints the log.
const COMMITTER_TICK: Duration = Duration::from_millis(100);

/// Pages of write-ahead log at which the writer checkpoints by itself (SQLite's default is
/// 1,000): normally the committer thread has checkpointed long before.
const WRITER_AUTOCHECKPOINT: i64 = 16_384;

/// Size of the write-ahead log past which the committer makes SQLite start it over.
const WAL_RESTART_BYTES: u64 = 64 << 20;

/// URL ids kept in the writer's cache before it is cleared.
const URL_CACHE: usize = 200_000;

/// The one connection that writes, with its open transaction and id caches.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    /// When the open transaction began (`None`: no transaction open).
    pending_since: Option<Instant>,
    hosts: FastMap<String, i64>,
    urls: FastMap<String, (i64, i64)>,
    /// Reused zstd context for link sets.
    pub(crate) zstd: zstd::bulk::Compressor<'static>,
    /// Set at each commit; the committer thread checkpoints the log when it finds it set.
    committed: Arc<AtomicBool>,
    /// The batches applied in the open transaction, to apply again when a later one fails.
    applied: Vec<WriteBatch>,
}

impl Writer {
    fn begin(&mut self) -> Result<()> {
        if self.pending_since.is_none() {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.pending_since = Some(Instant::now());
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.pending_since.take().is_some() {
            self.applied.clear();
            self.conn.execute_batch("COMMIT")?;
            self.committed.store(true, Ordering::Release);
        }
        Ok(())
    }
}

impl Writer {
    /// Undo a failed batch: roll the open transaction back and apply its earlier batches
    /// again (the id caches may name rows of the rolled-back transaction: cleared).
    fn rollback_and_replay(&mut self) -> Result<()> {
        self.hosts.clear();
        self.urls.clear();
        let batches = std::mem::take(&mut self.applied);
        if self.pending_since.take().is_some() {
            self.conn.execute_batch("ROLLBACK")?;
        }
        if batches.is_empty() {
            return Ok(());
        }
        self.begin()?;
        for b in &batches {
            if let Err(e) = write::apply(self, b) {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.pending_since = None;
                self.hosts.clear();
                self.urls.clear();
                return Err(StoreError::LostVisits {
                    visits: batches.len(),
                    source: Box::new(e),
                });
            }
        }
        self.applied = batches;
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.commit();
    }
}

/// Held while a crawl writes; see [`SqlStore::crawl_lock`].
pub struct CrawlLock {
    _file: std::fs::File,
}

/// The SQLite store.
pub struct SqlStore {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    readers: Mutex<Vec<Connection>>,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    schema::configure(&conn)?;
    Ok(conn)
}

fn not_a_db(path: &Path, detail: impl Into<String>) -> StoreError {
    StoreError::NotADatabase {
        path: path.to_owned(),
        detail: detail.into(),
    }
}

impl SqlStore {
    /// Open or create the SQLite index at `path`, checking its schema version.
    pub fn open(path: &Path) -> Result<SqlStore> {
        if path.is_dir() {
            let detail = if path.join("conf").exists() && path.join("db").exists() {
                format!(
                    "it is a sled database directory; open it with --db sled:{p} or copy it into SQLite with `linkdiff migrate --from sled:{p} --to NEW.db`",
                    p = path.display()
                )
            } else {
                "it is a directory; --db names one SQLite file".into()
            };
            return Err(not_a_db(path, detail));
        }
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
        {
            return Err(StoreError::NoDirectory {
                path: path.to_owned(),
                dir: dir.to_owned(),
            });
        }
        let conn = open_conn(path).map_err(|e| not_a_db(path, e.to_string()))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| not_a_db(path, e.to_string()))?;
        if version == 0 {
            Self::create(&conn, path)?;
        } else if version < SQL_SCHEMA_VERSION {
            Self::migrate(&conn, path)?;
        } else if version != SQL_SCHEMA_VERSION {
            return Err(StoreError::UnknownSchema {
                path: path.to_owned(),
                found: version.to_string(),
                expected: SQL_SCHEMA_VERSION as u32,
            });
        }
        // The writer checkpoints only when the committer thread falls far behind (see
        // `spawn_committer`): a checkpoint's fsyncs on the writer's thread were a quarter of
        // its waits while a crawl ingests new pages.
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT)?;
        let committed = Arc::new(AtomicBool::new(false));
        let writer = Arc::new(Mutex::new(Writer {
            conn,
            committed: committed.clone(),
            applied: Vec::new(),
            pending_since: None,
            hosts: FastMap::new(),
            urls: FastMap::new(),
            zstd: zstd::bulk::Compressor::new(write::ZSTD_LEVEL).map_err(|source| {
                StoreError::Io {
                    what: "start the link-set compressor".into(),
                    source,
                }
            })?,
        }));
        spawn_committer(Arc::downgrade(&writer), path.to_owned(), committed);
        Ok(SqlStore {
            path: path.to_owned(),
            writer,
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Bring an index made by an earlier build up to [`SQL_SCHEMA_VERSION`], one step per
    /// transaction (another process may be doing the same: each step re-reads the version).
    fn migrate(conn: &Connection, path: &Path) -> Result<()> {
        loop {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version == SQL_SCHEMA_VERSION {
                conn.execute_batch("COMMIT")?;
                return Ok(());
            }
            let Some((_, steps)) = schema::MIGRATIONS.iter().find(|(from, _)| *from == version)
            else {
                conn.execute_batch("ROLLBACK")?;
                return Err(StoreError::UnknownSchema {
                    path: path.to_owned(),
                    found: version.to_string(),
                    expected: SQL_SCHEMA_VERSION as u32,
                });
            };
            if let Err(e) = steps.iter().try_for_each(|sql| conn.execute_batch(sql)) {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
            conn.pragma_update(None, "user_version", version + 1)?;
            conn.execute_batch("COMMIT")?;
        }
    }

    /// A new database: WAL, the schema, `user_version`. Refuses a SQLite file that holds
    /// other tables.
    fn create(conn: &Connection, path: &Path) -> Result<()> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != 0 {
            // Another process created it meanwhile.
            conn.execute_batch("COMMIT")?;
            return Ok(());
        }
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables > 0 {
            conn.execute_batch("ROLLBACK")?;
            return Err(not_a_db(
                path,
                "it is a SQLite file with other tables and no linkdiff schema version",
            ));
        }
        conn.execute_batch(schema::DDL)?;
        conn.execute_batch(views::VIEWS)?;
        conn.execute(
            "INSERT INTO meta(name, value) VALUES ('created_by', ?)",
            [concat!("linkdiff ", env!("CARGO_PKG_VERSION"))],
        )?;
        conn.pragma_update(None, "user_version", SQL_SCHEMA_VERSION)?;
        conn.execute_batch("COMMIT")?;
        // WAL can only be switched outside a transaction; it is stored in the file.
        conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Apply a batch inside the open transaction, all or nothing. When it fails, the whole
    /// transaction rolls back and the earlier batches of it are applied again; if that fails
    /// too (the disk is full, say), they are lost as in a crash, whole, and the error says so.
    pub fn apply(&self, w: WriteBatch) -> Result<()> {
        if w.is_empty() {
            return Ok(());
        }
        let mut wr = self.writer();
        wr.begin()?;
        if let Err(e) = write::apply(&mut wr, &w) {
            wr.rollback_and_replay()?;
            return Err(e);
        }
        wr.applied.push(w);
        if wr
            .pending_since
            .is_some_and(|t| t.elapsed() >= COMMIT_EVERY)
        {
            wr.commit()?;
        }
        Ok(())
    }

    /// Commit the open transaction: everything applied so far is durable and visible.
    pub fn flush(&self) -> Result<()> {
        self.writer().commit()
    }

    /// Run `f` in one read transaction on a reader connection (a consistent snapshot; other
    /// processes' writes go on meanwhile). Commits this process's pending writes first, so a
    /// query sees what this process wrote.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.flush().map_err(E::from)?;
        self.read_committed(f)
    }

    /// Like [`SqlStore::read`] without committing this process's pending writes first: the
    /// snapshot may miss the last [`COMMIT_EVERY`] of them, and the reader never waits for
    /// the writer. The crawl's fetch tasks read a page's validators and stored links this
    /// way: they blocked on the writer's lock while it applied a visit (a third of the
    /// runtime threads' waits at 50 × 400 pages, BENCHMARKS.md).
    pub fn read_committed<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => {
                let c = open_conn(&self.path).map_err(E::from)?;
                schema::configure_reader(&c).map_err(StoreError::from)?;
                c
            }
        };
        // Cached statements: parsing BEGIN and COMMIT on every read was ~3 % of a cheap
        // request's CPU on `serve`.
        let cached =
            |conn: &Connection, sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([]));
        cached(&conn, "BEGIN").map_err(StoreError::from)?;
        // The request's time limit: SQLite asks every 4,096 VM steps (a few microseconds)
        // whether to go on, and the statement fails with SQLITE_INTERRUPT once it has passed.
        let deadline = crate::deadline::current();
        if let Some(d) = deadline {
            conn.progress_handler(4096, Some(move || d.expired()))
                .map_err(StoreError::from)?;
        }
        let out = f(&conn);
        if deadline.is_some() {
            conn.progress_handler(0, None::<fn() -> bool>)
                .map_err(StoreError::from)?;
        }
        let out = match (out, deadline) {
            (Err(_), Some(d)) if d.expired() => Err(E::from(d.error())),
            (out, _) => out,
        };
        let end = cached(&conn, "COMMIT").map(drop).map_err(StoreError::from);
        if end.is_ok() {
            self.readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
        let out = out?;
        end?;
        Ok(out)
    }

    /// Spend `centirows` of token `name` atomically (read, check, write in one immediate
    /// transaction), so several servers and `token` commands keep one count. `Ok(Ok(left))`
    /// when spent, `Ok(Err(left))` when the quota is short; `None` when the token is gone.
    pub fn spend_token(&self, name: &str, centirows: u64) -> Result<Option<Result<u64, u64>>> {
        let mut wr = self.writer();
        wr.commit()?;
        wr.begin()?;
        let out = (|| -> Result<Option<Result<u64, u64>>> {
            let left: Option<i64> = rusqlite::OptionalExtension::optional(wr.conn.query_row(
                "SELECT centirows_left FROM tokens WHERE name = ?",
                [name],
                |r| r.get(0),
            ))?;
            let Some(left) = left.map(|l| l.max(0) as u64) else {
                return Ok(None);
            };
            if left < centirows {
                return Ok(Some(Err(left)));
            }
            wr.conn.execute(
                "UPDATE tokens SET centirows_left = ? WHERE name = ?",
                rusqlite::params![(left - centirows) as i64, name],
            )?;
            Ok(Some(Ok(left - centirows)))
        })();
        wr.commit()?;
        out
    }

    /// Take the crawl lock: an OS lock on `PATH-crawl.lock`, held until the guard drops (the
    /// OS releases it when the process dies, even by SIGKILL). SQLite lets any number of
    /// processes write in turn; this keeps a second *crawl* from interleaving its run with
    /// the first. The file holds the holder's pid for the message.
    pub fn crawl_lock(&self) -> Result<CrawlLock> {
        use std::io::{Read, Seek, Write};
        let mut p = self.path.clone().into_os_string();
        p.push("-crawl.lock");
        let path = PathBuf::from(p);
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| StoreError::Io {
                what: format!("open {}", path.display()),
                source,
            })?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = f.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(StoreError::WriterBusy {
                    path: self.path.clone(),
                    pid: if pid.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {pid})")
                    },
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    what: format!("lock {}", path.display()),
                    source,
                })
            }
        }
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = write!(f, "{}", std::process::id());
        let _ = f.flush();
        Ok(CrawlLock { _file: f })
    }

    /// Fold the write-ahead log into the database file (benchmarks measure the file alone).
    pub fn checkpoint(&self) -> Result<()> {
        let wr = self.writer();
        wr.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Bytes of each table and index in the file (SQLite's `dbstat`), largest first.
    pub fn table_sizes(&self) -> Result<Vec<(String, u64)>> {
        let wr = self.writer();
        let mut st = wr
            .conn
            .prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Bytes on disk: the database file and its write-ahead log.
    pub fn size_on_disk(&self) -> Result<u64> {
        let mut total = 0;
        for suffix in ["", "-wal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            total += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
        }
        Ok(total)
    }
}

/// Commit the writer's open transaction once it is [`COMMIT_EVERY`] old, even when no more
/// visits arrive (a slow crawl's last visit becomes visible to `serve` within that time), and
/// checkpoint the write-ahead log after commits on a connection of its own, so the fsyncs of
/// a checkpoint do not stall the writer (passive: readers are never waited for; the writer's
/// own automatic checkpoint at [`WRITER_AUTOCHECKPOINT`] pages remains as a backstop).
///
/// SQLite reuses the log from its start only when a write transaction begins with every
/// frame already copied back, which the writer's back-to-back transactions rarely allow; so
/// once the log passes [`WAL_RESTART_BYTES`], the thread commits and checkpoints on the
/// writer's connection itself (a short stall: the frames are mostly copied already), and the
/// next transaction starts the log over.
fn spawn_committer(w: Weak<Mutex<Writer>>, path: PathBuf, committed: Arc<AtomicBool>) {
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let _ = std::thread::Builder::new()
        .name("linkdiff-commit".into())
        .spawn(move || loop {
            std::thread::sleep(COMMITTER_TICK);
            let Some(w) = w.upgrade() else { return };
            if let Ok(mut wr) = w.try_lock() {
                let long = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_RESTART_BYTES);
                if long
                    || wr
                        .pending_since
                        .is_some_and(|t| t.elapsed() >= COMMIT_EVERY)
                {
                    let _ = wr.commit();
                }
                if long {
                    let _ = wr
                        .conn
                        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    committed.store(false, Ordering::Release);
                }
            };
            drop(w);
            if committed.swap(false, Ordering::AcqRel) {
                // Opened for each checkpoint: a connection left open would keep the last
                // one closed at exit from removing the log.
                if let Ok(c) = open_conn(&path) {
                    let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            }
        });
}
