//! `bench query`: p50/p99 latency of the v2 tables and DataForSEO answers on an index with one target of 100,000 backlinks.

use super::*;

/// Arguments of `bench query`.
#[derive(Debug, Args)]
pub struct QueryBench {
    /// A database built by `bench index`.
    #[arg(long)]
    db: PathBuf,
    /// Repetitions per query.
    #[arg(long, default_value_t = 30)]
    runs: usize,
    /// Only the queries whose name contains one of these (comma-separated), e.g.
    /// `--only backlinks,anchors`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

pub(super) fn bench_query(a: QueryBench) -> anyhow::Result<()> {
    let store = super::super::open_store(&a.db)?;
    let cases: Vec<(&str, Table, QueryParams)> = vec![
        (
            "backlinks domain limit=1000",
            Table::Backlinks,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "backlinks + order_by=domain_rating:desc",
            Table::Backlinks,
            QueryParams {
                limit: 1000,
                order_by: Some("domain_rating:desc".into()),
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "backlinks + where nofollow=false,substring(anchor)",
            Table::Backlinks,
            QueryParams {
                limit: 1000,
                where_: query::parse_clause(
                    Some("nofollow=false,substring(anchor,\"engine\")"),
                    "where",
                )?,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "anchors domain limit=1000",
            Table::Anchors,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "new_lost domain limit=1000",
            Table::NewLost,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "new_lost where type=lost order_by domain_rating:desc",
            Table::NewLost,
            QueryParams {
                limit: 1000,
                where_: query::parse_clause(Some("type=\"lost\""), "where")?,
                order_by: Some("domain_rating:desc".into()),
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "refdomains domain limit=1000",
            Table::Refdomains,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "refdomains_new_lost domain",
            Table::RefdomainsNewLost,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "metrics_extended domain",
            Table::MetricsExtended,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "counters domain",
            Table::Counters,
            QueryParams {
                limit: 1000,
                select: Some("date,new,lost,new_total,lost_total".into()),
                ..QueryParams::new(Target::Domain("big.bench".into()))
            },
        ),
        (
            "whole TLD (1M links): backlinks subdomains=bench order_by=domain_rating:desc",
            Table::Backlinks,
            QueryParams {
                limit: 1000,
                order_by: Some("domain_rating:desc".into()),
                ..QueryParams::new(Target::Subdomains("bench".into()))
            },
        ),
        (
            "backlinks exact (one page, ~20 backlinks)",
            Table::Backlinks,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Exact("www.big.bench/page41".into()))
            },
        ),
    ];
    // Every table over the whole TLD (issue 32: each within 2 s at 1M links).
    let mut cases: Vec<(String, Table, QueryParams)> = cases
        .into_iter()
        .map(|(n, t, p)| (n.to_string(), t, p))
        .collect();
    for t in Table::ALL {
        cases.push((
            format!("whole TLD: {} subdomains=bench limit=1000", t.name()),
            t,
            QueryParams {
                limit: 1000,
                ..QueryParams::new(Target::Subdomains("bench".into()))
            },
        ));
    }
    let wanted = |name: &str| a.only.is_empty() || a.only.iter().any(|o| name.contains(o.as_str()));
    for (name, table, p) in cases.into_iter().filter(|c| wanted(&c.0)) {
        let runs = if name.starts_with("whole TLD") {
            a.runs.min(5)
        } else {
            a.runs
        };
        let mut times = Vec::with_capacity(runs);
        let mut rows = 0;
        for _ in 0..runs {
            let t0 = Instant::now();
            rows = query::run(&store, table, &p)?.rows.len();
            times.push(t0.elapsed());
        }
        let (p50, p99) = percentiles(times);
        crate::outln!("query {name}: {rows} rows, p50 {p50:.2} ms, p99 {p99:.2} ms ({runs} runs)");
    }
    // Ahrefs v3 (issue 26): all-backlinks of the 100,000-backlink target, a page of 1,000.
    let ctx = crate::api::ApiContext::new(store.clone(), false);
    let select = "url_from,url_to,anchor,domain_rating_source,is_dofollow,first_seen_link";
    for (name, extra) in [
        ("v3 all-backlinks big.bench limit=1000 (default history, aggregation)", ""),
        (
            "v3 all-backlinks big.bench limit=1000 history=live (similar_links)",
            "&history=live",
        ),
        (
            "v3 all-backlinks big.bench limit=1000 history=live aggregation=all",
            "&history=live&aggregation=all",
        ),
        (
            "v3 all-backlinks big.bench limit=1000 history=live aggregation=all where is_dofollow order_by dr",
            "&history=live&aggregation=all&where=%7B%22field%22%3A%22is_dofollow%22%2C%22is%22%3A%5B%22eq%22%2Ctrue%5D%7D&order_by=domain_rating_source%3Adesc",
        ),
        (
            "v3 all-backlinks big.bench limit=1000 (defaults) where is_dofollow order_by dr",
            "&where=%7B%22field%22%3A%22is_dofollow%22%2C%22is%22%3A%5B%22eq%22%2Ctrue%5D%7D&order_by=domain_rating_source%3Adesc",
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        let p = crate::api::params::Params::parse(&format!(
            "target=big.bench&mode=domain&limit=1000&select={select}{extra}"
        ))
        .map_err(anyhow::Error::msg)?;
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..a.runs.min(10) {
            let t0 = Instant::now();
            let r = crate::api::v3::answer(
                &ctx,
                crate::api::v3::Endpoint::AllBacklinks,
                &p,
                b"",
                None,
            );
            anyhow::ensure!(r.status == 200, "v3 answered {}: {}", r.status, r.body);
            size = r.body.len();
            times.push(t0.elapsed());
        }
        let (p50, p99) = percentiles(times);
        crate::outln!("{name}: {size} bytes, p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    // DataForSEO competitors and domain intersection (issue 26): the 100,000-backlink target.
    for (name, body) in [
        (
            "dataforseo competitors big.bench",
            r#"[{"target":"big.bench","limit":100}]"#.to_string(),
        ),
        (
            "dataforseo domain_intersection big.bench t0.bench",
            r#"[{"targets":{"1":"big.bench","2":"t0.bench"},"limit":100}]"#.to_string(),
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        let mut times = Vec::new();
        let mut items = 0;
        for _ in 0..a.runs.min(5) {
            let t0 = Instant::now();
            let (status, j) = if name.contains("competitors") {
                crate::api::dfs_competitors::answer(&store, body.as_bytes())
            } else {
                crate::api::dfs_intersection::answer(&store, body.as_bytes())
            };
            anyhow::ensure!(
                status == 200 && j["tasks"][0]["status_code"] == 20000,
                "{j}"
            );
            items = j["tasks"][0]["result"][0]["total_count"]
                .as_u64()
                .unwrap_or(0);
            times.push(t0.elapsed());
        }
        let (p50, p99) = percentiles(times);
        crate::outln!("{name}: {items} items in all, p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    if !wanted("dataforseo bulk new/lost, 1,000 targets") {
        return Ok(());
    }
    // DataForSEO bulk new/lost with 1,000 targets: 999 registrable domains and big.bench.
    let mut targets: Vec<String> = (0..999).map(|i| format!("t{}.bench", i * 50)).collect();
    targets.push("big.bench".into());
    let body = serde_json::json!([{ "targets": targets, "date_from": "2024-10-01" }]).to_string();
    let today = 20_010 * 86_400;
    let mut times = Vec::new();
    for _ in 0..a.runs.min(10) {
        let t0 = Instant::now();
        let (status, _) = crate::api::dataforseo::answer(
            &store,
            crate::api::dataforseo::Bulk::NewLostBacklinks,
            body.as_bytes(),
            today,
        );
        anyhow::ensure!(status == 200, "DataForSEO answered {status}");
        times.push(t0.elapsed());
    }
    let (p50, p99) = percentiles(times);
    crate::outln!("dataforseo bulk new/lost, 1,000 targets: p50 {p50:.2} ms, p99 {p99:.2} ms");
    Ok(())
}
