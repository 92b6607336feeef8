//! `linkdiff watch`: the commands over [`crate::watched`] (the links a user placed, checked
//! every run whatever the scope, with their state and since when). URLs are normalised as the
//! crawler normalises them.

use super::{open_index, open_store, UsageError};
use crate::exports::{self, Format};
use crate::watched::{key, put, status, watched, Watched};
use anyhow::Context;
use clap::{Args, Subcommand};
use linkdiff_query::time::iso;
use linkdiff_store::WriteBatch;
use serde_json::{json, Value as J};
use std::path::PathBuf;

/// `watch` subcommands.
#[derive(Debug, Subcommand)]
pub enum WatchCmd {
    /// Watch the link from URL_FROM to URL_TO (its page is fetched in every crawl).
    Add(AddArgs),
    /// List the watched links.
    List(ListArgs),
    /// Stop watching a link.
    Remove(RemoveArgs),
    /// Watch every link of a CSV file: `url_from,url_to[,anchor[,note]]` (a header row is
    /// skipped).
    Import(ImportArgs),
    /// Each watched link's state (live, missing, nofollow, anchor changed, page error, page
    /// redirects, not visited yet) and since when.
    Status(ListArgs),
}

/// Arguments of `watch add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The page that links.
    url_from: String,
    /// Where it links to.
    url_to: String,
    /// The anchor text you placed (a different live anchor is reported as changed).
    #[arg(long)]
    anchor: Option<String>,
    /// A note for yourself (client, campaign, price...).
    #[arg(long)]
    note: Option<String>,
    /// The link is placed by a script: render its page in headless Chromium at every crawl
    /// (whatever the crawl's --render; the crawl's --chromium names the browser).
    #[arg(long)]
    render: bool,
    #[command(flatten)]
    db: super::DbArg,
}

/// Arguments of `watch list` and `watch status`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    db: super::DbArg,
    /// table or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    output: String,
}

/// Arguments of `watch remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The page that links.
    url_from: String,
    /// Where it links to.
    url_to: String,
    #[command(flatten)]
    db: super::DbArg,
}

/// Arguments of `watch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A CSV of backlinks: linkdiff's url_from,url_to[,anchor[,note]], or a backlinks export of
    /// Ahrefs (UTF-16 with tabs, or UTF-8 CSV), Semrush or Majestic.
    file: PathBuf,
    /// Which tool wrote the file: auto (from the header row), linkdiff, ahrefs, semrush or
    /// majestic.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Write the referring pages (once each) to this seed list instead of watching the links;
    /// the index is not touched.
    #[arg(long, value_name = "OUT")]
    as_seeds: Option<PathBuf>,
    #[command(flatten)]
    db: super::DbArg,
}

fn normalised(flag: &str, u: &str) -> anyhow::Result<String> {
    linkdiff_crawler::normalize::parse_absolute(u)
        .map(|u| u.to_string())
        .map_err(|e| UsageError(format!("{flag} {e}")).into())
}

/// `watch import`: every row of the file is checked first; one bad row names its line and
/// nothing is written.
fn import(a: ImportArgs) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let format = match a.format.as_str() {
        "auto" => None,
        f => Some(f.parse::<Format>().map_err(UsageError)?),
    };
    let file = a.file.display();
    let (format, rows) = exports::decode(&bytes)
        .and_then(|text| exports::read(&text, format))
        .map_err(|e| UsageError(format!("{file}: {e}")))?;
    let now = linkdiff_query::time::now();
    let mut links = Vec::with_capacity(rows.len());
    for r in rows {
        let place = |e: anyhow::Error| UsageError(format!("{file} line {}: {e}", r.line));
        links.push(Watched {
            url_from: normalised("url_from", &r.url_from).map_err(place)?,
            url_to: normalised("url_to", &r.url_to).map_err(place)?,
            anchor: r.anchor,
            note: r.note,
            added: now,
            render: false,
        });
    }
    if let Some(out) = &a.as_seeds {
        let mut seen = std::collections::HashSet::new();
        let mut text = String::new();
        for l in &links {
            if seen.insert(l.url_from.as_str()) {
                text.push_str(&l.url_from);
                text.push('\n');
            }
        }
        std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
        crate::outln!(
            "wrote {} referring pages of {} {} links to {}",
            seen.len(),
            links.len(),
            format.name(),
            out.display()
        );
        return Ok(());
    }
    let store = open_store(&a.db.db)?;
    let mut w = WriteBatch::new();
    for l in &links {
        put(&mut w, l);
    }
    store.apply(w)?;
    store.flush()?;
    crate::outln!(
        "watching {} links from {} ({} export)",
        links.len(),
        a.file.display(),
        format.name()
    );
    Ok(())
}

/// Run a `watch` subcommand.
pub fn run(cmd: WatchCmd) -> anyhow::Result<()> {
    match cmd {
        WatchCmd::Add(a) => {
            let store = open_store(&a.db.db)?;
            let link = Watched {
                url_from: normalised("URL_FROM", &a.url_from)?,
                url_to: normalised("URL_TO", &a.url_to)?,
                anchor: a.anchor,
                note: a.note,
                added: linkdiff_query::time::now(),
                render: a.render,
            };
            let mut w = WriteBatch::new();
            put(&mut w, &link);
            store.apply(w)?;
            store.flush()?;
            crate::outln!(
                "watching {} -> {}; its page is fetched{} in every crawl from now on",
                link.url_from,
                link.url_to,
                if link.render { " and rendered" } else { "" }
            );
            Ok(())
        }
        WatchCmd::Remove(a) => {
            let store = open_index(&a.db.db, "--db")?;
            let (from, to) = (
                normalised("URL_FROM", &a.url_from)?,
                normalised("URL_TO", &a.url_to)?,
            );
            let k = key(&from, &to);
            if store.meta(&k)?.is_none() {
                return Err(UsageError(format!("{from} -> {to} is not watched")).into());
            }
            let mut w = WriteBatch::new();
            w.remove_meta(&k);
            store.apply(w)?;
            store.flush()?;
            crate::outln!("no longer watching {from} -> {to}");
            Ok(())
        }
        WatchCmd::Import(a) => import(a),
        WatchCmd::List(a) => {
            let store = open_index(&a.db.db, "--db")?;
            let rows: Vec<J> = watched(&store)?
                .iter()
                .map(|w| {
                    json!({"url_from": w.url_from, "url_to": w.url_to, "anchor": w.anchor,
                           "note": w.note, "added": iso(w.added)})
                })
                .collect();
            print(
                &rows,
                &a.output,
                &["url_from", "url_to", "anchor", "note", "added"],
            )
        }
        WatchCmd::Status(a) => {
            let store = open_index(&a.db.db, "--db")?;
            let rows: Vec<J> = watched(&store)?
                .iter()
                .map(|w| status(&store, w))
                .collect::<anyhow::Result<_>>()?;
            print(
                &rows,
                &a.output,
                &[
                    "url_from",
                    "url_to",
                    "state",
                    "since",
                    "last_checked",
                    "detail",
                    "note",
                ],
            )
        }
    }
}

fn print(rows: &[J], output: &str, cols: &[&str]) -> anyhow::Result<()> {
    if output == "json" {
        crate::outln!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        crate::outln!("no watched links (add one with `linkdiff watch add URL_FROM URL_TO`)");
        return Ok(());
    }
    // The same plain table as `linkdiff query` prints, with the columns in this order.
    let shown: Vec<J> = rows
        .iter()
        .map(|r| {
            J::Object(
                cols.iter()
                    .map(|c| (c.to_string(), r[*c].clone()))
                    .collect(),
            )
        })
        .collect();
    let table = crate::api::render::render(
        &json!({ "watched": shown }),
        crate::api::render::Format::Table,
    );
    crate::out!("{table}");
    Ok(())
}
