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
/// The referring domains are split over the machine's cores: each domain's crawled pages and
/// their link sets are read independently (the store's readers run in parallel).
pub fn competitors(store: &Store, scope: &Target, own: &str) -> anyhow::Result<Vec<(String, u64)>> {
    let mut referring: BTreeSet<String> = BTreeSet::new();
    if let Some(sql) = store.sql() {
        referring.extend(sql.referring_domains(scope)?);
    } else {
        for r in store.backlinks(scope) {
            let (from, _, _) = r?;
            referring.insert(domain_of(&from));
        }
    }
    referring.remove(own);
    let referring: Vec<String> = referring.into_iter().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(referring.len().max(1));
    let chunk = referring.len().div_ceil(threads).max(1);
    let parts: Vec<anyhow::Result<BTreeMap<String, u64>>> = std::thread::scope(|s| {
        let handles: Vec<_> = referring
            .chunks(chunk)
            .map(|domains| s.spawn(move || shared_by(store, domains, own)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a competitors reader failed")))
            })
            .collect()
    });
    let mut shared: BTreeMap<String, u64> = BTreeMap::new();
    for part in parts {
        for (d, n) in part? {
            *shared.entry(d).or_default() += n;
        }
    }
    let mut out: Vec<(String, u64)> = shared.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// For each domain other than `own` that the crawled pages of `referring` link to (live,
/// external), how many of those referring domains link to it.
fn shared_by(
    store: &Store,
    referring: &[String],
    own: &str,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut shared: BTreeMap<String, u64> = BTreeMap::new();
    for r in referring {
        // Hosts first (one public-suffix lookup per host, not per link).
        let mut hosts: std::collections::HashSet<String> = Default::default();
        let mut add = |links: Vec<(linkdiff_model::LinkId, linkdiff_store::LinkRecord)>| {
            for (id, rec) in links {
                let host = url_host(&id.url_to);
                if rec.live && rec.external && !hosts.contains(host) {
                    hosts.insert(host.to_string());
                }
            }
        };
        if let Some(sql) = store.sql() {
            // SQLite: every link set of the domain's pages in one statement.
            for (_, links) in sql.link_sets_in(&Target::Subdomains(r.clone()))? {
                add(links);
            }
        } else {
            let pages = linkdiff_query::run(
                store,
                Table::PagesExtended,
                &QueryParams {
                    select: Some("url".into()),
                    limit: linkdiff_query::MAX_LIMIT,
                    ..QueryParams::new(Target::Subdomains(r.clone()))
                },
            )?;
            for row in &pages.rows {
                add(store.forward_links(&row[0].text())?);
            }
        }
        let linked: BTreeSet<String> = hosts
            .iter()
            .map(|h| registrable_domain(&h.to_ascii_lowercase()).to_string())
            .collect();
        for d in linked {
            if d != *own && d != *r {
                *shared.entry(d).or_default() += 1;
            }
        }
    }
    Ok(shared)
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
        let found = competitors(store, &scope, &own)?;
        // Ratings: one read per competitor for a few, one pass over every domain for many.
        let ratings: Option<std::collections::HashMap<String, u8>> = (found.len() > 1_000)
            .then(|| {
                store
                    .domains()
                    .map(|r| r.map(|(name, d)| (name, d.domain_rating)))
                    .collect::<linkdiff_store::Result<_>>()
            })
            .transpose()?;
        for (domain, shared) in found {
            let dr = match &ratings {
                Some(all) => all.get(&domain).copied(),
                None => store.domain(&domain)?.map(|d| d.domain_rating),
            };
            let rank = dr.map_or(0, |dr| dr as u64 * scale);
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
