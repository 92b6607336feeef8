//! `POST /v3/batch-analysis/batch-analysis`: backlink and outgoing-link metrics of many targets
//! in one request, each computed as the single-target endpoints compute them.

use super::*;
use linkdiff_model::class_c;
use std::collections::BTreeSet;

/// Every field of a batch-analysis item.
pub const BATCH_FIELDS: &[&str] = &[
    "ahrefs_rank",
    "backlinks",
    "backlinks_dofollow",
    "backlinks_internal",
    "backlinks_nofollow",
    "backlinks_redirect",
    "domain_rating",
    "index",
    "ip",
    "linked_domains",
    "linked_domains_dofollow",
    "mode",
    "org_cost",
    "org_keywords",
    "org_keywords_11_20",
    "org_keywords_1_3",
    "org_keywords_21_50",
    "org_keywords_4_10",
    "org_keywords_51_plus",
    "org_traffic",
    "org_traffic_top_by_country",
    "outgoing_links",
    "outgoing_links_dofollow",
    "paid_ads",
    "paid_cost",
    "paid_keywords",
    "paid_traffic",
    "protocol",
    "refdomains",
    "refdomains_dofollow",
    "refdomains_nofollow",
    "refips",
    "refips_subnets",
    "url",
    "url_rating",
];

/// Most targets in one request (as Ahrefs allows).
pub const MAX_TARGETS: usize = 100;

/// The metrics of one target, every field.
fn metrics(
    ctx: &ApiContext,
    index: usize,
    url: &str,
    mode: Mode,
    protocol: &str,
) -> Result<J, V3Error> {
    let target = Target::parse(url, mode).map_err(|e| bad(e.to_string()))?;
    let scheme = match protocol {
        "http" => Some("http://"),
        "https" => Some("https://"),
        _ => None,
    };
    let mut fields = items::ALWAYS.to_vec();
    fields.push("link_type");
    let links = backlink_items(ctx, &target, History::Live, scheme, &fields)?;
    let flag = |i: &J, k: &str| i[k].as_bool() == Some(true);
    let text = |i: &J, k: &str| i[k].as_str().unwrap_or("").to_string();
    let domains = |keep: &dyn Fn(&J) -> bool| {
        links
            .iter()
            .filter(|i| keep(i))
            .map(|i| text(i, "root_name_source"))
            .collect::<BTreeSet<_>>()
            .len()
    };
    let ips: BTreeSet<String> = links
        .iter()
        .map(|i| text(i, "ip_source"))
        .filter(|ip| !ip.is_empty())
        .collect();
    let subnets: BTreeSet<String> = ips.iter().filter_map(|ip| class_c(ip)).collect();
    let out = outlinks::outlinks(ctx, &target)?;
    let external: Vec<&outlinks::Outlink> = out.iter().filter(|l| l.external).collect();
    let linked = |dofollow: bool| {
        external
            .iter()
            .filter(|l| !dofollow || !l.nofollow)
            .map(|l| {
                linkdiff_model::registrable_domain(
                    &linkdiff_model::url_host(&l.url_to).to_ascii_lowercase(),
                )
                .to_string()
            })
            .collect::<BTreeSet<_>>()
            .len()
    };
    let domain = ctx
        .store
        .domain(target.registrable_domain())
        .map_err(|e| V3Error::from(anyhow::Error::new(e)))?
        .unwrap_or_default();
    let url_rating = match &target {
        Target::Exact(_) => ctx
            .store
            .page(url.trim())
            .map_err(|e| V3Error::from(anyhow::Error::new(e)))?
            .filter(|p| p.last_visit.is_some())
            .map(|p| p.url_rating as f64),
        _ => None,
    };
    let mut m = Map::new();
    for f in BATCH_FIELDS {
        m.insert((*f).to_string(), J::Null);
    }
    let mut put = |k: &str, v: J| {
        m.insert(k.to_string(), v);
    };
    put("index", J::from(index));
    put("url", J::from(url));
    put("mode", J::from(mode.as_str()));
    put("protocol", J::from(protocol));
    put("backlinks", J::from(links.len()));
    put(
        "backlinks_dofollow",
        J::from(links.iter().filter(|i| flag(i, "is_dofollow")).count()),
    );
    put(
        "backlinks_nofollow",
        J::from(links.iter().filter(|i| !flag(i, "is_dofollow")).count()),
    );
    put(
        "backlinks_redirect",
        J::from(
            links
                .iter()
                .filter(|i| text(i, "link_type") == "redirect")
                .count(),
        ),
    );
    put("refdomains", J::from(domains(&|_| true)));
    put(
        "refdomains_dofollow",
        J::from(domains(&|i| flag(i, "is_dofollow"))),
    );
    put(
        "refdomains_nofollow",
        J::from(domains(&|i| !flag(i, "is_dofollow"))),
    );
    put("refips", J::from(ips.len()));
    put("refips_subnets", J::from(subnets.len()));
    put("domain_rating", J::from(domain.domain_rating as f64));
    put(
        "ahrefs_rank",
        if domain.ahrefs_top > 0 {
            J::from(domain.ahrefs_top)
        } else {
            J::Null
        },
    );
    put("url_rating", url_rating.map_or(J::Null, J::from));
    put("outgoing_links", J::from(external.len()));
    put(
        "outgoing_links_dofollow",
        J::from(external.iter().filter(|l| !l.nofollow).count()),
    );
    put("linked_domains", J::from(linked(false)));
    put("linked_domains_dofollow", J::from(linked(true)));
    Ok(J::Object(m))
}

/// Answer a batch-analysis body: `{"select": [...], "targets": [{"url", "mode", "protocol"}],
/// "order_by"?}`. The root tree and the rows answered.
pub(super) fn batch_analysis(ctx: &ApiContext, body: &[u8]) -> Result<(J, usize), V3Error> {
    let req: J = serde_json::from_slice(body)
        .map_err(|e| bad(format!("The body is not a JSON object: {e}")))?;
    let select: Vec<&'static str> = req["select"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("'select' is required: a list of fields"))?
        .iter()
        .map(|f| {
            let f = f.as_str().unwrap_or("");
            BATCH_FIELDS
                .iter()
                .find(|x| **x == f)
                .copied()
                .ok_or_else(|| bad(format!("Unknown column '{f}' in 'select'")))
        })
        .collect::<Result<_, _>>()?;
    let targets = req["targets"]
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= MAX_TARGETS)
        .ok_or_else(|| bad(format!("'targets' is required: 1 to {MAX_TARGETS} targets")))?;
    let order = match req["order_by"].as_str().filter(|o| !o.trim().is_empty()) {
        Some(o) => order_by(
            &Params::from_pairs(vec![("order_by".into(), o.into())]),
            BATCH_FIELDS,
        )?,
        None => Vec::new(),
    };
    let mut rows = Vec::with_capacity(targets.len());
    for (index, t) in targets.iter().enumerate() {
        let url = t["url"]
            .as_str()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| bad("each target needs 'url'"))?;
        let mode = match t["mode"].as_str() {
            None => Mode::Subdomains,
            Some(m) => m.parse::<Mode>().map_err(|e| bad(e.to_string()))?,
        };
        let protocol = match t["protocol"].as_str().unwrap_or("both") {
            p @ ("both" | "http" | "https") => p,
            p => {
                return Err(bad(format!(
                    "Unknown protocol '{p}' (use both, http or https)"
                )))
            }
        };
        rows.push(metrics(ctx, index, url, mode, protocol)?);
    }
    sort(&mut rows, &order);
    let items: Vec<J> = rows.iter().map(|i| project(i, &select)).collect();
    let n = items.len();
    Ok((json!({ "targets": items }), n))
}
