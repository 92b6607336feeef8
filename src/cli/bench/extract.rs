//! `bench extract`: extraction throughput on one core over realistic pages (or a directory of the user's own), and the hostile shapes that must stay linear.

use super::*;

/// Arguments of `bench extract`.
#[derive(Debug, Args)]
pub struct ExtractBench {
    /// Pages in the corpus.
    #[arg(long, default_value_t = 60)]
    pages: usize,
    /// Passes over the corpus.
    #[arg(long, default_value_t = 5)]
    passes: usize,
    /// Instead of the generated corpus, every file under this directory (real pages).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Instead, the hostile pages (deep nesting, misnested links, huge attributes) at 1 and
    /// 5 MB: milliseconds per MB of each, to show the worst case is linear.
    #[arg(long)]
    hostile: bool,
    /// stream (the crawler's) or tree (the html5ever oracle).
    #[arg(long, default_value = "stream", value_parser = ["stream", "tree"])]
    engine: String,
}

pub(super) fn bench_extract(a: ExtractBench) -> anyhow::Result<()> {
    if a.hostile {
        return bench_hostile(&a);
    }
    let (corpus, what): (Vec<Vec<u8>>, String) = match &a.dir {
        Some(dir) => {
            let mut files = Vec::new();
            collect_files(dir, &mut files)
                .with_context(|| format!("cannot read {}", dir.display()))?;
            files.sort();
            let pages = files
                .iter()
                .map(|f| std::fs::read(f).with_context(|| format!("cannot read {}", f.display())))
                .collect::<anyhow::Result<Vec<_>>>()?;
            (pages, format!("files under {}", dir.display()))
        }
        None => (
            (0..a.pages)
                .map(|i| realistic_page(i, 20_000 + (i * 180_000) / a.pages.max(1)).into_bytes())
                .collect(),
            "generated pages, 20–200 KB each".to_string(),
        ),
    };
    anyhow::ensure!(!corpus.is_empty(), "no pages to extract");
    let engine = super::super::extract::engine(&a.engine);
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let mut links = 0usize;
    let mut slowest = (0.0f64, 0usize);
    let t0 = Instant::now();
    for _ in 0..a.passes {
        for (i, page) in corpus.iter().enumerate() {
            let url = format!("https://www.site{i}.com/article");
            let t = Instant::now();
            let ex = extract_with(
                &PageInput {
                    url: &url,
                    content_type: Some("text/html; charset=utf-8"),
                    body: page,
                    ..Default::default()
                },
                engine,
            );
            let ms_per_mb = t.elapsed().as_secs_f64() * 1e3 / (page.len().max(1) as f64 / 1e6);
            if page.len() > 10_000 && ms_per_mb > slowest.0 {
                slowest = (ms_per_mb, i);
            }
            links += ex.links.len();
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let total = (bytes * a.passes) as f64;
    crate::outln!(
        "extract ({}): {} pages ({:.1} MB, {what}) × {} passes in {:.2} s on one thread: {:.1} MB/s, {:.0} pages/s, {} links; slowest page over 10 KB: {:.1} ms/MB",
        a.engine,
        corpus.len(),
        bytes as f64 / 1e6,
        a.passes,
        secs,
        total / 1e6 / secs,
        (corpus.len() * a.passes) as f64 / secs,
        links / a.passes,
        slowest.0
    );
    Ok(())
}

/// ms per MB of each hostile page at 1 MB and 5 MB (best of `passes`).
pub(super) fn bench_hostile(a: &ExtractBench) -> anyhow::Result<()> {
    let engine = super::super::extract::engine(&a.engine);
    crate::outln!(
        "extract ({}) hostile pages, best of {} passes, ms per MB:",
        a.engine,
        a.passes
    );
    let small = linkdiff_crawler::extract::hostile::hostile_pages(1_000_000);
    let large = linkdiff_crawler::extract::hostile::hostile_pages(5_000_000);
    for ((name, p1), (_, p5)) in small.iter().zip(&large) {
        let time = |page: &String| {
            (0..a.passes.max(1))
                .map(|_| {
                    let t = Instant::now();
                    let ex = extract_with(
                        &PageInput {
                            url: "https://hostile.test/",
                            content_type: Some("text/html"),
                            body: page.as_bytes(),
                            ..Default::default()
                        },
                        engine,
                    );
                    std::hint::black_box(ex.links.len());
                    t.elapsed().as_secs_f64() * 1e3 / (page.len() as f64 / 1e6)
                })
                .fold(f64::INFINITY, f64::min)
        };
        crate::outln!(
            "  {name:<45} 1 MB: {:7.1}   5 MB: {:7.1}",
            time(p1),
            time(p5)
        );
    }
    Ok(())
}

/// Every file under `dir`, recursively.
pub(super) fn collect_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
