//! `linkdiff import`: web archives (WARC, WARC.gz, WAT.gz) as visits.

use super::{open_store, UsageError};
use anyhow::Context;
use clap::Args;
use linkdiff_archive::import::{remote, DomainSet, ImportConfig, ImportStats, Importer, Input};
use linkdiff_indexer::Indexer;
use linkdiff_query::time::iso;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `.warc`, `.warc.gz` or `.wat.gz` files or `http(s)://` URLs (streamed; gzip detected
    /// by content); `-` reads standard input.
    #[arg(required_unless_present = "paths")]
    files: Vec<String>,
    /// A Common Crawl paths list (`warc.paths.gz`, `wat.paths.gz`: one path per line, gzip or
    /// plain), a file or a URL; each path is read from `--base`.
    #[arg(long, value_name = "FILE|URL")]
    paths: Option<String>,
    /// Where the paths of `--paths` are.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://data.commoncrawl.org/"
    )]
    base: String,
    /// This worker's share of `--paths`: the paths whose position (from 0) is I modulo N.
    /// Workers on other machines can feed one index (on ClickHouse); each file's checkpoint
    /// is kept in the index, so a rerun skips the finished files.
    #[arg(long, value_name = "I/N", requires = "paths", value_parser = linkdiff_model::Partition::parse)]
    worker: Option<linkdiff_model::Partition>,
    #[command(flatten)]
    db: super::DbArg,
    /// Keep only links to these domains (one per line; subdomains included).
    #[arg(long)]
    target_domains: Option<PathBuf>,
    /// Keep only pages on these domains (one per line; subdomains included).
    #[arg(long)]
    from_domains: Option<PathBuf>,
    /// Stop after reading N records (a rerun goes on from there).
    #[arg(long)]
    max_records: Option<u64>,
    /// Body bytes read per record (longer bodies are indexed from the part read).
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    max_body: usize,
    /// Worker threads parsing and extracting (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// auto, bar, plain or off.
    #[arg(long, default_value = "auto", value_parser = ["auto", "bar", "plain", "off"])]
    progress: String,
}

fn domains(path: &Path, flag: &str) -> anyhow::Result<DomainSet> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {flag} file {}", path.display()))?;
    DomainSet::parse(&text)
        .map_err(|e| UsageError(format!("{flag} {}: {e}", path.display())).into())
}

pub(super) fn run(a: ImportArgs) -> anyhow::Result<()> {
    let mut inputs = Vec::new();
    for f in &a.files {
        if f == "-" {
            if inputs.contains(&Input::Stdin) {
                return Err(UsageError("- (standard input) given twice".into()).into());
            }
            inputs.push(Input::Stdin);
        } else if remote::is_url(f) {
            inputs.push(Input::Url(f.clone()));
        } else if !Path::new(f).is_file() {
            return Err(UsageError(format!("{f} is not a file")).into());
        } else {
            inputs.push(Input::Path(PathBuf::from(f)));
        }
    }
    if let Some(list) = &a.paths {
        let (index, count) = a
            .worker
            .map_or((0, 1), |p| (p.index as usize, p.count as usize));
        let urls = remote::paths_list(list, &a.base, index, count)
            .with_context(|| format!("cannot read the paths list {list}"))?;
        if urls.is_empty() {
            return Err(UsageError(format!(
                "the paths list {list} names no file{}",
                a.worker
                    .map_or(String::new(), |p| format!(" for worker {p}"))
            ))
            .into());
        }
        inputs.extend(urls.into_iter().map(Input::Url));
    }
    let mut cfg = ImportConfig::new(inputs);
    cfg.target_domains = a
        .target_domains
        .as_deref()
        .map(|p| domains(p, "--target-domains"))
        .transpose()?;
    cfg.from_domains = a
        .from_domains
        .as_deref()
        .map(|p| domains(p, "--from-domains"))
        .transpose()?;
    cfg.max_records = a.max_records;
    cfg.max_body = a.max_body.max(1);
    if let Some(t) = a.threads {
        cfg.threads = t.max(1);
    }
    let store = open_store(&a.db.db)?;
    // One writer per index (crawl or import); queries and serve go on beside it.
    let _lock = store.crawl_lock()?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone());
    // N workers feeding one ClickHouse index rank once, after the last of them (as crawl
    // workers do): a worker ranking on its own would rank what the others have not yet sent,
    // and whichever finished last would leave its partial ranks.
    let rank = !(a.worker.is_some_and(|p| p.count > 1) && store.clickhouse().is_some());
    let (summary, failed) = import_counting_failures(&store, cfg, stop, &a.progress, rank)?;
    crate::outln!("{summary}");
    if failed > 0 {
        // Everything else is applied and ranked; the exit status says the run is not whole.
        anyhow::bail!(
            "{failed} files failed (see above); run the same command again to retry them"
        );
    }
    Ok(())
}

/// Sets `stop` on Ctrl-C or SIGTERM (the import finishes the records in hand and saves).
fn watch_signals(stop: Arc<AtomicBool>) {
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(super::crawl::wait_for_signal());
            crate::eprint_quiet!("linkdiff: stopping: applying the records in hand, then saving");
            stop.store(true, Ordering::Relaxed);
        });
}

/// One import with progress display and ranks; returns the summary paragraph.
pub fn import(
    store: &linkdiff_store::Store,
    cfg: ImportConfig,
    stop: Arc<AtomicBool>,
    progress_mode: &str,
) -> anyhow::Result<String> {
    import_counting_failures(store, cfg, stop, progress_mode, true).map(|(s, _)| s)
}

/// [`import`], also returning how many URL inputs failed; ranks only when `rank`.
fn import_counting_failures(
    store: &linkdiff_store::Store,
    cfg: ImportConfig,
    stop: Arc<AtomicBool>,
    progress_mode: &str,
    rank: bool,
) -> anyhow::Result<(String, usize)> {
    let sink = crate::sink::IndexSink::new(Indexer::new(store.clone()));
    let mode = match progress_mode {
        "auto" if std::io::stderr().is_terminal() => "bar",
        "auto" => "off",
        m => m,
    };
    let bar = (mode == "bar").then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut last_plain = Instant::now();
    let mut shown_file = 0usize;
    let mut show = |s: &ImportStats| {
        let secs = s.elapsed.as_secs_f64().max(0.001);
        // Which file of how many (the ones an earlier import finished are not counted).
        let file = match &s.current {
            Some(name) => format!(
                "file {}/{} {}: ",
                s.inputs_started,
                s.inputs - s.inputs_already_done,
                name.rsplit('/').next().unwrap_or(name)
            ),
            None => String::new(),
        };
        let msg = format!(
            "{file}{} records ({:.0}/s, {:.1} MB/s), {} visits, {} new / {} lost backlinks",
            s.records,
            s.records as f64 / secs,
            s.bytes as f64 / secs / 1e6,
            s.applied,
            s.new,
            s.lost
        );
        if let Some(b) = &bar {
            b.set_length(s.file_bytes_total.max(s.file_bytes));
            b.set_position(s.file_bytes);
            b.set_message(msg);
        } else if mode == "plain"
            && (last_plain.elapsed() >= Duration::from_secs(3) || s.inputs_started != shown_file)
        {
            // Every 3 s, and as each file starts.
            last_plain = Instant::now();
            shown_file = s.inputs_started;
            crate::eprint_quiet!("import: {msg}");
        }
    };
    let importer = Importer::new(store.clone(), cfg);
    let (s, _sink) = importer.run(sink, stop, &mut show)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = s.elapsed.as_secs_f64().max(0.001);
    let ranked = if s.applied > 0 && !rank {
        " Ranks: run `linkdiff rank` on the ClickHouse index once every worker is done.".to_string()
    } else if s.applied > 0 {
        let r = linkdiff_indexer::rank::recompute(store).context("ranking failed")?;
        format!(
            " Ranks recomputed over {} pages and {} domains.",
            r.pages, r.domains
        )
    } else {
        String::new()
    };
    Ok((format!(
        "Import run {}: read {} records ({} MB) from {} of {} inputs in {:.1} s ({:.0} records/s, {:.1} MB/s); \
         applied {} visits ({} new pages, {} failed captures), newest {}; {} links seen, {} new and {} lost backlinks; \
         {}.{}{}",
        s.run,
        s.records,
        s.bytes / 1_000_000,
        s.inputs - s.inputs_already_done,
        s.inputs,
        secs,
        s.records as f64 / secs,
        s.bytes as f64 / secs / 1e6,
        s.applied,
        s.new_pages,
        s.failed,
        s.newest.map(iso).unwrap_or_else(|| "none".into()),
        s.links,
        s.new,
        s.lost,
        not_applied(&s),
        if s.interrupted {
            " Stopped early: the next import of the same files goes on from here."
        } else {
            ""
        },
        ranked
    ) + &failed_files(&s), s.files_failed.len()))
}

/// The URL inputs that failed, for the summary (empty when none did).
fn failed_files(s: &ImportStats) -> String {
    if s.files_failed.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = s
        .files_failed
        .iter()
        .take(5)
        .map(|(name, why)| format!("{name} ({why})"))
        .collect();
    format!(
        " {} files failed: {}{}; the next import of the same files retries them from their checkpoints.",
        s.files_failed.len(),
        shown.join("; "),
        if s.files_failed.len() > 5 { "; …" } else { "" }
    )
}

/// What was read but not applied, by reason.
fn not_applied(s: &ImportStats) -> String {
    let mut parts = Vec::new();
    let mut add = |n: u64, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    add(s.inputs_already_done as u64, "inputs already imported");
    add(s.already, "captures already imported");
    add(s.out_of_order, "captures older than the page's last visit");
    add(s.filtered, "filtered out");
    for (kind, n) in &s.skipped {
        add(*n, &format!("{kind} records skipped"));
    }
    add(s.truncated, "truncated records skipped");
    add(s.corrupt, "corrupt records skipped");
    if parts.is_empty() {
        "nothing skipped".into()
    } else {
        parts.join(", ")
    }
}
