//! One fetch of a page and what it found: the crawler and the archive importer produce visits,
//! the indexer applies them.

use crate::Link;
use serde::{Deserialize, Serialize};

/// Page-level fields of one successful visit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// HTTP status.
    pub http_code: u16,
    /// `<title>`.
    pub title: String,
    /// ISO 639-1 language or empty.
    pub language: String,
    /// Encoding name (`utf8`, `iso-8859-1`, ...).
    pub encoding: String,
    /// Body bytes after decompression.
    pub page_size: u64,
    /// Address connected to.
    pub ip: String,
    /// href links to the same registrable domain.
    pub links_internal: u32,
    /// href links to another registrable domain.
    pub links_external: u32,
    /// The page says noindex (meta robots or `X-Robots-Tag`): its links do not count.
    pub noindex: bool,
    /// The page was to be rendered (`crawl --render`) and the rendering failed: its links
    /// are the static ones only, so links it loses are held for a recheck, never reported
    /// lost on this visit's word.
    pub render_failed: bool,
}

/// What one fetch of a page found; the crawler produces it, the indexer applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// 2xx: the page's full link set now (empty for non-HTML bodies).
    Fetched {
        /// Page fields.
        meta: PageMeta,
        /// Links in document order.
        links: Vec<Link>,
    },
    /// 3xx: the page now redirects; its only link is the redirect.
    Redirected {
        /// Page fields (status, ip).
        meta: PageMeta,
        /// The `redirect` link to the `Location` target.
        link: Link,
    },
    /// The page is as the last full fetch left it: a `304 Not Modified` to a conditional
    /// request, or a 200 whose body hashes the same. Its visit dates advance; its links stay
    /// as they are (no new or lost events), and it keeps its last full fetch's status.
    Unchanged {
        /// 304, or 200 for the same content.
        http_code: u16,
    },
    /// 404 or 410: the page is dropped.
    Gone {
        /// 404 or 410.
        http_code: u16,
    },
    /// robots.txt disallows the page: it is dropped.
    Disallowed,
    /// 5xx, other 4xx, timeout or connection error: links kept; dropped after 3 such runs.
    Failed {
        /// Status, or 0 for network errors.
        http_code: u16,
    },
}

/// One fetch of `url` in run `run` at the run's clock `time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// The page fetched (before redirects; each hop is its own visit).
    pub url: String,
    /// Run clock, Unix seconds UTC.
    pub time: i64,
    /// Run number.
    pub run: u64,
    /// Link hops from a seed.
    pub depth: u16,
    /// What the fetch found.
    pub outcome: Outcome,
}
