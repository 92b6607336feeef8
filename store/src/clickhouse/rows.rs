//! Rows of the ClickHouse tables ([`super::schema::TABLES`]) and their conversions from and to
//! the store's records. One struct per table serves both directions (`JSONEachRow`).

use crate::keys::target_key;
use crate::records::{
    DomainRecord, EventKind, EventRecord, LinkRecord, LostReason, Origin, PageRecord, RunRecord,
    TokenRecord,
};
use linkdiff_model::{LinkId, LinkType};
use serde::{Deserialize, Serialize};

/// A link of a page to another registrable domain, live or lost (`links`).
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkRow {
    pub tkey: String,
    pub url_to: String,
    pub url_from: String,
    pub link_type: u8,
    pub anchor: String,
    pub n: u16,
    pub live: u8,
    pub nofollow: u8,
    pub redirect: u16,
    pub alt: String,
    pub text_pre: String,
    pub text_post: String,
    pub first_seen: i64,
    pub streak_start: i64,
    pub before_streak: Option<i64>,
    pub last_seen: i64,
    pub prev_seen: Option<i64>,
    pub original: u8,
    pub external: u8,
    /// Absent from rows an older build left in a worker's outbox.
    #[serde(default)]
    pub rendered: u8,
    #[serde(default)]
    pub ver: u64,
}

impl LinkRow {
    pub fn new(url_from: &str, id: &LinkId, r: &LinkRecord, live: bool) -> LinkRow {
        LinkRow {
            tkey: target_key(&id.url_to),
            url_to: id.url_to.clone(),
            url_from: url_from.to_string(),
            link_type: id.link_type.code(),
            anchor: id.anchor.clone(),
            n: id.n,
            live: live as u8,
            nofollow: r.nofollow as u8,
            redirect: r.redirect,
            alt: r.alt.clone(),
            text_pre: r.text_pre.clone(),
            text_post: r.text_post.clone(),
            first_seen: r.first_seen,
            streak_start: r.streak_start,
            before_streak: r.before_streak,
            last_seen: r.last_seen,
            prev_seen: r.prev_seen,
            original: r.original as u8,
            external: r.external as u8,
            rendered: r.rendered as u8,
            ver: 0,
        }
    }

    pub fn into_record(self) -> (String, LinkId, LinkRecord) {
        let id = LinkId {
            url_to: self.url_to,
            link_type: LinkType::from_code(self.link_type).unwrap_or(LinkType::Href),
            anchor: self.anchor,
            n: self.n,
        };
        let rec = LinkRecord {
            alt: self.alt,
            text_pre: self.text_pre,
            text_post: self.text_post,
            nofollow: self.nofollow != 0,
            redirect: self.redirect,
            first_seen: self.first_seen,
            streak_start: self.streak_start,
            before_streak: self.before_streak,
            last_seen: self.last_seen,
            prev_seen: self.prev_seen,
            original: self.original != 0,
            live: self.live != 0,
            external: self.external != 0,
            rendered: self.rendered != 0,
        };
        (self.url_from, id, rec)
    }
}

/// A new or lost event (`events`); `recovered` is read from the `recovered` table.
#[derive(Debug, Serialize, Deserialize)]
pub struct EventRow {
    pub tkey: String,
    pub url_to: String,
    pub time: i64,
    pub url_from: String,
    pub link_type: u8,
    pub anchor: String,
    pub n: u16,
    pub kind: u8,
    pub origin: u8,
    pub http_code: u16,
    pub links_internal: u32,
    pub links_external: u32,
    pub reason: Option<u8>,
    #[serde(default, skip_serializing)]
    pub recovered: u8,
    #[serde(default)]
    pub ver: u64,
}

impl EventRow {
    pub fn new(e: &EventRecord) -> EventRow {
        EventRow {
            tkey: target_key(&e.url_to),
            url_to: e.url_to.clone(),
            time: e.time,
            url_from: e.url_from.clone(),
            link_type: e.link_type.code(),
            anchor: e.anchor.clone(),
            n: e.n,
            kind: match e.kind {
                EventKind::New => 0,
                EventKind::Lost => 1,
            },
            origin: match e.origin {
                Origin::Fresh => 0,
                Origin::Recrawl => 1,
                Origin::Drop => 2,
            },
            http_code: e.http_code,
            links_internal: e.links_internal,
            links_external: e.links_external,
            reason: e.reason.map(LostReason::code),
            recovered: 0,
            ver: 0,
        }
    }

    pub fn into_record(self) -> EventRecord {
        EventRecord {
            kind: if self.kind == 0 {
                EventKind::New
            } else {
                EventKind::Lost
            },
            origin: match self.origin {
                0 => Origin::Fresh,
                1 => Origin::Recrawl,
                _ => Origin::Drop,
            },
            time: self.time,
            url_from: self.url_from,
            url_to: self.url_to,
            link_type: LinkType::from_code(self.link_type).unwrap_or(LinkType::Href),
            anchor: self.anchor,
            n: self.n,
            http_code: self.http_code,
            links_internal: self.links_internal,
            links_external: self.links_external,
            reason: self.reason.and_then(|c| LostReason::from_code(c as i64)),
            recovered: self.recovered != 0,
        }
    }
}

/// The key of a lost event marked recovered (`recovered`).
#[derive(Debug, Serialize)]
pub struct RecoveredRow {
    pub url_to: String,
    pub time: i64,
    pub url_from: String,
    pub link_type: u8,
    pub anchor: String,
    pub n: u16,
    pub ver: u64,
}

/// A page record without its URL Rating (`pages`; the rating lives in `url_ratings`, written
/// by `rank` alone).
#[derive(Debug, Serialize, Deserialize)]
pub struct PageRow {
    pub url: String,
    pub first_visit: Option<i64>,
    pub last_visit: Option<i64>,
    pub last_ok_visit: Option<i64>,
    pub first_ok_visit: Option<i64>,
    pub prev_ok_visit: Option<i64>,
    pub last_status: u16,
    pub consecutive_failures: u8,
    pub dropped: u8,
    pub title: String,
    pub language: String,
    pub encoding: String,
    pub page_size: u64,
    pub ip: String,
    pub links_internal: u32,
    pub links_external: u32,
    pub depth: u16,
    pub last_run: u64,
    pub broken_since: Option<i64>,
    /// The page's registrable domain (joins `domains` in compiled queries).
    #[serde(default)]
    pub domain: String,
    /// The page's host (referring hosts of DataForSEO's referring-domain counts).
    #[serde(default)]
    pub host: String,
    /// The class C network of its IP (`refdomains` stats), '' when it has none.
    #[serde(default)]
    pub class_c: String,
    /// The page's target key (scopes of `pages_extended`, `metrics`).
    #[serde(default)]
    pub tkey: String,
    #[serde(default, skip_serializing)]
    pub url_rating: u8,
    #[serde(default)]
    pub ver: u64,
}

impl PageRow {
    pub fn new(url: &str, p: &PageRecord) -> PageRow {
        PageRow {
            url: url.to_string(),
            first_visit: p.first_visit,
            last_visit: p.last_visit,
            last_ok_visit: p.last_ok_visit,
            first_ok_visit: p.first_ok_visit,
            prev_ok_visit: p.prev_ok_visit,
            last_status: p.last_status,
            consecutive_failures: p.consecutive_failures,
            dropped: p.dropped as u8,
            title: p.title.clone(),
            language: p.language.clone(),
            encoding: p.encoding.clone(),
            page_size: p.page_size,
            ip: p.ip.clone(),
            links_internal: p.links_internal,
            links_external: p.links_external,
            depth: p.depth,
            last_run: p.last_run,
            broken_since: p.broken_since,
            domain: linkdiff_model::registrable_domain(linkdiff_model::url_host(url)).to_string(),
            host: linkdiff_model::url_host(url).to_string(),
            class_c: linkdiff_model::class_c(&p.ip).unwrap_or_default(),
            tkey: target_key(url),
            url_rating: 0,
            ver: 0,
        }
    }

    pub fn into_record(self) -> (String, PageRecord) {
        let p = PageRecord {
            first_visit: self.first_visit,
            last_visit: self.last_visit,
            last_ok_visit: self.last_ok_visit,
            first_ok_visit: self.first_ok_visit,
            prev_ok_visit: self.prev_ok_visit,
            last_status: self.last_status,
            consecutive_failures: self.consecutive_failures,
            dropped: self.dropped != 0,
            title: self.title,
            language: self.language,
            encoding: self.encoding,
            page_size: self.page_size,
            ip: self.ip,
            links_internal: self.links_internal,
            links_external: self.links_external,
            url_rating: self.url_rating,
            depth: self.depth,
            last_run: self.last_run,
            broken_since: self.broken_since,
        };
        (self.url, p)
    }
}

/// A rating as it became on a day (`ratings`): the rating history.
#[derive(Debug, Serialize, Deserialize)]
pub struct RatingRow {
    pub kind: u8,
    pub name: String,
    pub day: i64,
    pub rating: u8,
    #[serde(default)]
    pub ver: u64,
}

/// A page's URL Rating (`url_ratings`).
#[derive(Debug, Serialize)]
pub struct UrlRatingRow {
    pub url: String,
    pub url_rating: u8,
    pub ver: u64,
}

/// A page's live followed link targets, the rank's edges (`linksets`).
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkSetRow {
    pub url_from: String,
    pub targets: Vec<String>,
    #[serde(default)]
    pub ver: u64,
}

impl LinkSetRow {
    pub fn new(url_from: &str, links: &[(LinkId, LinkRecord)]) -> LinkSetRow {
        let mut targets: Vec<String> = links
            .iter()
            .filter(|(_, r)| r.live && !r.nofollow)
            .map(|(id, _)| id.url_to.clone())
            .collect();
        targets.sort_unstable();
        targets.dedup();
        LinkSetRow {
            url_from: url_from.to_string(),
            targets,
            ver: 0,
        }
    }
}

/// A registrable domain's ranks (`domains`).
#[derive(Debug, Serialize, Deserialize)]
pub struct DomainRow {
    pub name: String,
    pub domain_rating: u8,
    pub raw: f64,
    pub ahrefs_top: u64,
    /// 0: computed over the crawl; else [`crate::RankSource::code`].
    #[serde(default)]
    pub source: u8,
    #[serde(default)]
    pub ver: u64,
}

impl DomainRow {
    pub fn new(name: &str, d: &DomainRecord) -> DomainRow {
        DomainRow {
            name: name.to_string(),
            domain_rating: d.domain_rating,
            raw: d.raw,
            ahrefs_top: d.ahrefs_top,
            source: d.source.map_or(0, |s| s.code()),
            ver: 0,
        }
    }

    pub fn into_record(self) -> (String, DomainRecord) {
        let d = DomainRecord {
            domain_rating: self.domain_rating,
            raw: self.raw,
            ahrefs_top: self.ahrefs_top,
            source: crate::RankSource::from_code(self.source),
        };
        (self.name, d)
    }
}

/// A meta value; `deleted` rows hide earlier ones (`meta`).
#[derive(Debug, Serialize, Deserialize)]
pub struct MetaRow {
    pub name: String,
    pub value: String,
    pub deleted: u8,
    #[serde(default)]
    pub ver: u64,
}

/// A run of one worker (`runs`; `worker` is empty for a single process).
#[derive(Debug, Serialize, Deserialize)]
pub struct RunRow {
    pub worker: String,
    pub id: u64,
    pub as_of: i64,
    pub started: i64,
    pub finished: Option<i64>,
    pub fetched: u64,
    pub new_pages: u64,
    pub errors: u64,
    pub bytes: u64,
    pub error_kinds: String,
    pub config: String,
    #[serde(default)]
    pub ver: u64,
}

impl RunRow {
    pub fn new(worker: &str, r: &RunRecord) -> RunRow {
        RunRow {
            worker: worker.to_string(),
            id: r.id,
            as_of: r.as_of,
            started: r.started,
            finished: r.finished,
            fetched: r.fetched,
            new_pages: r.new_pages,
            errors: r.errors,
            bytes: r.bytes,
            error_kinds: serde_json::to_string(&r.error_kinds).unwrap_or_default(),
            config: r.config.clone(),
            ver: 0,
        }
    }

    pub fn into_record(self) -> RunRecord {
        RunRecord {
            id: self.id,
            as_of: self.as_of,
            started: self.started,
            finished: self.finished,
            fetched: self.fetched,
            new_pages: self.new_pages,
            errors: self.errors,
            bytes: self.bytes,
            error_kinds: serde_json::from_str(&self.error_kinds).unwrap_or_default(),
            config: self.config,
        }
    }
}

/// An API token; `deleted` rows hide earlier ones (`tokens`).
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenRow {
    pub name: String,
    pub hash: String,
    pub rows_limit: u64,
    pub centirows_left: u64,
    pub created: i64,
    pub deleted: u8,
    #[serde(default)]
    pub ver: u64,
}

impl TokenRow {
    pub fn new(name: &str, t: &TokenRecord) -> TokenRow {
        TokenRow {
            name: name.to_string(),
            hash: t.hash.clone(),
            rows_limit: t.rows_limit,
            centirows_left: t.centirows_left,
            created: t.created,
            deleted: 0,
            ver: 0,
        }
    }

    pub fn into_record(self) -> (String, TokenRecord) {
        let t = TokenRecord {
            hash: self.hash,
            rows_limit: self.rows_limit,
            centirows_left: self.centirows_left,
            created: self.created,
        };
        (self.name, t)
    }
}
