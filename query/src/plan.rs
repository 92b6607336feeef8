//! The logical plan of one query: table, target scope, filters, grouping, having, order,
//! limit/offset. Both executors take a plan; neither re-reads the parameters.

use crate::catalogue::{Col, Column, Table};
use crate::error::{QueryError, Result};
use crate::filter::{self, Cond, Filter};
use linkdiff_model::Target;

/// Largest `limit` (as in Ahrefs v2).
pub const MAX_LIMIT: usize = 5_000_000;

/// Parameters of one query, parsed at the edge: the target as a [`Target`], the filters as
/// [`Filter`] values (v2 text goes through [`parse_clause`]; DataForSEO builds them directly).
#[derive(Debug, Clone)]
pub struct QueryParams {
    /// The target URLs asked about.
    pub target: Target,
    /// Columns to return (`None` = default).
    pub select: Option<String>,
    /// Row filter (`where`); empty = every row.
    pub where_: Filter,
    /// Group or row filter after `where` (`having`); empty = none.
    pub having: Filter,
    /// `order_by`.
    pub order_by: Option<String>,
    /// Rows returned.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
}

impl QueryParams {
    /// A question about `target` with v2's defaults: the default columns, no filter, no
    /// order, 1,000 rows.
    pub fn new(target: Target) -> QueryParams {
        QueryParams {
            target,
            select: None,
            where_: Filter::default(),
            having: Filter::default(),
            order_by: None,
            limit: 1000,
            offset: 0,
        }
    }
}

/// A `where` or `having` text as written in a v2 request (`None` or blanks = no filter); a
/// syntax error names the clause.
pub fn parse_clause(text: Option<&str>, clause: &'static str) -> Result<Filter> {
    filter::parse(text.unwrap_or("")).map_err(|error| QueryError::Syntax { clause, error })
}

/// A validated query.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The table.
    pub table: Table,
    /// Target URLs covered.
    pub scope: Target,
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

/// Validate `p` against `table`'s catalogue into a plan.
pub fn plan(table: Table, p: &QueryParams) -> Result<Plan> {
    let cols = table.columns();
    let name = table.name();
    let where_ = filter::compile(&p.where_, table, "where")?;
    let having = filter::compile(&p.having, table, "having")?;
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
        scope: p.target.clone(),
        where_,
        having,
        select,
        order,
        limit: p.limit,
        offset: p.offset,
        wide: false,
    })
}
