//! The logical plan of one query: table, target scope, filters, grouping, having, order,
//! limit/offset. Both executors take a plan; neither re-reads the parameters.

use crate::catalogue::{Col, Column, Table};
use crate::error::{QueryError, Result};
use crate::filter::{self, Cond};
use linkdiff_model::url_host;
use linkdiff_store::TargetScope;
use std::str::FromStr;

/// Largest `limit` (as in Ahrefs v2).
pub const MAX_LIMIT: usize = 5_000_000;

/// Target mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// That URL.
    #[default]
    Exact,
    /// Every URL on the host, `www.` folded.
    Domain,
    /// The host and its subdomains.
    Subdomains,
    /// Every URL starting with the target.
    Prefix,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "exact" => Mode::Exact,
            "domain" => Mode::Domain,
            "subdomains" => Mode::Subdomains,
            "prefix" => Mode::Prefix,
            _ => {
                return Err(format!(
                    "Unknown mode '{s}' (use exact, domain, subdomains or prefix)"
                ))
            }
        })
    }
}

/// Parameters of one query (already split from the wire).
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    /// Target URL, host or prefix.
    pub target: String,
    /// Mode.
    pub mode: Mode,
    /// Columns to return (`None` = default).
    pub select: Option<String>,
    /// `where` expression.
    pub where_: Option<String>,
    /// `having` expression.
    pub having: Option<String>,
    /// `order_by`.
    pub order_by: Option<String>,
    /// Rows returned.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
}

/// A validated query.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The table.
    pub table: Table,
    /// Target URLs covered.
    pub scope: TargetScope,
    /// Row filter (`where`); for `anchors`, terms on group columns apply to the group.
    pub where_: Vec<Cond>,
    /// Group or row filter after `where` (`having`).
    pub having: Vec<Cond>,
    /// Output columns, in order.
    pub select: Vec<&'static Column>,
    /// `order_by` keys (column, descending); ties keep the table's default order.
    pub order: Vec<(&'static Column, bool)>,
    /// Rows returned.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
    /// The scope holds a large share of the index (a whole TLD) and the statement reads all
    /// of it (grouped, or sorted by a column): SQL then reads the rows table first instead of
    /// the scope's hosts and URLs. Decided by the SQL executor from the index
    /// (`exec_sql::run`); `false` from [`plan`].
    pub wide: bool,
}

impl Plan {
    /// Counters grouped by `url_to` too (it is selected or used in `having`).
    pub fn counters_by_url(&self) -> bool {
        self.select.iter().any(|c| c.id == Col::UrlTo)
            || self.having.iter().any(|c| c.col.id == Col::UrlTo)
    }
}

/// The store scope for a target and mode (scheme stripped, case folded).
pub fn scope(target: &str, mode: Mode) -> Result<TargetScope> {
    let t = target.trim();
    let lower = t.to_ascii_lowercase();
    let t = if lower.starts_with("http://") {
        &t[7..]
    } else if lower.starts_with("https://") {
        &t[8..]
    } else {
        t
    };
    if t.is_empty() {
        return Err(QueryError::EmptyTarget);
    }
    let host = url_host(t).to_ascii_lowercase();
    let authority_end = t.find(['/', '?']).unwrap_or(t.len());
    let rest = &t[authority_end..];
    let normalised = format!("{}{}", t[..authority_end].to_ascii_lowercase(), rest);
    Ok(match mode {
        Mode::Exact => TargetScope::Exact(normalised),
        Mode::Domain => TargetScope::Domain(host),
        Mode::Subdomains => TargetScope::Subdomains(host),
        Mode::Prefix => TargetScope::Prefix(normalised),
    })
}

fn parse_filter(s: Option<&str>, table: Table, clause: &'static str) -> Result<Vec<Cond>> {
    let f = filter::parse(s.unwrap_or("")).map_err(|msg| QueryError::Syntax { clause, msg })?;
    filter::compile(&f, table, clause)
}

/// Validate `p` against `table`'s catalogue into a plan.
pub fn plan(table: Table, p: &QueryParams) -> Result<Plan> {
    let cols = table.columns();
    let name = table.name();
    let where_ = parse_filter(p.where_.as_deref(), table, "where")?;
    let having = parse_filter(p.having.as_deref(), table, "having")?;
    let select: Vec<&'static Column> = match p
        .select
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "*")
    {
        None => cols
            .iter()
            .filter(|c| !c.extra && (!table.grouped() || c.having_ok))
            .collect(),
        Some(s) => s
            .split(',')
            .map(|c| {
                let c = c.trim().to_ascii_lowercase();
                table.find(&c).ok_or(QueryError::UnknownColumn {
                    col: c,
                    place: " in 'select'",
                    table: name,
                })
            })
            .collect::<Result<_>>()?,
    };
    if table.grouped() {
        if let Some(bad) = select.iter().find(|c| !c.having_ok) {
            return Err(QueryError::NotGrouped {
                col: bad.name,
                table: name,
            });
        }
    }
    let mut order = Vec::new();
    if let Some(o) = p
        .order_by
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        for part in o.split(',') {
            let (c, dir) = part.split_once(':').unwrap_or((part, "asc"));
            let c = c.trim().to_ascii_lowercase();
            let desc = match dir.trim().to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                d => {
                    return Err(QueryError::BadDirection {
                        dir: d.to_string(),
                        col: c,
                    })
                }
            };
            let col = table.find(&c).ok_or(QueryError::UnknownColumn {
                col: c.clone(),
                place: " in 'order_by'",
                table: name,
            })?;
            order.push((col, desc));
        }
    }
    if p.limit > MAX_LIMIT {
        return Err(QueryError::LimitTooLarge(p.limit));
    }
    Ok(Plan {
        table,
        scope: scope(&p.target, p.mode)?,
        where_,
        having,
        select,
        order,
        limit: p.limit,
        offset: p.offset,
        wide: false,
    })
}
