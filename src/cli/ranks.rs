//! `linkdiff ranks import`: domain ratings from lists made outside the crawl (Common Crawl's
//! web graph ranks, Tranco, a CSV), used by `rank` for the domains the crawl knows little
//! about (see [`linkdiff_indexer::imported`]).

use super::{open_store, UsageError};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use linkdiff_indexer::imported::{self, By, Options};
use linkdiff_store::RankSource;

/// `ranks` subcommands.
#[derive(Debug, Subcommand)]
pub enum RanksCmd {
    /// Import a ranks list (a file or an http(s) URL, gzip or plain), then recompute ranks.
    Import(ImportArgs),
}

/// A list's format (`--format`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Common Crawl web graph ranks (`*-host-ranks.txt.gz`, `*-domain-ranks.txt.gz`):
    /// tab-separated, reversed names, harmonic centrality and PageRank positions.
    CcWebgraph,
    /// `rank,domain` lines (the Tranco list and lists shaped like it).
    Tranco,
    /// A CSV with a header naming a `domain` column and a `rating` (0–100, kept as is) or
    /// `rank` (a position, mapped like the others) column.
    Csv,
}

impl From<Format> for RankSource {
    fn from(f: Format) -> RankSource {
        match f {
            Format::CcWebgraph => RankSource::CcWebgraph,
            Format::Tranco => RankSource::Tranco,
            Format::Csv => RankSource::Csv,
        }
    }
}

/// Arguments of `ranks import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The list: a file, `-` for standard input, or an http(s) URL (streamed; a dropped
    /// connection resumes from the last byte read).
    source: String,
    /// The list's format.
    #[arg(long, value_enum)]
    format: Format,
    /// The ranking a `cc-webgraph` file is read by: `harmonic` (harmonic centrality, Common
    /// Crawl's own order) or `pagerank`.
    #[arg(long, default_value = "harmonic")]
    by: String,
    /// Skip entries ranked after this position (keeps the index small: a domain graph lists
    /// about 100 million domains).
    #[arg(long)]
    max_rank: Option<u64>,
    /// Do not recompute ranks afterwards (run `linkdiff rank` later).
    #[arg(long)]
    no_rank: bool,
    #[command(flatten)]
    db: super::DbArg,
}

/// Run a `ranks` subcommand.
pub fn run(cmd: RanksCmd) -> anyhow::Result<()> {
    match cmd {
        RanksCmd::Import(a) => import(a),
    }
}

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let by: By = a.by.parse().map_err(|e| UsageError(format!("--by: {e}")))?;
    let input: Box<dyn std::io::BufRead> = if a.source == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        linkdiff_archive::import::remote::open_text(&a.source)
            .with_context(|| format!("cannot read {}", a.source))?
    };
    let store = open_store(&a.db.db)?;
    let now = chrono::Utc::now().timestamp();
    let opts = Options {
        format: a.format.into(),
        by,
        max_rank: a.max_rank,
        day: now.div_euclid(86_400) * 86_400,
        name: a.source.clone(),
    };
    let t0 = std::time::Instant::now();
    let s = imported::import(&store, input, &opts)
        .with_context(|| format!("importing ranks from {}", a.source))?;
    crate::outln!(
        "imported {} ratings from {} ({} lines in {:.1} s; skipped: {} subdomain hosts, {} ranked after --max-rank, {} bad lines{})",
        s.imported,
        a.source,
        s.lines,
        t0.elapsed().as_secs_f64(),
        s.subdomains,
        s.beyond_max_rank,
        s.bad,
        s.first_bad
            .as_deref()
            .map(|b| format!(", the first: {b}"))
            .unwrap_or_default()
    );
    if a.no_rank {
        crate::outln!("ranks not recomputed (--no-rank): run `linkdiff rank` to use them");
        return Ok(());
    }
    let r = linkdiff_indexer::rank::recompute(&store).context("ranking failed")?;
    let imported_used = store
        .domains()
        .filter_map(Result::ok)
        .filter(|(_, d)| d.source.is_some())
        .count();
    crate::outln!(
        "ranked {} domains: {} rated from imported lists (fewer than {} referring domains in the index)",
        r.domains,
        imported_used,
        linkdiff_indexer::rank::TRUST_CRAWL_FROM
    );
    Ok(())
}
