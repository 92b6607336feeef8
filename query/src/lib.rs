//! The Ahrefs v2 query language over a linkdiff index (SPEC §6): the column catalogue with
//! typed column ids, the `where`/`having` parser, the logical [`Plan`], and its executors —
//! SQL for the SQLite store ([`exec_sql`]: filtering, grouping, ordering and counting run in
//! the database), its ClickHouse dialect ([`exec_ch`], the tables compiled so far) and Rust
//! over typed scans ([`exec_rust`]: the key-value store, and what `exec_ch` does not compile).
//! Each checks the others in differential tests. Wire formats (JSON/XML/PHP roots, row costs) belong to the binary.

#![deny(missing_docs)]

pub mod catalogue;
mod changes;
mod error;
pub mod exec_ch;
pub mod exec_rust;
pub mod exec_sql;
pub mod filter;
pub mod plan;
pub mod time;
pub mod value;

#[cfg(test)]
mod tests;

pub use catalogue::{Col, ColType, Column, Table, UnknownTable};
pub use changes::{Changes, PeriodChanges, ReferringChanges};
pub use error::{QueryError, Result, SyntaxError};
pub use filter::Filter;
pub use plan::{parse_clause, plan, Plan, QueryParams, MAX_LIMIT};
pub use value::Value;

use linkdiff_store::Store;

/// Print compiled statements (SQLite and ClickHouse) to stderr when `LINKDIFF_DEBUG_SQL` is
/// set, to read or EXPLAIN them. The variable is read once per process.
pub(crate) fn debug_sql(sql: &str) {
    if debug_level() > 0 {
        eprintln!("{sql};");
    }
}

/// `LINKDIFF_DEBUG_SQL`: 0 unset, 1 set (statements), 2 `plan` (SQLite's query plans too).
fn debug_level() -> u8 {
    static LEVEL: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var_os("LINKDIFF_DEBUG_SQL") {
        None => 0,
        Some(v) if v == "plan" => 2,
        Some(_) => 1,
    })
}

/// A query's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The table.
    pub table: Table,
    /// Selected columns, in output order.
    pub columns: Vec<&'static Column>,
    /// Rows, cells in `columns` order.
    pub rows: Vec<Vec<Value>>,
    /// The `stats` sub-table, named counts over all groups passing the filters (not only the
    /// rows returned): `anchors` backlinks and refpages, `refdomains` refdomains, ips and
    /// class_c. Empty for the other tables.
    pub stats: Vec<(&'static str, u64)>,
}

/// Which executor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    /// SQL on the SQLite store (the default there).
    Sql,
    /// Rust over the store's typed scans (the key-value store; any store in tests).
    Rust,
    /// ClickHouse SQL (the ClickHouse store's default), falling back to `Rust` for plans not
    /// compiled to it yet.
    ClickHouse,
}

/// Answer a query with the store's own executor.
pub fn run(store: &Store, table: Table, p: &QueryParams) -> Result<QueryResult> {
    let exec = if store.sql().is_some() {
        Executor::Sql
    } else if store.clickhouse().is_some() {
        Executor::ClickHouse
    } else {
        Executor::Rust
    };
    run_with(store, table, p, exec)
}

/// Answer a query with a chosen executor (`Sql` needs the SQLite store, `ClickHouse` the
/// ClickHouse one; otherwise the Rust executor answers).
pub fn run_with(
    store: &Store,
    table: Table,
    p: &QueryParams,
    exec: Executor,
) -> Result<QueryResult> {
    let plan = plan(table, p)?;
    match (exec, store.sql(), store.clickhouse()) {
        (Executor::Sql, Some(sql), _) => {
            if debug_level() == 2 {
                let wide = exec_sql::wide(sql, &plan)?;
                for (_, steps) in exec_sql::explain(
                    sql,
                    &Plan {
                        wide,
                        ..plan.clone()
                    },
                )? {
                    for s in steps {
                        eprintln!("-- plan {} <- {}: {}", s.id, s.parent, s.detail);
                    }
                }
            }
            exec_sql::run(sql, &plan)
        }
        (Executor::ClickHouse, _, Some(ch)) => match exec_ch::run(ch, &plan)? {
            Some(answer) => Ok(answer),
            None => exec_rust::run(store, &plan),
        },
        _ => exec_rust::run(store, &plan),
    }
}

/// Referring hosts and registrable domains of `scope` gained and lost on or after `since` (a
/// day start, Unix seconds), by the `refdomains_new_lost` rule (DataForSEO's referring
/// domains and main domains).
pub fn referring_changes(
    store: &Store,
    scope: &linkdiff_model::Target,
    since: i64,
) -> Result<ReferringChanges> {
    if let Some(ch) = store.clickhouse() {
        if let Some(c) = exec_ch::referring_changes(ch, scope, since)? {
            return Ok(c);
        }
    }
    match store.sql() {
        Some(sql) => exec_sql::referring_changes(sql, scope, since),
        None => exec_rust::referring_changes(store, scope, since),
    }
}

/// Per day of `scope` with any change: new and lost backlinks, referring hosts and referring
/// domains (DataForSEO's time series). Keyed by the day's start, Unix seconds.
pub fn daily_changes(
    store: &Store,
    scope: &linkdiff_model::Target,
) -> Result<std::collections::BTreeMap<i64, PeriodChanges>> {
    exec_rust::daily_changes(store, scope)
}
