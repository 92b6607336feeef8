//! Shared helpers: a test web on loopback, crawl configs, the binary.

use linkdiff::testweb::{serve, RunningWeb, TestWeb, WebConfig};
use linkdiff_crawler::fetch::FetchConfig;
use linkdiff_crawler::resolve::{GuardedResolver, ResolveRule};
use linkdiff_crawler::{CrawlConfig, Scope};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

/// Start a test web on 127.0.0.1 on the current runtime.
pub async fn web(cfg: WebConfig) -> RunningWeb {
    serve(TestWeb::new(cfg), 0).await.expect("bind loopback")
}

/// A crawl config for the web: all hosts seeded, unlimited rate, fast retries.
pub fn crawl_cfg(web: &RunningWeb, as_of: Option<i64>) -> CrawlConfig {
    let port = web.addr.port();
    CrawlConfig {
        seeds: web
            .web
            .seeds()
            .iter()
            .map(|s| url::Url::parse(s).unwrap())
            .collect(),
        as_of,
        scope: Scope::Hosts,
        max_pages: None,
        max_depth: None,
        max_pages_per_host: None,
        rate: 0.0,
        concurrency: 16,
        retries: 1,
        retry_backoff: Duration::from_millis(20),
        fetch: FetchConfig {
            user_agent: "linkdiff-test".into(),
            timeout: Duration::from_secs(5),
            max_body: 5 * 1024 * 1024,
            resolver: GuardedResolver {
                rules: Arc::new(vec![ResolveRule::parse(&format!(
                    "*.test:{port}:127.0.0.1"
                ))
                .unwrap()]),
                allow_private: false,
            },
        },
    }
}

/// Run one crawl in-process.
pub async fn crawl(store: &linkdiff_store::Store, cfg: &CrawlConfig) -> String {
    let (_tx, rx) = tokio::sync::watch::channel(false);
    linkdiff::cli::crawl::crawl_once(store, cfg, rx, "off")
        .await
        .expect("crawl")
}

/// Run the binary with args; returns its output.
pub fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_linkdiff"))
        .args(args)
        .env_remove("LINKDIFF_DB")
        .output()
        .expect("run linkdiff")
}

/// `YYYY-MM-DD` → Unix seconds.
pub fn day(s: &str) -> i64 {
    linkdiff_indexer::time::parse(s).unwrap()
}
