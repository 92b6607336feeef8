//! DataForSEO "Backlinks Summary" (`/v3/backlinks/summary/live`): one target's backlink
//! profile in DataForSEO's fields, computed from the index; fields the index cannot know are
//! `null` (see README, "DataForSEO summary").

use super::dataforseo::{envelope, one_task, target_scope, task_json};
use linkdiff_query::{Mode, QueryParams, Table};
use linkdiff_store::model::{class_c, url_host};
use linkdiff_store::{registrable_domain, LinkType, Store, TargetScope};
use serde_json::{json, Map, Value as J};
use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

const FUNCTION: &str = "summary";

/// The target's scope: a bare registrable domain includes its subdomains unless
/// `include_subdomains` is false (then only that host); a host is that host; a URL that page.
fn scope(target: &str, include_subdomains: bool) -> TargetScope {
    match target_scope(target) {
        TargetScope::Subdomains(h) if !include_subdomains => TargetScope::Host(h),
        s => s,
    }
}

/// The summary item of `target` over live backlinks.
pub fn summary(store: &Store, target: &str, include_subdomains: bool) -> anyhow::Result<J> {
    let scope = scope(target, include_subdomains);
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
        target: target.to_string(),
        mode: match &scope {
            TargetScope::Exact(_) => Mode::Exact,
            TargetScope::Subdomains(_) => Mode::Subdomains,
            _ => Mode::Domain,
        },
        select: Some("http_code,links_internal,links_external".into()),
        limit: linkdiff_query::MAX_LIMIT,
        ..Default::default()
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
        .domain(registrable_domain(url_host(target.trim())))?
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
pub fn answer(store: &Store, body: &[u8]) -> (u16, J) {
    let started = Instant::now();
    let raw = match one_task(body, started) {
        Ok(t) => t,
        Err(e) => return (200, e),
    };
    let echo: Map<String, J> = raw
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let invalid = |field: &str| {
        let t = task_json(
            FUNCTION,
            40501,
            &format!("Invalid Field: '{field}'."),
            echo.clone(),
            J::Null,
            started,
        );
        (200, envelope(20000, "Ok.", vec![t], started))
    };
    let target = match raw.get("target").and_then(J::as_str).map(str::trim) {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => return invalid("target"),
    };
    let include_subdomains = match raw.get("include_subdomains") {
        None | Some(J::Null) => true,
        Some(J::Bool(b)) => *b,
        _ => return invalid("include_subdomains"),
    };
    match raw.get("backlinks_status_type").and_then(J::as_str) {
        None | Some("live") => {}
        Some(_) => return invalid("backlinks_status_type"),
    }
    match summary(store, &target, include_subdomains) {
        Ok(item) => {
            let t = task_json(FUNCTION, 20000, "Ok.", echo, json!([item]), started);
            (200, envelope(20000, "Ok.", vec![t], started))
        }
        Err(e) => {
            tracing::error!("summary: {e:#}");
            (500, envelope(50000, "Internal Error.", vec![], started))
        }
    }
}
