//! `linkdiff clickhouse`: set up and maintain an index on ClickHouse (issue 15, README "Scale
//! out").

use super::UsageError;
use anyhow::Context;
use clap::Subcommand;
use linkdiff_store::clickhouse::client::ChLocation;
use linkdiff_store::clickhouse::ChStore;

/// `clickhouse` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClickhouseCmd {
    /// Create the database and tables (first use of a single server does this too). With
    /// --cluster, `*_local` tables on every server named in --db and `Distributed` tables over
    /// the cluster under the plain names.
    Init {
        /// clickhouse://HOST:PORT[,HOST:PORT…]/DATABASE
        #[arg(long, env = "LINKDIFF_DB")]
        db: String,
        /// A cluster of the servers' `remote_servers` configuration.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Merge every table's parts now, so replaced row versions leave the disk (ClickHouse
    /// also does this in the background).
    Optimize {
        /// clickhouse://HOST:PORT[,HOST:PORT…]/DATABASE
        #[arg(long, env = "LINKDIFF_DB")]
        db: String,
    },
}

fn location(db: &str) -> anyhow::Result<ChLocation> {
    match ChLocation::parse(db) {
        Some(Ok(l)) => Ok(l),
        Some(Err(e)) => Err(UsageError(format!("--db {db}: {e}")).into()),
        None => Err(UsageError(format!(
            "--db {db}: expected clickhouse://HOST:PORT/DATABASE"
        ))
        .into()),
    }
}

/// Run a `clickhouse` subcommand.
pub fn run(c: ClickhouseCmd) -> anyhow::Result<()> {
    match c {
        ClickhouseCmd::Init { db, cluster } => {
            let loc = location(&db)?;
            if let Some(c) = &cluster {
                if !c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(
                        UsageError(format!("--cluster {c}: letters, digits and _ only")).into(),
                    );
                }
            }
            ChStore::init(&loc, cluster.as_deref())
                .with_context(|| format!("cannot create the tables in {}", loc.display()))?;
            crate::outln!(
                "created the linkdiff tables in {}{}",
                loc.display(),
                cluster
                    .map(|c| format!(" (Distributed over cluster {c})"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        ClickhouseCmd::Optimize { db } => {
            let loc = location(&db)?;
            let store = ChStore::open_with(&loc, false)
                .with_context(|| format!("cannot open {}", loc.display()))?;
            let t0 = std::time::Instant::now();
            store.optimize().context("OPTIMIZE failed")?;
            let links = store.link_records()?;
            let bytes = store.size_on_disk()?;
            crate::outln!(
                "merged every table of {} in {:.1} s: {} bytes on disk for {} link records, {:.1} bytes per link",
                loc.display(),
                t0.elapsed().as_secs_f64(),
                bytes,
                links,
                bytes as f64 / links.max(1) as f64
            );
            Ok(())
        }
    }
}
