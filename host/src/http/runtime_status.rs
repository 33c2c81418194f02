//! `/api/operator/runtime`: what the runtime holds now, for operators
//! (bearer operator token): the instances' linear memory against the
//! host-wide budget, the pool's size and what each slot may keep
//! resident, requests waiting for admission, and the process's resident
//! memory.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::auth::OperatorAuth;
use crate::platform::Platform;
use crate::runtime::MEMORY_KEEP_RESIDENT;

/// The runtime's state (all sizes in bytes).
#[derive(Debug, Serialize)]
pub(super) struct RuntimeStatus {
    /// Linear memory held by live instances.
    instance_memory_bytes: usize,
    /// The host-wide budget for it (`--memory-budget-mib`).
    instance_memory_budget_bytes: usize,
    /// Instance slots of the pool.
    pool_slots: u32,
    /// Most bytes of a slot's memory kept resident after its instance
    /// ends, so the pool may keep up to `pool_slots` times this resident.
    slot_keep_resident_bytes: usize,
    /// Requests waiting for their turn (admission).
    waiting_requests: usize,
    /// The host process's resident set ([`crate::metrics::resident_bytes`]),
    /// if known.
    process_resident_bytes: Option<u64>,
}

pub(super) async fn runtime(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
) -> Json<RuntimeStatus> {
    let budget = platform.runtime.memory_budget();
    Json(RuntimeStatus {
        instance_memory_bytes: budget.used(),
        instance_memory_budget_bytes: budget.limit(),
        pool_slots: platform.runtime.pool_slots(),
        slot_keep_resident_bytes: MEMORY_KEEP_RESIDENT,
        waiting_requests: platform.admission.waiting(),
        process_resident_bytes: crate::metrics::resident_bytes(),
    })
}
