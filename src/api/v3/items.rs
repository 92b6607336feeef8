//! v3 items from the index's rows: a backlink as Site Explorer's `all-backlinks` names its
//! fields, and the referring-domain and anchor groups built from those backlinks. A field a
//! self-hosted index cannot know (traffic, keywords, spam scores, page categories…) is
//! `null`, never invented.

use linkdiff_model::{registrable_domain, url_host};
use linkdiff_query::{QueryResult, Value};
use serde_json::{json, Map, Value as J};
use std::collections::{BTreeMap, BTreeSet};

/// Every field of an `all-backlinks` item, in the SDK's order.
pub const BACKLINK_FIELDS: &[&str] = &[
    "ahrefs_rank_source",
    "ahrefs_rank_target",
    "alt",
    "anchor",
    "broken_redirect_new_target",
    "broken_redirect_reason",
    "broken_redirect_source",
    "class_c",
    "discovered_status",
    "domain_rating_source",
    "domain_rating_target",
    "drop_reason",
    "encoding",
    "first_seen",
    "first_seen_link",
    "http_code",
    "http_crawl",
    "ip_source",
    "is_alternate",
    "is_canonical",
    "is_content",
    "is_dofollow",
    "is_form",
    "is_frame",
    "is_image",
    "is_lost",
    "is_new",
    "is_nofollow",
    "is_redirect",
    "is_redirect_lost",
    "is_root_source",
    "is_root_target",
    "is_rss",
    "is_spam",
    "is_sponsored",
    "is_text",
    "is_ugc",
    "js_crawl",
    "languages",
    "last_seen",
    "last_visited",
    "link_group_count",
    "link_type",
    "linked_domains_source_domain",
    "linked_domains_source_page",
    "linked_domains_target_domain",
    "links_external",
    "links_internal",
    "lost_reason",
    "name_source",
    "name_target",
    "noindex",
    "page_category_source",
    "page_size",
    "page_type_source",
    "port_source",
    "port_target",
    "positions",
    "powered_by",
    "redirect_code",
    "redirect_kind",
    "refdomains_source",
    "refdomains_source_domain",
    "refdomains_target_domain",
    "root_name_source",
    "root_name_target",
    "snippet_left",
    "snippet_right",
    "source_page_author",
    "source_page_publish_date",
    "title",
    "tld_class_source",
    "tld_class_target",
    "traffic",
    "traffic_domain",
    "url_from",
    "url_from_plain",
    "url_rating_source",
    "url_redirect",
    "url_redirect_with_target",
    "url_to",
    "url_to_plain",
];

/// Every field of a `broken-backlinks` item.
pub const BROKEN_FIELDS: &[&str] = &[
    "ahrefs_rank_source",
    "ahrefs_rank_target",
    "alt",
    "anchor",
    "class_c",
    "domain_rating_source",
    "domain_rating_target",
    "encoding",
    "first_seen",
    "first_seen_link",
    "http_code",
    "http_code_target",
    "http_crawl",
    "ip_source",
    "is_alternate",
    "is_canonical",
    "is_content",
    "is_dofollow",
    "is_form",
    "is_frame",
    "is_image",
    "is_nofollow",
    "is_redirect",
    "is_root_source",
    "is_root_target",
    "is_rss",
    "is_spam",
    "is_sponsored",
    "is_text",
    "is_ugc",
    "js_crawl",
    "languages",
    "last_seen",
    "last_visited",
    "last_visited_target",
    "link_group_count",
    "link_type",
    "linked_domains_source_domain",
    "linked_domains_source_page",
    "linked_domains_target_domain",
    "links_external",
    "links_internal",
    "name_source",
    "name_target",
    "page_category_source",
    "page_size",
    "page_type_source",
    "port_source",
    "port_target",
    "positions",
    "powered_by",
    "redirect_code",
    "redirect_kind",
    "refdomains_source",
    "refdomains_source_domain",
    "refdomains_target_domain",
    "root_name_source",
    "root_name_target",
    "snippet_left",
    "snippet_right",
    "source_page_author",
    "title",
    "tld_class_source",
    "tld_class_target",
    "traffic",
    "traffic_domain",
    "url_from",
    "url_from_plain",
    "url_rating_source",
    "url_redirect",
    "url_redirect_with_target",
    "url_to",
    "url_to_plain",
];

/// Every field of a `refdomains` item.
pub const REFDOMAIN_FIELDS: &[&str] = &[
    "dofollow_linked_domains",
    "dofollow_links",
    "dofollow_refdomains",
    "domain",
    "domain_rating",
    "first_seen",
    "ip_source",
    "is_root_domain",
    "is_spam",
    "last_seen",
    "links_to_target",
    "lost_links",
    "new_links",
    "positions_source_domain",
    "traffic_domain",
];

/// Every field of an `anchors` item.
pub const ANCHOR_FIELDS: &[&str] = &[
    "anchor",
    "dofollow_links",
    "first_seen",
    "is_spam",
    "last_seen",
    "links_to_target",
    "lost_links",
    "new_links",
    "refdomains",
    "refpages",
    "top_domain_rating",
];

/// v2 `backlinks` columns a backlink item is built from.
pub const BACKLINK_COLUMNS: &str = "url_from,url_to,ahrefs_rank,domain_rating,ip_from,links_internal,links_external,page_size,encoding,language,title,first_seen,last_visited,link_type,redirect,nofollow,alt,anchor,text_pre,text_post,url_from_first_seen,rendered";

/// v2 `backlinks_new_lost` columns a lost backlink item is built from.
pub const LOST_COLUMNS: &str = "date,type,url_from,url_to,ahrefs_rank,domain_rating,links_internal,links_external,encoding,title,first_seen,last_visited,link_type,redirect,nofollow,alt,anchor,text_pre,text_post,reason,rendered";

/// A time as v3 writes it (`2026-01-05T12:00:00Z`), or null.
fn time(v: Option<&Value>) -> J {
    match v {
        Some(Value::Time(Some(t))) => J::from(linkdiff_query::time::iso(*t)),
        Some(Value::Date(t)) => J::from(format!("{}T00:00:00Z", linkdiff_query::time::date(*t))),
        _ => J::Null,
    }
}

fn port(url: &str) -> J {
    match url::Url::parse(url) {
        Ok(u) => u.port_or_known_default().map_or(J::Null, J::from),
        Err(_) => J::Null,
    }
}

fn plain(url: &str) -> String {
    url.split_once("://").map_or(url, |(_, r)| r).to_string()
}

/// The v3 `link_type` of a v2 link type and alt text: `text` for an href, `image` for an href
/// around an image.
fn link_type(v2: &str, has_image: bool) -> &'static str {
    match v2 {
        "href" if has_image => "image",
        "href" => "text",
        "redirect" => "redirect",
        "frame" => "frame",
        "form" => "form",
        "canonical" => "canonical",
        "rss" => "rss",
        _ => "alternate",
    }
}

/// Where each v2 column is in a result (looked up once per result, not per cell).
pub struct Columns<'a> {
    r: &'a QueryResult,
    at: Vec<(&'static str, usize)>,
}

impl<'a> Columns<'a> {
    /// The columns of `r`.
    pub fn of(r: &'a QueryResult) -> Columns<'a> {
        Columns {
            r,
            at: r
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name, i))
                .collect(),
        }
    }

    fn get<'r>(&self, row: &'r [Value], name: &str) -> Option<&'r Value> {
        self.at
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, i)| &row[*i])
    }

    /// The rows of the result.
    pub fn rows(&self) -> &'a [Vec<Value>] {
        &self.r.rows
    }
}

/// The fields every list needs whatever is selected: a link's identity (live and lost rows of
/// one link), the grouping keys and what picks the strongest link of a group.
pub const ALWAYS: &[&str] = &[
    "url_from",
    "url_to",
    "link_type",
    "anchor",
    "is_lost",
    "last_seen",
    "first_seen_link",
    "root_name_source",
    "domain_rating_source",
    "url_rating_source",
    "is_dofollow",
    "ip_source",
];

/// An `all-backlinks` item with `fields` (in that order) from a row of a v2 `backlinks` or
/// `backlinks_new_lost` answer; `lost` marks a lost link (its row's `date` is when). Only the
/// fields asked for are computed: a page of 1,000 items is read in the time of its query.
pub fn backlink(c: &Columns<'_>, row: &[Value], lost: bool, fields: &[&str]) -> J {
    let get = |name: &str| c.get(row, name);
    let text = |n: &str| get(n).map(Value::text).unwrap_or_default();
    let int = |n: &str| match get(n) {
        Some(Value::Int(i)) => J::from(*i),
        _ => J::Null,
    };
    let rating = |n: &str| match get(n) {
        Some(Value::Int(i)) => J::from(*i as f64),
        _ => J::Null,
    };
    let url_from = || text("url_from");
    let url_to = || text("url_to");
    let host = |u: String| url_host(&u).to_ascii_lowercase();
    let root = |u: String| registrable_domain(&host(u)).to_string();
    let lt = || link_type(&text("link_type"), !text("alt").is_empty());
    let nofollow = || matches!(get("nofollow"), Some(Value::Bool(true)));
    let rendered = || matches!(get("rendered"), Some(Value::Bool(true)));
    let reason = || {
        get("reason")
            .map(Value::text)
            .filter(|r| lost && !r.is_empty())
    };
    let mut m = Map::with_capacity(fields.len());
    for f in fields {
        let v = match *f {
            "alt" => J::from(text("alt")),
            "anchor" => J::from(text("anchor")),
            "domain_rating_source" => rating("domain_rating"),
            "encoding" => J::from(text("encoding")),
            "first_seen" => time(get("url_from_first_seen")),
            "first_seen_link" => time(get("first_seen")),
            // Found in the page's HTML as fetched, or only in the DOM a browser rendered
            // (`crawl --render`).
            "http_crawl" => J::Bool(!rendered()),
            "js_crawl" => J::Bool(rendered()),
            "ip_source" => get("ip_from").map_or(J::Null, |v| J::from(v.text())),
            "is_alternate" => J::Bool(lt() == "alternate"),
            "is_canonical" => J::Bool(lt() == "canonical"),
            "is_dofollow" => J::Bool(!nofollow()),
            "is_form" => J::Bool(lt() == "form"),
            "is_frame" => J::Bool(lt() == "frame"),
            "is_image" => J::Bool(lt() == "image"),
            "is_lost" => J::Bool(lost),
            "is_nofollow" => J::Bool(nofollow()),
            "is_redirect" => J::Bool(lt() == "redirect"),
            "is_root_source" => J::Bool(host(url_from()) == root(url_from())),
            "is_root_target" => J::Bool(host(url_to()) == root(url_to())),
            "is_rss" => J::Bool(lt() == "rss"),
            "is_text" => J::Bool(matches!(lt(), "text" | "image")),
            "languages" => match text("language") {
                l if l.is_empty() => json!([]),
                l => json!([l]),
            },
            "last_seen" if lost => time(get("date")),
            "last_visited" => time(get("last_visited")),
            "link_type" => J::from(lt()),
            "links_external" => int("links_external"),
            "links_internal" => int("links_internal"),
            // v3 has seven lost reasons; a link lost because robots.txt now disallows its
            // page is what v3 calls dropped as `disallowed`.
            "lost_reason" => match reason() {
                Some(r) if r != "robotsblocked" => J::from(r),
                _ => J::Null,
            },
            "drop_reason" => match reason() {
                Some(r) if r == "robotsblocked" => J::from("disallowed"),
                _ => J::Null,
            },
            "name_source" => J::from(host(url_from())),
            "name_target" => J::from(host(url_to())),
            "page_size" => int("page_size"),
            "port_source" => port(&url_from()),
            "port_target" => port(&url_to()),
            "redirect_code" => match get("redirect") {
                Some(Value::Int(c)) if *c > 0 => J::from(*c),
                _ => J::Null,
            },
            "root_name_source" => J::from(root(url_from())),
            "root_name_target" => J::from(root(url_to())),
            "snippet_left" => J::from(text("text_pre")),
            "snippet_right" => J::from(text("text_post")),
            "title" => J::from(text("title")),
            "url_from" => J::from(url_from()),
            "url_from_plain" => J::from(plain(&url_from())),
            "url_rating_source" => rating("ahrefs_rank"),
            "url_to" => J::from(url_to()),
            "url_to_plain" => J::from(plain(&url_to())),
            _ => J::Null,
        };
        m.insert((*f).to_string(), v);
    }
    J::Object(m)
}

/// What grouping reads of a live backlink row without building its item: its identity (as
/// [`identity`] gives it), its `similar_links` key (as `similar::similar_key` gives it) and
/// its strength (`domain_rating_source`, then `url_rating_source`).
pub fn row_grouping(
    c: &Columns<'_>,
    row: &[Value],
) -> ((String, String, String, String), String, (f64, f64)) {
    let text = |n: &str| c.get(row, n).map(Value::text).unwrap_or_default();
    let rating = |n: &str| match c.get(row, n) {
        Some(Value::Int(i)) => *i as f64,
        _ => 0.0,
    };
    let (from, to, anchor) = (text("url_from"), text("url_to"), text("anchor"));
    let lt = link_type(&text("link_type"), !text("alt").is_empty()).to_string();
    let root = registrable_domain(&url_host(&from).to_ascii_lowercase()).to_string();
    let key = format!("{root}\0{to}\0{lt}\0{anchor}");
    (
        (from, to, lt, anchor),
        key,
        (rating("domain_rating"), rating("ahrefs_rank")),
    )
}

/// The identity of a backlink across its live and lost rows.
pub fn identity(item: &J) -> (String, String, String, String) {
    let s = |k: &str| item[k].as_str().unwrap_or("").to_string();
    (s("url_from"), s("url_to"), s("link_type"), s("anchor"))
}

fn str_of<'a>(item: &'a J, k: &str) -> &'a str {
    item[k].as_str().unwrap_or("")
}

/// Groups of backlink items (live and lost) by a key, summed as the `refdomains` and
/// `anchors` items count them: live links, dofollow live links, lost links, first seen, and
/// when the last live link went (null while one is live).
#[derive(Default)]
struct Group {
    live: u64,
    dofollow: u64,
    lost: u64,
    first_seen: Option<String>,
    last_lost: Option<String>,
    pages: BTreeSet<String>,
    domains: BTreeSet<String>,
    top_rating: Option<f64>,
    ip: Option<String>,
}

fn groups(items: &[J], key: &str) -> BTreeMap<String, Group> {
    let mut out: BTreeMap<String, Group> = BTreeMap::new();
    for i in items {
        let g = out.entry(str_of(i, key).to_string()).or_default();
        let lost = i["is_lost"].as_bool() == Some(true);
        if lost {
            g.lost += 1;
            let at = str_of(i, "last_seen").to_string();
            if g.last_lost.as_ref().is_none_or(|l| *l < at) {
                g.last_lost = Some(at);
            }
        } else {
            g.live += 1;
            g.dofollow += u64::from(i["is_dofollow"].as_bool() == Some(true));
            g.pages.insert(str_of(i, "url_from").to_string());
            g.domains.insert(str_of(i, "root_name_source").to_string());
            let dr = i["domain_rating_source"].as_f64();
            if dr > g.top_rating || g.top_rating.is_none() {
                g.top_rating = dr;
                g.ip = i["ip_source"].as_str().map(str::to_string);
            }
        }
        let seen = str_of(i, "first_seen_link").to_string();
        if !seen.is_empty() && g.first_seen.as_ref().is_none_or(|f| seen < *f) {
            g.first_seen = Some(seen);
        }
    }
    out
}

/// `refdomains` items from backlink items: one per referring registrable domain.
pub fn refdomains(items: &[J]) -> Vec<J> {
    groups(items, "root_name_source")
        .into_iter()
        .map(|(domain, g)| {
            json!({
                "dofollow_linked_domains": null,
                "dofollow_links": g.dofollow,
                "dofollow_refdomains": null,
                "domain": domain,
                "domain_rating": g.top_rating,
                "first_seen": g.first_seen,
                "ip_source": g.ip,
                "is_root_domain": true,
                "is_spam": null,
                "last_seen": if g.live == 0 { g.last_lost } else { None },
                "links_to_target": g.live,
                "lost_links": g.lost,
                "new_links": null,
                "positions_source_domain": null,
                "traffic_domain": null,
            })
        })
        .collect()
}

/// `anchors` items from backlink items: one per anchor text.
pub fn anchors(items: &[J]) -> Vec<J> {
    groups(items, "anchor")
        .into_iter()
        .map(|(anchor, g)| {
            json!({
                "anchor": anchor,
                "dofollow_links": g.dofollow,
                "first_seen": g.first_seen,
                "is_spam": null,
                "last_seen": if g.live == 0 { g.last_lost } else { None },
                "links_to_target": g.live,
                "lost_links": g.lost,
                "new_links": null,
                "refdomains": g.domains.len(),
                "refpages": g.pages.len(),
                "top_domain_rating": g.top_rating,
            })
        })
        .collect()
}

/// Every field of a `pages-by-backlinks` item.
pub const PAGE_FIELDS: &[&str] = &[
    "dofollow_to_target",
    "first_seen_link",
    "http_code_target",
    "is_spam",
    "languages_target",
    "last_seen",
    "last_visited_source",
    "last_visited_target",
    "links_to_target",
    "lost_links_to_target",
    "new_links_to_target",
    "nofollow_to_target",
    "powered_by_target",
    "redirects_to_target",
    "refdomains_target",
    "target_redirect",
    "title_target",
    "top_domain_rating_source",
    "url_rating_target",
    "url_to",
    "url_to_plain",
];

/// `pages-by-backlinks` items from backlink items: one per page of the target that has
/// backlinks, with what the index knows of the page itself (`page` looks its record up).
pub fn pages(items: &[J], page: impl Fn(&str) -> Option<linkdiff_store::PageRecord>) -> Vec<J> {
    let mut by_url: BTreeMap<String, (Group, u64, u64, Option<String>)> = BTreeMap::new();
    for (url, g) in groups(items, "url_to") {
        by_url.insert(url, (g, 0, 0, None));
    }
    for i in items
        .iter()
        .filter(|i| i["is_lost"].as_bool() != Some(true))
    {
        if let Some(e) = by_url.get_mut(str_of(i, "url_to")) {
            e.1 += u64::from(i["is_dofollow"].as_bool() == Some(false));
            e.2 += u64::from(str_of(i, "link_type") == "redirect");
            let v = str_of(i, "last_visited").to_string();
            if !v.is_empty() && e.3.as_ref().is_none_or(|l| *l < v) {
                e.3 = Some(v);
            }
        }
    }
    by_url
        .into_iter()
        .map(|(url, (g, nofollow, redirects, visited))| {
            let rec = page(&url);
            let rec = rec.as_ref();
            json!({
                "dofollow_to_target": g.dofollow,
                "first_seen_link": g.first_seen,
                "http_code_target": rec.filter(|r| r.last_visit.is_some()).map(|r| r.last_status),
                "is_spam": null,
                "languages_target": rec.map(|r| if r.language.is_empty() { vec![] } else { vec![r.language.clone()] }),
                "last_seen": if g.live == 0 { g.last_lost } else { None },
                "last_visited_source": visited,
                "last_visited_target": rec.and_then(|r| r.last_visit).map(linkdiff_query::time::iso),
                "links_to_target": g.live,
                "lost_links_to_target": g.lost,
                "new_links_to_target": null,
                "nofollow_to_target": nofollow,
                "powered_by_target": null,
                "redirects_to_target": redirects,
                "refdomains_target": g.domains.len(),
                "target_redirect": null,
                "title_target": rec.filter(|r| r.last_visit.is_some()).map(|r| r.title.clone()),
                "top_domain_rating_source": g.top_rating,
                "url_rating_target": rec.filter(|r| r.last_visit.is_some()).map(|r| r.url_rating as f64),
                "url_to_plain": plain(&url),
                "url_to": url,
            })
        })
        .collect()
}
