//! The outbox sender: committed rows sent in batches with retries, then deleted; `flush` and `unsent`.

use super::*;

impl ChStore {
    /// Send every committed outbox entry, oldest first, then delete what was sent.
    pub(super) fn send_outbox(&self) -> Result<()> {
        let Some(st) = &self.state else {
            return Ok(());
        };
        loop {
            let entries = st.local.outbox(SEND_BATCH)?;
            let Some(&(upto, _)) = entries.last() else {
                break;
            };
            let mut rows = Rows::default();
            for (_, text) in &entries {
                rows.add_outbox(text);
            }
            self.insert(&rows)?;
            let mut done = WriteBatch::new();
            done.ops.push(Write::Unoutbox(upto));
            st.local.apply(done)?;
            if entries.len() < SEND_BATCH {
                break;
            }
        }
        *st.last_send.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(())
    }

    /// Make everything applied durable: commit the state file and send the outbox.
    pub fn flush(&self) -> Result<()> {
        if let Some(st) = &self.state {
            st.local.flush()?;
            self.send_outbox()?;
        }
        Ok(())
    }

    /// Rows of the outbox not yet sent (tests, status).
    pub fn unsent(&self) -> Result<usize> {
        match &self.state {
            Some(st) => Ok(st.local.outbox(usize::MAX >> 1)?.len()),
            None => Ok(0),
        }
    }
}
