//! DataForSEO "Backlinks Summary" (`/v3/backlinks/summary/live`): one target's backlink
//! profile in DataForSEO's fields, computed from the index; fields the index cannot know are
//! `null` (see README, "DataForSEO summary").

use super::dataforseo::{Reply, TargetTask};
use linkdiff_model::Target;
use linkdiff_model::{class_c, url_host};
use linkdiff_model::{registrable_domain, LinkType};
use linkdiff_query::{QueryParams, Table};
use linkdiff_store::Store;
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, HashSet};

const FUNCTION: &str = "summary";

/// The summary item of `target` (within `scope`) over live backlinks.
pub fn summary(store: &Store, target: &str, scope: &Target) -> anyhow::Result<J> {
    let scope = scope.clone();
    let (mut hosts, mut domains, mut pages) = (HashSet::new(), HashSet::new(), HashSet::new());
    let (mut hosts_nf, mut domains_nf, mut pages_nf) =
        (HashSet::new(), HashSet::new(), HashSet::new());
    let (mut ips, mut nets) = (HashSet::new(), HashSet::new());
    let mut tld: BTreeMap<String, u64> = BTreeMap::new();
    let mut types: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut backlinks, mut nofollow, mut broken) = (0u64, 0u64, 0u64);
    let mut first_seen: Option<i64> = None;
    for r in store.backlinks(&scope) {
        let (from, id, link) = r?;
        backlinks += 1;
        let host = url_host(&from).to_string();
        let domain = registrable_domain(&host).to_string();
        *tld.entry(domain.rsplit('.').next().unwrap_or("").to_string())
            .or_default() += 1;
        let kind = match id.link_type {
            LinkType::Href if link.alt.is_empty() => "anchor",
            LinkType::Href => "image",
            LinkType::Redirect => "redirect",
            LinkType::Canonical => "canonical",
            LinkType::Alternate | LinkType::Rss => "alternate",
            LinkType::Frame => "frame",
            LinkType::Form => "form",
        };
        *types.entry(kind).or_default() += 1;
        if link.nofollow {
            nofollow += 1;
            hosts_nf.insert(host.clone());
            domains_nf.insert(domain.clone());
            pages_nf.insert(from.clone());
        }
        if let Some(p) = store.page(&from)? {
            if !p.ip.is_empty() {
                nets.extend(class_c(&p.ip));
                ips.insert(p.ip);
            }
        }
        if store
            .page(&id.url_to)?
            .is_some_and(|p| p.last_visit.is_some() && !(200..400).contains(&p.last_status))
        {
            broken += 1;
        }
        first_seen = Some(first_seen.map_or(link.first_seen, |f| f.min(link.first_seen)));
        hosts.insert(host);
        domains.insert(domain);
        pages.insert(from);
    }
    // Crawled pages of the target: the `pages_extended` rows (no limit).
    let p = QueryParams {
        select: Some("http_code,links_internal,links_external".into()),
        limit: linkdiff_query::MAX_LIMIT,
        ..QueryParams::new(super::dataforseo::v2_target(&scope))
    };
    let crawled = linkdiff_query::run(store, Table::PagesExtended, &p)?;
    let int = |v: &linkdiff_query::Value| v.text().parse::<u64>().unwrap_or(0);
    let broken_pages = crawled
        .rows
        .iter()
        .filter(|r| !(200..400).contains(&int(&r[0])))
        .count();
    let internal: u64 = crawled.rows.iter().map(|r| int(&r[1])).sum();
    let external: u64 = crawled.rows.iter().map(|r| int(&r[2])).sum();
    let rank = store
        .domain(scope.registrable_domain())?
        .map_or(0, |d| d.domain_rating as u64 * 10);
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S +00:00").to_string())
    };
    let counts =
        |m: BTreeMap<String, u64>| J::Object(m.into_iter().map(|(k, v)| (k, J::from(v))).collect());
    Ok(json!({
        "target": target,
        "first_seen": first_seen.and_then(time),
        "lost_date": null,
        "rank": rank,
        "backlinks": backlinks,
        "backlinks_spam_score": null,
        "crawled_pages": crawled.rows.len(),
        "info": null,
        "internal_links_count": internal,
        "external_links_count": external,
        "broken_backlinks": broken,
        "broken_pages": broken_pages,
        "referring_domains": hosts.len(),
        "referring_domains_nofollow": hosts_nf.len(),
        "referring_main_domains": domains.len(),
        "referring_main_domains_nofollow": domains_nf.len(),
        "referring_ips": ips.len(),
        "referring_subnets": nets.len(),
        "referring_pages": pages.len(),
        "referring_pages_nofollow": pages_nf.len(),
        "referring_links_tld": counts(tld),
        "referring_links_types": counts(types.into_iter().map(|(k, v)| (k.to_string(), v)).collect()),
        "referring_links_attributes": if nofollow > 0 { json!({"nofollow": nofollow}) } else { json!({}) },
        "referring_links_platform_types": null,
        "referring_links_semantic_locations": null,
        "referring_links_countries": null,
    }))
}

/// Answer a `summary/live` request body (auth already checked): `(HTTP status, JSON)`.
pub fn answer(store: &Store, body: &[u8]) -> Reply {
    match TargetTask::parse(FUNCTION, body).and_then(|task| respond(store, task)) {
        Ok(r) | Err(r) => r,
    }
}

fn respond(store: &Store, task: TargetTask) -> Result<Reply, Reply> {
    let target = task.target()?;
    task.live_only()?;
    let scope = task.scope(&target)?;
    Ok(match summary(store, &target, &scope) {
        Ok(item) => task.ok(json!([item])),
        Err(e) => task.internal(e),
    })
}
