//! Group commit: a caller of `sync` returns only once its writes are on
//! disk, yet concurrent callers share one `fsync`.
//!
//! A caller takes a ticket and waits. If no flush is running it becomes the
//! leader: it notes the newest ticket, flushes (sled's `flush` writes the
//! log and `fsync`s it, on a blocking thread), and wakes every caller whose
//! ticket that flush covers. A caller whose ticket arrived during a running
//! flush waits for the next one, which a single leader then runs for all of
//! them. So N concurrent callers cost about two flushes, not N.

use std::sync::{Arc, Mutex, MutexGuard};

use cityhost_store::StoreError;
use tokio::sync::Notify;

#[derive(Default)]
struct State {
    /// Newest ticket handed out.
    issued: u64,
    /// Every ticket up to this one is on disk.
    flushed: u64,
    /// A leader's flush is running.
    flushing: bool,
    /// Flushes run so far (for tests and benchmarks).
    flushes: u64,
}

/// Batches flushes across concurrent callers.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    /// Woken after every flush.
    done: Notify,
}

/// What a caller does next.
enum Step {
    Done,
    Wait,
    Lead { covers: u64 },
}

impl GroupCommit {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns once everything written to `db` before the call is on disk.
    /// Errors: the flush failed (the writes may be lost; the caller must not
    /// report success).
    pub(crate) async fn sync(self: &Arc<Self>, db: &sled::Db) -> Result<(), StoreError> {
        let ticket = {
            let mut state = self.state();
            state.issued += 1;
            state.issued
        };
        loop {
            // The `Notified` is created under the lock, so the leader's
            // wakeup (sent after it takes the lock) cannot be missed.
            let notified = self.done.notified();
            let step = {
                let mut state = self.state();
                if state.flushed >= ticket {
                    Step::Done
                } else if state.flushing {
                    Step::Wait
                } else {
                    state.flushing = true;
                    Step::Lead {
                        covers: state.issued,
                    }
                }
            };
            match step {
                Step::Done => return Ok(()),
                Step::Wait => notified.await,
                Step::Lead { covers } => {
                    // The flush and the bookkeeping run on their own thread,
                    // so a leader that stops waiting (its request dropped)
                    // never leaves `flushing` set.
                    let group = Arc::clone(self);
                    let db = db.clone();
                    let flush = tokio::task::spawn_blocking(move || {
                        let result = db.flush();
                        group.finish(covers, result.is_ok());
                        result
                    });
                    match flush.await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err(crate::open::backend_error(e)),
                        Err(e) => return Err(StoreError::Backend(format!("flush: {e}"))),
                    }
                }
            }
        }
    }

    fn finish(&self, covers: u64, ok: bool) {
        let mut state = self.state();
        state.flushing = false;
        state.flushes += 1;
        if ok {
            state.flushed = state.flushed.max(covers);
        }
        drop(state);
        self.done.notify_waiters();
    }

    /// Flushes run so far.
    pub(crate) fn flushes(&self) -> u64 {
        self.state().flushes
    }
}
