//! Scale-out (issue 15): the index on a 2-shard ClickHouse cluster, written by host-partitioned
//! crawl workers, answers exactly as one process writing SQLite.

use crate::store_v2::{answers, questions};
use crate::support::*;
use linkdiff_store::clickhouse::client::ChLocation;
use linkdiff_store::clickhouse::ChStore;
use linkdiff_store::{Partition, Store};
use linkdiff_testweb::WebConfig;
use std::path::Path;

/// A cluster database for one test, or `None` (SKIPPED said) without servers.
fn cluster_db(test: &str, tag: &str) -> Option<String> {
    let Some(servers) = clickhouse_servers() else {
        clickhouse_skipped(test);
        return None;
    };
    let spec = clickhouse_db(&servers, tag);
    let loc = ChLocation::parse(&spec).unwrap().unwrap();
    ChStore::init(&loc, Some("linkdiff")).expect("create the tables on the cluster");
    Some(spec)
}

fn worker(spec: &str, dir: &Path, p: Partition) -> Store {
    let state = dir.join(format!("worker-{}.db", p.index));
    Store::open_worker(spec, &state, &p.to_string()).expect("open worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_a_cluster_answer_every_table_like_one_sqlite_process() {
    let Some(spec) = cluster_db("scale_out::two_workers", "eq") else {
        return;
    };
    let w = web(WebConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&dir.path().join("i.db")).unwrap();
    let parts = [0, 1].map(|index| Partition { index, count: 2 });
    let reader = Store::open(Path::new(&spec)).unwrap();
    for (epoch, day_) in [(1, "2026-03-01"), (2, "2026-03-08")] {
        w.web.set_epoch(epoch);
        crawl(&sqlite, &crawl_cfg(&w, Some(day(day_)))).await;
        for p in parts {
            // Each worker reopens its state, as a worker process run per epoch would.
            let store = worker(&spec, dir.path(), p);
            let cfg = linkdiff_crawler::CrawlConfig {
                partition: Some(p),
                ..crawl_cfg(&w, Some(day(day_)))
            };
            crawl(&store, &cfg).await;
            assert_eq!(store.clickhouse().unwrap().unsent().unwrap(), 0);
        }
        linkdiff_indexer::rank::recompute(&reader).unwrap();
    }
    // Both workers did part of the work.
    let runs = reader.runs().unwrap();
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(runs.iter().all(|r| r.fetched > 5), "{runs:?}");

    let port = w.addr.port();
    let (a, b) = (answers(&sqlite, port), answers(&reader, port));
    let qs = questions(port);
    let mut nonempty = 0;
    for i in 0..qs.len() {
        assert_eq!(a[i], b[i], "SQLite vs ClickHouse differ for {:?}", qs[i]);
        assert!(!b[i].contains("\"error\""), "{:?}: {}", qs[i], b[i]);
        nonempty += (a[i].len() > 300) as usize;
    }
    assert!(nonempty > qs.len() / 2, "too many empty answers to compare");
    let body =
        br#"[{"targets":["h001.test","test","http://h002.test/"],"date_from":"2026-03-01"}]"#;
    use linkdiff::api::dataforseo::{answer as dfs, Bulk};
    for kind in [Bulk::NewLostBacklinks, Bulk::NewLostReferringDomains] {
        let d = |s: &Store| dfs(s, kind, body, day("2026-03-10")).1["tasks"][0]["result"].clone();
        assert_eq!(d(&sqlite), d(&reader), "{kind:?}");
    }
    let (s, c) = (sqlite.stats().unwrap(), reader.stats().unwrap());
    assert_eq!(
        (s.pages, s.backlinks, s.events),
        (c.pages, c.backlinks, c.events)
    );
}
