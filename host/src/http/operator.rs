//! `/api/operator/...`: the platform operator's API, behind the bearer
//! token in `data_dir/operator-token`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

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
    /// Most records (default and cap 1000).
    limit: Option<usize>,
}

pub(super) async fn audit(
    State(platform): State<Arc<Platform>>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<AuditRecord>>> {
    authorize(&platform, &headers)?;
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let to = q.to.unwrap_or_else(|| crate::store::now_ms() + 1);
    let limit = q.limit.unwrap_or(1000).min(1000);
    Ok(Json(
        platform.services.audit.list(&q.app, q.from, to, limit)?,
    ))
}

pub(super) fn authorize(platform: &Platform, headers: &HeaderMap) -> ApiResult<()> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compare digests so the comparison time says nothing about the token.
    if Sha256::digest(given.as_bytes()) == Sha256::digest(platform.operator_token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "operator token required",
        ))
    }
}
