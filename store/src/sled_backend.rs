//! The embedded default backend: one sled tree in one directory.

use crate::kv::{Batch, KvBackend, KvIter, Op};
use crate::Result;
use std::path::Path;

/// sled cache budget. sled's default (1 GiB) is too much next to a crawler; 256 MiB keeps
/// hot index pages cached while leaving room for the crawl itself.
pub const SLED_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// [`KvBackend`] on a sled database directory.
pub struct SledBackend {
    db: sled::Db,
}

impl SledBackend {
    /// Open (or create) the sled database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        // Measured (BENCHMARKS.md): a 1 GiB cache, LowSpace mode and no background flush change
        // ingest speed by less than run-to-run noise; zstd compression cuts disk 3× but makes
        // ingest 3× slower, so it is off.
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(SLED_CACHE_BYTES)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(Some(1000))
            .open()?;
        Ok(SledBackend { db })
    }
}

fn pairs<'a>(it: sled::Iter) -> KvIter<'a> {
    Box::new(it.map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)))
}

impl KvBackend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> KvIter<'a> {
        pairs(self.db.scan_prefix(prefix))
    }
    fn scan_from<'a>(&'a self, start: &[u8]) -> KvIter<'a> {
        pairs(self.db.range(start.to_vec()..))
    }
    fn apply(&self, batch: Batch) -> Result<()> {
        let mut b = sled::Batch::default();
        for op in batch.ops {
            match op {
                Op::Put(k, v) => b.insert(k, v),
                Op::Delete(k) => b.remove(k),
            }
        }
        self.db.apply_batch(b)?;
        Ok(())
    }
    fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
    fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }
}
