//! DataForSEO "Domain Intersection" (`/v3/backlinks/domain_intersection/live`), the link gap:
//! the referring (registrable) domains that link to every one of up to 20 targets — and, with
//! `exclude_targets`, not to yours — with each domain's links to each target.

use super::dataforseo::{Reply, TargetTask};
use super::dfs_filter::{self, Filter};
use linkdiff_model::{registrable_domain, url_host, Target};
use linkdiff_store::{DomainLinkCounts as Links, Store};
use serde_json::{json, Map, Value as J};
use std::collections::{BTreeMap, BTreeSet};

const FUNCTION: &str = "domain_intersection";
const MAX_TARGETS: usize = 20;
const MAX_EXCLUDED: usize = 10;
const MAX_ITEMS: usize = 1000;
const DEFAULT_ITEMS: usize = 100;

/// Fields of the per-target items a domain intersection's `filters` and `order_by` name (as
/// `K.field`, K a target's key).
pub(crate) const DOMAIN_FIELDS: &[&str] = &[
    "target",
    "rank",
    "backlinks",
    "first_seen",
    "referring_domains",
    "referring_domains_nofollow",
    "referring_main_domains",
    "referring_main_domains_nofollow",
    "referring_pages",
    "referring_pages_nofollow",
];

/// What `filters` and `order_by` may name on an intersection: `intersections_count`, and
/// `K.field` for each target key K and each of `fields`.
fn intersection_fields(keys: &[&str], fields: &[String]) -> Vec<String> {
    let mut out = vec!["intersections_count".to_string()];
    for k in keys {
        out.extend(fields.iter().map(|f| format!("{k}.{f}")));
    }
    out
}

/// An intersection item flattened for `filters` and `order_by`: `intersections_count`, and
/// `K.field` from target K's item (`per`: a key's item, or for pages its first link).
fn flat(count: usize, per: &Map<String, J>) -> J {
    let mut m = Map::new();
    m.insert("intersections_count".into(), J::from(count));
    for (k, v) in per {
        let item = match v {
            J::Array(links) => links.first().cloned().unwrap_or(J::Null),
            other => other.clone(),
        };
        if let J::Object(fields) = item {
            for (f, x) in fields {
                m.insert(format!("{k}.{f}"), x);
            }
        }
    }
    J::Object(m)
}

/// `filters` and `order_by` of an intersection task (`None`: not given).
type Rules = (Option<Filter>, Option<Vec<(String, bool)>>);

fn rules(task: &TargetTask, fields: &[String]) -> Result<Rules, Reply> {
    let filter = match task.raw.get("filters") {
        None | Some(J::Null) => None,
        Some(f) => Some(Filter::parse(f, fields).ok_or_else(|| task.invalid("filters"))?),
    };
    let order = match task.raw.get("order_by") {
        None | Some(J::Null) => None,
        Some(o) => {
            Some(dfs_filter::parse_order(o, fields).ok_or_else(|| task.invalid("order_by"))?)
        }
    };
    Ok((filter, order))
}

/// Keep the items `filter` passes and sort them by `order` (a stable sort after the default
/// order), each item with its flattened form; then the page.
fn filter_sort_page(
    mut items: Vec<(J, J)>,
    (filter, order): &Rules,
    offset: usize,
    limit: usize,
) -> (usize, Vec<J>) {
    if let Some(f) = filter {
        items.retain(|(flat, _)| f.test(flat));
    }
    if let Some(rules) = order {
        // Sort the flattened forms, each with its position, then take the items in that order.
        let mut flats: Vec<J> = items
            .iter()
            .enumerate()
            .map(|(i, (f, _))| {
                let mut f = f.clone();
                f["\0pos"] = J::from(i);
                f
            })
            .collect();
        dfs_filter::sort(&mut flats, rules);
        let mut slots: Vec<Option<(J, J)>> = items.into_iter().map(Some).collect();
        items = flats
            .iter()
            .filter_map(|f| f["\0pos"].as_u64().and_then(|i| slots[i as usize].take()))
            .collect();
    }
    let total = items.len();
    (
        total,
        items
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(_, i)| i)
            .collect(),
    )
}

/// The live links to `scope`, counted by referring registrable domain (SQLite: one grouped
/// statement; the other engines: from the backlink records).
fn by_domain(store: &Store, scope: &Target) -> anyhow::Result<BTreeMap<String, Links>> {
    if let Some(sql) = store.sql() {
        return Ok(sql.domain_link_counts(scope)?.into_iter().collect());
    }
    #[derive(Default)]
    struct Sets {
        c: Links,
        pages: BTreeSet<String>,
        pages_nofollow: BTreeSet<String>,
        hosts: BTreeSet<String>,
        hosts_nofollow: BTreeSet<String>,
    }
    let mut out: BTreeMap<String, Sets> = BTreeMap::new();
    for r in store.backlinks(scope) {
        let (from, _, link) = r?;
        let host = url_host(&from).to_ascii_lowercase();
        let l = out
            .entry(registrable_domain(&host).to_string())
            .or_insert_with(|| Sets {
                c: Links {
                    first_seen: link.first_seen,
                    ..Links::default()
                },
                ..Sets::default()
            });
        l.c.backlinks += 1;
        if link.nofollow {
            l.c.nofollow += 1;
            l.pages_nofollow.insert(from.clone());
            l.hosts_nofollow.insert(host.clone());
        }
        l.pages.insert(from);
        l.hosts.insert(host);
        l.c.first_seen = l.c.first_seen.min(link.first_seen);
    }
    Ok(out
        .into_iter()
        .map(|(d, s)| {
            let n = |set: &BTreeSet<String>| set.len() as u64;
            let c = Links {
                pages: n(&s.pages),
                pages_nofollow: n(&s.pages_nofollow),
                hosts: n(&s.hosts),
                hosts_nofollow: n(&s.hosts_nofollow),
                ..s.c
            };
            (d, c)
        })
        .collect())
}

/// What both intersection endpoints read: `targets` (`{"1": "a.com", …}`, in key order, as
/// written and as read), `exclude_targets`, and whether a result must link to every target
/// (`intersection_mode` `all`, the default) or to any (`partial`).
struct Sides {
    targets: Vec<(String, String, Target)>,
    excluded: Vec<Target>,
    every: bool,
}

fn sides(task: &TargetTask) -> Result<Sides, Reply> {
    let raw = &task.raw;
    let targets: Vec<(String, String, Target)> = match raw.get("targets").and_then(J::as_object) {
        Some(m) if !m.is_empty() && m.len() <= MAX_TARGETS => m
            .iter()
            .map(|(k, v)| {
                let t = v.as_str().map(str::trim).filter(|t| !t.is_empty())?;
                Some((k.clone(), t.to_string(), Target::dataforseo(t).ok()?))
            })
            .collect::<Option<_>>()
            .ok_or_else(|| task.invalid("targets"))?,
        _ => return Err(task.invalid("targets")),
    };
    let excluded: Vec<Target> = match raw.get("exclude_targets") {
        None | Some(J::Null) => Vec::new(),
        Some(J::Array(a)) if a.len() <= MAX_EXCLUDED => a
            .iter()
            .map(|v| Target::dataforseo(v.as_str()?.trim()).ok())
            .collect::<Option<_>>()
            .ok_or_else(|| task.invalid("exclude_targets"))?,
        _ => return Err(task.invalid("exclude_targets")),
    };
    let every = match raw.get("intersection_mode").and_then(J::as_str) {
        None | Some("all") => true,
        Some("partial") => false,
        Some(_) => return Err(task.invalid("intersection_mode")),
    };
    Ok(Sides {
        targets,
        excluded,
        every,
    })
}

/// Answer a `domain_intersection/live` request body (auth already checked).
pub fn answer(store: &Store, body: &[u8]) -> Reply {
    match TargetTask::parse(FUNCTION, body).and_then(|task| respond(store, task)) {
        Ok(r) | Err(r) => r,
    }
}

fn respond(store: &Store, task: TargetTask) -> Result<Reply, Reply> {
    // `targets`: {"1": "a.com", "2": "https://b.com/page"}, kept in key order.
    let Sides {
        targets,
        excluded,
        every,
    } = sides(&task)?;
    let (limit, offset) = task.page(DEFAULT_ITEMS, MAX_ITEMS)?;
    let scale = task.rank_scale()?;
    let keys: Vec<&str> = targets.iter().map(|(k, _, _)| k.as_str()).collect();
    let fields: Vec<String> = DOMAIN_FIELDS.iter().map(|f| f.to_string()).collect();
    let rules = rules(&task, &intersection_fields(&keys, &fields))?;
    let run = || -> anyhow::Result<(usize, Vec<J>)> {
        let per_target: Vec<BTreeMap<String, Links>> = targets
            .iter()
            .map(|(_, _, t)| by_domain(store, t))
            .collect::<anyhow::Result<_>>()?;
        let mut shut_out: BTreeSet<String> = BTreeSet::new();
        for t in &excluded {
            shut_out.extend(by_domain(store, t)?.into_keys());
        }
        // Referring domains of every target (or, `partial`, of any), not linking to an
        // excluded one; most targets linked, then most links, then by name.
        let mut domains: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
        for m in &per_target {
            for (d, l) in m {
                let e = domains.entry(d.as_str()).or_default();
                e.0 += 1;
                e.1 += l.backlinks;
            }
        }
        let mut listed: Vec<(&str, usize, u64)> = domains
            .into_iter()
            .filter(|(d, (n, _))| (!every || *n == targets.len()) && !shut_out.contains(*d))
            .map(|(d, (n, b))| (d, n, b))
            .collect();
        listed.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
        // Without filters or an order, only the page's items are built.
        let every_item = rules.0.is_some() || rules.1.is_some();
        let total = listed.len();
        let mut items = Vec::new();
        let chosen: Vec<(&str, usize, u64)> = if every_item {
            listed
        } else {
            listed.into_iter().skip(offset).take(limit).collect()
        };
        for (domain, n, _) in chosen {
            let rank = store
                .domain(domain)?
                .map_or(0, |d| d.domain_rating as u64 * scale);
            let mut per = Map::new();
            for ((key, _, _), m) in targets.iter().zip(&per_target) {
                let Some(l) = m.get(domain) else { continue };
                let first_seen = chrono::DateTime::from_timestamp(l.first_seen, 0);
                per.insert(key.clone(), json!({
                    "type": "backlinks_domain_intersection",
                    "target": domain,
                    "rank": rank,
                    "backlinks": l.backlinks,
                    "first_seen": first_seen.map(|d| d.format("%Y-%m-%d %H:%M:%S +00:00").to_string()),
                    "lost_date": null,
                    "backlinks_spam_score": null,
                    "broken_backlinks": null,
                    "broken_pages": null,
                    "referring_domains": l.hosts,
                    "referring_domains_nofollow": l.hosts_nofollow,
                    "referring_main_domains": 1,
                    "referring_main_domains_nofollow": u64::from(l.nofollow > 0),
                    "referring_ips": null,
                    "referring_subnets": null,
                    "referring_pages": l.pages,
                    "referring_pages_nofollow": l.pages_nofollow,
                    "referring_links_tld": null,
                    "referring_links_types": null,
                    "referring_links_attributes": if l.nofollow > 0 { json!({"nofollow": l.nofollow}) } else { J::Null },
                    "referring_links_platform_types": null,
                    "referring_links_semantic_locations": null,
                    "referring_links_countries": null,
                }));
            }
            items.push((
                flat(n, &per),
                json!({
                    "domain_intersection": per,
                    "summary": {"intersections_count": n},
                }),
            ));
        }
        if every_item {
            return Ok(filter_sort_page(items, &rules, offset, limit));
        }
        Ok((total, items.into_iter().map(|(_, i)| i).collect()))
    };
    let echo: Map<String, J> = targets
        .iter()
        .map(|(k, t, _)| (k.clone(), J::from(t.as_str())))
        .collect();
    Ok(match run() {
        Ok((total, items)) => task.ok(json!([{
            "targets": echo,
            "total_count": total,
            "items_count": items.len(),
            "items": items,
        }])),
        Err(e) => task.internal(e),
    })
}

/// Answer a `page_intersection/live` request body (auth already checked): the referring pages
/// that link to every target (or, `partial`, to any) and to none of `exclude_targets`, with
/// their backlinks to each target as `backlinks/live` items.
pub fn answer_pages(store: &Store, body: &[u8]) -> Reply {
    match TargetTask::parse("page_intersection", body).and_then(|task| respond_pages(store, task)) {
        Ok(r) | Err(r) => r,
    }
}

/// The live backlinks of `scope` as `backlinks/live` items, by referring page.
fn items_by_page(store: &Store, scope: &Target) -> anyhow::Result<BTreeMap<String, Vec<J>>> {
    let r = linkdiff_query::run(
        store,
        linkdiff_query::Table::Backlinks,
        &linkdiff_query::QueryParams {
            limit: linkdiff_query::MAX_LIMIT,
            ..linkdiff_query::QueryParams::new(super::dataforseo::v2_target(scope))
        },
    )?;
    let mut out: BTreeMap<String, Vec<J>> = BTreeMap::new();
    for row in &r.rows {
        let mut item = super::dfs_lists::List::Backlinks.item(&r, row);
        item["type"] = J::from("backlinks_page_intersection");
        let from = item["url_from"].as_str().unwrap_or("").to_string();
        out.entry(from).or_default().push(item);
    }
    Ok(out)
}

fn respond_pages(store: &Store, task: TargetTask) -> Result<Reply, Reply> {
    let Sides {
        targets,
        excluded,
        every,
    } = sides(&task)?;
    let (limit, offset) = task.page(DEFAULT_ITEMS, MAX_ITEMS)?;
    let inner = match task.count("internal_list_limit", 10, 1000)? {
        0 => return Err(task.invalid("internal_list_limit")),
        n => n,
    };
    let keys: Vec<&str> = targets.iter().map(|(k, _, _)| k.as_str()).collect();
    let rules = rules(
        &task,
        &intersection_fields(&keys, &super::dfs_lists::List::Backlinks.fields()),
    )?;
    let run = || -> anyhow::Result<(usize, Vec<J>)> {
        let per_target: Vec<BTreeMap<String, Vec<J>>> = targets
            .iter()
            .map(|(_, _, t)| items_by_page(store, t))
            .collect::<anyhow::Result<_>>()?;
        let mut shut_out: BTreeSet<String> = BTreeSet::new();
        for t in &excluded {
            shut_out.extend(items_by_page(store, t)?.into_keys());
        }
        let mut pages: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &per_target {
            for page in m.keys() {
                *pages.entry(page.as_str()).or_default() += 1;
            }
        }
        let mut listed: Vec<(&str, usize)> = pages
            .into_iter()
            .filter(|(p, n)| (!every || *n == targets.len()) && !shut_out.contains(*p))
            .collect();
        listed.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let every_item = rules.0.is_some() || rules.1.is_some();
        let total = listed.len();
        let chosen: Vec<(&str, usize)> = if every_item {
            listed
        } else {
            listed.into_iter().skip(offset).take(limit).collect()
        };
        let items: Vec<(J, J)> = chosen
            .into_iter()
            .map(|(page, n)| {
                let mut per = Map::new();
                for ((key, _, _), m) in targets.iter().zip(&per_target) {
                    if let Some(links) = m.get(page) {
                        per.insert(
                            key.clone(),
                            J::from(links.iter().take(inner).cloned().collect::<Vec<_>>()),
                        );
                    }
                }
                (
                    flat(n, &per),
                    json!({"page_intersection": per, "summary": {"intersections_count": n}}),
                )
            })
            .collect();
        if every_item {
            return Ok(filter_sort_page(items, &rules, offset, limit));
        }
        Ok((total, items.into_iter().map(|(_, i)| i).collect()))
    };
    let echo: Map<String, J> = targets
        .iter()
        .map(|(k, t, _)| (k.clone(), J::from(t.as_str())))
        .collect();
    Ok(match run() {
        Ok((total, items)) => {
            let items: Vec<J> = items;
            task.ok(json!([{
                "targets": echo,
                "total_count": total,
                "items_count": items.len(),
                "items": items,
            }]))
        }
        Err(e) => task.internal(e),
    })
}
