//! Webhooks after each run, against a local receiver: documents per target with the run's
//! events and watched-link changes, retries, failures reported without failing the crawl,
//! quiet runs skipped.

use crate::crawl_e2e::oracle;
use crate::support::*;
use linkdiff::alerts::{Delivery, Webhook};
use linkdiff::cli::crawl::{crawl_once_with, Alerting};
use linkdiff_model::url_host;
use linkdiff_store::Store;
use linkdiff_testweb::{PageKind, WebConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    flaky_calls: Arc<AtomicUsize>,
}

async fn receiver() -> (String, Receiver) {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    let r = Receiver::default();
    async fn hook(State(r): State<Receiver>, Path(name): Path<String>, body: String) -> StatusCode {
        let fail = match name.as_str() {
            "down" => true,
            "flaky" => r.flaky_calls.fetch_add(1, Ordering::SeqCst) < 2,
            _ => false,
        };
        if fail {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        let doc = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        r.got.lock().unwrap().push((name, doc));
        StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/{name}", axum::routing::post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), r)
}

fn hook(base: &str, name: &str, targets: &[&str], min: u64) -> Webhook {
    Webhook {
        url: format!("{base}/{name}"),
        targets: targets.iter().map(|t| t.to_string()).collect(),
        min,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_posts_its_changes_per_target_with_retries_and_never_fails_the_crawl() {
    let w = web(WebConfig {
        hosts: 8,
        pages_per_host: 5,
        ..WebConfig::default()
    })
    .await;
    let (base, rx) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let store = Store::open(&db).unwrap();
    let (d1, d2) = ("2026-01-05", "2026-01-12");
    let t1 = w.web.truth(1, &[]);
    let known: Vec<String> = t1.keys().cloned().collect();
    w.web.set_epoch(2);
    let t2 = w.web.truth(2, &known);
    w.web.set_epoch(1);
    let (_, events) = oracle(&t1, &t2, d1, d2);
    let target = "h001.test";
    let count = |day: &str, kind: &str| {
        events
            .iter()
            .filter(|e| e.0 == day && e.1 == kind && url_host(&e.4) == target)
            .count() as u64
    };
    let delivery = Delivery {
        retries: 2,
        backoff: Duration::from_millis(10),
    };
    let stop = || tokio::sync::watch::channel(false).1;

    // Run 1: one good receiver, one that fails twice then answers, one that is down.
    let alerting = Alerting {
        hooks: vec![
            hook(&base, "ok", &[target], 0),
            hook(&base, "flaky", &[target], 0),
            hook(&base, "down", &[target], 0),
        ],
        delivery: delivery.clone(),
    };
    let summary = crawl_once_with(
        &store,
        &crawl_cfg(&w, Some(day(d1))),
        stop(),
        "off",
        &alerting,
        None,
    )
    .await
    .expect("a failing webhook never fails the crawl");
    assert!(summary.contains("Webhooks: 2 sent, 1 failed"), "{summary}");
    assert!(
        summary.contains("/down (h001.test): HTTP 500 after 3 attempts"),
        "{summary}"
    );
    assert_eq!(rx.flaky_calls.load(Ordering::SeqCst), 3);
    let got = rx.got.lock().unwrap().clone();
    let ok: Vec<_> = got.iter().filter(|(n, _)| n == "ok").collect();
    assert_eq!(ok.len(), 1);
    let doc = &ok[0].1;
    assert_eq!(doc["target"], target);
    assert_eq!(doc["run"], 1);
    assert_eq!(doc["new"], count(d1, "new"));
    assert_eq!(doc["lost"], 0);
    assert!(doc["new"].as_u64().unwrap() > 0);
    assert_eq!(
        doc["events"].as_array().unwrap().len() as u64,
        count(d1, "new")
    );
    assert!(doc["text"]
        .as_str()
        .unwrap()
        .contains(&format!("{target} gained {}", count(d1, "new"))));

    // Watch a link to the target that epoch 2 removes; run 2 tells about it, a quiet
    // threshold skips the other receiver.
    let (from, to) = t1
        .iter()
        .filter(|(u, p)| {
            p.kind == PageKind::Ok && t2.get(*u).is_some_and(|p| p.kind == PageKind::Ok)
        })
        .find_map(|(u, p)| {
            p.links
                .iter()
                .find(|l| {
                    url_host(&l.url_to) == target
                        && url_host(u) != target
                        && !t2[u].links.iter().any(|m| m.url_to == l.url_to)
                })
                .map(|l| (u.clone(), l.url_to.clone()))
        })
        .expect("epoch 2 removes a link to the target");
    let out = bin(&["watch", "add", &from, &to, "--db", db.to_str().unwrap()]);
    assert!(out.status.success());
    rx.got.lock().unwrap().clear();
    w.web.set_epoch(2);
    let alerting = Alerting {
        hooks: vec![
            hook(&base, "watched", &[], 0),
            hook(&base, "quiet", &[target], 1_000_000),
        ],
        delivery,
    };
    let summary = crawl_once_with(
        &store,
        &crawl_cfg(&w, Some(day(d2))),
        stop(),
        "off",
        &alerting,
        None,
    )
    .await
    .unwrap();
    assert!(
        summary.contains("Webhooks: 1 sent, 1 quiet skipped."),
        "{summary}"
    );
    let got = rx.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (name, doc) = &got[0];
    assert_eq!(name, "watched");
    assert_eq!(doc["target"], target, "the watched link's target domain");
    assert_eq!(doc["new"], count(d2, "new"));
    assert_eq!(doc["lost"], count(d2, "lost"));
    let watched = doc["watched"].as_array().unwrap();
    assert_eq!(watched.len(), 1, "{doc}");
    assert_eq!(watched[0]["url_from"], from);
    assert_eq!(
        (watched[0]["before"].as_str(), watched[0]["after"].as_str()),
        (Some("live"), Some("missing"))
    );
    assert_eq!(watched[0]["detail"], "lost: removedfromhtml");
    assert!(doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "lost" && e["reason"] == "removedfromhtml"));
}
