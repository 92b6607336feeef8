//! `linkdiff ranks import`: ratings from lists made outside the crawl (a Tranco list, Common
//! Crawl's web graph ranks over HTTP) take the place of the crawl's for the domains it knows
//! little about, say where they came from in v2 `domain_rating` and v3 `domain-rating`, and a
//! list in the wrong format is refused without losing what was imported before.

use crate::import::cutting_file_server;
use crate::support::*;
use linkdiff_indexer::imported::rating_of_position;
use linkdiff_indexer::rank::TRUST_CRAWL_FROM;
use linkdiff_query::{QueryParams, Table};
use linkdiff_store::{RankSource, Store};
use linkdiff_testweb::WebConfig;
use std::collections::BTreeMap;

/// Referring domains of `domain` in the index (v2 `refdomains`, live links).
fn referring_domains(store: &Store, domain: &str) -> usize {
    let target = linkdiff_model::Target::parse(domain, linkdiff_model::Mode::Domain).unwrap();
    let r = linkdiff_query::run(
        store,
        Table::Refdomains,
        &QueryParams {
            limit: linkdiff_query::MAX_LIMIT,
            ..QueryParams::new(target)
        },
    )
    .unwrap();
    r.rows.len()
}

fn ranks_import(db: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["ranks", "import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", db]);
    bin(&all)
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_ranks_rate_the_domains_the_crawl_knows_little_about_and_say_so() {
    // Few links per page: some domains have fewer than TRUST_CRAWL_FROM referring domains,
    // some more.
    let w = web(WebConfig {
        hosts: 14,
        links_per_page: 3,
        ..WebConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let db = path.display().to_string();
    {
        let store = Store::open(&path).unwrap();
        crawl(&store, &crawl_cfg(&w, None)).await;
    }
    let crawled: BTreeMap<String, u8> = Store::open(&path)
        .unwrap()
        .domains()
        .map(Result::unwrap)
        .map(|(d, r)| {
            assert_eq!(r.source, None, "{d}: before any import");
            (d, r.domain_rating)
        })
        .collect();
    assert!(crawled.len() >= 3, "{crawled:?}");

    // A Tranco list: every crawled domain (positions 1, 11, 21, …), a domain nothing links to,
    // a subdomain host (skipped: it does not rate its domain) and a bad line.
    let mut list = String::new();
    let mut position = BTreeMap::new();
    for (i, d) in crawled.keys().enumerate() {
        let p = 1 + 10 * i as u64;
        position.insert(d.clone(), p);
        list += &format!("{p},{d}\n");
    }
    list += "5000,faraway.test\n6000,blog.faraway.test\nnot a line\n";
    std::fs::write(dir.path().join("tranco.csv"), &list).unwrap();
    let out = ranks_import(
        &db,
        &[
            dir.path().join("tranco.csv").to_str().unwrap(),
            "--format",
            "tranco",
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("imported {} ratings", crawled.len() + 1))
            && said.contains("1 subdomain hosts")
            && said.contains("1 bad lines, the first: line")
            && said.contains("not a line"),
        "{said}"
    );

    // Each crawled domain: the imported rating when it has fewer than TRUST_CRAWL_FROM
    // referring domains in the index, else the crawl's; the record says which.
    let store = Store::open(&path).unwrap();
    let (mut took_imported, mut kept_crawl) = (0, 0);
    for (d, crawl_rating) in &crawled {
        let rec = store.domain(d).unwrap().unwrap();
        if referring_domains(&store, d) < TRUST_CRAWL_FROM {
            assert_eq!(rec.source, Some(RankSource::Tranco), "{d}");
            assert_eq!(rec.domain_rating, rating_of_position(position[d]), "{d}");
            took_imported += 1;
        } else {
            assert_eq!(
                (rec.source, rec.domain_rating),
                (None, *crawl_rating),
                "{d}"
            );
            kept_crawl += 1;
        }
    }
    assert!(
        took_imported > 0 && kept_crawl > 0,
        "imported {took_imported}, crawl {kept_crawl}: the web should give both"
    );

    // A domain nothing crawled links to is answered from the list; v2 says where from, and a
    // crawl-rated domain keeps v2's own shape.
    let far = cli_json(&db, &["domain_rating", "--target", "faraway.test"]);
    assert_eq!(
        far["domain"],
        serde_json::json!({"domain_rating": rating_of_position(5000), "ahrefs_top": 0,
                           "domain_rating_source": "tranco"}),
        "{far}"
    );
    let nowhere = cli_json(&db, &["domain_rating", "--target", "nowhere.test"]);
    assert_eq!(
        nowhere["domain"],
        serde_json::json!({"domain_rating": 0, "ahrefs_top": 0}),
        "{nowhere}"
    );

    // Common Crawl domain ranks over HTTP, gzip, cut halfway (resumed with Range): on the same
    // day they take precedence over Tranco; read by PageRank position when asked.
    let mut cc =
        String::from("#harmonicc_pos\t#harmonicc_val\t#pr_pos\t#pr_val\t#host_rev\t#n_hosts\n");
    for i in 0..5000u64 {
        // Padding entries make the file long enough to be cut and resumed.
        cc += &format!("{}\t1.0E3\t{}\t1.0E-6\ttest.pad{i:05}\t1\n", i + 10, i + 10);
    }
    cc += "3\t3.0E7\t70\t0.008\ttest.faraway\t12\n";
    let gz = linkdiff_archive::testfiles::gz(cc.as_bytes());
    let (addr, log) = cutting_file_server(vec![("domain-ranks.txt.gz".into(), gz)], &[]);
    let out = ranks_import(
        &db,
        &[
            &format!("http://{addr}/domain-ranks.txt.gz"),
            "--format",
            "cc-webgraph",
            "--by",
            "pagerank",
            "--max-rank",
            "4000",
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("imported 3992 ratings") && said.contains("1009 ranked after --max-rank"),
        "{said}"
    );
    assert!(
        log.lock().unwrap().iter().any(|(_, range)| range.is_some()),
        "the cut download was not resumed: {:?}",
        log.lock().unwrap()
    );
    let far = cli_json(&db, &["domain_rating", "--target", "faraway.test"]);
    assert_eq!(
        (
            &far["domain"]["domain_rating"],
            &far["domain"]["domain_rating_source"]
        ),
        (
            &serde_json::json!(rating_of_position(70)),
            &serde_json::json!("cc-webgraph")
        ),
        "{far}"
    );

    // v3 domain-rating says where the rating came from.
    let addr = api(&store).await;
    let (status, _, body) = raw(
        addr,
        "GET",
        "/v3/site-explorer/domain-rating?target=faraway.test",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["domain_rating"],
        serde_json::json!({"domain_rating": rating_of_position(70) as f64, "ahrefs_rank": null,
                           "domain_rating_source": "cc-webgraph"}),
        "{body}"
    );

    // A list in the wrong format is refused with a sentence, and nothing is lost.
    let out = ranks_import(
        &db,
        &[
            dir.path().join("tranco.csv").to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("CSV header must name a `domain` column"),
        "{said}"
    );
    std::fs::write(dir.path().join("cc.txt"), &cc).unwrap();
    let out = ranks_import(
        &db,
        &[
            dir.path().join("cc.txt").to_str().unwrap(),
            "--format",
            "tranco",
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("no line is a tranco entry"), "{said}");
    let far = cli_json(&db, &["domain_rating", "--target", "faraway.test"]);
    assert_eq!(
        far["domain"]["domain_rating_source"], "cc-webgraph",
        "{far}"
    );
    // `status` names the last import.
    let out = bin(&["status", "--db", &db]);
    let said = text(&out);
    assert!(
        said.contains("ranks       imported: cc-webgraph http://")
            && said.contains("(3992 ratings"),
        "{said}"
    );
}
