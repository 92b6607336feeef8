//! `linkdiff crawl`: one run, or a schedule of runs with `--every`.

use super::{open_store, UsageError};
use anyhow::Context;
use clap::Args;
use linkdiff_crawler::fetch::FetchConfig;
use linkdiff_crawler::resolve::{GuardedResolver, ResolveRule};
use linkdiff_crawler::{CrawlConfig, Crawler, Progress, Scope};
use linkdiff_indexer::Indexer;
use linkdiff_query::time::iso;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Arguments of `crawl` (SPEC §2).
#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Seed list files: one URL per line, `#` comments.
    seed_files: Vec<PathBuf>,
    /// Seed URL (repeatable).
    #[arg(long = "url")]
    urls: Vec<String>,
    #[command(flatten)]
    db: super::DbArg,
    /// The run's clock: RFC 3339 time or YYYY-MM-DD (00:00:00Z).
    #[arg(long)]
    as_of: Option<String>,
    /// seeds, hosts or all.
    #[arg(long, default_value = "hosts", value_parser = ["seeds", "hosts", "all"])]
    scope: String,
    /// Stop after N pages in a run.
    #[arg(long)]
    max_pages: Option<u64>,
    /// Maximum link hops from a seed.
    #[arg(long)]
    max_depth: Option<u16>,
    /// Maximum pages per host in a run.
    #[arg(long)]
    max_pages_per_host: Option<u64>,
    /// Requests per second per host (0 = unlimited, for hosts you own).
    #[arg(long, default_value_t = 1.0)]
    rate: f64,
    /// Fetches in flight at once (default: the number of seed hosts, at least 32 and at most
    /// 256: with one fetch per host at a time, a crawl of many hosts needs many in flight to
    /// keep each host at its rate).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Body cap in bytes (larger bodies are truncated and indexed from the part read).
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    max_body: usize,
    /// User-Agent, also the robots.txt agent.
    #[arg(long, default_value = concat!("linkdiff/", env!("CARGO_PKG_VERSION")))]
    user_agent: String,
    /// HOST:PORT:ADDR, like curl; HOST may be `*` or `*.suffix`. Named addresses are trusted.
    #[arg(long)]
    resolve: Vec<String>,
    /// Allow private, loopback and link-local addresses.
    #[arg(long)]
    allow_private: bool,
    /// Also trust the certificates in this PEM file (a CA of your own for internal or staging
    /// HTTPS hosts); repeatable. The public roots stay trusted.
    #[arg(long = "ca-cert", value_name = "PATH")]
    ca_certs: Vec<PathBuf>,
    /// Ask these DNS servers (IP:PORT, repeatable) instead of the system's; names are cached
    /// by their TTL either way.
    #[arg(long = "dns", value_name = "IP:PORT")]
    dns: Vec<std::net::SocketAddr>,
    /// Repeat runs every DURATION (e.g. 90s, 30m, 6h, 1d) until stopped.
    #[arg(long)]
    every: Option<String>,
    /// With --every: stop after N runs.
    #[arg(long)]
    max_runs: Option<u64>,
    /// auto, bar, plain or off.
    #[arg(long, default_value = "auto", value_parser = ["auto", "bar", "plain", "off"])]
    progress: String,
    /// Extra attempts for 5xx, 429 and network errors within a run.
    #[arg(long, default_value_t = 2)]
    retries: u8,
    /// First retry back-off, seconds (doubles per attempt; Retry-After wins when longer).
    #[arg(long, default_value_t = 2.0)]
    retry_backoff: f64,
    /// Seconds before a page whose visit would report lost links because it failed (404/410,
    /// or the last allowed failure), or because links vanished from an otherwise unchanged
    /// page, is fetched once more in the same run before anything is reported; 0 = no rechecks.
    #[arg(long, default_value_t = 30.0)]
    recheck_delay: f64,
    /// After each run, POST the run's new/lost backlinks and watched-link changes per target
    /// to URL (repeatable; `linkdiff webhook add` stores one for every crawl).
    #[arg(long = "webhook")]
    webhooks: Vec<String>,
    /// Target domain the --webhook documents are about (repeatable; default: the domains of
    /// the watched links' targets).
    #[arg(long = "webhook-target")]
    webhook_targets: Vec<String>,
    /// Skip a --webhook document with fewer changes (events + watched-link changes).
    #[arg(long, default_value_t = 0)]
    webhook_min: u64,
    /// Extra attempts for a webhook that fails.
    #[arg(long, default_value_t = 3)]
    webhook_retries: u32,
    /// First webhook retry back-off, seconds (doubles per attempt).
    #[arg(long, default_value_t = 1.0)]
    webhook_backoff: f64,
    /// With --db clickhouse://…: crawl only the registrable domains in slot I of N (hash of
    /// the domain), so N workers on N machines share one seed list.
    #[arg(long, value_name = "I/N")]
    worker: Option<String>,
    /// With --db clickhouse://…: the worker's local SQLite state (frontier, runs, previous link
    /// sets, unsent rows). Default: linkdiff-DATABASE-worker-I-of-N.db in the current directory.
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Conditional recrawls: a page fetched before is asked for with If-None-Match /
    /// If-Modified-Since (a 304 is an unchanged visit), and a 200 with the same body is
    /// unchanged too; every Nth visit fetches it whole whatever its validators say. 0: always
    /// fetch whole.
    #[arg(long, default_value_t = 8, value_name = "N")]
    revalidate_every: u32,
    /// Read each in-scope host's sitemaps (robots.txt Sitemap: lines, else /sitemap.xml) and
    /// queue the pages they list: on (default with --scope hosts|all) or off (default with
    /// --scope seeds).
    #[arg(long, value_parser = ["on", "off"])]
    sitemaps: Option<String>,
    /// Most pages taken from one host's sitemaps per run.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    max_sitemap_urls: u64,
    /// Render pages in headless Chromium to find links that only scripts add: never
    /// (default), auto (pages whose HTML looks script-built, and the hosts where rendering
    /// found more links) or always (every HTML page). Every request the browser makes goes
    /// through linkdiff's fetcher (address guard, robots.txt, rate limit).
    #[arg(long, default_value = "never", value_parser = ["never", "auto", "always"])]
    render: String,
    /// The browser for --render. Default: the first of chromium, chromium-browser,
    /// google-chrome, google-chrome-stable on the PATH.
    #[arg(long, value_name = "PATH")]
    chromium: Option<PathBuf>,
    /// Pages rendered at once. Default: eight per core, at most 16 (a rendering mostly
    /// waits: for the page to settle, and on the browser; see BENCHMARKS.md "Rendering").
    #[arg(long, value_name = "N")]
    render_tabs: Option<usize>,
    /// Seconds a page gets to settle (no request for 500 ms) before its DOM is read as it is.
    #[arg(long, default_value_t = 15.0, value_name = "S")]
    render_timeout: f64,
}

/// Webhooks given on the command line, and how to deliver.
#[derive(Debug, Clone, Default)]
pub struct Alerting {
    /// `--webhook` URLs with their targets and minimum.
    pub hooks: Vec<crate::alerts::Webhook>,
    /// Retries and back-off.
    pub delivery: crate::alerts::Delivery,
}

/// Parse `90s`, `30m`, `6h`, `1d`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 90s, 30m, 6h or 1d"))?;
    let mult = match unit {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("'{s}' has an unknown unit (use s, m, h or d)")),
    };
    if n.is_nan() || n <= 0.0 {
        return Err(format!("'{s}' must be positive"));
    }
    Ok(Duration::from_secs_f64(n * mult))
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

pub(super) fn run(a: CrawlArgs) -> anyhow::Result<()> {
    let mut seeds: Vec<Url> = Vec::new();
    for f in &a.seed_files {
        let (urls, warnings) = linkdiff_crawler::seeds::read_seed_file(f)?;
        for w in warnings {
            crate::eprint_quiet!("linkdiff: {w}");
        }
        seeds.extend(urls);
    }
    for u in &a.urls {
        seeds.push(
            linkdiff_crawler::normalize::parse_absolute(u)
                .map_err(|e| usage(format!("--url {e}")))?,
        );
    }
    let as_of = match &a.as_of {
        Some(s) => Some(linkdiff_query::time::parse(s).ok_or_else(|| {
            usage(format!(
                "--as-of '{s}' is not an RFC 3339 time or a YYYY-MM-DD date"
            ))
        })?),
        None => None,
    };
    let rules = a
        .resolve
        .iter()
        .map(|r| ResolveRule::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| usage(e.to_string()))?;
    if a.rate.is_nan() || a.rate < 0.0 || !a.rate.is_finite() {
        return Err(usage(format!("--rate {} must be 0 or more", a.rate)));
    }
    if a.recheck_delay.is_nan() || a.recheck_delay < 0.0 || !a.recheck_delay.is_finite() {
        return Err(usage("--recheck-delay must be 0 or more seconds".into()));
    }
    if a.timeout.is_nan() || a.timeout <= 0.0 {
        return Err(usage("--timeout must be positive".into()));
    }
    let every = a
        .every
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(usage)?;
    let scope = match a.scope.as_str() {
        "seeds" => Scope::Seeds,
        "all" => Scope::All,
        _ => Scope::Hosts,
    };
    let partition = a
        .worker
        .as_deref()
        .map(linkdiff_model::Partition::parse)
        .transpose()
        .map_err(|e| usage(e.to_string()))?;
    let store = match linkdiff_store::Location::parse(&a.db.db) {
        linkdiff_store::Location::ClickHouse(spec) => {
            let p = partition.unwrap_or(linkdiff_model::Partition { index: 0, count: 1 });
            let state = a.state.clone().unwrap_or_else(|| {
                let db = spec.rsplit('/').find(|s| !s.is_empty()).unwrap_or("index");
                PathBuf::from(format!(
                    "linkdiff-{db}-worker-{}-of-{}.db",
                    p.index, p.count
                ))
            });
            linkdiff_store::Store::open_worker(&spec, &state, &p.to_string()).with_context(
                || {
                    format!(
                        "cannot open the ClickHouse index {} with the worker state {}",
                        a.db.db.display(),
                        state.display()
                    )
                },
            )?
        }
        _ if a.worker.is_some() || a.state.is_some() => {
            return Err(usage(
                "--worker and --state are for --db clickhouse://HOST:PORT/DATABASE".into(),
            ))
        }
        _ => open_store(&a.db.db)?,
    };
    // One crawl per index; queries, status and serve go on beside it.
    let _lock = store.crawl_lock()?;
    let mut ca_certs = Vec::new();
    for p in &a.ca_certs {
        let pem = std::fs::read(p).map_err(|e| usage(format!("--ca-cert {}: {e}", p.display())))?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(usage(format!(
                "--ca-cert {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                p.display()
            )));
        }
        ca_certs.push(pem);
    }
    let concurrency = a.concurrency.unwrap_or_else(|| {
        let hosts: std::collections::HashSet<&str> =
            seeds.iter().filter_map(|u| u.host_str()).collect();
        hosts.len().clamp(32, 256)
    });
    let cfg = CrawlConfig {
        seeds,
        watched: Vec::new(),
        as_of,
        scope,
        max_pages: a.max_pages,
        max_depth: a.max_depth,
        max_pages_per_host: a.max_pages_per_host,
        rate: a.rate,
        concurrency: concurrency.max(1),
        retries: a.retries,
        retry_backoff: Duration::from_secs_f64(a.retry_backoff.max(0.0)),
        max_resident: linkdiff_crawler::MAX_RESIDENT,
        recheck_delay: (a.recheck_delay > 0.0).then(|| Duration::from_secs_f64(a.recheck_delay)),
        partition,
        revalidate_every: a.revalidate_every,
        sitemaps: match a.sitemaps.as_deref() {
            Some(s) => s == "on",
            None => scope != linkdiff_crawler::Scope::Seeds,
        },
        max_sitemap_urls: a.max_sitemap_urls,
        render: a
            .render
            .parse()
            .map_err(|e: linkdiff_crawler::render::UnknownRenderMode| usage(e.to_string()))?,
        render_pages: Vec::new(),
        fetch: FetchConfig {
            user_agent: a.user_agent.clone(),
            timeout: Duration::from_secs_f64(a.timeout),
            max_body: a.max_body.max(1),
            resolver: GuardedResolver {
                rules: Arc::new(rules),
                allow_private: a.allow_private,
                dns: if a.dns.is_empty() {
                    Default::default()
                } else {
                    linkdiff_crawler::resolve::Dns::servers(&a.dns)
                },
            },
            ca_certs,
        },
    };
    let mut hooks = Vec::new();
    for u in &a.webhooks {
        let parsed = Url::parse(u).map_err(|e| usage(format!("--webhook {u}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(usage(format!("--webhook {u}: not an http(s) URL")));
        }
        hooks.push(crate::alerts::Webhook {
            url: u.clone(),
            targets: a
                .webhook_targets
                .iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            min: a.webhook_min,
        });
    }
    if a.webhook_backoff.is_nan() || a.webhook_backoff < 0.0 {
        return Err(usage("--webhook-backoff must be 0 or more".into()));
    }
    let alerting = Alerting {
        hooks,
        delivery: crate::alerts::Delivery {
            retries: a.webhook_retries,
            backoff: Duration::from_secs_f64(a.webhook_backoff),
        },
    };
    // A browser when --render asks for one, or when watched links placed by scripts do
    // (`watch add --render`; without a browser those are checked without rendering, said once).
    let watched_render = !crate::watched::rendered_pages(&store)?.is_empty();
    let browser = if cfg.render == linkdiff_crawler::render::RenderMode::Never && !watched_render {
        None
    } else {
        if !(a.render_timeout > 0.0 && a.render_timeout.is_finite()) {
            return Err(usage("--render-timeout must be more than 0".into()));
        }
        // The browser's main thread caps a browser at ~12 pages/s whatever the cores, so
        // more than 16 tabs only add memory.
        let tabs = a.render_tabs.unwrap_or_else(|| {
            (8 * std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2))
            .min(16)
        });
        match linkdiff_render::ChromiumConfig::new(
            a.chromium.clone(),
            tabs,
            Duration::from_secs_f64(a.render_timeout),
        ) {
            Ok(c) => Some(c),
            Err(e) if cfg.render != linkdiff_crawler::render::RenderMode::Never => {
                return Err(usage(e.to_string()))
            }
            Err(e) => {
                crate::eprint_quiet!(
                    "linkdiff: watched links asked for rendering are checked without it: {e}"
                );
                None
            }
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let renderer = match browser {
            Some(b) => Some(
                linkdiff_render::Chromium::new(b)
                    .await
                    .context("cannot prepare the browser")?,
            ),
            None => None,
        };
        let result = schedule(
            store,
            cfg,
            every,
            a.max_runs,
            &a.progress,
            &alerting,
            renderer
                .clone()
                .map(|r| Arc::new(r) as Arc<dyn linkdiff_crawler::render::Renderer>),
        )
        .await;
        if let Some(r) = renderer {
            r.shutdown().await;
        }
        result
    })
}

/// The run summary's sentence on rendering (empty when nothing was rendered).
fn render_summary(r: &linkdiff_crawler::render::RenderCounts) -> String {
    if r.pages == 0 && r.failures == 0 {
        return String::new();
    }
    let refused = r.refused_blocked + r.refused_robots + r.refused_other;
    format!(
        " Rendered {} pages ({} cut by --render-timeout, {} failed and kept their static links): {} links found only by rendering; {} requests for scripts and data, {} refused ({} by the address guard, {} by robots.txt, {} by kind); {} connections outside the interception closed unanswered; browser peak RSS {} MB.",
        r.pages,
        r.timeouts,
        r.failures,
        r.links_added,
        r.requests,
        refused,
        r.refused_blocked,
        r.refused_robots,
        r.refused_other,
        r.escaped,
        r.browser_peak_rss >> 20
    )
}

/// Run once, or every `every` until stopped or `max_runs` reached.
pub async fn schedule(
    store: linkdiff_store::Store,
    mut cfg: CrawlConfig,
    every: Option<Duration>,
    max_runs: Option<u64>,
    progress_mode: &str,
    alerting: &Alerting,
    renderer: Option<Arc<dyn linkdiff_crawler::render::Renderer>>,
) -> anyhow::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        crate::eprint_quiet!("linkdiff: stopping: finishing the pages in hand, then saving");
        let _ = tx.send(true);
    });
    let mut runs = 0u64;
    let start = Instant::now();
    loop {
        let summary = crawl_once_with(
            &store,
            &cfg,
            rx.clone(),
            progress_mode,
            alerting,
            renderer.clone(),
        )
        .await?;
        crate::outln!("{summary}");
        runs += 1;
        if *rx.borrow() {
            break;
        }
        let Some(every) = every else { break };
        if max_runs.is_some_and(|m| runs >= m) {
            break;
        }
        // Later runs use the real clock.
        cfg.as_of = None;
        let next = start + every * runs as u32;
        let mut rx2 = rx.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {}
            _ = rx2.changed() => break,
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One run with progress display and ranks; returns the summary paragraph. Webhooks stored
/// with `linkdiff webhook add` are told about it.
pub async fn crawl_once(
    store: &linkdiff_store::Store,
    cfg: &CrawlConfig,
    stop: tokio::sync::watch::Receiver<bool>,
    progress_mode: &str,
) -> anyhow::Result<String> {
    crawl_once_with(store, cfg, stop, progress_mode, &Alerting::default(), None).await
}

/// [`crawl_once`] with the command line's webhooks besides the stored ones.
pub async fn crawl_once_with(
    store: &linkdiff_store::Store,
    cfg: &CrawlConfig,
    stop: tokio::sync::watch::Receiver<bool>,
    progress_mode: &str,
    alerting: &Alerting,
    renderer: Option<Arc<dyn linkdiff_crawler::render::Renderer>>,
) -> anyhow::Result<String> {
    let mut hooks = alerting.hooks.clone();
    hooks.extend(crate::alerts::stored(store)?);
    let before = if hooks.is_empty() {
        Default::default()
    } else {
        crate::alerts::watch_states(store)?
    };
    // Watched links' pages are fetched in every run (the list may change between runs).
    let mut cfg = cfg.clone();
    cfg.watched = crate::watched::watched_pages(store)?;
    cfg.render_pages = crate::watched::rendered_pages(store)?;
    let cfg = &cfg;
    let mut crawler = Crawler::new(store.clone(), cfg.clone())?;
    if let Some(r) = renderer {
        crawler = crawler.with_renderer(r);
    }
    let sink = crate::sink::IndexSink::new(Indexer::new(store.clone()));
    let mode = match progress_mode {
        "auto" if std::io::stderr().is_terminal() => "bar",
        "auto" => "off",
        m => m,
    };
    let bar = (mode == "bar").then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
    let mut last_plain = Instant::now();
    let mut show = |p: &Progress| {
        for n in &p.notes {
            if mode == "off" && !n.starts_with("refused") {
                continue;
            }
            match &bar {
                Some(b) => b.println(format!("linkdiff: {n}")),
                None => crate::eprint_quiet!("linkdiff: {n}"),
            }
        }
        let rate = p.fetched as f64 / p.elapsed.as_secs_f64().max(0.001);
        // ETA when the run is bounded: by --max-pages, else by what is queued now.
        let left = match cfg.max_pages {
            Some(m) => m
                .saturating_sub(p.fetched)
                .min(p.queued + p.in_flight as u64),
            None => p.queued + p.in_flight as u64,
        };
        let eta = if rate > 0.0 && p.fetched > 0 {
            format!(", ETA {}", fmt_secs(left as f64 / rate))
        } else {
            String::new()
        };
        let msg = format!(
            "run {}: {} fetched, {} queued, {} in flight, {} errors, {:.0} pages/s{eta}",
            p.run, p.fetched, p.queued, p.in_flight, p.errors, rate
        );
        if let Some(b) = &bar {
            b.set_message(msg);
            b.tick();
        } else if mode == "plain" && last_plain.elapsed() >= Duration::from_secs(3) {
            last_plain = Instant::now();
            crate::eprint_quiet!("{msg}");
        }
    };
    let t0 = Instant::now();
    let mut unchanged = [0u64; 2];
    let mut from_sitemaps = 0;
    let mut rendered = linkdiff_crawler::render::RenderCounts::default();
    let mut show = |p: &Progress| {
        unchanged = p.unchanged;
        from_sitemaps = p.sitemap_pages;
        rendered = p.render;
        show(p)
    };
    let (run, sink) = crawler.run(sink, stop, &mut show).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = t0.elapsed().as_secs_f64();
    let ranked = if run.finished.is_some() && store.clickhouse().is_some() {
        " Ranks: run `linkdiff rank` on the ClickHouse index once every worker is done.".to_string()
    } else if run.finished.is_some()
        && !linkdiff_indexer::rank::ranks_stale(store).context("reading the index failed")?
    {
        " Ranks unchanged (no link changed since they were computed).".to_string()
    } else if run.finished.is_some() {
        let r = linkdiff_indexer::rank::recompute(store).context("ranking failed")?;
        format!(
            " Ranks recomputed over {} pages and {} domains.",
            r.pages, r.domains
        )
    } else {
        " The run was interrupted; the next crawl on this database resumes it.".to_string()
    };
    let errors = if run.error_kinds.is_empty() {
        String::new()
    } else {
        let kinds: Vec<String> = run
            .error_kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        format!(" (by kind: {})", kinds.join(", "))
    };
    // After a finished run only: an interrupted one is told about when it completes.
    let alerted = if run.finished.is_some() {
        crate::alerts::deliver(store, &run, &before, &hooks, &alerting.delivery)
            .await
            .unwrap_or_else(|e| format!(" Webhooks not sent: {}.", crate::sentence::of(&e)))
    } else {
        String::new()
    };
    let from_sitemaps = if from_sitemaps == 0 {
        String::new()
    } else {
        format!(" {from_sitemaps} pages first found in sitemaps.")
    };
    let unchanged = if unchanged == [0, 0] {
        String::new()
    } else {
        format!(
            " Unchanged: {} (304), {} (same content).",
            unchanged[0], unchanged[1]
        )
    };
    let rendered = render_summary(&rendered);
    Ok(format!(
        "Run {} as of {}: fetched {} pages ({} new) in {:.1} s ({:.0} pages/s), {} bytes; {} links seen, {} new and {} lost backlinks; {} errors{}.{unchanged}{from_sitemaps}{rendered}{}{alerted}",
        run.id,
        iso(run.as_of),
        run.fetched,
        run.new_pages,
        secs,
        run.fetched as f64 / secs.max(0.001),
        run.bytes,
        sink.links,
        sink.new,
        sink.lost,
        run.errors,
        errors,
        ranked
    ))
}

/// `75` → `1m15s`.
fn fmt_secs(s: f64) -> String {
    let s = s.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(
            parse_duration("5y").is_err()
                && parse_duration("abc").is_err()
                && parse_duration("0s").is_err()
        );
    }
}
