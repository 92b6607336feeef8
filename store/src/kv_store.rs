//! The key-value engine: typed reads and writes over any [`KvBackend`] (sled, memory), with
//! the key layout of [`crate::keys`].

use crate::keys;
use crate::kv::KvBackend;
use crate::kv::{Batch, Op};
use crate::mem_backend::MemBackend;
use crate::records::Stats;
use crate::records::{
    DomainRecord, DomainRecordV1, EventKind, EventRecord, FrontierEntry, LinkRecord, LinkRecordV1,
    PageRecord, RunRecord, TokenRecord,
};
use crate::sled_backend::SledBackend;
use crate::write::{encode, encode_links, Write, WriteBatch};
use crate::{Result, StoreError};
use linkdiff_model::LinkId;
use linkdiff_model::Target;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Schema version of the key-value layout (sled, memory).
pub const KV_SCHEMA_VERSION: u32 = 2;

const SCHEMA_KEY: &str = "schema_version";

/// The linkdiff store over any [`KvBackend`].
#[derive(Clone)]
pub struct KvStore {
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

/// A domain's ranks, in the current form or the one before imported ratings (no source: an
/// older value ends where the source would start).
fn decode_domain(key: &[u8], v: &[u8]) -> Result<DomainRecord> {
    decode::<DomainRecord>(key, v).or_else(|e| {
        decode::<DomainRecordV1>(key, v)
            .map(DomainRecord::from)
            .map_err(|_| e)
    })
}

/// A page's link set, in the current form or the one before `rendered`.
fn decode_link_set(key: &[u8], v: &[u8]) -> Result<Vec<(LinkId, LinkRecord)>> {
    crate::write::decode_links(v, |old: Vec<(LinkId, LinkRecordV1)>| {
        old.into_iter().map(|(id, r)| (id, r.into())).collect()
    })
    .map_err(|e| StoreError::Corruption {
        key: String::from_utf8_lossy(key).into_owned(),
        detail: e.to_string(),
    })
}

/// A backlink's value (its target URL and record), in the current form or the one before
/// `rendered`.
fn decode_backlink(key: &[u8], v: &[u8]) -> Result<(String, LinkRecord)> {
    crate::write::decode_links(v, |(to, r): (String, LinkRecordV1)| (to, r.into())).map_err(|e| {
        StoreError::Corruption {
            key: String::from_utf8_lossy(key).into_owned(),
            detail: e.to_string(),
        }
    })
}

/// A page record, in the current form or the one before `broken_since`.
fn decode_page(key: &[u8], v: &[u8]) -> Result<PageRecord> {
    decode::<PageRecord>(key, v).or_else(|e| {
        decode::<crate::records::PageRecordV2>(key, v)
            .map(PageRecord::from)
            .map_err(|_| e)
    })
}

/// An event record, in the current form or the one before `reason`.
fn decode_event(key: &[u8], v: &[u8]) -> Result<EventRecord> {
    decode::<EventRecord>(key, v).or_else(|e| {
        decode::<crate::records::EventRecordV2>(key, v)
            .map(EventRecord::from)
            .map_err(|_| e)
    })
}

impl KvStore {
    /// Open or create the sled database at `path`, checking its schema version.
    pub fn open(path: &Path) -> Result<KvStore> {
        if path.is_file() {
            return Err(StoreError::NotADatabase {
                path: path.to_owned(),
                detail: "it is a file, not a database directory".into(),
            });
        }
        if path.is_dir() {
            let non_empty = std::fs::read_dir(path)
                .map_err(|source| StoreError::Io {
                    what: format!("list {}", path.display()),
                    source,
                })?
                .next()
                .is_some();
            if non_empty && !path.join("conf").exists() {
                return Err(StoreError::NotADatabase {
                    path: path.to_owned(),
                    detail: "the directory holds other files".into(),
                });
            }
        }
        // sled takes an exclusive lock on `db` and reports a held one only as text; ask the
        // lock itself first (the same flock), so a second process gets `Locked` by type.
        if let Ok(f) = std::fs::File::open(path.join("db")) {
            if let Err(std::fs::TryLockError::WouldBlock) = f.try_lock() {
                return Err(StoreError::Locked {
                    path: path.to_owned(),
                });
            }
        }
        let kv = SledBackend::open(path).map_err(|e| match e {
            StoreError::Sled(e) => StoreError::NotADatabase {
                path: path.to_owned(),
                detail: e.to_string(),
            },
            other => other,
        })?;
        KvStore::with_backend(Arc::new(kv), path.to_owned())
    }

    /// A fresh in-memory store.
    pub fn memory() -> KvStore {
        KvStore::with_backend(Arc::new(MemBackend::new()), PathBuf::from(":memory:"))
            .expect("a new memory store is always valid")
    }

    /// Wrap a backend, initialising or checking the schema version.
    pub fn with_backend(kv: Arc<dyn KvBackend>, path: PathBuf) -> Result<KvStore> {
        let store = KvStore { kv };
        match store.meta(SCHEMA_KEY)? {
            Some(v) if v == KV_SCHEMA_VERSION.to_string() => Ok(store),
            Some(v) => Err(StoreError::UnknownSchema {
                path,
                found: v,
                expected: KV_SCHEMA_VERSION,
            }),
            None => {
                if store.kv.scan_from(&[]).next().is_some() {
                    return Err(StoreError::NotADatabase {
                        path,
                        detail: "it holds data but no linkdiff schema version".into(),
                    });
                }
                let mut w = WriteBatch::new();
                w.put_meta(SCHEMA_KEY, &KV_SCHEMA_VERSION.to_string());
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
    pub fn apply(&self, mut w: WriteBatch) -> Result<()> {
        // URL Ratings become whole page records (read here; one process owns a KV store).
        for op in &mut w.ops {
            if let Write::UrlRating(url, ur) = op {
                if let Some(mut page) = self.page(url)? {
                    page.url_rating = *ur;
                    *op = Write::Page(std::mem::take(url), page);
                }
            }
            // A recovered mark becomes the whole event record, read here.
            if let Write::Recovered(ev) = op {
                let key = keys::event(&ev.url_from, &ev.link_id(), ev.time, 1);
                if let Some(v) = self.kv.get(&key)? {
                    let mut stored = decode_event(&key, &v)?;
                    stored.recovered = true;
                    *op = Write::Event(stored);
                }
            }
        }
        // Run progress keeps the stored config (or one written earlier in this batch).
        for i in 0..w.ops.len() {
            if let Write::RunProgress(r) = &w.ops[i] {
                let id = r.id;
                let earlier = w.ops[..i].iter().rev().find_map(|op| match op {
                    Write::Run(prev) | Write::RunProgress(prev) if prev.id == id => {
                        Some(prev.config.clone())
                    }
                    _ => None,
                });
                let config = match earlier {
                    Some(c) => c,
                    None => self
                        .get::<RunRecord>(&keys::run(id))?
                        .map(|stored| stored.config)
                        .unwrap_or_default(),
                };
                if let Write::RunProgress(r) = &mut w.ops[i] {
                    let mut full = std::mem::replace(r, r.progress());
                    full.config = config;
                    w.ops[i] = Write::Run(full);
                }
            }
        }
        self.kv.apply(to_kv(w)?)
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
    /// The revalidation state of `url`.
    pub fn validators(&self, url: &str) -> Result<Option<crate::Validators>> {
        match self.kv.get(&keys::tagged(keys::VALIDATORS, url))? {
            Some(v) => Ok(Some(decode(&keys::tagged(keys::VALIDATORS, url), &v)?)),
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

    /// Every meta value, by name.
    pub fn meta_values(&self) -> Result<Vec<(String, String)>> {
        self.kv
            .scan_prefix(&[keys::META])
            .map(|r| {
                let (k, v) = r?;
                Ok((
                    String::from_utf8_lossy(&k[1..]).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ))
            })
            .collect()
    }

    /// The page record of `url`.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>> {
        let key = keys::page(url);
        match self.kv.get(&key)? {
            Some(v) => decode_page(&key, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> impl Iterator<Item = Result<(String, PageRecord)>> + '_ {
        self.kv.scan_prefix(&[keys::PAGE]).map(|r| {
            let (k, v) = r?;
            let url = String::from_utf8_lossy(&k[1..]).into_owned();
            Ok((url, decode_page(&k, &v)?))
        })
    }

    /// Every link record of `url_from` (live or not), in the page's order.
    pub fn forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        let key = keys::forward(url_from);
        match self.kv.get(&key)? {
            Some(v) => decode_link_set(&key, &v),
            None => Ok(Vec::new()),
        }
    }

    /// Every link record in the store, grouped by referring page (for ranks).
    pub fn all_links(&self) -> impl Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_ {
        self.kv.scan_prefix(&[keys::FORWARD]).flat_map(|r| {
            let out: Vec<Result<(String, LinkId, LinkRecord)>> = match r.and_then(|(k, v)| {
                let links = decode_link_set(&k, &v)?;
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
        scope: &Target,
    ) -> impl Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_ {
        self.scan_scope(scope, keys::BACKLINK).map(|r| {
            let (k, v) = r?;
            let (url_to, rec) = decode_backlink(&k, &v)?;
            let (from, id) = keys::parse_backlink(&k, url_to).ok_or_else(|| corrupt(&k))?;
            Ok((from, id, rec))
        })
    }

    /// Events whose `url_to` is in `scope`, in key order (target, then time).
    pub fn events(&self, scope: &Target) -> impl Iterator<Item = Result<EventRecord>> + '_ {
        self.scan_scope(scope, keys::EVENT)
            .map(|r| r.and_then(|(k, v)| decode_event(&k, &v)))
    }

    /// Every event (status, tests).
    pub fn all_events(&self) -> impl Iterator<Item = Result<EventRecord>> + '_ {
        self.kv
            .scan_prefix(&[keys::EVENT])
            .map(|r| r.and_then(|(k, v)| decode_event(&k, &v)))
    }

    fn scan_scope(
        &self,
        scope: &Target,
        tag: u8,
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        crate::scope::scans(scope, tag)
            .into_iter()
            .flat_map(move |prefix| self.kv.scan_prefix(&prefix))
    }

    /// Ranks of a registrable domain.
    pub fn domain(&self, domain: &str) -> Result<Option<DomainRecord>> {
        let key = keys::tagged(keys::DOMAIN, domain);
        self.kv
            .get(&key)?
            .map(|v| decode_domain(&key, &v))
            .transpose()
    }

    /// Every domain record.
    pub fn domains(&self) -> impl Iterator<Item = Result<(String, DomainRecord)>> + '_ {
        self.kv.scan_prefix(&[keys::DOMAIN]).map(|r| {
            let (k, v) = r?;
            Ok((
                String::from_utf8_lossy(&k[1..]).into_owned(),
                decode_domain(&k, &v)?,
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

    /// The rating history of `name`: `(day, rating)` at each change, oldest first.
    pub fn rating_history(&self, kind: crate::RatingKind, name: &str) -> Result<Vec<(i64, u8)>> {
        let prefix = keys::rating_prefix(kind.code(), name);
        self.kv
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, v) = r?;
                let day = k[prefix.len()..]
                    .try_into()
                    .map(|b: [u8; 8]| (u64::from_be_bytes(b) ^ (1 << 63)) as i64)
                    .map_err(|_| corrupt(&k))?;
                Ok((day, v.first().copied().unwrap_or(0)))
            })
            .collect()
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        self.kv
            .scan_prefix(&[keys::RUN])
            .map(|r| r.and_then(|(k, v)| decode(&k, &v)))
            .collect()
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
                    let links = decode_link_set(&k, &v)?;
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

/// Translate typed writes into key puts and deletes, in order (a later write to a key wins).
fn to_kv(w: WriteBatch) -> Result<Batch> {
    let mut b = Batch::default();
    for op in w.ops {
        let (k, v) = match op {
            Write::Page(url, rec) => (keys::page(&url), Some(encode(&rec))),
            Write::Links(url, links) => (keys::forward(&url), Some(encode_links(&links))),
            Write::Backlink(from, id, rec) => (
                keys::backlink(&from, &id),
                Some(encode_links(&(&id.url_to, &rec))),
            ),
            Write::Unlist(from, id, _) => (keys::backlink(&from, &id), None),
            Write::Event(ev) => {
                let kind = match ev.kind {
                    EventKind::New => 0,
                    EventKind::Lost => 1,
                };
                (
                    keys::event(&ev.url_from, &ev.link_id(), ev.time, kind),
                    Some(encode(&ev)),
                )
            }
            Write::Domain(d, rec) => (keys::tagged(keys::DOMAIN, &d), Some(encode(&rec))),
            Write::Frontier(url, e) => (keys::tagged(keys::FRONTIER, &url), Some(encode(&e))),
            Write::Unqueue(url) => (keys::tagged(keys::FRONTIER, &url), None),
            Write::Validators(url, v) => (keys::tagged(keys::VALIDATORS, &url), Some(encode(&v))),
            Write::Run(rec) => (keys::run(rec.id), Some(encode(&rec))),
            Write::Rating(kind, name, day, rating) => {
                (keys::rating(kind.code(), &name, day), Some(vec![rating]))
            }
            Write::RunProgress(_) => {
                return Err(StoreError::Aborted(
                    "run progress is turned into a whole run record by KvStore::apply".into(),
                ))
            }
            Write::Token(name, rec) => (keys::tagged(keys::TOKEN, &name), Some(encode(&rec))),
            Write::Untoken(name) => (keys::tagged(keys::TOKEN, &name), None),
            Write::Meta(name, v) => (keys::tagged(keys::META, &name), Some(v.into_bytes())),
            Write::Unmeta(name) => (keys::tagged(keys::META, &name), None),
            Write::Outbox(_) | Write::Unoutbox(_) => {
                return Err(StoreError::Aborted(
                    "the outbox belongs to a ClickHouse worker's SQLite state file".into(),
                ))
            }
            Write::Fail => return Err(StoreError::Aborted("failure injected by a test".into())),
            // A rating for a page without a record (turned into `Page` otherwise): nothing.
            Write::UrlRating(..) | Write::Recovered(..) => continue,
        };
        b.ops.push(match v {
            Some(v) => Op::Put(k, v),
            None => Op::Delete(k),
        });
    }
    Ok(b)
}
