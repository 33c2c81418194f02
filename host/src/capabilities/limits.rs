//! Per-instance resource limits: linear memory and tables, enforced by a
//! `ResourceLimiter` that also remembers *why* it refused, so a trap can be
//! reported as "memory limit exceeded" rather than as a bare trap.

use wasmtime::ResourceLimiter;

/// Limits of one instance, and whether they were hit.
#[derive(Debug)]
pub struct InstanceLimits {
    /// Largest linear memory, bytes.
    pub memory_bytes: usize,
    /// Largest table, elements.
    pub table_elements: usize,
    /// Set when a memory growth was refused.
    pub memory_exceeded: bool,
}

impl InstanceLimits {
    /// Limits with the given memory cap and a table cap of 20,000 elements.
    pub fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            table_elements: 20_000,
            memory_exceeded: false,
        }
    }
}

impl ResourceLimiter for InstanceLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
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
