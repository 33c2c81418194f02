//! `GET /metrics`: the host's figures in Prometheus' text format
//! ([`crate::metrics`]), for the operator's Prometheus (bearer operator
//! token: `authorization.credentials_file` in its scrape config).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::auth::OperatorAuth;
use crate::metrics::Snapshot;
use crate::platform::Platform;

pub(super) async fn metrics(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
) -> impl IntoResponse {
    let budget = platform.runtime.memory_budget();
    let text = platform.metrics.render(Snapshot {
        pool_slots: platform.runtime.pool_slots(),
        pool_in_use: platform.admission.in_use(),
        waiting: platform.admission.waiting(),
        instance_memory_bytes: budget.used(),
        instance_memory_budget_bytes: budget.limit(),
        apps: platform.registry.len(),
    });
    ([(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text)
}
