//! Log writers for `tracing`: straight to stderr, or in batches for `serve`, whose one line per
//! request cost a `write` system call each (~3 % of a cheap request's CPU under load).

use std::io::Write;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A log writer that drops what it cannot write instead of failing.
pub struct QuietStderr;

impl Write for QuietStderr {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Longest a logged line waits in a [`Batched`] buffer before it is written.
pub const BATCH_AGE: Duration = Duration::from_millis(100);

/// Buffered bytes that make a [`Batched`] writer write at once.
pub const BATCH_BYTES: usize = 16 * 1024;

struct State<W> {
    buf: Vec<u8>,
    /// When the oldest unwritten byte arrived.
    since: Option<Instant>,
    out: W,
}

impl<W: Write> State<W> {
    fn write_out(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.out.write_all(&self.buf);
            let _ = self.out.flush();
            self.buf.clear();
        }
        self.since = None;
    }
}

/// Log lines gathered and written to `W` in one call when [`BATCH_BYTES`] have gathered or the
/// oldest is [`BATCH_AGE`] old (a background thread looks every [`BATCH_AGE`]); write errors
/// are dropped. Call [`Batched::flush_now`] before the process ends. Clones share the buffer.
pub struct Batched<W: Write + Send + 'static> {
    shared: Arc<Mutex<State<W>>>,
}

impl<W: Write + Send + 'static> Clone for Batched<W> {
    fn clone(&self) -> Self {
        Batched {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<W: Write + Send + 'static> Batched<W> {
    /// A batching writer to `out`, with its flushing thread (which ends when every clone is gone).
    pub fn new(out: W) -> Self {
        let shared = Arc::new(Mutex::new(State {
            buf: Vec::with_capacity(BATCH_BYTES),
            since: None,
            out,
        }));
        let weak: Weak<Mutex<State<W>>> = Arc::downgrade(&shared);
        let _ = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || loop {
                std::thread::sleep(BATCH_AGE);
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                let mut st = shared.lock().unwrap_or_else(|p| p.into_inner());
                if st.since.is_some_and(|t| t.elapsed() >= BATCH_AGE) {
                    st.write_out();
                }
            });
        Batched { shared }
    }

    /// Write everything gathered so far.
    pub fn flush_now(&self) {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_out();
    }
}

impl<W: Write + Send + 'static> Write for Batched<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let mut st = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        st.since.get_or_insert_with(Instant::now);
        st.buf.extend_from_slice(b);
        if st.buf.len() >= BATCH_BYTES {
            st.write_out();
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        // Lines are written by age or size, not per event.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test can read while the writer holds it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_wait_at_most_the_batch_age_and_keep_their_order() {
        let sink = Sink::default();
        let mut log = Batched::new(sink.clone());
        for i in 0..3 {
            writeln!(log, "line {i}").unwrap();
        }
        assert!(sink.0.lock().unwrap().is_empty(), "written per line");
        let deadline = Instant::now() + BATCH_AGE * 20;
        while sink.0.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(BATCH_AGE / 4);
        }
        assert_eq!(*sink.0.lock().unwrap(), b"line 0\nline 1\nline 2\n");
    }

    #[test]
    fn a_full_buffer_and_flush_now_write_at_once() {
        let sink = Sink::default();
        let mut log = Batched::new(sink.clone());
        let line = vec![b'x'; 1000];
        for _ in 0..(BATCH_BYTES / 1000 + 1) {
            log.write_all(&line).unwrap();
        }
        assert!(sink.0.lock().unwrap().len() >= BATCH_BYTES);
        log.write_all(b"last\n").unwrap();
        log.flush_now();
        assert!(sink.0.lock().unwrap().ends_with(b"xlast\n"));
    }
}
