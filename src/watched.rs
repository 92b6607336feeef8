//! Watched links: the links a user placed, kept in the index's `meta` as
//! `watch<TAB>URL_FROM<TAB>URL_TO` → JSON `{"anchor", "note", "added", "render"}` (so they travel with the
//! index and need no schema of their own), and their state as the index sees it. Used by
//! `linkdiff watch`, the crawl (their pages are fetched every run), the alerts and the dashboard.

use linkdiff_model::Target;
use linkdiff_query::time::iso;
use linkdiff_store::{EventKind, Store, WriteBatch};
use serde_json::{json, Value as J};

const PREFIX: &str = "watch\t";

/// One watched link.
#[derive(Debug, Clone, PartialEq)]
pub struct Watched {
    /// The page that links (normalised).
    pub url_from: String,
    /// The target (normalised).
    pub url_to: String,
    /// The anchor placed, if given.
    pub anchor: Option<String>,
    /// The user's note.
    pub note: Option<String>,
    /// When it was added.
    pub added: i64,
    /// Its page is rendered in headless Chromium at every crawl (`watch add --render`): the
    /// link is placed by a script.
    pub render: bool,
}

/// The meta key of a watched link.
pub fn key(from: &str, to: &str) -> String {
    format!("{PREFIX}{from}\t{to}")
}

/// Every watched link of the index, by `url_from` then `url_to`.
pub fn watched(store: &Store) -> anyhow::Result<Vec<Watched>> {
    let mut out = Vec::new();
    for (k, v) in store.meta_values()? {
        let Some(rest) = k.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((from, to)) = rest.split_once('\t') else {
            continue;
        };
        let v: J = serde_json::from_str(&v).unwrap_or(J::Null);
        out.push(Watched {
            url_from: from.to_string(),
            url_to: to.to_string(),
            anchor: v["anchor"].as_str().map(str::to_string),
            note: v["note"].as_str().map(str::to_string),
            added: v["added"].as_i64().unwrap_or(0),
            render: v["render"].as_bool().unwrap_or(false),
        });
    }
    Ok(out)
}

/// The distinct pages of the watched links: fetched in every crawl.
pub fn watched_pages(store: &Store) -> anyhow::Result<Vec<url::Url>> {
    let mut pages: Vec<url::Url> = watched(store)?
        .iter()
        .filter_map(|w| url::Url::parse(&w.url_from).ok())
        .collect();
    pages.dedup();
    Ok(pages)
}

/// The distinct pages of the watched links that asked to be rendered (`watch add --render`).
pub fn rendered_pages(store: &Store) -> anyhow::Result<Vec<url::Url>> {
    let mut pages: Vec<url::Url> = watched(store)?
        .iter()
        .filter(|w| w.render)
        .filter_map(|w| url::Url::parse(&w.url_from).ok())
        .collect();
    pages.dedup();
    Ok(pages)
}

/// Store (or replace) a watched link in `w`.
pub fn put(w: &mut WriteBatch, link: &Watched) {
    let mut v = json!({"anchor": link.anchor, "note": link.note, "added": link.added});
    if link.render {
        v["render"] = J::Bool(true);
    }
    w.put_meta(&key(&link.url_from, &link.url_to), &v.to_string());
}

/// The state of one watched link from the index: what the last visit of its page found.
pub fn status(store: &Store, w: &Watched) -> anyhow::Result<J> {
    let row = |state: &str, since: Option<i64>, checked: Option<i64>, detail: String| {
        json!({
            "url_from": w.url_from, "url_to": w.url_to, "state": state,
            "since": since.map(iso), "last_checked": checked.map(iso),
            "detail": detail, "anchor": w.anchor, "note": w.note, "render": w.render,
        })
    };
    let Some(page) = store.page(&w.url_from)?.filter(|p| p.last_visit.is_some()) else {
        return Ok(row(
            "not visited yet",
            None,
            None,
            "the next crawl fetches it".into(),
        ));
    };
    let checked = page.last_visit;
    if let Some(since) = page.broken_since {
        let detail = match page.last_status {
            0 => "no answer (timeout or connection error)".to_string(),
            code => format!("HTTP {code}"),
        };
        return Ok(row("page error", Some(since), checked, detail));
    }
    if (300..400).contains(&page.last_status) {
        return Ok(row(
            "page redirects",
            checked,
            checked,
            format!("HTTP {}", page.last_status),
        ));
    }
    let links: Vec<_> = store
        .forward_links(&w.url_from)?
        .into_iter()
        .filter(|(id, _)| id.url_to == w.url_to)
        .collect();
    let live: Vec<_> = links.iter().filter(|(_, r)| r.live).collect();
    if live.is_empty() {
        // Since the visit that found it gone: its lost event (with the reason).
        let lost = store
            .events(&Target::Exact(w.url_to.clone()))
            .filter_map(Result::ok)
            .filter(|e| e.url_from == w.url_from && e.kind == EventKind::Lost)
            .max_by_key(|e| e.time);
        let detail = match (&lost, links.is_empty()) {
            (Some(e), _) => e
                .reason
                .map(|r| format!("lost: {}", r.as_str()))
                .unwrap_or_else(|| "lost".into()),
            (None, true) => "never seen on the page".into(),
            (None, false) => "gone".into(),
        };
        let since = lost.map(|e| e.time).or(page.first_visit);
        return Ok(row("missing", since, checked, detail));
    }
    if let Some(want) = &w.anchor {
        if !live.iter().any(|(id, _)| &id.anchor == want) {
            let (id, rec) = live[0];
            return Ok(row(
                "anchor changed",
                Some(rec.streak_start),
                checked,
                format!("anchor now {:?}", id.anchor),
            ));
        }
    }
    let (id, rec) = live
        .iter()
        .find(|(id, r)| !r.nofollow && w.anchor.as_ref().is_none_or(|a| &id.anchor == a))
        .copied()
        .unwrap_or(live[0]);
    let detail = format!("{} {:?}", id.link_type, id.anchor);
    if rec.nofollow {
        // When the attribute changed is not recorded: "since" is the last check.
        return Ok(row("nofollow", None, checked, detail));
    }
    Ok(row("live", Some(rec.streak_start), checked, detail))
}
