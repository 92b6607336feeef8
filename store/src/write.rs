//! Typed writes collected into one atomic [`crate::Batch`].

use crate::keys;
use crate::kv::{Batch, Op};
use crate::model::LinkId;
use crate::records::{
    DomainRecord, EventKind, EventRecord, FrontierEntry, LinkRecord, PageRecord, RunRecord,
    TokenRecord,
};
use serde::Serialize;

/// Records are bincode with variable-length integers (small on disk).
pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .serialize(v)
        .expect("records always serialize")
}

/// A set of typed writes that [`crate::Store::apply`] commits atomically. The indexer builds
/// one per visit, so a visit is applied wholly or not at all.
#[derive(Debug, Default)]
pub struct WriteBatch {
    batch: Batch,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of key writes.
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    fn put(&mut self, k: Vec<u8>, v: Vec<u8>) {
        self.batch.ops.push(Op::Put(k, v));
    }

    /// Store a page record.
    pub fn put_page(&mut self, url: &str, rec: &PageRecord) {
        self.put(keys::page(url), encode(rec));
    }

    /// Store the whole link set of `url_from` (live and dead links, for history) as one value:
    /// a visit rewrites one key however many links the page has.
    pub fn put_links(&mut self, url_from: &str, links: &[(LinkId, LinkRecord)]) {
        self.put(keys::forward(url_from), encode(&links));
    }

    /// List a live external link in the reverse (`url_to`) index with a copy of its record,
    /// so target queries need no other read. Written when the link appears or its record
    /// changes, not on every visit (visit dates are derived from the page, see
    /// [`LinkRecord::visits`]).
    pub fn put_backlink(&mut self, url_from: &str, id: &LinkId, rec: &LinkRecord) {
        self.put(keys::backlink(url_from, id), encode(&(&id.url_to, rec)));
    }

    /// Remove a link from the reverse index (it was lost).
    pub fn remove_backlink(&mut self, url_from: &str, id: &LinkId) {
        self.batch
            .ops
            .push(Op::Delete(keys::backlink(url_from, id)));
    }

    /// Record a new/lost event. Keyed by (target, time, url_from, link, kind), so re-applying
    /// the same visit overwrites instead of duplicating.
    pub fn put_event(&mut self, id: &LinkId, ev: &EventRecord) {
        let kind = match ev.kind {
            EventKind::New => 0,
            EventKind::Lost => 1,
        };
        self.put(keys::event(&ev.url_from, id, ev.time, kind), encode(ev));
    }

    /// Store a domain's ranks.
    pub fn put_domain(&mut self, domain: &str, rec: &DomainRecord) {
        self.put(keys::tagged(keys::DOMAIN, domain), encode(rec));
    }

    /// Queue a URL.
    pub fn put_frontier(&mut self, url: &str, e: &FrontierEntry) {
        self.put(keys::tagged(keys::FRONTIER, url), encode(e));
    }

    /// Remove a URL from the frontier.
    pub fn remove_frontier(&mut self, url: &str) {
        self.batch
            .ops
            .push(Op::Delete(keys::tagged(keys::FRONTIER, url)));
    }

    /// Store a run record.
    pub fn put_run(&mut self, rec: &RunRecord) {
        self.put(keys::run(rec.id), encode(rec));
    }

    /// Store a token.
    pub fn put_token(&mut self, name: &str, rec: &TokenRecord) {
        self.put(keys::tagged(keys::TOKEN, name), encode(rec));
    }

    /// Remove a token.
    pub fn remove_token(&mut self, name: &str) {
        self.batch
            .ops
            .push(Op::Delete(keys::tagged(keys::TOKEN, name)));
    }

    /// Store a meta value.
    pub fn put_meta(&mut self, name: &str, value: &str) {
        self.put(keys::tagged(keys::META, name), value.as_bytes().to_vec());
    }

    /// Append every write of `other` (the crawler's frontier updates join a visit's batch).
    pub fn extend(&mut self, other: WriteBatch) {
        self.batch.ops.extend(other.batch.ops);
    }

    /// Hand the raw batch to a backend.
    pub fn into_batch(self) -> Batch {
        self.batch
    }

    /// Test hook: keep only the first `n` writes, to simulate a writer dying half-way.
    #[doc(hidden)]
    pub fn truncate_for_test(&mut self, n: usize) {
        self.batch.ops.truncate(n);
    }
}
