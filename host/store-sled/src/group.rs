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

    /// Returns once everything written before the call is on disk; `flush`
    /// (sled's `Db::flush` in the product) runs on a blocking thread.
    /// Errors: the flush failed (the writes may be lost; the caller must not
    /// report success).
    pub(crate) async fn sync<F>(self: &Arc<Self>, flush: F) -> Result<(), StoreError>
    where
        F: Fn() -> Result<(), StoreError> + Clone + Send + 'static,
    {
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
                    let flush = flush.clone();
                    let running = tokio::task::spawn_blocking(move || {
                        let result = flush();
                        group.finish(covers, result.is_ok());
                        result
                    });
                    match running.await {
                        Ok(result) => result?,
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    const CALLERS: u64 = 64;

    /// Every caller takes its ticket while the first flush is still
    /// running (the flush waits for them), so whatever the scheduling the
    /// crowd costs the first flush plus one more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn callers_arriving_during_a_flush_share_the_next_one() {
        let group = Arc::new(GroupCommit::default());
        let watched = Arc::clone(&group);
        let flush = move || {
            while watched.state().issued < CALLERS {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(())
        };
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let group = Arc::clone(&group);
                let flush = flush.clone();
                tokio::spawn(async move { group.sync(flush).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert!((1..=2).contains(&group.flushes()), "{}", group.flushes());
        group.sync(|| Ok(())).await.unwrap();
        assert_eq!(group.state().flushed, CALLERS + 1);
    }

    /// A failed flush covers nobody: its callers get the error and the
    /// next caller flushes again.
    #[tokio::test]
    async fn a_failed_flush_is_reported_and_retried_by_the_next_caller() {
        let group = Arc::new(GroupCommit::default());
        let fail = Arc::new(AtomicBool::new(true));
        let flag = Arc::clone(&fail);
        let flush = move || {
            if flag.load(Ordering::SeqCst) {
                Err(StoreError::Backend("disk full".into()))
            } else {
                Ok(())
            }
        };
        assert!(group.sync(flush.clone()).await.is_err());
        assert_eq!(group.state().flushed, 0);
        fail.store(false, Ordering::SeqCst);
        group.sync(flush).await.unwrap();
        assert_eq!((group.flushes(), group.state().flushed), (2, 2));
    }
}
