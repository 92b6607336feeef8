//! `linkdiff demo`: the whole product, offline, in one command.

use crate::api::params::Params;
use crate::api::render::Format;
use crate::api::{answer, render_result, Access, ApiContext};
use anyhow::Context;
use clap::Args;
use linkdiff_testweb::{serve, TestWeb, WebConfig};
use std::path::PathBuf;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to leave the demo database (replaced if it is an earlier demo database).
    #[arg(long, default_value = "linkdiff-demo.db")]
    db: PathBuf,
    /// Keep the local test web running afterwards (until Ctrl-C) to try more crawls on it.
    #[arg(long)]
    keep: bool,
}

const TARGET: &str = "h001.test";

fn show(ctx: &ApiContext, title: &str, pairs: &[(&str, &str)]) {
    let p: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ans = answer(ctx, &Params::from_pairs(p), &Access::Local);
    let body = render_result(&ans, Format::Table);
    crate::outln!("\n== {title}\n{}", body.trim_end());
}

pub(super) fn run(a: DemoArgs) -> anyhow::Result<()> {
    if a.db.exists() {
        let earlier_demo = linkdiff_store::Store::open(&a.db)
            .ok()
            .and_then(|s| s.meta("demo").ok().flatten())
            .is_some();
        if !earlier_demo {
            anyhow::bail!(super::UsageError(format!(
                "{} exists and is not a demo database; pass --db with a new path",
                a.db.display()
            )));
        }
        remove_db(&a.db).with_context(|| format!("cannot replace {}", a.db.display()))?;
    }
    let store = super::open_store(&a.db)?;
    let mut w = linkdiff_store::WriteBatch::new();
    w.put_meta("demo", "1");
    store.apply(w)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let web = serve(TestWeb::new(WebConfig::default()), 0).await.context("cannot start the local test web")?;
        let port = web.addr.port();
        crate::outln!(
            "linkdiff demo: a local web of {} sites on 127.0.0.1:{port} (hosts h000.test … h{:03}.test), database {}",
            web.web.config().hosts,
            web.web.config().hosts - 1,
            a.db.display()
        );
        let today = chrono::Utc::now().timestamp() / 86_400 * 86_400;
        let week_ago = today - 7 * 86_400;
        let cfg = |as_of: i64| web.crawl_config(Some(as_of));
        let (_tx, rx) = tokio::sync::watch::channel(false);
        crate::outln!("\n1. Crawl as of a week ago (epoch 1 of the web):");
        crate::outln!("   {}", super::crawl::crawl_once(&store, &cfg(week_ago), rx.clone(), "off").await?);
        web.web.set_epoch(2);
        crate::outln!("\n2. The web changes: links added and removed, anchors edited, pages deleted, failing, redirected. Crawl again as of today:");
        crate::outln!("   {}", super::crawl::crawl_once(&store, &cfg(today), rx, "off").await?);
        let ctx = ApiContext::new(store.clone(), false);
        let s = store.stats()?;
        crate::outln!(
            "\n== Totals: {} pages, {} live links ({} external backlinks), {} new/lost events, {} runs, {} bytes on disk",
            s.pages, s.links, s.backlinks, s.events, s.runs, s.size_bytes
        );
        let date_from = linkdiff_query::time::date(today);
        let filter = format!("date=\"{date_from}\"");
        show(&ctx, &format!("Backlinks of {TARGET} that appeared or vanished today (backlinks_new_lost)"), &[
            ("from", "backlinks_new_lost"),
            ("target", TARGET),
            ("mode", "domain"),
            ("select", "date,type,origin,url_from,url_to,anchor"),
            ("where", &filter),
            ("order_by", "url_from,type"),
            ("limit", "15"),
        ]);
        show(&ctx, &format!("New/lost per day for {TARGET} and subdomains (backlinks_new_lost_counters)"), &[
            ("from", "backlinks_new_lost_counters"),
            ("target", TARGET),
            ("mode", "subdomains"),
            ("select", "date,new,lost,new_total,lost_total"),
        ]);
        show(&ctx, &format!("Top anchors pointing to {TARGET} (anchors)"), &[
            ("from", "anchors"),
            ("target", TARGET),
            ("mode", "domain"),
            ("limit", "8"),
        ]);
        let db = a.db.display();
        crate::outln!("\n== Explore further");
        crate::outln!("  linkdiff query backlinks --db {db} --target {TARGET} --mode domain --order-by domain_rating:desc --limit 10");
        crate::outln!("  linkdiff query backlinks_new_lost --db {db} --target {TARGET} --mode domain --where 'type=\"lost\"' --output json");
        crate::outln!("  linkdiff bulk-new-lost --db {db} {TARGET} h002.test");
        crate::outln!("  linkdiff serve --db {db} --listen 127.0.0.1:8080");
        crate::outln!("  curl 'http://127.0.0.1:8080/?from=backlinks&target={TARGET}&mode=domain&limit=5&output=json'");
        crate::outln!("  curl -u demo:any -X POST http://127.0.0.1:8080/v3/backlinks/bulk_new_lost_backlinks/live -d '[{{\"targets\":[\"{TARGET}\"]}}]'");
        if a.keep {
            crate::outln!("\nThe test web keeps running on 127.0.0.1:{port}; crawl it with:\n  linkdiff crawl --db {db} --resolve '{}' --rate 0 {}\nCtrl-C stops it.", web.resolve_arg(), web.web.seeds().iter().take(3).map(|s| format!("--url {s}")).collect::<Vec<_>>().join(" "));
            tokio::signal::ctrl_c().await?;
        }
        store.flush()?;
        Ok(())
    })
}

/// Delete an index: a SQLite file with its WAL and shared-memory files, or a sled directory.
fn remove_db(db: &std::path::Path) -> std::io::Result<()> {
    if db.is_dir() {
        return std::fs::remove_dir_all(db);
    }
    for suffix in ["", "-wal", "-shm", "-crawl.lock"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
