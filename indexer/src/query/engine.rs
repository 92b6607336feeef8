//! Running a query.

use super::columns::{self, ColType, Column};
use super::filter::{self, Compiled};
use super::value::Value;
use crate::{IndexError, Result};
use linkdiff_store::model::url_host;
use linkdiff_store::{
    registrable_domain, EventKind, EventRecord, LinkId, LinkRecord, PageRecord, Store, TargetScope,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::str::FromStr;

/// Largest `limit` (as in Ahrefs v2).
pub const MAX_LIMIT: usize = 5_000_000;

/// A queryable table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Live backlinks.
    Backlinks,
    /// New and lost events.
    NewLost,
    /// New/lost counts per date.
    Counters,
    /// Anchor texts.
    Anchors,
}

impl Table {
    /// API name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Backlinks => "backlinks",
            Table::NewLost => "backlinks_new_lost",
            Table::Counters => "backlinks_new_lost_counters",
            Table::Anchors => "anchors",
        }
    }
    /// Column catalogue.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Backlinks => columns::BACKLINKS,
            Table::NewLost => columns::NEW_LOST,
            Table::Counters => columns::COUNTERS,
            Table::Anchors => columns::ANCHORS,
        }
    }
    /// JSON root / XML sub-table element.
    pub fn root(self) -> &'static str {
        match self {
            Table::Backlinks | Table::NewLost => "refpages",
            Table::Counters => "counts",
            Table::Anchors => "anchors",
        }
    }
    /// Rows cost per result, in hundredths of a row (seeds: 0.2 or 1).
    pub fn centirows_per_result(self) -> u64 {
        match self {
            Table::Backlinks | Table::NewLost => 20,
            Table::Counters | Table::Anchors => 100,
        }
    }
    fn grouped(self) -> bool {
        matches!(self, Table::Counters | Table::Anchors)
    }
}

impl FromStr for Table {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "backlinks" => Table::Backlinks,
            "backlinks_new_lost" => Table::NewLost,
            "backlinks_new_lost_counters" => Table::Counters,
            "anchors" => Table::Anchors,
            _ => return Err(format!("Unknown table '{s}' (use backlinks, backlinks_new_lost, backlinks_new_lost_counters or anchors)")),
        })
    }
}

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

/// A query's answer.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// The table.
    pub table: Table,
    /// Selected columns, in output order.
    pub columns: Vec<&'static Column>,
    /// Rows, cells in `columns` order.
    pub rows: Vec<Vec<Value>>,
    /// For `anchors`: (backlinks, refpages) over all groups passing the filters.
    pub stats: Option<(u64, u64)>,
}

fn q(e: String) -> IndexError {
    IndexError::Query(e)
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
        return Err(q(
            "The target is empty; give a URL, a host or a prefix".into()
        ));
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

struct Plan {
    where_: Compiled,
    having: Compiled,
    select: Vec<usize>,
    order: Vec<(usize, bool)>,
}

fn plan(table: Table, p: &QueryParams) -> Result<Plan> {
    let cols = table.columns();
    let name = table.name();
    let where_ = filter::parse(p.where_.as_deref().unwrap_or(""))
        .map_err(|e| q(format!("Bad 'where': {e}")))
        .and_then(|f| filter::compile(&f, cols, "where", name).map_err(q))?;
    let having = filter::parse(p.having.as_deref().unwrap_or(""))
        .map_err(|e| q(format!("Bad 'having': {e}")))
        .and_then(|f| filter::compile(&f, cols, "having", name).map_err(q))?;
    let select: Vec<usize> = match p
        .select
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "*")
    {
        None => (0..cols.len())
            .filter(|&i| !table.grouped() || cols[i].having_ok)
            .collect(),
        Some(s) => s
            .split(',')
            .map(|c| {
                let c = c.trim().to_ascii_lowercase();
                columns::find(cols, &c)
                    .map(|(i, _)| i)
                    .ok_or_else(|| q(format!("Unknown column '{c}' in 'select' for table {name}")))
            })
            .collect::<Result<_>>()?,
    };
    if table.grouped() {
        if let Some(&bad) = select.iter().find(|&&i| !cols[i].having_ok) {
            return Err(q(format!(
                "Column '{}' can not be selected for table {name}: it is not a grouped column",
                cols[bad].name
            )));
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
                    return Err(q(format!(
                        "Unknown order direction '{d}' for '{c}' (use asc or desc)"
                    )))
                }
            };
            let (i, _) = columns::find(cols, &c).ok_or_else(|| {
                q(format!(
                    "Unknown column '{c}' in 'order_by' for table {name}"
                ))
            })?;
            order.push((i, desc));
        }
    }
    if p.limit > MAX_LIMIT {
        return Err(q(format!(
            "limit {} is over the maximum of {MAX_LIMIT}",
            p.limit
        )));
    }
    Ok(Plan {
        where_,
        having,
        select,
        order,
    })
}

/// Answer a query.
pub fn run(store: &Store, table: Table, p: &QueryParams) -> Result<QueryResult> {
    let plan = plan(table, p)?;
    let scope = scope(&p.target, p.mode)?;
    let mut ctx = Ctx::new(store);
    let (rows, stats) = match table {
        Table::Backlinks => {
            let items = store.backlinks(&scope).map(|r| r.map_err(Into::into));
            let build = |h: &(String, LinkId, LinkRecord), mask: Option<&[bool]>| {
                ctx.backlink_row(&h.0, &h.1, &h.2, mask)
            };
            (
                flat(&plan, p, columns::BACKLINKS.len(), items, build)?,
                None,
            )
        }
        Table::NewLost => {
            let items = store.events(&scope).map(|r| r.map_err(Into::into));
            let build = |ev: &EventRecord, mask: Option<&[bool]>| ctx.event_row(ev, mask);
            (flat(&plan, p, columns::NEW_LOST.len(), items, build)?, None)
        }
        Table::Counters => (counters(&plan, p, &mut ctx, &scope)?, None),
        Table::Anchors => anchors(&plan, p, &mut ctx, &scope)?,
    };
    let cols = table.columns();
    Ok(QueryResult {
        table,
        columns: plan.select.iter().map(|&i| &cols[i]).collect(),
        rows,
        stats,
    })
}

/// Non-grouped tables: stream items in key order, build only the columns the filters and the
/// order need, filter, and either stop at offset+limit (no `order_by`) or sort everything; then
/// build the full rows of the page returned (late materialisation).
fn flat<H>(
    plan: &Plan,
    p: &QueryParams,
    ncols: usize,
    items: impl Iterator<Item = Result<H>>,
    mut build: impl FnMut(&H, Option<&[bool]>) -> Result<Vec<Value>>,
) -> Result<Vec<Vec<Value>>> {
    let mut mask = vec![false; ncols];
    for i in plan
        .where_
        .columns()
        .chain(plan.having.columns())
        .chain(plan.order.iter().map(|o| o.0))
    {
        mask[i] = true;
    }
    let mut kept: Vec<(H, Vec<Value>)> = Vec::new();
    let need = p.offset.saturating_add(p.limit);
    for h in items {
        let h = h?;
        let row = build(&h, Some(&mask))?;
        if !plan.where_.matches(&row, |_| true) || !plan.having.matches(&row, |_| true) {
            continue;
        }
        kept.push((h, row));
        if plan.order.is_empty() && kept.len() >= need {
            break;
        }
    }
    sort_rows(plan, &mut kept, |k| &k.1);
    kept.into_iter()
        .skip(p.offset)
        .take(p.limit)
        .map(|(h, _)| {
            let row = build(&h, None)?;
            Ok(plan.select.iter().map(|&i| row[i].clone()).collect())
        })
        .collect()
}

/// Stable sort by `order_by`: ties keep key order, so results are deterministic.
fn sort_rows<T>(plan: &Plan, rows: &mut [T], row: impl Fn(&T) -> &Vec<Value>) {
    if plan.order.is_empty() {
        return;
    }
    rows.sort_by(|a, b| {
        let (a, b) = (row(a), row(b));
        for &(i, desc) in &plan.order {
            let o = a[i].order(&b[i]);
            let o = if desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn finish(plan: &Plan, p: &QueryParams, mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    sort_rows(plan, &mut rows, |r| r);
    rows.into_iter()
        .skip(p.offset)
        .take(p.limit)
        .map(|row| plan.select.iter().map(|&i| row[i].clone()).collect())
        .collect()
}

/// Caches of referring pages, their link sets, target statuses and domain ranks during one
/// query (bounded: cleared when large).
struct Ctx<'a> {
    store: &'a Store,
    pages: HashMap<String, Option<Rc<PageRecord>>>,
    domains: HashMap<String, (i64, i64)>,
    links: HashMap<String, Rc<HashMap<LinkId, LinkRecord>>>,
}

impl<'a> Ctx<'a> {
    fn new(store: &'a Store) -> Self {
        Ctx {
            store,
            pages: HashMap::new(),
            domains: HashMap::new(),
            links: HashMap::new(),
        }
    }

    /// The record of one link of `from` (default if missing).
    fn link(&mut self, from: &str, id: &LinkId) -> Result<LinkRecord> {
        if !self.links.contains_key(from) {
            if self.links.len() > 20_000 {
                self.links.clear();
            }
            let set: HashMap<LinkId, LinkRecord> =
                self.store.forward_links(from)?.into_iter().collect();
            self.links.insert(from.to_string(), Rc::new(set));
        }
        Ok(self.links[from].get(id).cloned().unwrap_or_default())
    }

    fn page(&mut self, url: &str) -> Result<Option<Rc<PageRecord>>> {
        if let Some(p) = self.pages.get(url) {
            return Ok(p.clone());
        }
        if self.pages.len() > 100_000 {
            self.pages.clear();
        }
        let p = self.store.page(url)?.map(Rc::new);
        self.pages.insert(url.to_string(), p.clone());
        Ok(p)
    }

    /// (domain_rating, ahrefs_top) of the registrable domain of `url`.
    fn domain(&mut self, url: &str) -> Result<(i64, i64)> {
        let d = registrable_domain(url_host(url)).to_string();
        if let Some(v) = self.domains.get(&d) {
            return Ok(*v);
        }
        let v = self
            .store
            .domain(&d)?
            .map(|r| (r.domain_rating as i64, r.ahrefs_top as i64))
            .unwrap_or((0, 0));
        self.domains.insert(d, v);
        Ok(v)
    }

    /// A `backlinks` row; with a mask, string columns not in it are left empty (cheap).
    fn backlink_row(
        &mut self,
        from: &str,
        id: &LinkId,
        link: &LinkRecord,
        mask: Option<&[bool]>,
    ) -> Result<Vec<Value>> {
        let want = |i: usize| mask.is_none_or(|m| m[i]);
        let http_code = if want(23) {
            self.page(&id.url_to)?
                .map(|p| p.last_status as i64)
                .unwrap_or(0)
        } else {
            0
        };
        let (dr, top) = if want(3) || want(4) {
            self.domain(from)?
        } else {
            (0, 0)
        };
        let page = self.page(from)?.unwrap_or_default();
        let (last, prev) = link.visits(&page);
        let s = |i: usize, v: &str| {
            if want(i) {
                Value::Str(v.to_string())
            } else {
                Value::Int(0)
            }
        };
        Ok(vec![
            s(0, from),
            s(1, &id.url_to),
            Value::Int(page.url_rating as i64),
            Value::Int(dr),
            Value::Int(top),
            s(5, &page.ip),
            Value::Int(page.links_internal as i64),
            Value::Int(page.links_external as i64),
            Value::Int(page.page_size as i64),
            s(9, &page.encoding),
            s(10, &page.language),
            s(11, &page.title),
            Value::Time(Some(link.first_seen)),
            Value::Time(Some(last)),
            Value::Time(prev),
            Value::Bool(link.original),
            s(16, id.link_type.as_str()),
            Value::Int(link.redirect as i64),
            Value::Bool(link.nofollow),
            s(19, &link.alt),
            s(20, &id.anchor),
            s(21, &link.text_pre),
            s(22, &link.text_post),
            Value::Int(http_code),
            Value::Time(page.first_ok_visit),
        ])
    }

    /// A `backlinks_new_lost` row; with a mask, the link record is read only if needed.
    fn event_row(&mut self, ev: &EventRecord, mask: Option<&[bool]>) -> Result<Vec<Value>> {
        let want = |i: usize| mask.is_none_or(|m| m[i]);
        let page = self.page(&ev.url_from)?.unwrap_or_default();
        let (ur, title, encoding) = (
            page.url_rating as i64,
            page.title.clone(),
            page.encoding.clone(),
        );
        let (dr, _) = self.domain(&ev.url_from)?;
        let l = &if (12..=22).any(|i| want(i) && i != 16 && i != 20) {
            self.link(&ev.url_from, &ev.link_id())?
        } else {
            LinkRecord::default()
        };
        let (last, prev) = l.visits(&page);
        Ok(vec![
            Value::Date(crate::time::day(ev.time) * 86_400),
            Value::Str(ev.kind.as_str().to_string()),
            Value::Int(ur),
            Value::Int(dr),
            Value::Str(ev.url_from.clone()),
            Value::Str(ev.url_to.clone()),
            Value::Int(ev.links_internal as i64),
            Value::Int(ev.links_external as i64),
            Value::Str(encoding),
            Value::Int(ev.http_code as i64),
            Value::Str(title),
            Value::Str(ev.origin.as_str().to_string()),
            Value::Time(Some(l.first_seen)),
            Value::Time(Some(last)),
            Value::Time(prev),
            Value::Bool(l.original),
            Value::Str(ev.link_type.as_str().to_string()),
            Value::Int(l.redirect as i64),
            Value::Bool(l.nofollow),
            Value::Str(l.alt.clone()),
            Value::Str(ev.anchor.clone()),
            Value::Str(l.text_pre.clone()),
            Value::Str(l.text_post.clone()),
        ])
    }
}

/// `backlinks_new_lost_counters`: events grouped by date (and url_to when selected).
fn counters(
    plan: &Plan,
    p: &QueryParams,
    ctx: &mut Ctx<'_>,
    scope: &TargetScope,
) -> Result<Vec<Vec<Value>>> {
    let cols = columns::COUNTERS;
    let url_to_idx = 5;
    let by_url =
        plan.select.contains(&url_to_idx) || plan.having.columns().any(|i| i == url_to_idx);
    // (day, url_to) → [new, lost, new_total, lost_total]
    let mut groups: BTreeMap<(i64, String), [i64; 4]> = BTreeMap::new();
    let store = ctx.store;
    let needs_row = !plan.where_.is_empty();
    for r in store.events(scope) {
        let ev = r?;
        let day = crate::time::day(ev.time);
        let key = (
            day,
            if by_url {
                ev.url_to.clone()
            } else {
                String::new()
            },
        );
        let passes = if needs_row {
            let mut row = ctx.event_row(&ev, None)?;
            row.extend([Value::Int(0), Value::Int(0), Value::Int(0), Value::Int(0)]);
            plan.where_.matches(&row, |_| true)
        } else {
            true
        };
        let g = groups.entry(key).or_insert([0; 4]);
        let k = if ev.kind == EventKind::New { 0 } else { 1 };
        g[k + 2] += 1;
        if passes {
            g[k] += 1;
        }
    }
    let mut rows = Vec::new();
    for ((day, url), [n, l, nt, lt]) in groups.into_iter().rev() {
        let mut row: Vec<Value> = cols
            .iter()
            .map(|c| match c.ty {
                ColType::Int => Value::Int(0),
                ColType::Bool => Value::Bool(false),
                ColType::Time => Value::Time(None),
                ColType::Date => Value::Date(0),
                ColType::Str => Value::Str(String::new()),
            })
            .collect();
        row[0] = Value::Date(day * 86_400);
        row[url_to_idx] = Value::Str(url);
        let len = row.len();
        row[len - 4] = Value::Int(n);
        row[len - 3] = Value::Int(l);
        row[len - 2] = Value::Int(nt);
        row[len - 1] = Value::Int(lt);
        if plan.having.matches(&row, |_| true) {
            rows.push(row);
        }
    }
    // Default order: newest date first, then url_to (BTreeMap reversed gives url_to desc;
    // restore ascending within a date).
    rows.sort_by(|a, b| {
        b[0].order(&a[0])
            .then_with(|| a[url_to_idx].order(&b[url_to_idx]))
    });
    Ok(finish(plan, p, rows))
}

/// Result rows, cells in catalogue order.
type Rows = Vec<Vec<Value>>;

/// `anchors`: backlinks of every link type grouped by anchor.
fn anchors(
    plan: &Plan,
    p: &QueryParams,
    ctx: &mut Ctx<'_>,
    scope: &TargetScope,
) -> Result<(Rows, Option<(u64, u64)>)> {
    #[derive(Default)]
    struct G {
        backlinks: i64,
        refpages: HashSet<String>,
        refdomains: HashSet<String>,
        first: Option<i64>,
        last: Option<i64>,
    }
    let row_cols = |i: usize| matches!(i, 0 | 3 | 5 | 6); // anchor, refdomain, first_seen, last_visited
    let mut groups: BTreeMap<String, G> = BTreeMap::new();
    let store = ctx.store;
    for r in store.backlinks(scope) {
        let (from, id, link) = r?;
        let (last, _) = link.visits(&ctx.page(&from)?.unwrap_or_default());
        let refdomain = registrable_domain(url_host(&from)).to_string();
        let row = vec![
            Value::Str(id.anchor.clone()),
            Value::Int(1),
            Value::Int(1),
            Value::Str(refdomain.clone()),
            Value::Int(1),
            Value::Time(Some(link.first_seen)),
            Value::Time(Some(last)),
        ];
        if !plan.where_.matches(&row, row_cols) {
            continue;
        }
        let g = groups.entry(id.anchor.clone()).or_default();
        g.backlinks += 1;
        g.refpages.insert(from);
        g.refdomains.insert(refdomain);
        g.first = Some(g.first.map_or(link.first_seen, |f| f.min(link.first_seen)));
        g.last = Some(g.last.map_or(last, |l| l.max(last)));
    }
    let mut rows = Vec::new();
    let mut all_pages: HashSet<String> = HashSet::new();
    let mut total_backlinks = 0u64;
    for (anchor, g) in groups {
        let row = vec![
            Value::Str(anchor),
            Value::Int(g.backlinks),
            Value::Int(g.refpages.len() as i64),
            Value::Str(String::new()),
            Value::Int(g.refdomains.len() as i64),
            Value::Time(g.first),
            Value::Time(g.last),
        ];
        // Aggregate columns named in `where` are evaluated on the group.
        if !plan.where_.matches(&row, |i| !row_cols(i)) || !plan.having.matches(&row, |_| true) {
            continue;
        }
        total_backlinks += g.backlinks as u64;
        all_pages.extend(g.refpages);
        rows.push(row);
    }
    // Default order: most backlinks first, then anchor.
    rows.sort_by(|a, b| b[1].order(&a[1]).then_with(|| a[0].order(&b[0])));
    Ok((
        finish(plan, p, rows),
        Some((total_backlinks, all_pages.len() as u64)),
    ))
}

#[cfg(test)]
mod tests;
