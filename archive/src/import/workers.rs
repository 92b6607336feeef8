//! The worker threads: records → captures (HTTP parsing and extraction happen here), and the `--target-domains` link filter.

use super::*;

/// A worker thread: records → captures (HTTP parsing and extraction happen here).
pub(super) fn work(
    rx: Arc<Mutex<mpsc::Receiver<ReadBatch>>>,
    tx: mpsc::SyncSender<ToWriter>,
    cap: usize,
    targets: Option<Arc<DomainSet>>,
) {
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        let Ok((seq, batch)) = next else { return };
        let done = batch
            .into_iter()
            .map(|r| {
                let worked = match r.raw {
                    Raw::Record(rec) => match capture(&rec, cap) {
                        Ok(mut c) => {
                            let relevant = targets
                                .as_deref()
                                .is_none_or(|t| keep_target_links(&mut c.outcome, t));
                            Worked::Capture(Box::new(c), relevant)
                        }
                        Err(skip) => Worked::Skip(skip.kind()),
                    },
                    Raw::Filtered => Worked::Filtered,
                    Raw::Problem(p) => Worked::Problem(p),
                };
                Done {
                    input: r.input,
                    position: r.position,
                    end: r.end,
                    bytes: r.bytes,
                    worked,
                }
            })
            .collect();
        if tx.send(ToWriter::Batch(seq, done)).is_err() {
            return;
        }
    }
}

/// `--target-domains`: keep only the links to listed domains (a redirect keeps its link:
/// it says why a page's links went). True when a kept link is to a listed domain.
pub(super) fn keep_target_links(outcome: &mut Outcome, targets: &DomainSet) -> bool {
    match outcome {
        Outcome::Fetched { links, .. } => {
            links.retain(|l| targets.covers_url(&l.url_to));
            !links.is_empty()
        }
        Outcome::Redirected { link, .. } => targets.covers_url(&link.url_to),
        _ => false,
    }
}

pub(super) fn links_of(o: &Outcome) -> usize {
    match o {
        Outcome::Fetched { links, .. } => links.len(),
        _ => 1,
    }
}
