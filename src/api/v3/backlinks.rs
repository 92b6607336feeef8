//! `all-backlinks`, `refdomains` and `anchors`: the target's backlinks read from the index (live, and the lost ones `history` asks for), grouped by `aggregation`, filtered, sorted, paged and projected.

use super::*;

/// Every backlink of `target` the history asks for, as full items (live first, in the
/// index's key order; then lost ones, the latest loss of each link that is not live again).
pub(super) fn backlink_items(
    ctx: &ApiContext,
    target: &Target,
    history: History,
    scheme: Option<&str>,
    fields: &[&str],
) -> Result<Vec<J>, V3Error> {
    backlink_items_with(ctx, target, history, scheme, fields, None)
}

/// [`backlink_items`], with the live items already read (`live`, in key order) when the
/// caller has them.
fn backlink_items_with(
    ctx: &ApiContext,
    target: &Target,
    history: History,
    scheme: Option<&str>,
    fields: &[&str],
    live: Option<Vec<J>>,
) -> Result<Vec<J>, V3Error> {
    let all = |table: Table, select: &str, where_: &str| -> Result<_, V3Error> {
        Ok(query::run(
            &ctx.store,
            table,
            &QueryParams {
                select: Some(select.into()),
                where_: query::parse_clause(Some(where_), "where")?,
                limit: MAX_LIMIT,
                ..QueryParams::new(target.clone())
            },
        )?)
    };
    let mut out: Vec<J> = match live {
        Some(live) => live,
        None => {
            let live = all(Table::Backlinks, items::BACKLINK_COLUMNS, "")?;
            let cols = items::Columns::of(&live);
            cols.rows()
                .iter()
                .map(|row| items::backlink(&cols, row, false, fields))
                .collect()
        }
    };
    if history != History::Live {
        let live_ids: std::collections::HashSet<_> = out.iter().map(items::identity).collect();
        let lost = all(Table::NewLost, items::LOST_COLUMNS, "type=lost")?;
        out.extend(similar::latest_losses(&lost, history, fields, |i| {
            !live_ids.contains(&items::identity(i))
        }));
    }
    if let Some(s) = scheme {
        out.retain(|i| i["url_to"].as_str().is_some_and(|u| u.starts_with(s)));
    }
    Ok(out)
}

/// Keep the strongest item of each key (highest `domain_rating_source`, then
/// `url_rating_source`, then the order they came in) and count the group.
pub(super) fn strongest_per(items: Vec<J>, key: impl Fn(&J) -> String) -> Vec<J> {
    let mut order: Vec<String> = Vec::new();
    let mut best: std::collections::HashMap<String, (J, u64)> = std::collections::HashMap::new();
    let strength = |i: &J| {
        (
            i["is_lost"].as_bool() != Some(true),
            i["domain_rating_source"].as_f64().unwrap_or(0.0),
            i["url_rating_source"].as_f64().unwrap_or(0.0),
        )
    };
    for i in items {
        let k = key(&i);
        match best.get_mut(&k) {
            Some((b, n)) => {
                *n += 1;
                if strength(&i).partial_cmp(&strength(b)) == Some(Ordering::Greater) {
                    *b = i;
                }
            }
            None => {
                order.push(k.clone());
                best.insert(k, (i, 1));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| best.remove(&k))
        .map(|(mut i, n)| {
            i["link_group_count"] = J::from(n);
            i
        })
        .collect()
}

/// `all-backlinks`, `refdomains`, `anchors`: the root tree and the rows answered.
pub(super) fn list(
    ctx: &ApiContext,
    endpoint: Endpoint,
    p: &Params,
) -> Result<(J, usize), V3Error> {
    let fields = endpoint.fields();
    let select = select(p, fields)?;
    let target = target(p)?;
    let scheme = protocol(p)?;
    // broken-backlinks takes no `history`: it lists live links to broken pages.
    let history = match endpoint {
        Endpoint::BrokenBacklinks => History::Live,
        _ => history(p)?,
    };
    let limit = count(p, "limit", 1000)?;
    let offset = count(p, "offset", 0)?;
    let order = order_by(p, fields)?;
    let where_ = match p.get("where").map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => Some(filter::parse(w, fields).map_err(V3Error::BadRequest)?),
        None => None,
    };
    let aggregation = match p.get("aggregation").map(str::trim) {
        None | Some("") | Some("similar_links") => Aggregation::SimilarLinks,
        Some("1_per_domain") => Aggregation::OnePerDomain,
        Some("all") => Aggregation::All,
        Some(a) => {
            return Err(bad(format!(
                "Unknown aggregation '{a}' (use similar_links, 1_per_domain or all)"
            )))
        }
    };
    if aggregation == Aggregation::All && select.contains(&"link_group_count") {
        return Err(bad(
            "'link_group_count' cannot be selected with aggregation=all",
        ));
    }
    if endpoint == Endpoint::AllBacklinks
        && history == History::Live
        && aggregation == Aggregation::All
        && scheme.is_none()
    {
        if let Some(page) = pushed_down(
            ctx,
            &target,
            &select,
            where_.as_ref(),
            &order,
            limit,
            offset,
        )? {
            let n = page.len();
            return Ok((json!({ endpoint.root(): page }), n));
        }
    }
    // The fields to compute: those asked for, those the filter and order read, and those the
    // grouping needs.
    let mut rows = match endpoint {
        Endpoint::Linkeddomains => Some(outlinks::linkeddomains(ctx, &target)?),
        Endpoint::PagesByInternalLinks => Some(outlinks::pages_by_internal_links(ctx, &target)?),
        Endpoint::LinkedAnchorsExternal => Some(outlinks::linked_anchors(ctx, &target, true)?),
        Endpoint::LinkedAnchorsInternal => Some(outlinks::linked_anchors(ctx, &target, false)?),
        _ => None,
    };
    let mut fields: Vec<&str> = items::ALWAYS.to_vec();
    fields.push("last_visited");
    if matches!(endpoint, Endpoint::AllBacklinks | Endpoint::BrokenBacklinks) {
        fields.extend(select.iter().copied());
        fields.extend(order.iter().map(|(f, _)| *f));
        if let Some(f) = &where_ {
            fields.extend(f.fields());
        }
    }
    fields.sort_unstable();
    fields.dedup();
    // v3's defaults in key order: the groups of the first target URLs, not the whole list.
    if endpoint == Endpoint::AllBacklinks
        && aggregation == Aggregation::SimilarLinks
        && order.is_empty()
        && scheme.is_none()
    {
        let mut shown: Vec<&str> = select.clone();
        if let Some(f) = &where_ {
            shown.extend(f.fields());
        }
        match similar::streamed(
            ctx,
            &target,
            history,
            &fields,
            &shown,
            where_.as_ref(),
            limit,
            offset,
        )? {
            similar::Streamed::Page(groups) => {
                let page: Vec<J> = groups.iter().map(|i| project(i, &select)).collect();
                let n = page.len();
                return Ok((json!({ endpoint.root(): page }), n));
            }
            similar::Streamed::Whole(live) => {
                let links =
                    backlink_items_with(ctx, &target, history, scheme, &fields, Some(live))?;
                rows = Some(strongest_per(links, similar::similar_key));
            }
            similar::Streamed::Past => {}
        }
    }
    let mut rows = match rows.take() {
        Some(rows) => rows,
        None => backlinks_grouped(
            ctx,
            endpoint,
            &target,
            history,
            scheme,
            &fields,
            aggregation,
        )?,
    };
    if let Some(f) = &where_ {
        rows.retain(|i| f.test(i));
    }
    sort(&mut rows, &order);
    let page: Vec<J> = rows
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|i| project(&i, &select))
        .collect();
    let n = page.len();
    Ok((json!({ endpoint.root(): page }), n))
}

/// The links whose target page is broken (its last visits failed, as the v2
/// `broken_backlinks` table counts them), with the page's status and last visit.
fn broken(ctx: &ApiContext, links: Vec<J>) -> Result<Vec<J>, V3Error> {
    let mut pages: std::collections::HashMap<String, Option<linkdiff_store::PageRecord>> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for mut i in links {
        let url = i["url_to"].as_str().unwrap_or("").to_string();
        if !pages.contains_key(&url) {
            let rec = ctx
                .store
                .page(&url)
                .map_err(|e| V3Error::from(anyhow::Error::new(e)))?;
            pages.insert(url.clone(), rec);
        }
        if let Some(Some(p)) = pages
            .get(&url)
            .filter(|p| p.as_ref().is_some_and(|p| p.broken_since.is_some()))
        {
            i["http_code_target"] = J::from(p.last_status);
            i["last_visited_target"] = p.last_visit.map_or(J::Null, |t| J::from(time::iso(t)));
            out.push(i);
        }
    }
    Ok(out)
}

/// The items of a backlink-based list: the target's backlinks, grouped as `endpoint` and
/// `aggregation` say.
fn backlinks_grouped(
    ctx: &ApiContext,
    endpoint: Endpoint,
    target: &Target,
    history: History,
    scheme: Option<&str>,
    fields: &[&str],
    aggregation: Aggregation,
) -> Result<Vec<J>, V3Error> {
    let mut backlinks = backlink_items(ctx, target, history, scheme, fields)?;
    if endpoint == Endpoint::BrokenBacklinks {
        backlinks = broken(ctx, backlinks)?;
    }
    Ok(match endpoint {
        Endpoint::AllBacklinks | Endpoint::BrokenBacklinks => match aggregation {
            Aggregation::All => backlinks,
            Aggregation::OnePerDomain => strongest_per(backlinks, |i| {
                i["root_name_source"].as_str().unwrap_or("").to_string()
            }),
            Aggregation::SimilarLinks => strongest_per(backlinks, similar::similar_key),
        },
        Endpoint::Refdomains => items::refdomains(&backlinks),
        Endpoint::PagesByBacklinks => {
            let mut pages = std::collections::HashMap::new();
            for i in &backlinks {
                let url = i["url_to"].as_str().unwrap_or("");
                if !pages.contains_key(url) {
                    let rec = ctx
                        .store
                        .page(url)
                        .map_err(|e| V3Error::from(anyhow::Error::new(e)))?;
                    pages.insert(url.to_string(), rec);
                }
            }
            items::pages(&backlinks, |url| pages.get(url).cloned().flatten())
        }
        _ => items::anchors(&backlinks),
    })
}
