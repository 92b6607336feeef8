//! Wiring the crawler to the indexer: each visit and its frontier writes in one batch.

use linkdiff_archive::import::{Applied, ImportSink};
use linkdiff_crawler::VisitSink;
use linkdiff_indexer::{Archived, IndexError, Indexer};
use linkdiff_model::Visit;
use linkdiff_store::WriteBatch;

/// [`VisitSink`] that applies visits with the indexer and counts events.
pub struct IndexSink {
    /// The indexer.
    pub indexer: Indexer,
    /// New events written in this run.
    pub new: u64,
    /// Lost events written in this run.
    pub lost: u64,
    /// Links seen in this run.
    pub links: u64,
}

impl IndexSink {
    /// A sink over `indexer`.
    pub fn new(indexer: Indexer) -> Self {
        IndexSink {
            indexer,
            new: 0,
            lost: 0,
            links: 0,
        }
    }
}

impl VisitSink for IndexSink {
    type Error = IndexError;

    fn apply(&mut self, visit: &Visit, frontier: WriteBatch) -> Result<(), IndexError> {
        let s = self.indexer.apply_with(visit, frontier)?;
        self.count(&s);
        Ok(())
    }

    fn apply_unless_suspicious(
        &mut self,
        visit: &Visit,
        frontier: WriteBatch,
        requeue: WriteBatch,
    ) -> Result<bool, IndexError> {
        match self
            .indexer
            .apply_unless_suspicious(visit, frontier, requeue)?
        {
            Some(s) => {
                self.count(&s);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl IndexSink {
    fn count(&mut self, s: &linkdiff_indexer::ApplySummary) {
        self.new += s.new as u64;
        self.lost += s.lost as u64;
        self.links += s.links as u64;
    }
}

impl ImportSink for IndexSink {
    type Error = IndexError;

    fn apply(&mut self, visit: &Visit, extra: WriteBatch) -> Result<Applied, IndexError> {
        let a = self.indexer.apply_archived(visit, extra)?;
        Ok(match a {
            Archived::Applied(s) => {
                self.new += s.new as u64;
                self.lost += s.lost as u64;
                self.links += s.links as u64;
                Applied::Visit {
                    new: s.new,
                    lost: s.lost,
                    links: s.links,
                    new_page: s.new_page,
                }
            }
            Archived::Already => Applied::Already,
            Archived::OutOfOrder => Applied::OutOfOrder,
        })
    }
}
