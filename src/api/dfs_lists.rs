//! DataForSEO "Backlinks" (`/v3/backlinks/backlinks/live`), "Referring Domains"
//! (`/v3/backlinks/referring_domains/live`) and "Anchors" (`/v3/backlinks/anchors/live`): the v2
//! `backlinks` (or `backlinks_one_per_domain`), `refdomains` and `anchors` tables in DataForSEO's
//! items. `filters` and `order_by` run inside the query when the query language can say them
//! (and-joined `=`, `<>`, `<`, `<=`, `>`, `>=`, `like`/`ilike` with a `%text%` pattern on
//! mapped fields); otherwise, and for lost backlinks and `one_per_anchor`, the target's whole
//! list is read and `dfs_filter` filters, groups and sorts the items. Fields the index cannot
//! know are `null`.

use super::dataforseo::v2_target;
use super::dataforseo::{Reply, TargetTask};
use super::dfs_filter::{self, Filter};
use linkdiff_query::filter::{Filter as QueryFilter, Func, Op, Term};
use linkdiff_query::{QueryParams, QueryResult, Table, Value};
use linkdiff_store::Store;
use serde_json::{json, Map, Value as J};

/// The list endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `backlinks/live`: one item per live backlink (`mode` `as_is` or `one_per_domain`).
    Backlinks,
    /// `referring_domains/live`: one item per referring (registrable) domain.
    ReferringDomains,
    /// `anchors/live`: one item per anchor text.
    Anchors,
}

/// Most items per request, and the default.
const MAX_ITEMS: usize = 1000;
const DEFAULT_ITEMS: usize = 100;

impl List {
    /// The function name (path and `data.function`).
    pub fn function(self) -> &'static str {
        match self {
            List::Backlinks => "backlinks",
            List::ReferringDomains => "referring_domains",
            List::Anchors => "anchors",
        }
    }

    /// The v2 column behind an item field, and the factor from the column to the field
    /// (`rank` is DR × 10).
    fn column(self, field: &str) -> Option<(&'static str, i64)> {
        Some(match (self, field) {
            (List::Backlinks, f) => return backlink_column(f),
            (List::ReferringDomains, "domain") => ("refdomain", 1),
            (List::ReferringDomains, "rank") => ("domain_rating", 10),
            (List::Anchors, "anchor") => ("anchor", 1),
            (List::Anchors, "referring_main_domains") => ("refdomains", 1),
            (_, "backlinks") => ("backlinks", 1),
            (_, "referring_pages") => ("refpages", 1),
            (_, "first_seen") => ("first_seen", 1),
            _ => return None,
        })
    }

    /// One item from a result row (all columns, catalogue order).
    pub(crate) fn item(self, r: &QueryResult, row: &[Value]) -> J {
        let get = |name: &str| {
            r.columns
                .iter()
                .position(|c| c.name == name)
                .map(|i| &row[i])
        };
        self.item_from(&get)
    }

    /// The item fields of this endpoint (what `filters` and `order_by` may name).
    pub(crate) fn fields(self) -> Vec<String> {
        match self.item_from(&|_| None) {
            J::Object(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// One item from a column getter.
    fn item_from<'a>(self, get: &dyn Fn(&str) -> Option<&'a Value>) -> J {
        let int = |name: &str| get(name).and_then(|v| v.text().parse::<i64>().ok());
        let first_seen = get("first_seen").map(|v| {
            let t = v.text();
            format!(
                "{} {} +00:00",
                &t[..10.min(t.len())],
                t.get(11..19).unwrap_or("00:00:00")
            )
        });
        let mut m = Map::new();
        match self {
            List::Backlinks => return backlink_item(get),
            List::ReferringDomains => {
                m.insert("type".into(), J::from("backlinks_referring_domain"));
                m.insert("domain".into(), json!(get("refdomain").map(Value::text)));
                m.insert("rank".into(), json!(int("domain_rating").map(|d| d * 10)));
            }
            List::Anchors => {
                m.insert("type".into(), J::from("backlinks_anchor"));
                m.insert("anchor".into(), json!(get("anchor").map(Value::text)));
                m.insert("rank".into(), J::Null);
            }
        }
        m.insert("backlinks".into(), json!(int("backlinks")));
        m.insert("first_seen".into(), json!(first_seen));
        m.insert("referring_pages".into(), json!(int("refpages")));
        m.insert(
            "referring_main_domains".into(),
            match self {
                List::Anchors => json!(int("refdomains")),
                List::ReferringDomains | List::Backlinks => J::Null,
            },
        );
        for unknown in [
            "lost_date",
            "backlinks_spam_score",
            "broken_backlinks",
            "broken_pages",
            "referring_domains",
            "referring_domains_nofollow",
            "referring_main_domains_nofollow",
            "referring_ips",
            "referring_subnets",
            "referring_pages_nofollow",
            "referring_links_tld",
            "referring_links_types",
            "referring_links_attributes",
            "referring_links_platform_types",
            "referring_links_semantic_locations",
            "referring_links_countries",
        ] {
            m.insert(unknown.into(), J::Null);
        }
        J::Object(m)
    }

    /// One DataForSEO filter condition `[field, op, value]` as a query filter term.
    fn condition(self, c: &[J]) -> Option<Term> {
        let [J::String(field), J::String(op), value] = c else {
            return None;
        };
        let cmp = |col: &str, op: Op, value: String| Term::Cmp {
            col: col.to_string(),
            op,
            value,
        };
        if self == List::Backlinks && field == "dofollow" {
            let b = value.as_bool()?;
            return match op.as_str() {
                "=" => Some(cmp("nofollow", Op::Eq, (!b).to_string())),
                "<>" => Some(cmp("nofollow", Op::Eq, b.to_string())),
                _ => None,
            };
        }
        let (col, factor) = self.column(field)?;
        let lit = |v: &J| -> Option<String> {
            Some(match v {
                J::String(s) if col == "first_seen" => s.get(..10)?.to_string(),
                J::String(s) => s.clone(),
                J::Number(n) => (n.as_i64()? / factor).to_string(),
                J::Bool(b) => b.to_string(),
                _ => return None,
            })
        };
        let op = match op.to_ascii_lowercase().as_str() {
            "=" => Op::Eq,
            "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "like" | "ilike" => {
                let p = value.as_str()?;
                let inner = p.strip_prefix('%')?.strip_suffix('%')?;
                if inner.contains('%') || inner.is_empty() {
                    return None;
                }
                return Some(Term::Call {
                    func: Func::Substring,
                    col: col.to_string(),
                    value: inner.to_string(),
                });
            }
            _ => return None,
        };
        Some(cmp(col, op, lit(value)?))
    }

    /// `filters` (a condition, or conditions joined by `"and"`) as a query filter; `None`
    /// when the query language cannot say it (the items are then filtered by `dfs_filter`).
    fn filters(self, f: &J) -> Option<QueryFilter> {
        let mut terms = Vec::new();
        self.collect_terms(f, &mut terms)?;
        Some(QueryFilter { terms })
    }

    fn collect_terms(self, f: &J, terms: &mut Vec<Term>) -> Option<()> {
        let a = f.as_array()?;
        if a.first().is_some_and(J::is_string) {
            terms.push(self.condition(a)?);
            return Some(());
        }
        for (i, part) in a.iter().enumerate() {
            if i % 2 == 1 {
                if !part.as_str().is_some_and(|s| s.eq_ignore_ascii_case("and")) {
                    return None;
                }
            } else {
                self.collect_terms(part, terms)?;
            }
        }
        Some(())
    }

    /// `order_by` (`["backlinks,desc", …]`) in the query language.
    fn order(self, o: &J) -> Option<String> {
        let mut parts = Vec::new();
        for rule in o.as_array()? {
            let (field, dir) = rule
                .as_str()?
                .split_once(',')
                .unwrap_or((rule.as_str()?, "asc"));
            let (col, _) = self.column(field.trim())?;
            let dir = dir.trim().to_ascii_lowercase();
            if dir != "asc" && dir != "desc" {
                return None;
            }
            parts.push(format!("{col}:{dir}"));
        }
        Some(parts.join(","))
    }
}

/// Answer a request body of endpoint `list` (auth already checked).
pub fn answer(store: &Store, list: List, body: &[u8]) -> Reply {
    match TargetTask::parse(list.function(), body).and_then(|task| respond(store, list, task)) {
        Ok(r) | Err(r) => r,
    }
}

/// `backlinks_status_type` of `backlinks/live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Live,
    Lost,
    All,
}

/// `mode` of `backlinks/live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode1 {
    AsIs,
    OnePerDomain,
    OnePerAnchor,
}

fn respond(store: &Store, list: List, task: TargetTask) -> Result<Reply, Reply> {
    let raw = &task.raw;
    let target = task.target()?;
    let (limit, offset) = task.page(DEFAULT_ITEMS, MAX_ITEMS)?;
    let mode = match (list, raw.get("mode").and_then(J::as_str)) {
        (List::Backlinks, None | Some("as_is")) | (_, None) => Mode1::AsIs,
        (List::Backlinks, Some("one_per_domain")) => Mode1::OnePerDomain,
        (List::Backlinks, Some("one_per_anchor")) => Mode1::OnePerAnchor,
        (_, Some(_)) => return Err(task.invalid("mode")),
    };
    let status = match (list, raw.get("backlinks_status_type")) {
        (_, None | Some(J::Null)) => Status::Live,
        (_, Some(J::String(s))) if s == "live" => Status::Live,
        (List::Backlinks, Some(J::String(s))) if s == "lost" => Status::Lost,
        (List::Backlinks, Some(J::String(s))) if s == "all" => Status::All,
        _ => return Err(task.invalid("backlinks_status_type")),
    };
    let table = match (list, mode) {
        (List::Backlinks, Mode1::OnePerDomain) => Table::OnePerDomain,
        (List::Backlinks, _) => Table::Backlinks,
        (List::ReferringDomains, _) => Table::Refdomains,
        (List::Anchors, _) => Table::Anchors,
    };
    // The query language takes and-joined comparisons on mapped fields; anything else is
    // evaluated on the items (`dfs_filter`).
    let pushed_filter = match raw.get("filters") {
        None | Some(J::Null) => Some(QueryFilter::default()),
        Some(f) => list.filters(f),
    };
    let pushed_order = match raw.get("order_by") {
        None | Some(J::Null) => Some(None),
        Some(o) => list.order(o).map(Some),
    };
    let scope = task.scope(&target)?;
    let query_target = v2_target(&scope);
    let params = |table: Table, filter: &QueryFilter, order_by: Option<String>, limit, offset| {
        let none = QueryFilter::default();
        QueryParams {
            // Item fields of the grouped tables are group columns (`having`); backlink fields
            // are row columns (`where`).
            where_: if table.grouped() { &none } else { filter }.clone(),
            having: if table.grouped() { filter } else { &none }.clone(),
            order_by,
            limit,
            offset,
            ..QueryParams::new(query_target.clone())
        }
    };
    let pushed = match (pushed_filter, pushed_order) {
        (Some(f), Some(o)) if status == Status::Live && mode != Mode1::OnePerAnchor => Some((f, o)),
        _ => None,
    };
    let run = || -> anyhow::Result<J> {
        let (total, items) = match &pushed {
            Some((filter, order_by)) => {
                let r = linkdiff_query::run(
                    store,
                    table,
                    &params(table, filter, order_by.clone(), limit, offset),
                )?;
                let total = match list {
                    List::ReferringDomains => r.stats.first().map_or(0, |s| s.1 as usize),
                    List::Anchors | List::Backlinks => {
                        let all = QueryParams {
                            select: Some(table.columns()[0].name.into()),
                            ..params(table, filter, None, linkdiff_query::MAX_LIMIT, 0)
                        };
                        linkdiff_query::run(store, table, &all)?.rows.len()
                    }
                };
                let items: Vec<J> = r.rows.iter().map(|row| list.item(&r, row)).collect();
                (total, items)
            }
            None => {
                let fields = list.fields();
                let filter = match raw.get("filters") {
                    None | Some(J::Null) => None,
                    Some(f) => Some(
                        Filter::parse(f, &fields)
                            .ok_or_else(|| anyhow::Error::new(BadField("filters")))?,
                    ),
                };
                let rules = match raw.get("order_by") {
                    None | Some(J::Null) => match list {
                        List::Backlinks => {
                            vec![("rank".to_string(), true), ("url_from".to_string(), false)]
                        }
                        _ => vec![("backlinks".to_string(), true)],
                    },
                    Some(o) => dfs_filter::parse_order(o, &fields)
                        .ok_or_else(|| anyhow::Error::new(BadField("order_by")))?,
                };
                let all = |table: Table, filter: &QueryFilter| {
                    linkdiff_query::run(
                        store,
                        table,
                        &params(table, filter, None, linkdiff_query::MAX_LIMIT, 0),
                    )
                };
                let mut items = Vec::new();
                if list != List::Backlinks || status != Status::Lost {
                    let r = all(table, &QueryFilter::default())?;
                    items.extend(r.rows.iter().map(|row| list.item(&r, row)));
                }
                if list == List::Backlinks && status != Status::Live {
                    let live = live_identities(&all(Table::Backlinks, &QueryFilter::default())?);
                    let lost = Term::Cmp {
                        col: "type".into(),
                        op: Op::Eq,
                        value: "lost".into(),
                    };
                    let r = all(Table::NewLost, &QueryFilter { terms: vec![lost] })?;
                    items.extend(lost_items(&r, &live));
                }
                items.retain(|i| filter.as_ref().is_none_or(|f| f.test(i)));
                dfs_filter::sort(&mut items, &rules);
                match mode {
                    Mode1::AsIs => {}
                    Mode1::OnePerDomain => strongest_per(&mut items, &rules, |i| {
                        linkdiff_model::registrable_domain(i["domain_from"].as_str().unwrap_or(""))
                            .to_string()
                    }),
                    Mode1::OnePerAnchor => strongest_per(&mut items, &rules, |i| {
                        i["anchor"].as_str().unwrap_or("").to_string()
                    }),
                }
                let total = items.len();
                let page: Vec<J> = items.into_iter().skip(offset).take(limit).collect();
                (total, page)
            }
        };
        Ok(json!([{
            "target": target,
            "total_count": total,
            "items_count": items.len(),
            "items": items,
        }]))
    };
    Ok(match run() {
        Ok(result) => task.ok(result),
        Err(e) if e.downcast_ref::<BadField>().is_some() => {
            task.invalid(e.downcast_ref::<BadField>().map_or("filters", |b| b.0))
        }
        // A filter the query language refuses is the client's field, not our failure (a
        // store error, the time limit among them, is ours: `internal` says which).
        Err(e)
            if e.downcast_ref::<linkdiff_query::QueryError>()
                .is_some_and(|q| !matches!(q, linkdiff_query::QueryError::Store(_))) =>
        {
            task.invalid("filters")
        }
        Err(e) => task.internal(e),
    })
}

/// A request field that names an unknown item field or operator.
#[derive(Debug, thiserror::Error)]
#[error("invalid field {0}")]
struct BadField(&'static str);

/// Identity of a backlink item: where from, where to, what kind, which anchor.
fn identity(i: &J) -> (String, String, String, String) {
    let s = |k: &str| i[k].as_str().unwrap_or("").to_string();
    (s("url_from"), s("url_to"), s("item_type"), s("anchor"))
}

fn live_identities(r: &QueryResult) -> std::collections::HashSet<(String, String, String, String)> {
    r.rows
        .iter()
        .map(|row| identity(&List::Backlinks.item(r, row)))
        .collect()
}

/// Lost backlinks from `backlinks_new_lost` lost rows: the latest loss of each link that is
/// not live again, as items with `is_lost` (`last_seen` is the last visit that saw the link).
fn lost_items(
    r: &QueryResult,
    live: &std::collections::HashSet<(String, String, String, String)>,
) -> Vec<J> {
    let date = r.columns.iter().position(|c| c.name == "date");
    let mut latest: std::collections::HashMap<(String, String, String, String), (String, J)> =
        std::collections::HashMap::new();
    for row in &r.rows {
        let mut item = List::Backlinks.item(r, row);
        let key = identity(&item);
        if live.contains(&key) {
            continue;
        }
        let day = date.map(|i| row[i].text()).unwrap_or_default();
        item["is_lost"] = J::Bool(true);
        match latest.get(&key) {
            Some((d, _)) if *d >= day => {}
            _ => {
                latest.insert(key, (day, item));
            }
        }
    }
    latest.into_values().map(|(_, i)| i).collect()
}

/// Keep the first item (in `rules` order, else by rank) of each `key`: the strongest link
/// per referring domain or per anchor.
fn strongest_per(items: &mut Vec<J>, rules: &[(String, bool)], key: impl Fn(&J) -> String) {
    let mut by_rank = std::mem::take(items);
    dfs_filter::sort(
        &mut by_rank,
        &[
            ("rank".to_string(), true),
            ("domain_from_rank".to_string(), true),
            ("url_from".to_string(), false),
        ],
    );
    let mut seen = std::collections::HashSet::new();
    by_rank.retain(|i| seen.insert(key(i)));
    dfs_filter::sort(&mut by_rank, rules);
    *items = by_rank;
}

/// The `backlinks` column behind a `backlinks/live` item field (and the factor for ranks).
fn backlink_column(field: &str) -> Option<(&'static str, i64)> {
    Some(match field {
        "url_from" => ("url_from", 1),
        "url_to" => ("url_to", 1),
        "anchor" => ("anchor", 1),
        "alt" => ("alt", 1),
        "text_pre" => ("text_pre", 1),
        "text_post" => ("text_post", 1),
        "first_seen" => ("first_seen", 1),
        "prev_seen" => ("prev_visited", 1),
        "last_seen" => ("last_visited", 1),
        "rank" | "page_from_rank" => ("ahrefs_rank", 10),
        "domain_from_rank" => ("domain_rating", 10),
        "url_to_status_code" => ("http_code", 1),
        "page_from_title" => ("title", 1),
        "page_from_language" => ("language", 1),
        "page_from_encoding" => ("encoding", 1),
        "page_from_size" => ("page_size", 1),
        "page_from_external_links" => ("links_external", 1),
        "page_from_internal_links" => ("links_internal", 1),
        "domain_from_ip" => ("ip_from", 1),
        "original" => ("original", 1),
        _ => return None,
    })
}

/// A `backlinks/live` item from a `backlinks` row.
fn backlink_item<'a>(get: &dyn Fn(&str) -> Option<&'a Value>) -> J {
    let text = |c: &str| get(c).map(Value::text).unwrap_or_default();
    let int = |c: &str| text(c).parse::<i64>().ok();
    let time = |c: &str| {
        let t = text(c);
        (t.len() >= 19).then(|| format!("{} {} +00:00", &t[..10], &t[11..19]))
    };
    let (from, to) = (text("url_from"), text("url_to"));
    let host = |u: &str| linkdiff_model::url_host(u).to_string();
    let nofollow = text("nofollow") == "true";
    let item_type = match text("link_type").as_str() {
        "href" if text("alt").is_empty() => "anchor",
        "href" => "image",
        other => other,
    }
    .to_string();
    let status = int("http_code");
    json!({
        "type": "backlink",
        "domain_from": host(&from),
        "url_from": from,
        "url_from_https": from.starts_with("https://"),
        "domain_to": host(&to),
        "url_to": to,
        "url_to_https": to.starts_with("https://"),
        "tld_from": host(&from).rsplit('.').next().unwrap_or("").to_string(),
        "is_new": null,
        "is_lost": false,
        "backlink_spam_score": null,
        "rank": int("ahrefs_rank").map(|r| r * 10),
        "page_from_rank": int("ahrefs_rank").map(|r| r * 10),
        "domain_from_rank": int("domain_rating").map(|r| r * 10),
        "domain_from_platform_type": null,
        "domain_from_is_ip": host(&from).parse::<std::net::IpAddr>().is_ok(),
        "domain_from_ip": text("ip_from"),
        "domain_from_country": null,
        "page_from_external_links": int("links_external"),
        "page_from_internal_links": int("links_internal"),
        "page_from_size": int("page_size"),
        "page_from_encoding": text("encoding"),
        "page_from_language": text("language"),
        "page_from_title": text("title"),
        "page_from_status_code": null,
        "first_seen": time("first_seen"),
        "prev_seen": time("prev_visited"),
        "last_seen": time("last_visited"),
        "item_type": item_type,
        "attributes": if nofollow { json!(["nofollow"]) } else { J::Null },
        "dofollow": !nofollow,
        "original": text("original") == "true",
        "alt": Some(text("alt")).filter(|a| !a.is_empty()),
        "image_url": null,
        "anchor": text("anchor"),
        "text_pre": text("text_pre"),
        "text_post": text("text_post"),
        "semantic_location": null,
        "links_count": 1,
        "group_count": null,
        "is_broken": status.is_some_and(|s| s >= 400),
        "url_to_status_code": status.filter(|&s| s != 0),
        "url_to_spam_score": null,
        "url_to_redirect_target": null,
        "ranked_keywords_info": null,
        "is_indirect_link": false,
        "indirect_link_path": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_and_order_translate_to_the_query_language() {
        let text = |t: &str| Some(linkdiff_query::parse_clause(Some(t), "where").unwrap());
        let l = List::ReferringDomains;
        let f = json!([["rank", ">=", 300], "and", ["domain", "like", "%news%"]]);
        assert_eq!(
            l.filters(&f),
            text("domain_rating>=30,substring(refdomain,\"news\")")
        );
        assert_eq!(
            l.filters(&json!(["backlinks", ">", 5])),
            text("backlinks>5")
        );
        assert_eq!(l.filters(&json!([])), text(""));
        assert_eq!(
            l.filters(&json!([["backlinks", ">", 5], "or", ["rank", "<", 1]])),
            None
        );
        assert_eq!(l.filters(&json!(["spam_score", ">", 5])), None);
        assert_eq!(l.filters(&json!(["domain", "like", "news%"])), None);
        assert_eq!(
            l.order(&json!(["backlinks,desc", "domain,asc"])).as_deref(),
            Some("backlinks:desc,refdomain:asc")
        );
        assert_eq!(l.order(&json!(["backlinks,sideways"])), None);
        let a = List::Anchors;
        assert_eq!(
            a.filters(&json!(["first_seen", ">", "2026-01-06 00:00:00 +00:00"])),
            text("first_seen>\"2026-01-06\"")
        );
        let b = List::Backlinks;
        assert_eq!(
            b.filters(&json!(["dofollow", "=", true])),
            text("nofollow=false")
        );
        assert_eq!(
            b.filters(&json!(["anchor", "=", "say \"hi\" \\o/"])),
            text("anchor=\"say \\\"hi\\\" \\\\o/\"")
        );
    }
}
