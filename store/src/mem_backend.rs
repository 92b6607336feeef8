//! An in-memory backend for tests and throwaway indexes.

use crate::kv::{Batch, KvBackend, KvIter, Op};
use crate::Result;
use std::collections::BTreeMap;
use std::sync::RwLock;

/// [`KvBackend`] on a `BTreeMap` behind a lock; a batch is applied under one write lock.
#[derive(Default)]
pub struct MemBackend {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KvBackend for MemBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map.read().expect("lock").get(key).cloned())
    }
    fn scan_prefix<'a>(&'a self, prefix: &[u8]) -> KvIter<'a> {
        // Snapshot the matching range: simple and consistent, fine for test-sized data.
        let map = self.map.read().expect("lock");
        let items: Vec<_> = map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(items.into_iter())
    }
    fn scan_from<'a>(&'a self, start: &[u8]) -> KvIter<'a> {
        let map = self.map.read().expect("lock");
        let items: Vec<_> = map
            .range(start.to_vec()..)
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(items.into_iter())
    }
    fn apply(&self, batch: Batch) -> Result<()> {
        let mut map = self.map.write().expect("lock");
        for op in batch.ops {
            match op {
                Op::Put(k, v) => {
                    map.insert(k, v);
                }
                Op::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn size_on_disk(&self) -> Result<u64> {
        Ok(0)
    }
}
