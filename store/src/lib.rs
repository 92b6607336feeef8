//! Storage for linkdiff: the bottom layer of the workspace.
//!
//! Everything persistent — pages, links, the reverse (`url_to`) index, new/lost events, ranks,
//! the crawl frontier, runs, API tokens and the schema version — goes through [`Store`]. The
//! store is written against the narrow [`KvBackend`] trait so that a second backend (a
//! distributed key-value store for deployments that outgrow one machine) can be added without
//! touching any caller: [`SledBackend`] is the embedded default, [`MemBackend`] serves tests.
//!
//! The store knows nothing about HTTP or HTML. It knows URLs only as strings it must lay out
//! in keys (host reversed, so that `domain`, `subdomains` and `prefix` queries are range scans).

#![deny(missing_docs)]

pub mod clickhouse;
pub mod deadline;
mod error;
pub mod keys;
mod kv;
mod kv_store;
mod mem_backend;
pub mod migrate;
pub mod records;
mod scope;
mod sled_backend;
pub mod sql;
mod store;
mod write;

#[cfg(any(test, feature = "testing"))]
pub mod conformance;
#[cfg(test)]
mod tests;

pub use error::StoreError;
pub use kv::{Batch, KvBackend, KvIter, Op};
pub use kv_store::KV_SCHEMA_VERSION;
pub use mem_backend::MemBackend;
pub use records::{
    rating_source_name, DomainLinkCounts, DomainRecord, EventKind, EventRecord, FrontierEntry,
    ImportedRating, LinkRecord, LostReason, Origin, PageRecord, RankSource, RatingKind, RunRecord,
    Stats, TokenRecord, Validators, RANKS_IMPORTED,
};
pub use rusqlite;
pub use scope::CoversUrl;
pub use sled_backend::SledBackend;
pub use sql::SQL_SCHEMA_VERSION;
pub use store::{Location, Store};
pub use write::WriteBatch;

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
