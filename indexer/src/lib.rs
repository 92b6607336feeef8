//! The indexer: "here is a page's new links, what changed?"
//!
//! [`Indexer::apply`] diffs one [`Visit`] against the page's previous successful visit and
//! writes link records, the reverse index and new/lost events in one atomic store batch
//! (SPEC §5). [`rank`] recomputes URL Rating and Domain Rating over the stored graph;
//! [`imported`] reads ranks lists made outside the crawl into ratings `rank` falls back on.
//! No async, no HTTP: all I/O goes through the store (and a reader the caller opens). Queries live in `linkdiff-query`.

pub mod apply;
pub mod imported;
pub mod rank;

pub use apply::{ApplySummary, Archived, Indexer};

/// Every way indexing or querying can fail.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] linkdiff_store::StoreError),
}

/// Result alias for the indexer.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
