//! `linkdiff bench import`: end-to-end archive import throughput (read, decompress, parse,
//! extract, index) on a generated Common-Crawl-like file.

use super::pages::realistic_page;
use clap::Args;
use linkdiff_archive::import::{DomainSet, ImportConfig, Input};
use linkdiff_archive::testfiles;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `bench import`.
#[derive(Debug, Args)]
pub struct ImportBench {
    /// Directory for the generated archive and the index (must not hold an index yet).
    #[arg(long)]
    dir: PathBuf,
    /// Captures in the archive.
    #[arg(long, default_value_t = 3000)]
    records: usize,
    /// warc (HTML responses, 20–200 KB pages, one gzip member each, as Common Crawl writes)
    /// or wat (link metadata, 100 links per page).
    #[arg(long, default_value = "warc", value_parser = ["warc", "wat"])]
    format: String,
    /// Keep only links to these domains (comma-separated), as `--target-domains` does.
    #[arg(long)]
    targets: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// CPU seconds (user + system) this process has used, from /proc.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Peak resident set size, bytes.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn date(i: usize) -> String {
    linkdiff_query::time::iso(1_767_225_600 + i as i64)
}

fn generate(a: &ImportBench) -> anyhow::Result<(PathBuf, u64)> {
    let path = a.dir.join(format!("bench.{}.gz", a.format));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut raw = 0u64;
    let info = testfiles::record("warcinfo", "", &date(0), b"software: linkdiff bench\r\n");
    raw += info.len() as u64;
    out.write_all(&testfiles::gz(&info))?;
    for i in 0..a.records {
        let url = format!("https://www.site{}.com/article/{i}", i % 500);
        let rec = if a.format == "wat" {
            let links: Vec<serde_json::Value> = (0..100)
                .map(|k| {
                    serde_json::json!({
                        "path": "A@/href",
                        "url": if k % 3 == 0 { format!("https://partner{}.net/p/{k}", (i + k) % 1000) } else { format!("/section/{k}") },
                        "text": format!("anchor text {k}"),
                    })
                })
                .collect();
            testfiles::wat(
                &url,
                &date(i),
                200,
                serde_json::json!({"Content-Type": "text/html"}),
                serde_json::json!({"Title": format!("page {i}")}),
                serde_json::Value::Array(links),
            )
        } else {
            let size = 20_000 + (i % 60) * 3_000;
            // Canonical to itself, as most pages are (one elsewhere keeps only that link).
            let page = realistic_page(i, size).replace("https://www.site.com/article", &url);
            testfiles::response(
                &url,
                &date(i),
                200,
                &[("Content-Type", "text/html; charset=utf-8")],
                page.as_bytes(),
            )
        };
        raw += rec.len() as u64;
        out.write_all(&testfiles::gz(&rec))?;
    }
    out.flush()?;
    Ok((path, raw))
}

pub(super) fn bench_import(a: ImportBench) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.dir)?;
    let db = a.dir.join("bench-import.db");
    anyhow::ensure!(!db.exists(), "{} exists; give an empty --dir", db.display());
    let (file, raw) = generate(&a)?;
    let compressed = std::fs::metadata(&file)?.len();
    let store = super::super::open_store(&db)?;
    let mut cfg = ImportConfig::new(vec![Input::Path(file)]);
    if let Some(t) = &a.targets {
        cfg.target_domains = Some(
            DomainSet::parse(&t.replace(',', "\n"))
                .map_err(|e| anyhow::anyhow!("--targets: {e}"))?,
        );
    }
    if let Some(t) = a.threads {
        cfg.threads = t.max(1);
    }
    let threads = cfg.threads;
    let cpu0 = cpu_secs();
    let t0 = Instant::now();
    let summary =
        super::super::import::import(&store, cfg, Arc::new(AtomicBool::new(false)), "off")?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    crate::outln!("{summary}");
    crate::outln!(
        "import ({}{}): {} records, {:.1} MB uncompressed ({:.1} MB gzip) in {:.2} s with {threads} workers: \
         {:.1} MB/s, {:.0} records/s; {:.1} CPU-s: {:.1} MB per CPU-s, {:.0} records per CPU-s; peak RSS {} MB (ranks included)",
        a.format,
        a.targets.as_ref().map(|t| format!(", targets {t}")).unwrap_or_default(),
        a.records,
        raw as f64 / 1e6,
        compressed as f64 / 1e6,
        secs,
        raw as f64 / 1e6 / secs,
        a.records as f64 / secs,
        cpu,
        raw as f64 / 1e6 / cpu.max(0.001),
        a.records as f64 / cpu.max(0.001),
        peak_rss() / 1_000_000
    );
    Ok(())
}
