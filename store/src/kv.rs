//! The narrow key-value contract every backend implements.

use crate::Result;

/// One write in a [`Batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Insert or overwrite `key` with `value`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key` if present.
    Delete(Vec<u8>),
}

/// An ordered list of writes applied all-or-nothing by [`KvBackend::apply`].
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// The writes, applied in order (a later write to the same key wins).
    pub ops: Vec<Op>,
}

impl Batch {
    /// Number of writes in the batch.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// True when the batch holds no write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Iterator over `(key, value)` pairs in ascending key order.
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

/// An ordered byte-key store with atomic batches: all a backend must provide.
///
/// Keys sort bytewise. `apply` must be atomic: after a crash a batch is either wholly
/// visible or not at all. Implementations are shared between threads.
pub trait KvBackend: Send + Sync {
    /// The value stored under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// All pairs whose key starts with `prefix`, ascending.
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> KvIter<'a>;
    /// All pairs with `start <= key`, ascending (the caller stops when it has enough).
    fn scan_from<'a>(&'a self, start: &[u8]) -> KvIter<'a>;
    /// Apply every write of `batch` atomically.
    fn apply(&self, batch: Batch) -> Result<()>;
    /// Make every applied batch durable.
    fn flush(&self) -> Result<()>;
    /// Bytes the backend occupies on disk (0 for memory).
    fn size_on_disk(&self) -> Result<u64>;
}
