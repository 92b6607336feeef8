//! DataForSEO "Timeseries New & Lost Summary" (`/v3/backlinks/timeseries_new_lost_summary/live`):
//! new and lost backlinks, referring domains (hosts) and main domains (registrable domains) of
//! one target per day, week, month or year; "Timeseries Summary" (`timeseries_summary/live`):
//! the totals at the end of each period; "History" (`history/live`): month by month, both.
//! All rebuilt from the index's events.

use super::dataforseo::{Reply, TargetTask};
use chrono::{Datelike, NaiveDate};
use linkdiff_model::Target;
use linkdiff_query::time;
use linkdiff_store::Store;
use serde_json::{json, Value as J};

/// Which of the three time series a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// `timeseries_new_lost_summary`: new and lost per period.
    NewLost,
    /// `timeseries_summary`: totals at each period's end.
    Totals,
    /// `history`: per month, totals and new/lost.
    History,
}

impl Series {
    /// The function name.
    pub fn function(self) -> &'static str {
        match self {
            Series::NewLost => "timeseries_new_lost_summary",
            Series::Totals => "timeseries_summary",
            Series::History => "history",
        }
    }
}

/// How days are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupRange {
    /// One item per day.
    Day,
    /// Per ISO week, starting on Monday.
    Week,
    /// Per calendar month (the default).
    Month,
    /// Per calendar year.
    Year,
}

impl GroupRange {
    fn parse(s: &str) -> Option<GroupRange> {
        Some(match s {
            "day" => GroupRange::Day,
            "week" => GroupRange::Week,
            "month" => GroupRange::Month,
            "year" => GroupRange::Year,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            GroupRange::Day => "day",
            GroupRange::Week => "week",
            GroupRange::Month => "month",
            GroupRange::Year => "year",
        }
    }

    /// The first day of the period holding `d`.
    pub(crate) fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            GroupRange::Day => d,
            GroupRange::Week => d - chrono::Days::new(d.weekday().num_days_from_monday() as u64),
            GroupRange::Month => d.with_day(1).unwrap_or(d),
            GroupRange::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d),
        }
    }

    /// The first day of the next period after the one starting at `start`.
    pub(crate) fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            GroupRange::Day => start + chrono::Days::new(1),
            GroupRange::Week => start + chrono::Days::new(7),
            GroupRange::Month => start + chrono::Months::new(1),
            GroupRange::Year => start + chrono::Months::new(12),
        }
    }
}

/// The periods of `group` from `from` to `to` (day starts, inclusive), oldest first: each
/// one's first day, and its first and last day (Unix seconds) clamped to the range.
pub(crate) fn periods(from: i64, to: i64, group: GroupRange) -> Vec<(NaiveDate, i64, i64)> {
    let mut out = Vec::new();
    let mut start = group.start(naive(from));
    while secs(start) <= to {
        let end = group.next(start);
        out.push((start, secs(start).max(from), (secs(end) - 86_400).min(to)));
        start = end;
    }
    out
}

pub(crate) fn naive(t: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

pub(crate) fn secs(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp())
}

/// The items of `scope` from `from` to `to` (day starts, inclusive): one per period in range,
/// zeros included, oldest first.
pub fn series(
    store: &Store,
    scope: &Target,
    from: i64,
    to: i64,
    group: GroupRange,
) -> anyhow::Result<Vec<J>> {
    let days = linkdiff_query::daily_changes(store, scope)?;
    let mut items = Vec::new();
    for (start, first, last) in periods(from, to, group) {
        let mut sum = linkdiff_query::PeriodChanges::default();
        for (_, day) in days.range(first..=last) {
            sum += *day;
        }
        items.push(json!({
            "type": "backlinks_timeseries_new_lost_summary",
            "date": format!("{} 00:00:00 +00:00", start.format("%Y-%m-%d")),
            "new_backlinks": sum.backlinks.new,
            "lost_backlinks": sum.backlinks.lost,
            "new_referring_domains": sum.referring.hosts.new,
            "lost_referring_domains": sum.referring.hosts.lost,
            "new_referring_main_domains": sum.referring.domains.new,
            "lost_referring_main_domains": sum.referring.domains.lost,
        }));
    }
    Ok(items)
}

/// Totals at the end of each period from `from` to `to` (the live backlinks, referring hosts
/// and referring registrable domains, summed from the events), oldest first; `history` adds
/// each period's new and lost. A period's `date` is its first day. What the index keeps no
/// history of (ranks, pages, IPs, nofollow splits) is `null`.
pub fn totals(
    store: &Store,
    kind: Series,
    scope: &Target,
    from: i64,
    to: i64,
    group: GroupRange,
) -> anyhow::Result<Vec<J>> {
    let days = linkdiff_query::daily_changes(store, scope)?;
    let mut items = Vec::new();
    for (start, first, last) in periods(from, to, group) {
        let mut total = linkdiff_query::PeriodChanges::default();
        let mut period = linkdiff_query::PeriodChanges::default();
        for (day, c) in days.range(..=last) {
            total += *c;
            if *day >= first {
                period += *c;
            }
        }
        let live = |c: linkdiff_query::Changes| c.new.saturating_sub(c.lost);
        let date = format!("{} 00:00:00 +00:00", start.format("%Y-%m-%d"));
        let mut item = json!({
            "type": if kind == Series::History { "backlinks_history" } else { "backlinks_timeseries_summary" },
            "date": date,
            "rank": null,
            "backlinks": live(total.backlinks),
            "backlinks_nofollow": null,
            "referring_pages": null,
            "referring_pages_nofollow": null,
            "referring_domains": live(total.referring.hosts),
            "referring_domains_nofollow": null,
            "referring_main_domains": live(total.referring.domains),
            "referring_main_domains_nofollow": null,
            "referring_ips": null,
            "referring_subnets": null,
        });
        if let (Series::History, Some(o)) = (kind, item.as_object_mut()) {
            o.remove("backlinks_nofollow");
            o.insert("new_backlinks".into(), J::from(period.backlinks.new));
            o.insert("lost_backlinks".into(), J::from(period.backlinks.lost));
            o.insert(
                "new_referring_domains".into(),
                J::from(period.referring.hosts.new),
            );
            o.insert(
                "lost_referring_domains".into(),
                J::from(period.referring.hosts.lost),
            );
            for k in [
                "crawled_pages",
                "info",
                "internal_links_count",
                "external_links_count",
                "broken_backlinks",
                "broken_pages",
                "referring_links_tld",
                "referring_links_types",
                "referring_links_attributes",
                "referring_links_platform_types",
                "referring_links_semantic_locations",
                "referring_links_countries",
            ] {
                o.insert(k.into(), J::Null);
            }
        }
        items.push(item);
    }
    Ok(items)
}

/// Answer a request body (auth already checked; `today` = Unix seconds now).
pub fn answer(store: &Store, body: &[u8], today: i64) -> Reply {
    answer_series(store, Series::NewLost, body, today)
}

/// Answer a request body of one of the time series (auth already checked; `today` = Unix
/// seconds now).
pub fn answer_series(store: &Store, kind: Series, body: &[u8], today: i64) -> Reply {
    match TargetTask::parse(kind.function(), body)
        .and_then(|task| respond(store, kind, task, today))
    {
        Ok(r) | Err(r) => r,
    }
}

fn respond(store: &Store, kind: Series, task: TargetTask, today: i64) -> Result<Reply, Reply> {
    let target = task.target()?;
    let today = time::day(today) * 86_400;
    let date = |field: &str, default: i64| match task.raw.get(field) {
        None | Some(J::Null) => Some(default),
        Some(J::String(s)) if s.len() == 10 => time::parse(s).filter(|&d| d <= today),
        _ => None,
    };
    let to = date("date_to", today).ok_or_else(|| task.invalid("date_to"))?;
    let year_before = secs(naive(to) - chrono::Months::new(12));
    let from = date("date_from", year_before)
        .filter(|&f| f <= to)
        .ok_or_else(|| task.invalid("date_from"))?;
    let group = match (kind, task.raw.get("group_range")) {
        (Series::History, _) | (_, None | Some(J::Null)) => Some(GroupRange::Month),
        (_, Some(J::String(s))) => GroupRange::parse(s),
        _ => None,
    }
    .ok_or_else(|| task.invalid("group_range"))?;
    // Ranks have no history in the index (`rank` is null), but the field is checked.
    if let Some(s) = task.raw.get("rank_scale").filter(|v| !v.is_null()) {
        if !matches!(s.as_str(), Some("one_thousand" | "one_hundred")) {
            return Err(task.invalid("rank_scale"));
        }
    }
    let scope = task.scope(&target)?;
    let items = match kind {
        Series::NewLost => series(store, &scope, from, to, group),
        Series::Totals | Series::History => totals(store, kind, &scope, from, to, group),
    };
    Ok(match items {
        Ok(items) => {
            let mut result = json!({
                "target": target,
                "date_from": time::date(from),
                "date_to": time::date(to),
                "group_range": group.name(),
                "items_count": items.len(),
                "items": items,
            });
            if kind == Series::History {
                if let Some(o) = result.as_object_mut() {
                    o.remove("group_range");
                }
            }
            task.ok(json!([result]))
        }
        Err(e) => task.internal(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_on_their_first_day() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap(); // a Thursday
        assert_eq!(GroupRange::Week.start(d).to_string(), "2026-11-16");
        assert_eq!(GroupRange::Month.start(d).to_string(), "2026-11-01");
        assert_eq!(GroupRange::Year.start(d).to_string(), "2026-01-01");
        assert_eq!(
            GroupRange::Month
                .next(GroupRange::Month.start(d))
                .to_string(),
            "2026-12-01"
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let s = Store::memory();
        let today = time::parse("2026-11-22").unwrap();
        let msg = |body: &str| {
            answer(&s, body.as_bytes(), today).1["tasks"][0]["status_message"]
                .as_str()
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(msg(r#"[{}]"#), "Invalid Field: 'target'.");
        assert_eq!(
            msg(r#"[{"target":"a.com","group_range":"hour"}]"#),
            "Invalid Field: 'group_range'."
        );
        assert_eq!(
            msg(r#"[{"target":"a.com","date_to":"2030-01-01"}]"#),
            "Invalid Field: 'date_to'."
        );
        assert_eq!(
            msg(r#"[{"target":"a.com","date_from":"2026-11-10","date_to":"2026-11-01"}]"#),
            "Invalid Field: 'date_from'."
        );
        let ok = answer(
            &s,
            br#"[{"target":"a.com","date_from":"2026-01-01","group_range":"month"}]"#,
            today,
        )
        .1;
        assert_eq!(
            ok["tasks"][0]["result"][0]["items_count"], 11,
            "Jan..Nov, zeros included"
        );
    }
}
