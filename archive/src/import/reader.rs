//! The reader thread: every input in order (standard input last), records in numbered batches to the workers, skipping what a checkpoint says is applied.

use super::*;

/// The reader thread: every input in order, records in batches to the workers.
pub(super) struct Reading {
    pub(super) to_workers: mpsc::SyncSender<ReadBatch>,
    pub(super) to_writer: mpsc::SyncSender<ToWriter>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) max_records: Option<u64>,
    pub(super) cap: usize,
    pub(super) from: Option<DomainSet>,
    pub(super) store: Store,
}

pub(super) type Reader = WarcReader<Box<dyn BufRead + Send>>;

impl Reading {
    /// The input's reader, where to resume, and for a URL where its reader says why it gave
    /// up (the file is then failed, not done).
    pub(super) fn open(
        &self,
        p: &Planned,
    ) -> std::io::Result<(Reader, Option<Position>, Option<remote::GaveUp>)> {
        if let Input::Url(url) = &p.input {
            let start = p.resume.map_or(0, |at| at.member);
            let http = remote::HttpReader::new(remote::client()?, url, start);
            let gave_up = http.gave_up();
            let raw: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(256 * 1024, http));
            let reader = match p.resume {
                Some(at) => WarcReader::resume(raw, at, self.cap)?,
                None => WarcReader::new(raw, self.cap)?,
            };
            return Ok((reader, None, Some(gave_up)));
        }
        let (reader, at) = self.open_local(p)?;
        Ok((reader, at, None))
    }

    fn open_local(&self, p: &Planned) -> std::io::Result<(Reader, Option<Position>)> {
        match (&p.input, p.resume) {
            (Input::Path(path), Some(at)) => {
                let mut f = std::fs::File::open(path)?;
                f.seek(SeekFrom::Start(at.member))?;
                let raw: Box<dyn BufRead + Send> =
                    Box::new(BufReader::with_capacity(256 * 1024, f));
                Ok((WarcReader::resume(raw, at, self.cap)?, None))
            }
            (input, at) => Ok((WarcReader::new(open(input)?, self.cap)?, at)),
        }
    }

    /// Standard input: its key comes from its first record. Returns where to resume (the
    /// records before are read and dropped: a pipe cannot seek), or `None` when an earlier
    /// import finished it.
    pub(super) fn stdin_checkpoint(&self, i: usize, first: &Item) -> Option<Option<Position>> {
        let Item::Record(r) = first else {
            return Some(None);
        };
        let Some(id) = r.header("WARC-Record-ID") else {
            return Some(None);
        };
        let key = format!("{CHECKPOINT_PREFIX}{id}");
        let stored = self.store.meta(&key).ok().flatten();
        let _ = self.to_writer.send(ToWriter::Key(i, key));
        match stored.as_deref() {
            Some("done") => None,
            Some(pos) => Some(Position::decode(pos)),
            None => Some(None),
        }
    }

    pub(super) fn run(self, planned: Vec<Planned>) {
        let mut seq = 0u64;
        let mut records = 0u64;
        let mut file_bytes_before = 0u64;
        for (i, p) in planned.into_iter().enumerate() {
            let _ = self.to_writer.send(ToWriter::Started(p.name.clone()));
            let (mut reader, mut drop_before, gave_up) = match self.open(&p) {
                Ok(r) => r,
                Err(e) if matches!(p.input, Input::Url(_)) => {
                    // One file of many: counted as failed, the others go on.
                    let _ = self
                        .to_writer
                        .send(ToWriter::FileFailed(p.name, e.to_string()));
                    continue;
                }
                Err(source) => {
                    let _ = self.to_writer.send(ToWriter::Failed(ImportError::Input {
                        name: p.name,
                        source,
                    }));
                    return;
                }
            };
            let mut batch = Vec::with_capacity(BATCH);
            let mut batch_bytes = 0usize;
            let mut complete = true;
            let mut last_progress = Instant::now();
            let mut first = p.input == Input::Stdin;
            loop {
                if self.stop.load(Ordering::Relaxed)
                    || self.max_records.is_some_and(|m| records >= m)
                {
                    complete = false;
                    break;
                }
                let Some(item) = reader.next_item() else {
                    break;
                };
                if std::mem::take(&mut first) {
                    match self.stdin_checkpoint(i, &item) {
                        Some(at) => drop_before = at,
                        None => break,
                    }
                }
                let (position, end, bytes, raw) = match item {
                    Item::Record(r) => {
                        batch_bytes += r.block.len();
                        let keep = self.from.as_ref().is_none_or(|f| {
                            target_host(&r).is_none_or(|h| f.covers(&h.to_ascii_lowercase()))
                        });
                        let (position, end, bytes) = (r.position, r.end, r.bytes);
                        let raw = if keep {
                            Raw::Record(Box::new(r))
                        } else {
                            Raw::Filtered
                        };
                        (position, end, bytes, raw)
                    }
                    Item::Problem { position, problem } => {
                        (position, position, 0, Raw::Problem(problem))
                    }
                };
                if drop_before.is_some_and(|at| position < at) {
                    continue;
                }
                records += 1;
                batch.push(Read1 {
                    input: i,
                    position,
                    end,
                    bytes,
                    raw,
                });
                if batch.len() >= BATCH || batch_bytes >= BATCH_BYTES {
                    batch_bytes = 0;
                    if self
                        .to_workers
                        .send((seq, std::mem::take(&mut batch)))
                        .is_err()
                    {
                        return;
                    }
                    seq += 1;
                }
                if last_progress.elapsed() >= Duration::from_millis(200) {
                    last_progress = Instant::now();
                    let _ = self.to_writer.send(ToWriter::FileBytes(
                        file_bytes_before + reader.compressed_pos(),
                    ));
                }
            }
            if !batch.is_empty() {
                if self.to_workers.send((seq, batch)).is_err() {
                    return;
                }
                seq += 1;
            }
            file_bytes_before += reader.compressed_pos();
            let _ = self.to_writer.send(ToWriter::FileBytes(file_bytes_before));
            if let Some(why) = gave_up.and_then(|g| g.lock().ok().and_then(|w| w.clone())) {
                // Not done: a rerun goes on from the last record applied.
                complete = false;
                let _ = self
                    .to_writer
                    .send(ToWriter::FileFailed(p.name.clone(), why));
            }
            let _ = self.to_writer.send(ToWriter::InputEnd {
                seq,
                input: i,
                complete,
            });
            if !complete {
                break;
            }
        }
    }
}
