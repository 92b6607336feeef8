//! `bench index`: visits and links applied per second and bytes on disk per link, on SQLite, sled or a ClickHouse worker.

use super::*;

/// Arguments of `bench index`.
#[derive(Debug, Args)]
pub struct IndexBench {
    /// Index to create (must not exist; kept for `bench query --db`): a SQLite file,
    /// `sled:DIR`, or an empty `clickhouse://HOST:PORT[,HOST:PORT]/DB` fed as a crawl worker.
    #[arg(long)]
    db: PathBuf,
    /// ClickHouse only: apply the visits of this worker's slot `I/N` (referring pages whose
    /// registrable domain hashes to it), as `crawl --worker` does.
    #[arg(long, value_name = "I/N")]
    worker: Option<String>,
    /// ClickHouse only: the worker's local state file (must not exist; default
    /// `bench-worker-I-of-N.db` in the current directory).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Referring pages.
    #[arg(long, default_value_t = 20_000)]
    pages: usize,
    /// Links per page.
    #[arg(long, default_value_t = 50)]
    links: usize,
    /// Referring domains the pages are spread over (`s0.ref` … : page p is on `s{p % N}.ref`);
    /// every one links to `big.bench` (the DataForSEO competitors bench wants 10,000).
    #[arg(long, default_value_t = 2_000)]
    ref_domains: usize,
    /// Only the first N pages link to `big.bench` (default: every page, so it has 5 backlinks
    /// per page). `--pages 200000 --big-pages 20000` keeps its 100,000 backlinks in a 10M-link
    /// index: the same answer measured in an index ten times larger.
    #[arg(long)]
    big_pages: Option<usize>,
}

/// What the synthetic index looks like: links per page, the referring domains the pages are
/// spread over, and how many pages link to `big.bench`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shape {
    /// Links per page.
    pub links: usize,
    /// Referring domains the pages are spread over.
    pub ref_domains: usize,
    /// Pages linking to `big.bench` (the first ones).
    pub big_pages: usize,
}

impl IndexBench {
    fn shape(&self) -> Shape {
        Shape {
            links: self.links,
            ref_domains: self.ref_domains,
            big_pages: self.big_pages.unwrap_or(usize::MAX),
        }
    }
}

pub(super) fn link(to: String, anchor: String, nofollow: bool) -> Link {
    Link {
        url_to: to,
        link_type: LinkType::Href,
        anchor,
        alt: String::new(),
        text_pre: "Some text before the link in the paragraph".into(),
        text_post: "and some text after it.".into(),
        nofollow,
        redirect: 0,
        rendered: false,
    }
}

/// The synthetic link set of page `p` in round `round`: 10% of the links of each page change
/// between rounds; links 0..5 of the first `big_pages` pages go to `big.bench` (100k backlinks
/// at 20k pages).
pub(super) fn page_links(p: usize, links: usize, big_pages: usize, round: usize) -> Vec<Link> {
    (0..links)
        .map(|k| {
            let changed = round > 0 && (p + k).is_multiple_of(10);
            let salt = if changed { 7919 * round } else { 0 };
            if k < 5 && p < big_pages {
                let anchor = format!("{} {}", WORDS[(p + k + salt) % 24], WORDS[(p * 3 + k) % 24]);
                link(
                    format!("https://www.big.bench/page{}", (p * 5 + k + salt) % 5000),
                    anchor,
                    k == 4,
                )
            } else {
                let host = (p * 31 + k * 17 + salt) % 50_000;
                link(
                    format!("https://t{host}.bench/p{}", (p + k) % 100),
                    format!("{} {}", WORDS[k % 24], WORDS[(p + salt) % 24]),
                    k % 9 == 0,
                )
            }
        })
        .collect()
}

pub(super) fn visit(p: usize, ref_domains: usize, links: Vec<Link>, run: u64, time: i64) -> Visit {
    Visit {
        url: format!("https://s{}.ref/p{p}", p % ref_domains.max(1)),
        time,
        run,
        depth: 1,
        outcome: Outcome::Fetched {
            meta: PageMeta {
                http_code: 200,
                title: format!("Referring page {p}"),
                encoding: "utf8".into(),
                language: "en".into(),
                page_size: 16_000,
                ip: "127.0.0.1".into(),
                links_internal: 10,
                links_external: links.len() as u32,
                noindex: false,
                render_failed: false,
            },
            links,
        },
    }
}

pub(super) fn bench_index(a: IndexBench) -> anyhow::Result<()> {
    let path = match linkdiff_store::Location::parse(&a.db) {
        linkdiff_store::Location::Sqlite(p) | linkdiff_store::Location::Sled(p) => p,
        linkdiff_store::Location::ClickHouse(spec) => return bench_index_clickhouse(&a, &spec),
    };
    if a.worker.is_some() || a.state.is_some() {
        anyhow::bail!(super::super::UsageError(
            "--worker and --state are for a clickhouse:// index".into()
        ));
    }
    if path.exists() {
        anyhow::bail!(super::super::UsageError(format!(
            "{} exists; give a new path",
            a.db.display()
        )));
    }
    let store = super::super::open_store(&a.db)?;
    let ix = Indexer::new(store.clone());
    let all: Vec<usize> = (0..a.pages).collect();
    index_rounds(&store, &ix, &all, a.shape(), "index")?;
    let t0 = Instant::now();
    let r = linkdiff_indexer::rank::recompute(&store)?;
    crate::outln!(
        "rank: {} pages, {} edges, {} domains in {:.2} s",
        r.pages,
        r.page_edges,
        r.domains,
        t0.elapsed().as_secs_f64()
    );
    let s = store.stats()?;
    let mut raw: std::collections::BTreeMap<char, (u64, u64, u64)> = Default::default();
    let kv_pairs = store.kv_backend().map(|kv| kv.scan_from(&[]));
    let kv = kv_pairs.is_some();
    for r in kv_pairs.into_iter().flatten() {
        let (k, v) = r?;
        let e = raw.entry(k[0] as char).or_default();
        e.0 += 1;
        e.1 += k.len() as u64;
        e.2 += v.len() as u64;
    }
    let total: u64 = raw.values().map(|(_, k, v)| k + v).sum();
    let parts: Vec<String> = raw
        .iter()
        .map(|(t, (n, k, v))| format!("{t}: {n} keys, {:.0} MB", (k + v) as f64 / 1e6))
        .collect();
    if kv {
        crate::outln!(
            "raw data: {:.0} MB = {:.0} bytes per link before sled's overhead ({})",
            total as f64 / 1e6,
            total as f64 / s.links.max(1) as f64,
            parts.join("; ")
        );
    }
    if let Some(sql) = store.sql() {
        sql.checkpoint()?;
        let sizes = sql.table_sizes()?;
        let parts: Vec<String> = sizes
            .iter()
            .filter(|(_, b)| *b > 100_000)
            .map(|(n, b)| format!("{n} {:.0} B/link", *b as f64 / s.links.max(1) as f64))
            .collect();
        crate::outln!("sqlite tables and indexes: {}", parts.join(", "));
    }
    drop(ix);
    drop(store);
    let on_disk = if path.is_dir() {
        dir_size(&path)?
    } else {
        std::fs::metadata(&path)?.len()
    };
    crate::outln!(
        "disk: {} bytes for {} link records ({} live), {} events: {:.0} bytes per stored link",
        on_disk,
        s.links,
        s.links,
        s.events,
        on_disk as f64 / s.links.max(1) as f64,
    );
    Ok(())
}

/// The two rounds of `bench index` over `pages`: every page's synthetic links, then again a
/// week later with 10 % of them changed; visits and links per second of each, timed until the
/// store has everything (`flush`).
pub(super) fn index_rounds(
    store: &linkdiff_store::Store,
    ix: &Indexer,
    pages: &[usize],
    shape: Shape,
    label: &str,
) -> anyhow::Result<()> {
    for (round, day) in [(0usize, 20_000i64), (1, 20_007)] {
        let t0 = Instant::now();
        let (mut new, mut lost, mut nlinks) = (0u64, 0u64, 0u64);
        for &p in pages {
            let s = ix.apply(&visit(
                p,
                shape.ref_domains,
                page_links(p, shape.links, shape.big_pages, round),
                round as u64 + 1,
                day * 86_400,
            ))?;
            new += s.new as u64;
            lost += s.lost as u64;
            nlinks += s.links as u64;
        }
        store.flush()?;
        let secs = t0.elapsed().as_secs_f64();
        crate::outln!(
            "{label} round {}: {} visits, {} links in {:.2} s: {:.0} visits/s, {:.0} links/s ({} new, {} lost events)",
            round + 1,
            pages.len(),
            nlinks,
            secs,
            pages.len() as f64 / secs,
            nlinks as f64 / secs,
            new,
            lost
        );
    }
    Ok(())
}

/// `bench index` as a ClickHouse crawl worker: the visits of its slot go through the worker's
/// local state and outbox to the servers; the time includes sending every row. Then, for the
/// index as a whole (all workers), rows and bytes on disk per link after merging.
pub(super) fn bench_index_clickhouse(a: &IndexBench, spec: &str) -> anyhow::Result<()> {
    let part = match &a.worker {
        Some(w) => linkdiff_model::Partition::parse(w)
            .map_err(|e| super::super::UsageError(e.to_string()))?,
        None => linkdiff_model::Partition { index: 0, count: 1 },
    };
    let state = a.state.clone().unwrap_or_else(|| {
        PathBuf::from(format!("bench-worker-{}-of-{}.db", part.index, part.count))
    });
    if state.exists() {
        anyhow::bail!(super::super::UsageError(format!(
            "{} exists; give a new --state path",
            state.display()
        )));
    }
    let store = linkdiff_store::Store::open_worker(spec, &state, &part.to_string())
        .with_context(|| format!("cannot open {spec} as worker {part}"))?;
    let ix = Indexer::new(store.clone());
    let mine: Vec<usize> = (0..a.pages)
        .filter(|p| part.owns(&format!("s{}.ref", p % a.ref_domains.max(1))))
        .collect();
    index_rounds(&store, &ix, &mine, a.shape(), &format!("worker {part}"))?;
    let state_bytes = std::fs::metadata(&state)?.len();
    crate::outln!(
        "worker state: {} bytes ({:.0} bytes per link of this worker)",
        state_bytes,
        state_bytes as f64 / (mine.len() * a.links).max(1) as f64
    );
    Ok(())
}
