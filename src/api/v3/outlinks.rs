//! What the target links to: `outlinks-stats`, `linkeddomains`, `linked-anchors-external` and
//! `linked-anchors-internal`, from the live link sets of the target's crawled pages (a link is
//! external when it points to another registrable domain, as the crawler records it).

use super::*;
use linkdiff_model::{registrable_domain, url_host};
use std::collections::{BTreeMap, BTreeSet};

/// Every field of a `linkeddomains` item.
pub const LINKEDDOMAIN_FIELDS: &[&str] = &[
    "dofollow_linked_domains",
    "dofollow_links",
    "dofollow_refdomains",
    "domain",
    "domain_rating",
    "first_seen",
    "is_root_domain",
    "linked_domain_traffic",
    "linked_pages",
    "links_from_target",
];

/// Every field of a `linked-anchors-external` item.
pub const ANCHOR_EXTERNAL_FIELDS: &[&str] = &[
    "anchor",
    "dofollow_links",
    "first_seen",
    "linked_domains",
    "linked_pages",
    "links_from_target",
];

/// Every field of a `linked-anchors-internal` item.
pub const ANCHOR_INTERNAL_FIELDS: &[&str] = &[
    "anchor",
    "dofollow_links",
    "first_seen",
    "linked_pages",
    "links_from_target",
];

/// One live outgoing link of a page of the target.
pub(super) struct Outlink {
    pub(super) url_to: String,
    pub(super) anchor: String,
    pub(super) nofollow: bool,
    pub(super) external: bool,
    pub(super) first_seen: i64,
    link_type: linkdiff_model::LinkType,
    from: String,
}

/// The live links of the target's crawled pages (the `pages_extended` rows of the scope).
pub(super) fn outlinks(ctx: &ApiContext, target: &Target) -> Result<Vec<Outlink>, V3Error> {
    let pages = query::run(
        &ctx.store,
        Table::PagesExtended,
        &QueryParams {
            select: Some("url".into()),
            limit: MAX_LIMIT,
            ..QueryParams::new(target.clone())
        },
    )?;
    let mut out = Vec::new();
    for row in &pages.rows {
        let url = row[0].text();
        let links = ctx
            .store
            .forward_links(&url)
            .map_err(|e| V3Error::from(anyhow::Error::new(e)))?;
        out.extend(
            links
                .into_iter()
                .filter(|(_, r)| r.live)
                .map(|(id, r)| Outlink {
                    url_to: id.url_to,
                    anchor: id.anchor,
                    nofollow: r.nofollow,
                    external: r.external,
                    first_seen: r.first_seen,
                    link_type: id.link_type,
                    from: url.clone(),
                }),
        );
    }
    Ok(out)
}

fn domain_of(url: &str) -> String {
    registrable_domain(&url_host(url).to_ascii_lowercase()).to_string()
}

/// `outlinks-stats`: external links from the target and the domains they reach.
pub(super) fn outlinks_stats(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let links = outlinks(ctx, &target(p)?)?;
    let external: Vec<&Outlink> = links.iter().filter(|l| l.external).collect();
    let domains = |dofollow: bool| {
        external
            .iter()
            .filter(|l| !dofollow || !l.nofollow)
            .map(|l| domain_of(&l.url_to))
            .collect::<BTreeSet<_>>()
            .len()
    };
    Ok(json!({ "metrics": {
        "outgoing_links": external.len(),
        "outgoing_links_dofollow": external.iter().filter(|l| !l.nofollow).count(),
        "linked_domains": domains(false),
        "linked_domains_dofollow": domains(true),
    }}))
}

#[derive(Default)]
struct Group {
    links: u64,
    dofollow: u64,
    pages: BTreeSet<String>,
    domains: BTreeSet<String>,
    first_seen: Option<i64>,
}

fn group<'a>(
    links: impl Iterator<Item = &'a Outlink>,
    key: impl Fn(&Outlink) -> String,
) -> BTreeMap<String, Group> {
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    for l in links {
        let g = out.entry(key(l)).or_default();
        g.links += 1;
        g.dofollow += u64::from(!l.nofollow);
        g.pages.insert(l.url_to.clone());
        g.domains.insert(domain_of(&l.url_to));
        g.first_seen = Some(g.first_seen.map_or(l.first_seen, |f| f.min(l.first_seen)));
    }
    out
}

/// `linkeddomains` items: one per registrable domain the target links to, with that domain's
/// rating when the index has ranked it.
pub(super) fn linkeddomains(ctx: &ApiContext, target: &Target) -> Result<Vec<J>, V3Error> {
    let links = outlinks(ctx, target)?;
    group(links.iter().filter(|l| l.external), |l| {
        domain_of(&l.url_to)
    })
    .into_iter()
    .map(|(domain, g)| {
        let rating = ctx
            .store
            .domain(&domain)
            .map_err(|e| V3Error::from(anyhow::Error::new(e)))?
            .map(|d| d.domain_rating as f64);
        Ok(json!({
            "dofollow_linked_domains": null,
            "dofollow_links": g.dofollow,
            "dofollow_refdomains": null,
            "domain": domain,
            "domain_rating": rating,
            "first_seen": g.first_seen.map(time::iso),
            "is_root_domain": true,
            "linked_domain_traffic": null,
            "linked_pages": g.pages.len(),
            "links_from_target": g.links,
        }))
    })
    .collect()
}

/// `linked-anchors-external` (`external`) or `-internal` items: one per anchor text of the
/// target's outgoing links.
pub(super) fn linked_anchors(
    ctx: &ApiContext,
    target: &Target,
    external: bool,
) -> Result<Vec<J>, V3Error> {
    let links = outlinks(ctx, target)?;
    Ok(group(links.iter().filter(|l| l.external == external), |l| {
        l.anchor.clone()
    })
    .into_iter()
    .map(|(anchor, g)| {
        let mut item = json!({
            "anchor": anchor,
            "dofollow_links": g.dofollow,
            "first_seen": g.first_seen.map(time::iso),
            "linked_pages": g.pages.len(),
            "links_from_target": g.links,
        });
        if external {
            item["linked_domains"] = J::from(g.domains.len());
        }
        item
    })
    .collect())
}

/// Every field of a `pages-by-internal-links` item.
pub const INTERNAL_PAGE_FIELDS: &[&str] = &[
    "canonical_to_target",
    "dofollow_to_target",
    "first_seen_link",
    "http_code_target",
    "languages_target",
    "last_seen",
    "last_visited_source",
    "last_visited_target",
    "links_to_target",
    "nofollow_to_target",
    "powered_by_target",
    "redirects_to_target",
    "target_redirect",
    "title_target",
    "url_rating_target",
    "url_to",
    "url_to_plain",
];

/// `pages-by-internal-links` items: one per page the target's own pages link to on its own
/// registrable domain, with the live internal links counted by kind.
pub(super) fn pages_by_internal_links(
    ctx: &ApiContext,
    target: &Target,
) -> Result<Vec<J>, V3Error> {
    use linkdiff_model::LinkType;
    let links = outlinks(ctx, target)?;
    let mut by_url: BTreeMap<&str, Vec<&Outlink>> = BTreeMap::new();
    for l in links.iter().filter(|l| !l.external) {
        by_url.entry(l.url_to.as_str()).or_default().push(l);
    }
    let page = |url: &str| {
        ctx.store
            .page(url)
            .map_err(|e| V3Error::from(anyhow::Error::new(e)))
    };
    by_url
        .into_iter()
        .map(|(url, ls)| {
            let rec = page(url)?.filter(|r| r.last_visit.is_some());
            let mut sources: Vec<i64> = Vec::new();
            for l in &ls {
                if let Some(v) = page(&l.from)?.and_then(|p| p.last_ok_visit) {
                    sources.push(v);
                }
            }
            let count = |t: LinkType| ls.iter().filter(|l| l.link_type == t).count();
            Ok(json!({
                "canonical_to_target": count(LinkType::Canonical),
                "dofollow_to_target": ls.iter().filter(|l| !l.nofollow).count(),
                "first_seen_link": ls.iter().map(|l| l.first_seen).min().map(time::iso),
                "http_code_target": rec.as_ref().map(|r| r.last_status),
                "languages_target": rec.as_ref().map(|r| {
                    if r.language.is_empty() { vec![] } else { vec![r.language.clone()] }
                }),
                "last_seen": null,
                "last_visited_source": sources.into_iter().max().map(time::iso),
                "last_visited_target": rec.as_ref().and_then(|r| r.last_visit).map(time::iso),
                "links_to_target": ls.len(),
                "nofollow_to_target": ls.iter().filter(|l| l.nofollow).count(),
                "powered_by_target": null,
                "redirects_to_target": count(LinkType::Redirect),
                "target_redirect": null,
                "title_target": rec.as_ref().map(|r| r.title.clone()),
                "url_rating_target": rec.as_ref().map(|r| r.url_rating as f64),
                "url_to": url,
                "url_to_plain": url.split_once("://").map_or(url, |(_, r)| r),
            }))
        })
        .collect()
}
