//! DataForSEO "Domain Pages Summary" (`/v3/backlinks/domain_pages_summary/live`): one
//! `summary/live` per page of the target that has live backlinks; and "Referring Networks"
//! (`/v3/backlinks/referring_networks/live`): the target's live backlinks grouped by the IP
//! address (or the class C subnet) of the referring page.

use super::dataforseo::{Reply, TargetTask};
use super::dfs_filter::{self, Filter};
use linkdiff_model::{class_c, registrable_domain, url_host, Target};
use linkdiff_store::Store;
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The count fields both endpoints' items have.
pub(crate) const COMMON: &[&str] = &[
    "rank",
    "backlinks",
    "first_seen",
    "referring_domains",
    "referring_domains_nofollow",
    "referring_main_domains",
    "referring_main_domains_nofollow",
    "referring_ips",
    "referring_subnets",
    "referring_pages",
    "referring_pages_nofollow",
];

const MAX_ITEMS: usize = 1000;
const DEFAULT_ITEMS: usize = 100;

/// The two list endpoints of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagesList {
    /// `domain_pages_summary`.
    DomainPagesSummary,
    /// `referring_networks`.
    ReferringNetworks,
    /// `domain_pages`: the target's crawled pages with what the crawl saw and their backlinks.
    DomainPages,
}

impl PagesList {
    /// The function name.
    pub fn function(self) -> &'static str {
        match self {
            PagesList::DomainPagesSummary => "domain_pages_summary",
            PagesList::ReferringNetworks => "referring_networks",
            PagesList::DomainPages => "domain_pages",
        }
    }
}

/// Answer a request body of `list` (auth already checked).
pub fn answer(store: &Store, list: PagesList, body: &[u8]) -> Reply {
    match TargetTask::parse(list.function(), body).and_then(|task| respond(store, list, task)) {
        Ok(r) | Err(r) => r,
    }
}

fn fmt_time(t: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.format("%Y-%m-%d %H:%M:%S +00:00").to_string())
}

/// One referring network's counts over the target's live backlinks.
#[derive(Default)]
struct Network {
    backlinks: u64,
    nofollow: u64,
    first_seen: Option<i64>,
    hosts: BTreeSet<String>,
    hosts_nofollow: BTreeSet<String>,
    domains: BTreeSet<String>,
    domains_nofollow: BTreeSet<String>,
    pages: BTreeSet<String>,
    pages_nofollow: BTreeSet<String>,
    ips: BTreeSet<String>,
}

fn networks(store: &Store, scope: &Target, by_subnet: bool) -> anyhow::Result<Vec<J>> {
    let mut ip_of: HashMap<String, String> = HashMap::new();
    let mut out: BTreeMap<String, Network> = BTreeMap::new();
    for r in store.backlinks(scope) {
        let (from, _, link) = r?;
        let ip = match ip_of.get(&from) {
            Some(ip) => ip.clone(),
            None => {
                let ip = store.page(&from)?.map(|p| p.ip).unwrap_or_default();
                ip_of.insert(from.clone(), ip.clone());
                ip
            }
        };
        if ip.is_empty() {
            continue;
        }
        let key = if by_subnet {
            class_c(&ip).unwrap_or_default()
        } else {
            ip.clone()
        };
        let host = url_host(&from).to_ascii_lowercase();
        let domain = registrable_domain(&host).to_string();
        let n = out.entry(key).or_default();
        n.backlinks += 1;
        n.first_seen = Some(
            n.first_seen
                .map_or(link.first_seen, |f| f.min(link.first_seen)),
        );
        if link.nofollow {
            n.nofollow += 1;
            n.hosts_nofollow.insert(host.clone());
            n.domains_nofollow.insert(domain.clone());
            n.pages_nofollow.insert(from.clone());
        }
        n.hosts.insert(host);
        n.domains.insert(domain);
        n.pages.insert(from);
        n.ips.insert(ip);
    }
    Ok(out
        .into_iter()
        .map(|(address, n)| {
            json!({
                "type": "backlinks_referring_networks",
                "network_address": address,
                "rank": null,
                "backlinks": n.backlinks,
                "first_seen": n.first_seen.and_then(fmt_time),
                "lost_date": null,
                "broken_backlinks": null,
                "broken_pages": null,
                "referring_domains": n.hosts.len(),
                "referring_domains_nofollow": n.hosts_nofollow.len(),
                "referring_main_domains": n.domains.len(),
                "referring_main_domains_nofollow": n.domains_nofollow.len(),
                "referring_ips": n.ips.len(),
                "referring_subnets": 1,
                "referring_pages": n.pages.len(),
                "referring_pages_nofollow": n.pages_nofollow.len(),
                "referring_links_tld": null,
                "referring_links_types": null,
                "referring_links_attributes": if n.nofollow > 0 { json!({"nofollow": n.nofollow}) } else { J::Null },
                "referring_links_platform_types": null,
                "referring_links_semantic_locations": null,
                "referring_links_countries": null,
            })
        })
        .collect())
}

/// The crawled pages of `scope` (each visited successfully), with the page's own fields and a
/// summary of its live backlinks.
fn domain_pages(store: &Store, scope: &Target, scale: u64) -> anyhow::Result<Vec<J>> {
    let rows = linkdiff_query::run(
        store,
        linkdiff_query::Table::PagesExtended,
        &linkdiff_query::QueryParams {
            select: Some("url".into()),
            limit: linkdiff_query::MAX_LIMIT,
            ..linkdiff_query::QueryParams::new(scope.clone())
        },
    )?;
    let mut out = Vec::with_capacity(rows.rows.len());
    for row in &rows.rows {
        let url = row[0].text();
        let Some(rec) = store.page(&url)? else {
            continue;
        };
        let host = url_host(&url).to_ascii_lowercase();
        let domain = registrable_domain(&host).to_string();
        let page = Target::parse(&url, linkdiff_model::Mode::Exact)?;
        let mut summary = super::dfs_summary::summary(store, &url, &page)?;
        if let Some(o) = summary.as_object_mut() {
            for k in [
                "target",
                "crawled_pages",
                "info",
                "internal_links_count",
                "external_links_count",
            ] {
                o.remove(k);
            }
            let rank = (rec.url_rating as u64) * scale;
            o.insert("rank".into(), J::from(rank));
        }
        out.push(json!({
            "type": "backlinks_domain_pages",
            "main_domain": domain,
            "domain": host,
            "tld": domain.rsplit('.').next().unwrap_or(""),
            "page": url,
            "ip": Some(rec.ip.clone()).filter(|ip| !ip.is_empty()),
            "first_visited": rec.first_ok_visit.or(rec.first_visit).and_then(fmt_time),
            "prev_visited": rec.prev_ok_visit.and_then(fmt_time),
            "fetch_time": rec.last_visit.and_then(fmt_time),
            "status_code": rec.last_status,
            "location": null,
            "size": rec.page_size,
            "encoded_size": null,
            "content_encoding": null,
            "media_type": null,
            "server": null,
            "meta": {
                "title": rec.title,
                "canonical": null,
                "internal_links_count": rec.links_internal,
                "external_links_count": rec.links_external,
                "images_count": null,
                "words_count": null,
                "page_spam_score": null,
                "social_media_tags": null,
                "h_1": null,
                "h_2": null,
                "h_3": null,
                "images_alt": null,
                "powered_by": null,
                "language": Some(rec.language.clone()).filter(|l| !l.is_empty()),
                "charset": Some(rec.encoding.clone()).filter(|e| !e.is_empty()),
                "platform_type": null,
                "technologies": null,
            },
            "page_summary": summary,
        }));
    }
    Ok(out)
}

/// One summary per page of `scope` with live backlinks.
fn page_summaries(store: &Store, scope: &Target, scale: u64) -> anyhow::Result<Vec<J>> {
    let mut urls: BTreeSet<String> = BTreeSet::new();
    for r in store.backlinks(scope) {
        urls.insert(r?.1.url_to);
    }
    let mut out = Vec::with_capacity(urls.len());
    for url in urls {
        let page = Target::parse(&url, linkdiff_model::Mode::Exact)?;
        let mut s = super::dfs_summary::summary(store, &url, &page)?;
        let rank = store
            .page(&url)?
            .filter(|p| p.last_visit.is_some())
            .map(|p| p.url_rating as u64 * scale);
        if let Some(o) = s.as_object_mut() {
            for k in [
                "target",
                "crawled_pages",
                "info",
                "internal_links_count",
                "external_links_count",
            ] {
                o.remove(k);
            }
            o.insert("type".into(), J::from("backlinks_domain_pages_summary"));
            o.insert("url".into(), J::from(url));
            o.insert("rank".into(), rank.map_or(J::Null, J::from));
        }
        out.push(s);
    }
    Ok(out)
}

fn respond(store: &Store, list: PagesList, task: TargetTask) -> Result<Reply, Reply> {
    let raw = &task.raw;
    let target = task.target()?;
    task.live_only()?;
    let scope = task.scope(&target)?;
    let (limit, offset) = task.page(DEFAULT_ITEMS, MAX_ITEMS)?;
    let scale = task.rank_scale()?;
    let by_subnet = match (list, raw.get("network_address_type").and_then(J::as_str)) {
        (PagesList::ReferringNetworks, None | Some("ip")) => false,
        (PagesList::ReferringNetworks, Some("subnet")) => true,
        (PagesList::ReferringNetworks, Some(_)) => return Err(task.invalid("network_address_type")),
        _ => false,
    };
    let mut items = match list {
        PagesList::DomainPagesSummary => page_summaries(store, &scope, scale),
        PagesList::ReferringNetworks => networks(store, &scope, by_subnet),
        PagesList::DomainPages => domain_pages(store, &scope, scale),
    }
    .map_err(|e| task.internal(e))?;
    // The fields `filters` and `order_by` may name: those of the items.
    let mut fields: Vec<String> = COMMON.iter().map(|f| f.to_string()).collect();
    if list == PagesList::DomainPages {
        fields = [
            "page",
            "domain",
            "main_domain",
            "status_code",
            "size",
            "first_visited",
            "fetch_time",
            "ip",
        ]
        .map(String::from)
        .to_vec();
    } else {
        fields.push(match list {
            PagesList::ReferringNetworks => "network_address".into(),
            _ => "url".into(),
        });
    }
    if let Some(f) = raw.get("filters").filter(|f| !f.is_null()) {
        let f = Filter::parse(f, &fields).ok_or_else(|| task.invalid("filters"))?;
        items.retain(|i| f.test(i));
    }
    let rules = match raw.get("order_by") {
        None | Some(J::Null) if list == PagesList::DomainPages => vec![("page".to_string(), false)],
        None | Some(J::Null) => vec![("backlinks".to_string(), true)],
        Some(o) => dfs_filter::parse_order(o, &fields).ok_or_else(|| task.invalid("order_by"))?,
    };
    dfs_filter::sort(&mut items, &rules);
    let total = items.len();
    let page: Vec<J> = items.into_iter().skip(offset).take(limit).collect();
    Ok(task.ok(json!([{
        "target": target,
        "total_count": total,
        "items_count": page.len(),
        "items": page,
    }])))
}
