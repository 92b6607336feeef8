//! The parameters every v3 endpoint reads (`target`, `mode`, `protocol`, `select`, `order_by`, `limit`/`offset`, `history`, `aggregation`, `date`) and the sorting and projection of items.

use super::*;

/// `history`: which lost backlinks an answer includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum History {
    /// Live backlinks only.
    Live,
    /// Live, and those lost on or after this day (Unix seconds at 00:00Z).
    Since(i64),
    /// Live and every lost one.
    AllTime,
}

/// `aggregation` of `all-backlinks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Aggregation {
    /// Links from one referring domain to the same URL with the same anchor and type are one
    /// item (the strongest), with `link_group_count`.
    SimilarLinks,
    /// The strongest link of each referring domain, with `link_group_count`.
    OnePerDomain,
    /// Every link.
    All,
}

pub(super) fn bad(msg: impl Into<String>) -> V3Error {
    V3Error::BadRequest(msg.into())
}

/// `target` and `mode` (default `subdomains`), read by the one target parser.
pub(super) fn target(p: &Params) -> Result<Target, V3Error> {
    target_with(p, Mode::Subdomains)
}

/// [`target`] with another `mode` when none is given (`url-rating-history` rates one URL).
pub(super) fn target_with(p: &Params, default: Mode) -> Result<Target, V3Error> {
    let raw = p
        .get("target")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("Parameter 'target' is required"))?;
    let mode = match p.get("mode").map(str::trim) {
        None | Some("") => default,
        Some(m) => m.parse::<Mode>().map_err(|e| bad(e.to_string()))?,
    };
    Target::parse(raw, mode).map_err(|e| bad(e.to_string()))
}

/// `protocol`: `both` (default), `http` or `https`: which target URLs count.
pub(super) fn protocol(p: &Params) -> Result<Option<&'static str>, V3Error> {
    match p.get("protocol").map(str::trim) {
        None | Some("") | Some("both") => Ok(None),
        Some("http") => Ok(Some("http://")),
        Some("https") => Ok(Some("https://")),
        Some(o) => Err(bad(format!(
            "Unknown protocol '{o}' (use both, http or https)"
        ))),
    }
}

pub(super) fn history(p: &Params) -> Result<History, V3Error> {
    match p.get("history").map(str::trim) {
        None | Some("") | Some("all_time") => Ok(History::AllTime),
        Some("live") => Ok(History::Live),
        Some(h) => h
            .strip_prefix("since:")
            .and_then(time::parse)
            .map(History::Since)
            .ok_or_else(|| {
                bad(format!(
                    "Unknown history '{h}' (use live, all_time or since:YYYY-MM-DD)"
                ))
            }),
    }
}

pub(super) fn count(p: &Params, name: &str, default: usize) -> Result<usize, V3Error> {
    match p.get(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_LIMIT)
            .ok_or_else(|| {
                bad(format!(
                    "Parameter '{name}' must be a whole number between 0 and {MAX_LIMIT}, not '{v}'"
                ))
            }),
    }
}

/// `select`: required, each field one the endpoint answers.
pub(super) fn select(p: &Params, fields: &[&'static str]) -> Result<Vec<&'static str>, V3Error> {
    let raw = p
        .get("select")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("Parameter 'select' is required: a comma-separated list of fields"))?;
    raw.split(',')
        .map(|f| {
            let f = f.trim();
            fields
                .iter()
                .find(|x| **x == f)
                .copied()
                .ok_or_else(|| bad(format!("Unknown column '{f}' in 'select'")))
        })
        .collect()
}

/// `order_by`: `field[:asc|desc]`, comma-separated.
pub(super) fn order_by(
    p: &Params,
    fields: &[&'static str],
) -> Result<Vec<(&'static str, bool)>, V3Error> {
    let Some(raw) = p.get("order_by").map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|part| {
            let (f, dir) = part.split_once(':').unwrap_or((part, "asc"));
            let f = f.trim();
            let field = fields
                .iter()
                .find(|x| **x == f)
                .copied()
                .ok_or_else(|| bad(format!("Unknown column '{f}' in 'order_by'")))?;
            match dir.trim() {
                "asc" => Ok((field, false)),
                "desc" => Ok((field, true)),
                d => Err(bad(format!(
                    "Unknown order '{d}' for '{f}' (use asc or desc)"
                ))),
            }
        })
        .collect()
}

/// Sort `items` by `rules` (nulls last either way), the rest of the order as it was.
pub(super) fn sort(items: &mut [J], rules: &[(&str, bool)]) {
    if rules.is_empty() {
        return;
    }
    items.sort_by(|a, b| {
        for (f, desc) in rules {
            let (x, y) = (&a[*f], &b[*f]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => {
                    let o = filter::compare(x, y).unwrap_or(Ordering::Equal);
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

/// An item with only the selected fields, in `select`'s order.
pub(super) fn project(item: &J, select: &[&str]) -> J {
    let mut m = Map::new();
    for f in select {
        m.insert((*f).to_string(), item[*f].clone());
    }
    J::Object(m)
}

/// `date` (required by v3 for stats and ratings): a day, not in the future.
pub(super) fn date(p: &Params) -> Result<Option<i64>, V3Error> {
    match p.get("date").map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => time::parse(&d[..10.min(d.len())])
            .map(Some)
            .ok_or_else(|| bad(format!("Parameter 'date' must be YYYY-MM-DD, not '{d}'"))),
    }
}
