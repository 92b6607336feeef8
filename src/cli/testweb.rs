//! `linkdiff testweb`: serve the generated test web on loopback until stopped.

use clap::Args;
use linkdiff_testweb::{serve, TestWeb, WebConfig};

/// Arguments of `testweb`.
#[derive(Debug, Args)]
pub struct TestwebArgs {
    /// Port on 127.0.0.1 (0 = any).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Hosts.
    #[arg(long, default_value_t = 12)]
    hosts: usize,
    /// Content pages per host.
    #[arg(long, default_value_t = 8)]
    pages: usize,
    /// External links per page.
    #[arg(long, default_value_t = 6)]
    links: usize,
    /// Filler bytes per page.
    #[arg(long, default_value_t = 0)]
    filler: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Starting epoch (GET /_testweb/epoch/N on any host switches).
    #[arg(long, default_value_t = 1)]
    epoch: u32,
    /// Write the seed URLs (every host's root) to this file once bound.
    #[arg(long)]
    seeds_file: Option<std::path::PathBuf>,
    /// Every page loads a script that adds one link (to js.test) with DOM calls: links only
    /// `crawl --render` finds.
    #[arg(long)]
    scripts: bool,
}

pub(super) fn run(a: TestwebArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let web = TestWeb::new(WebConfig {
            seed: a.seed,
            hosts: a.hosts.max(2),
            pages_per_host: a.pages.max(1),
            links_per_page: a.links,
            filler_bytes: a.filler,
            scripts: a.scripts,
            ..WebConfig::default()
        });
        web.set_epoch(a.epoch);
        let running = serve(web, a.port).await?;
        if let Some(f) = &a.seeds_file {
            std::fs::write(f, running.web.seeds().join("\n") + "\n")?;
        }
        crate::outln!(
            "test web on {} — crawl with: --resolve '{}' --url http://h000.test:{}/",
            running.addr,
            running.resolve_arg(),
            running.addr.port()
        );
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
