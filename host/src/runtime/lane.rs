//! The long-running lane: how much CPU guests that run long may take
//! together. A request's guest is long-running once it has run
//! [`LONG_RUNNING_SLICES`] epoch slices (about 20 ms of its own CPU time).
//! From then on each of its slices needs a reservation in one host-wide
//! lane that starts at most one slice per [`LONG_RUNNING_PERIOD`], so all
//! long-running guests together hold at most a fifth of one worker thread,
//! however many there are, and the short requests of every app keep their
//! latency beside them (docs/benchmarks.md, noisy neighbour).
//!
//! A lone guest needing 100 ms of CPU finishes in about 420 ms; several at
//! once share the lane and each takes longer. A guest whose next slice
//! could only start at or after its deadline is stopped at once with the
//! deadline failure instead of waiting for it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::EPOCH_TICK;

/// Epoch slices a guest runs freely before it counts as long-running: 10.
pub const LONG_RUNNING_SLICES: u32 = 10;
/// The lane starts at most one long-running slice per period: 10 ms, five
/// epoch ticks, so long-running guests together get at most a fifth of
/// one worker thread.
pub const LONG_RUNNING_PERIOD: Duration = Duration::from_millis(5 * EPOCH_TICK.as_millis() as u64);

/// The host-wide lane of long-running slices (see the module docs).
#[derive(Debug)]
pub struct LongRunningLane {
    /// The earliest start of the next slice.
    next: Mutex<Instant>,
}

impl Default for LongRunningLane {
    fn default() -> Self {
        Self {
            next: Mutex::new(Instant::now()),
        }
    }
}

impl LongRunningLane {
    /// Reserves the next slice for a long-running guest whose request ends
    /// at `deadline`: the instant it may run (now, or later when the lane is
    /// taken), or `None` when that would be at or after the deadline (then
    /// nothing is reserved).
    pub fn reserve(&self, deadline: Instant) -> Option<Instant> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let slot = (*next).max(Instant::now());
        if slot >= deadline {
            return None;
        }
        *next = slot + LONG_RUNNING_PERIOD;
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_spaced_one_period_apart_and_never_past_the_deadline() {
        let lane = LongRunningLane::default();
        let far = Instant::now() + Duration::from_secs(60);
        let first = lane.reserve(far).unwrap();
        let second = lane.reserve(far).unwrap();
        let third = lane.reserve(far).unwrap();
        assert_eq!(second - first, LONG_RUNNING_PERIOD);
        assert_eq!(third - second, LONG_RUNNING_PERIOD);
        // A request ending before the next free slot gets none, and takes
        // nothing from the others.
        assert_eq!(lane.reserve(third + LONG_RUNNING_PERIOD / 2), None);
        assert_eq!(lane.reserve(far).unwrap() - third, LONG_RUNNING_PERIOD);
    }
}
