//! Typed writes collected into one atomic batch.
//!
//! A [`WriteBatch`] is a list of typed writes (page, link set, backlink, event, ...). Each
//! store engine translates it its own way: the key-value engine into key puts and deletes
//! (see [`crate::keys`]), the SQLite engine into rows of its tables. Either way the whole
//! batch commits or none of it does.

use crate::records::{
    DomainRecord, EventRecord, FrontierEntry, LinkRecord, PageRecord, RatingKind, RunRecord,
    TokenRecord, Validators,
};
use linkdiff_model::LinkId;
use serde::Serialize;

/// Records are bincode with variable-length integers (small on disk).
pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .serialize(v)
        .expect("records always serialize")
}

/// The first byte of a value holding link records in the format with `rendered` (format 2).
/// Bincode never starts a value with it (a varint's first byte is at most 254), so a value
/// without it is format 1 ([`crate::records::LinkRecordV1`]).
pub(crate) const LINKS_V2: u8 = 0xFF;

/// A value holding link records (a page's link set, a sled backlink): [`LINKS_V2`], then
/// bincode as [`encode`].
pub(crate) fn encode_links<T: Serialize>(v: &T) -> Vec<u8> {
    use bincode::Options;
    let mut out = vec![LINKS_V2];
    bincode::DefaultOptions::new()
        .serialize_into(&mut out, v)
        .expect("records always serialize");
    out
}

/// Read a value written by [`encode_links`] as `T`, or one written before it (plain bincode
/// of `Old`, the same shape with [`crate::records::LinkRecordV1`]) converted with `from_old`.
pub(crate) fn decode_links<T, Old>(
    v: &[u8],
    from_old: impl FnOnce(Old) -> T,
) -> std::result::Result<T, bincode::Error>
where
    T: serde::de::DeserializeOwned,
    Old: serde::de::DeserializeOwned,
{
    use bincode::Options;
    match v.split_first() {
        Some((&LINKS_V2, rest)) => bincode::DefaultOptions::new().deserialize(rest),
        _ => bincode::DefaultOptions::new()
            .deserialize::<Old>(v)
            .map(from_old),
    }
}

/// One typed write.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    Page(String, PageRecord),
    Links(String, Vec<(LinkId, LinkRecord)>),
    /// A page's URL Rating only (rank): no full record to rebuild.
    UrlRating(String, u8),
    /// A live external link (appeared, came back, or its attributes changed).
    Backlink(String, LinkId, LinkRecord),
    /// A link that was lost: out of the live index; `LinkRecord` is its final state.
    Unlist(String, LinkId, LinkRecord),
    Event(EventRecord),
    /// Mark the lost event with this key (kind, time, link) as recovered.
    Recovered(EventRecord),
    Domain(String, DomainRecord),
    /// A rating as it became on a day (`rank` writes one when a rating changes): the history
    /// v3's `domain-rating-history` and `url-rating-history` read.
    Rating(RatingKind, String, i64, u8),
    Frontier(String, FrontierEntry),
    Unqueue(String),
    /// A page's revalidation state (crawler state, kept where the frontier is).
    Validators(String, Validators),
    Run(RunRecord),
    /// A run's counters and end time; its `config` (written by [`Write::Run`]) is kept.
    RunProgress(RunRecord),
    Token(String, TokenRecord),
    Untoken(String),
    Meta(String, String),
    Unmeta(String),
    /// Rows for ClickHouse, committed with the visit they belong to (a worker's state file).
    Outbox(String),
    /// Rows up to this outbox sequence number were sent.
    Unoutbox(i64),
    /// Test hook: fails when applied, standing for a crash in the middle of a batch.
    Fail,
}

/// A set of typed writes that [`crate::Store::apply`] commits atomically. The indexer builds
/// one per visit, so a visit is applied wholly or not at all.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<Write>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Store the revalidation state of `url` (see [`Validators`]).
    pub fn put_validators(&mut self, url: &str, v: &Validators) {
        self.ops.push(Write::Validators(url.to_string(), v.clone()));
    }

    /// Store a page record.
    pub fn put_page(&mut self, url: &str, rec: &PageRecord) {
        self.ops.push(Write::Page(url.to_string(), rec.clone()));
    }

    /// Set the URL Rating of an existing page (the only field `rank` changes). A page without
    /// a record is left alone.
    pub fn put_url_rating(&mut self, url: &str, url_rating: u8) {
        self.ops.push(Write::UrlRating(url.to_string(), url_rating));
    }

    /// Store the whole link set of `url_from` (live and dead links, for history) as one value:
    /// a visit rewrites one record however many links the page has.
    pub fn put_links(&mut self, url_from: &str, links: &[(LinkId, LinkRecord)]) {
        self.ops
            .push(Write::Links(url_from.to_string(), links.to_vec()));
    }

    /// List a live external link in the reverse (`url_to`) index with a copy of its record,
    /// so target queries need no other read. Written when the link appears or its record
    /// changes, not on every visit (visit dates are derived from the page, see
    /// [`LinkRecord::visits`]).
    pub fn put_backlink(&mut self, url_from: &str, id: &LinkId, rec: &LinkRecord) {
        self.ops.push(Write::Backlink(
            url_from.to_string(),
            id.clone(),
            rec.clone(),
        ));
    }

    /// Take a lost link out of the live reverse index. `rec` is its final record (dates
    /// frozen, `live == false`): the SQLite engine keeps it so events can show it.
    pub fn remove_backlink(&mut self, url_from: &str, id: &LinkId, rec: &LinkRecord) {
        self.ops
            .push(Write::Unlist(url_from.to_string(), id.clone(), rec.clone()));
    }

    /// Record a new/lost event. Keyed by (target, time, url_from, link, kind), so re-applying
    /// the same visit overwrites instead of duplicating.
    pub fn put_event(&mut self, ev: &EventRecord) {
        self.ops.push(Write::Event(ev.clone()));
    }

    /// Mark the stored lost event with `ev`'s key (time, referring page, link) recovered.
    pub fn mark_recovered(&mut self, ev: &EventRecord) {
        self.ops.push(Write::Recovered(ev.clone()));
    }

    /// Store a domain's ranks.
    pub fn put_domain(&mut self, domain: &str, rec: &DomainRecord) {
        self.ops
            .push(Write::Domain(domain.to_string(), rec.clone()));
    }

    /// Queue a URL.
    pub fn put_frontier(&mut self, url: &str, e: &FrontierEntry) {
        self.ops.push(Write::Frontier(url.to_string(), e.clone()));
    }

    /// Remove a URL from the frontier.
    pub fn remove_frontier(&mut self, url: &str) {
        self.ops.push(Write::Unqueue(url.to_string()));
    }

    /// Record that `name`'s rating of `kind` became `rating` on `day` (Unix seconds, the day's
    /// start).
    pub fn put_rating(&mut self, kind: RatingKind, name: &str, day: i64, rating: u8) {
        self.ops
            .push(Write::Rating(kind, name.to_string(), day, rating));
    }

    /// Store a run record.
    pub fn put_run(&mut self, rec: &RunRecord) {
        self.ops.push(Write::Run(rec.clone()));
    }

    /// Update a stored run's counters and end time, keeping its `config` (the crawl's
    /// per-visit write; see [`RunRecord::progress`]). A run not stored yet is stored whole,
    /// with the (empty) `config` given.
    pub fn put_run_progress(&mut self, rec: RunRecord) {
        self.ops.push(Write::RunProgress(rec));
    }

    /// Store a token.
    pub fn put_token(&mut self, name: &str, rec: &TokenRecord) {
        self.ops.push(Write::Token(name.to_string(), rec.clone()));
    }

    /// Remove a token.
    pub fn remove_token(&mut self, name: &str) {
        self.ops.push(Write::Untoken(name.to_string()));
    }

    /// Store a meta value.
    pub fn put_meta(&mut self, name: &str, value: &str) {
        self.ops
            .push(Write::Meta(name.to_string(), value.to_string()));
    }

    /// Remove a meta value (nothing happens if there is none).
    pub fn remove_meta(&mut self, name: &str) {
        self.ops.push(Write::Unmeta(name.to_string()));
    }

    /// Append every write of `other` (the crawler's frontier updates join a visit's batch).
    pub fn extend(&mut self, other: WriteBatch) {
        self.ops.extend(other.ops);
    }

    /// Test hook: a write that fails when applied, so the batch must leave no trace.
    #[doc(hidden)]
    pub fn fail_for_test(&mut self) {
        self.ops.push(Write::Fail);
    }

    /// Test hook: keep only the first `n` writes, to simulate a writer dying half-way.
    #[doc(hidden)]
    pub fn truncate_for_test(&mut self, n: usize) {
        self.ops.truncate(n);
    }
}
