//! The page tables over typed scans: `metrics`/`metrics_extended` and `ahrefs_rank`/`pages_extended`.

use super::*;

/// `metrics` / `metrics_extended`: one row of counts over the live backlinks of the scope and
/// the crawled pages in it.
pub(super) fn metrics(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Rows> {
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
pub(super) fn pages(plan: &Plan, ctx: &mut Ctx<'_>) -> Result<Rows> {
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
