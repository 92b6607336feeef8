//! DataForSEO "Available Filters" (`GET /v3/backlinks/available_filters`): for each endpoint
//! whose `filters` linkdiff evaluates, the fields a filter may name and their types (`str`,
//! `num`, `bool`, `time`, `array.str`), so generated clients and the MCP server know them.

use super::dataforseo::{envelope, task_json, DfsStatus};
use super::dfs_lists::List;
use serde_json::{json, Map, Value as J};
use std::time::Instant;

/// The type DataForSEO gives a field, from what linkdiff's items hold under that name.
fn field_type(name: &str) -> &'static str {
    const TIMES: &[&str] = &[
        "first_seen",
        "prev_seen",
        "last_seen",
        "lost_date",
        "first_visited",
        "prev_visited",
        "fetch_time",
    ];
    if TIMES.contains(&name) {
        "time"
    } else if name == "attributes" {
        "array.str"
    } else if name == "dofollow" || name == "original" || name.starts_with("is_") {
        "bool"
    } else if name.contains("rank")
        || name.contains("count")
        || name.contains("backlinks")
        || name.starts_with("referring_")
        || name.ends_with("_links")
        || name.ends_with("_size")
        || name == "size"
        || name == "intersections"
        || name.ends_with("status_code")
    {
        "num"
    } else {
        "str"
    }
}

fn typed(fields: impl IntoIterator<Item = String>) -> J {
    let m: Map<String, J> = fields
        .into_iter()
        .filter(|f| f != "type")
        .map(|f| {
            let t = field_type(&f);
            (f, J::from(t))
        })
        .collect();
    J::Object(m)
}

/// The answer: `(HTTP status, JSON)`.
pub fn answer() -> (u16, J) {
    let started = Instant::now();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let with = |extra: &str| {
        let mut v = strings(super::dfs_pages::COMMON);
        v.push(extra.to_string());
        v
    };
    let result = json!([{
        "backlinks": typed(List::Backlinks.fields()),
        "referring_domains": typed(List::ReferringDomains.fields()),
        "anchors": typed(List::Anchors.fields()),
        "competitors": typed(strings(&["target", "rank", "intersections"])),
        // Named `K.field` in a request, K a target's key; `intersections_count` as is.
        "domain_intersection": typed(
            super::dfs_intersection::DOMAIN_FIELDS
                .iter()
                .map(|f| f.to_string())
                .chain(["intersections_count".to_string()])
        ),
        "page_intersection": typed(
            List::Backlinks
                .fields()
                .into_iter()
                .chain(["intersections_count".to_string()])
        ),
        "domain_pages_summary": typed(with("url")),
        "referring_networks": typed(with("network_address")),
        "domain_pages": typed(strings(&[
            "page", "domain", "main_domain", "status_code", "size", "first_visited", "fetch_time", "ip",
        ])),
    }]);
    let t = task_json(
        "available_filters",
        &DfsStatus::Ok,
        Map::new(),
        result,
        started,
    );
    (200, envelope(&DfsStatus::Ok, vec![t], started))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_typed_by_what_they_hold() {
        let (status, j) = answer();
        assert_eq!(status, 200);
        let r = &j["tasks"][0]["result"][0];
        assert_eq!(r["backlinks"]["dofollow"], "bool");
        assert_eq!(r["backlinks"]["first_seen"], "time");
        assert_eq!(r["backlinks"]["domain_from_rank"], "num");
        assert_eq!(r["backlinks"]["anchor"], "str");
        assert_eq!(r["backlinks"]["attributes"], "array.str");
        assert_eq!(r["referring_domains"]["backlinks"], "num");
        assert_eq!(r["competitors"]["intersections"], "num");
        assert_eq!(r["referring_networks"]["network_address"], "str");
        assert!(r["backlinks"].get("type").is_none());
    }
}
