//! The crawler: "here is a URL, may I fetch it, and what does it link to?"
//!
//! [`extract()`] turns one fetched page into page fields and links (pure, no I/O).
//! [`Crawler::run`] performs one crawl run: a frontier persisted in the store, per-host
//! politeness (governor) and robots.txt, an SSRF guard, and one [`linkdiff_model::Visit`] per
//! fetch handed to a [`VisitSink`] together with the frontier changes it causes, so the two are
//! committed in one atomic batch. The crawler never writes the link index itself: the binary
//! plugs the indexer in as the sink.

pub mod charset;
mod crawl;
pub mod extract;
pub mod fetch;
pub mod normalize;
pub mod render;
pub mod resolve;
pub mod robots;
pub mod seeds;
pub mod sitemap;

pub use crawl::{
    outcome_of, CrawlConfig, Crawler, FetchFailure, Progress, Scope, VisitSink, MAX_RESIDENT,
};
pub use extract::{
    extract, extract_found, extract_with, Engine, Extracted, ExtractedLink, FoundLink, FoundPage,
    PageFields, PageInput,
};

use fetch::ClientError;
use linkdiff_model::LinkType;

/// Errors that end a crawl run (per-page problems are data, recorded in the visit).
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] linkdiff_store::StoreError),
    /// `--as-of` earlier than the last run.
    #[error(
        "--as-of {given} is earlier than the last run ({last}); runs must move forward in time"
    )]
    AsOfBeforeLastRun {
        /// Given time.
        given: String,
        /// Last run's time.
        last: String,
    },
    /// A seed file could not be read.
    #[error("cannot read seed file {path}: {detail}")]
    SeedFile {
        /// Path given.
        path: String,
        /// OS error.
        detail: String,
    },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The visit sink (indexer) failed; its own error is the source.
    #[error("indexing failed: {0}")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The writer thread could not be started.
    #[error("indexing failed: cannot start the writer thread: {0}")]
    WriterThread(#[source] std::io::Error),
    /// The writer thread stopped without an error of the sink (it panicked, or its channel
    /// closed): what happened.
    #[error("indexing failed: {0}")]
    WriterStopped(&'static str),
    /// A fetch task panicked or was cancelled.
    #[error("indexing failed: fetch task failed: {0}")]
    FetchTask(#[from] tokio::task::JoinError),
    /// Nothing to crawl.
    #[error("no seed URLs: give a seed file or --url, or crawl a db that already has pages")]
    NoSeeds,
}

/// Link types the crawler follows to discover pages (form actions, feeds and alternates are
/// recorded but not fetched).
pub fn follows(t: LinkType) -> bool {
    matches!(
        t,
        LinkType::Href | LinkType::Redirect | LinkType::Frame | LinkType::Canonical
    )
}
