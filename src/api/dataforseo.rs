//! DataForSEO "Bulk New & Lost Backlinks" (SPEC §7) and "Bulk New & Lost Referring Domains":
//! per target, counts of new and lost backlinks (events) or referring domains (the
//! `refdomains_new_lost` rule) since `date_from`, in DataForSEO's envelope.

use anyhow::Context;
use linkdiff_model::Target;
use linkdiff_query::time;
use linkdiff_store::Store;
use serde_json::{json, Map, Value as J};
use std::time::Instant;

/// Most targets in one task.
pub const MAX_TARGETS: usize = 1000;
/// Longest tag.
pub const MAX_TAG: usize = 255;

/// The target a v2 table is asked for to answer a DataForSEO target: v2 has no host-only mode,
/// so a single host is asked with `mode=domain` (which also folds `www.`).
pub fn v2_target(target: &Target) -> Target {
    match target {
        Target::Host(h) => Target::Domain(h.clone()),
        t => t.clone(),
    }
}

/// (new, lost) events for `target` on or after `since` (Unix seconds).
pub fn count(store: &Store, target: &Target, since: i64) -> anyhow::Result<(u64, u64)> {
    Ok(store.count_events(target, since)?)
}

/// The bulk endpoints linkdiff answers; they share validation and envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bulk {
    /// `bulk_new_lost_backlinks`: `new_backlinks`, `lost_backlinks`.
    NewLostBacklinks,
    /// `bulk_new_lost_referring_domains`: `new_referring_domains`, `lost_referring_domains`
    /// (referring hosts), `new_referring_main_domains`, `lost_referring_main_domains`
    /// (registrable domains).
    NewLostReferringDomains,
    /// `bulk_ranks`: `rank` of each target (its domain's rating, or a URL's rating), on the
    /// 0–1000 scale unless `rank_scale` is `one_hundred`.
    Ranks,
    /// `bulk_backlinks`: `backlinks` (live) of each target.
    Backlinks,
    /// `bulk_referring_domains`: `referring_domains` (hosts), `referring_main_domains`
    /// (registrable domains) and their `_nofollow` counts (those with at least one nofollow
    /// link to the target), over live backlinks.
    ReferringDomains,
    /// `bulk_pages_summary`: each target's summary (as `summary/live` counts it), with `url`,
    /// the page's `rank` and its domain's `main_domain_rank`.
    PagesSummary,
}

impl Bulk {
    /// Every bulk endpoint.
    pub const ALL: [Bulk; 6] = [
        Bulk::NewLostBacklinks,
        Bulk::NewLostReferringDomains,
        Bulk::Ranks,
        Bulk::Backlinks,
        Bulk::ReferringDomains,
        Bulk::PagesSummary,
    ];

    /// The function name in paths and in `data.function`.
    pub fn function(self) -> &'static str {
        match self {
            Bulk::NewLostBacklinks => "bulk_new_lost_backlinks",
            Bulk::NewLostReferringDomains => "bulk_new_lost_referring_domains",
            Bulk::Ranks => "bulk_ranks",
            Bulk::Backlinks => "bulk_backlinks",
            Bulk::ReferringDomains => "bulk_referring_domains",
            Bulk::PagesSummary => "bulk_pages_summary",
        }
    }

    /// The HTTP path.
    pub fn path(self) -> String {
        format!("/v3/backlinks/{}/live", self.function())
    }

    /// One result item for `target` (as written, and as read) since `since`.
    fn item(
        self,
        store: &Store,
        (written, target): &(String, Target),
        task: &Task,
    ) -> anyhow::Result<J> {
        let since = task.date_from;
        Ok(match self {
            Bulk::Ranks => {
                let rating = rating(store, written, target)?;
                let scale = if task.rank_hundred { 1 } else { 10 };
                json!({"target": written, "rank": rating.map_or(0, |r| r as u64 * scale)})
            }
            Bulk::PagesSummary => {
                let summary = super::dfs_summary::summary(store, written, target)?;
                let scale = if task.rank_hundred { 1 } else { 10 };
                let page = match target {
                    Target::Exact(_) => rating(store, written, target)?.map(|r| r as u64 * scale),
                    _ => None,
                };
                let mut m = Map::new();
                m.insert("type".into(), J::from("backlinks_bulk_pages_summary"));
                m.insert("url".into(), J::from(written.as_str()));
                m.insert("rank".into(), page.map_or(J::Null, J::from));
                m.insert(
                    "main_domain_rank".into(),
                    J::from(summary["rank"].as_u64().unwrap_or(0) / 10 * scale),
                );
                for k in [
                    "backlinks",
                    "first_seen",
                    "lost_date",
                    "backlinks_spam_score",
                    "broken_backlinks",
                    "broken_pages",
                    "referring_domains",
                    "referring_domains_nofollow",
                    "referring_main_domains",
                    "referring_main_domains_nofollow",
                    "referring_ips",
                    "referring_subnets",
                    "referring_pages",
                    "referring_pages_nofollow",
                    "referring_links_tld",
                    "referring_links_types",
                    "referring_links_attributes",
                    "referring_links_platform_types",
                    "referring_links_semantic_locations",
                    "referring_links_countries",
                ] {
                    m.insert(k.into(), summary[k].clone());
                }
                J::Object(m)
            }
            Bulk::Backlinks => {
                let mut n = 0u64;
                for r in store.backlinks(target) {
                    r?;
                    n += 1;
                }
                json!({"target": written, "backlinks": n})
            }
            Bulk::ReferringDomains => {
                let mut hosts: std::collections::HashMap<String, bool> = Default::default();
                let mut domains: std::collections::HashMap<String, bool> = Default::default();
                for r in store.backlinks(target) {
                    let (from, _, link) = r?;
                    let host = linkdiff_model::url_host(&from).to_ascii_lowercase();
                    let domain = linkdiff_model::registrable_domain(&host).to_string();
                    *hosts.entry(host).or_default() |= link.nofollow;
                    *domains.entry(domain).or_default() |= link.nofollow;
                }
                let nofollow = |m: &std::collections::HashMap<String, bool>| {
                    m.values().filter(|v| **v).count()
                };
                json!({
                    "target": written,
                    "referring_domains": hosts.len(),
                    "referring_domains_nofollow": nofollow(&hosts),
                    "referring_main_domains": domains.len(),
                    "referring_main_domains_nofollow": nofollow(&domains),
                })
            }
            Bulk::NewLostBacklinks => {
                let (n, l) = count(store, target, since)?;
                json!({"target": written, "new_backlinks": n, "lost_backlinks": l})
            }
            Bulk::NewLostReferringDomains => {
                let c = linkdiff_query::referring_changes(store, target, since)?;
                json!({
                    "target": written,
                    "new_referring_domains": c.hosts.new,
                    "lost_referring_domains": c.hosts.lost,
                    "new_referring_main_domains": c.domains.new,
                    "lost_referring_main_domains": c.domains.lost,
                })
            }
        })
    }
}

/// The rating of a bulk target: a URL's UR (its page record is under its URL with the
/// scheme: as written, or either), or a domain's or host's DR; `None` when not rated.
fn rating(store: &Store, written: &str, target: &Target) -> anyhow::Result<Option<u8>> {
    Ok(match target {
        Target::Exact(u) => {
            for url in [
                written.trim().to_string(),
                format!("http://{u}"),
                format!("https://{u}"),
            ] {
                if let Some(p) = store.page(&url)?.filter(|p| p.last_visit.is_some()) {
                    return Ok(Some(p.url_rating));
                }
            }
            None
        }
        _ => store
            .domain(target.registrable_domain())?
            .map(|d| d.domain_rating),
    })
}

/// A validated task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Targets in request order: as written (echoed in the items), and as read.
    pub targets: Vec<(String, Target)>,
    /// Start day, Unix seconds at 00:00Z.
    pub date_from: i64,
    /// `rank_scale: "one_hundred"` (ranks 0–100 instead of 0–1000).
    pub rank_hundred: bool,
    /// The request object as sent (echoed in `data`).
    pub echo: Map<String, J>,
}

/// The field of a bulk task that is missing or wrong (DataForSEO answers 40501 naming it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidField {
    /// `targets`: absent, empty, over [`MAX_TARGETS`], or a blank or non-string entry.
    #[error("targets")]
    Targets,
    /// `date_from`: not `YYYY-MM-DD`, in the future, or over a year back.
    #[error("date_from")]
    DateFrom,
    /// `tag`: not a string, or over [`MAX_TAG`] characters.
    #[error("tag")]
    Tag,
    /// `rank_scale`: not `one_hundred` or `one_thousand`.
    #[error("rank_scale")]
    RankScale,
}

/// Validate one task object against today's date (`today` = Unix seconds now).
pub fn validate(task: &J, today: i64) -> Result<Task, InvalidField> {
    let Some(obj) = task.as_object() else {
        return Err(InvalidField::Targets);
    };
    let targets = match obj.get("targets") {
        Some(J::Array(a)) if !a.is_empty() && a.len() <= MAX_TARGETS => a
            .iter()
            .map(|t| {
                let written = t.as_str()?.trim();
                Some((written.to_string(), Target::dataforseo(written).ok()?))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(InvalidField::Targets)?,
        _ => return Err(InvalidField::Targets),
    };
    let today_day = time::day(today) * 86_400;
    let min = time::parse(&chrono_shift(today_day, -12)).unwrap_or(today_day - 365 * 86_400);
    let date_from = match obj.get("date_from") {
        None | Some(J::Null) => {
            time::parse(&chrono_shift(today_day, -1)).unwrap_or(today_day - 30 * 86_400)
        }
        Some(J::String(s)) if s.len() == 10 => {
            let d = time::parse(s).ok_or(InvalidField::DateFrom)?;
            if d < min || d > today_day {
                return Err(InvalidField::DateFrom);
            }
            d
        }
        _ => return Err(InvalidField::DateFrom),
    };
    match obj.get("tag") {
        None | Some(J::Null) => {}
        Some(J::String(s)) if s.chars().count() <= MAX_TAG => {}
        _ => return Err(InvalidField::Tag),
    }
    let mut echo = Map::new();
    for (k, v) in obj {
        if !v.is_null() {
            echo.insert(k.clone(), v.clone());
        }
    }
    let rank_hundred = match obj.get("rank_scale") {
        None | Some(J::Null) => false,
        Some(J::String(s)) if s == "one_thousand" => false,
        Some(J::String(s)) if s == "one_hundred" => true,
        _ => return Err(InvalidField::RankScale),
    };
    Ok(Task {
        targets,
        date_from,
        rank_hundred,
        echo,
    })
}

/// `day` shifted by `months` calendar months, as `YYYY-MM-DD` (clamped to month end).
fn chrono_shift(day: i64, months: i32) -> String {
    use chrono::{Datelike, NaiveDate};
    let d = chrono::DateTime::from_timestamp(day, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    let total = d.year() * 12 + d.month0() as i32 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let mut dd = d.day();
    loop {
        if let Some(nd) = NaiveDate::from_ymd_opt(y, m, dd) {
            return nd.format("%Y-%m-%d").to_string();
        }
        dd -= 1;
    }
}

fn secs(t: Instant) -> String {
    format!("{:.4} sec.", t.elapsed().as_secs_f64())
}

/// Every status linkdiff answers a DataForSEO client with — its code, its message and the HTTP
/// status it goes with — decided here, once, for the envelope and for tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DfsStatus {
    /// 20000 `Ok.`
    Ok,
    /// 40000: more than one task in the body.
    OneTaskAtATime,
    /// 40100 (HTTP 401): no or wrong Basic credentials while tokens are required.
    Unauthorized,
    /// 40400 (HTTP 404): a path under `/v3` that is not an endpoint linkdiff answers.
    NotFound,
    /// 40501 on the task: a field missing or wrong, named.
    InvalidField(String),
    /// 40502: an empty body or an empty task array.
    NoPostData,
    /// 40503: a body that is not a JSON array of task objects.
    PostDataInvalid,
    /// 50000 on the task (HTTP 200): the query ran past the time limit; the sentence says
    /// what to narrow or which option to raise. DataForSEO documents no code for this.
    TimedOut(String),
    /// 50000 (HTTP 500): something failed on our side (logged).
    Internal,
}

impl DfsStatus {
    /// The `status_code`.
    pub fn code(&self) -> u32 {
        match self {
            DfsStatus::Ok => 20000,
            DfsStatus::OneTaskAtATime => 40000,
            DfsStatus::Unauthorized => 40100,
            DfsStatus::NotFound => 40400,
            DfsStatus::InvalidField(_) => 40501,
            DfsStatus::NoPostData => 40502,
            DfsStatus::PostDataInvalid => 40503,
            DfsStatus::TimedOut(_) | DfsStatus::Internal => 50000,
        }
    }

    /// The `status_message`.
    pub fn message(&self) -> String {
        match self {
            DfsStatus::Ok => "Ok.".into(),
            DfsStatus::OneTaskAtATime => "You can set only one task at a time.".into(),
            DfsStatus::Unauthorized => "You are not authorized to access this resource.".into(),
            DfsStatus::NotFound => "Not Found.".into(),
            DfsStatus::InvalidField(f) => format!("Invalid Field: '{f}'."),
            DfsStatus::NoPostData => "No POST data.".into(),
            DfsStatus::PostDataInvalid => "POST Data Is Invalid.".into(),
            DfsStatus::TimedOut(sentence) => sentence.clone(),
            DfsStatus::Internal => "Internal Error.".into(),
        }
    }

    /// The HTTP status of a reply whose envelope has this status.
    pub fn http_status(&self) -> u16 {
        match self {
            DfsStatus::Unauthorized => 401,
            DfsStatus::NotFound => 404,
            DfsStatus::Internal => 500,
            _ => 200,
        }
    }

    /// The whole reply for an error of the request itself (no task): HTTP status and envelope.
    pub fn reply(self, started: Instant) -> Reply {
        (self.http_status(), envelope(&self, vec![], started))
    }
}

/// The top-level envelope around `tasks`.
pub fn envelope(status: &DfsStatus, tasks: Vec<J>, started: Instant) -> J {
    let errors = tasks
        .iter()
        .filter(|t| t["status_code"].as_u64() != Some(DfsStatus::Ok.code().into()))
        .count();
    json!({
        "version": concat!("linkdiff-", env!("CARGO_PKG_VERSION")),
        "status_code": status.code(),
        "status_message": status.message(),
        "time": secs(started),
        "cost": 0,
        "tasks_count": tasks.len(),
        "tasks_error": errors,
        "tasks": tasks,
    })
}

/// A task whose query ran past the time limit: HTTP 200, the envelope `20000`, the task
/// `50000` with `msg` (what ran too long and which option to raise) and no result.
fn timed_out_reply(function: &str, msg: &str, echo: Map<String, J>, started: Instant) -> Reply {
    let t = task_json(
        function,
        &DfsStatus::TimedOut(msg.to_string()),
        echo,
        J::Null,
        started,
    );
    (200, envelope(&DfsStatus::Ok, vec![t], started))
}

pub(crate) fn task_json(
    function: &str,
    status: &DfsStatus,
    data: Map<String, J>,
    result: J,
    started: Instant,
) -> J {
    let count = result.as_array().map_or(0, |a| a.len());
    let mut data = data;
    data.insert("api".into(), J::from("backlinks"));
    data.insert("function".into(), J::from(function));
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "status_code": status.code(),
        "status_message": status.message(),
        "time": secs(started),
        "cost": 0,
        "result_count": count,
        "path": ["v3", "backlinks", function, "live"],
        "data": J::Object(data),
        "result": result,
    })
}

/// The one task object of a request body, or the envelope answering why there is none.
pub(crate) fn one_task(body: &[u8]) -> Result<J, DfsStatus> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DfsStatus::NoPostData);
    }
    let parsed: J = serde_json::from_slice(body).map_err(|_| DfsStatus::PostDataInvalid)?;
    let Some(tasks) = parsed.as_array() else {
        return Err(DfsStatus::PostDataInvalid);
    };
    match tasks.len() {
        0 => Err(DfsStatus::NoPostData),
        1 => Ok(tasks[0].clone()),
        _ => Err(DfsStatus::OneTaskAtATime),
    }
}

/// An answer: `(HTTP status, JSON envelope)`.
pub(crate) type Reply = (u16, J);

/// The one task of a single-target endpoint (`summary`, `backlinks`, `referring_domains`,
/// `anchors`, `timeseries_new_lost_summary`) while it is answered: its fields, what is echoed
/// in `data`, and the shared answers (ok, invalid field, internal error).
pub(crate) struct TargetTask {
    /// The task object as sent.
    pub raw: J,
    echo: Map<String, J>,
    function: &'static str,
    started: Instant,
}

impl TargetTask {
    /// The single task of `body`, or the envelope saying why there is none.
    pub fn parse(function: &'static str, body: &[u8]) -> Result<TargetTask, Reply> {
        let started = Instant::now();
        let raw = one_task(body).map_err(|s| s.reply(started))?;
        let echo = raw
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(TargetTask {
            raw,
            echo,
            function,
            started,
        })
    }

    /// The task answered with `Invalid Field: 'field'.`.
    pub fn invalid(&self, field: &str) -> Reply {
        let t = task_json(
            self.function,
            &DfsStatus::InvalidField(field.to_string()),
            self.echo.clone(),
            J::Null,
            self.started,
        );
        (200, envelope(&DfsStatus::Ok, vec![t], self.started))
    }

    /// The task answered with `result`.
    pub fn ok(self, result: J) -> Reply {
        let t = task_json(
            self.function,
            &DfsStatus::Ok,
            self.echo,
            result,
            self.started,
        );
        (200, envelope(&DfsStatus::Ok, vec![t], self.started))
    }

    /// The request failed on our side (logged). A query stopped by the time limit is the
    /// task's error instead (status 50000 with the sentence saying what to change, HTTP 200),
    /// logged with the task.
    pub fn internal(&self, e: anyhow::Error) -> Reply {
        if let Some(t) = super::timed_out(&e) {
            tracing::warn!(task = %self.raw, "{}: query stopped: {t}", self.function);
            return timed_out_reply(
                self.function,
                &t.to_string(),
                self.echo.clone(),
                self.started,
            );
        }
        tracing::error!("{}: {e:#}", self.function);
        DfsStatus::Internal.reply(self.started)
    }

    /// The required `target`, trimmed.
    pub fn target(&self) -> Result<String, Reply> {
        match self.raw.get("target").and_then(J::as_str).map(str::trim) {
            Some(t) if !t.is_empty() => Ok(t.to_string()),
            _ => Err(self.invalid("target")),
        }
    }

    /// The scope of `target`: a bare registrable domain includes its subdomains unless
    /// `include_subdomains` is false (then only that host).
    pub fn scope(&self, target: &str) -> Result<Target, Reply> {
        let t = Target::dataforseo(target).map_err(|_| self.invalid("target"))?;
        match self.raw.get("include_subdomains") {
            Some(J::Bool(false)) => Ok(t.without_subdomains()),
            None | Some(J::Null) | Some(J::Bool(_)) => Ok(t),
            _ => Err(self.invalid("include_subdomains")),
        }
    }

    /// A whole number field between 0 and `max`, `default` when absent.
    pub fn count(&self, field: &str, default: usize, max: usize) -> Result<usize, Reply> {
        match self.raw.get(field) {
            None | Some(J::Null) => Some(default),
            Some(v) => v.as_u64().map(|n| n as usize).filter(|&n| n <= max),
        }
        .ok_or_else(|| self.invalid(field))
    }

    /// `limit` (1 to `max`, `default` when absent) and `offset` of a list endpoint.
    pub fn page(&self, default: usize, max: usize) -> Result<(usize, usize), Reply> {
        let limit = self.count("limit", default, max).and_then(|n| {
            if n > 0 {
                Ok(n)
            } else {
                Err(self.invalid("limit"))
            }
        })?;
        Ok((limit, self.count("offset", 0, linkdiff_query::MAX_LIMIT)?))
    }

    /// `rank_scale`: the factor from linkdiff's 0–100 ratings to the answer's scale, 10 for
    /// `one_thousand` (the default) or 1 for `one_hundred`.
    pub fn rank_scale(&self) -> Result<u64, Reply> {
        match self.raw.get("rank_scale") {
            None | Some(J::Null) => Ok(10),
            Some(J::String(s)) if s == "one_thousand" => Ok(10),
            Some(J::String(s)) if s == "one_hundred" => Ok(1),
            _ => Err(self.invalid("rank_scale")),
        }
    }

    /// Only live backlinks are answered: `backlinks_status_type` absent or `live`.
    pub fn live_only(&self) -> Result<(), Reply> {
        match self.raw.get("backlinks_status_type").and_then(J::as_str) {
            None | Some("live") => Ok(()),
            Some(_) => Err(self.invalid("backlinks_status_type")),
        }
    }
}

/// Answer a request body of endpoint `kind` (auth already checked): `(HTTP status, JSON)`.
pub fn answer(store: &Store, kind: Bulk, body: &[u8], today: i64) -> (u16, J) {
    let started = Instant::now();
    let raw = match one_task(body) {
        Ok(t) => t,
        Err(s) => return s.reply(started),
    };
    let task = match validate(&raw, today) {
        Ok(t) => t,
        Err(field) => {
            let echo = raw.as_object().cloned().unwrap_or_default();
            let t = task_json(
                kind.function(),
                &DfsStatus::InvalidField(field.to_string()),
                echo,
                J::Null,
                started,
            );
            return (200, envelope(&DfsStatus::Ok, vec![t], started));
        }
    };
    let items = match items(store, kind, &task) {
        Ok(items) => items,
        Err(e) => {
            if let Some(err) = super::timed_out(&e) {
                tracing::warn!("{}: query stopped: {err}", kind.function());
                return timed_out_reply(kind.function(), &err.to_string(), task.echo, started);
            }
            tracing::error!("{}: {e:#}", kind.function());
            return DfsStatus::Internal.reply(started);
        }
    };
    let result = json!([{ "items_count": items.len(), "items": items }]);
    let t = task_json(kind.function(), &DfsStatus::Ok, task.echo, result, started);
    (200, envelope(&DfsStatus::Ok, vec![t], started))
}

/// The items of a validated bulk task, one per target in request order (`linkdiff
/// bulk-new-lost` prints them; [`answer`] wraps them in DataForSEO's envelope).
pub fn items(store: &Store, kind: Bulk, task: &Task) -> anyhow::Result<Vec<J>> {
    if kind == Bulk::NewLostBacklinks {
        // One count per target, asked for all at once (ClickHouse: a few statements, not one
        // round trip per target).
        let scopes: Vec<Target> = task.targets.iter().map(|(_, t)| t.clone()).collect();
        let counts = store.count_events_many(&scopes, task.date_from)?;
        return Ok(task
            .targets
            .iter()
            .zip(counts)
            .map(|((written, _), (n, l))| {
                json!({"target": written, "new_backlinks": n, "lost_backlinks": l})
            })
            .collect());
    }
    task.targets
        .iter()
        .map(|t| {
            kind.item(store, t, task)
                .with_context(|| format!("target {}", t.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i64 = 1_763_769_600; // 2025-11-22

    #[test]
    fn targets_are_read_once_when_the_task_is_validated() {
        let t = validate(
            &json!({"targets": ["forbes.com", " www.trustpilot.com ", "https://ahrefs.com/blog/"]}),
            TODAY,
        )
        .unwrap();
        let read: Vec<(&str, &Target)> = t.targets.iter().map(|(w, t)| (w.as_str(), t)).collect();
        assert_eq!(
            read,
            [
                ("forbes.com", &Target::Subdomains("forbes.com".into())),
                (
                    "www.trustpilot.com",
                    &Target::Host("www.trustpilot.com".into())
                ),
                (
                    "https://ahrefs.com/blog/",
                    &Target::Exact("ahrefs.com/blog/".into())
                ),
            ]
        );
        assert_eq!(
            validate(&json!({"targets": ["https://"]}), TODAY).unwrap_err(),
            InvalidField::Targets
        );
    }

    #[test]
    fn every_error_path() {
        let s = Store::memory();
        let code = |body: &str| {
            let (_, j) = answer(&s, Bulk::NewLostBacklinks, body.as_bytes(), TODAY);
            let top = j["status_code"].as_u64().unwrap();
            let task = j["tasks"][0]["status_code"].as_u64();
            (
                top,
                task,
                j["tasks"][0]["status_message"].as_str().map(str::to_string),
            )
        };
        assert_eq!(code("").0, 40502);
        assert_eq!(code("{\"targets\":[\"a.com\"]}").0, 40503);
        assert_eq!(code("nonsense").0, 40503);
        assert_eq!(
            code("[{\"targets\":[\"a.com\"]},{\"targets\":[\"b.com\"]}]").0,
            40000
        );
        let bad = |body: &str| code(body).2.unwrap();
        assert_eq!(bad("[{}]"), "Invalid Field: 'targets'.");
        assert_eq!(bad("[{\"targets\":[]}]"), "Invalid Field: 'targets'.");
        assert_eq!(bad("[{\"targets\":[\" \"]}]"), "Invalid Field: 'targets'.");
        let many: Vec<String> = (0..1001).map(|i| format!("\"t{i}.com\"")).collect();
        assert_eq!(
            bad(&format!("[{{\"targets\":[{}]}}]", many.join(","))),
            "Invalid Field: 'targets'."
        );
        assert_eq!(
            bad("[{\"targets\":[\"a.com\"],\"date_from\":\"2020-01-01\"}]"),
            "Invalid Field: 'date_from'."
        );
        assert_eq!(
            bad("[{\"targets\":[\"a.com\"],\"date_from\":\"yesterday\"}]"),
            "Invalid Field: 'date_from'."
        );
        assert_eq!(
            bad("[{\"targets\":[\"a.com\"],\"date_from\":\"2030-01-01\"}]"),
            "Invalid Field: 'date_from'."
        );
        let tag = "x".repeat(256);
        assert_eq!(
            bad(&format!("[{{\"targets\":[\"a.com\"],\"tag\":\"{tag}\"}}]")),
            "Invalid Field: 'tag'."
        );
        let (top, task, _) =
            code("[{\"targets\":[\"a.com\",\"b.com\"],\"date_from\":null,\"tag\":\"t\"}]");
        assert_eq!((top, task), (20000, Some(20000)));
    }

    #[test]
    fn default_date_from_is_one_month_back() {
        let t = validate(&json!({"targets": ["a.com"]}), TODAY).unwrap();
        assert_eq!(time::date(t.date_from), "2025-10-22");
        assert!(validate(
            &json!({"targets": ["a.com"], "date_from": "2024-11-22"}),
            TODAY
        )
        .is_ok());
        assert!(validate(
            &json!({"targets": ["a.com"], "date_from": "2024-11-21"}),
            TODAY
        )
        .is_err());
    }
}
