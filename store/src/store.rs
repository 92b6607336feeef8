//! The typed store: every read and write the other crates make.

use crate::keys;
use crate::kv::KvBackend;
use crate::mem_backend::MemBackend;
use crate::model::LinkId;
use crate::records::{
    DomainRecord, EventRecord, FrontierEntry, LinkRecord, PageRecord, RunRecord, TokenRecord,
};
use crate::sled_backend::SledBackend;
use crate::write::WriteBatch;
use crate::{Result, StoreError};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// On-disk schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 2;

const SCHEMA_KEY: &str = "schema_version";

/// Which target URLs a query covers (SPEC §6 modes), as range scans on the reversed-host index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetScope {
    /// Exactly this URL (scheme ignored).
    Exact(String),
    /// Every URL on this host, with `www.` folded.
    Domain(String),
    /// This host and every subdomain on label boundaries.
    Subdomains(String),
    /// Every URL whose host+path starts with this (a whole host, then any path prefix).
    Prefix(String),
    /// Every URL on exactly this host (no `www.` folding, no subdomains).
    Host(String),
}

impl TargetScope {
    /// Target-key prefixes to scan. A host's own URLs are exactly those whose key continues
    /// with `/` or `:` (port) after the reversed host, so `domain` and `host` scans never walk
    /// through subdomains.
    fn prefixes(&self) -> Vec<String> {
        let host = |h: &str| {
            let r = keys::reverse_host(h);
            vec![format!("{r}/"), format!("{r}:")]
        };
        match self {
            TargetScope::Exact(url) => {
                let mut k = keys::target_key(url);
                k.push('\0');
                vec![k]
            }
            TargetScope::Domain(h) => {
                let bare = h.strip_prefix("www.").unwrap_or(h);
                let mut v = host(bare);
                v.extend(host(&format!("www.{bare}")));
                v
            }
            TargetScope::Subdomains(h) => vec![keys::reverse_host(h)],
            TargetScope::Prefix(p) => vec![keys::target_key(p)],
            TargetScope::Host(h) => host(h),
        }
    }

    /// Scan prefixes with the table tag.
    fn scans(&self, tag: u8) -> Vec<Vec<u8>> {
        self.prefixes()
            .into_iter()
            .map(|p| keys::tagged(tag, &p))
            .collect()
    }
}

/// Totals for `linkdiff status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Page records.
    pub pages: u64,
    /// Forward link records that are live.
    pub links: u64,
    /// Live external backlinks.
    pub backlinks: u64,
    /// New/lost events.
    pub events: u64,
    /// Runs.
    pub runs: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
}

/// The linkdiff store over any [`KvBackend`].
#[derive(Clone)]
pub struct Store {
    pub(crate) kv: Arc<dyn KvBackend>,
}

fn decode<T: DeserializeOwned>(key: &[u8], v: &[u8]) -> Result<T> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .deserialize(v)
        .map_err(|e| StoreError::Corruption {
            key: String::from_utf8_lossy(key).into_owned(),
            detail: e.to_string(),
        })
}

impl Store {
    /// Open or create the sled database at `path`, checking its schema version.
    pub fn open(path: &Path) -> Result<Store> {
        if path.is_file() {
            return Err(StoreError::NotADatabase {
                path: path.to_owned(),
                detail: "it is a file, not a database directory".into(),
            });
        }
        if path.is_dir() {
            let non_empty = std::fs::read_dir(path)
                .map_err(|e| StoreError::Backend(e.to_string()))?
                .next()
                .is_some();
            if non_empty && !path.join("conf").exists() {
                return Err(StoreError::NotADatabase {
                    path: path.to_owned(),
                    detail: "the directory holds other files".into(),
                });
            }
        }
        let kv = SledBackend::open(path).map_err(|e| match e {
            StoreError::Backend(d) if d.contains("could not acquire lock") => StoreError::Locked {
                path: path.to_owned(),
            },
            StoreError::Backend(d) => StoreError::NotADatabase {
                path: path.to_owned(),
                detail: d,
            },
            other => other,
        })?;
        Store::with_backend(Arc::new(kv), path.to_owned())
    }

    /// A fresh in-memory store.
    pub fn memory() -> Store {
        Store::with_backend(Arc::new(MemBackend::new()), PathBuf::from(":memory:"))
            .expect("a new memory store is always valid")
    }

    /// Wrap a backend, initialising or checking the schema version.
    pub fn with_backend(kv: Arc<dyn KvBackend>, path: PathBuf) -> Result<Store> {
        let store = Store { kv };
        match store.meta(SCHEMA_KEY)? {
            Some(v) if v == SCHEMA_VERSION.to_string() => Ok(store),
            Some(v) => Err(StoreError::UnknownSchema {
                path,
                found: v,
                expected: SCHEMA_VERSION,
            }),
            None => {
                if store.kv.scan_from(&[]).next().is_some() {
                    return Err(StoreError::NotADatabase {
                        path,
                        detail: "it holds data but no linkdiff schema version".into(),
                    });
                }
                let mut w = WriteBatch::new();
                w.put_meta(SCHEMA_KEY, &SCHEMA_VERSION.to_string());
                w.put_meta(
                    "created_by",
                    concat!("linkdiff ", env!("CARGO_PKG_VERSION")),
                );
                store.apply(w)?;
                store.flush()?;
                Ok(store)
            }
        }
    }

    /// The backend, for tools that need raw access (benchmarks, export).
    pub fn backend(&self) -> &Arc<dyn KvBackend> {
        &self.kv
    }

    /// Commit a batch atomically.
    pub fn apply(&self, w: WriteBatch) -> Result<()> {
        self.kv.apply(w.into_batch())
    }

    /// Make everything durable. Called at the end of each run, after ranks, and on shutdown.
    pub fn flush(&self) -> Result<()> {
        self.kv.flush()
    }

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.kv.get(key)? {
            Some(v) => decode(key, &v).map(Some),
            None => Ok(None),
        }
    }

    /// A meta value.
    pub fn meta(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .kv
            .get(&keys::tagged(keys::META, name))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The page record of `url`.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>> {
        self.get(&keys::page(url))
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> impl Iterator<Item = Result<(String, PageRecord)>> + '_ {
        self.kv.scan_prefix(&[keys::PAGE]).map(|r| {
            let (k, v) = r?;
            let url = String::from_utf8_lossy(&k[1..]).into_owned();
            Ok((url, decode(&k, &v)?))
        })
    }

    /// One link of `url_from`.
    pub fn link(&self, url_from: &str, id: &LinkId) -> Result<Option<LinkRecord>> {
        Ok(self
            .forward_links(url_from)?
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r))
    }

    /// Every link record of `url_from` (live or not), in the page's order.
    pub fn forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        Ok(self.get(&keys::forward(url_from))?.unwrap_or_default())
    }

    /// Every link record in the store, grouped by referring page (for ranks).
    pub fn all_links(&self) -> impl Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_ {
        self.kv.scan_prefix(&[keys::FORWARD]).flat_map(|r| {
            let out: Vec<Result<(String, LinkId, LinkRecord)>> = match r.and_then(|(k, v)| {
                let links: Vec<(LinkId, LinkRecord)> = decode(&k, &v)?;
                Ok((String::from_utf8_lossy(&k[1..]).into_owned(), links))
            }) {
                Ok((from, links)) => links
                    .into_iter()
                    .map(|(id, rec)| Ok((from.clone(), id, rec)))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            out
        })
    }

    /// Live external backlinks whose `url_to` is in `scope`, as `(url_from, LinkId, record)`,
    /// in key order (target, then referring page).
    pub fn backlinks(
        &self,
        scope: &TargetScope,
    ) -> impl Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_ {
        self.scan_scope(scope, keys::BACKLINK).map(|r| {
            let (k, v) = r?;
            let (url_to, rec): (String, LinkRecord) = decode(&k, &v)?;
            let (from, id) = keys::parse_backlink(&k, url_to).ok_or_else(|| corrupt(&k))?;
            Ok((from, id, rec))
        })
    }

    /// Events whose `url_to` is in `scope`, in key order (target, then time).
    pub fn events(&self, scope: &TargetScope) -> impl Iterator<Item = Result<EventRecord>> + '_ {
        self.scan_scope(scope, keys::EVENT)
            .map(|r| r.and_then(|(k, v)| decode(&k, &v)))
    }

    /// Every event (status, tests).
    pub fn all_events(&self) -> impl Iterator<Item = Result<EventRecord>> + '_ {
        self.kv
            .scan_prefix(&[keys::EVENT])
            .map(|r| r.and_then(|(k, v)| decode(&k, &v)))
    }

    fn scan_scope(
        &self,
        scope: &TargetScope,
        tag: u8,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        scope
            .scans(tag)
            .into_iter()
            .flat_map(move |prefix| self.kv.scan_prefix(&prefix))
    }

    /// Ranks of a registrable domain.
    pub fn domain(&self, domain: &str) -> Result<Option<DomainRecord>> {
        self.get(&keys::tagged(keys::DOMAIN, domain))
    }

    /// Every domain record.
    pub fn domains(&self) -> impl Iterator<Item = Result<(String, DomainRecord)>> + '_ {
        self.kv.scan_prefix(&[keys::DOMAIN]).map(|r| {
            let (k, v) = r?;
            Ok((
                String::from_utf8_lossy(&k[1..]).into_owned(),
                decode(&k, &v)?,
            ))
        })
    }

    /// The frontier, in URL order.
    pub fn frontier(&self) -> impl Iterator<Item = Result<(String, FrontierEntry)>> + '_ {
        self.kv.scan_prefix(&[keys::FRONTIER]).map(|r| {
            let (k, v) = r?;
            Ok((
                String::from_utf8_lossy(&k[1..]).into_owned(),
                decode(&k, &v)?,
            ))
        })
    }

    /// Frontier entries with a URL after `after` (all when `None`), in URL order.
    pub fn frontier_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> impl Iterator<Item = Result<(String, FrontierEntry)>> + 'a {
        let start = match after {
            Some(a) => {
                let mut k = keys::tagged(keys::FRONTIER, a);
                k.push(0);
                k
            }
            None => vec![keys::FRONTIER],
        };
        self.kv
            .scan_from(&start)
            .take_while(|r| {
                r.as_ref()
                    .map_or(true, |(k, _)| k.first() == Some(&keys::FRONTIER))
            })
            .map(|r| {
                let (k, v) = r?;
                Ok((
                    String::from_utf8_lossy(&k[1..]).into_owned(),
                    decode(&k, &v)?,
                ))
            })
    }

    /// One frontier entry.
    pub fn frontier_entry(&self, url: &str) -> Result<Option<FrontierEntry>> {
        self.get(&keys::tagged(keys::FRONTIER, url))
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        self.kv
            .scan_prefix(&[keys::RUN])
            .map(|r| r.and_then(|(k, v)| decode(&k, &v)))
            .collect()
    }

    /// The latest run.
    pub fn last_run(&self) -> Result<Option<RunRecord>> {
        Ok(self.runs()?.pop())
    }

    /// A token by name.
    pub fn token(&self, name: &str) -> Result<Option<TokenRecord>> {
        self.get(&keys::tagged(keys::TOKEN, name))
    }

    /// Every token.
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        self.kv
            .scan_prefix(&[keys::TOKEN])
            .map(|r| {
                let (k, v) = r?;
                Ok((
                    String::from_utf8_lossy(&k[1..]).into_owned(),
                    decode(&k, &v)?,
                ))
            })
            .collect()
    }

    /// Counts for `linkdiff status` (a full scan: O(store)).
    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        for r in self.kv.scan_from(&[]) {
            let (k, v) = r?;
            match k[0] {
                keys::PAGE => s.pages += 1,
                keys::FORWARD => {
                    let links: Vec<(LinkId, LinkRecord)> = decode(&k, &v)?;
                    s.links += links.iter().filter(|(_, r)| r.live).count() as u64;
                }
                keys::BACKLINK => s.backlinks += 1,
                keys::EVENT => s.events += 1,
                keys::RUN => s.runs += 1,
                _ => {}
            }
        }
        s.size_bytes = self.kv.size_on_disk()?;
        Ok(s)
    }
}

fn corrupt(k: &[u8]) -> StoreError {
    StoreError::Corruption {
        key: String::from_utf8_lossy(k).into_owned(),
        detail: "malformed key".into(),
    }
}
