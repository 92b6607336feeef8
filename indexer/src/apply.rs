//! Applying one visit: diff against the previous visit, write links, index and events.

use crate::Result;
use linkdiff_model::url_host;
use linkdiff_model::{registrable_domain, Link, LinkId, LinkType, Outcome, PageMeta, Visit};
use linkdiff_store::{
    EventKind, EventRecord, LinkRecord, LostReason, Origin, PageRecord, Store, WriteBatch,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Consecutive failed runs after which a page is dropped (SPEC §3).
pub const MAX_FAILED_RUNS: u8 = 3;

/// What applying a visit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// False when the visit had already been applied (same run): nothing was written.
    pub applied: bool,
    /// New events written (external links only).
    pub new: u32,
    /// Lost events written (external links only).
    pub lost: u32,
    /// Links in the visit.
    pub links: u32,
    /// The page was dropped by this visit.
    pub dropped: bool,
    /// This was the page's first visit.
    pub new_page: bool,
    /// The visit's batch carries the mark that ranks are stale (the first change of the link
    /// graph this indexer saw); a batch that is not written must give the mark back.
    pub marked_stale: bool,
}

/// Which stored visits a new visit of the same page must follow to be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// A crawl: one visit per page per run; a visit of a run the page already had is a
    /// replay (a resumed run) and writes nothing.
    Runs,
    /// An archive import: visits carry their capture time and apply only when later than
    /// the page's last visit, whatever their run (one import run holds many captures).
    Time,
}

/// What [`Indexer::apply_archived`] did with a captured visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    /// Applied: it was later than every stored visit of the page.
    Applied(ApplySummary),
    /// The page already has a visit at exactly this time (the same capture imported
    /// again): nothing written.
    Already,
    /// The page has a later visit: the index keeps one link set per page and cannot
    /// rewrite history behind it, so nothing is written.
    OutOfOrder,
}

/// Applies visits to a store.
#[derive(Clone)]
pub struct Indexer {
    store: Store,
    /// Whether this indexer (and its clones) already wrote [`crate::rank::RANKS_STALE`].
    stale_marked: Arc<AtomicBool>,
}

impl Indexer {
    /// An indexer writing to `store`.
    pub fn new(store: Store) -> Self {
        Indexer {
            store,
            stale_marked: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Apply one visit atomically.
    pub fn apply(&self, visit: &Visit) -> Result<ApplySummary> {
        self.apply_with(visit, WriteBatch::new())
    }

    /// Apply one visit and `extra` (the crawler's frontier updates for that visit) in one
    /// atomic batch. Re-applying a visit of the same run writes nothing and returns
    /// `applied == false`; `extra` is still applied (it is idempotent by construction).
    pub fn apply_with(&self, visit: &Visit, extra: WriteBatch) -> Result<ApplySummary> {
        let mut w = WriteBatch::new();
        let summary = self.prepare(visit, &mut w)?;
        w.extend(extra);
        if !w.is_empty() {
            self.store.apply(w)?;
        }
        Ok(summary)
    }

    /// Apply `visit` with `extra` like [`Indexer::apply_with`], unless it looks like a false
    /// alarm: then only `extra` and `held` (what the caller writes for a held visit) are
    /// written, in one batch, and `None` comes back, so the caller can fetch the page again
    /// later in the run. A visit looks like one when it would report lost links
    /// because the page answered 404/410 or failed for the last allowed time, or because links
    /// vanished from a page that otherwise looks unchanged (same title, nothing new).
    pub fn apply_unless_suspicious(
        &self,
        visit: &Visit,
        mut extra: WriteBatch,
        held: WriteBatch,
    ) -> Result<Option<ApplySummary>> {
        let before = self.store.page(&visit.url)?;
        let mut w = WriteBatch::new();
        let summary = self.prepare_page(visit, before.clone(), Order::Runs, &mut w)?;
        let suspicious = summary.lost > 0
            && match &visit.outcome {
                Outcome::Gone { .. } | Outcome::Failed { .. } => true,
                Outcome::Fetched { meta, .. } => {
                    meta.render_failed
                        || (summary.new == 0
                            && before.as_ref().is_some_and(|b| b.title == meta.title))
                }
                Outcome::Redirected { .. } | Outcome::Disallowed | Outcome::Unchanged { .. } => {
                    false
                }
            };
        if suspicious {
            // The visit's own writes are dropped (it is fetched again later): so is the mark
            // that ranks are stale, which the next graph-changing visit must write instead.
            if summary.marked_stale {
                self.stale_marked.store(false, Ordering::Relaxed);
            }
            extra.extend(held);
            self.store.apply(extra)?;
            return Ok(None);
        }
        w.extend(extra);
        if !w.is_empty() {
            self.store.apply(w)?;
        }
        Ok(Some(summary))
    }

    /// Apply a visit captured at `visit.time` (an archive record) with `extra` in one
    /// atomic batch, if it is later than the page's last visit; see [`Archived`]. Several
    /// captures of one page in one import run apply in time order.
    pub fn apply_archived(&self, visit: &Visit, extra: WriteBatch) -> Result<Archived> {
        let mut w = WriteBatch::new();
        let page = self.store.page(&visit.url)?;
        let last = page.as_ref().and_then(|p| p.last_visit);
        let answer = match last {
            Some(t) if t == visit.time => Archived::Already,
            Some(t) if t > visit.time => Archived::OutOfOrder,
            _ => Archived::Applied(self.prepare_page(visit, page, Order::Time, &mut w)?),
        };
        w.extend(extra);
        if !w.is_empty() {
            self.store.apply(w)?;
        }
        Ok(answer)
    }

    /// Build the writes of `visit` into `w` without committing them.
    pub fn prepare(&self, v: &Visit, w: &mut WriteBatch) -> Result<ApplySummary> {
        let page = self.store.page(&v.url)?;
        self.prepare_page(v, page, Order::Runs, w)
    }

    fn prepare_page(
        &self,
        v: &Visit,
        page: Option<PageRecord>,
        order: Order,
        w: &mut WriteBatch,
    ) -> Result<ApplySummary> {
        // No page row: no link set either (every link set is written with its page).
        let known = page.is_some();
        let mut page = page.unwrap_or_default();
        let replay = match order {
            Order::Runs => page.last_run >= v.run,
            Order::Time => page.last_visit.is_some_and(|t| t >= v.time),
        };
        if page.last_visit.is_some() && replay {
            return Ok(ApplySummary::default());
        }
        let new_page = page.first_visit.is_none();
        if new_page {
            page.first_visit = Some(v.time);
            page.depth = v.depth;
        }
        let previous_visit = page.last_visit.replace(v.time);
        page.last_run = v.run;
        // An unchanged page's link set is not read: nothing in it changes.
        let prev = match v.outcome {
            Outcome::Unchanged { .. } => Vec::new(),
            _ if !known => Vec::new(),
            _ => self.store.forward_links(&v.url)?,
        };
        let mut ctx = Ctx {
            v,
            previous_visit,
            from_domain: registrable_domain(url_host(&v.url)).to_string(),
            summary: ApplySummary {
                applied: true,
                new_page,
                ..Default::default()
            },
            links_written: false,
            w,
        };
        // A broken streak starts at the first 404/410/failure after an answer.
        match &v.outcome {
            Outcome::Fetched { .. } | Outcome::Redirected { .. } | Outcome::Unchanged { .. } => {
                page.broken_since = None
            }
            Outcome::Gone { .. } | Outcome::Failed { .. } => {
                page.broken_since = page.broken_since.or(Some(v.time))
            }
            Outcome::Disallowed => {}
        }
        match &v.outcome {
            // A noindex page's links do not count: they are lost (reason `noindex`) and come
            // back as new when the page is indexable again.
            Outcome::Fetched { meta, .. } if meta.noindex => {
                ctx.diff(&mut page, prev, meta, &[], Origin::Recrawl)
            }
            // A page that canonicalises to another URL is a duplicate: only its canonical link
            // counts; the others are lost (reason `notcanonical`) until it is canonical again.
            Outcome::Fetched { meta, links } if canonical_elsewhere(&v.url, links) => {
                let canonical: Vec<Link> = links
                    .iter()
                    .filter(|l| l.link_type == LinkType::Canonical)
                    .cloned()
                    .collect();
                ctx.diff(&mut page, prev, meta, &canonical, Origin::Recrawl)
            }
            Outcome::Fetched { meta, links } => {
                ctx.diff(&mut page, prev, meta, links, Origin::Recrawl)
            }
            Outcome::Redirected { meta, link } => {
                let was_content = (200..300).contains(&page.last_status) && !page.dropped;
                let origin = if was_content {
                    Origin::Drop
                } else {
                    Origin::Recrawl
                };
                ctx.diff(&mut page, prev, meta, std::slice::from_ref(link), origin)
            }
            // As the last full fetch left it: the visit dates advance (live links' dates are
            // derived from them), nothing else changes. The crawler asks for it only after a
            // successful full fetch; otherwise there is nothing to keep, and nothing changes.
            Outcome::Unchanged { .. } => {
                if page.last_ok_visit.is_some() && !page.dropped {
                    page.prev_ok_visit = page.last_ok_visit;
                    page.last_ok_visit = Some(v.time);
                    page.consecutive_failures = 0;
                }
            }
            Outcome::Gone { http_code } => {
                page.last_status = *http_code;
                ctx.drop_page(&mut page, prev);
            }
            Outcome::Disallowed => ctx.drop_page(&mut page, prev),
            Outcome::Failed { http_code } => {
                page.last_status = *http_code;
                page.consecutive_failures = page.consecutive_failures.saturating_add(1);
                if page.consecutive_failures >= MAX_FAILED_RUNS && !page.dropped {
                    ctx.drop_page(&mut page, prev);
                }
            }
        }
        ctx.w.put_page(&v.url, &page);
        // The link graph changed (a new page, or links written): ranks are stale until
        // recomputed. Marked once per indexer, in the batch of the first such visit.
        if (new_page || ctx.links_written) && !self.stale_marked.swap(true, Ordering::Relaxed) {
            ctx.w.put_meta(crate::rank::RANKS_STALE, "1");
            ctx.summary.marked_stale = true;
        }
        Ok(ctx.summary)
    }
}

/// How a link present in this visit relates to its stored record.
enum Came {
    /// New, or back after a loss: a new event with this origin.
    Appeared(Origin),
    /// Back right after a `pageerror` drop: no event; the loss is marked recovered.
    Recovered,
}

struct Ctx<'a> {
    v: &'a Visit,
    /// The page's visit before this one.
    previous_visit: Option<i64>,
    from_domain: String,
    summary: ApplySummary,
    /// The visit rewrote the page's link set.
    links_written: bool,
    w: &'a mut WriteBatch,
}

/// Whether the page at `url` names another URL as its canonical (`<link rel=canonical>` or a
/// `Link` header; both are normalised URLs, so `http://a/x` and `https://a/x`, or `/x` and
/// `/x/`, are different pages as they are to search engines).
pub fn canonical_elsewhere(url: &str, links: &[Link]) -> bool {
    links
        .iter()
        .any(|l| l.link_type == LinkType::Canonical && l.url_to != url)
}

/// Give repeated identical links on a page their occurrence number `n`.
pub fn number_links(links: &[Link]) -> Vec<(LinkId, &Link)> {
    let mut seen: HashMap<(&str, linkdiff_model::LinkType, &str), u16> = HashMap::new();
    links
        .iter()
        .map(|l| {
            let n = seen.entry((&l.url_to, l.link_type, &l.anchor)).or_insert(0);
            let id = LinkId {
                url_to: l.url_to.clone(),
                link_type: l.link_type,
                anchor: l.anchor.clone(),
                n: *n,
            };
            *n = n.saturating_add(1);
            (id, l)
        })
        .collect()
}

impl Ctx<'_> {
    /// Why link `id` is lost by this visit: what the visit found (see [`LostReason`]).
    fn lost_reason(&self, id: &LinkId) -> LostReason {
        match &self.v.outcome {
            Outcome::Fetched { meta, .. } if meta.noindex => LostReason::Noindex,
            Outcome::Fetched { links, .. } if canonical_elsewhere(&self.v.url, links) => {
                LostReason::NotCanonical
            }
            Outcome::Fetched { links, .. }
                if id.link_type == LinkType::Redirect
                    && links.iter().any(|l| l.link_type == LinkType::Redirect) =>
            {
                LostReason::LostRedirect
            }
            Outcome::Fetched { .. } | Outcome::Unchanged { .. } => LostReason::RemovedFromHtml,
            Outcome::Redirected { .. } if id.link_type == LinkType::Redirect => {
                LostReason::LostRedirect
            }
            Outcome::Redirected { .. } => LostReason::PageRedirected,
            Outcome::Gone { .. } => LostReason::NotFound,
            Outcome::Disallowed => LostReason::RobotsBlocked,
            Outcome::Failed { .. } => LostReason::PageError,
        }
    }

    fn event(&mut self, kind: EventKind, origin: Origin, id: &LinkId, page: &PageRecord) {
        let reason = match kind {
            EventKind::New => None,
            EventKind::Lost => Some(self.lost_reason(id)),
        };
        match kind {
            EventKind::New => self.summary.new += 1,
            EventKind::Lost => self.summary.lost += 1,
        }
        self.w.put_event(&EventRecord {
            kind,
            origin,
            time: self.v.time,
            url_from: self.v.url.clone(),
            url_to: id.url_to.clone(),
            link_type: id.link_type,
            anchor: id.anchor.clone(),
            n: id.n,
            http_code: page.last_status,
            links_internal: page.links_internal,
            links_external: page.links_external,
            reason,
            recovered: false,
        });
    }

    /// A link appeared (or came back): list it and record the event (external links only).
    fn appeared(&mut self, origin: Origin, id: &LinkId, rec: &LinkRecord, page: &PageRecord) {
        if rec.external {
            self.w.put_backlink(&self.v.url, id, rec);
            self.event(EventKind::New, origin, id, page);
        }
    }

    /// A live link vanished: freeze its visit dates as of `before` (the page before this
    /// visit), unlist it and record the event (external links only).
    fn vanished(
        &mut self,
        origin: Origin,
        id: &LinkId,
        rec: &mut LinkRecord,
        before: &PageRecord,
        page: &PageRecord,
    ) {
        let (last, prev) = rec.visits(before);
        rec.last_seen = last;
        rec.prev_seen = prev;
        rec.live = false;
        if rec.external {
            self.w.remove_backlink(&self.v.url, id, rec);
            self.event(EventKind::Lost, origin, id, page);
        }
    }

    fn diff(
        &mut self,
        page: &mut PageRecord,
        prev: Vec<(LinkId, LinkRecord)>,
        meta: &PageMeta,
        links: &[Link],
        lost_origin: Origin,
    ) {
        let t = self.v.time;
        let before = page.clone();
        // The previous visit dropped the page after its last allowed failure: links that are
        // back now were lost by that `pageerror` drop and recover instead of appearing anew.
        let recovering = before.dropped && before.consecutive_failures == MAX_FAILED_RUNS;
        let fresh = page.first_ok_visit.is_none();
        page.first_ok_visit.get_or_insert(t);
        page.prev_ok_visit = page.last_ok_visit;
        page.last_ok_visit = Some(t);
        page.last_status = meta.http_code;
        page.consecutive_failures = 0;
        page.dropped = false;
        page.title = meta.title.clone();
        page.language = meta.language.clone();
        page.encoding = meta.encoding.clone();
        page.page_size = meta.page_size;
        page.ip = meta.ip.clone();
        page.links_internal = meta.links_internal;
        page.links_external = meta.links_external;

        let mut old: HashMap<LinkId, LinkRecord> = prev.iter().cloned().collect();
        let mut next: Vec<(LinkId, LinkRecord)> = Vec::with_capacity(links.len() + prev.len());
        self.summary.links = links.len() as u32;
        for (id, link) in number_links(links) {
            let external = registrable_domain(url_host(&id.url_to)) != self.from_domain;
            let (base, event) = match old.remove(&id) {
                Some(rec) if rec.live => (rec, None),
                Some(rec) if recovering && Some(rec.last_seen) == before.last_ok_visit => {
                    // Back at the first visit after a `pageerror` drop that took it: no new
                    // event; the loss is marked recovered, and the link keeps its streak.
                    let lost_at = self.previous_visit.unwrap_or(t);
                    self.w.mark_recovered(&EventRecord {
                        kind: EventKind::Lost,
                        origin: Origin::Drop,
                        time: lost_at,
                        url_from: self.v.url.clone(),
                        url_to: id.url_to.clone(),
                        link_type: id.link_type,
                        anchor: id.anchor.clone(),
                        n: id.n,
                        http_code: 0,
                        links_internal: 0,
                        links_external: 0,
                        reason: Some(LostReason::PageError),
                        recovered: true,
                    });
                    (LinkRecord { live: true, ..rec }, Some(Came::Recovered))
                }
                Some(rec) => {
                    // Came back: a new run of presence starts; first_seen stays.
                    let before_streak = Some(rec.last_seen);
                    (
                        LinkRecord {
                            streak_start: t,
                            before_streak,
                            live: true,
                            ..rec
                        },
                        Some(Came::Appeared(Origin::Recrawl)),
                    )
                }
                None => (
                    LinkRecord {
                        first_seen: t,
                        streak_start: t,
                        last_seen: t,
                        original: fresh,
                        live: true,
                        ..Default::default()
                    },
                    Some(Came::Appeared(if fresh {
                        Origin::Fresh
                    } else {
                        Origin::Recrawl
                    })),
                ),
            };
            let rec = LinkRecord {
                alt: link.alt.clone(),
                text_pre: link.text_pre.clone(),
                text_post: link.text_post.clone(),
                nofollow: link.nofollow,
                redirect: link.redirect,
                external,
                rendered: link.rendered,
                ..base.clone()
            };
            match event {
                Some(Came::Recovered) if rec.external => {
                    self.w.put_backlink(&self.v.url, &id, &rec)
                }
                Some(Came::Recovered) => {}
                Some(Came::Appeared(origin)) => self.appeared(origin, &id, &rec, page),
                // Attributes changed in place: refresh the reverse index copy.
                None if rec != base && rec.external => self.w.put_backlink(&self.v.url, &id, &rec),
                None => {}
            }
            next.push((id, rec));
        }
        // What is left was not on the page this time: lost if it was live; kept either way so
        // a link that comes back keeps its first_seen.
        let mut rest: Vec<(LinkId, LinkRecord)> = old.into_iter().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, mut rec) in rest {
            if rec.live {
                self.vanished(lost_origin, &id, &mut rec, &before, page);
            }
            next.push((id, rec));
        }
        // Visit dates of live links are derived from the page: an unchanged page rewrites no
        // link data at all.
        if next != prev {
            self.links_written = true;
            self.w.put_links(&self.v.url, &next);
        }
    }

    fn drop_page(&mut self, page: &mut PageRecord, prev: Vec<(LinkId, LinkRecord)>) {
        page.dropped = true;
        self.summary.dropped = true;
        let before = page.clone();
        let mut changed = false;
        let mut next = Vec::with_capacity(prev.len());
        for (id, mut rec) in prev {
            if rec.live {
                self.vanished(Origin::Drop, &id, &mut rec, &before, page);
                changed = true;
            }
            next.push((id, rec));
        }
        if changed {
            self.links_written = true;
            self.w.put_links(&self.v.url, &next);
        }
    }
}

#[cfg(test)]
mod tests;
