//! The import pipeline: inputs read in date order on a reader thread, records turned into
//! captures on worker threads (HTTP parsing, extraction), captures applied on the calling
//! thread in time order with a checkpoint in every visit's batch.
//!
//! **Time order.** The index keeps one link set per page, so visits of a page must arrive in
//! time order. Inputs are read one after another, sorted by the `WARC-Date` of their first
//! record (standard input last). Captures pass through a window of the [`ImportConfig::window`]
//! most recent ones and are applied oldest first, which sorts any disorder within that span
//! (within a file, or where consecutive files overlap). A capture still older than the page's
//! last visit in the index is counted as out of order and not applied; one at exactly that
//! time is the same capture imported again and is counted as already imported.
//!
//! **Resuming.** Each input is known by its first record's `WARC-Record-ID`. Every applied
//! visit's batch also stores, for its input, the position before which every record has been
//! applied or skipped (`import:<id>` in the store's meta); a finished input is stored as
//! `done` and skipped by later imports. A killed import resumes at the stored position
//! (seeking in a file; reading standard input and dropping what precedes it); the few records
//! applied past it are met again and count as already imported, so nothing is duplicated.

use crate::capture::{capture, target_host, Capture};
use crate::warc::{Item, Position, Problem, Record, WarcReader};
use linkdiff_model::{Outcome, Visit};
use linkdiff_store::{RunRecord, Store, WriteBatch};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mod domains;
mod reader;
pub mod remote;
mod workers;
mod writer;
pub use domains::{BadDomainList, DomainSet};
use reader::*;
use workers::*;
use writer::*;

/// One input of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file: `.warc`, `.warc.gz`, `.wat.gz` (detected by content, not name).
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// A file at an `http(s)://` URL, streamed (resumed with `Range` when the connection
    /// drops; a checkpoint resumes it from its offset).
    Url(String),
}

impl Input {
    /// How the input is shown to the user.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Stdin => "-".into(),
            Input::Url(u) => u.clone(),
        }
    }
}

/// What an import does.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// Files and/or standard input.
    pub inputs: Vec<Input>,
    /// Keep only links to these domains (`--target-domains`).
    pub target_domains: Option<DomainSet>,
    /// Keep only pages on these domains (`--from-domains`).
    pub from_domains: Option<DomainSet>,
    /// Stop after reading this many records (`--max-records`).
    pub max_records: Option<u64>,
    /// Body bytes read per record (the crawler's `--max-body`).
    pub max_body: usize,
    /// Worker threads parsing and extracting.
    pub threads: usize,
    /// Captures held to sort by time before they are applied.
    pub window: usize,
}

impl ImportConfig {
    /// Defaults: one worker per core, 5 MiB bodies, a window of 1,024 captures.
    pub fn new(inputs: Vec<Input>) -> ImportConfig {
        ImportConfig {
            inputs,
            target_domains: None,
            from_domains: None,
            max_records: None,
            max_body: 5 * 1024 * 1024,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            window: 1024,
        }
    }
}

/// What the sink did with one visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied, with the events it wrote.
    Visit {
        /// New backlink events.
        new: u32,
        /// Lost backlink events.
        lost: u32,
        /// Links in the visit.
        links: u32,
        /// First visit of the page.
        new_page: bool,
    },
    /// The page already has a visit at this time.
    Already,
    /// The page has a later visit.
    OutOfOrder,
}

/// Where imported visits go: the binary plugs the indexer in (time-ordered apply).
pub trait ImportSink {
    /// Why a visit could not be applied (kept as the source of [`ImportError::Sink`]).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Apply `visit` and `extra` (the checkpoint) in one atomic batch, if the visit is later
    /// than the page's last one; `extra` is written either way.
    fn apply(&mut self, visit: &Visit, extra: WriteBatch) -> Result<Applied, Self::Error>;
}

/// Why an import stopped before its end (per-record problems are counted, not errors).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An input could not be opened or read.
    #[error("cannot read {name}: {source}")]
    Input {
        /// The input.
        name: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] linkdiff_store::StoreError),
    /// The sink (indexer) failed; its own error is the source.
    #[error("indexing failed: {0}")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A crawl run was interrupted; its resume must come first.
    #[error(
        "crawl run {0} was interrupted; finish it first (`linkdiff crawl` resumes it), then import"
    )]
    CrawlInterrupted(u64),
}

/// Counts for the summary and the progress line.
#[derive(Debug, Clone, Default)]
pub struct ImportStats {
    /// The import's run number.
    pub run: u64,
    /// Inputs given.
    pub inputs: usize,
    /// Inputs skipped because an earlier import finished them.
    pub inputs_already_done: usize,
    /// Records read (all types).
    pub records: u64,
    /// Uncompressed bytes of the records read.
    pub bytes: u64,
    /// Bytes of the input files read (compressed size).
    pub file_bytes: u64,
    /// Total size of the input files (standard input unknown).
    pub file_bytes_total: u64,
    /// Captures (records that are a visit of a page).
    pub captures: u64,
    /// Visits applied.
    pub applied: u64,
    /// Of those, pages seen for the first time.
    pub new_pages: u64,
    /// Of those, failed captures (5xx, other 4xx, bad redirects).
    pub failed: u64,
    /// Captures already imported.
    pub already: u64,
    /// Captures older than the page's last visit.
    pub out_of_order: u64,
    /// Captures left out by `--from-domains` / `--target-domains`.
    pub filtered: u64,
    /// Records skipped, by kind (`other`, `revisit`, `not_http`, `bad_http`, ...).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Records cut off by the end of their input.
    pub truncated: u64,
    /// Records that are not valid WARC (or broken gzip), skipped.
    pub corrupt: u64,
    /// Links in the applied visits.
    pub links: u64,
    /// New backlink events.
    pub new: u64,
    /// Lost backlink events.
    pub lost: u64,
    /// Newest capture time applied.
    pub newest: Option<i64>,
    /// Time since the start.
    pub elapsed: Duration,
    /// Stopped early (signal or `--max-records`): a rerun goes on from the checkpoints.
    pub interrupted: bool,
    /// Inputs the reader has started this run (progress: "file K of N").
    pub inputs_started: usize,
    /// The input being read (progress).
    pub current: Option<String>,
    /// URL inputs that could not be read, or not to the end (after their retries), with why:
    /// not marked done, so a rerun tries them again from their checkpoints.
    pub files_failed: Vec<(String, String)>,
}

/// A record after the reader: kept for a worker, or already decided.
enum Raw {
    Record(Box<Record>),
    /// Left out by `--from-domains` before parsing.
    Filtered,
    Problem(Problem),
}

/// A numbered batch of records on its way to a worker.
type ReadBatch = (u64, Vec<Read1>);

struct Read1 {
    input: usize,
    position: Position,
    end: Position,
    bytes: u64,
    raw: Raw,
}

enum Worked {
    /// A capture, and whether it has a link to a `--target-domains` domain (always true
    /// without that filter).
    Capture(Box<Capture>, bool),
    Filtered,
    Skip(&'static str),
    Problem(Problem),
}

struct Done {
    input: usize,
    position: Position,
    end: Position,
    bytes: u64,
    worked: Worked,
}

/// Messages to the writer.
enum ToWriter {
    Batch(u64, Vec<Done>),
    /// The reader finished input `i` (all its records are in batches before `seq`).
    InputEnd {
        seq: u64,
        input: usize,
        complete: bool,
    },
    /// Compressed bytes read so far (progress).
    FileBytes(u64),
    /// The reader started an input (progress).
    Started(String),
    /// The checkpoint key of input `i`, learned from its first record (standard input).
    Key(usize, String),
    /// A URL input could not be read (whole, or after its retries): named, with why.
    FileFailed(String, String),
    Failed(ImportError),
}

/// One input with what the pre-pass learned about it.
struct Planned {
    input: Input,
    name: String,
    key: Option<String>,
    first_date: Option<String>,
    resume: Option<Position>,
}

const CHECKPOINT_PREFIX: &str = "import:";
/// Records per batch sent to a worker...
const BATCH: usize = 16;
/// ...or fewer when their blocks reach this many bytes (bounds memory with 5 MiB bodies).
const BATCH_BYTES: usize = 8 << 20;
/// Links the time window may hold (bounds memory whatever the pages): past it the oldest
/// captures are applied even before the window has its count.
const WINDOW_LINKS: usize = 500_000;

fn open(input: &Input) -> std::io::Result<Box<dyn BufRead + Send>> {
    Ok(match input {
        Input::Path(p) => Box::new(BufReader::with_capacity(
            256 * 1024,
            std::fs::File::open(p)?,
        )),
        Input::Stdin => Box::new(BufReader::with_capacity(256 * 1024, std::io::stdin())),
        Input::Url(u) => Box::new(BufReader::with_capacity(
            256 * 1024,
            remote::HttpReader::new(remote::client()?, u, 0),
        )),
    })
}

/// The first record of a file: its id (the input's key) and date (its place in the order).
fn first_record(input: &Input) -> std::io::Result<(Option<String>, Option<String>)> {
    let mut r = WarcReader::new(open(input)?, 64 * 1024)?;
    for _ in 0..4 {
        match r.next_item() {
            Some(Item::Record(rec)) => {
                return Ok((
                    rec.header("WARC-Record-ID").map(str::to_string),
                    rec.header("WARC-Date").map(str::to_string),
                ))
            }
            Some(Item::Problem { .. }) => continue,
            None => break,
        }
    }
    Ok((None, None))
}

/// Runs one import into `sink`.
pub struct Importer {
    store: Store,
    cfg: ImportConfig,
}

impl Importer {
    /// An import of `cfg.inputs` into `store`.
    pub fn new(store: Store, cfg: ImportConfig) -> Importer {
        Importer { store, cfg }
    }

    fn plan(&self, stats: &mut ImportStats) -> Result<Vec<Planned>, ImportError> {
        let mut planned = Vec::new();
        let mut stdin = None;
        for input in &self.cfg.inputs {
            let name = input.name();
            if *input == Input::Stdin {
                stdin = Some(Planned {
                    input: Input::Stdin,
                    name,
                    key: None,
                    first_date: None,
                    resume: None,
                });
                continue;
            }
            let (id, date) = match first_record(input) {
                Ok(r) => r,
                Err(e) if matches!(input, Input::Url(_)) => {
                    stats.files_failed.push((name, e.to_string()));
                    continue;
                }
                Err(source) => return Err(ImportError::Input { name, source }),
            };
            if let Input::Path(p) = input {
                stats.file_bytes_total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            }
            planned.push(Planned {
                input: input.clone(),
                name,
                key: id.map(|id| format!("{CHECKPOINT_PREFIX}{id}")),
                first_date: date,
                resume: None,
            });
        }
        // Inputs in the order of their first record's date (RFC 3339 in UTC sorts as text).
        planned.sort_by(|a, b| a.first_date.cmp(&b.first_date));
        planned.extend(stdin);
        let mut keep = Vec::new();
        for mut p in planned {
            if let Some(key) = &p.key {
                match self.store.meta(key)?.as_deref() {
                    Some("done") => {
                        stats.inputs_already_done += 1;
                        continue;
                    }
                    Some(pos) => p.resume = Position::decode(pos),
                    None => {}
                }
            }
            keep.push(p);
        }
        Ok(keep)
    }

    /// The import's run: a new one, or the interrupted import it continues.
    fn begin_run(&self) -> Result<RunRecord, ImportError> {
        let last = self.store.last_run()?;
        if let Some(l) = &last {
            if l.finished.is_none() {
                if l.is_import() {
                    return Ok(l.clone());
                }
                return Err(ImportError::CrawlInterrupted(l.id));
            }
        }
        let now = chrono::Utc::now().timestamp();
        let mut config = vec![RunRecord::IMPORT.to_string()];
        config.extend(self.cfg.inputs.iter().map(Input::name));
        let run = RunRecord {
            id: last.as_ref().map(|l| l.id + 1).unwrap_or(1),
            // The run's clock is the newest capture applied; until then the last run's.
            as_of: last.as_ref().map(|l| l.as_of).unwrap_or(0),
            started: now,
            config: config.join("\n"),
            ..Default::default()
        };
        let mut w = WriteBatch::new();
        w.put_run(&run);
        self.store.apply(w)?;
        Ok(run)
    }

    /// Import everything (or until `stop` turns true or `--max-records` is reached), calling
    /// `progress` about 5 times a second. Returns the counts and the sink.
    pub fn run<S: ImportSink>(
        &self,
        mut sink: S,
        stop: Arc<AtomicBool>,
        progress: &mut dyn FnMut(&ImportStats),
    ) -> Result<(ImportStats, S), ImportError> {
        let t0 = Instant::now();
        let mut stats = ImportStats {
            inputs: self.cfg.inputs.len(),
            ..Default::default()
        };
        let planned = self.plan(&mut stats)?;
        let mut run = self.begin_run()?;
        stats.run = run.id;
        let keys: Vec<Option<String>> = planned.iter().map(|p| p.key.clone()).collect();

        let threads = self.cfg.threads.max(1);
        let (to_workers, from_reader) = mpsc::sync_channel::<ReadBatch>(threads * 2);
        let (to_writer, from_workers) = mpsc::sync_channel::<ToWriter>(threads * 4);
        let from_reader = Arc::new(Mutex::new(from_reader));
        let reader = {
            let to_writer = to_writer.clone();
            let stop = stop.clone();
            let max_records = self.cfg.max_records;
            let cap = self.cfg.max_body;
            let from = self.cfg.from_domains.clone();
            let store = self.store.clone();
            std::thread::Builder::new()
                .name("import-reader".into())
                .spawn(move || {
                    let reading = Reading {
                        to_workers,
                        to_writer,
                        stop,
                        max_records,
                        cap,
                        from,
                        store,
                    };
                    reading.run(planned)
                })
                .map_err(|source| ImportError::Input {
                    name: "reader thread".into(),
                    source,
                })?
        };
        let mut workers = Vec::new();
        for i in 0..threads {
            let rx = from_reader.clone();
            let tx = to_writer.clone();
            let cap = self.cfg.max_body;
            let targets = self.cfg.target_domains.clone().map(Arc::new);
            let w = std::thread::Builder::new()
                .name(format!("import-worker-{i}"))
                .spawn(move || work(rx, tx, cap, targets))
                .map_err(|source| ImportError::Input {
                    name: "worker thread".into(),
                    source,
                })?;
            workers.push(w);
        }
        drop(to_writer);

        let mut writer = Writer {
            store: &self.store,
            cfg: &self.cfg,
            keys,
            run: run.id,
            stats,
            next_seq: 0,
            early: BTreeMap::new(),
            window: BinaryHeap::new(),
            held: HashMap::new(),
            held_links: 0,
            order: 0,
            pending: HashMap::new(),
            last_end: HashMap::new(),
            ended: HashMap::new(),
        };
        let mut last_progress = Instant::now();
        let mut failure = None;
        for msg in from_workers.iter() {
            match msg {
                ToWriter::Batch(seq, items) => {
                    writer.early.insert(seq, items);
                    writer.drain_in_order(&mut sink)?;
                }
                ToWriter::InputEnd {
                    seq,
                    input,
                    complete,
                } => {
                    writer.ended.insert(input, (seq, complete));
                    writer.finish_inputs()?;
                }
                ToWriter::FileBytes(n) => writer.stats.file_bytes = n,
                ToWriter::Started(name) => {
                    writer.stats.inputs_started += 1;
                    writer.stats.current = Some(name);
                }
                ToWriter::Key(i, key) => writer.keys[i] = Some(key),
                ToWriter::FileFailed(name, why) => writer.stats.files_failed.push((name, why)),
                ToWriter::Failed(e) => failure = Some(e),
            }
            if last_progress.elapsed() >= Duration::from_millis(200) {
                last_progress = Instant::now();
                writer.stats.elapsed = t0.elapsed();
                progress(&writer.stats);
            }
        }
        let _ = reader.join();
        for w in workers {
            let _ = w.join();
        }
        if let Some(e) = failure {
            return Err(e);
        }
        // Everything read is in; apply what the window holds.
        writer.drain_in_order(&mut sink)?;
        while writer.apply_oldest(&mut sink)? {}
        writer.finish_inputs()?;
        let mut stats = writer.stats;
        stats.interrupted = stop.load(Ordering::Relaxed)
            || self.cfg.max_records.is_some_and(|m| stats.records >= m);
        stats.elapsed = t0.elapsed();
        run.as_of = run.as_of.max(stats.newest.unwrap_or(0));
        run.fetched += stats.applied;
        run.new_pages += stats.new_pages;
        run.errors += stats.failed;
        run.bytes += stats.bytes;
        run.finished = Some(chrono::Utc::now().timestamp());
        let mut w = WriteBatch::new();
        w.put_run(&run);
        self.store.apply(w)?;
        self.store.flush()?;
        Ok((stats, sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_sets_cover_hosts_and_their_subdomains_only() {
        let d =
            DomainSet::parse("# mine\nExample.com\nhttps://blog.other.org/path\n*.wild.net\n\n")
                .unwrap();
        assert!(d.covers("example.com") && d.covers("www.example.com"));
        assert!(d.covers("a.b.example.com"));
        assert!(!d.covers("notexample.com") && !d.covers("example.com.evil.test"));
        assert!(d.covers("blog.other.org") && !d.covers("other.org"));
        assert!(d.covers("x.wild.net") && d.covers("wild.net"));
        assert!(d.covers_url("http://www.example.com:8080/x"));
        assert_eq!(
            DomainSet::parse("# nothing\n").unwrap_err(),
            BadDomainList::Empty
        );
        let err = DomainSet::parse("ok.com\nnot a domain\n").unwrap_err();
        assert_eq!(
            err,
            BadDomainList::NotADomain {
                line: 2,
                text: "not a domain".into()
            }
        );
        assert_eq!(err.to_string(), "line 2: \"not a domain\" is not a domain");
    }
}
