//! `refdomains-history`: how many registrable domains linked to the target over time, rebuilt
//! from the index's events by the `refdomains_new_lost` rule (a domain is gained when its
//! first live link appears and lost when its last one goes).

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
pub(super) fn refdomains_history(ctx: &ApiContext, p: &Params) -> Result<J, V3Error> {
    let target = target(p)?;
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
