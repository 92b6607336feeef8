//! A time limit on the reads of one request (`serve --query-timeout`, `query --timeout`).
//!
//! The limit is set for the current thread around the work of one request ([`limit`]), so
//! every read the request makes — whatever executor or endpoint it goes through — is bounded
//! without threading a parameter through each of them. SQLite reads check it from a progress
//! handler every few thousand VM steps and stop; ClickHouse reads send it as
//! `max_execution_time`. A read stopped this way fails with [`crate::StoreError::TimedOut`],
//! and the connection goes back to the pool unharmed.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// When the current request's reads must stop, and what the user can change about it.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// The instant reads stop.
    pub at: Instant,
    /// The limit as given (for the message).
    pub limit: Duration,
    /// The option that sets it (`--query-timeout` or `--timeout`), named in the message.
    pub flag: &'static str,
}

impl Deadline {
    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// The error a read stopped by this deadline returns.
    pub fn error(&self) -> crate::StoreError {
        crate::StoreError::TimedOut {
            seconds: self.limit.as_secs_f64(),
            flag: self.flag,
        }
    }
}

thread_local! {
    static CURRENT: Cell<Option<Deadline>> = const { Cell::new(None) };
}

/// Run `f` with its reads on this thread limited to `limit` from now (none when `None`); the
/// previous limit is restored afterwards, also when `f` panics.
pub fn limit<T>(limit: Option<Duration>, flag: &'static str, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Deadline>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let new = limit.map(|limit| Deadline {
        at: Instant::now() + limit,
        limit,
        flag,
    });
    let _restore = Restore(CURRENT.with(|c| c.replace(new)));
    f()
}

/// The deadline of the request running on this thread, if any.
pub fn current() -> Option<Deadline> {
    CURRENT.with(|c| c.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_applies_inside_and_is_restored_after() {
        assert!(current().is_none());
        limit(Some(Duration::from_secs(5)), "--timeout", || {
            let d = current().unwrap();
            assert!(!d.expired());
            assert_eq!(d.flag, "--timeout");
            limit(None, "--timeout", || assert!(current().is_none()));
            assert!(current().is_some());
        });
        assert!(current().is_none());
        let r = std::panic::catch_unwind(|| {
            limit(Some(Duration::ZERO), "--timeout", || panic!("inside"))
        });
        assert!(r.is_err());
        assert!(current().is_none());
    }
}
