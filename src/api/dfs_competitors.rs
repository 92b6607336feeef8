//! DataForSEO "Competitors" (`/v3/backlinks/competitors/live`): the domains that share
//! referring domains with the target, ranked by how many they share (`intersections`), the
//! link-building prospects a backlink tool suggests. From the index's own link records: each
//! referring (registrable) domain of the target's live backlinks, and the other domains its
//! crawled pages link to.

use super::dataforseo::{Reply, TargetTask};
use super::dfs_filter::{self, Filter};
use linkdiff_model::{registrable_domain, url_host, Target};
use linkdiff_query::{QueryParams, Table};
use linkdiff_store::Store;
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, BTreeSet};

const FUNCTION: &str = "competitors";
const MAX_ITEMS: usize = 1000;
const DEFAULT_ITEMS: usize = 100;

fn domain_of(url: &str) -> String {
    registrable_domain(&url_host(url).to_ascii_lowercase()).to_string()
}

/// Competitor domains of `scope` (whose own registrable domain is `own`) with the number of
/// the target's referring domains that also link to each, most shared first (then by name).
pub fn competitors(store: &Store, scope: &Target, own: &str) -> anyhow::Result<Vec<(String, u64)>> {
    let mut referring: BTreeSet<String> = BTreeSet::new();
    for r in store.backlinks(scope) {
        let (from, _, _) = r?;
        referring.insert(domain_of(&from));
    }
    referring.remove(own);
    let mut shared: BTreeMap<String, u64> = BTreeMap::new();
    for r in &referring {
        let pages = linkdiff_query::run(
            store,
            Table::PagesExtended,
            &QueryParams {
                select: Some("url".into()),
                limit: linkdiff_query::MAX_LIMIT,
                ..QueryParams::new(Target::Subdomains(r.clone()))
            },
        )?;
        let mut linked: BTreeSet<String> = BTreeSet::new();
        for row in &pages.rows {
            for (id, rec) in store.forward_links(&row[0].text())? {
                if rec.live && rec.external {
                    linked.insert(domain_of(&id.url_to));
                }
            }
        }
        for d in linked {
            if d != *own && d != *r {
                *shared.entry(d).or_default() += 1;
            }
        }
    }
    let mut out: Vec<(String, u64)> = shared.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// Answer a `competitors/live` request body (auth already checked): `(HTTP status, JSON)`.
pub fn answer(store: &Store, body: &[u8]) -> Reply {
    match TargetTask::parse(FUNCTION, body).and_then(|task| respond(store, task)) {
        Ok(r) | Err(r) => r,
    }
}

fn respond(store: &Store, task: TargetTask) -> Result<Reply, Reply> {
    let raw = &task.raw;
    let target = task.target()?;
    let scope = Target::dataforseo(&target).map_err(|_| task.invalid("target"))?;
    let (limit, offset) = task.page(DEFAULT_ITEMS, MAX_ITEMS)?;
    let scale = task.rank_scale()?;
    let fields: Vec<String> = ["type", "target", "rank", "intersections"]
        .map(String::from)
        .to_vec();
    let filter = match raw.get("filters") {
        None | Some(J::Null) => None,
        Some(f) => Some(Filter::parse(f, &fields).ok_or_else(|| task.invalid("filters"))?),
    };
    let rules = match raw.get("order_by") {
        None | Some(J::Null) => vec![("intersections".to_string(), true)],
        Some(o) => dfs_filter::parse_order(o, &fields).ok_or_else(|| task.invalid("order_by"))?,
    };
    let run = || -> anyhow::Result<(usize, Vec<J>)> {
        let own = scope.registrable_domain().to_string();
        let mut items = Vec::new();
        for (domain, shared) in competitors(store, &scope, &own)? {
            let rank = store
                .domain(&domain)?
                .map_or(0, |d| d.domain_rating as u64 * scale);
            items.push(json!({
                "type": "backlinks_competitor",
                "target": domain,
                "rank": rank,
                "intersections": shared,
            }));
        }
        items.retain(|i| filter.as_ref().is_none_or(|f| f.test(i)));
        dfs_filter::sort(&mut items, &rules);
        let total = items.len();
        Ok((total, items.into_iter().skip(offset).take(limit).collect()))
    };
    Ok(match run() {
        Ok((total, items)) => task.ok(json!([{
            "target": target,
            "total_count": total,
            "items_count": items.len(),
            "items": items,
        }])),
        Err(e) => task.internal(e),
    })
}
