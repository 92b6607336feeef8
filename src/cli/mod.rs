//! Command-line interface (SPEC §2). Names here are stable: scripts depend on them.

pub mod bench;
mod clickhouse;
pub mod crawl;
mod demo;
mod extract;
pub mod import;
mod query;
mod ranks;
mod status;
mod testweb;
pub mod watch;
mod webhook;

use anyhow::Context;
use clap::{Parser, Subcommand};
use linkdiff_store::Store;
use std::path::{Path, PathBuf};

/// A usage error (exit code 2) raised after parsing, e.g. a bad `--as-of`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Self-hosted backlink index: crawl pages, diff visits into new/lost backlinks, answer Ahrefs
/// v2 and DataForSEO-compatible queries.
#[derive(Debug, Parser)]
#[command(name = "linkdiff", version, about)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--db`, shared by commands.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArg {
    /// Index: a SQLite file, `sled:DIR` for the sled store, or
    /// `clickhouse://HOST:PORT[,HOST:PORT…]/DATABASE` (default: $LINKDIFF_DB, else ./linkdiff.db).
    #[arg(long, env = "LINKDIFF_DB", default_value = "linkdiff.db")]
    pub db: PathBuf,
}

/// Subcommands.
// Parsed once per process: the size of the crawl's arguments does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Crawl seed URLs and index what changed since the last run.
    Crawl(crawl::CrawlArgs),
    /// Import web archives (WARC, WARC.gz, WAT.gz; `-` for standard input) as visits.
    Import(import::ImportArgs),
    /// Links you placed: add, list, remove, import a CSV, and their status (checked every crawl).
    #[command(subcommand)]
    Watch(watch::WatchCmd),
    /// Webhooks told about every crawl run: add, list, remove.
    #[command(subcommand)]
    Webhook(webhook::WebhookCmd),
    /// Show totals of an index.
    Status(status::StatusArgs),
    /// Recompute URL Rating, Domain Rating and Ahrefs Rank.
    Rank(DbArg),
    /// Domain ratings from outside the crawl: `import` Common Crawl web graph ranks, a Tranco
    /// list or a CSV (used for domains the index knows little about).
    #[command(subcommand)]
    Ranks(ranks::RanksCmd),
    /// Run the extractor on one saved page and print its fields and links.
    Extract(extract::ExtractArgs),
    /// Offline demo: a local web, two crawls a week apart, then new/lost backlinks and anchors.
    Demo(demo::DemoArgs),
    /// Query an Ahrefs v2 table (same answers as the HTTP API).
    Query(query::QueryArgs),
    /// DataForSEO-style new/lost counts per target.
    BulkNewLost(query::BulkArgs),
    /// Serve the Ahrefs v2 and DataForSEO APIs over HTTP.
    Serve(query::ServeArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(query::TokenCmd),
    /// Copy an index into a new one (e.g. a sled index into SQLite, or SQLite into an empty
    /// ClickHouse database).
    Migrate(MigrateArgs),
    /// Set up an index on ClickHouse: `init` (tables, `--cluster`), `optimize`.
    #[command(subcommand)]
    Clickhouse(clickhouse::ClickhouseCmd),
    /// Hot-path benchmarks (see BENCHMARKS.md). A hidden command rather than an xtask: it
    /// measures the release binary users run, API layer included, needs no toolchain, and lets
    /// a user measure extraction on their own pages (`bench extract --dir`).
    #[command(subcommand, hide = true)]
    Bench(bench::BenchCmd),
    /// Serve the local test web (for benchmarks and trying things out).
    #[command(hide = true)]
    Testweb(testweb::TestwebArgs),
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Crawl(a) => crawl::run(a),
        Command::Import(a) => import::run(a),
        Command::Status(a) => status::run(a),
        Command::Watch(c) => watch::run(c),
        Command::Webhook(c) => webhook::run(c),
        Command::Rank(a) => {
            let store = open_index(&a.db, "--db")?;
            let s = linkdiff_indexer::rank::recompute(&store).context("ranking failed")?;
            crate::outln!(
                "ranked {} pages ({} dofollow edges) and {} domains ({} edges)",
                s.pages,
                s.page_edges,
                s.domains,
                s.domain_edges
            );
            Ok(())
        }
        Command::Ranks(c) => ranks::run(c),
        Command::Extract(a) => extract::run(a),
        Command::Testweb(a) => testweb::run(a),
        Command::Query(a) => query::query(a),
        Command::Demo(a) => demo::run(a),
        Command::Bench(c) => bench::run(c),
        Command::BulkNewLost(a) => query::bulk(a),
        Command::Serve(a) => query::serve(a),
        Command::Token(c) => query::token(c),
        Command::Migrate(a) => migrate(a),
        Command::Clickhouse(c) => clickhouse::run(c),
    }
}

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The index to copy: `sled:DIR` (the original store) or a SQLite file.
    #[arg(long)]
    pub from: PathBuf,
    /// The new index (must not exist): a SQLite file, or `sled:DIR`.
    #[arg(long)]
    pub to: PathBuf,
}

fn migrate(a: MigrateArgs) -> anyhow::Result<()> {
    let from = open_index(&a.from, "--from")?;
    let to = match linkdiff_store::Location::parse(&a.to) {
        linkdiff_store::Location::Sqlite(p) | linkdiff_store::Location::Sled(p) => {
            if p.exists() {
                anyhow::bail!(UsageError(format!(
                    "{} exists; migrate into a new path so nothing is overwritten",
                    p.display()
                )));
            }
            open_store(&a.to)?
        }
        linkdiff_store::Location::ClickHouse(_) => {
            let to = open_store(&a.to)?;
            if to.stats()?.pages > 0 {
                anyhow::bail!(UsageError(format!(
                    "{} already holds pages; migrate into an empty database",
                    a.to.display()
                )));
            }
            to
        }
    };
    let t0 = std::time::Instant::now();
    let s = linkdiff_store::migrate::copy(&from, &to).with_context(|| {
        format!(
            "copying {} into {} failed",
            a.from.display(),
            a.to.display()
        )
    })?;
    crate::outln!(
        "copied {} pages, {} links, {} events, {} runs and {} tokens from {} to {} in {:.1} s",
        s.pages,
        s.links,
        s.events,
        s.runs,
        s.tokens,
        a.from.display(),
        a.to.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Open (or create) the store at `path` with a clear error.
pub fn open_store(path: &Path) -> anyhow::Result<Store> {
    Store::open(path).with_context(|| format!("cannot open the database {}", path.display()))
}

/// Open an index that must already exist, for commands that only read it (or edit what is in
/// it): a missing one is refused with one sentence naming the path and where it came from, and
/// nothing is created. `flag` is the option that names it (`--db`, or `--from` for `migrate`).
pub fn open_index(path: &Path, flag: &str) -> anyhow::Result<Store> {
    match Store::open_existing(path) {
        Ok(s) => Ok(s),
        Err(linkdiff_store::StoreError::NoIndex {
            location,
            clickhouse,
        }) => {
            let hint = if clickhouse {
                "run `linkdiff clickhouse init --db …` to create its tables, or check the URL"
            } else {
                "run `linkdiff crawl` or `linkdiff import` to create one, or check the path"
            };
            anyhow::bail!(
                "no index at {location} ({}): {hint}",
                value_source(flag, path)
            )
        }
        Err(e) => Err(e).with_context(|| format!("cannot open the database {}", path.display())),
    }
}

/// Where an option's value came from: the command line, `$LINKDIFF_DB`, or the default.
fn value_source(flag: &str, value: &Path) -> String {
    let given = std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.strip_prefix(flag).is_some_and(|r| r.starts_with('='))
    });
    if given || flag != "--db" {
        format!("from {flag}")
    } else if std::env::var_os("LINKDIFF_DB").is_some_and(|v| v == value.as_os_str()) {
        "from $LINKDIFF_DB".into()
    } else {
        "the default --db".into()
    }
}
