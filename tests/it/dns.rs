//! Issue 24, part 3: names resolved by the crawler's caching resolver, end to end without
//! `--resolve`: an authoritative DNS server for the `.test` zone on a loopback port
//! (hickory-server) answers `--dns`; the address guard still judges the resolved addresses.

use crate::support::*;
use hickory_server::authority::{Catalog, ZoneType};
use hickory_server::proto::rr::rdata::{A, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryAuthority;
use hickory_server::ServerFuture;
use linkdiff_testweb::WebConfig;
use std::net::SocketAddr;
use std::sync::Arc;

/// An authoritative server for `test.` with `names` → 127.0.0.1 (UDP, loopback).
async fn dns_server(names: &[String]) -> SocketAddr {
    let n = |s: &str| Name::from_ascii(s).unwrap();
    let origin = n("test.");
    let mut zone = InMemoryAuthority::empty(origin.clone(), ZoneType::Primary, false);
    let soa = SOA::new(n("ns.test."), n("admin.test."), 1, 60, 60, 60, 30);
    zone.upsert_mut(Record::from_rdata(origin.clone(), 60, RData::SOA(soa)), 0);
    for name in names {
        let a = RData::A(A::new(127, 0, 0, 1));
        zone.upsert_mut(Record::from_rdata(n(&format!("{name}.")), 300, a), 0);
    }
    let mut catalog = Catalog::new();
    catalog.upsert(LowerName::new(&origin), vec![Arc::new(zone)]);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let mut server = ServerFuture::new(catalog);
    server.register_socket(socket);
    tokio::spawn(async move {
        let _ = server.block_until_done().await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_come_from_the_dns_server_given_and_the_guard_still_applies() {
    let w = web(WebConfig {
        hosts: 4,
        pages_per_host: 3,
        ..WebConfig::default()
    })
    .await;
    let names: Vec<String> = (0..4).map(|i| format!("h{i:03}.test")).collect();
    let dns = dns_server(&names).await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds.txt");
    let port = w.addr.port();
    std::fs::write(
        &seeds,
        format!(
            "{}\nhttp://missing.test:{port}/\n",
            w.web.seeds().join("\n")
        ),
    )
    .unwrap();
    let seeds_s = seeds.display().to_string();
    let crawl_with = move |db: &str, extra: &[&str]| {
        let mut args = vec![
            "crawl",
            seeds_s.as_str(),
            "--dns",
            &dns,
            "--rate",
            "0",
            "--retries",
            "0",
            "--progress",
            "off",
            "--as-of",
            "2026-08-01",
            "--db",
            db,
        ];
        args.extend_from_slice(extra);
        let out = bin(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Loopback addresses need --allow-private: with it every host is crawled by name.
    let db = dir.path().join("dns.db").display().to_string();
    let summary = tokio::task::spawn_blocking({
        let db = db.clone();
        let crawl_with = crawl_with.clone();
        move || crawl_with(&db, &["--allow-private"])
    })
    .await
    .unwrap();
    let reference = Store::open(&dir.path().join("ref.db")).unwrap();
    crawl(&reference, &crawl_cfg(&w, Some(day("2026-08-01")))).await;
    let pages = |db: &str| {
        linkdiff_store::Store::open(std::path::Path::new(db))
            .unwrap()
            .stats()
            .unwrap()
    };
    let (got, want) = (pages(&db), reference.stats().unwrap());
    // The same web as through --resolve: every backlink found by name.
    assert_eq!(got.backlinks, want.backlinks, "{summary}");
    assert!(got.pages > want.pages, "{summary}");
    // The name the zone does not have (NXDOMAIN) leaves its host unreachable (robots.txt
    // too: nothing fetched there, RFC 9309); the run went on.

    // Without --allow-private the guard refuses what the names resolve to.
    let db2 = dir.path().join("guard.db").display().to_string();
    let summary = tokio::task::spawn_blocking(move || crawl_with(&db2, &[]))
        .await
        .unwrap();
    assert!(summary.contains("blocked 4"), "{summary}");
}

use linkdiff_store::Store;
