//! The column catalogue of each table, copied from the seed documents: the single source for
//! validation, default `select`, and docs. Columns are named by a typed [`Col`], never by
//! position.

use std::fmt;
use std::str::FromStr;

/// Column value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Integer.
    Int,
    /// String.
    Str,
    /// Boolean.
    Bool,
    /// Time, printed `YYYY-MM-DDTHH:MM:SSZ`.
    Time,
    /// Day, printed `YYYY-MM-DD`.
    Date,
}

/// Every column of every table, by identity.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Col {
    UrlFrom,
    UrlTo,
    AhrefsRank,
    DomainRating,
    AhrefsTop,
    IpFrom,
    LinksInternal,
    LinksExternal,
    PageSize,
    Encoding,
    Language,
    Title,
    FirstSeen,
    LastVisited,
    PrevVisited,
    Original,
    LinkType,
    Redirect,
    Nofollow,
    Alt,
    Anchor,
    TextPre,
    TextPost,
    HttpCode,
    UrlFromFirstSeen,
    Date,
    Type,
    Origin,
    New,
    Lost,
    NewTotal,
    LostTotal,
    Backlinks,
    Refpages,
    Refdomain,
    Refdomains,
    Pages,
    ValidPages,
    HtmlPages,
    Text,
    Image,
    Dofollow,
    Canonical,
    Gov,
    Edu,
    RefclassC,
    Refips,
    Url,
    Size,
    BrokenAt,
    Sitewide,
    Reason,
    Recovered,
    Rendered,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Identity.
    pub id: Col,
    /// Name as in the API.
    pub name: &'static str,
    /// Type.
    pub ty: ColType,
    /// Usable in `where`.
    pub where_ok: bool,
    /// Usable in `having`.
    pub having_ok: bool,
    /// A linkdiff addition: answered only when named in `select` (filters and `order_by` may
    /// use it too), so the seed tables' default answers stay byte-identical.
    pub extra: bool,
}

const fn c(id: Col, name: &'static str, ty: ColType, where_ok: bool, having_ok: bool) -> Column {
    Column {
        id,
        name,
        ty,
        where_ok,
        having_ok,
        extra: false,
    }
}

/// An extra column (see [`Column::extra`]).
const fn x(id: Col, name: &'static str, ty: ColType) -> Column {
    Column {
        extra: true,
        ..c(id, name, ty, true, true)
    }
}

/// Referring pages a link must come from, on top of being more than half of its domain's
/// visited pages, to be `sitewide` (so `2 × linking > max(visited, 2 × 5 − 1)`).
pub const SITEWIDE_MIN_PAGES: i64 = 5;

use ColType::*;

/// `backlinks` (seed 002).
const BACKLINKS_ARR: [Column; 27] = [
    c(Col::UrlFrom, "url_from", Str, true, true),
    c(Col::UrlTo, "url_to", Str, true, true),
    c(Col::AhrefsRank, "ahrefs_rank", Int, true, true),
    c(Col::DomainRating, "domain_rating", Int, false, true),
    c(Col::AhrefsTop, "ahrefs_top", Int, false, true),
    c(Col::IpFrom, "ip_from", Str, true, true),
    c(Col::LinksInternal, "links_internal", Int, true, true),
    c(Col::LinksExternal, "links_external", Int, true, true),
    c(Col::PageSize, "page_size", Int, true, true),
    c(Col::Encoding, "encoding", Str, true, true),
    c(Col::Language, "language", Str, true, true),
    c(Col::Title, "title", Str, true, true),
    c(Col::FirstSeen, "first_seen", Time, true, true),
    c(Col::LastVisited, "last_visited", Time, true, true),
    c(Col::PrevVisited, "prev_visited", Time, true, true),
    c(Col::Original, "original", Bool, true, true),
    c(Col::LinkType, "link_type", Str, true, true),
    c(Col::Redirect, "redirect", Int, true, true),
    c(Col::Nofollow, "nofollow", Bool, true, true),
    c(Col::Alt, "alt", Str, true, true),
    c(Col::Anchor, "anchor", Str, true, true),
    c(Col::TextPre, "text_pre", Str, true, true),
    c(Col::TextPost, "text_post", Str, true, true),
    c(Col::HttpCode, "http_code", Int, true, true),
    c(
        Col::UrlFromFirstSeen,
        "url_from_first_seen",
        Time,
        true,
        true,
    ),
    x(Col::Sitewide, "sitewide", Bool),
    x(Col::Rendered, "rendered", Bool),
];

/// `backlinks` (seed 002).
pub const BACKLINKS: &[Column] = &BACKLINKS_ARR;

/// `broken_backlinks`: the `backlinks` columns, with `http_code` the target's status, and
/// `broken_at` (`docs/tables/broken_backlinks.md`).
pub const BROKEN_BACKLINKS: &[Column] = &{
    let mut out = [c(Col::BrokenAt, "broken_at", Time, true, true); 28];
    let mut i = 0;
    while i < BACKLINKS_ARR.len() {
        out[i] = BACKLINKS_ARR[i];
        i += 1;
    }
    out
};

/// `backlinks_new_lost` (seed 001).
pub const NEW_LOST: &[Column] = &[
    c(Col::Date, "date", Date, true, true),
    c(Col::Type, "type", Str, true, true),
    c(Col::AhrefsRank, "ahrefs_rank", Int, true, true),
    c(Col::DomainRating, "domain_rating", Int, true, true),
    c(Col::UrlFrom, "url_from", Str, true, true),
    c(Col::UrlTo, "url_to", Str, true, true),
    c(Col::LinksInternal, "links_internal", Int, true, true),
    c(Col::LinksExternal, "links_external", Int, true, true),
    c(Col::Encoding, "encoding", Str, true, true),
    c(Col::HttpCode, "http_code", Int, true, true),
    c(Col::Title, "title", Str, true, true),
    c(Col::Origin, "origin", Str, true, true),
    c(Col::FirstSeen, "first_seen", Time, true, true),
    c(Col::LastVisited, "last_visited", Time, true, true),
    c(Col::PrevVisited, "prev_visited", Time, true, true),
    c(Col::Original, "original", Bool, true, true),
    c(Col::LinkType, "link_type", Str, true, true),
    c(Col::Redirect, "redirect", Int, true, true),
    c(Col::Nofollow, "nofollow", Bool, true, true),
    c(Col::Alt, "alt", Str, true, true),
    c(Col::Anchor, "anchor", Str, true, true),
    c(Col::TextPre, "text_pre", Str, true, true),
    c(Col::TextPost, "text_post", Str, true, true),
    x(Col::Reason, "reason", Str),
    x(Col::Recovered, "recovered", Bool),
    x(Col::Rendered, "rendered", Bool),
];

/// `backlinks_new_lost_counters` (seed 000).
pub const COUNTERS: &[Column] = &[
    c(Col::Date, "date", Date, true, true),
    c(Col::Type, "type", Str, true, false),
    c(Col::AhrefsRank, "ahrefs_rank", Int, true, false),
    c(Col::DomainRating, "domain_rating", Int, true, false),
    c(Col::UrlFrom, "url_from", Str, true, false),
    c(Col::UrlTo, "url_to", Str, true, true),
    c(Col::LinksInternal, "links_internal", Int, true, false),
    c(Col::LinksExternal, "links_external", Int, true, false),
    c(Col::Encoding, "encoding", Str, true, false),
    c(Col::HttpCode, "http_code", Int, true, false),
    c(Col::Title, "title", Str, true, false),
    c(Col::Origin, "origin", Str, true, false),
    c(Col::FirstSeen, "first_seen", Time, true, false),
    c(Col::LastVisited, "last_visited", Time, true, false),
    c(Col::PrevVisited, "prev_visited", Time, true, false),
    c(Col::Original, "original", Bool, true, false),
    c(Col::LinkType, "link_type", Str, true, false),
    c(Col::Redirect, "redirect", Int, true, false),
    c(Col::Nofollow, "nofollow", Bool, true, false),
    c(Col::Alt, "alt", Str, true, false),
    c(Col::Anchor, "anchor", Str, true, false),
    c(Col::TextPre, "text_pre", Str, true, false),
    c(Col::TextPost, "text_post", Str, true, false),
    c(Col::New, "new", Int, false, true),
    c(Col::Lost, "lost", Int, false, true),
    c(Col::NewTotal, "new_total", Int, false, true),
    c(Col::LostTotal, "lost_total", Int, false, true),
];

/// `anchors` (seed 004).
pub const ANCHORS: &[Column] = &[
    c(Col::Anchor, "anchor", Str, true, true),
    c(Col::Backlinks, "backlinks", Int, true, true),
    c(Col::Refpages, "refpages", Int, true, true),
    c(Col::Refdomain, "refdomain", Str, true, false),
    c(Col::Refdomains, "refdomains", Int, false, true),
    c(Col::FirstSeen, "first_seen", Time, true, true),
    c(Col::LastVisited, "last_visited", Time, true, true),
];

/// `refdomains` (catalogue: `docs/tables/refdomains.md`): one row per referring domain.
pub const REFDOMAINS: &[Column] = &[
    c(Col::Refdomain, "refdomain", Str, true, true),
    c(Col::Backlinks, "backlinks", Int, true, true),
    c(Col::Refpages, "refpages", Int, true, true),
    c(Col::FirstSeen, "first_seen", Time, true, true),
    c(Col::LastVisited, "last_visited", Time, true, true),
    c(Col::DomainRating, "domain_rating", Int, true, true),
];

/// `refdomains_new_lost` (catalogue: `docs/tables/refdomains_new_lost.md`): a referring domain
/// is new on the day its first live backlink to the target appears, lost on the day its last
/// one goes.
pub const REFDOMAINS_NEW_LOST: &[Column] = &[
    c(Col::Date, "date", Date, true, true),
    c(Col::Type, "type", Str, true, true),
    c(Col::Refdomain, "refdomain", Str, true, true),
    c(Col::DomainRating, "domain_rating", Int, true, true),
];

/// `refdomains_new_lost_counters`: those events counted per date.
pub const REFDOMAINS_COUNTERS: &[Column] = &[
    c(Col::Date, "date", Date, true, true),
    c(Col::Type, "type", Str, true, false),
    c(Col::Refdomain, "refdomain", Str, true, false),
    c(Col::DomainRating, "domain_rating", Int, true, false),
    c(Col::New, "new", Int, false, true),
    c(Col::Lost, "lost", Int, false, true),
    c(Col::NewTotal, "new_total", Int, false, true),
    c(Col::LostTotal, "lost_total", Int, false, true),
];

/// `metrics_extended` (catalogue: `docs/tables/metrics.md`): one row of counts over the target
/// scope. `metrics` is its first [`METRICS_COLUMNS`] columns; `_extended` adds referring
/// domains, class C networks and IPs.
pub const METRICS_EXTENDED: &[Column] = &[
    c(Col::Backlinks, "backlinks", Int, false, true),
    c(Col::Refpages, "refpages", Int, false, true),
    c(Col::Pages, "pages", Int, false, true),
    c(Col::ValidPages, "valid_pages", Int, false, true),
    c(Col::Text, "text", Int, false, true),
    c(Col::Image, "image", Int, false, true),
    c(Col::Nofollow, "nofollow", Int, false, true),
    c(Col::Dofollow, "dofollow", Int, false, true),
    c(Col::Redirect, "redirect", Int, false, true),
    c(Col::Canonical, "canonical", Int, false, true),
    c(Col::Gov, "gov", Int, false, true),
    c(Col::Edu, "edu", Int, false, true),
    c(Col::HtmlPages, "html_pages", Int, false, true),
    c(Col::LinksInternal, "links_internal", Int, false, true),
    c(Col::LinksExternal, "links_external", Int, false, true),
    c(Col::Refdomains, "refdomains", Int, false, true),
    c(Col::RefclassC, "refclass_c", Int, false, true),
    c(Col::Refips, "refips", Int, false, true),
];

/// How many of [`METRICS_EXTENDED`]'s columns `metrics` has.
pub const METRICS_COLUMNS: usize = 15;

/// `ahrefs_rank` (catalogue: `docs/tables/pages.md`): the target's crawled pages and their UR.
pub const AHREFS_RANK: &[Column] = &[
    c(Col::Url, "url", Str, true, true),
    c(Col::AhrefsRank, "ahrefs_rank", Int, true, true),
];

/// `pages_extended`: the target's crawled pages with what their last visit found.
pub const PAGES_EXTENDED: &[Column] = &[
    c(Col::Url, "url", Str, true, true),
    c(Col::AhrefsRank, "ahrefs_rank", Int, true, true),
    c(Col::FirstSeen, "first_seen", Time, true, true),
    c(Col::LastVisited, "last_visited", Time, true, true),
    c(Col::HttpCode, "http_code", Int, true, true),
    c(Col::Size, "size", Int, true, true),
    c(Col::LinksInternal, "links_internal", Int, true, true),
    c(Col::LinksExternal, "links_external", Int, true, true),
    c(Col::Encoding, "encoding", Str, true, true),
    c(Col::Title, "title", Str, true, true),
    c(Col::Language, "language", Str, true, true),
];

/// A queryable table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Live backlinks.
    Backlinks,
    /// Live backlinks, the strongest one per referring domain.
    OnePerDomain,
    /// New and lost events.
    NewLost,
    /// New/lost counts per date.
    Counters,
    /// Anchor texts.
    Anchors,
    /// Referring domains.
    Refdomains,
    /// Referring domains gained and lost, by day.
    RefdomainsNewLost,
    /// Referring domains gained and lost, counted per day.
    RefdomainsCounters,
    /// Counts over the target scope, one row.
    Metrics,
    /// `metrics` plus referring domains, class C networks and IPs.
    MetricsExtended,
    /// Crawled pages of the target and their UR.
    AhrefsRank,
    /// Crawled pages of the target with their last visit's fields.
    PagesExtended,
    /// Live backlinks whose target answers 4xx/5xx or fails.
    BrokenBacklinks,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 13] = [
        Table::Backlinks,
        Table::OnePerDomain,
        Table::NewLost,
        Table::Counters,
        Table::Anchors,
        Table::Refdomains,
        Table::RefdomainsNewLost,
        Table::RefdomainsCounters,
        Table::Metrics,
        Table::MetricsExtended,
        Table::AhrefsRank,
        Table::PagesExtended,
        Table::BrokenBacklinks,
    ];

    /// API name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Backlinks => "backlinks",
            Table::OnePerDomain => "backlinks_one_per_domain",
            Table::NewLost => "backlinks_new_lost",
            Table::Counters => "backlinks_new_lost_counters",
            Table::Anchors => "anchors",
            Table::Refdomains => "refdomains",
            Table::RefdomainsNewLost => "refdomains_new_lost",
            Table::RefdomainsCounters => "refdomains_new_lost_counters",
            Table::Metrics => "metrics",
            Table::MetricsExtended => "metrics_extended",
            Table::AhrefsRank => "ahrefs_rank",
            Table::PagesExtended => "pages_extended",
            Table::BrokenBacklinks => "broken_backlinks",
        }
    }

    /// Column catalogue.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Backlinks | Table::OnePerDomain => BACKLINKS,
            Table::NewLost => NEW_LOST,
            Table::Counters => COUNTERS,
            Table::Anchors => ANCHORS,
            Table::Refdomains => REFDOMAINS,
            Table::RefdomainsNewLost => REFDOMAINS_NEW_LOST,
            Table::RefdomainsCounters => REFDOMAINS_COUNTERS,
            Table::Metrics => &METRICS_EXTENDED[..METRICS_COLUMNS],
            Table::MetricsExtended => METRICS_EXTENDED,
            Table::AhrefsRank => AHREFS_RANK,
            Table::PagesExtended => PAGES_EXTENDED,
            Table::BrokenBacklinks => BROKEN_BACKLINKS,
        }
    }

    /// Rows are live backlinks (`backlinks`, `backlinks_one_per_domain`, `broken_backlinks`).
    pub fn backlink_rows(self) -> bool {
        matches!(
            self,
            Table::Backlinks | Table::OnePerDomain | Table::BrokenBacklinks
        )
    }

    /// Rows are computed whole before filtering and paging: groups (counters by date, anchors
    /// by text, referring domains, the one row of metrics) and the target's pages.
    pub fn grouped(self) -> bool {
        matches!(
            self,
            Table::Counters
                | Table::Anchors
                | Table::Refdomains
                | Table::RefdomainsNewLost
                | Table::RefdomainsCounters
                | Table::Metrics
                | Table::MetricsExtended
                | Table::AhrefsRank
                | Table::PagesExtended
        )
    }

    /// The column named `name` (lowercase).
    pub fn find(self, name: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.name == name)
    }

    /// Position of `col` in this table's rows (rows hold every column in catalogue order).
    pub fn index(self, col: Col) -> Option<usize> {
        self.columns().iter().position(|c| c.id == col)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `from` that names none of the tables.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown table '{0}' (use backlinks, backlinks_one_per_domain, backlinks_new_lost, backlinks_new_lost_counters, anchors, refdomains, refdomains_new_lost, refdomains_new_lost_counters, metrics, metrics_extended, ahrefs_rank, pages_extended or broken_backlinks)")]
pub struct UnknownTable(pub String);

impl FromStr for Table {
    type Err = UnknownTable;
    fn from_str(s: &str) -> Result<Self, UnknownTable> {
        Table::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownTable(s.to_string()))
    }
}
