//! `refdomains-history`: how many registrable domains linked to the target over time, rebuilt
//! from the index's events by the `refdomains_new_lost` rule (a domain is gained when its
//! first live link appears and lost when its last one goes); `domain-rating-history` and
//! `url-rating-history`: the ratings `rank` recorded after each run (`ratings`).

use super::*;
use crate::api::dfs_timeseries::{periods, GroupRange};

/// `history_grouping`: `daily`, `weekly` or `monthly` (default).
fn grouping(p: &Params) -> Result<GroupRange, V3Error> {
    match p.get("history_grouping").map(str::trim) {
        None | Some("") | Some("monthly") => Ok(GroupRange::Month),
        Some("weekly") => Ok(GroupRange::Week),
        Some("daily") => Ok(GroupRange::Day),
        Some(g) => Err(bad(format!(
            "Unknown history_grouping '{g}' (use daily, weekly or monthly)"
        ))),
    }
}

/// `{"refdomains": [{"date", "refdomains"}]}`: one item per period from `date_from` (required)
/// to `date_to` (default today), oldest first; `date` is the period's first day and
/// `refdomains` the count at the end of the period (or of `date_to`).
/// `date_from` (required) and `date_to` (default today) as the Unix seconds of their days.
fn date_range(p: &Params) -> Result<(i64, i64), V3Error> {
    let day = |name: &str| -> Result<Option<i64>, V3Error> {
        match p.get(name).map(str::trim).filter(|d| !d.is_empty()) {
            None => Ok(None),
            Some(d) => time::parse(d)
                .map(|t| Some(time::day(t) * 86_400))
                .ok_or_else(|| bad(format!("Parameter '{name}' must be YYYY-MM-DD, not '{d}'"))),
        }
    };
    let from = day("date_from")?.ok_or_else(|| bad("Parameter 'date_from' is required"))?;
    let to = day("date_to")?.unwrap_or(time::day(time::now()) * 86_400);
    if to < from {
        return Err(bad("'date_to' is before 'date_from'"));
    }
    Ok((from, to))
}

/// A rating as of the end of day `t`: the last change recorded on or before it; `None` before
/// the first one (the index had not rated it yet).
pub(super) fn rating_at(history: &[(i64, u8)], t: i64) -> Option<u8> {
    history
        .iter()
        .take_while(|(day, _)| *day <= t)
        .last()
        .map(|(_, r)| *r)
}

/// `{"domain_ratings": [{"date", "domain_rating"}]}` or `{"url_ratings": [{"date",
/// "url_rating"}]}`: one item per period from `date_from` to `date_to`, oldest first; the
/// rating as of the period's last day (or `date_to`), `null` before the index first rated the
/// target. A page crawled but never rated above 0 has no history rows: its rating is 0 from
/// its first visit.
pub(super) fn rating_history(
    ctx: &ApiContext,
    endpoint: Endpoint,
    p: &Params,
) -> Result<J, V3Error> {
    // The SDK sends url-rating-history no `mode`: its target is one URL.
    let target = if endpoint == Endpoint::UrlRatingHistory {
        target_with(p, Mode::Exact)?
    } else {
        target(p)?
    };
    let (from, to) = date_range(p)?;
    let group = grouping(p)?;
    let store_err = |e: linkdiff_store::StoreError| V3Error::from(anyhow::Error::new(e));
    let (kind, field, name, since) = match (&target, endpoint) {
        (_, Endpoint::DomainRatingHistory) => (
            RatingKind::Domain,
            "domain_rating",
            target.registrable_domain().to_string(),
            None,
        ),
        (Target::Exact(u), _) => {
            // A page is stored under its URL with the scheme: as written, or either.
            let written = p.get("target").unwrap_or_default().trim().to_string();
            let mut found = None;
            for url in [written, format!("http://{u}"), format!("https://{u}")] {
                if let Some(page) = ctx.store.page(&url).map_err(store_err)? {
                    found = Some((url, page.first_visit));
                    break;
                }
            }
            let (url, since) = found.unwrap_or_else(|| (u.clone(), None));
            (RatingKind::Url, "url_rating", url, since)
        }
        _ => {
            return Err(bad(
                "url-rating-history rates one page: give a URL (mode exact, the default here)",
            ))
        }
    };
    let history = ctx.store.rating_history(kind, &name).map_err(store_err)?;
    let mut items = Vec::new();
    for (start, _, last) in periods(from, to, group) {
        let end = last + 86_399;
        let rating = rating_at(&history, end).or_else(|| since.filter(|&v| v <= end).map(|_| 0));
        items.push(json!({
            "date": start.format("%Y-%m-%d").to_string(),
            field: rating.map(f64::from),
        }));
    }
    Ok(json!({ endpoint.root(): items }))
}

pub(super) fn refdomains_history(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let target = target(p)?;
    let (from, to) = date_range(p)?;
    let group = grouping(p)?;
    let days = query::daily_changes(&ctx.store, &target)?;
    let mut items = Vec::new();
    for (start, _, last) in periods(from, to, group) {
        let count: i64 = days
            .range(..=last)
            .map(|(_, c)| c.referring.domains.new as i64 - c.referring.domains.lost as i64)
            .sum();
        items.push(json!({
            "date": start.format("%Y-%m-%d").to_string(),
            "refdomains": count.max(0),
        }));
    }
    Ok(json!({ "refdomains": items }))
}
