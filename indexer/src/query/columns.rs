//! The column catalogue of each table, copied from the seed documents: the single source for
//! validation, default `select`, and docs.

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

/// One column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Name as in the API.
    pub name: &'static str,
    /// Type.
    pub ty: ColType,
    /// Usable in `where`.
    pub where_ok: bool,
    /// Usable in `having`.
    pub having_ok: bool,
}

const fn c(name: &'static str, ty: ColType, where_ok: bool, having_ok: bool) -> Column {
    Column {
        name,
        ty,
        where_ok,
        having_ok,
    }
}

use ColType::*;

/// `backlinks` (seed 002).
pub const BACKLINKS: &[Column] = &[
    c("url_from", Str, true, true),
    c("url_to", Str, true, true),
    c("ahrefs_rank", Int, true, true),
    c("domain_rating", Int, false, true),
    c("ahrefs_top", Int, false, true),
    c("ip_from", Str, true, true),
    c("links_internal", Int, true, true),
    c("links_external", Int, true, true),
    c("page_size", Int, true, true),
    c("encoding", Str, true, true),
    c("language", Str, true, true),
    c("title", Str, true, true),
    c("first_seen", Time, true, true),
    c("last_visited", Time, true, true),
    c("prev_visited", Time, true, true),
    c("original", Bool, true, true),
    c("link_type", Str, true, true),
    c("redirect", Int, true, true),
    c("nofollow", Bool, true, true),
    c("alt", Str, true, true),
    c("anchor", Str, true, true),
    c("text_pre", Str, true, true),
    c("text_post", Str, true, true),
    c("http_code", Int, true, true),
    c("url_from_first_seen", Time, true, true),
];

/// `backlinks_new_lost` (seed 001).
pub const NEW_LOST: &[Column] = &[
    c("date", Date, true, true),
    c("type", Str, true, true),
    c("ahrefs_rank", Int, true, true),
    c("domain_rating", Int, true, true),
    c("url_from", Str, true, true),
    c("url_to", Str, true, true),
    c("links_internal", Int, true, true),
    c("links_external", Int, true, true),
    c("encoding", Str, true, true),
    c("http_code", Int, true, true),
    c("title", Str, true, true),
    c("origin", Str, true, true),
    c("first_seen", Time, true, true),
    c("last_visited", Time, true, true),
    c("prev_visited", Time, true, true),
    c("original", Bool, true, true),
    c("link_type", Str, true, true),
    c("redirect", Int, true, true),
    c("nofollow", Bool, true, true),
    c("alt", Str, true, true),
    c("anchor", Str, true, true),
    c("text_pre", Str, true, true),
    c("text_post", Str, true, true),
];

/// `backlinks_new_lost_counters` (seed 000).
pub const COUNTERS: &[Column] = &[
    c("date", Date, true, true),
    c("type", Str, true, false),
    c("ahrefs_rank", Int, true, false),
    c("domain_rating", Int, true, false),
    c("url_from", Str, true, false),
    c("url_to", Str, true, true),
    c("links_internal", Int, true, false),
    c("links_external", Int, true, false),
    c("encoding", Str, true, false),
    c("http_code", Int, true, false),
    c("title", Str, true, false),
    c("origin", Str, true, false),
    c("first_seen", Time, true, false),
    c("last_visited", Time, true, false),
    c("prev_visited", Time, true, false),
    c("original", Bool, true, false),
    c("link_type", Str, true, false),
    c("redirect", Int, true, false),
    c("nofollow", Bool, true, false),
    c("alt", Str, true, false),
    c("anchor", Str, true, false),
    c("text_pre", Str, true, false),
    c("text_post", Str, true, false),
    c("new", Int, false, true),
    c("lost", Int, false, true),
    c("new_total", Int, false, true),
    c("lost_total", Int, false, true),
];

/// `anchors` (seed 004).
pub const ANCHORS: &[Column] = &[
    c("anchor", Str, true, true),
    c("backlinks", Int, true, true),
    c("refpages", Int, true, true),
    c("refdomain", Str, true, false),
    c("refdomains", Int, false, true),
    c("first_seen", Time, true, true),
    c("last_visited", Time, true, true),
];

/// Find a column by name.
pub fn find(cols: &'static [Column], name: &str) -> Option<(usize, &'static Column)> {
    cols.iter().enumerate().find(|(_, c)| c.name == name)
}
