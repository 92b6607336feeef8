//! The ClickHouse dialect of the SQL executor: a plan compiled to one `SELECT` over the
//! ClickHouse tables (`linkdiff_store::clickhouse::schema`), answered by the servers, with the
//! same rows in the same order as [`crate::exec_sql`] on SQLite.
//!
//! Compiled today: `backlinks`, `backlinks_one_per_domain` (`LIMIT 1 BY` the referring
//! domain), `broken_backlinks` and `backlinks_new_lost` (`where`/`having`/`order_by` on every
//! column but `sitewide`; two statements: the page's keys, then its rows), `anchors`
//! and `refdomains` with their `stats`, `backlinks_new_lost_counters` (`where` on the event's
//! and the link's own columns), `metrics`, `metrics_extended`, `ahrefs_rank`,
//! `pages_extended`, `refdomains_new_lost` and its counters; not the `subdomain()`/`word()`
//! functions nor `sitewide`. Anything else returns `None` and
//! the caller answers with the Rust executor over the engine's scans (exact, but it reads every
//! row of the scope).
//!
//! Written for ClickHouse 18.16 and later: one `JOIN` per `SELECT` (joins nest as subqueries,
//! each level naming its columns), `ANY LEFT JOIN … USING` with both sides aliased (`jl`, `jr`:
//! ClickHouse 20+ refuses an unaliased joined subquery by default), literals quoted in the text (no
//! query parameters there), `FINAL` reads selecting `ver`, `GLOBAL IN` for subqueries over
//! `Distributed` tables. SQLite's `COLLATE NOCASE` is `lower()` (both fold ASCII only) and its
//! NULL order (first ascending) is spelled out.

mod flat;
mod grouped;

use crate::catalogue::{ColType, Table};
use crate::changes::{Changes, ReferringChanges};
use crate::error::Result;
use crate::filter::{Cond, Func, Lit, Op, Test};
use crate::plan::Plan;
use crate::value::Value;
use crate::QueryResult;
use flat::{run_flat, Source};
use grouped::{
    anchors_sql, counters_sql, metrics_sql, pages_sql, refdomains_new_lost_sql, refdomains_sql,
};
use linkdiff_model::Target;
use linkdiff_store::clickhouse::client::quote;
use linkdiff_store::clickhouse::ChStore;

/// `x <cond>` in ClickHouse SQL, or `None` for functions not compiled.
fn cond_sql(x: &str, c: &Cond) -> Option<String> {
    Some(match &c.test {
        Test::Cmp(op, Lit::Time { t, day_only: true }) => {
            let lo = t.div_euclid(86_400) * 86_400;
            let hi = lo + 86_400;
            match op {
                Op::Eq => format!("({x} >= {lo} AND {x} < {hi})"),
                Op::Ne => format!("(isNull({x}) OR {x} < {lo} OR {x} >= {hi})"),
                Op::Lt | Op::Ge => format!("{x} {} {lo}", op.as_str()),
                Op::Le => format!("{x} < {hi}"),
                Op::Gt => format!("{x} >= {hi}"),
            }
        }
        Test::Cmp(Op::Ne, Lit::Time { t, .. }) => format!("(isNull({x}) OR {x} <> {t})"),
        Test::Cmp(op, Lit::Time { t, .. }) => format!("{x} {} {t}", op.as_str()),
        Test::Cmp(op, Lit::Int(i)) => format!("{x} {} {i}", op.as_str()),
        Test::Cmp(op, Lit::Bool(b)) => format!("{x} {} {}", op.as_str(), *b as u8),
        Test::Cmp(op, Lit::Str(s)) => format!("lower({x}) {} lower({})", op.as_str(), quote(s)),
        Test::Call(Func::Substring, needle) => {
            format!("position(lower({x}), {}) > 0", quote(needle))
        }
        Test::Call(Func::Subdomain | Func::Word, _) => return None,
    })
}

/// `ORDER BY` terms of a column: SQLite's `NOCASE` and NULL order.
fn order_term(x: &str, ty: ColType, desc: bool) -> String {
    let x = if ty == ColType::Str {
        format!("lower({x})")
    } else {
        x.to_string()
    };
    if desc {
        format!("{x} DESC NULLS LAST")
    } else {
        format!("{x} ASC NULLS FIRST")
    }
}

/// `LIMIT offset, limit` of a plan.
fn limit_sql(plan: &Plan) -> String {
    format!(
        "LIMIT {}, {}",
        plan.offset.min(i64::MAX as usize),
        plan.limit
    )
}

/// `1 AND …` for filter terms on the output aliases `c_NAME` of a grouped statement.
fn alias_conds<'a>(conds: impl IntoIterator<Item = &'a Cond>) -> Option<String> {
    let mut w = String::from("1");
    for c in conds {
        w.push_str(" AND ");
        w.push_str(&cond_sql(&format!("c_{}", c.col.name), c)?);
    }
    Some(w)
}

/// The plan's `order_by` terms on the output aliases, each followed by `, `.
fn alias_order(plan: &Plan) -> String {
    plan.order
        .iter()
        .map(|(c, desc)| order_term(&format!("c_{}", c.name), c.ty, *desc) + ", ")
        .collect()
}

/// A key cell of phase 1 as a SQL literal.
fn literal(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => quote(s),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => "NULL".into(),
    }
}

/// A JSON cell as the column's value type.
fn cell(ty: ColType, v: Option<&serde_json::Value>) -> Value {
    let int = v.and_then(|v| v.as_i64().or_else(|| v.as_u64().map(|u| u as i64)));
    match ty {
        ColType::Int => Value::Int(int.unwrap_or(0)),
        ColType::Bool => Value::Bool(int.unwrap_or(0) != 0),
        ColType::Time => Value::Time(int),
        ColType::Date => Value::Date(int.unwrap_or(0)),
        ColType::Str => Value::Str(v.and_then(|v| v.as_str()).unwrap_or("").to_string()),
    }
}

/// Referring hosts and registrable domains of `scope` gained and lost on or after `since`:
/// (see [`crate::referring_changes`]). `None` on a crawl worker.
pub fn referring_changes(
    ch: &ChStore,
    scope: &Target,
    since: i64,
) -> Result<Option<ReferringChanges>> {
    if ch.is_worker() {
        return Ok(None);
    }
    let mut out = ReferringChanges::default();
    for (by_host, group) in [(true, "host"), (false, "domain")] {
        let x = grouped::refdomain_transitions_sql(ch, scope, group);
        let sql = format!(
            "SELECT countIf(c_type = 'new') AS s_new, countIf(c_type = 'lost') AS s_lost \
             FROM ({x}) WHERE c_date >= {since}"
        );
        crate::debug_sql(&sql);
        let row = ch.select_objects(&sql)?;
        let get = |k: &str| {
            row.first()
                .and_then(|r| r.get(k))
                .and_then(|v| v.as_u64())
                .unwrap_or(0)
        };
        *out.of(by_host) = Changes {
            new: get("s_new"),
            lost: get("s_lost"),
        };
    }
    Ok(Some(out))
}

/// The compiled statements of `plan` (rows, then `stats` where the table has them), or
/// `None` when the plan needs the Rust executor.
pub fn compile(ch: &ChStore, plan: &Plan) -> Option<(String, Option<String>)> {
    if ch.is_worker() {
        return None;
    }
    match plan.table {
        Table::Anchors => anchors_sql(ch, plan).map(|(rows, stats)| (rows, Some(stats))),
        Table::Refdomains => refdomains_sql(ch, plan).map(|(rows, stats)| (rows, Some(stats))),
        Table::AhrefsRank | Table::PagesExtended => pages_sql(ch, plan).map(|s| (s, None)),
        Table::Metrics | Table::MetricsExtended => metrics_sql(ch, plan).map(|s| (s, None)),
        Table::RefdomainsNewLost | Table::RefdomainsCounters => {
            refdomains_new_lost_sql(ch, plan).map(|s| (s, None))
        }
        Table::Counters => counters_sql(ch, plan).map(|s| (s, None)),
        _ => None,
    }
}

/// Answer `plan` on ClickHouse with compiled statements; `None` when it is not compiled.
pub fn run(ch: &ChStore, plan: &Plan) -> Result<Option<QueryResult>> {
    let flat = match plan.table {
        Table::Backlinks | Table::BrokenBacklinks | Table::OnePerDomain => Some(Source::Links),
        Table::NewLost => Some(Source::Events),
        _ => None,
    };
    if let (Some(src), false) = (flat, ch.is_worker()) {
        return Ok(run_flat(ch, src, plan)?.map(|rows| QueryResult {
            table: plan.table,
            columns: plan.select.clone(),
            rows,
            stats: Vec::new(),
        }));
    }
    let Some((sql, stats_sql)) = compile(ch, plan) else {
        return Ok(None);
    };
    let grouped = plan.table.grouped();
    crate::debug_sql(&sql);
    let rows = ch.select_objects(&sql)?;
    let rows = rows
        .into_iter()
        .map(|r| {
            plan.select
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let name = if grouped {
                        format!("c_{}", c.name)
                    } else {
                        format!("c{i}")
                    };
                    cell(c.ty, r.get(&name))
                })
                .collect()
        })
        .collect();
    let mut stats = Vec::new();
    if let Some(s) = stats_sql {
        let got = ch.select_objects(&s)?;
        let names: &[&'static str] = match plan.table {
            Table::Anchors => &["backlinks", "refpages"],
            Table::Refdomains => &["refdomains", "ips", "class_c"],
            _ => &[],
        };
        for name in names {
            let v = got
                .first()
                .and_then(|r| r.get(&format!("s_{name}")))
                .and_then(|v| v.as_u64().or_else(|| v.as_i64().map(|i| i.max(0) as u64)))
                .unwrap_or(0);
            stats.push((*name, v));
        }
    }
    Ok(Some(QueryResult {
        table: plan.table,
        columns: plan.select.clone(),
        rows,
        stats,
    }))
}
