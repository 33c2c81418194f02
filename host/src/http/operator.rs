//! `/api/operator/audit`: the audit log of capability calls, for operators
//! (bearer operator token; the bootstrap operator's is in
//! `data_dir/operator-token`). The publishing side of the operator API is
//! in `http::publishing`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiResult};
use crate::audit::AuditRecord;
use crate::platform::Platform;

/// Query of the audit listing.
#[derive(Deserialize)]
pub(super) struct AuditQuery {
    /// App id.
    app: String,
    /// From, UTC ms, inclusive (default 0).
    #[serde(default)]
    from: u64,
    /// To, UTC ms, exclusive (default: now + 1 ms).
    to: Option<u64>,
    /// Most records, 1 to 1000 (default and cap 1000).
    limit: Option<usize>,
}

pub(super) async fn audit(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<AuditRecord>>> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let to = q.to.unwrap_or_else(|| cityhost_store::now_ms() + 1);
    if to < q.from {
        return Err(ApiError::invalid("to", "`to` is before `from`"));
    }
    if q.limit == Some(0) {
        return Err(ApiError::invalid("limit", "`limit` must be at least 1"));
    }
    let limit = q.limit.unwrap_or(1000).min(1000);
    Ok(Json(
        platform
            .services
            .audit
            .list(&q.app, q.from, to, limit)
            .await?,
    ))
}
