//! `linkdiff bench`: the hot-path benchmarks recorded in BENCHMARKS.md (release builds only
//! give meaningful numbers).

use anyhow::Context;
use clap::{Args, Subcommand};
use linkdiff_crawler::{extract_with, PageInput};
use linkdiff_indexer::Indexer;
use linkdiff_model::Target;
use linkdiff_model::{Link, LinkType, Outcome, PageMeta, Visit};
use linkdiff_query::{self as query, QueryParams, Table};
use std::fmt::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod extract;
mod http;
mod import;
mod index;
mod pages;
mod queries;
#[cfg(feature = "sqlite-bench")]
mod sqlite;
use extract::*;
use index::*;
pub use pages::realistic_page;
use queries::*;
#[cfg(feature = "sqlite-bench")]
use sqlite::*;

/// `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Extraction throughput (MB/s on one core) over a corpus of realistic 20–200 KB pages.
    Extract(ExtractBench),
    /// Visits and links applied per second, and bytes on disk per link.
    Index(IndexBench),
    /// Query latency p50/p99 on an index with one target of 100,000 backlinks.
    Query(QueryBench),
    /// Archive import end to end: MB/s and records/s on a generated WARC or WAT file.
    Import(import::ImportBench),
    /// Requests/s and latency of a running `serve` over kept-alive connections.
    Http(http::HttpBench),
    /// The same questions in SQLite, the reference a user would reach for.
    #[cfg(feature = "sqlite-bench")]
    Sqlite(SqliteBench),
}

/// Run a benchmark.
pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Extract(a) => bench_extract(a),
        BenchCmd::Index(a) => bench_index(a),
        BenchCmd::Query(a) => bench_query(a),
        BenchCmd::Http(a) => http::bench_http(a),
        BenchCmd::Import(a) => import::bench_import(a),
        #[cfg(feature = "sqlite-bench")]
        BenchCmd::Sqlite(a) => bench_sqlite(a),
    }
}

const WORDS: [&str; 24] = [
    "backlink",
    "crawler",
    "index",
    "anchor",
    "domain",
    "rating",
    "search",
    "engine",
    "content",
    "marketing",
    "agency",
    "report",
    "traffic",
    "keyword",
    "ranking",
    "audit",
    "growth",
    "page",
    "site",
    "link",
    "analysis",
    "strategy",
    "tools",
    "guide",
];

fn dir_size(p: &std::path::Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(p).with_context(|| format!("cannot read {}", p.display()))? {
        let e = e?;
        let m = e.metadata()?;
        total += if m.is_dir() {
            dir_size(&e.path())?
        } else {
            m.len()
        };
    }
    Ok(total)
}

fn percentiles(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}
