//! The worker's and the reader's write path: a `WriteBatch` as ClickHouse rows (`Rows`), into the state file's outbox with the visit (worker) or inserted at once (reader).

use super::*;

/// Rows for ClickHouse grouped by table, as `JSONEachRow` lines.
#[derive(Default)]
pub(super) struct Rows {
    pub(super) tables: BTreeMap<&'static str, Vec<u8>>,
}

impl Rows {
    pub(super) fn push<T: Serialize>(&mut self, table: &'static str, row: &T) {
        let buf = self.tables.entry(table).or_default();
        serde_json::to_writer(&mut *buf, row).expect("rows always serialize");
        buf.push(b'\n');
    }

    pub(super) fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// One text: `table\tjson` per line (the outbox format).
    pub(super) fn to_outbox(&self) -> String {
        let mut out = String::new();
        for (t, lines) in &self.tables {
            for line in String::from_utf8_lossy(lines).lines() {
                out.push_str(t);
                out.push('\t');
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Parse outbox texts back into rows by table.
    pub(super) fn add_outbox(&mut self, text: &str) {
        for line in text.lines() {
            if let Some((t, json)) = line.split_once('\t') {
                let Some((name, ..)) = schema::TABLES.iter().find(|(n, ..)| *n == t) else {
                    continue;
                };
                let buf = self.tables.entry(name).or_default();
                buf.extend_from_slice(json.as_bytes());
                buf.push(b'\n');
            }
        }
    }
}

impl ChStore {
    /// The `config` of run `id`: the one written last by this process, else the stored one.
    fn run_config(&self, id: u64) -> Result<String> {
        if let Some((at, c)) = &*self.run_config.lock().unwrap_or_else(|p| p.into_inner()) {
            if *at == id {
                return Ok(c.clone());
            }
        }
        let runs = match &self.state {
            Some(s) => s.local.runs()?,
            None => self.runs()?,
        };
        Ok(runs
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.config)
            .unwrap_or_default())
    }

    /// Apply a batch: a worker commits the local part and the outbox together, then sends
    /// when due; a reader inserts the rows at once.
    pub fn apply(&self, batch: WriteBatch) -> Result<()> {
        let base = self.versions(batch.ops.len());
        let worker = self.state.as_ref().map_or("", |s| s.worker.as_str());
        let mut rows = Rows::default();
        let mut local = WriteBatch::new();
        for (i, op) in batch.ops.into_iter().enumerate() {
            let ver = base + i as u64;
            match op {
                Write::Page(url, r) => {
                    rows.push(
                        "pages",
                        &PageRow {
                            ver,
                            ..PageRow::new(&url, &r)
                        },
                    );
                    local.ops.push(Write::Page(url, r));
                }
                Write::UrlRating(url, ur) => {
                    let row = UrlRatingRow {
                        url: url.clone(),
                        url_rating: ur,
                        ver,
                    };
                    rows.push("url_ratings", &row);
                    local.ops.push(Write::UrlRating(url, ur));
                }
                Write::Links(url, links) => {
                    rows.push(
                        "linksets",
                        &LinkSetRow {
                            ver,
                            ..LinkSetRow::new(&url, &links)
                        },
                    );
                    local.ops.push(Write::Links(url, links));
                }
                Write::Backlink(from, id, r) => rows.push(
                    "links",
                    &LinkRow {
                        ver,
                        ..LinkRow::new(&from, &id, &r, true)
                    },
                ),
                Write::Unlist(from, id, r) => rows.push(
                    "links",
                    &LinkRow {
                        ver,
                        ..LinkRow::new(&from, &id, &r, false)
                    },
                ),
                Write::Event(e) => rows.push(
                    "events",
                    &EventRow {
                        ver,
                        ..EventRow::new(&e)
                    },
                ),
                Write::Recovered(e) => rows.push(
                    "recovered",
                    &RecoveredRow {
                        url_to: e.url_to,
                        time: e.time,
                        url_from: e.url_from,
                        link_type: e.link_type.code(),
                        anchor: e.anchor,
                        n: e.n,
                        ver,
                    },
                ),
                Write::Domain(d, r) => rows.push(
                    "domains",
                    &DomainRow {
                        ver,
                        ..DomainRow::new(&d, &r)
                    },
                ),
                Write::Frontier(..) | Write::Unqueue(_) | Write::Validators(..) => {
                    local.ops.push(op)
                }
                Write::Rating(kind, name, day, rating) => rows.push(
                    "ratings",
                    &RatingRow {
                        kind: kind.code(),
                        name,
                        day,
                        rating,
                        ver,
                    },
                ),
                Write::RunProgress(mut r) => {
                    r.config = self.run_config(r.id)?;
                    rows.push(
                        "runs",
                        &RunRow {
                            ver,
                            ..RunRow::new(worker, &r)
                        },
                    );
                    r.config = String::new();
                    local.ops.push(Write::RunProgress(r));
                }
                Write::Run(r) => {
                    *self.run_config.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((r.id, r.config.clone()));
                    rows.push(
                        "runs",
                        &RunRow {
                            ver,
                            ..RunRow::new(worker, &r)
                        },
                    );
                    local.ops.push(Write::Run(r));
                }
                Write::Token(name, t) => rows.push(
                    "tokens",
                    &TokenRow {
                        ver,
                        ..TokenRow::new(&name, &t)
                    },
                ),
                Write::Untoken(name) => rows.push(
                    "tokens",
                    &TokenRow {
                        deleted: 1,
                        ver,
                        hash: String::new(),
                        rows_limit: 0,
                        centirows_left: 0,
                        created: 0,
                        name,
                    },
                ),
                Write::Meta(name, value) => {
                    rows.push(
                        "meta",
                        &MetaRow {
                            name: name.clone(),
                            value: value.clone(),
                            deleted: 0,
                            ver,
                        },
                    );
                    local.ops.push(Write::Meta(name, value));
                }
                Write::Unmeta(name) => {
                    rows.push(
                        "meta",
                        &MetaRow {
                            name: name.clone(),
                            value: String::new(),
                            deleted: 1,
                            ver,
                        },
                    );
                    local.ops.push(Write::Unmeta(name));
                }
                Write::Outbox(_) | Write::Unoutbox(_) => {
                    return Err(StoreError::Aborted(
                        "outbox writes are the engine's own".into(),
                    ))
                }
                Write::Fail => local.ops.push(Write::Fail),
            }
        }
        match &self.state {
            None => {
                // What this process writes is read back at once, not from the cache.
                *self.cached() = ReadCache::new();
                if local.ops.iter().any(|w| matches!(w, Write::Fail)) {
                    return Err(StoreError::Aborted("failure injected by a test".into()));
                }
                self.insert(&rows)
            }
            Some(st) => {
                if !rows.is_empty() {
                    local.ops.push(Write::Outbox(rows.to_outbox()));
                }
                st.local.apply(local)?;
                let due = st
                    .last_send
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .elapsed()
                    >= SEND_EVERY;
                if due {
                    self.send_outbox()?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn insert(&self, rows: &Rows) -> Result<()> {
        for (t, body) in &rows.tables {
            let mut attempt = 0;
            loop {
                match self.client.insert(&self.table(t), body) {
                    Ok(()) => break,
                    Err(e) if attempt + 1 >= SEND_ATTEMPTS => return Err(e),
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(500 << attempt));
                        attempt += 1;
                    }
                }
            }
        }
        Ok(())
    }
}
