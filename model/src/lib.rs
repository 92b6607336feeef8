//! The vocabulary every linkdiff crate shares, at the bottom of the workspace.
//!
//! A [`Link`] is what the extractor finds on a page and the index stores; a [`Visit`] is one
//! fetch of a page with its [`Outcome`], what the crawler and the archive importer produce and
//! the indexer applies; [`registrable_domain`] and [`url_host`] are how every layer agrees on
//! what a domain is; a [`Target`] is what a question is about, parsed once at the edge; a
//! [`Partition`] is one worker's share of the web. As ripgrep's small
//! `matcher` crate is the vocabulary its searcher and printer share, this crate lets the
//! crawler, the indexer, the query crate and the engines speak of the same things without
//! depending on each other. It depends on nothing of ours.

#![deny(missing_docs)]

mod domain;
mod link;
mod partition;
mod target;
mod visit;

pub use domain::{class_c, domain_kind, registrable_domain, url_host};
pub use link::{Link, LinkId, LinkType, UnknownLinkType};
pub use partition::{BadPartition, Partition};
pub use target::{EmptyTarget, Mode, Target, UnknownMode};
pub use visit::{Outcome, PageMeta, Visit};
