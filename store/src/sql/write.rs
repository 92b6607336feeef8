//! Typed writes as rows.

use super::urls::split;
use super::{Writer, URL_CACHE};
use crate::records::{EventKind, LinkRecord, Origin};
use crate::write::{encode_links, Write, WriteBatch};
use crate::Result;
use linkdiff_model::{registrable_domain, LinkId};
use rusqlite::{params, OptionalExtension};
use std::collections::HashSet;

/// zstd level of link sets: fast enough to stay off the ingest profile, 3–6× smaller.
pub(super) const ZSTD_LEVEL: i32 = 3;

impl Writer {
    /// The id of `url` in `urls` (and its host id), inserted when new.
    pub(crate) fn url_id(&mut self, url: &str) -> Result<(i64, i64)> {
        if let Some(&ids) = self.urls.get(url) {
            return Ok(ids);
        }
        let p = split(url);
        let host_id = match self.hosts.get(&p.rhost) {
            Some(&id) => id,
            None => {
                let mut st = self
                    .conn
                    .prepare_cached("SELECT id FROM hosts WHERE rhost = ?")?;
                let id = match st.query_row([&p.rhost], |r| r.get(0)).optional()? {
                    Some(id) => id,
                    None => {
                        let domain = registrable_domain(&p.host).to_string();
                        self.conn
                            .prepare_cached(
                                "INSERT INTO hosts(rhost, host, domain, domain_rating, ahrefs_top)
                                 SELECT ?1, ?2, ?3, coalesce(d.domain_rating, 0), coalesce(d.ahrefs_top, 0)
                                 FROM (SELECT 1) LEFT JOIN domains d ON d.name = ?3",
                            )?
                            .execute(params![p.rhost, p.host, domain])?;
                        self.conn.last_insert_rowid()
                    }
                };
                self.hosts.insert(p.rhost.clone(), id);
                id
            }
        };
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM urls WHERE host_id = ? AND tail = ? AND scheme = ?")?
            .query_row(params![host_id, p.tail, p.scheme], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                self.conn
                    .prepare_cached("INSERT INTO urls(host_id, tail, scheme) VALUES (?, ?, ?)")?
                    .execute(params![host_id, p.tail, p.scheme])?;
                self.conn.last_insert_rowid()
            }
        };
        if self.urls.len() >= URL_CACHE {
            self.urls.clear();
        }
        self.urls.insert(url.to_string(), (id, host_id));
        Ok((id, host_id))
    }
}

fn origin_code(o: Origin) -> i64 {
    match o {
        Origin::Fresh => 0,
        Origin::Recrawl => 1,
        Origin::Drop => 2,
    }
}

/// The id of referring page `url`, with a `pages` row (an empty one if the batch does not
/// write the page itself): queries read `url_from` and its host from `pages`.
fn referring_page(w: &mut Writer, url: &str, batch_pages: &mut HashSet<i64>) -> Result<i64> {
    let (id, host_id) = w.url_id(url)?;
    if batch_pages.insert(id) {
        w.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO pages(id, url, host_id, last_status, consecutive_failures,
                   dropped, title, language, encoding, page_size, ip, links_internal,
                   links_external, url_rating, depth, last_run)
                 VALUES (?, ?, ?, 0, 0, 0, '', '', '', 0, '', 0, 0, 0, 0, 0)",
            )?
            .execute(params![id, url, host_id])?;
    }
    Ok(id)
}

fn put_backlink(
    w: &mut Writer,
    from: &str,
    id: &LinkId,
    r: &LinkRecord,
    batch_pages: &mut HashSet<i64>,
) -> Result<()> {
    let (target, _) = w.url_id(&id.url_to)?;
    let page = referring_page(w, from, batch_pages)?;
    w.conn
        .prepare_cached(
            "INSERT OR REPLACE INTO backlinks(target, page, link_type, anchor, n, live, nofollow,
               redirect, alt, text_pre, text_post, first_seen, streak_start, before_streak,
               last_seen, prev_seen, original, rendered)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        )?
        .execute(params![
            target,
            page,
            id.link_type.code(),
            id.anchor,
            id.n,
            r.live,
            r.nofollow,
            r.redirect,
            r.alt,
            r.text_pre,
            r.text_post,
            r.first_seen,
            r.streak_start,
            r.before_streak,
            r.last_seen,
            r.prev_seen,
            r.original,
            r.rendered
        ])?;
    Ok(())
}

/// Apply every write of `batch` with the writer's open transaction (by reference: the writer
/// keeps the batch until the transaction commits, to replay it after another batch fails).
pub(super) fn apply(w: &mut Writer, batch: &WriteBatch) -> Result<()> {
    // Pages this batch has written or made sure of.
    let mut pages: HashSet<i64> = HashSet::new();
    // New and lost events per (target host, day), added to `daily` once per batch.
    let mut daily: Vec<((i64, i64), [i64; 2])> = Vec::new();
    for op in &batch.ops {
        match op {
            Write::Page(url, r) => {
                let (id, host_id) = w.url_id(url)?;
                pages.insert(id);
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO pages(id, url, host_id, first_visit, last_visit,
                           last_ok_visit, first_ok_visit, prev_ok_visit, last_status,
                           consecutive_failures, dropped, title, language, encoding, page_size, ip,
                           links_internal, links_external, url_rating, depth, last_run,
                           broken_since)
                         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    )?
                    .execute(params![
                        id,
                        url,
                        host_id,
                        r.first_visit,
                        r.last_visit,
                        r.last_ok_visit,
                        r.first_ok_visit,
                        r.prev_ok_visit,
                        r.last_status,
                        r.consecutive_failures,
                        r.dropped,
                        r.title,
                        r.language,
                        r.encoding,
                        r.page_size as i64,
                        r.ip,
                        r.links_internal,
                        r.links_external,
                        r.url_rating,
                        r.depth,
                        r.last_run as i64,
                        r.broken_since
                    ])?;
            }
            Write::UrlRating(url, ur) => {
                w.conn
                    .prepare_cached("UPDATE pages SET url_rating = ? WHERE url = ?")?
                    .execute(params![ur, url])?;
            }
            Write::Links(url, links) => {
                let (id, _) = w.url_id(url)?;
                let live = links.iter().filter(|(_, r)| r.live).count() as i64;
                let data = w.zstd.compress(&encode_links(&links)).map_err(|source| {
                    crate::StoreError::Io {
                        what: "compress a link set".into(),
                        source,
                    }
                })?;
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO linksets(page, live_links, data) VALUES (?,?,?)",
                    )?
                    .execute(params![id, live, data])?;
            }
            Write::Backlink(from, id, r) | Write::Unlist(from, id, r) => {
                put_backlink(w, from, id, r, &mut pages)?
            }
            Write::Event(ev) => {
                let (target, host) = w.url_id(&ev.url_to)?;
                let page = referring_page(w, &ev.url_from, &mut pages)?;
                let kind = match ev.kind {
                    EventKind::New => 0,
                    EventKind::Lost => 1,
                };
                let inserted = w
                    .conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO events(target, time, page, link_type, anchor, n, kind,
                           origin, http_code, links_internal, links_external, reason)
                         VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    )?
                    .execute(params![
                        target,
                        ev.time,
                        page,
                        ev.link_type.code(),
                        ev.anchor,
                        ev.n,
                        kind,
                        origin_code(ev.origin),
                        ev.http_code,
                        ev.links_internal,
                        ev.links_external,
                        ev.reason.map(|r| r.code())
                    ])?;
                if inserted == 1 {
                    let key = (host, ev.time.div_euclid(86_400));
                    match daily.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, n)) => n[kind as usize] += 1,
                        None => daily.push((key, [1 - kind, kind])),
                    }
                }
            }
            Write::Domain(d, r) => {
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO domains(name, domain_rating, raw, ahrefs_top, source)
                         VALUES (?,?,?,?,?)",
                    )?
                    .execute(params![
                        d,
                        r.domain_rating,
                        r.raw,
                        r.ahrefs_top as i64,
                        r.source.map_or(0, |s| s.code())
                    ])?;
                w.conn
                    .prepare_cached(
                        "UPDATE hosts SET domain_rating = ?, ahrefs_top = ? WHERE domain = ?",
                    )?
                    .execute(params![r.domain_rating, r.ahrefs_top as i64, d])?;
            }
            Write::Frontier(url, e) => {
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO frontier(url, depth, redirects, run) VALUES (?,?,?,?)",
                    )?
                    .execute(params![url, e.depth, e.redirects, e.run as i64])?;
            }
            Write::Validators(url, v) => {
                let (page, _) = w.url_id(url)?;
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO validators(page, etag, last_modified, body_hash, unchanged, at) VALUES (?,?,?,?,?,?)",
                    )?
                    .execute(params![page, v.etag, v.last_modified, v.body_hash as i64, v.unchanged, v.at])?;
            }
            Write::Rating(kind, name, day, rating) => {
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO ratings(kind, name, day, rating) VALUES (?,?,?,?)",
                    )?
                    .execute(params![kind.code(), name, day, rating])?;
            }
            Write::Unqueue(url) => {
                w.conn
                    .prepare_cached("DELETE FROM frontier WHERE url = ?")?
                    .execute([url])?;
            }
            Write::Run(r) | Write::RunProgress(r) => {
                let kinds: String = r
                    .error_kinds
                    .iter()
                    .map(|(k, n)| format!("{k}\t{n}\n"))
                    .collect();
                let sql = if matches!(op, Write::Run(_)) {
                    "INSERT OR REPLACE INTO runs(id, as_of, started, finished, fetched,
                       new_pages, errors, bytes, error_kinds, config)
                     VALUES (?,?,?,?,?,?,?,?,?,?)"
                } else {
                    "INSERT INTO runs(id, as_of, started, finished, fetched,
                       new_pages, errors, bytes, error_kinds, config)
                     VALUES (?,?,?,?,?,?,?,?,?,?)
                     ON CONFLICT(id) DO UPDATE SET as_of = excluded.as_of,
                       started = excluded.started, finished = excluded.finished,
                       fetched = excluded.fetched, new_pages = excluded.new_pages,
                       errors = excluded.errors, bytes = excluded.bytes,
                       error_kinds = excluded.error_kinds"
                };
                w.conn.prepare_cached(sql)?.execute(params![
                    r.id as i64,
                    r.as_of,
                    r.started,
                    r.finished,
                    r.fetched as i64,
                    r.new_pages as i64,
                    r.errors as i64,
                    r.bytes as i64,
                    kinds,
                    r.config
                ])?;
            }
            Write::Token(name, r) => {
                w.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO tokens(name, hash, rows_limit, centirows_left, created)
                         VALUES (?,?,?,?,?)",
                    )?
                    .execute(params![
                        name,
                        r.hash,
                        r.rows_limit as i64,
                        r.centirows_left as i64,
                        r.created
                    ])?;
            }
            Write::Untoken(name) => {
                w.conn
                    .prepare_cached("DELETE FROM tokens WHERE name = ?")?
                    .execute([name])?;
            }
            Write::Fail => {
                return Err(crate::StoreError::Aborted(
                    "failure injected by a test".into(),
                ))
            }
            Write::Meta(name, v) => {
                w.conn
                    .prepare_cached("INSERT OR REPLACE INTO meta(name, value) VALUES (?,?)")?
                    .execute(params![name, v])?;
            }
            Write::Recovered(ev) => {
                let (target, _) = w.url_id(&ev.url_to)?;
                let page = referring_page(w, &ev.url_from, &mut pages)?;
                w.conn
                    .prepare_cached(
                        "UPDATE events SET recovered = 1 WHERE target = ? AND time = ? AND page = ?
                           AND link_type = ? AND anchor = ? AND n = ? AND kind = 1",
                    )?
                    .execute(params![
                        target,
                        ev.time,
                        page,
                        ev.link_type.code(),
                        ev.anchor,
                        ev.n
                    ])?;
            }
            Write::Outbox(rows) => {
                w.conn
                    .prepare_cached("INSERT INTO outbox(rows) VALUES (?)")?
                    .execute([rows])?;
            }
            Write::Unoutbox(upto) => {
                w.conn
                    .prepare_cached("DELETE FROM outbox WHERE seq <= ?")?
                    .execute([upto])?;
            }
            Write::Unmeta(name) => {
                w.conn
                    .prepare_cached("DELETE FROM meta WHERE name = ?")?
                    .execute([name])?;
            }
        }
    }
    for ((host, day), [new, lost]) in daily {
        w.conn
            .prepare_cached(
                "INSERT INTO daily(host, day, new, lost) VALUES (?,?,?,?)
                 ON CONFLICT(host, day) DO UPDATE
                 SET new = new + excluded.new, lost = lost + excluded.lost",
            )?
            .execute(params![host, day, new, lost])?;
    }
    Ok(())
}
