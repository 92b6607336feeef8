//! Typed reads. They use the writer's connection, so a crawl reads its own uncommitted
//! visits; queries for users go through [`SqlStore::read`] instead.

use super::schema::url_expr;
use super::urls::scope_condition;
use super::SqlStore;
use crate::records::{
    DomainRecord, EventKind, EventRecord, FrontierEntry, LinkRecord, LinkRecordV1, Origin,
    PageRecord, RankSource, RatingKind, RunRecord, TokenRecord,
};
use crate::{Result, StoreError};
use linkdiff_model::Target;
use linkdiff_model::{LinkId, LinkType};
use rusqlite::{params_from_iter, OptionalExtension, Row};

/// Rows per chunk of the paged iterators.
const CHUNK: usize = 2048;

const PAGE_COLS: &str =
    "url, first_visit, last_visit, last_ok_visit, first_ok_visit, prev_ok_visit,
  last_status, consecutive_failures, dropped, title, language, encoding, page_size, ip,
  links_internal, links_external, url_rating, depth, last_run, broken_since";

fn page_row(r: &Row) -> rusqlite::Result<(String, PageRecord)> {
    Ok((
        r.get(0)?,
        PageRecord {
            first_visit: r.get(1)?,
            last_visit: r.get(2)?,
            last_ok_visit: r.get(3)?,
            first_ok_visit: r.get(4)?,
            prev_ok_visit: r.get(5)?,
            last_status: r.get(6)?,
            consecutive_failures: r.get(7)?,
            dropped: r.get(8)?,
            title: r.get(9)?,
            language: r.get(10)?,
            encoding: r.get(11)?,
            page_size: r.get::<_, i64>(12)? as u64,
            ip: r.get(13)?,
            links_internal: r.get(14)?,
            links_external: r.get(15)?,
            url_rating: r.get(16)?,
            depth: r.get(17)?,
            last_run: r.get::<_, i64>(18)? as u64,
            broken_since: r.get(19)?,
        },
    ))
}

fn link_type(code: u8) -> rusqlite::Result<LinkType> {
    LinkType::from_code(code).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, code as i64))
}

/// A page's links and their records (live and dead, internal and external).
pub type LinkSet = Vec<(LinkId, LinkRecord)>;

/// Columns of a backlinks row read by [`backlink_row`], `b` = backlinks, `uf`/`ut` = the
/// referring and target URL texts.
pub(crate) const BACKLINK_COLS: &str = "b.link_type, b.anchor, b.n, b.live, b.nofollow,
  b.redirect, b.alt, b.text_pre, b.text_post, b.first_seen, b.streak_start, b.before_streak,
  b.last_seen, b.prev_seen, b.original, b.rendered";

fn backlink_row(r: &Row, at: usize, url_to: String) -> rusqlite::Result<(LinkId, LinkRecord)> {
    Ok((
        LinkId {
            url_to,
            link_type: link_type(r.get(at)?)?,
            anchor: r.get(at + 1)?,
            n: r.get(at + 2)?,
        },
        LinkRecord {
            live: r.get(at + 3)?,
            nofollow: r.get(at + 4)?,
            redirect: r.get(at + 5)?,
            alt: r.get(at + 6)?,
            text_pre: r.get(at + 7)?,
            text_post: r.get(at + 8)?,
            first_seen: r.get(at + 9)?,
            streak_start: r.get(at + 10)?,
            before_streak: r.get(at + 11)?,
            last_seen: r.get(at + 12)?,
            prev_seen: r.get(at + 13)?,
            original: r.get(at + 14)?,
            external: true,
            rendered: r.get(at + 15)?,
        },
    ))
}

fn decode_links(data: &[u8]) -> Result<Vec<(LinkId, LinkRecord)>> {
    thread_local! {
        static DCTX: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let corrupt = |detail: String| StoreError::Corruption {
        key: "linksets".into(),
        detail,
    };
    let size = zstd::zstd_safe::get_frame_content_size(data)
        .ok()
        .flatten()
        .ok_or_else(|| corrupt("link set without a content size".into()))?;
    if size > 1 << 30 {
        return Err(corrupt(format!("link set of {size} bytes")));
    }
    let raw = DCTX.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new().map_err(|e| corrupt(e.to_string()))?);
        }
        d.as_mut()
            .expect("set above")
            .decompress(data, size as usize)
            .map_err(|e| corrupt(e.to_string()))
    })?;
    crate::write::decode_links(&raw, |old: Vec<(LinkId, LinkRecordV1)>| {
        old.into_iter().map(|(id, r)| (id, r.into())).collect()
    })
    .map_err(|e| StoreError::Corruption {
        key: "linksets".into(),
        detail: e.to_string(),
    })
}

/// An iterator that fetches `CHUNK` rows at a time after the last key it returned.
struct Paged<K, T, F> {
    after: Option<K>,
    buf: std::vec::IntoIter<T>,
    done: bool,
    fetch: F,
}

impl<K: Clone, T, F: FnMut(Option<&K>) -> Result<Vec<(K, T)>>> Iterator for Paged<K, T, F> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        if let Some(t) = self.buf.next() {
            return Some(Ok(t));
        }
        if self.done {
            return None;
        }
        match (self.fetch)(self.after.as_ref()) {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(rows) => {
                self.done = rows.len() < CHUNK;
                self.after = rows.last().map(|(k, _)| k.clone());
                self.buf = rows
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect::<Vec<_>>()
                    .into_iter();
                self.buf.next().map(Ok)
            }
        }
    }
}

fn paged<'a, K: Clone + 'a, T: 'a>(
    fetch: impl FnMut(Option<&K>) -> Result<Vec<(K, T)>> + 'a,
) -> Box<dyn Iterator<Item = Result<T>> + 'a> {
    Box::new(Paged {
        after: None,
        buf: Vec::new().into_iter(),
        done: false,
        fetch,
    })
}

/// One row of `sql` on `conn`, if any (statements cached per connection).
fn one_on<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&Row) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    let mut st = conn.prepare_cached(sql)?;
    Ok(st.query_row(p, f).optional()?)
}

fn page_on(conn: &rusqlite::Connection, url: &str) -> Result<Option<PageRecord>> {
    let sql = format!("SELECT {PAGE_COLS} FROM pages WHERE url = ?");
    Ok(one_on(conn, &sql, [url], page_row)?.map(|(_, p)| p))
}

fn url_id_on(conn: &rusqlite::Connection, url: &str) -> Result<Option<i64>> {
    let p = super::urls::split(url);
    one_on(
        conn,
        "SELECT u.id FROM urls u JOIN hosts h ON h.id = u.host_id
         WHERE h.rhost = ? AND u.tail = ? AND u.scheme = ?",
        rusqlite::params![p.rhost, p.tail, p.scheme],
        |r| r.get(0),
    )
}

fn validators_on(conn: &rusqlite::Connection, url: &str) -> Result<Option<crate::Validators>> {
    let Some(id) = url_id_on(conn, url)? else {
        return Ok(None);
    };
    one_on(
        conn,
        "SELECT etag, last_modified, body_hash, unchanged, at FROM validators WHERE page = ?",
        [id],
        |r| {
            Ok(crate::Validators {
                etag: r.get(0)?,
                last_modified: r.get(1)?,
                body_hash: r.get::<_, i64>(2)? as u64,
                unchanged: r.get(3)?,
                at: r.get(4)?,
            })
        },
    )
}

fn forward_links_on(
    conn: &rusqlite::Connection,
    url_from: &str,
) -> Result<Vec<(LinkId, LinkRecord)>> {
    let Some(id) = url_id_on(conn, url_from)? else {
        return Ok(Vec::new());
    };
    let data: Option<Vec<u8>> = one_on(
        conn,
        "SELECT data FROM linksets WHERE page = ?",
        [id],
        |r| r.get(0),
    )?;
    match data {
        Some(d) => decode_links(&d),
        None => Ok(Vec::new()),
    }
}

impl SqlStore {
    fn one<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnOnce(&Row) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let w = self.writer();
        let mut st = w.conn.prepare_cached(sql)?;
        Ok(st.query_row(p, f).optional()?)
    }

    fn all<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        mut f: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let w = self.writer();
        let mut st = w.conn.prepare_cached(sql)?;
        let rows = st.query_map(p, |r| f(r))?;
        Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
    }

    /// A meta value.
    pub fn meta(&self, name: &str) -> Result<Option<String>> {
        self.one("SELECT value FROM meta WHERE name = ?", [name], |r| {
            r.get(0)
        })
    }

    /// Every meta value, by name.
    pub fn meta_values(&self) -> Result<Vec<(String, String)>> {
        self.all("SELECT name, value FROM meta ORDER BY name", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
    }

    /// The oldest committed outbox entries (a ClickHouse worker's unsent rows), at most
    /// `limit`, as `(seq, rows)`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(i64, String)>> {
        self.flush()?;
        self.all(
            &format!("SELECT seq, rows FROM outbox ORDER BY seq LIMIT {limit}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The page record of `url`.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>> {
        page_on(&self.writer().conn, url)
    }

    /// Every page record, in URL order, read in chunks.
    pub fn pages(&self) -> Box<dyn Iterator<Item = Result<(String, PageRecord)>> + '_> {
        paged(move |after: Option<&String>| {
            let sql =
                format!("SELECT {PAGE_COLS} FROM pages WHERE url > ? ORDER BY url LIMIT {CHUNK}");
            self.all(&sql, [after.map_or("", |s| s.as_str())], |r| {
                let (u, p) = page_row(r)?;
                Ok((u.clone(), (u, p)))
            })
        })
    }

    /// `(url, depth, last_run)` of every page row, in URL order, read in chunks: what a
    /// crawl needs to queue the known pages again, without the rest of each record.
    pub fn page_heads(&self) -> Box<dyn Iterator<Item = Result<(String, u16, u64)>> + '_> {
        paged(move |after: Option<&String>| {
            let sql = format!(
                "SELECT url, depth, last_run FROM pages WHERE url > ? ORDER BY url LIMIT {CHUNK}"
            );
            self.all(&sql, [after.map_or("", |s| s.as_str())], |r| {
                let u: String = r.get(0)?;
                Ok((u.clone(), (u, r.get(1)?, r.get::<_, i64>(2)? as u64)))
            })
        })
    }

    /// The revalidation state of `url`, if a full fetch stored one.
    pub fn validators(&self, url: &str) -> Result<Option<crate::Validators>> {
        validators_on(&self.writer().conn, url)
    }

    /// Every link record of `url_from` (live or not), in the page's order.
    pub fn forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        forward_links_on(&self.writer().conn, url_from)
    }

    /// The validators of `url` with its page record, from one committed snapshot that does
    /// not wait for the writer (see [`SqlStore::read_committed`]).
    pub fn committed_revalidation(
        &self,
        url: &str,
    ) -> Result<Option<(crate::Validators, PageRecord)>> {
        self.read_committed(|c| {
            let Some(v) = validators_on(c, url)? else {
                return Ok(None);
            };
            Ok(page_on(c, url)?.map(|p| (v, p)))
        })
    }

    /// [`SqlStore::forward_links`] from a committed snapshot that does not wait for the
    /// writer.
    pub fn committed_forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        self.read_committed(|c| forward_links_on(c, url_from))
    }

    /// Every link record, grouped by referring page, read in chunks of pages.
    pub fn all_links(&self) -> Box<dyn Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_> {
        let sets = paged(move |after: Option<&i64>| {
            self.all(
                &format!(
                    "SELECT l.page, t.url, l.data FROM linksets l JOIN url_text t ON t.id = l.page
                     WHERE l.page > ? ORDER BY l.page LIMIT {CHUNK}"
                ),
                [after.copied().unwrap_or(i64::MIN)],
                |r| {
                    let id: i64 = r.get(0)?;
                    Ok((id, (r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?)))
                },
            )
        });
        Box::new(sets.flat_map(|r| {
            let out: Vec<Result<(String, LinkId, LinkRecord)>> =
                match r.and_then(|(url, data)| Ok((url, decode_links(&data)?))) {
                    Ok((url, links)) => links
                        .into_iter()
                        .map(|(id, rec)| Ok((url.clone(), id, rec)))
                        .collect(),
                    Err(e) => vec![Err(e)],
                };
            out
        }))
    }

    /// The link set of every visited page in `scope` (its URL and records, in no set order):
    /// one statement instead of a page list and a read per page.
    pub fn link_sets_in(&self, scope: &Target) -> Result<Vec<(String, LinkSet)>> {
        let (cond, params) = scope_condition(scope);
        let sql = format!(
            "SELECT {url}, l.data FROM hosts h CROSS JOIN urls u ON u.host_id = h.id
             CROSS JOIN linksets l ON l.page = u.id WHERE {cond}",
            url = url_expr("u", "h"),
        );
        let raw = self.all(&sql, params_from_iter(params), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        raw.into_iter()
            .map(|(url, data)| Ok((url, decode_links(&data)?)))
            .collect()
    }

    /// The registrable domains (`hosts.domain`) of the pages with a live backlink into
    /// `scope`, without reading the backlinks' records.
    pub fn referring_domains(&self, scope: &Target) -> Result<Vec<String>> {
        let (cond, params) = scope_condition(scope);
        let sql = format!(
            "SELECT DISTINCT ph.domain FROM hosts h CROSS JOIN urls u ON u.host_id = h.id
             CROSS JOIN backlinks b ON b.target = u.id CROSS JOIN urls pu ON pu.id = b.page
             CROSS JOIN hosts ph ON ph.id = pu.host_id WHERE {cond} AND b.live = 1"
        );
        self.all(&sql, params_from_iter(params), |r| r.get(0))
    }

    /// The live backlinks of `scope` counted per referring registrable domain
    /// (`hosts.domain`), in one grouped statement: no link record is read whole.
    pub fn domain_link_counts(
        &self,
        scope: &Target,
    ) -> Result<Vec<(String, crate::DomainLinkCounts)>> {
        let (cond, params) = scope_condition(scope);
        let sql = format!(
            "SELECT ph.domain, count(*), sum(b.nofollow), count(DISTINCT b.page),
               count(DISTINCT CASE WHEN b.nofollow THEN b.page END), count(DISTINCT ph.id),
               count(DISTINCT CASE WHEN b.nofollow THEN ph.id END), min(b.first_seen)
             FROM hosts h CROSS JOIN urls u ON u.host_id = h.id
             CROSS JOIN backlinks b ON b.target = u.id CROSS JOIN urls pu ON pu.id = b.page
             CROSS JOIN hosts ph ON ph.id = pu.host_id WHERE {cond} AND b.live = 1
             GROUP BY ph.domain"
        );
        self.all(&sql, params_from_iter(params), |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
            Ok((
                r.get(0)?,
                crate::DomainLinkCounts {
                    backlinks: n(1)?,
                    nofollow: n(2)?,
                    pages: n(3)?,
                    pages_nofollow: n(4)?,
                    hosts: n(5)?,
                    hosts_nofollow: n(6)?,
                    first_seen: r.get(7)?,
                },
            ))
        })
    }

    /// Live external backlinks of `scope` in target-key order, then referring page.
    pub fn backlinks(&self, scope: &Target) -> Result<Vec<(String, LinkId, LinkRecord)>> {
        let (cond, params) = scope_condition(scope);
        let sql = format!(
            "SELECT {uf}, {ut}, {BACKLINK_COLS}
             FROM hosts h JOIN urls u ON u.host_id = h.id
             JOIN backlinks b ON b.target = u.id
             JOIN urls pu ON pu.id = b.page JOIN hosts ph ON ph.id = pu.host_id
             WHERE {cond} AND b.live = 1
             ORDER BY h.rhost, u.tail, 1, b.link_type, b.anchor, b.n",
            uf = url_expr("pu", "ph"),
            ut = url_expr("u", "h"),
        );
        self.all(&sql, params_from_iter(params), |r| {
            let (id, rec) = backlink_row(r, 2, r.get(1)?)?;
            Ok((r.get(0)?, id, rec))
        })
    }

    /// Events of `scope` (every event with `None`) in target-key order, then time.
    pub fn events(&self, scope: Option<&Target>) -> Result<Vec<EventRecord>> {
        let (cond, params) = scope.map(scope_condition).unwrap_or(("1".into(), vec![]));
        let sql = format!(
            "SELECT {uf}, {ut}, e.time, e.link_type, e.anchor, e.n, e.kind, e.origin, e.http_code,
               e.links_internal, e.links_external, e.reason, e.recovered
             FROM hosts h JOIN urls u ON u.host_id = h.id
             JOIN events e ON e.target = u.id
             JOIN urls pu ON pu.id = e.page JOIN hosts ph ON ph.id = pu.host_id
             WHERE {cond}
             ORDER BY h.rhost, u.tail, e.time, 1, e.link_type, e.anchor, e.n, e.kind",
            uf = url_expr("pu", "ph"),
            ut = url_expr("u", "h"),
        );
        self.all(&sql, params_from_iter(params), |r| {
            Ok(EventRecord {
                url_from: r.get(0)?,
                url_to: r.get(1)?,
                time: r.get(2)?,
                link_type: link_type(r.get(3)?)?,
                anchor: r.get(4)?,
                n: r.get(5)?,
                kind: if r.get::<_, i64>(6)? == 0 {
                    EventKind::New
                } else {
                    EventKind::Lost
                },
                origin: match r.get::<_, i64>(7)? {
                    0 => Origin::Fresh,
                    1 => Origin::Recrawl,
                    _ => Origin::Drop,
                },
                http_code: r.get(8)?,
                reason: r
                    .get::<_, Option<i64>>(11)?
                    .and_then(crate::LostReason::from_code),
                recovered: r.get::<_, i64>(12)? != 0,
                links_internal: r.get(9)?,
                links_external: r.get(10)?,
            })
        })
    }

    /// (new, lost) events of `scope` at or after `since`. Host scopes on a day boundary sum
    /// the `daily` table (O(hosts × days)); other scopes count events.
    pub fn count_events(&self, scope: &Target, since: i64) -> Result<(u64, u64)> {
        let (cond, mut params) = scope_condition(scope);
        let host_level = matches!(
            scope,
            Target::Domain(_) | Target::Subdomains(_) | Target::Host(_)
        );
        let sql = if host_level && since.rem_euclid(86_400) == 0 {
            params.push(rusqlite::types::Value::Integer(since.div_euclid(86_400)));
            format!(
                "SELECT coalesce(sum(dl.new), 0), coalesce(sum(dl.lost), 0)
                 FROM hosts h JOIN daily dl ON dl.host = h.id WHERE {cond} AND dl.day >= ?"
            )
        } else {
            params.push(rusqlite::types::Value::Integer(since));
            format!(
                "SELECT coalesce(sum(e.kind = 0), 0), coalesce(sum(e.kind = 1), 0)
                 FROM hosts h JOIN urls u ON u.host_id = h.id JOIN events e ON e.target = u.id
                 WHERE {cond} AND e.time >= ?"
            )
        };
        let w = self.writer();
        let mut st = w.conn.prepare_cached(&sql)?;
        let (n, l): (i64, i64) =
            st.query_row(params_from_iter(params), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((n as u64, l as u64))
    }

    /// Ranks of a registrable domain.
    pub fn domain(&self, name: &str) -> Result<Option<DomainRecord>> {
        self.one(
            "SELECT domain_rating, raw, ahrefs_top, source FROM domains WHERE name = ?",
            [name],
            |r| {
                Ok(DomainRecord {
                    domain_rating: r.get(0)?,
                    raw: r.get(1)?,
                    ahrefs_top: r.get::<_, i64>(2)? as u64,
                    source: RankSource::from_code(r.get(3)?),
                })
            },
        )
    }

    /// Every domain record, by name.
    pub fn domains(&self) -> Result<Vec<(String, DomainRecord)>> {
        self.all(
            "SELECT name, domain_rating, raw, ahrefs_top, source FROM domains ORDER BY name",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    DomainRecord {
                        domain_rating: r.get(1)?,
                        raw: r.get(2)?,
                        ahrefs_top: r.get::<_, i64>(3)? as u64,
                        source: RankSource::from_code(r.get(4)?),
                    },
                ))
            },
        )
    }

    /// Frontier entries after `after` in URL order, read in chunks.
    pub fn frontier_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = Result<(String, FrontierEntry)>> + 'a> {
        let start = after.map(str::to_string);
        let mut first = true;
        paged(move |last: Option<&String>| {
            let from = if first {
                first = false;
                start.clone()
            } else {
                last.cloned()
            };
            let (sql, p) = match &from {
                Some(f) => (
                    format!("SELECT url, depth, redirects, run FROM frontier WHERE url > ? ORDER BY url LIMIT {CHUNK}"),
                    vec![f.clone()],
                ),
                None => (
                    format!("SELECT url, depth, redirects, run FROM frontier ORDER BY url LIMIT {CHUNK}"),
                    vec![],
                ),
            };
            self.all(&sql, params_from_iter(p), |r| {
                let url: String = r.get(0)?;
                Ok((
                    url.clone(),
                    (
                        url,
                        FrontierEntry {
                            depth: r.get(1)?,
                            redirects: r.get(2)?,
                            run: r.get::<_, i64>(3)? as u64,
                        },
                    ),
                ))
            })
        })
    }

    /// One frontier entry.
    pub fn frontier_entry(&self, url: &str) -> Result<Option<FrontierEntry>> {
        self.one(
            "SELECT depth, redirects, run FROM frontier WHERE url = ?",
            [url],
            |r| {
                Ok(FrontierEntry {
                    depth: r.get(0)?,
                    redirects: r.get(1)?,
                    run: r.get::<_, i64>(2)? as u64,
                })
            },
        )
    }

    /// The rating history of `name` (a registrable domain or a page URL): `(day, rating)` at
    /// each change, oldest first.
    pub fn rating_history(&self, kind: RatingKind, name: &str) -> Result<Vec<(i64, u8)>> {
        self.all(
            "SELECT day, rating FROM ratings WHERE kind = ? AND name = ? ORDER BY day",
            rusqlite::params![kind.code(), name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        self.all(
            "SELECT id, as_of, started, finished, fetched, new_pages, errors, bytes, error_kinds,
               config FROM runs ORDER BY id",
            [],
            |r| {
                let kinds: String = r.get(8)?;
                Ok(RunRecord {
                    id: r.get::<_, i64>(0)? as u64,
                    as_of: r.get(1)?,
                    started: r.get(2)?,
                    finished: r.get(3)?,
                    fetched: r.get::<_, i64>(4)? as u64,
                    new_pages: r.get::<_, i64>(5)? as u64,
                    errors: r.get::<_, i64>(6)? as u64,
                    bytes: r.get::<_, i64>(7)? as u64,
                    error_kinds: kinds
                        .lines()
                        .filter_map(|l| {
                            let (k, n) = l.split_once('\t')?;
                            Some((k.to_string(), n.parse().ok()?))
                        })
                        .collect(),
                    config: r.get(9)?,
                })
            },
        )
    }

    /// Every token, by name.
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        self.all(
            "SELECT name, hash, rows_limit, centirows_left, created FROM tokens ORDER BY name",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    TokenRecord {
                        hash: r.get(1)?,
                        rows_limit: r.get::<_, i64>(2)? as u64,
                        centirows_left: r.get::<_, i64>(3)?.max(0) as u64,
                        created: r.get(4)?,
                    },
                ))
            },
        )
    }

    /// Counts for `linkdiff status`: (pages, live links, live backlinks, events, runs).
    pub fn counts(&self) -> Result<[u64; 5]> {
        let q = |sql: &str| -> Result<u64> {
            Ok(self
                .one(sql, [], |r| r.get::<_, Option<i64>>(0))?
                .flatten()
                .unwrap_or(0) as u64)
        };
        Ok([
            q("SELECT count(*) FROM pages")?,
            q("SELECT sum(live_links) FROM linksets")?,
            q("SELECT count(*) FROM backlinks WHERE live = 1")?,
            q("SELECT count(*) FROM events")?,
            q("SELECT count(*) FROM runs")?,
        ])
    }
}
