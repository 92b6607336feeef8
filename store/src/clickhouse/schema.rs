//! The ClickHouse tables: every one a `ReplacingMergeTree(ver)`, so a row written again (a
//! resumed worker resending its outbox, a visit applied twice) replaces the earlier one instead
//! of adding to it, and reads use `FINAL`. Link state is versioned rows, events append-only
//! rows keyed like the SQLite primary key.
//!
//! Written for ClickHouse 18.16 (Debian's package) and current releases: no `LowCardinality`
//! (experimental there), no query parameters, no `ON CLUSTER` (it needs ZooKeeper; with a
//! cluster the tables are created on each server named in `--db`, and `Distributed` tables
//! over the cluster carry the plain names).

use super::client::Client;
use crate::Result;

/// Layout version, kept in `meta` as `clickhouse_schema`.
pub const CH_SCHEMA_VERSION: u32 = 1;

/// `(table, columns, ORDER BY, sharding key)`. Rows of one key always go to one shard (the
/// sharding key is a function of the key), so `FINAL` sees every version of a row.
pub const TABLES: &[(&str, &str, &str, &str)] = &[
    (
        "links",
        "tkey String, url_to String, url_from String, link_type UInt8, anchor String, n UInt16,
         live UInt8, nofollow UInt8, redirect UInt16, alt String, text_pre String,
         text_post String, first_seen Int64, streak_start Int64,
         before_streak Nullable(Int64), last_seen Int64, prev_seen Nullable(Int64),
         original UInt8, external UInt8, rendered UInt8 DEFAULT 0, ver UInt64",
        "tkey, url_from, link_type, anchor, n, url_to",
        "cityHash64(url_from)",
    ),
    (
        "events",
        "tkey String, url_to String, time Int64, url_from String, link_type UInt8,
         anchor String, n UInt16, kind UInt8, origin UInt8, http_code UInt16,
         links_internal UInt32, links_external UInt32, reason Nullable(UInt8), ver UInt64",
        "tkey, time, url_from, link_type, anchor, n, kind, url_to",
        "cityHash64(url_from)",
    ),
    (
        "recovered",
        "url_to String, time Int64, url_from String, link_type UInt8, anchor String,
         n UInt16, ver UInt64",
        "url_to, time, url_from, link_type, anchor, n",
        "cityHash64(url_from)",
    ),
    (
        "pages",
        "url String, first_visit Nullable(Int64), last_visit Nullable(Int64),
         last_ok_visit Nullable(Int64), first_ok_visit Nullable(Int64),
         prev_ok_visit Nullable(Int64), last_status UInt16, consecutive_failures UInt8,
         dropped UInt8, title String, language String, encoding String, page_size UInt64,
         ip String, links_internal UInt32, links_external UInt32, depth UInt16,
         last_run UInt64, broken_since Nullable(Int64), domain String, host String, class_c String, tkey String,
         ver UInt64",
        "url",
        "cityHash64(url)",
    ),
    (
        "ratings",
        "kind UInt8, name String, day Int64, rating UInt8, ver UInt64",
        "kind, name, day",
        "cityHash64(name)",
    ),
    (
        "url_ratings",
        "url String, url_rating UInt8, ver UInt64",
        "url",
        "cityHash64(url)",
    ),
    (
        "linksets",
        "url_from String, targets Array(String), ver UInt64",
        "url_from",
        "cityHash64(url_from)",
    ),
    (
        "domains",
        "name String, domain_rating UInt8, raw Float64, ahrefs_top UInt64, source UInt8 DEFAULT 0, ver UInt64",
        "name",
        "cityHash64(name)",
    ),
    (
        "meta",
        "name String, value String, deleted UInt8, ver UInt64",
        "name",
        "cityHash64(name)",
    ),
    (
        "runs",
        "worker String, id UInt64, as_of Int64, started Int64, finished Nullable(Int64),
         fetched UInt64, new_pages UInt64, errors UInt64, bytes UInt64, error_kinds String,
         config String, ver UInt64",
        "worker, id",
        "cityHash64(worker)",
    ),
    (
        "tokens",
        "name String, hash String, rows_limit UInt64, centirows_left UInt64, created Int64,
         deleted UInt8, ver UInt64",
        "name",
        "cityHash64(name)",
    ),
];

/// The readable `v_events` view (as SQLite's, `crate::sql::views`): one row per new or lost
/// event with its day and time as ISO 8601 text, type, origin, reason and link type as words,
/// and the target's host. The other SQLite views join five tables each, which 18.16 (one JOIN
/// per SELECT, no joins on `Distributed` tables without `GLOBAL`) cannot say as a view; the
/// ClickHouse `links` and `events` tables already hold URLs as text. No `domain_to` /
/// `domain_from` here: ClickHouse has no public-suffix registrable domain. Times are built from
/// `toString` (not `formatDateTime`: `%M` is the minute on 18.16 and the month's name on
/// current releases, as the replay on chDB showed).
pub fn events_view(database: &str) -> String {
    format!(
        "CREATE VIEW IF NOT EXISTS {database}.v_events AS
         SELECT toString(toDate(toDateTime(t, 'UTC'))) AS date,
           concat(replaceOne(toString(toDateTime(t, 'UTC')), ' ', 'T'), 'Z') AS time,
           if(kind = 0, 'new', 'lost') AS type,
           transform(o, [0, 1, 2], ['fresh', 'recrawl', 'drop'], '') AS origin,
           if(isNull(why), NULL, transform(assumeNotNull(why), [0, 1, 2, 3, 4, 5, 6, 7],
             ['removedfromhtml', 'notfound', 'pageredirected', 'pageerror', 'noindex',
              'notcanonical', 'robotsblocked', 'lostredirect'], '')) AS reason,
           (url_to, t, url_from, lt, anchor, n) GLOBAL IN
             (SELECT url_to, time, url_from, link_type, anchor, n FROM {database}.recovered)
             AS recovered,
           url_from, url_to,
           transform(lt, [0, 1, 2, 3, 4, 5, 6],
             ['href', 'redirect', 'frame', 'form', 'canonical', 'rss', 'alternate'], '')
             AS link_type,
           anchor, http_code, domain(url_to) AS host_to
         FROM (SELECT time AS t, kind, origin AS o, reason AS why, url_from, url_to,
                 link_type AS lt, anchor, n, http_code
               FROM {database}.events FINAL)"
    )
}

/// Columns added to a table after its first layout, `(table, column, type)`: a database made
/// by an older build gains them when opened ([`add_missing_columns`]; rows written before read
/// the default).
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("links", "rendered", "UInt8 DEFAULT 0"),
    ("domains", "source", "UInt8 DEFAULT 0"),
];

/// Add every column of [`ADDED_COLUMNS`] its table lacks, on every server (the `*_local`
/// table first with a cluster, then the `Distributed` one). 18.16 has no `ADD COLUMN IF NOT
/// EXISTS`, so `system.columns` is asked first.
pub fn add_missing_columns(servers: &[Client], database: &str, cluster: bool) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct N {
        n: u64,
    }
    for c in servers {
        for (table, column, ty) in ADDED_COLUMNS {
            let local = format!("{table}_local");
            let names: Vec<&str> = if cluster {
                vec![&local, table]
            } else {
                vec![table]
            };
            for name in names {
                let has: Vec<N> = c.select(&format!(
                    "SELECT count() AS n FROM system.columns WHERE database = {} AND table = {} \
                     AND name = {}",
                    super::quote(database),
                    super::quote(name),
                    super::quote(column)
                ))?;
                if has.first().is_some_and(|n| n.n == 0) {
                    c.execute(&format!(
                        "ALTER TABLE {database}.{name} ADD COLUMN {column} {ty}"
                    ))?;
                }
            }
        }
    }
    Ok(())
}

/// Create the database and every table where missing. `cluster`: create `*_local` tables on
/// every server and `Distributed` tables named as the plain ones over the cluster.
pub fn create(servers: &[Client], database: &str, cluster: Option<&str>) -> Result<()> {
    for c in servers {
        c.execute(&format!("CREATE DATABASE IF NOT EXISTS {database}"))?;
        for (name, cols, order, shard) in TABLES {
            let local = match cluster {
                Some(_) => format!("{name}_local"),
                None => name.to_string(),
            };
            c.execute(&format!(
                "CREATE TABLE IF NOT EXISTS {database}.{local} ({cols})
                 ENGINE = ReplacingMergeTree(ver) ORDER BY ({order})"
            ))?;
            if let Some(cluster) = cluster {
                c.execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {database}.{name} AS {database}.{local}
                     ENGINE = Distributed({cluster}, {database}, {local}, {shard})"
                ))?;
            }
        }
        c.execute(&events_view(database))?;
    }
    Ok(())
}
