//! The host-wide memory budget: how much linear memory all live instances
//! may hold together. Each instance also has its own cap (default 64 MiB,
//! [`super::DEFAULT_MEMORY_BYTES`]); with 256 pool slots those caps alone
//! would allow 16 GiB. An instance reserves every growth of its memory
//! here (its initial memory included) and returns it when its store is
//! dropped; a growth that would pass the budget is refused like one past
//! the instance's own cap (the request ends with the memory failure).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Default budget: 1 GiB of linear memory across all live instances,
/// sixteen instances at their full cap.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// Linear memory reserved by live instances, against a limit (bytes).
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes, none used.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Reserves `bytes`; `false` (and nothing reserved) if that would pass
    /// the limit.
    pub fn try_reserve(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Returns `bytes` reserved earlier.
    pub fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// The limit, bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_stop_at_the_limit_and_return() {
        let budget = MemoryBudget::new(100);
        assert!(budget.try_reserve(60));
        assert!(!budget.try_reserve(41));
        assert_eq!(budget.used(), 60);
        assert!(budget.try_reserve(40));
        budget.release(60);
        assert_eq!(budget.used(), 40);
        assert!(!budget.try_reserve(usize::MAX));
    }
}
