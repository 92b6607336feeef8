//! `backlinks-stats`, `domain-rating` and `subscription-info/limits-and-usage`.

use super::*;

/// `backlinks-stats`: live and all-time backlinks and referring domains, as of `date` (the
/// links first seen by then and not lost by then).
pub(super) fn backlinks_stats(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let target = target(p)?;
    let scheme = protocol(p)?;
    let at = date(p)?;
    let all = backlink_items(ctx, &target, History::AllTime, scheme, items::ALWAYS)?;
    let end = at.map(|d| format!("{}T23:59:59Z", time::date(d)));
    let seen_by = |i: &J| {
        end.as_ref().is_none_or(|e| {
            i["first_seen_link"]
                .as_str()
                .is_some_and(|f| f <= e.as_str())
        })
    };
    let live_at = |i: &J| {
        seen_by(i)
            && match (i["last_seen"].as_str(), &end) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(lost), Some(e)) => lost > e.as_str(),
            }
    };
    let domains = |it: &mut dyn Iterator<Item = &J>| {
        it.map(|i| i["root_name_source"].as_str().unwrap_or(""))
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    let live: Vec<&J> = all.iter().filter(|i| live_at(i)).collect();
    let ever: Vec<&J> = all.iter().filter(|i| seen_by(i)).collect();
    Ok(json!({ "metrics": {
        "live": live.len(),
        "all_time": ever.len(),
        "live_refdomains": domains(&mut live.iter().copied()),
        "all_time_refdomains": domains(&mut ever.iter().copied()),
    }}))
}

/// `domain-rating`: the target's registrable domain's rating now. The index keeps no history
/// of ratings yet, so a past `date` answers `null` rather than today's value.
pub(super) fn domain_rating(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let target = target(p)?;
    let today = time::day(chrono::Utc::now().timestamp()) * 86_400;
    let rec = ctx
        .store
        .domain_or_imported(target.registrable_domain())
        .map_err(|e| V3Error::from(anyhow::Error::new(e)))?
        .unwrap_or_default();
    let when = date(p)?;
    let current = when.is_none_or(|d| d >= today);
    // A past day: the rating `rank` had recorded by its end (the history starts with the first
    // `rank` of a build that records it); the rank position is not kept per day.
    let past = match when.filter(|_| !current) {
        Some(d) => history::rating_at(
            &ctx.store
                .rating_history(RatingKind::Domain, target.registrable_domain())
                .map_err(|e| V3Error::from(anyhow::Error::new(e)))?,
            d + 86_399,
        ),
        None => None,
    };
    Ok(json!({ "domain_rating": {
        "domain_rating": if current { Some(rec.domain_rating as f64) } else { past.map(f64::from) },
        "ahrefs_rank": if current && rec.ahrefs_top > 0 { Some(rec.ahrefs_top) } else { None },
        // linkdiff's own (the SDK's model ignores it): `crawl`, or the imported list's format.
        "domain_rating_source": if current { Some(linkdiff_store::rating_source_name(rec.source)) } else { None },
    }}))
}

/// `limits-and-usage`: the API key's units (1 unit = 1 row of a linkdiff token).
pub(super) fn limits_and_usage(ctx: &ApiContext, token: Option<&str>) -> Result<J, V3Error> {
    let rec = match token {
        Some(name) => ctx
            .store
            .token(name)
            .map_err(|e| V3Error::from(anyhow::Error::new(e)))?,
        None => None,
    };
    Ok(json!({ "limits_and_usage": match (token, rec) {
        (Some(name), Some(r)) => json!({
            "subscription": format!("linkdiff token {name}"),
            "usage_reset_date": null,
            "units_limit_workspace": null,
            "units_usage_workspace": null,
            "units_limit_api_key": r.rows_limit,
            "units_usage_api_key": r.rows_limit.saturating_sub(r.centirows_left / 100),
            "api_key_expiration_date": null,
        }),
        _ => json!({
            "subscription": "linkdiff (no tokens: unlimited)",
            "usage_reset_date": null,
            "units_limit_workspace": null,
            "units_usage_workspace": null,
            "units_limit_api_key": null,
            "units_usage_api_key": null,
            "api_key_expiration_date": null,
        }),
    }}))
}
