//! Values stored under the keys of [`crate::keys`]. Times are Unix seconds, UTC.

use serde::{Deserialize, Serialize};

/// What the index knows about one URL that was fetched (or queued and then fetched).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    /// Time of the first visit (any outcome).
    pub first_visit: Option<i64>,
    /// Time of the latest visit (any outcome).
    pub last_visit: Option<i64>,
    /// Time of the latest successful visit, whose links are the page's current link set.
    pub last_ok_visit: Option<i64>,
    /// Time of the first successful visit that recorded links (`url_from_first_seen`).
    pub first_ok_visit: Option<i64>,
    /// Time of the successful visit before `last_ok_visit`.
    pub prev_ok_visit: Option<i64>,
    /// Last HTTP status (0 = network error or not fetched).
    pub last_status: u16,
    /// Consecutive runs whose fetch failed (5xx, timeout, connection error).
    pub consecutive_failures: u8,
    /// The page was dropped (404/410, robots, repeated failures, now a redirect).
    pub dropped: bool,
    /// `<title>`.
    pub title: String,
    /// ISO 639-1 language.
    pub language: String,
    /// Encoding name as reported by the extractor.
    pub encoding: String,
    /// Body size in bytes after decompression.
    pub page_size: u64,
    /// Address connected to.
    pub ip: String,
    /// href links to the same registrable domain.
    pub links_internal: u32,
    /// href links to another registrable domain.
    pub links_external: u32,
    /// URL Rating, 0–100.
    pub url_rating: u8,
    /// Link hops from a seed when first queued.
    pub depth: u16,
    /// Run that last visited the page (drives resume: a page visited in the current run is done).
    pub last_run: u64,
    /// Time of the first visit of the current broken streak (404/410, other 4xx, 5xx, network
    /// failure), `None` while the page answers (`broken_backlinks.broken_at`).
    pub broken_since: Option<i64>,
}

/// [`PageRecord`] as sled stored it before `broken_since` (format 2): read and converted,
/// rewritten in the new form by the page's next visit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PageRecordV2 {
    pub first_visit: Option<i64>,
    pub last_visit: Option<i64>,
    pub last_ok_visit: Option<i64>,
    pub first_ok_visit: Option<i64>,
    pub prev_ok_visit: Option<i64>,
    pub last_status: u16,
    pub consecutive_failures: u8,
    pub dropped: bool,
    pub title: String,
    pub language: String,
    pub encoding: String,
    pub page_size: u64,
    pub ip: String,
    pub links_internal: u32,
    pub links_external: u32,
    pub url_rating: u8,
    pub depth: u16,
    pub last_run: u64,
}

impl From<PageRecordV2> for PageRecord {
    fn from(o: PageRecordV2) -> PageRecord {
        PageRecord {
            first_visit: o.first_visit,
            last_visit: o.last_visit,
            last_ok_visit: o.last_ok_visit,
            first_ok_visit: o.first_ok_visit,
            prev_ok_visit: o.prev_ok_visit,
            last_status: o.last_status,
            consecutive_failures: o.consecutive_failures,
            dropped: o.dropped,
            title: o.title,
            language: o.language,
            encoding: o.encoding,
            page_size: o.page_size,
            ip: o.ip,
            links_internal: o.links_internal,
            links_external: o.links_external,
            url_rating: o.url_rating,
            depth: o.depth,
            last_run: o.last_run,
            // Unknown for pages last visited by an older build: known from their next visit.
            broken_since: None,
        }
    }
}

/// One link occurrence on a referring page, with its history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// Alt of the image inside the link.
    pub alt: String,
    /// Visible text before the element.
    pub text_pre: String,
    /// Visible text after the element.
    pub text_post: String,
    /// rel nofollow/ugc/sponsored or page-level nofollow.
    pub nofollow: bool,
    /// 3xx code for HTTP redirects, 0 otherwise.
    pub redirect: u16,
    /// First visit at which the link was present.
    pub first_seen: i64,
    /// First visit of the current (or, for a dead link, the last) run of consecutive visits at
    /// which the link was present.
    pub streak_start: i64,
    /// Latest visit with the link before that run (`None` during the first run).
    pub before_streak: Option<i64>,
    /// Dead links: the last visit at which the link was present (live links: derived).
    pub last_seen: i64,
    /// Dead links: the visit with the link before `last_seen` (live links: derived).
    pub prev_seen: Option<i64>,
    /// Present on the first visit of the referring page.
    pub original: bool,
    /// Present on the latest successful visit (false once lost; kept for `first_seen`).
    pub live: bool,
    /// Points to another registrable domain.
    pub external: bool,
    /// Found only in the rendered DOM at the latest visit that had it (not in the HTML).
    pub rendered: bool,
}

/// [`LinkRecord`] as stored before `rendered` (link-set format 1): read and converted (not
/// rendered), rewritten in the new form when its page's link set next changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct LinkRecordV1 {
    pub alt: String,
    pub text_pre: String,
    pub text_post: String,
    pub nofollow: bool,
    pub redirect: u16,
    pub first_seen: i64,
    pub streak_start: i64,
    pub before_streak: Option<i64>,
    pub last_seen: i64,
    pub prev_seen: Option<i64>,
    pub original: bool,
    pub live: bool,
    pub external: bool,
}

impl From<LinkRecordV1> for LinkRecord {
    fn from(o: LinkRecordV1) -> LinkRecord {
        LinkRecord {
            alt: o.alt,
            text_pre: o.text_pre,
            text_post: o.text_post,
            nofollow: o.nofollow,
            redirect: o.redirect,
            first_seen: o.first_seen,
            streak_start: o.streak_start,
            before_streak: o.before_streak,
            last_seen: o.last_seen,
            prev_seen: o.prev_seen,
            original: o.original,
            live: o.live,
            external: o.external,
            rendered: false,
        }
    }
}

impl LinkRecord {
    /// `(last_visited, prev_visited)`: the latest and second-latest visits at which the link
    /// was present. A live link is on every successful visit since `streak_start`, so these
    /// come from the page's visit times and the record need not change on every visit.
    pub fn visits(&self, page: &PageRecord) -> (i64, Option<i64>) {
        if !self.live {
            return (self.last_seen, self.prev_seen);
        }
        let last = page.last_ok_visit.unwrap_or(self.streak_start);
        let prev = if self.streak_start < last {
            page.prev_ok_visit.map(|p| p.max(self.streak_start))
        } else {
            self.before_streak
        };
        (last, prev)
    }
}

/// Type of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// The link appeared.
    New,
    /// The link disappeared.
    Lost,
}

impl EventKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::New => "new",
            EventKind::Lost => "lost",
        }
    }
}

/// Why an event happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// Found on the referring page's first visit.
    Fresh,
    /// Found by diffing two visits.
    Recrawl,
    /// The referring page left the index.
    Drop,
}

impl Origin {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Fresh => "fresh",
            Origin::Recrawl => "recrawl",
            Origin::Drop => "drop",
        }
    }
}

/// Why a link was lost, named as Ahrefs API v3's lost reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LostReason {
    /// The page answered 200 and the link is no longer in it.
    RemovedFromHtml,
    /// The page answered 404 or 410.
    NotFound,
    /// The page (content before) now redirects.
    PageRedirected,
    /// The page failed (5xx, other 4xx, timeouts) for the runs that drop it.
    PageError,
    /// The page says noindex (meta robots or `X-Robots-Tag`).
    Noindex,
    /// The page now canonicalises to another URL.
    NotCanonical,
    /// robots.txt now disallows the page.
    RobotsBlocked,
    /// A redirect link whose target changed.
    LostRedirect,
}

impl LostReason {
    /// Every reason, in code order.
    pub const ALL: [LostReason; 8] = [
        LostReason::RemovedFromHtml,
        LostReason::NotFound,
        LostReason::PageRedirected,
        LostReason::PageError,
        LostReason::Noindex,
        LostReason::NotCanonical,
        LostReason::RobotsBlocked,
        LostReason::LostRedirect,
    ];

    /// Wire name (`removedfromhtml`, `notfound`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LostReason::RemovedFromHtml => "removedfromhtml",
            LostReason::NotFound => "notfound",
            LostReason::PageRedirected => "pageredirected",
            LostReason::PageError => "pageerror",
            LostReason::Noindex => "noindex",
            LostReason::NotCanonical => "notcanonical",
            LostReason::RobotsBlocked => "robotsblocked",
            LostReason::LostRedirect => "lostredirect",
        }
    }

    /// Stored code (SQLite `events.reason`).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`LostReason::code`].
    pub fn from_code(c: i64) -> Option<LostReason> {
        usize::try_from(c)
            .ok()
            .and_then(|c| LostReason::ALL.get(c).copied())
    }
}

/// A new or lost event. Link attributes (dates, nofollow, alt, context) and page title and
/// encoding are joined from the current link and page records at query time; what only the
/// event knows (when, why, and the referring page's status and link counts then) is here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// New or lost.
    pub kind: EventKind,
    /// fresh / recrawl / drop.
    pub origin: Origin,
    /// Visit time that detected it.
    pub time: i64,
    /// Referring page.
    pub url_from: String,
    /// Target URL.
    pub url_to: String,
    /// Link type.
    pub link_type: linkdiff_model::LinkType,
    /// Anchor.
    pub anchor: String,
    /// Occurrence number of the link on the page.
    pub n: u16,
    /// Referring page status at the event.
    pub http_code: u16,
    /// Referring page internal link count at the event.
    pub links_internal: u32,
    /// Referring page external link count at the event.
    pub links_external: u32,
    /// Why a lost link was lost (`None` for new events, and for lost events recorded before
    /// reasons were).
    pub reason: Option<LostReason>,
    /// A lost event whose link came back at the page's next visit after a `pageerror` drop:
    /// the return emitted no new event, and this loss is marked instead.
    pub recovered: bool,
}

/// [`EventRecord`] as sled stored it before `reason`: read and converted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventRecordV2 {
    pub kind: EventKind,
    pub origin: Origin,
    pub time: i64,
    pub url_from: String,
    pub url_to: String,
    pub link_type: linkdiff_model::LinkType,
    pub anchor: String,
    pub n: u16,
    pub http_code: u16,
    pub links_internal: u32,
    pub links_external: u32,
}

impl From<EventRecordV2> for EventRecord {
    fn from(o: EventRecordV2) -> EventRecord {
        EventRecord {
            kind: o.kind,
            origin: o.origin,
            time: o.time,
            url_from: o.url_from,
            url_to: o.url_to,
            link_type: o.link_type,
            anchor: o.anchor,
            n: o.n,
            http_code: o.http_code,
            links_internal: o.links_internal,
            links_external: o.links_external,
            reason: None,
            recovered: false,
        }
    }
}

impl EventRecord {
    /// The identity of the link the event is about.
    pub fn link_id(&self) -> linkdiff_model::LinkId {
        linkdiff_model::LinkId {
            url_to: self.url_to.clone(),
            link_type: self.link_type,
            anchor: self.anchor.clone(),
            n: self.n,
        }
    }
}

/// What a rating-history entry rates: a registrable domain (Domain Rating), a page (URL
/// Rating), or a domain's rating imported from a list made outside the crawl
/// (`linkdiff ranks import`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RatingKind {
    /// `domain_rating` of a registrable domain.
    Domain,
    /// `url_rating` of a page.
    Url,
    /// A registrable domain's (or its `www.` host's) rating from an imported ranks list, as
    /// of the day it was imported.
    Imported(RankSource),
}

impl RatingKind {
    /// Stored code (SQLite `ratings.kind`, ClickHouse, sled keys).
    pub fn code(self) -> u8 {
        match self {
            RatingKind::Domain => 0,
            RatingKind::Url => 1,
            RatingKind::Imported(s) => 1 + s.code(),
        }
    }
}

/// Meta key `linkdiff ranks import` writes with its last batch (what was imported): `rank`
/// looks imported ratings up only in an index that has one.
pub const RANKS_IMPORTED: &str = "ranks_imported";

/// Where an imported rating came from: the list formats `linkdiff ranks import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RankSource {
    /// Common Crawl's web graph ranks (`*-ranks.txt.gz`, host or domain level).
    CcWebgraph,
    /// A Tranco list (`rank,domain`).
    Tranco,
    /// A CSV with a `domain` column and a `rating` or `rank` column.
    Csv,
}

impl RankSource {
    /// Every source, in the order a tie between them is settled (first wins).
    pub const ALL: [RankSource; 3] = [RankSource::CcWebgraph, RankSource::Tranco, RankSource::Csv];

    /// Stored code, 1–3 (0 is the crawl in `DomainRecord::source`'s column).
    pub fn code(self) -> u8 {
        match self {
            RankSource::CcWebgraph => 1,
            RankSource::Tranco => 2,
            RankSource::Csv => 3,
        }
    }

    /// The source of a stored code (`None` for 0, the crawl, or an unknown code).
    pub fn from_code(code: u8) -> Option<RankSource> {
        RankSource::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Its name in answers and on the command line (`--format`).
    pub fn name(self) -> &'static str {
        match self {
            RankSource::CcWebgraph => "cc-webgraph",
            RankSource::Tranco => "tranco",
            RankSource::Csv => "csv",
        }
    }
}

/// Where a domain's rating came from, as answers name it: `crawl` (computed over the index's
/// own link graph) or the imported list's format.
pub fn rating_source_name(source: Option<RankSource>) -> &'static str {
    source.map_or("crawl", RankSource::name)
}

/// A domain's newest imported rating: which list, the day it was imported, the rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportedRating {
    /// The list it came from.
    pub source: RankSource,
    /// The day it was imported (Unix seconds at midnight UTC).
    pub day: i64,
    /// 0–100.
    pub rating: u8,
}

/// One referring registrable domain's live backlinks into a scope, counted (DataForSEO's
/// domain intersection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainLinkCounts {
    /// Live backlinks.
    pub backlinks: u64,
    /// Of which nofollow.
    pub nofollow: u64,
    /// Distinct referring pages.
    pub pages: u64,
    /// Distinct referring pages with a nofollow one.
    pub pages_nofollow: u64,
    /// Distinct referring hosts.
    pub hosts: u64,
    /// Distinct referring hosts with a nofollow one.
    pub hosts_nofollow: u64,
    /// The earliest `first_seen` of the links.
    pub first_seen: i64,
}

/// Rank of one registrable domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainRecord {
    /// Domain Rating 0–100.
    pub domain_rating: u8,
    /// Raw PageRank mass on the domain graph.
    pub raw: f64,
    /// Position by raw DR, 1 = strongest.
    pub ahrefs_top: u64,
    /// Where `domain_rating` came from: `None` when computed over the crawl's link graph, the
    /// list's format when imported (a domain the index knows little about; see `rank`).
    pub source: Option<RankSource>,
}

/// A [`DomainRecord`] as written before imported ratings (key-value engine values without
/// the source).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DomainRecordV1 {
    /// Domain Rating 0–100.
    pub domain_rating: u8,
    /// Raw PageRank mass on the domain graph.
    pub raw: f64,
    /// Position by raw DR.
    pub ahrefs_top: u64,
}

impl From<DomainRecordV1> for DomainRecord {
    fn from(r: DomainRecordV1) -> DomainRecord {
        DomainRecord {
            domain_rating: r.domain_rating,
            raw: r.raw,
            ahrefs_top: r.ahrefs_top,
            source: None,
        }
    }
}

/// What a page's last full fetch gave for revalidating it, and how many visits since found it
/// unchanged. Crawler state, like the frontier: revisits send `If-None-Match` /
/// `If-Modified-Since` with these, and a 200 whose body hashes the same is unchanged too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    /// The `ETag` of the last full fetch (empty: none).
    pub etag: String,
    /// The `Last-Modified` of the last full fetch (empty: none).
    pub last_modified: String,
    /// XXH3 of the last full fetch's body (FNV-1a in indexes written before 2026-12-07).
    pub body_hash: u64,
    /// Visits since the last full fetch that found the page unchanged (304).
    pub unchanged: u32,
    /// The visit (run clock) that wrote these. They describe the page's stored state only
    /// while it is the page's `last_ok_visit` (a held or failed visit leaves that behind).
    pub at: i64,
}

/// A URL waiting in the frontier of the current run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrontierEntry {
    /// Link hops from a seed.
    pub depth: u16,
    /// Redirect hops that led here (chain cap).
    pub redirects: u8,
    /// Run the entry belongs to.
    pub run: u64,
}

/// One crawl run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run number, from 1.
    pub id: u64,
    /// The run's clock (`--as-of` or wall time at start).
    pub as_of: i64,
    /// Wall time at start.
    pub started: i64,
    /// Wall time at end; `None` while running or if killed (resumed by the next crawl).
    pub finished: Option<i64>,
    /// Pages fetched.
    pub fetched: u64,
    /// Pages visited for the first time.
    pub new_pages: u64,
    /// Failed fetches (network, 5xx, timeouts).
    pub errors: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Errors by kind (`timeout`, `connect`, `http_5xx`, `robots`, ...).
    pub error_kinds: Vec<(String, u64)>,
    /// Seeds and scope as given, for resuming a killed run.
    pub config: String,
}

impl RunRecord {
    /// First line of the `config` of a run made by `linkdiff import` (the files follow, one
    /// per line). A crawl never resumes such a run: imports resume from their checkpoints.
    pub const IMPORT: &'static str = "# import";

    /// Whether `linkdiff import` made this run.
    pub fn is_import(&self) -> bool {
        self.config.lines().next() == Some(Self::IMPORT)
    }

    /// A copy without `config`, for [`crate::WriteBatch::put_run_progress`]: the seeds and
    /// scope are written once when the run starts, while its counters change with every
    /// visit (a crawl of 10,000 seeds has a 250 KB `config`: copied and rewritten per visit it
    /// was a third of the crawl's resident memory).
    pub fn progress(&self) -> RunRecord {
        RunRecord {
            id: self.id,
            as_of: self.as_of,
            started: self.started,
            finished: self.finished,
            fetched: self.fetched,
            new_pages: self.new_pages,
            errors: self.errors,
            bytes: self.bytes,
            error_kinds: self.error_kinds.clone(),
            config: String::new(),
        }
    }
}

/// An API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// Quota in rows.
    pub rows_limit: u64,
    /// Rows left, in hundredths of a row (costs of 0.2 rows are exact).
    pub centirows_left: u64,
    /// Creation time.
    pub created: i64,
}

/// Totals for `linkdiff status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Page records.
    pub pages: u64,
    /// Link records that are live.
    pub links: u64,
    /// Live external backlinks.
    pub backlinks: u64,
    /// New/lost events.
    pub events: u64,
    /// Runs.
    pub runs: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
}
