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
use crate::audit::chain::{CHECKPOINT_TYP, Checkpoint};
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

/// Query of the audit checkpoint.
#[derive(Deserialize)]
pub(super) struct HeadQuery {
    /// App id.
    app: String,
}

/// The head of an app's audit chain, and the host's signed statement of it.
#[derive(serde::Serialize)]
pub(super) struct SignedHead {
    /// The app.
    app: String,
    /// Records in its chain.
    seq: u64,
    /// Hash of the last one.
    head: String,
    /// A JWT (EdDSA, `typ` `cityhost-audit-checkpoint`, key in
    /// `/.well-known/jwks.json`) with claims `iss`, `sub` (the app), `seq`,
    /// `head`, `iat`: keep it, and check a later export against it with
    /// `cityhost audit verify FILE --checkpoint … --jwks …`.
    checkpoint: String,
}

/// `GET /api/operator/audit/head?app=ID`: the head of the app's chain now,
/// signed (docs/security.md).
pub(super) async fn audit_head(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    query: Result<Query<HeadQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<SignedHead>> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let head = platform.services.audit.head(&q.app).await?;
    let claims = Checkpoint {
        iss: platform.services.id_tokens.issuer().to_string(),
        sub: q.app.clone(),
        seq: head.seq,
        head: head.hash.clone(),
        iat: cityhost_store::now_ms() / 1000,
    };
    let checkpoint = platform.services.id_tokens.sign(CHECKPOINT_TYP, &claims)?;
    Ok(Json(SignedHead {
        app: q.app,
        seq: head.seq,
        head: head.hash,
        checkpoint,
    }))
}
