//! The Rust executor: runs a plan over the store's typed scans. It serves the key-value
//! engine (`sled:`, memory) and checks the SQL executor in differential tests.

use crate::catalogue::{Col, ColType, Table};
use crate::changes::{PeriodChanges, ReferringChanges};
use crate::error::Result;
use crate::filter::{matches, Cond};
use crate::plan::Plan;
use crate::value::Value;
use crate::QueryResult;
use linkdiff_model::url_host;
use linkdiff_model::LinkType;
use linkdiff_model::Target;
use linkdiff_model::{class_c, domain_kind};
use linkdiff_model::{registrable_domain, LinkId};
use linkdiff_store::CoversUrl;
use linkdiff_store::{EventKind, EventRecord, LinkRecord, PageRecord, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

mod ctx;
mod grouped;
mod pages;
use ctx::*;
use grouped::*;
pub(crate) use grouped::{anchors_row_col, refdomains_row_col};
pub use grouped::{daily_changes, referring_changes};
use pages::*;

/// Answer `plan` by scanning the store.
pub fn run(store: &Store, plan: &Plan) -> Result<QueryResult> {
    let mut ctx = Ctx::new(store);
    let (rows, stats) = match plan.table {
        Table::Backlinks => {
            let items = store.backlinks(&plan.scope).map(|r| r.map_err(Into::into));
            let build = |h: &(String, LinkId, LinkRecord), mask: Option<&HashSet<Col>>| {
                ctx.backlink_row(Table::Backlinks, &h.0, &h.1, &h.2, mask)
            };
            (flat(plan, items, build)?, Vec::new())
        }
        Table::BrokenBacklinks => {
            // Live backlinks whose target page is in a broken streak.
            let broken = |url: &str| {
                store
                    .page(url)
                    .ok()
                    .flatten()
                    .is_some_and(|p| p.broken_since.is_some())
            };
            let items = store
                .backlinks(&plan.scope)
                .filter(|r| r.as_ref().map_or(true, |h| broken(&h.1.url_to)))
                .map(|r| r.map_err(Into::into));
            let build = |h: &(String, LinkId, LinkRecord), mask: Option<&HashSet<Col>>| {
                ctx.backlink_row(Table::BrokenBacklinks, &h.0, &h.1, &h.2, mask)
            };
            (flat(plan, items, build)?, Vec::new())
        }
        Table::OnePerDomain => {
            let mut best: HashMap<String, (i64, bool, usize)> = HashMap::new();
            let mut all = Vec::new();
            // Every backlink passing the filters, in key order; the strongest per referring
            // domain wins (highest UR of the page, then dofollow, then key order).
            for (i, r) in store.backlinks(&plan.scope).enumerate() {
                let h = r?;
                let mask: HashSet<Col> = plan
                    .where_
                    .iter()
                    .chain(&plan.having)
                    .map(|c| c.col.id)
                    .chain([Col::AhrefsRank, Col::Nofollow])
                    .collect();
                let row = ctx.backlink_row(Table::OnePerDomain, &h.0, &h.1, &h.2, Some(&mask))?;
                if !matches(&plan.where_, plan.table, &row, |_| true)
                    || !matches(&plan.having, plan.table, &row, |_| true)
                {
                    continue;
                }
                let rank = match at(plan.table, &row, Col::AhrefsRank) {
                    Value::Int(r) => *r,
                    _ => 0,
                };
                let dofollow = !h.2.nofollow;
                let domain = registrable_domain(url_host(&h.0)).to_string();
                let better = best
                    .get(&domain)
                    .is_none_or(|&(r, d, _)| (rank, dofollow) > (r, d));
                if better {
                    best.insert(domain, (rank, dofollow, i));
                }
                all.push((i, h));
            }
            let winners: HashSet<usize> = best.values().map(|&(_, _, i)| i).collect();
            let items = all
                .into_iter()
                .filter(|(i, _)| winners.contains(i))
                .map(|(_, h)| Ok(h));
            let build = |h: &(String, LinkId, LinkRecord), mask: Option<&HashSet<Col>>| {
                ctx.backlink_row(Table::OnePerDomain, &h.0, &h.1, &h.2, mask)
            };
            (flat(plan, items, build)?, Vec::new())
        }
        Table::NewLost => {
            let items = store.events(&plan.scope).map(|r| r.map_err(Into::into));
            let build = |ev: &EventRecord, mask: Option<&HashSet<Col>>| ctx.event_row(ev, mask);
            (flat(plan, items, build)?, Vec::new())
        }
        Table::Counters => (counters(plan, &mut ctx)?, Vec::new()),
        Table::RefdomainsNewLost | Table::RefdomainsCounters => {
            (refdomains_new_lost(plan, &mut ctx)?, Vec::new())
        }
        Table::Metrics | Table::MetricsExtended => (metrics(plan, &mut ctx)?, Vec::new()),
        Table::AhrefsRank | Table::PagesExtended => (pages(plan, &mut ctx)?, Vec::new()),
        Table::Anchors => anchors(plan, &mut ctx)?,
        Table::Refdomains => refdomains(plan, &mut ctx)?,
    };
    Ok(QueryResult {
        table: plan.table,
        columns: plan.select.clone(),
        rows,
        stats,
    })
}

/// Cells of `table`'s row, in catalogue order, from a value per column.
fn row_of(table: Table, mut cell: impl FnMut(Col) -> Value) -> Vec<Value> {
    table.columns().iter().map(|c| cell(c.id)).collect()
}

fn at(table: Table, row: &[Value], col: Col) -> &Value {
    &row[table.index(col).expect("column of this table")]
}

fn project(plan: &Plan, row: &[Value]) -> Vec<Value> {
    plan.select
        .iter()
        .map(|c| at(plan.table, row, c.id).clone())
        .collect()
}

/// Non-grouped tables: stream items in key order, build only the columns the filters and the
/// order need, filter, and either stop at offset+limit (no `order_by`) or sort everything; then
/// build the full rows of the page returned (late materialisation).
fn flat<H>(
    plan: &Plan,
    items: impl Iterator<Item = Result<H>>,
    mut build: impl FnMut(&H, Option<&HashSet<Col>>) -> Result<Vec<Value>>,
) -> Result<Vec<Vec<Value>>> {
    let mask: HashSet<Col> = plan
        .where_
        .iter()
        .chain(&plan.having)
        .map(|c| c.col.id)
        .chain(plan.order.iter().map(|o| o.0.id))
        .collect();
    let mut kept: Vec<(H, Vec<Value>)> = Vec::new();
    let need = plan.offset.saturating_add(plan.limit);
    for h in items {
        let h = h?;
        let row = build(&h, Some(&mask))?;
        if !matches(&plan.where_, plan.table, &row, |_| true)
            || !matches(&plan.having, plan.table, &row, |_| true)
        {
            continue;
        }
        kept.push((h, row));
        if plan.order.is_empty() && kept.len() >= need {
            break;
        }
    }
    sort_rows(plan, &mut kept, |k| &k.1);
    // The rows returned are built again with what they show (and nothing costly besides).
    let shown: HashSet<Col> = mask
        .iter()
        .copied()
        .chain(plan.select.iter().map(|c| c.id))
        .chain(
            plan.table
                .columns()
                .iter()
                .filter(|c| !c.extra)
                .map(|c| c.id),
        )
        .collect();
    kept.into_iter()
        .skip(plan.offset)
        .take(plan.limit)
        .map(|(h, _)| Ok(project(plan, &build(&h, Some(&shown))?)))
        .collect()
}

/// Stable sort by `order_by`: ties keep key order, so results are deterministic.
fn sort_rows<T>(plan: &Plan, rows: &mut [T], row: impl Fn(&T) -> &Vec<Value>) {
    if plan.order.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        let (a, b) = (row(a), row(b));
        for &(c, desc) in &plan.order {
            let o = at(plan.table, a, c.id).order(at(plan.table, b, c.id));
            let o = if desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn finish(plan: &Plan, mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    sort_rows(plan, &mut rows, |r| r);
    rows.into_iter()
        .skip(plan.offset)
        .take(plan.limit)
        .map(|row| project(plan, &row))
        .collect()
}

/// A value of the right type for an unused column of a grouped row.
fn blank(ty: ColType) -> Value {
    match ty {
        ColType::Int => Value::Int(0),
        ColType::Bool => Value::Bool(false),
        ColType::Time => Value::Time(None),
        ColType::Date => Value::Date(0),
        ColType::Str => Value::Str(String::new()),
    }
}

/// Result rows, cells in catalogue order.
type Rows = Vec<Vec<Value>>;
type Stats = Vec<(&'static str, u64)>;
