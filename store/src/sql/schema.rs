//! The SQLite schema (version 11), connection settings and the SQL functions linkdiff adds.
//!
//! Written down for users in ARCHITECTURE.md ("SQLite schema"); any change bumps
//! [`SQL_SCHEMA_VERSION`] (stored as `PRAGMA user_version`).

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::time::Duration;

/// `PRAGMA user_version` of the SQLite layout this build reads and writes.
pub const SQL_SCHEMA_VERSION: i64 = 11;

/// Upgrades from an older `user_version` to the next, applied in order on open (each in one
/// transaction). 3 → 4 added `pages.broken_since` (unknown for pages visited before: set by
/// their next broken visit); 4 → 5 added `events.reason` (NULL for events recorded before) and
/// `events.recovered`; 5 → 6 added `outbox` (rows a ClickHouse crawl worker has yet to send);
/// 6 → 7 added `validators` (conditional recrawls: every page's first revisit fetches it whole);
/// 7 → 8 added the readable views (`super::views::VIEWS`, now made by 9 → 10); 8 → 9 added `ratings` (rating
/// history: empty until the next `rank`, so history starts there); 9 → 10 added
/// `backlinks.rendered` (0 for links recorded before: an older build never rendered) and the
/// views' `rendered` column; 10 → 11 added `domains.source` (0: computed over the crawl,
/// else the code of the imported list a domain's rating came from).
pub const MIGRATIONS: &[(i64, &[&str])] = &[
    (3, &["ALTER TABLE pages ADD COLUMN broken_since INTEGER"]),
    (
        4,
        &["ALTER TABLE events ADD COLUMN reason INTEGER;
         ALTER TABLE events ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0"],
    ),
    (
        5,
        &["CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY, rows TEXT NOT NULL)"],
    ),
    (6, &[VALIDATORS_DDL]),
    // The views read `backlinks.rendered`: created by 9 → 10, after the column.
    (7, &[]),
    (8, &[RATINGS_DDL]),
    (
        9,
        &[
            "ALTER TABLE backlinks ADD COLUMN rendered INTEGER NOT NULL DEFAULT 0",
            super::views::VIEWS,
        ],
    ),
    (
        10,
        &["ALTER TABLE domains ADD COLUMN source INTEGER NOT NULL DEFAULT 0"],
    ),
];

/// The `ratings` table (version 9): each domain's and page's rating as it became on a day,
/// one row per change (`kind` 0 domain, 1 page).
const RATINGS_DDL: &str = "CREATE TABLE IF NOT EXISTS ratings(
  kind INTEGER NOT NULL, name TEXT NOT NULL, day INTEGER NOT NULL, rating INTEGER NOT NULL,
  PRIMARY KEY(kind, name, day)
) WITHOUT ROWID";

/// The `validators` table (version 7): a page's `ETag`, `Last-Modified`, body hash and
/// unchanged-visit count, keyed by its URL id.
const VALIDATORS_DDL: &str = "CREATE TABLE IF NOT EXISTS validators(
  page INTEGER PRIMARY KEY, etag TEXT NOT NULL, last_modified TEXT NOT NULL,
  body_hash INTEGER NOT NULL, unchanged INTEGER NOT NULL, at INTEGER NOT NULL
)";

/// How long a connection waits for another process's write transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Every table, index and view. Hosts are stored once, reversed (`com.example.www.`) so a
/// host and its subdomains are one index range, with their domain's rating copied in (so
/// ordering by `domain_rating` needs no join); URLs are `(host, tail, scheme)` with an
/// integer id; every referring page has a `pages` row (same id); backlinks and events are
/// clustered by target URL id (`WITHOUT ROWID`).
pub const DDL: &str = r#"
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE hosts(
  id INTEGER PRIMARY KEY,
  rhost TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  domain TEXT NOT NULL,
  domain_rating INTEGER NOT NULL DEFAULT 0,
  ahrefs_top INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX hosts_by_domain ON hosts(domain);
CREATE TABLE urls(
  id INTEGER PRIMARY KEY,
  host_id INTEGER NOT NULL,
  tail TEXT NOT NULL,
  scheme NOT NULL
);
CREATE UNIQUE INDEX urls_by_host ON urls(host_id, tail, scheme);
CREATE TABLE pages(
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  host_id INTEGER NOT NULL,
  first_visit INTEGER, last_visit INTEGER, last_ok_visit INTEGER, first_ok_visit INTEGER,
  prev_ok_visit INTEGER,
  last_status INTEGER NOT NULL, consecutive_failures INTEGER NOT NULL, dropped INTEGER NOT NULL,
  title TEXT NOT NULL, language TEXT NOT NULL, encoding TEXT NOT NULL, page_size INTEGER NOT NULL,
  ip TEXT NOT NULL, links_internal INTEGER NOT NULL, links_external INTEGER NOT NULL,
  url_rating INTEGER NOT NULL, depth INTEGER NOT NULL, last_run INTEGER NOT NULL,
  broken_since INTEGER
);
CREATE TABLE linksets(page INTEGER PRIMARY KEY, live_links INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE backlinks(
  target INTEGER NOT NULL, page INTEGER NOT NULL, link_type INTEGER NOT NULL,
  anchor TEXT NOT NULL, n INTEGER NOT NULL,
  live INTEGER NOT NULL, nofollow INTEGER NOT NULL, redirect INTEGER NOT NULL,
  alt TEXT NOT NULL, text_pre TEXT NOT NULL, text_post TEXT NOT NULL,
  first_seen INTEGER NOT NULL, streak_start INTEGER NOT NULL, before_streak INTEGER,
  last_seen INTEGER NOT NULL, prev_seen INTEGER, original INTEGER NOT NULL,
  rendered INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(target, page, link_type, anchor, n)
) WITHOUT ROWID;
CREATE TABLE events(
  target INTEGER NOT NULL, time INTEGER NOT NULL, page INTEGER NOT NULL,
  link_type INTEGER NOT NULL, anchor TEXT NOT NULL, n INTEGER NOT NULL, kind INTEGER NOT NULL,
  origin INTEGER NOT NULL, http_code INTEGER NOT NULL,
  links_internal INTEGER NOT NULL, links_external INTEGER NOT NULL, reason INTEGER,
  recovered INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(target, time, page, link_type, anchor, n, kind)
) WITHOUT ROWID;
CREATE TABLE daily(
  host INTEGER NOT NULL, day INTEGER NOT NULL, new INTEGER NOT NULL, lost INTEGER NOT NULL,
  PRIMARY KEY(host, day)
) WITHOUT ROWID;
CREATE TABLE domains(
  name TEXT PRIMARY KEY, domain_rating INTEGER NOT NULL, raw REAL NOT NULL,
  ahrefs_top INTEGER NOT NULL, source INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE frontier(
  url TEXT PRIMARY KEY, depth INTEGER NOT NULL, redirects INTEGER NOT NULL, run INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE runs(
  id INTEGER PRIMARY KEY, as_of INTEGER NOT NULL, started INTEGER NOT NULL, finished INTEGER,
  fetched INTEGER NOT NULL, new_pages INTEGER NOT NULL, errors INTEGER NOT NULL,
  bytes INTEGER NOT NULL, error_kinds TEXT NOT NULL, config TEXT NOT NULL
);
CREATE TABLE tokens(
  name TEXT PRIMARY KEY, hash TEXT NOT NULL, rows_limit INTEGER NOT NULL,
  centirows_left INTEGER NOT NULL, created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE outbox(seq INTEGER PRIMARY KEY, rows TEXT NOT NULL);
CREATE TABLE validators(
  page INTEGER PRIMARY KEY, etag TEXT NOT NULL, last_modified TEXT NOT NULL,
  body_hash INTEGER NOT NULL, unchanged INTEGER NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE ratings(
  kind INTEGER NOT NULL, name TEXT NOT NULL, day INTEGER NOT NULL, rating INTEGER NOT NULL,
  PRIMARY KEY(kind, name, day)
) WITHOUT ROWID;
CREATE TABLE link_types(code INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO link_types VALUES
  (0,'href'),(1,'redirect'),(2,'frame'),(3,'form'),(4,'canonical'),(5,'rss'),(6,'alternate');
CREATE VIEW url_text AS
  SELECT u.id AS id,
         CASE WHEN typeof(u.scheme) = 'text' THEN u.scheme
              ELSE (CASE u.scheme WHEN 1 THEN 'https://' ELSE 'http://' END) || h.host || u.tail
         END AS url,
         h.host AS host, h.domain AS domain
  FROM urls u JOIN hosts h ON h.id = u.host_id;
"#;

/// SQL for the text of URL `u` on host `h` (aliases of `urls` and `hosts`).
pub fn url_expr(u: &str, h: &str) -> String {
    format!(
        "(CASE WHEN typeof({u}.scheme) = 'text' THEN {u}.scheme ELSE (CASE {u}.scheme WHEN 1 THEN 'https://' ELSE 'http://' END) || {h}.host || {u}.tail END)"
    )
}

/// Settings every connection gets: WAL (set once, persistent), `synchronous=NORMAL` (a crash
/// of the machine may lose the last commits, never corrupt), a busy timeout so concurrent
/// writers wait instead of failing, the query planner stability guarantee, and linkdiff's SQL
/// functions.
///
/// Without the guarantee this SQLite build (STAT4) re-prepares a cached statement whenever a
/// parameter the planner looked at is bound again, i.e. on every visit the writer applies and
/// every API request (measured: 7 % of the writer's time in a crawl, 40 % of a server's CPU on
/// cheap requests). No plan here depends on parameter values: there are no statistics tables,
/// no partial indexes and no `LIKE` on parameters, and `LIMIT`/`OFFSET` are literals.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    add_functions(conn)
}

/// Reader connections (queries) also map up to 256 MiB of the file: large scans read it
/// without copies. The writer does not: mapped pages count in a crawl's resident memory.
pub fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "mmap_size", 268_435_456i64)
}

/// `ld_word(text, needle)`: `needle` (lowercase) is a whole word of `text` (split at
/// non-alphanumerics, ASCII case-insensitive); `ld_subdomain(url, host)`: the URL's host is
/// `host` or a subdomain of it (the `where` functions of the query language);
/// `ld_class_c(ip)`: [`linkdiff_model::class_c`] (`refdomains` stats); `ld_domain_kind(domain,
/// kind)`: [`linkdiff_model::domain_kind`] (`metrics` gov/edu).
fn add_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("ld_word", 2, flags, |ctx| {
        let s = ctx.get_raw(0).as_str().unwrap_or("");
        let needle = ctx.get_raw(1).as_str().unwrap_or("");
        Ok(s.to_ascii_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| w == needle))
    })?;
    conn.create_scalar_function("ld_subdomain", 2, flags, |ctx| {
        let s = ctx.get_raw(0).as_str().unwrap_or("");
        let needle = ctx.get_raw(1).as_str().unwrap_or("");
        let h = linkdiff_model::url_host(s).to_ascii_lowercase();
        Ok(h == needle || h.ends_with(&format!(".{needle}")))
    })?;
    conn.create_scalar_function("ld_class_c", 1, flags, |ctx| {
        Ok(linkdiff_model::class_c(
            ctx.get_raw(0).as_str().unwrap_or(""),
        ))
    })?;
    conn.create_scalar_function("ld_domain_kind", 2, flags, |ctx| {
        let domain = ctx.get_raw(0).as_str().unwrap_or("");
        Ok(linkdiff_model::domain_kind(
            domain,
            ctx.get_raw(1).as_str().unwrap_or(""),
        ))
    })?;
    Ok(())
}
