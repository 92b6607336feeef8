//! Typed reads: `FINAL` scans by `tkey` range, meta, pages through the 2 s read cache, link sets, backlinks, events, domains, the frontier and runs (a worker's state answers what it holds).

use super::*;

impl ChStore {
    pub(super) fn remote_meta(&self, name: &str) -> Result<Option<String>> {
        let rows: Vec<MetaRow> = self.client.select(&format!(
            "SELECT name, value, deleted, ver FROM {} FINAL WHERE name = {}",
            self.table("meta"),
            quote(name)
        ))?;
        Ok(rows.into_iter().find(|r| r.deleted == 0).map(|r| r.value))
    }

    /// A meta value (a worker's own first, then the shared one).
    pub fn meta(&self, name: &str) -> Result<Option<String>> {
        if let Some(st) = &self.state {
            if let Some(v) = st.local.meta(name)? {
                return Ok(Some(v));
            }
        }
        self.remote_meta(name)
    }

    /// Every meta value, by name (a worker's own values win).
    pub fn meta_values(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<MetaRow> = self.client.select(&format!(
            "SELECT name, value, deleted, ver FROM {} FINAL ORDER BY name",
            self.table("meta")
        ))?;
        let mut out: BTreeMap<String, String> = rows
            .into_iter()
            .filter(|r| r.deleted == 0)
            .map(|r| (r.name, r.value))
            .collect();
        if let Some(st) = &self.state {
            out.extend(st.local.meta_values()?);
        }
        Ok(out.into_iter().collect())
    }

    pub(super) fn pages_where(&self, cond: &str) -> Result<Vec<(String, PageRecord)>> {
        let rows: Vec<PageRow> = self.client.select(&format!(
            "SELECT {PAGE_COLS}, url_rating FROM (SELECT {PAGE_COLS} FROM {} FINAL WHERE {cond})
             ANY LEFT JOIN (SELECT url, url_rating, ver AS rating_ver FROM {} FINAL WHERE {cond})
             USING url ORDER BY url",
            self.table("pages"),
            self.table("url_ratings"),
        ))?;
        Ok(rows.into_iter().map(PageRow::into_record).collect())
    }

    pub(super) fn cached(&self) -> std::sync::MutexGuard<'_, ReadCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep the pages matching `cond` for the point reads that follow a scan.
    pub(super) fn prefetch_pages(&self, cond: &str) -> Result<()> {
        let pages = self.pages_where(cond)?;
        let mut c = self.cached();
        let c = c.fresh();
        c.pages
            .extend(pages.into_iter().map(|(url, p)| (url, Some(p))));
        Ok(())
    }

    /// One link record of a page (from what a scan fetched, else one read).
    pub fn link(&self, url_from: &str, id: &LinkId) -> Result<Option<LinkRecord>> {
        if let Some(st) = &self.state {
            return Ok(st
                .local
                .forward_links(url_from)?
                .into_iter()
                .find(|(i, _)| i == id)
                .map(|(_, r)| r));
        }
        let key = (url_from.to_string(), id.clone());
        if let Some(r) = self.cached().fresh().links.get(&key) {
            return Ok(Some(r.clone()));
        }
        Ok(self
            .forward_links(url_from)?
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, r)| r))
    }

    /// A page record (a worker's state file, else ClickHouse).
    /// A page's revalidation state: a worker's local state (readers do not crawl).
    pub fn validators(&self, url: &str) -> Result<Option<crate::Validators>> {
        match &self.state {
            Some(st) => st.local.validators(url),
            None => Ok(None),
        }
    }

    /// The stored record of `url`.
    pub fn page(&self, url: &str) -> Result<Option<PageRecord>> {
        if let Some(st) = &self.state {
            return st.local.page(url);
        }
        if let Some(p) = self.cached().fresh().pages.get(url) {
            return Ok(p.clone());
        }
        let cond = format!("url = {}", quote(url));
        let p = self.pages_where(&cond)?.pop().map(|(_, p)| p);
        self.cached()
            .fresh()
            .pages
            .insert(url.to_string(), p.clone());
        Ok(p)
    }

    /// Every page record, in URL order.
    pub fn pages(&self) -> Box<dyn Iterator<Item = Result<(String, PageRecord)>> + '_> {
        if let Some(st) = &self.state {
            return st.local.pages();
        }
        vec_iter(self.pages_where("1"))
    }

    /// A page's link records: a worker's every link; from ClickHouse its external links (the
    /// ones queries show).
    pub fn forward_links(&self, url_from: &str) -> Result<Vec<(LinkId, LinkRecord)>> {
        if let Some(st) = &self.state {
            return st.local.forward_links(url_from);
        }
        let rows: Vec<LinkRow> = self.client.select(&format!(
            "SELECT {LINK_COLS} FROM {} FINAL WHERE url_from = {} ORDER BY tkey, link_type, anchor, n",
            self.table("links"),
            quote(url_from)
        ))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let (_, id, rec) = r.into_record();
                (id, rec)
            })
            .collect())
    }

    /// Every live followed link (the rank's edges) as `(url_from, id, record)`; only the
    /// target, `live` and `nofollow` are meaningful when read from ClickHouse.
    pub fn all_links(&self) -> Box<dyn Iterator<Item = Result<(String, LinkId, LinkRecord)>> + '_> {
        if let Some(st) = &self.state {
            return st.local.all_links();
        }
        // Streamed: a reader thread decodes the answer as it arrives and hands rows over a
        // bounded channel, so memory holds a few hundred pages' targets, not the whole graph.
        let sql = format!(
            "SELECT url_from, targets, ver FROM {} FINAL ORDER BY url_from",
            self.table("linksets")
        );
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<LinkSetRow>>(256);
        let client = self.client.clone();
        std::thread::spawn(move || {
            let sent = client.select_each(&sql, |row: LinkSetRow| {
                tx.send(Ok(row)).map_err(|_| StoreError::ClickHouse {
                    server: client.server().to_string(),
                    status: None,
                    detail: "the reader of the edges stopped".into(),
                })
            });
            if let Err(e) = sent {
                let _ = tx.send(Err(e));
            }
        });
        Box::new(rx.into_iter().flat_map(|r| -> Box<dyn Iterator<Item = _>> {
            let r = match r {
                Ok(r) => r,
                Err(e) => return Box::new(std::iter::once(Err(e))),
            };
            let from = r.url_from;
            Box::new(r.targets.into_iter().map(move |to| {
                let id = LinkId {
                    url_to: to,
                    link_type: linkdiff_model::LinkType::Href,
                    anchor: String::new(),
                    n: 0,
                };
                let rec = LinkRecord {
                    live: true,
                    ..LinkRecord::default()
                };
                Ok((from.clone(), id, rec))
            }))
        }))
    }

    /// Live external backlinks of `scope`, in key order.
    pub fn backlinks(&self, scope: &Target) -> Result<Vec<(String, LinkId, LinkRecord)>> {
        let rows: Vec<LinkRow> = self.client.select(&format!(
            "SELECT {LINK_COLS} FROM {} FINAL WHERE live = 1 AND external = 1 AND {}
             ORDER BY tkey, url_from, link_type, anchor, n, url_to",
            self.table("links"),
            scope_sql(scope)
        ))?;
        if self.state.is_none() {
            // The referring and the target pages of these links.
            let links = self.table("links");
            let scope = scope_sql(scope);
            self.prefetch_pages(&format!(
                "url GLOBAL IN (SELECT url_from FROM {links} WHERE live = 1 AND external = 1 AND {scope})
                 OR url GLOBAL IN (SELECT url_to FROM {links} WHERE live = 1 AND external = 1 AND {scope})"
            ))?;
        }
        Ok(rows.into_iter().map(LinkRow::into_record).collect())
    }

    /// Events of `scope` (all when `None`), in key order, with their recovered marks.
    pub fn events(&self, scope: Option<&Target>) -> Result<Vec<EventRecord>> {
        let cond = scope.map_or("1".to_string(), scope_sql);
        let rows: Vec<EventRow> = self.client.select(&format!(
            "SELECT {EVENT_COLS}, (url_to, time, url_from, link_type, anchor, n) GLOBAL IN
               (SELECT url_to, time, url_from, link_type, anchor, n FROM {}) AS recovered
             FROM {} FINAL WHERE {cond}
             ORDER BY tkey, time, url_from, link_type, anchor, n, kind, url_to",
            self.table("recovered"),
            self.table("events"),
        ))?;
        if self.state.is_none() {
            // What the rows of these events show: their referring pages and link records.
            let events = self.table("events");
            self.prefetch_pages(&format!(
                "url GLOBAL IN (SELECT url_from FROM {events} WHERE {cond})
                 OR url GLOBAL IN (SELECT url_to FROM {events} WHERE {cond})"
            ))?;
            let links: Vec<LinkRow> = self.client.select(&format!(
                "SELECT {LINK_COLS} FROM {} FINAL WHERE {cond}",
                self.table("links")
            ))?;
            let mut c = self.cached();
            let c = c.fresh();
            for l in links {
                let (from, id, rec) = l.into_record();
                c.links.insert((from, id), rec);
            }
        }
        Ok(rows.into_iter().map(EventRow::into_record).collect())
    }

    /// (new, lost) events of `scope` at or after `since`.
    pub fn count_events(&self, scope: &Target, since: i64) -> Result<(u64, u64)> {
        #[derive(serde::Deserialize)]
        struct C {
            new: u64,
            lost: u64,
        }
        let c: Vec<C> = self.client.select(&format!(
            "SELECT countIf(kind = 0) AS new, countIf(kind = 1) AS lost FROM
               (SELECT kind, ver FROM {} FINAL WHERE {} AND time >= {since})",
            self.table("events"),
            scope_sql(scope)
        ))?;
        Ok(c.first().map_or((0, 0), |c| (c.new, c.lost)))
    }

    /// [`ChStore::count_events`] of many scopes, 100 per statement: one `UNION ALL` of the
    /// per-scope counts, so each still reads only its key ranges, in one round trip.
    pub fn count_events_many(&self, scopes: &[Target], since: i64) -> Result<Vec<(u64, u64)>> {
        #[derive(serde::Deserialize)]
        struct C {
            t: u64,
            new: u64,
            lost: u64,
        }
        let mut out = vec![(0u64, 0u64); scopes.len()];
        for (c, chunk) in scopes.chunks(100).enumerate() {
            let parts: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, scope)| {
                    format!(
                        "SELECT toUInt64({}) AS t, countIf(kind = 0) AS new, countIf(kind = 1) AS lost
                         FROM (SELECT kind, ver FROM {} FINAL WHERE {} AND time >= {since})",
                        c * 100 + i,
                        self.table("events"),
                        scope_sql(scope)
                    )
                })
                .collect();
            let rows: Vec<C> = self.client.select(&parts.join(" UNION ALL "))?;
            for r in rows {
                if let Some(slot) = out.get_mut(r.t as usize) {
                    *slot = (r.new, r.lost);
                }
            }
        }
        Ok(out)
    }

    /// A domain's ranks (all domains are read at once and kept for the read cache's TTL:
    /// a query asks for many).
    pub fn domain(&self, name: &str) -> Result<Option<DomainRecord>> {
        if let Some(d) = &self.cached().fresh().domains {
            return Ok(d.get(name).cloned());
        }
        let all: std::collections::HashMap<String, DomainRecord> =
            self.domains()?.into_iter().collect();
        let found = all.get(name).cloned();
        self.cached().fresh().domains = Some(all);
        Ok(found)
    }

    pub(super) fn domains_where(&self, cond: &str) -> Result<Vec<(String, DomainRecord)>> {
        let rows: Vec<DomainRow> = self.client.select(&format!(
            "SELECT name, domain_rating, raw, ahrefs_top, source, ver FROM {} FINAL WHERE {cond} ORDER BY name",
            self.table("domains")
        ))?;
        Ok(rows.into_iter().map(DomainRow::into_record).collect())
    }

    /// Every domain's ranks.
    pub fn domains(&self) -> Result<Vec<(String, DomainRecord)>> {
        self.domains_where("1")
    }

    /// A worker's frontier after `after` (empty for a reader).
    pub fn frontier_after<'a>(
        &'a self,
        after: Option<&str>,
    ) -> Box<dyn Iterator<Item = Result<(String, FrontierEntry)>> + 'a> {
        match &self.state {
            Some(st) => st.local.frontier_after(after),
            None => Box::new(std::iter::empty()),
        }
    }

    /// One frontier entry of a worker.
    pub fn frontier_entry(&self, url: &str) -> Result<Option<FrontierEntry>> {
        match &self.state {
            Some(st) => st.local.frontier_entry(url),
            None => Ok(None),
        }
    }

    /// The rating history of `name`: `(day, rating)` at each change, oldest first (always
    /// from ClickHouse: `rank` writes it there).
    pub fn rating_history(&self, kind: crate::RatingKind, name: &str) -> Result<Vec<(i64, u8)>> {
        let rows: Vec<RatingRow> = self.client.select(&format!(
            "SELECT kind, name, day, rating, ver FROM {} FINAL
             WHERE kind = {} AND name = {} ORDER BY day",
            self.table("ratings"),
            kind.code(),
            quote(name)
        ))?;
        Ok(rows.into_iter().map(|r| (r.day, r.rating)).collect())
    }

    /// The newest imported rating of each source for the names asked, a few thousand names
    /// per statement ([`crate::Store::imported_ratings`] picks between sources).
    pub fn imported_ratings(&self, names: &[&str]) -> Result<Vec<(String, crate::ImportedRating)>> {
        let kinds: Vec<String> = crate::RankSource::ALL
            .iter()
            .map(|s| crate::RatingKind::Imported(*s).code().to_string())
            .collect();
        let mut out = Vec::new();
        for chunk in names.chunks(2_000) {
            let list: Vec<String> = chunk.iter().map(|n| quote(n)).collect();
            let rows: Vec<RatingRow> = self.client.select(&format!(
                "SELECT kind, name, d AS day, r AS rating, toUInt64(0) AS ver FROM (
                   SELECT kind, name, max(day) AS d, argMax(rating, day) AS r
                   FROM {} FINAL WHERE kind IN ({}) AND name IN ({}) GROUP BY kind, name)",
                self.table("ratings"),
                kinds.join(","),
                list.join(",")
            ))?;
            for r in rows {
                if let Some(source) = crate::RankSource::from_code(r.kind.wrapping_sub(1)) {
                    out.push((
                        r.name,
                        crate::ImportedRating {
                            source,
                            day: r.day,
                            rating: r.rating,
                        },
                    ));
                }
            }
        }
        Ok(out)
    }

    /// A worker's own runs; a reader's: every worker's, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        if let Some(st) = &self.state {
            return st.local.runs();
        }
        let rows: Vec<RunRow> = self.client.select(&format!(
            "SELECT worker, id, as_of, started, finished, fetched, new_pages, errors, bytes,
                    error_kinds, config, ver
             FROM {} FINAL ORDER BY started, worker, id",
            self.table("runs")
        ))?;
        Ok(rows.into_iter().map(RunRow::into_record).collect())
    }
}
