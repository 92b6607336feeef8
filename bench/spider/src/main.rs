//! `spider-bench SEEDS PROXY`: crawl every seed site with spider-rs at once (no delay, robots
//! respected, links extracted by spider as it crawls, nothing indexed) and print pages, bytes,
//! seconds. `PROXY` (`http://127.0.0.1:PORT`) routes every host name to the loopback test web,
//! the way `--resolve` does for linkdiff: the web dispatches on the Host header.

use spider::tokio;
use spider::website::Website;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(seeds), Some(proxy)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: spider-bench SEEDS_FILE http://127.0.0.1:PORT");
        std::process::exit(2);
    };
    let seeds: Vec<String> = std::fs::read_to_string(seeds)
        .expect("readable seeds file")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let start = Instant::now();
    let mut sites = Vec::new();
    for seed in seeds {
        let proxy = proxy.clone();
        sites.push(tokio::spawn(async move {
            let mut website = Website::new(&seed);
            website
                .with_proxies(Some(vec![proxy]))
                .with_respect_robots_txt(true)
                .with_delay(0)
                .with_user_agent(Some("spider-bench"));
            let mut pages = website.subscribe(64);
            let counter = tokio::spawn(async move {
                let (mut n, mut bytes) = (0u64, 0u64);
                while let Ok(page) = pages.recv().await {
                    n += 1;
                    bytes += page.get_html_bytes_u8().len() as u64;
                }
                (n, bytes)
            });
            website.crawl().await;
            website.unsubscribe();
            counter.await.unwrap_or((0, 0))
        }));
    }
    let (mut pages, mut bytes) = (0u64, 0u64);
    for site in sites {
        let (n, b) = site.await.unwrap_or((0, 0));
        pages += n;
        bytes += b;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "spider: {pages} pages, {bytes} bytes in {secs:.2} s ({:.0} pages/s)",
        pages as f64 / secs
    );
}
