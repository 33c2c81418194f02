//! Group commit: a payment is answered only after its transaction is on
//! disk, yet concurrent payers share one `fsync`.
//!
//! A caller that has finished its sled transaction takes a ticket and waits.
//! If no flush is running it becomes the leader: it notes the newest ticket,
//! flushes (sled's `flush` writes the log and `fsync`s it), and wakes every
//! caller whose ticket that flush covers. A caller whose ticket arrived
//! during a running flush waits for the next one, which a single leader
//! then runs for all of them. So N concurrent payers cost about two
//! flushes, not N.

use std::sync::{Condvar, Mutex};

use crate::error::ServiceResult;
use crate::store::Store;

#[derive(Default)]
struct State {
    /// Newest ticket handed out.
    issued: u64,
    /// Every ticket up to this one is on disk.
    flushed: u64,
    /// A leader is flushing now.
    flushing: bool,
    /// Flushes run so far (for tests and the benchmark).
    flushes: u64,
}

/// Batches `fsync`s across concurrent writers (blocking; call it from a
/// blocking thread, e.g. `tokio::task::spawn_blocking`).
pub struct GroupCommit {
    store: Store,
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    /// Group commit over `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            state: Mutex::new(State::default()),
            done: Condvar::new(),
        }
    }

    /// Returns once every write this thread made before the call is on
    /// disk. Errors: the store's flush failed (the write may be lost; the
    /// caller must not report success).
    pub fn wait(&self) -> ServiceResult<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.issued += 1;
        let ticket = state.issued;
        loop {
            if state.flushed >= ticket {
                return Ok(());
            }
            if state.flushing {
                state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.flushing = true;
            let covers = state.issued;
            drop(state);
            let result = self.store.flush();
            state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.flushing = false;
            state.flushes += 1;
            if result.is_ok() {
                state.flushed = state.flushed.max(covers);
            }
            self.done.notify_all();
            result?;
        }
    }

    /// Flushes run so far.
    pub fn flushes(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).flushes
    }
}
