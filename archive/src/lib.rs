//! Web archives as visits: WARC (`.warc`, `.warc.gz`) and WAT (`.wat.gz`) records become
//! visits of the pages they captured, at their `WARC-Date`, through the crawler's own rules
//! (`outcome_of`, the extractor), so an imported page reads like a crawled one.
//!
//! - [`warc`]: the record reader (plain or gzip members, resumable positions, bad records
//!   skipped and reported);
//! - [`http`]: the HTTP response inside a `response` record;
//! - [`wat`]: Common Crawl WAT JSON → links;
//! - [`capture`]: one record → one [`capture::Capture`] or a [`capture::Skip`];
//! - [`import`]: the pipeline (read, extract on worker threads, apply in time order with
//!   checkpoints) behind `linkdiff import`.
//!
//! The crate writes to the store only through the [`import::ImportSink`] the binary plugs the
//! indexer into, like the crawler's `VisitSink`.

pub mod capture;
pub mod http;
pub mod import;
pub mod testfiles;
pub mod warc;
pub mod wat;

use linkdiff_crawler::fetch::Fetched;
use linkdiff_model::Outcome;

/// The visit outcome of an archived response: the crawler's rules, with every failure final
/// (an archive cannot be asked again).
pub(crate) fn outcome_or_failed(url: &url::Url, f: &Fetched) -> Outcome {
    linkdiff_crawler::outcome_of(url, f).unwrap_or_else(|failure| Outcome::Failed {
        http_code: failure.http_code(),
    })
}
