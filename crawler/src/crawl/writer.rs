//! The store writer: visits go to the [`VisitSink`] (the indexer's diff and the store's
//! commit) on a thread of their own, in the order the run loop sends them, so the loop keeps
//! launching fetches and collecting results while a visit is written. A bounded queue gives
//! back-pressure when the store falls behind.
//!
//! The loop never reads the index (a read would wait for the writer's lock): the writer
//! counts the visits of pages the index did not have (`new_pages`) and adds the run record,
//! with that count, to each visit's batch, so the counters stay atomic with the visit.

use super::VisitSink;
use crate::CrawlError;
use linkdiff_model::Visit;
use linkdiff_store::{FrontierEntry, RunRecord, Store, WriteBatch};
use tokio::sync::{mpsc, oneshot};

/// Visits waiting to be written before the run loop waits for the writer.
const QUEUE: usize = 128;

enum Job {
    /// A visit, the frontier writes it caused and the run's counters: one atomic batch; with
    /// `true`, held if it looks like a false alarm (see [`VisitSink::apply_unless_suspicious`]).
    Visit(Box<(Visit, RunRecord)>, WriteBatch, bool),
    /// Frontier writes of their own (a URL dropped by the per-host cap).
    Batch(WriteBatch),
    /// Answer once everything sent before is committed.
    Flush(oneshot::Sender<()>),
}

/// Handle to the writer thread that owns the sink until [`Writer::finish`].
pub(crate) struct Writer<S> {
    tx: mpsc::Sender<Job>,
    done: oneshot::Receiver<Result<(S, u64), CrawlError>>,
}

/// A held visit's page, to fetch again: URL and depth.
pub(crate) type Held = (String, u16);

impl<S: VisitSink + 'static> Writer<S> {
    /// Start the writer thread over `sink` (visits) and `store` (plain batches, page
    /// lookups); `new_pages` counted so far in this run (a resumed run's).
    pub fn start(
        mut sink: S,
        store: Store,
        mut new_pages: u64,
        held: mpsc::UnboundedSender<Held>,
    ) -> Result<Writer<S>, CrawlError> {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("linkdiff-writer".into())
            .spawn(move || {
                let mut result = Ok(());
                while let Some(job) = rx.blocking_recv() {
                    result = match job {
                        Job::Visit(visit_run, mut frontier, may_hold) => {
                            let (visit, mut run) = *visit_run;
                            store
                                .page(&visit.url)
                                .map_err(CrawlError::from)
                                .and_then(|page| {
                                    let new_page = page.is_none();
                                    run.new_pages = new_pages + u64::from(new_page);
                                    frontier.put_run_progress(run.clone());
                                    let applied = if may_hold {
                                        let mut requeue = WriteBatch::new();
                                        requeue.put_frontier(
                                            &visit.url,
                                            &FrontierEntry {
                                                depth: visit.depth,
                                                redirects: 0,
                                                run: run.id,
                                            },
                                        );
                                        sink.apply_unless_suspicious(&visit, frontier, requeue)
                                    } else {
                                        sink.apply(&visit, frontier).map(|()| true)
                                    }
                                    .map_err(|e| CrawlError::Sink(Box::new(e)))?;
                                    if applied {
                                        new_pages += u64::from(new_page);
                                    } else {
                                        let _ = held.send((visit.url.clone(), visit.depth));
                                    }
                                    Ok(())
                                })
                        }
                        Job::Batch(w) => store.apply(w).map_err(CrawlError::from),
                        Job::Flush(ack) => {
                            let _ = ack.send(());
                            Ok(())
                        }
                    };
                    if result.is_err() {
                        break;
                    }
                }
                let _ = done_tx.send(result.map(|()| (sink, new_pages)));
            })
            .map_err(CrawlError::WriterThread)?;
        Ok(Writer { tx, done })
    }

    /// Queue one visit with its frontier writes and the run's counters after it. Fails when
    /// the writer stopped on an error ([`Writer::finish`] says which).
    pub async fn visit(
        &self,
        visit: Visit,
        frontier: WriteBatch,
        run: &RunRecord,
        may_hold: bool,
    ) -> Result<(), ()> {
        self.tx
            .send(Job::Visit(
                Box::new((visit, run.progress())),
                frontier,
                may_hold,
            ))
            .await
            .map_err(|_| ())
    }

    /// Queue a batch of frontier writes.
    pub async fn batch(&self, w: WriteBatch) -> Result<(), ()> {
        self.tx.send(Job::Batch(w)).await.map_err(|_| ())
    }

    /// Wait until everything queued so far is committed (before reading the frontier back).
    pub async fn flush(&self) -> Result<(), ()> {
        let (ack, acked) = oneshot::channel();
        self.tx.send(Job::Flush(ack)).await.map_err(|_| ())?;
        acked.await.map_err(|_| ())
    }

    /// Write what is queued, stop the thread and hand back the sink and the run's
    /// `new_pages`, or the first error.
    pub async fn finish(self) -> Result<(S, u64), CrawlError> {
        drop(self.tx);
        match self.done.await {
            Ok(r) => r,
            Err(_) => Err(CrawlError::WriterStopped("the writer thread panicked")),
        }
    }
}
