//! `linkdiff query`, `linkdiff bulk-new-lost`, `linkdiff serve`, `linkdiff token`.

use crate::api::params::Params;
use crate::api::render::{self, Format};
use crate::api::{answer, dataforseo, render_result, server, tokens, Access, ApiContext};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::{IsTerminal, Write};

/// Arguments of `query` (SPEC §2).
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A v2 table: backlinks, backlinks_one_per_domain, backlinks_new_lost,
    /// backlinks_new_lost_counters, broken_backlinks, anchors, refdomains, refdomains_new_lost,
    /// refdomains_new_lost_counters, metrics, metrics_extended, ahrefs_rank, pages_extended,
    /// domain_rating or subscription_info.
    table: String,
    /// Target URL, host or prefix.
    #[arg(long)]
    target: Option<String>,
    /// exact, domain, subdomains or prefix.
    #[arg(long, default_value = "exact")]
    mode: String,
    /// Row filter, e.g. `nofollow=false,substring(anchor,"seo")`.
    #[arg(long = "where")]
    where_: Option<String>,
    /// Group filter.
    #[arg(long)]
    having: Option<String>,
    /// Columns, comma-separated.
    #[arg(long)]
    select: Option<String>,
    /// `col[:asc|:desc],...`.
    #[arg(long)]
    order_by: Option<String>,
    /// Rows (default 1000, up to 5,000,000).
    #[arg(long)]
    limit: Option<String>,
    /// Rows skipped.
    #[arg(long)]
    offset: Option<String>,
    /// table, json, xml, csv, ndjson or php (default: table on a terminal, else json).
    #[arg(long)]
    output: Option<String>,
    /// Stop the query after this many seconds with an error saying so (0: no limit).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    timeout: f64,
    #[command(flatten)]
    db: super::DbArg,
}

pub(super) fn query(a: QueryArgs) -> anyhow::Result<()> {
    let store = super::open_index(&a.db.db, "--db")?;
    let output = a.output.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            "table".into()
        } else {
            "json".into()
        }
    });
    let format = Format::for_cli(output.trim()).map_err(super::UsageError)?;
    let mut pairs = vec![("from".to_string(), a.table), ("mode".into(), a.mode)];
    for (k, v) in [
        ("target", a.target),
        ("where", a.where_),
        ("having", a.having),
        ("select", a.select),
        ("order_by", a.order_by),
        ("limit", a.limit),
        ("offset", a.offset),
    ] {
        if let Some(v) = v {
            pairs.push((k.to_string(), v));
        }
    }
    let mut ctx = ApiContext::new(store, false);
    ctx.query_timeout = time_limit(a.timeout, "--timeout")?;
    ctx.timeout_flag = "--timeout";
    let ans = ctx.limited(|| answer(&ctx, &Params::from_pairs(pairs), &Access::Local));
    if let Err(e) = &ans {
        if !matches!(format, Format::Json | Format::Xml | Format::Php) {
            anyhow::bail!(super::UsageError(e.to_string()));
        }
    }
    // API formats print the error as the API answers it, for scripts that parse it.
    let body = render_result(&ans, format);
    let mut out = std::io::stdout().lock();
    out.write_all(body.as_bytes())?;
    if !body.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    if ans.is_err() {
        std::process::exit(1);
    }
    Ok(())
}

/// Arguments of `bulk-new-lost`.
#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Targets: bare domain (with subdomains), host, or http(s) URL.
    #[arg(required = true)]
    targets: Vec<String>,
    /// First day counted (default: today minus one month).
    #[arg(long)]
    date_from: Option<String>,
    /// table or json (json = the DataForSEO response).
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    output: String,
    /// Count referring domains (hosts and registrable domains) gained and lost instead of
    /// backlinks (DataForSEO's bulk_new_lost_referring_domains).
    #[arg(long)]
    referring_domains: bool,
    #[command(flatten)]
    db: super::DbArg,
}

pub(super) fn bulk(a: BulkArgs) -> anyhow::Result<()> {
    let store = super::open_index(&a.db.db, "--db")?;
    let task = serde_json::json!([{ "targets": a.targets, "date_from": a.date_from }]);
    let kind = if a.referring_domains {
        dataforseo::Bulk::NewLostReferringDomains
    } else {
        dataforseo::Bulk::NewLostBacklinks
    };
    let now = chrono::Utc::now().timestamp();
    let valid = dataforseo::validate(&task[0], now).map_err(|field| {
        let hint = match field {
            dataforseo::InvalidField::DateFrom => " (YYYY-MM-DD, within the last year)",
            _ => "",
        };
        super::UsageError(format!("Invalid Field: '{field}'.{hint}"))
    })?;
    if a.output == "json" {
        // The DataForSEO response itself, envelope and all.
        let (_, resp) = dataforseo::answer(&store, kind, task.to_string().as_bytes(), now);
        crate::outln!("{}", serde_json::to_string_pretty(&resp)?);
        return Ok(());
    }
    let items = serde_json::json!({"items": dataforseo::items(&store, kind, &valid)?});
    crate::out!("{}", render::render(&items, Format::Table));
    Ok(())
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: super::DbArg,
    /// Address to listen on. A non-loopback address always requires tokens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Large queries (a whole domain with a grouped table, a sort or a filter) run at most this
    /// many at once; the rest wait their turn while cheap queries go straight on (default: half
    /// the cores, at least 1).
    #[arg(long)]
    heavy_queries: Option<usize>,
    /// A query running longer is stopped and its client told so in the API's error shape
    /// (v2 `{"error": …}`, a DataForSEO task status); the request log names the query. 0: no
    /// limit.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    query_timeout: f64,
}

/// A `--timeout`/`--query-timeout` value: `None` for 0 (no limit).
fn time_limit(seconds: f64, flag: &str) -> anyhow::Result<Option<std::time::Duration>> {
    if !seconds.is_finite() || seconds < 0.0 {
        anyhow::bail!(super::UsageError(format!(
            "{flag} {seconds}: give a number of seconds (0 for no limit)"
        )));
    }
    Ok((seconds > 0.0).then(|| std::time::Duration::from_secs_f64(seconds)))
}

pub(super) fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let store = super::open_index(&a.db.db, "--db")?;
    let public = !a.listen.ip().is_loopback();
    let mut ctx = ApiContext::new(store.clone(), public);
    ctx.query_timeout = time_limit(a.query_timeout, "--query-timeout")?;
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let auth = if ctx.auth_required()? {
            "tokens required"
        } else {
            "no token needed (loopback, no tokens)"
        };
        crate::eprint_quiet!(
            "linkdiff: serving {} on http://{} ({auth}); Ctrl-C stops",
            a.db.db.display(),
            listener.local_addr()?
        );
        let mut limits = server::Limits::default();
        if let Some(n) = a.heavy_queries {
            limits.heavy_queries = n.max(1);
        }
        server::serve_with(ctx, listener, limits, super::crawl::wait_for_signal()).await?;
        crate::eprint_quiet!("linkdiff: stopped");
        store.flush()?;
        Ok(())
    })
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token (printed once) with a row quota.
    Create {
        /// Name (also the DataForSEO login).
        #[arg(long)]
        name: String,
        /// Row quota.
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        #[command(flatten)]
        db: super::DbArg,
    },
    /// List tokens and their quotas.
    List {
        #[command(flatten)]
        db: super::DbArg,
    },
    /// Revoke a token by name.
    Revoke {
        /// Name.
        name: String,
        #[command(flatten)]
        db: super::DbArg,
    },
}

pub(super) fn token(cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Create { name, rows, db } => {
            let store = super::open_store(&db.db)?;
            let t = tokens::create(&store, &name, rows)
                .map_err(|e| super::UsageError(e.to_string()))?;
            crate::outln!("{t}");
            crate::eprint_quiet!(
                "linkdiff: token '{name}' created with {rows} rows; it is shown only once"
            );
        }
        TokenCmd::List { db } => {
            let store = super::open_index(&db.db, "--db")?;
            crate::outln!("name\trows_left\trows_limit\tcreated");
            for (name, r) in store.tokens()? {
                crate::outln!(
                    "{name}\t{}\t{}\t{}",
                    tokens::rows_text(r.centirows_left),
                    r.rows_limit,
                    linkdiff_query::time::iso(r.created)
                );
            }
        }
        TokenCmd::Revoke { name, db } => {
            let store = super::open_index(&db.db, "--db")?;
            if store.token(&name)?.is_none() {
                anyhow::bail!(super::UsageError(format!("no token named '{name}'")));
            }
            let mut w = linkdiff_store::WriteBatch::new();
            w.remove_token(&name);
            store.apply(w)?;
            store.flush()?;
            crate::outln!("revoked {name}");
        }
    }
    Ok(())
}
