//! The grouped tables over typed scans: counters, `anchors`, `refdomains` (with `stats`), `refdomains_new_lost` and the referring-domain transitions behind it, and DataForSEO's change counts.

use super::*;

/// `backlinks_new_lost_counters`: events grouped by date (and url_to when selected).
pub(super) fn counters(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Vec<Vec<Value>>> {
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

/// `anchors` columns that `where` tests on each backlink; the others apply to the group.
pub(crate) fn anchors_row_col(c: Col) -> bool {
    matches!(
        c,
        Col::Anchor | Col::Refdomain | Col::FirstSeen | Col::LastVisited
    )
}

/// `anchors`: backlinks of every link type grouped by anchor.
pub(super) fn anchors(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<(Rows, Stats)> {
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
pub(super) fn refdomains(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<(Rows, Stats)> {
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
pub(super) fn refdomain_transitions(
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
pub(super) fn refdomains_new_lost(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Rows> {
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
