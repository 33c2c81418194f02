//! Per-instance resource limits: linear memory and tables, enforced by a
//! `ResourceLimiter` that also remembers *why* it refused, so a trap can be
//! reported as "memory limit exceeded" rather than as a bare trap.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use crate::runtime::MemoryBudget;

/// Limits of one instance, and whether they were hit.
#[derive(Debug)]
pub struct InstanceLimits {
    /// Largest linear memory, bytes.
    pub memory_bytes: usize,
    /// Largest table, elements.
    pub table_elements: usize,
    /// Set when a memory growth was refused.
    pub memory_exceeded: bool,
    /// The host-wide budget this instance's memory counts against, once
    /// the runtime attached it ([`InstanceLimits::attach`]).
    budget: Option<Arc<MemoryBudget>>,
    /// Bytes of the budget this instance holds (its memories' sizes).
    reserved: usize,
}

impl InstanceLimits {
    /// Limits with the given memory cap and a table cap of 20,000 elements.
    pub fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            table_elements: 20_000,
            memory_exceeded: false,
            budget: None,
            reserved: 0,
        }
    }

    /// Counts this instance's memory against `budget` from now on.
    pub fn attach(&mut self, budget: Arc<MemoryBudget>) {
        self.budget = Some(budget);
    }
}

impl Drop for InstanceLimits {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.release(self.reserved);
        }
    }
}

impl ResourceLimiter for InstanceLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        if let Some(budget) = self
            .budget
            .as_ref()
            .filter(|_| desired <= self.memory_bytes)
        {
            if !budget.try_reserve(growth) {
                self.memory_exceeded = true;
                return Err(wasmtime::Error::msg(format!(
                    "the host's memory budget of {} MiB for all instances is used up",
                    budget.limit() >> 20
                )));
            }
            self.reserved += growth;
        }
        if desired > self.memory_bytes {
            self.memory_exceeded = true;
            // An error (not `Ok(false)`) traps at once instead of letting the
            // guest see -1 from `memory.grow` and limp on.
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} MiB exceeded",
                self.memory_bytes >> 20
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements)
    }
}
