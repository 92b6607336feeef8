//! `linkdiff webhook`: webhooks stored in the index, told about every crawl run (see
//! [`crate::alerts`] for the document and the delivery rules).

use super::{open_index, open_store, UsageError};
use crate::alerts::{self, Webhook};
use clap::{Args, Subcommand};

/// `webhook` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// Store a webhook: every crawl run POSTs its documents to URL.
    Add(AddArgs),
    /// List the stored webhooks.
    List(super::DbArg),
    /// Remove a stored webhook.
    Remove(RemoveArgs),
}

/// Arguments of `webhook add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// http(s) URL (a Slack incoming webhook gets Slack's `text` message).
    url: String,
    /// Target domain the documents are about (repeatable; default: the domains of the watched
    /// links' targets).
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Skip documents with fewer changes (events + watched-link changes).
    #[arg(long, default_value_t = 0)]
    min: u64,
    #[command(flatten)]
    db: super::DbArg,
}

/// Arguments of `webhook remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The URL given to `webhook add`.
    url: String,
    #[command(flatten)]
    db: super::DbArg,
}

/// Run a `webhook` subcommand.
pub fn run(cmd: WebhookCmd) -> anyhow::Result<()> {
    match cmd {
        WebhookCmd::Add(a) => {
            let u = url::Url::parse(&a.url).map_err(|e| UsageError(format!("{}: {e}", a.url)))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(UsageError(format!("{}: not an http(s) URL", a.url)).into());
            }
            let store = open_store(&a.db.db)?;
            let hook = Webhook {
                url: a.url.clone(),
                targets: a
                    .targets
                    .iter()
                    .map(|t| t.trim().to_ascii_lowercase())
                    .collect(),
                min: a.min,
            };
            alerts::store_hook(&store, &hook)?;
            crate::outln!("every crawl run now POSTs to {}", a.url);
            Ok(())
        }
        WebhookCmd::List(db) => {
            let store = open_index(&db.db, "--db")?;
            let hooks = alerts::stored(&store)?;
            if hooks.is_empty() {
                crate::outln!("no webhooks (add one with `linkdiff webhook add URL`)");
            }
            for h in hooks {
                let targets = if h.targets.is_empty() {
                    "watched links' targets".to_string()
                } else {
                    h.targets.join(", ")
                };
                crate::outln!("{}  targets: {targets}  min: {}", h.url, h.min);
            }
            Ok(())
        }
        WebhookCmd::Remove(a) => {
            let store = open_index(&a.db.db, "--db")?;
            if !alerts::remove_hook(&store, &a.url)? {
                return Err(UsageError(format!("{} is not a stored webhook", a.url)).into());
            }
            crate::outln!("removed {}", a.url);
            Ok(())
        }
    }
}
