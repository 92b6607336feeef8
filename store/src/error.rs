use std::path::PathBuf;

/// Every way a store operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("storage backend error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// sled reported an I/O or internal error.
    #[error("storage backend error: {0}")]
    Sled(#[from] sled::Error),
    /// A file of the index could not be opened, locked, listed or compressed into.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done (`open /path/x.db-crawl.lock`).
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A write failed, and so did re-applying the visits of the open transaction after the
    /// rollback (disk full): those visits are lost whole, as in a crash, and will be fetched
    /// again.
    #[error("{visits} visits not yet committed were lost after a failed write: {source}")]
    LostVisits {
        /// Visits lost.
        visits: usize,
        /// Why the re-application failed.
        source: Box<StoreError>,
    },
    /// The database was written by a schema version this build does not know.
    #[error("the database at {path} has schema version {found}, but this linkdiff understands only version {expected}; use a matching linkdiff release")]
    UnknownSchema {
        /// Database location.
        path: PathBuf,
        /// Version found in the `meta` tree.
        found: String,
        /// Version this build writes.
        expected: u32,
    },
    /// The path exists but is not a linkdiff database.
    #[error("{path} is not a linkdiff database ({detail})")]
    NotADatabase {
        /// Path that was opened.
        path: PathBuf,
        /// What was found there.
        detail: String,
    },
    /// Another process (a running `serve` or `crawl`) holds the database.
    #[error("the database {path} is in use by another linkdiff process (a running serve or crawl); stop it first")]
    Locked {
        /// Database location.
        path: PathBuf,
    },
    /// The database file's directory does not exist (a new index is created only in an
    /// existing directory).
    #[error("cannot create {path}: the directory {dir} does not exist")]
    NoDirectory {
        /// Database location.
        path: PathBuf,
        /// Its missing parent.
        dir: PathBuf,
    },
    /// Another process holds the writer lock (a second `crawl` on the same index).
    #[error("another linkdiff process{pid} is crawling into {path}; wait for it to finish or stop it, then run again")]
    WriterBusy {
        /// Database location.
        path: PathBuf,
        /// ` (pid N)` when known, else empty.
        pid: String,
    },
    /// A command that only reads (or edits) an index was pointed at one that does not exist:
    /// nothing was created, so a mistyped `--db` never looks like an empty index.
    #[error("no index at {location}")]
    NoIndex {
        /// The path, or the ClickHouse database and server.
        location: String,
        /// The location names a ClickHouse database (created by `clickhouse init`, not a crawl).
        clickhouse: bool,
    },
    /// A read ran past the request's time limit (see [`crate::deadline`]) and was stopped.
    #[error("the query ran longer than {seconds} s; narrow the target or raise {flag}")]
    TimedOut {
        /// The limit, in seconds.
        seconds: f64,
        /// The option that sets it.
        flag: &'static str,
    },
    /// A stored value could not be decoded.
    #[error("corrupt record under key {key}: {detail}")]
    Corruption {
        /// The key, printed lossily.
        key: String,
        /// Decoder message.
        detail: String,
    },
    /// A ClickHouse server refused a statement or did not answer.
    #[error("ClickHouse at {server}: {}", match status {
        Some(code) => format!("HTTP {code}: {detail}"),
        None => detail.clone(),
    })]
    ClickHouse {
        /// `http://HOST:PORT`.
        server: String,
        /// The HTTP status the server answered with; `None` when it did not answer (refused,
        /// reset, timed out) or the answer could not be read.
        status: Option<u16>,
        /// The server's own message, or what went wrong on the way.
        detail: String,
    },
    /// A write was aborted on purpose (failure injection in tests) or by a caller's check.
    #[error("write aborted: {0}")]
    Aborted(String),
}
