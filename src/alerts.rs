//! Alerts after each crawl run: one JSON document per target to each webhook, with the run's
//! new and lost backlinks of that target and the changes of its watched links.
//!
//! **Targets** of a webhook are the domains given with it (`--webhook-target`, `webhook add
//! --target`), else the domains of the watched links' targets. A target covers its subdomains.
//!
//! **Document** (`Content-Type: application/json`):
//! `{"run", "as_of", "target", "new", "lost", "events": [{"type", "date", "url_from", "url_to",
//! "link_type", "anchor", "reason"}], "events_total", "watched": [{"url_from", "url_to",
//! "before", "after", "since", "detail", "note"}], "text"}`; events are capped at
//! [`MAX_EVENTS`] (`events_total` says how many there were). A Slack incoming webhook
//! (`hooks.slack.com`) gets `{"text"}` only.
//!
//! **Delivery**: a webhook answering anything but 2xx (or not answering in 10 s) is retried
//! with doubling back-off; a webhook that still fails never fails the crawl: the run's summary
//! names it. `min` skips documents with fewer changes (events + watched changes).

use crate::watched::{self as watch, Watched};
use linkdiff_model::registrable_domain;
use linkdiff_model::Target;
use linkdiff_query::time::{date, iso};
use linkdiff_store::{EventKind, RunRecord, Store, WriteBatch};
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Events listed per document (the counts are always complete).
pub const MAX_EVENTS: usize = 500;

const PREFIX: &str = "webhook\t";

/// One webhook and what it is told about.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Where documents are POSTed.
    pub url: String,
    /// Target domains; empty = the watched links' target domains.
    pub targets: Vec<String>,
    /// Documents with fewer changes are not sent.
    pub min: u64,
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Extra attempts after a failure.
    pub retries: u32,
    /// First back-off (doubles per attempt).
    pub backoff: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            retries: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// Webhooks stored with `linkdiff webhook add` (in the index's `meta`).
pub fn stored(store: &Store) -> anyhow::Result<Vec<Webhook>> {
    let mut out = Vec::new();
    for (k, v) in store.meta_values()? {
        let Some(url) = k.strip_prefix(PREFIX) else {
            continue;
        };
        let v: J = serde_json::from_str(&v).unwrap_or(J::Null);
        out.push(Webhook {
            url: url.to_string(),
            targets: v["targets"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            min: v["min"].as_u64().unwrap_or(0),
        });
    }
    Ok(out)
}

/// Store (or replace) a webhook.
pub fn store_hook(store: &Store, hook: &Webhook) -> anyhow::Result<()> {
    let mut w = WriteBatch::new();
    w.put_meta(
        &format!("{PREFIX}{}", hook.url),
        &json!({"targets": hook.targets, "min": hook.min}).to_string(),
    );
    store.apply(w)?;
    store.flush()?;
    Ok(())
}

/// Remove a stored webhook; false if there was none.
pub fn remove_hook(store: &Store, url: &str) -> anyhow::Result<bool> {
    let key = format!("{PREFIX}{url}");
    if store.meta(&key)?.is_none() {
        return Ok(false);
    }
    let mut w = WriteBatch::new();
    w.remove_meta(&key);
    store.apply(w)?;
    store.flush()?;
    Ok(true)
}

/// The watched links' states, to compare after the run.
pub type WatchStates = BTreeMap<(String, String), (Watched, J)>;

/// Every watched link's state now.
pub fn watch_states(store: &Store) -> anyhow::Result<WatchStates> {
    let mut out = BTreeMap::new();
    for w in watch::watched(store)? {
        let s = watch::status(store, &w)?;
        out.insert((w.url_from.clone(), w.url_to.clone()), (w, s));
    }
    Ok(out)
}

fn covers(domain: &str, url: &str) -> bool {
    let host = linkdiff_model::url_host(url);
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// The document about `target` for the run, and how many changes it holds.
fn document(
    store: &Store,
    run: &RunRecord,
    target: &str,
    before: &WatchStates,
    after: &WatchStates,
) -> anyhow::Result<(J, u64)> {
    let (mut new, mut lost) = (0u64, 0u64);
    let mut events = Vec::new();
    for e in store.events(&Target::Subdomains(target.to_string())) {
        let e = e?;
        if e.time < run.as_of {
            continue;
        }
        let kind = match e.kind {
            EventKind::New => {
                new += 1;
                "new"
            }
            EventKind::Lost => {
                lost += 1;
                "lost"
            }
        };
        if events.len() < MAX_EVENTS {
            events.push(json!({
                "type": kind, "date": date(e.time), "url_from": e.url_from, "url_to": e.url_to,
                "link_type": e.link_type.as_str(), "anchor": e.anchor,
                "reason": e.reason.map(|r| r.as_str()),
            }));
        }
    }
    let mut watched = Vec::new();
    for (k, (w, now)) in after {
        if !covers(target, &w.url_to) {
            continue;
        }
        let was = before.get(k).map(|(_, s)| s);
        let changed = was.is_none_or(|b| b["state"] != now["state"] || b["since"] != now["since"]);
        if changed && now["state"] != "not visited yet" {
            watched.push(json!({
                "url_from": w.url_from, "url_to": w.url_to,
                "before": was.map(|b| b["state"].clone()).unwrap_or(J::Null),
                "after": now["state"], "since": now["since"], "detail": now["detail"],
                "note": w.note,
            }));
        }
    }
    let mut text = format!(
        "linkdiff run {} ({}): {target} gained {new} and lost {lost} backlinks",
        run.id,
        date(run.as_of)
    );
    for w in &watched {
        text.push_str(&format!(
            "; watched {} → {} is now {}",
            w["url_from"].as_str().unwrap_or(""),
            w["url_to"].as_str().unwrap_or(""),
            w["after"].as_str().unwrap_or("")
        ));
        if let Some(d) = w["detail"].as_str().filter(|d| !d.is_empty()) {
            text.push_str(&format!(" ({d})"));
        }
    }
    let changes = new + lost + watched.len() as u64;
    let doc = json!({
        "run": run.id, "as_of": iso(run.as_of), "target": target, "new": new, "lost": lost,
        "events": events, "events_total": new + lost, "watched": watched, "text": text,
    });
    Ok((doc, changes))
}

/// What is POSTed to `url`: the document, or Slack's `{"text"}` for a Slack webhook.
pub fn body_for(url: &str, doc: J) -> J {
    let slack = url::Url::parse(url)
        .ok()
        .is_some_and(|u| u.host_str() == Some("hooks.slack.com"));
    if slack {
        json!({"text": doc["text"]})
    } else {
        doc
    }
}

/// POST `body` with retries; `Err` says why the last attempt failed.
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &J,
    d: &Delivery,
) -> Result<u32, (u32, String)> {
    let mut wait = d.backoff;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let why = match client.post(url).json(body).send().await {
            Ok(r) if r.status().is_success() => return Ok(attempts),
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            Err(e) if e.is_timeout() => "timed out".to_string(),
            Err(e) => crate::sentence::of(&anyhow::Error::new(e)),
        };
        if attempts > d.retries {
            return Err((attempts, why));
        }
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}

/// Send the documents of `run` to every webhook; returns one sentence for the run's summary
/// (empty when there are no webhooks).
pub async fn deliver(
    store: &Store,
    run: &RunRecord,
    before: &WatchStates,
    hooks: &[Webhook],
    d: &Delivery,
) -> anyhow::Result<String> {
    if hooks.is_empty() {
        return Ok(String::new());
    }
    let after = watch_states(store)?;
    let watched_targets: BTreeSet<String> = after
        .values()
        .map(|(w, _)| registrable_domain(linkdiff_model::url_host(&w.url_to)).to_string())
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let (mut sent, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    for hook in hooks {
        let targets: Vec<String> = if hook.targets.is_empty() {
            watched_targets.iter().cloned().collect()
        } else {
            hook.targets.clone()
        };
        if targets.is_empty() {
            failures.push(format!(
                "{}: no targets (give --webhook-target, or watch links)",
                hook.url
            ));
            continue;
        }
        for target in targets {
            let (doc, changes) = document(store, run, &target, before, &after)?;
            if changes < hook.min {
                skipped += 1;
                continue;
            }
            let body = body_for(&hook.url, doc);
            match post(&client, &hook.url, &body, d).await {
                Ok(_) => sent += 1,
                Err((n, why)) => {
                    failures.push(format!("{} ({target}): {why} after {n} attempts", hook.url))
                }
            }
        }
    }
    let mut s = format!(" Webhooks: {sent} sent");
    if skipped > 0 {
        s.push_str(&format!(", {skipped} quiet skipped"));
    }
    if !failures.is_empty() {
        s.push_str(&format!(
            ", {} failed ({})",
            failures.len(),
            failures.join("; ")
        ));
    }
    s.push('.');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_stored_listed_and_removed() {
        let store = Store::memory();
        let hook = Webhook {
            url: "https://hooks.example/x".into(),
            targets: vec!["mysite.com".into()],
            min: 3,
        };
        store_hook(&store, &hook).unwrap();
        assert_eq!(stored(&store).unwrap(), vec![hook.clone()]);
        assert!(remove_hook(&store, &hook.url).unwrap());
        assert!(!remove_hook(&store, &hook.url).unwrap());
        assert!(stored(&store).unwrap().is_empty());
    }

    #[test]
    fn slack_gets_its_text_and_others_the_document() {
        let doc = json!({"target": "t.com", "text": "linkdiff run 1: ..."});
        assert_eq!(
            body_for("https://hooks.slack.com/services/T/B/X", doc.clone()),
            json!({"text": "linkdiff run 1: ..."})
        );
        assert_eq!(body_for("https://example.com/hook", doc.clone()), doc);
        assert!(covers("t.com", "https://www.t.com/x") && !covers("t.com", "https://nott.com/"));
    }
}
