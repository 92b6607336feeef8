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

/// Caches of referring pages, their link sets, target statuses and domain ranks during one
/// query (bounded: cleared when large).
struct Ctx<'a> {
    store: &'a Store,
    /// Visited pages per registrable domain (for `sitewide`), counted on first use.
    domain_pages: Option<HashMap<String, i64>>,
    /// Per target URL: referring pages with a live link to it, per registrable domain.
    linking: HashMap<String, HashMap<String, i64>>,
    pages: HashMap<String, Option<Rc<PageRecord>>>,
    domains: HashMap<String, (i64, i64)>,
    links: HashMap<String, Rc<HashMap<LinkId, LinkRecord>>>,
}

impl<'a> Ctx<'a> {
    fn new(store: &'a Store) -> Self {
        Ctx {
            store,
            domain_pages: None,
            linking: HashMap::new(),
            pages: HashMap::new(),
            domains: HashMap::new(),
            links: HashMap::new(),
        }
    }

    /// Whether `from`'s domain links to `to` site-wide: from at least
    /// [`SITEWIDE_MIN_PAGES`](crate::catalogue::SITEWIDE_MIN_PAGES) of its pages and from more
    /// than half of its visited ones.
    fn sitewide(&mut self, from: &str, to: &str) -> Result<bool> {
        let domain = registrable_domain(url_host(from)).to_string();
        if self.domain_pages.is_none() {
            let mut counts: HashMap<String, i64> = HashMap::new();
            for r in self.store.pages() {
                let (url, p) = r?;
                if p.last_ok_visit.is_some() && !p.dropped {
                    *counts
                        .entry(registrable_domain(url_host(&url)).to_string())
                        .or_default() += 1;
                }
            }
            self.domain_pages = Some(counts);
        }
        if !self.linking.contains_key(to) {
            let mut pages: HashMap<String, HashSet<String>> = HashMap::new();
            for r in self.store.backlinks(&Target::Exact(to.to_string())) {
                let (url_from, ..) = r?;
                pages
                    .entry(registrable_domain(url_host(&url_from)).to_string())
                    .or_default()
                    .insert(url_from);
            }
            let counts = pages
                .into_iter()
                .map(|(d, p)| (d, p.len() as i64))
                .collect();
            self.linking.insert(to.to_string(), counts);
        }
        let linking = self.linking[to].get(&domain).copied().unwrap_or(0);
        let visited = self
            .domain_pages
            .as_ref()
            .and_then(|m| m.get(&domain).copied())
            .unwrap_or(0);
        Ok(2 * linking > visited.max(2 * crate::catalogue::SITEWIDE_MIN_PAGES - 1))
    }

    /// The record of one link of `from` (default if missing).
    fn link(&mut self, from: &str, id: &LinkId) -> Result<LinkRecord> {
        if self.store.clickhouse().is_some() {
            // One link at a time: the engine answers from what its scans fetched.
            return Ok(self.store.link(from, id)?.unwrap_or_default());
        }
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

    /// A `backlinks` row; with a mask, columns not in it that cost a read or a copy are left
    /// empty.
    fn backlink_row(
        &mut self,
        table: Table,
        from: &str,
        id: &LinkId,
        link: &LinkRecord,
        mask: Option<&HashSet<Col>>,
    ) -> Result<Vec<Value>> {
        let want = |c: Col| mask.is_none_or(|m| m.contains(&c));
        let (http_code, broken_at) = if want(Col::HttpCode) || want(Col::BrokenAt) {
            self.page(&id.url_to)?
                .map(|p| (p.last_status as i64, p.broken_since))
                .unwrap_or((0, None))
        } else {
            (0, None)
        };
        let (dr, top) = if want(Col::DomainRating) || want(Col::AhrefsTop) {
            self.domain(from)?
        } else {
            (0, 0)
        };
        let sitewide = want(Col::Sitewide) && self.sitewide(from, &id.url_to)?;
        let page = self.page(from)?.unwrap_or_default();
        let (last, prev) = link.visits(&page);
        let s = |c: Col, v: &str| {
            if want(c) {
                Value::Str(v.to_string())
            } else {
                Value::Int(0)
            }
        };
        Ok(row_of(table, |c| match c {
            Col::UrlFrom => s(c, from),
            Col::UrlTo => s(c, &id.url_to),
            Col::AhrefsRank => Value::Int(page.url_rating as i64),
            Col::DomainRating => Value::Int(dr),
            Col::AhrefsTop => Value::Int(top),
            Col::IpFrom => s(c, &page.ip),
            Col::LinksInternal => Value::Int(page.links_internal as i64),
            Col::LinksExternal => Value::Int(page.links_external as i64),
            Col::PageSize => Value::Int(page.page_size as i64),
            Col::Encoding => s(c, &page.encoding),
            Col::Language => s(c, &page.language),
            Col::Title => s(c, &page.title),
            Col::FirstSeen => Value::Time(Some(link.first_seen)),
            Col::LastVisited => Value::Time(Some(last)),
            Col::PrevVisited => Value::Time(prev),
            Col::Original => Value::Bool(link.original),
            Col::LinkType => s(c, id.link_type.as_str()),
            Col::Redirect => Value::Int(link.redirect as i64),
            Col::Nofollow => Value::Bool(link.nofollow),
            Col::Alt => s(c, &link.alt),
            Col::Anchor => s(c, &id.anchor),
            Col::TextPre => s(c, &link.text_pre),
            Col::TextPost => s(c, &link.text_post),
            Col::HttpCode => Value::Int(http_code),
            Col::UrlFromFirstSeen => Value::Time(page.first_ok_visit),
            Col::BrokenAt => Value::Time(broken_at),
            Col::Sitewide => Value::Bool(sitewide),
            _ => Value::Int(0),
        }))
    }

    /// A `backlinks_new_lost` row; with a mask, the link record is read only if needed.
    fn event_row(&mut self, ev: &EventRecord, mask: Option<&HashSet<Col>>) -> Result<Vec<Value>> {
        let want = |c: Col| mask.is_none_or(|m| m.contains(&c));
        let page = self.page(&ev.url_from)?.unwrap_or_default();
        let (dr, _) = self.domain(&ev.url_from)?;
        const FROM_LINK: [Col; 9] = [
            Col::FirstSeen,
            Col::LastVisited,
            Col::PrevVisited,
            Col::Original,
            Col::Redirect,
            Col::Nofollow,
            Col::Alt,
            Col::TextPre,
            Col::TextPost,
        ];
        let l = &if FROM_LINK.iter().any(|&c| want(c)) {
            self.link(&ev.url_from, &ev.link_id())?
        } else {
            LinkRecord::default()
        };
        let (last, prev) = l.visits(&page);
        Ok(row_of(Table::NewLost, |c| match c {
            Col::Date => Value::Date(crate::time::day(ev.time) * 86_400),
            Col::Type => Value::Str(ev.kind.as_str().to_string()),
            Col::AhrefsRank => Value::Int(page.url_rating as i64),
            Col::DomainRating => Value::Int(dr),
            Col::UrlFrom => Value::Str(ev.url_from.clone()),
            Col::UrlTo => Value::Str(ev.url_to.clone()),
            Col::LinksInternal => Value::Int(ev.links_internal as i64),
            Col::LinksExternal => Value::Int(ev.links_external as i64),
            Col::Encoding => Value::Str(page.encoding.clone()),
            Col::HttpCode => Value::Int(ev.http_code as i64),
            Col::Title => Value::Str(page.title.clone()),
            Col::Origin => Value::Str(ev.origin.as_str().to_string()),
            Col::FirstSeen => Value::Time(Some(l.first_seen)),
            Col::LastVisited => Value::Time(Some(last)),
            Col::PrevVisited => Value::Time(prev),
            Col::Original => Value::Bool(l.original),
            Col::LinkType => Value::Str(ev.link_type.as_str().to_string()),
            Col::Redirect => Value::Int(l.redirect as i64),
            Col::Nofollow => Value::Bool(l.nofollow),
            Col::Alt => Value::Str(l.alt.clone()),
            Col::Anchor => Value::Str(ev.anchor.clone()),
            Col::TextPre => Value::Str(l.text_pre.clone()),
            Col::TextPost => Value::Str(l.text_post.clone()),
            Col::Reason => Value::Str(ev.reason.map(|r| r.as_str()).unwrap_or("").to_string()),
            Col::Recovered => Value::Bool(ev.recovered),
            _ => Value::Int(0),
        }))
    }
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

/// `backlinks_new_lost_counters`: events grouped by date (and url_to when selected).
fn counters(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Vec<Vec<Value>>> {
    let by_url = plan.counters_by_url();
    // (day, url_to) → [new, lost, new_total, lost_total]
    let mut groups: BTreeMap<(i64, String), [i64; 4]> = BTreeMap::new();
    let store = ctx.store;
    for r in store.events(&plan.scope) {
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
        let passes = plan.where_.is_empty() || {
            let row = ctx.event_row(&ev, None)?;
            matches(&plan.where_, Table::NewLost, &row, |_| true)
        };
        let g = groups.entry(key).or_insert([0; 4]);
        let k = if ev.kind == EventKind::New { 0 } else { 1 };
        g[k + 2] += 1;
        if passes {
            g[k] += 1;
        }
    }
    let t = Table::Counters;
    let mut rows = Vec::new();
    for ((day, url), [n, l, nt, lt]) in groups.into_iter().rev() {
        let row = t
            .columns()
            .iter()
            .map(|c| match c.id {
                Col::Date => Value::Date(day * 86_400),
                Col::UrlTo => Value::Str(url.clone()),
                Col::New => Value::Int(n),
                Col::Lost => Value::Int(l),
                Col::NewTotal => Value::Int(nt),
                Col::LostTotal => Value::Int(lt),
                _ => blank(c.ty),
            })
            .collect::<Vec<_>>();
        if matches(&plan.having, t, &row, |_| true) {
            rows.push(row);
        }
    }
    // Default order: newest date first, then url_to (BTreeMap reversed gives url_to desc;
    // restore ascending within a date).
    rows.sort_by(|a, b| {
        at(t, b, Col::Date)
            .order(at(t, a, Col::Date))
            .then_with(|| at(t, a, Col::UrlTo).order(at(t, b, Col::UrlTo)))
    });
    Ok(finish(plan, rows))
}

/// Result rows, cells in catalogue order.
type Rows = Vec<Vec<Value>>;
type Stats = Vec<(&'static str, u64)>;

/// `anchors` columns that `where` tests on each backlink; the others apply to the group.
pub(crate) fn anchors_row_col(c: Col) -> bool {
    matches!(
        c,
        Col::Anchor | Col::Refdomain | Col::FirstSeen | Col::LastVisited
    )
}

/// `anchors`: backlinks of every link type grouped by anchor.
fn anchors(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<(Rows, Stats)> {
    #[derive(Default)]
    struct G {
        backlinks: i64,
        refpages: HashSet<String>,
        refdomains: HashSet<String>,
        first: Option<i64>,
        last: Option<i64>,
    }
    let t = Table::Anchors;
    let row_where: Vec<Cond> = plan
        .where_
        .iter()
        .filter(|c| anchors_row_col(c.col.id))
        .cloned()
        .collect();
    let mut groups: BTreeMap<String, G> = BTreeMap::new();
    let store = ctx.store;
    for r in store.backlinks(&plan.scope) {
        let (from, id, link) = r?;
        let (last, _) = link.visits(&ctx.page(&from)?.unwrap_or_default());
        let refdomain = registrable_domain(url_host(&from)).to_string();
        let row = row_of(t, |c| match c {
            Col::Anchor => Value::Str(id.anchor.clone()),
            Col::Refdomain => Value::Str(refdomain.clone()),
            Col::FirstSeen => Value::Time(Some(link.first_seen)),
            Col::LastVisited => Value::Time(Some(last)),
            _ => Value::Int(1),
        });
        if !matches(&row_where, t, &row, |_| true) {
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
        let row = row_of(t, |c| match c {
            Col::Anchor => Value::Str(anchor.clone()),
            Col::Backlinks => Value::Int(g.backlinks),
            Col::Refpages => Value::Int(g.refpages.len() as i64),
            Col::Refdomains => Value::Int(g.refdomains.len() as i64),
            Col::FirstSeen => Value::Time(g.first),
            Col::LastVisited => Value::Time(g.last),
            _ => Value::Str(String::new()),
        });
        // Aggregate columns named in `where` are evaluated on the group.
        if !matches(&plan.where_, t, &row, |c| !anchors_row_col(c))
            || !matches(&plan.having, t, &row, |_| true)
        {
            continue;
        }
        total_backlinks += g.backlinks as u64;
        all_pages.extend(g.refpages);
        rows.push(row);
    }
    // Default order: most backlinks first, then anchor.
    rows.sort_by(|a, b| {
        at(t, b, Col::Backlinks)
            .order(at(t, a, Col::Backlinks))
            .then_with(|| at(t, a, Col::Anchor).order(at(t, b, Col::Anchor)))
    });
    let stats = vec![
        ("backlinks", total_backlinks),
        ("refpages", all_pages.len() as u64),
    ];
    Ok((finish(plan, rows), stats))
}

/// `refdomains` columns that `where` tests on each backlink; the others apply to the group.
pub(crate) fn refdomains_row_col(c: Col) -> bool {
    matches!(
        c,
        Col::Refdomain | Col::FirstSeen | Col::LastVisited | Col::DomainRating
    )
}

/// `refdomains`: live backlinks of every link type grouped by the referring page's
/// registrable domain.
fn refdomains(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<(Rows, Stats)> {
    #[derive(Default)]
    struct G {
        backlinks: i64,
        refpages: HashSet<String>,
        ips: HashSet<String>,
        first: Option<i64>,
        last: Option<i64>,
        rating: i64,
    }
    let t = Table::Refdomains;
    let row_where: Vec<Cond> = plan
        .where_
        .iter()
        .filter(|c| refdomains_row_col(c.col.id))
        .cloned()
        .collect();
    let mut groups: BTreeMap<String, G> = BTreeMap::new();
    let store = ctx.store;
    for r in store.backlinks(&plan.scope) {
        let (from, _, link) = r?;
        let page = ctx.page(&from)?.unwrap_or_default();
        let (last, _) = link.visits(&page);
        let refdomain = registrable_domain(url_host(&from)).to_string();
        let (rating, _) = ctx.domain(&from)?;
        let row = row_of(t, |c| match c {
            Col::Refdomain => Value::Str(refdomain.clone()),
            Col::FirstSeen => Value::Time(Some(link.first_seen)),
            Col::LastVisited => Value::Time(Some(last)),
            Col::DomainRating => Value::Int(rating),
            _ => Value::Int(1),
        });
        if !matches(&row_where, t, &row, |_| true) {
            continue;
        }
        let g = groups.entry(refdomain).or_default();
        g.backlinks += 1;
        if !page.ip.is_empty() {
            g.ips.insert(page.ip.clone());
        }
        g.refpages.insert(from);
        g.first = Some(g.first.map_or(link.first_seen, |f| f.min(link.first_seen)));
        g.last = Some(g.last.map_or(last, |l| l.max(last)));
        g.rating = rating;
    }
    let mut rows = Vec::new();
    let (mut ips, mut nets) = (HashSet::new(), HashSet::new());
    for (refdomain, g) in groups {
        let row = row_of(t, |c| match c {
            Col::Refdomain => Value::Str(refdomain.clone()),
            Col::Backlinks => Value::Int(g.backlinks),
            Col::Refpages => Value::Int(g.refpages.len() as i64),
            Col::FirstSeen => Value::Time(g.first),
            Col::LastVisited => Value::Time(g.last),
            Col::DomainRating => Value::Int(g.rating),
            _ => Value::Str(String::new()),
        });
        if !matches(&plan.where_, t, &row, |c| !refdomains_row_col(c))
            || !matches(&plan.having, t, &row, |_| true)
        {
            continue;
        }
        nets.extend(g.ips.iter().filter_map(|ip| class_c(ip)));
        ips.extend(g.ips);
        rows.push(row);
    }
    let stats = vec![
        ("refdomains", rows.len() as u64),
        ("ips", ips.len() as u64),
        ("class_c", nets.len() as u64),
    ];
    // Default order: most backlinks first, then the domain.
    rows.sort_by(|a, b| {
        at(t, b, Col::Backlinks)
            .order(at(t, a, Col::Backlinks))
            .then_with(|| at(t, a, Col::Refdomain).order(at(t, b, Col::Refdomain)))
    });
    Ok((finish(plan, rows), stats))
}

/// The days each referring domain of the scope was gained or lost: from the backlink events,
/// the domain's live backlinks counted day by day; new when the count leaves 0, lost when it
/// returns to 0 (changes inside one day net out). `(day, is_new, domain)`, by day then domain.
/// `hosts`: count referring hosts instead of registrable domains.
fn refdomain_transitions(
    scope: &Target,
    ctx: &mut Ctx<'_>,
    hosts: bool,
) -> Result<Vec<(i64, bool, String)>> {
    let mut deltas: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for r in ctx.store.events(scope) {
        let ev = r?;
        let host = url_host(&ev.url_from);
        let domain = if hosts {
            host
        } else {
            registrable_domain(host)
        }
        .to_string();
        let step = if ev.kind == EventKind::New { 1 } else { -1 };
        *deltas
            .entry((domain, crate::time::day(ev.time)))
            .or_default() += step;
    }
    let mut out = Vec::new();
    let mut live = 0i64;
    let mut current = None;
    for ((domain, day), delta) in deltas {
        if current.as_ref() != Some(&domain) {
            live = 0;
            current = Some(domain.clone());
        }
        let after = live + delta;
        if live == 0 && after > 0 {
            out.push((day, true, domain.clone()));
        } else if live > 0 && after == 0 {
            out.push((day, false, domain.clone()));
        }
        live = after;
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
    Ok(out)
}

/// `refdomains_new_lost` rows (newest day first, then new before lost, then domain), or their
/// counts per day for `refdomains_new_lost_counters` (`new_total`/`lost_total` ignore `where`).
fn refdomains_new_lost(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Rows> {
    let t = plan.table;
    let mut rows = Vec::new();
    let mut counts: BTreeMap<i64, [i64; 4]> = BTreeMap::new();
    for (day, new, domain) in refdomain_transitions(&plan.scope, ctx, false)? {
        let rating = ctx.domain(&format!("http://{domain}/"))?.0;
        let row = row_of(Table::RefdomainsNewLost, |c| match c {
            Col::Date => Value::Date(day * 86_400),
            Col::Type => Value::Str(if new { "new" } else { "lost" }.into()),
            Col::Refdomain => Value::Str(domain.clone()),
            _ => Value::Int(rating),
        });
        let passes = matches(&plan.where_, Table::RefdomainsNewLost, &row, |_| true);
        if t == Table::RefdomainsCounters {
            let k = if new { 0 } else { 1 };
            let g = counts.entry(day).or_default();
            g[k + 2] += 1;
            if passes {
                g[k] += 1;
            }
        } else if passes && matches(&plan.having, t, &row, |_| true) {
            rows.push(row);
        }
    }
    if t == Table::RefdomainsCounters {
        for (day, [n, l, nt, lt]) in counts {
            let row = row_of(t, |c| match c {
                Col::Date => Value::Date(day * 86_400),
                Col::New => Value::Int(n),
                Col::Lost => Value::Int(l),
                Col::NewTotal => Value::Int(nt),
                Col::LostTotal => Value::Int(lt),
                c => blank(t.columns()[t.index(c).expect("own column")].ty),
            });
            if matches(&plan.having, t, &row, |_| true) {
                rows.push(row);
            }
        }
    }
    // Default order: newest day first, then new before lost, then the domain.
    rows.sort_by(|a, b| {
        at(t, b, Col::Date)
            .order(at(t, a, Col::Date))
            .then_with(|| {
                if t == Table::RefdomainsCounters {
                    std::cmp::Ordering::Equal
                } else {
                    at(t, b, Col::Type)
                        .order(at(t, a, Col::Type))
                        .then_with(|| at(t, a, Col::Refdomain).order(at(t, b, Col::Refdomain)))
                }
            })
    });
    Ok(finish(plan, rows))
}

/// Referring hosts and registrable domains gained and lost on or after `since` (a day start,
/// Unix seconds).
pub fn referring_changes(store: &Store, scope: &Target, since: i64) -> Result<ReferringChanges> {
    let mut ctx = Ctx::new(store);
    let mut out = ReferringChanges::default();
    for hosts in [true, false] {
        for (day, new, _) in refdomain_transitions(scope, &mut ctx, hosts)? {
            if day * 86_400 >= since {
                out.of(hosts).count(new);
            }
        }
    }
    Ok(out)
}

/// `metrics` / `metrics_extended`: one row of counts over the live backlinks of the scope and
/// the crawled pages in it.
fn metrics(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Rows> {
    let t = plan.table;
    let mut n: HashMap<Col, i64> = HashMap::new();
    let mut add = |c: Col, by: i64| *n.entry(c).or_default() += by;
    let (mut refpages, mut domains) = (HashSet::new(), HashSet::new());
    let (mut ips, mut nets) = (HashSet::new(), HashSet::new());
    let store = ctx.store;
    for r in store.backlinks(&plan.scope) {
        let (from, id, link) = r?;
        add(Col::Backlinks, 1);
        let page = ctx.page(&from)?.unwrap_or_default();
        if !page.ip.is_empty() {
            nets.extend(class_c(&page.ip));
            ips.insert(page.ip.clone());
        }
        let domain = registrable_domain(url_host(&from)).to_string();
        add(Col::Gov, i64::from(domain_kind(&domain, "gov")));
        add(Col::Edu, i64::from(domain_kind(&domain, "edu")));
        domains.insert(domain);
        refpages.insert(from);
        match id.link_type {
            LinkType::Href if link.alt.is_empty() => add(Col::Text, 1),
            LinkType::Href => add(Col::Image, 1),
            LinkType::Redirect => add(Col::Redirect, 1),
            LinkType::Canonical => add(Col::Canonical, 1),
            _ => {}
        }
        add(
            if link.nofollow {
                Col::Nofollow
            } else {
                Col::Dofollow
            },
            1,
        );
    }
    for r in store.pages() {
        let (url, p) = r?;
        if p.last_visit.is_none() || !plan.scope.covers(&url) {
            continue;
        }
        add(Col::Pages, 1);
        if (200..300).contains(&p.last_status) {
            add(Col::ValidPages, 1);
            if !p.encoding.is_empty() {
                add(Col::HtmlPages, 1);
                add(Col::LinksInternal, p.links_internal as i64);
                add(Col::LinksExternal, p.links_external as i64);
            }
        }
    }
    add(Col::Refpages, refpages.len() as i64);
    add(Col::Refdomains, domains.len() as i64);
    add(Col::RefclassC, nets.len() as i64);
    add(Col::Refips, ips.len() as i64);
    let row = row_of(t, |c| Value::Int(n.get(&c).copied().unwrap_or(0)));
    let rows = if matches(&plan.having, t, &row, |_| true) {
        vec![row]
    } else {
        Vec::new()
    };
    Ok(finish(plan, rows))
}

/// `ahrefs_rank` / `pages_extended`: the crawled pages of the scope, strongest first (then by
/// URL).
fn pages(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Rows> {
    let t = plan.table;
    let mut rows = Vec::new();
    for r in ctx.store.pages() {
        let (url, p) = r?;
        if p.last_visit.is_none() || !plan.scope.covers(&url) {
            continue;
        }
        let row = row_of(t, |c| match c {
            Col::Url => Value::Str(url.clone()),
            Col::AhrefsRank => Value::Int(p.url_rating as i64),
            Col::FirstSeen => Value::Time(p.first_visit),
            Col::LastVisited => Value::Time(p.last_visit),
            Col::HttpCode => Value::Int(p.last_status as i64),
            Col::Size => Value::Int(p.page_size as i64),
            Col::LinksInternal => Value::Int(p.links_internal as i64),
            Col::LinksExternal => Value::Int(p.links_external as i64),
            Col::Encoding => Value::Str(p.encoding.clone()),
            Col::Title => Value::Str(p.title.clone()),
            _ => Value::Str(p.language.clone()),
        });
        if matches(&plan.where_, t, &row, |_| true) && matches(&plan.having, t, &row, |_| true) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| {
        at(t, b, Col::AhrefsRank)
            .order(at(t, a, Col::AhrefsRank))
            .then_with(|| at(t, a, Col::Url).order(at(t, b, Col::Url)))
    });
    Ok(finish(plan, rows))
}

/// Per day (its start, Unix seconds) in `scope`, days with any change: new and lost
/// backlinks, referring hosts and referring domains.
pub fn daily_changes(store: &Store, scope: &Target) -> Result<BTreeMap<i64, PeriodChanges>> {
    let mut out: BTreeMap<i64, PeriodChanges> = BTreeMap::new();
    for r in store.events(scope) {
        let ev = r?;
        let day = crate::time::day(ev.time) * 86_400;
        out.entry(day)
            .or_default()
            .backlinks
            .count(ev.kind == EventKind::New);
    }
    let mut ctx = Ctx::new(store);
    for hosts in [true, false] {
        for (day, new, _) in refdomain_transitions(scope, &mut ctx, hosts)? {
            out.entry(day * 86_400)
                .or_default()
                .referring
                .of(hosts)
                .count(new);
        }
    }
    Ok(out)
}
