//! The writer side (the calling thread): batches back in read order, captures through the time window, visits into the sink with their checkpoints.

use super::*;

/// The writer side (the calling thread): batches back in read order, captures through the
/// time window, visits into the sink with checkpoints.
pub(super) struct Writer<'a> {
    pub(super) store: &'a Store,
    pub(super) cfg: &'a ImportConfig,
    pub(super) keys: Vec<Option<String>>,
    pub(super) run: u64,
    pub(super) stats: ImportStats,
    /// Next batch number to take, and batches that arrived before it.
    pub(super) next_seq: u64,
    pub(super) early: BTreeMap<u64, Vec<Done>>,
    /// Captures waiting, oldest first: (time, order).
    pub(super) window: BinaryHeap<Reverse<(i64, u64)>>,
    pub(super) held: HashMap<u64, (usize, Box<Capture>, bool)>,
    /// Links of the held captures.
    pub(super) held_links: usize,
    pub(super) order: u64,
    /// Per input: positions of its held captures by order.
    pub(super) pending: HashMap<usize, BTreeMap<u64, Position>>,
    /// Per input: where reading can go on after the last record taken.
    pub(super) last_end: HashMap<usize, Position>,
    /// Inputs the reader finished: (batches before this seq, read to the end).
    pub(super) ended: HashMap<usize, (u64, bool)>,
}

impl Writer<'_> {
    pub(super) fn drain_in_order<S: ImportSink>(
        &mut self,
        sink: &mut S,
    ) -> Result<(), ImportError> {
        while let Some(items) = self.early.remove(&self.next_seq) {
            self.next_seq += 1;
            for d in items {
                self.take(d, sink)?;
            }
        }
        Ok(())
    }

    pub(super) fn take<S: ImportSink>(&mut self, d: Done, sink: &mut S) -> Result<(), ImportError> {
        self.stats.records += 1;
        self.stats.bytes += d.bytes;
        self.last_end.insert(d.input, d.end);
        match d.worked {
            Worked::Capture(c, relevant) => {
                self.stats.captures += 1;
                let order = self.order;
                self.order += 1;
                self.window.push(Reverse((c.time, order)));
                self.pending
                    .entry(d.input)
                    .or_default()
                    .insert(order, d.position);
                self.held_links += links_of(&c.outcome);
                self.held.insert(order, (d.input, c, relevant));
                while self.window.len() > self.cfg.window.max(1)
                    || (self.held_links > WINDOW_LINKS && self.window.len() > 1)
                {
                    self.apply_oldest(sink)?;
                }
            }
            Worked::Filtered => self.stats.filtered += 1,
            Worked::Skip(kind) => *self.stats.skipped.entry(kind).or_default() += 1,
            Worked::Problem(Problem::Truncated) => self.stats.truncated += 1,
            Worked::Problem(Problem::Corrupt(_)) => self.stats.corrupt += 1,
        }
        Ok(())
    }

    /// Where input `i` can resume: its oldest held capture, else after its last record.
    pub(super) fn checkpoint(&self, i: usize) -> Option<Position> {
        self.pending
            .get(&i)
            .and_then(|p| p.values().next().copied())
            .or_else(|| self.last_end.get(&i).copied())
    }

    /// Apply the oldest held capture; false when none is held.
    pub(super) fn apply_oldest<S: ImportSink>(
        &mut self,
        sink: &mut S,
    ) -> Result<bool, ImportError> {
        let Some(Reverse((_, order))) = self.window.pop() else {
            return Ok(false);
        };
        let Some((input, c, relevant)) = self.held.remove(&order) else {
            return Ok(true);
        };
        self.held_links -= links_of(&c.outcome);
        if let Some(p) = self.pending.get_mut(&input) {
            p.remove(&order);
        }
        let mut extra = WriteBatch::new();
        if let (Some(key), Some(at)) = (&self.keys[input], self.checkpoint(input)) {
            extra.put_meta(key, &at.encode());
        }
        // A capture with no link to a listed domain is not stored unless the index already
        // has the page (its listed links may just have gone).
        if !relevant && self.store.page(&c.url)?.is_none() {
            self.stats.filtered += 1;
            if !extra.is_empty() {
                self.store.apply(extra)?;
            }
            return Ok(true);
        }
        let c = *c;
        let outcome = c.outcome;
        let failed = matches!(outcome, Outcome::Failed { .. });
        let visit = Visit {
            url: c.url,
            time: c.time,
            run: self.run,
            depth: 0,
            outcome,
        };
        match sink
            .apply(&visit, extra)
            .map_err(|e| ImportError::Sink(Box::new(e)))?
        {
            Applied::Visit {
                new,
                lost,
                links,
                new_page,
            } => {
                self.stats.applied += 1;
                self.stats.new += new as u64;
                self.stats.lost += lost as u64;
                self.stats.links += links as u64;
                self.stats.new_pages += new_page as u64;
                self.stats.failed += failed as u64;
                self.stats.newest = Some(self.stats.newest.unwrap_or(i64::MIN).max(visit.time));
            }
            Applied::Already => self.stats.already += 1,
            Applied::OutOfOrder => self.stats.out_of_order += 1,
        }
        Ok(true)
    }

    /// Mark inputs whose records have all been taken and applied as done.
    pub(super) fn finish_inputs(&mut self) -> Result<(), ImportError> {
        let finished: Vec<(usize, bool)> = self
            .ended
            .iter()
            .filter(|(i, (seq, _))| {
                self.next_seq >= *seq && self.pending.get(i).is_none_or(|p| p.is_empty())
            })
            .map(|(i, (_, complete))| (*i, *complete))
            .collect();
        let mut w = WriteBatch::new();
        for (i, complete) in finished {
            self.ended.remove(&i);
            if let Some(key) = &self.keys[i] {
                if complete {
                    w.put_meta(key, "done");
                } else if let Some(at) = self.checkpoint(i) {
                    w.put_meta(key, &at.encode());
                }
            }
        }
        if !w.is_empty() {
            self.store.apply(w)?;
        }
        Ok(())
    }
}
