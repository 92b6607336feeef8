//! `linkdiff status`.

use super::DbArg;
use clap::Args;
use linkdiff_query::time::iso;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    db: DbArg,
    /// table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    output: String,
}

pub(super) fn run(a: StatusArgs) -> anyhow::Result<()> {
    let store = super::open_index(&a.db.db, "--db")?;
    let s = store.stats()?;
    let last = store.last_run()?;
    let last_run = last.as_ref().map(|r| {
        serde_json::json!({
            "id": r.id,
            "kind": if r.is_import() { "import" } else { "crawl" },
            "as_of": iso(r.as_of),
            "started": iso(r.started),
            "finished": r.finished.map(iso),
            "fetched": r.fetched,
            "new_pages": r.new_pages,
            "errors": r.errors,
            "bytes": r.bytes,
        })
    });
    // The last finished `ranks import` (format, source, count, day), if any.
    let ranks = store.meta(linkdiff_store::RANKS_IMPORTED)?;
    if a.output == "json" {
        let v = serde_json::json!({
            "pages": s.pages, "links": s.links, "backlinks": s.backlinks, "events": s.events,
            "runs": s.runs, "last_run": last_run, "size_bytes": s.size_bytes,
            "ranks_imported": ranks,
        });
        crate::outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    crate::outln!("database    {}", a.db.db.display());
    crate::outln!("pages       {}", s.pages);
    crate::outln!("links       {} live", s.links);
    crate::outln!("backlinks   {} live external", s.backlinks);
    crate::outln!("events      {} new/lost", s.events);
    crate::outln!("runs        {}", s.runs);
    match last {
        Some(r) => crate::outln!(
            "last run    #{} ({}) as of {} ({} pages, {} errors{})",
            r.id,
            if r.is_import() { "import" } else { "crawl" },
            iso(r.as_of),
            r.fetched,
            r.errors,
            match (r.finished.is_some(), r.is_import()) {
                (true, _) => "",
                (false, false) => ", unfinished: the next crawl resumes it",
                (false, true) =>
                    ", unfinished: importing the same files goes on from the checkpoints",
            }
        ),
        None => crate::outln!("last run    none yet"),
    }
    if let Some(r) = ranks {
        crate::outln!("ranks       imported: {r}");
    }
    crate::outln!("size        {} bytes on disk", s.size_bytes);
    Ok(())
}
