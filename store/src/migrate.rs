//! Copying an index between stores (`linkdiff migrate --from sled:OLD --to NEW.db`), so nobody
//! is stranded on the sled layout.

use crate::records::LinkRecord;
use crate::store::Store;
use crate::write::WriteBatch;
use crate::Result;
use linkdiff_model::LinkId;

/// What [`copy`] moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopySummary {
    /// Page records.
    pub pages: u64,
    /// Link records (live and dead, internal and external).
    pub links: u64,
    /// Events.
    pub events: u64,
    /// Runs.
    pub runs: u64,
    /// Tokens.
    pub tokens: u64,
}

/// Writes per committed batch while copying.
const BATCH: usize = 5_000;

/// Copy everything in `from` into the empty store `to`: pages, link sets (with the reverse
/// index rebuilt from them), events, domains, the frontier, runs, tokens and meta values.
pub fn copy(from: &Store, to: &Store) -> Result<CopySummary> {
    let mut s = CopySummary::default();
    let mut w = WriteBatch::new();
    let flush = |w: &mut WriteBatch, force: bool| -> Result<()> {
        if force || w.len() >= BATCH {
            to.apply(std::mem::take(w))?;
        }
        Ok(())
    };
    for r in from.pages() {
        let (url, p) = r?;
        w.put_page(&url, &p);
        // ClickHouse keeps URL Ratings in their own table, beside page records.
        if p.url_rating != 0 {
            w.put_url_rating(&url, p.url_rating);
        }
        s.pages += 1;
        flush(&mut w, false)?;
    }
    let mut page: Option<(String, Vec<(LinkId, LinkRecord)>)> = None;
    let put_set = |w: &mut WriteBatch, url: &str, set: &[(LinkId, LinkRecord)]| {
        w.put_links(url, set);
        for (id, rec) in set.iter().filter(|(_, r)| r.external) {
            if rec.live {
                w.put_backlink(url, id, rec);
            } else {
                w.remove_backlink(url, id, rec);
            }
        }
    };
    for r in from.all_links() {
        let (url, id, rec) = r?;
        s.links += 1;
        match &mut page {
            Some((u, set)) if *u == url => set.push((id, rec)),
            _ => {
                if let Some((u, set)) = page.take() {
                    put_set(&mut w, &u, &set);
                    flush(&mut w, false)?;
                }
                page = Some((url, vec![(id, rec)]));
            }
        }
    }
    if let Some((u, set)) = page.take() {
        put_set(&mut w, &u, &set);
    }
    for ev in from.all_events() {
        w.put_event(&ev?);
        s.events += 1;
        flush(&mut w, false)?;
    }
    for d in from.domains() {
        let (name, rec) = d?;
        w.put_domain(&name, &rec);
        flush(&mut w, false)?;
    }
    for f in from.frontier() {
        let (url, e) = f?;
        w.put_frontier(&url, &e);
        flush(&mut w, false)?;
    }
    for r in from.runs()? {
        w.put_run(&r);
        s.runs += 1;
    }
    for (name, t) in from.tokens()? {
        w.put_token(&name, &t);
        s.tokens += 1;
    }
    for (name, v) in from.meta_values()? {
        if name != "schema_version" && name != "created_by" {
            w.put_meta(&name, &v);
        }
    }
    flush(&mut w, true)?;
    to.flush()?;
    Ok(s)
}
