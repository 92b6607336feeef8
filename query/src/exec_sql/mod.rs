//! The SQL executor: compiles a plan into one SQL statement with bound parameters (values
//! are never spliced into SQL text) and runs it on a read snapshot of the SQLite store.
//! Filtering, grouping, `having`, ordering, counters, anchors and `stats` run in SQLite.

use crate::catalogue::{Col, ColType, Column, Table};
use crate::changes::{Changes, ReferringChanges};
use crate::error::Result;
use crate::exec_rust::{anchors_row_col, refdomains_row_col};
use crate::filter::{Cond, Func, Lit, Op, Test};
use crate::plan::Plan;
use crate::value::Value;
use crate::QueryResult;
use linkdiff_model::Target;
use linkdiff_store::rusqlite::types::{Value as Sql, ValueRef};
use linkdiff_store::rusqlite::{params_from_iter, Connection};
use linkdiff_store::sql::schema::url_expr;
use linkdiff_store::sql::urls::scope_condition;
use linkdiff_store::sql::SqlStore;

mod pieces;
mod statements;
use pieces::*;
use statements::*;

/// A SQL statement under construction: text and its parameters in order.
#[derive(Debug, Default, Clone)]
pub struct Stmt {
    /// SQL text with `?` placeholders.
    pub sql: String,
    /// Bound values, in placeholder order.
    pub params: Vec<Sql>,
}

impl Stmt {
    fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }
    fn bind(&mut self, v: Sql) {
        self.sql.push('?');
        self.params.push(v);
    }
}

/// Whether `scope` covers at least a quarter of the index's hosts (only a `subdomains` scope
/// can, e.g. a whole TLD): then reading the rows table whole beats walking the scope's URLs.
/// Counted on the `rhost` index: milliseconds for 50,000 hosts.
fn is_wide(conn: &Connection, scope: &Target) -> Result<bool> {
    if !matches!(scope, Target::Subdomains(_)) {
        return Ok(false);
    }
    let (cond, params) = scope_condition(scope);
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM hosts h WHERE {cond}"))?
        .query_row(params_from_iter(params.iter()), |r| r.get(0))?;
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM hosts")?
        .query_row([], |r| r.get(0))?;
    Ok(n > 0 && n * 4 >= total)
}

/// The SQL of `plan` (for `EXPLAIN` and tests).
pub fn compile(plan: &Plan) -> Stmt {
    match plan.table {
        Table::Backlinks | Table::OnePerDomain | Table::BrokenBacklinks | Table::NewLost => {
            flat_stmt(plan)
        }
        Table::Counters => counters_stmt(plan),
        Table::Anchors => anchors_stmt(plan),
        Table::Refdomains => refdomains_stmt(plan),
        Table::RefdomainsNewLost | Table::RefdomainsCounters => refdomains_new_lost_stmt(plan),
        Table::Metrics | Table::MetricsExtended => metrics_stmt(plan),
        Table::AhrefsRank | Table::PagesExtended => pages_stmt(plan),
    }
}

/// A cell read in place (no owned `rusqlite::types::Value` in between: that copy and its
/// conversion were ~15 % of a cheap `backlinks` request's instructions).
fn cell(ty: ColType, v: ValueRef<'_>) -> Value {
    let int = match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) => Some(f as i64),
        _ => None,
    };
    match ty {
        ColType::Int => Value::Int(int.unwrap_or(0)),
        ColType::Bool => Value::Bool(int.unwrap_or(0) != 0),
        ColType::Time => Value::Time(int),
        ColType::Date => Value::Date(int.unwrap_or(0)),
        ColType::Str => Value::Str(match v {
            ValueRef::Text(s) => match std::str::from_utf8(s) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(s).into_owned(),
            },
            ValueRef::Null => String::new(),
            other => format!("{other:?}"),
        }),
    }
}

fn rows(conn: &Connection, st: &Stmt, cols: &[&'static Column]) -> Result<Vec<Vec<Value>>> {
    crate::debug_sql(&st.sql);
    let mut stmt = conn.prepare_cached(&st.sql)?;
    let n = stmt.column_count();
    let mut out = Vec::new();
    let mut it = stmt.query(params_from_iter(st.params.iter()))?;
    while let Some(r) = it.next()? {
        let mut row = Vec::with_capacity(n);
        for (i, c) in cols.iter().enumerate() {
            row.push(cell(c.ty, r.get_ref(i)?));
        }
        out.push(row);
    }
    Ok(out)
}

/// The statements `plan` compiles to (rows, then `stats` where the table has them).
pub fn statements(plan: &Plan) -> Vec<Stmt> {
    let mut out = vec![compile(plan)];
    match plan.table {
        Table::Anchors => out.push(anchors_stats_stmt(plan)),
        Table::Refdomains => out.push(refdomains_stats_stmt(plan)),
        _ => {}
    }
    out
}

/// One line of SQLite's `EXPLAIN QUERY PLAN`: its id, its parent's id and what it does
/// (`SCAN b`, `SEARCH u USING INDEX …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// The step's id.
    pub id: i64,
    /// The enclosing step's id (0 at the top).
    pub parent: i64,
    /// SQLite's description.
    pub detail: String,
}

/// How the bundled SQLite will run each statement of `plan` (`EXPLAIN QUERY PLAN`, on the
/// store's own connection, so with its statistics), with the join order `plan.wide` states
/// (see [`wide`]): for the plan-shape tests and for reading a slow query
/// (`LINKDIFF_DEBUG_SQL=plan` prints it).
pub fn explain(store: &SqlStore, plan: &Plan) -> Result<Vec<(String, Vec<PlanStep>)>> {
    store.read(|conn| {
        statements(plan)
            .into_iter()
            .map(|st| Ok((st.sql.clone(), explain_stmt(conn, &st)?)))
            .collect()
    })
}

fn explain_stmt(conn: &Connection, st: &Stmt) -> Result<Vec<PlanStep>> {
    let mut q = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", st.sql))?;
    let rows = q.query_map(params_from_iter(st.params.iter()), |r| {
        Ok(PlanStep {
            id: r.get(0)?,
            parent: r.get(1)?,
            detail: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<linkdiff_store::rusqlite::Result<Vec<_>>>()?)
}

/// Whether `run` reads `plan`'s rows table first (see `Plan::wide`).
pub fn wide(store: &SqlStore, plan: &Plan) -> Result<bool> {
    store.read(|conn| plan_is_wide(conn, plan))
}

/// A wide scope, and a statement that reads every row of it: grouped tables, sorted flat
/// ones, and `broken_backlinks` (few rows match: it reads the scope to find them). `backlinks`
/// and `backlinks_new_lost` in key order walk the scope's URLs in order and stop at their page
/// (rows-first would sort the whole scope: 4.3 s instead of 2 ms at 10M links).
fn plan_is_wide(conn: &Connection, plan: &Plan) -> Result<bool> {
    let key_ordered =
        matches!(plan.table, Table::Backlinks | Table::NewLost) && plan.order.is_empty();
    Ok(!key_ordered && is_wide(conn, &plan.scope)?)
}

/// Answer `plan` on the SQLite store, in one read snapshot.
pub fn run(store: &SqlStore, plan: &Plan) -> Result<QueryResult> {
    store.read(|conn| {
        let plan = &Plan {
            wide: plan_is_wide(conn, plan)?,
            ..plan.clone()
        };
        let st = compile(plan);
        let grouped = plan.table.grouped();
        let all: Vec<&'static Column> = plan.table.columns().iter().collect();
        let got = rows(conn, &st, if grouped { &all } else { &plan.select })?;
        let project = |row: Vec<Value>| -> Vec<Value> {
            if !grouped {
                return row;
            }
            plan.select
                .iter()
                .map(|c| row[plan.table.index(c.id).expect("own column")].clone())
                .collect()
        };
        let (stats_stmt, names): (Option<Stmt>, &[&'static str]) = match plan.table {
            Table::Anchors => (Some(anchors_stats_stmt(plan)), &["backlinks", "refpages"]),
            Table::Refdomains => (
                Some(refdomains_stats_stmt(plan)),
                &["refdomains", "ips", "class_c"],
            ),
            _ => (None, &[]),
        };
        let stats = match stats_stmt {
            Some(s) => {
                crate::debug_sql(&s.sql);
                conn.prepare_cached(&s.sql)?
                    .query_row(params_from_iter(s.params.iter()), |r| {
                        names
                            .iter()
                            .enumerate()
                            .map(|(i, &name)| Ok((name, r.get::<_, i64>(i)? as u64)))
                            .collect::<linkdiff_store::rusqlite::Result<Vec<_>>>()
                    })?
            }
            None => Vec::new(),
        };
        Ok(QueryResult {
            table: plan.table,
            columns: plan.select.clone(),
            rows: got.into_iter().map(project).collect(),
            stats,
        })
    })
}

/// Referring hosts and registrable domains gained and lost on or after `since` (a day start,
/// Unix seconds), in one read snapshot.
pub fn referring_changes(store: &SqlStore, scope: &Target, since: i64) -> Result<ReferringChanges> {
    store.read(|conn| {
        let mut out = ReferringChanges::default();
        let wide = is_wide(conn, scope)?;
        for (by_host, group) in [(true, "ph.host"), (false, "ph.domain")] {
            let mut st = Stmt::default();
            refdomain_transitions_sql(&mut st, scope, group, wide);
            st.push("SELECT coalesce(sum(c_type = 'new'), 0), coalesce(sum(c_type = 'lost'), 0) FROM x WHERE c_date >= ");
            st.bind(Sql::Integer(since));
            let (n, l): (i64, i64) = conn
                .prepare_cached(&st.sql)?
                .query_row(params_from_iter(st.params.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            *out.of(by_host) = Changes {
                new: n as u64,
                lost: l as u64,
            };
        }
        Ok(out)
    })
}
