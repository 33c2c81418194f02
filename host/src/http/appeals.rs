//! Identity appeals over HTTP (`identity::appeals`): the citizen whose
//! identity another account holds files one; an operator decides it after
//! checking the identity card.
//!
//! Citizen (signed in, CSRF as every state change):
//! - `POST /api/me/verification/appeals {name, id_number}`: every
//!   real-name check runs again (errors as `POST /api/me/verification`,
//!   mismatch limits included). `200` [`Verified`] if the number is free by
//!   now; `202 {"appeal": …}` when the appeal waits for an operator (a new
//!   one, or the citizen's pending one).
//! - `GET /api/me/verification/appeals`: the citizen's appeals, newest
//!   first.
//!
//! Operator (bearer operator token):
//! - `GET /api/operator/identity-appeals?status=pending|approved|rejected`:
//!   the queue, oldest first, with the claimant's and the current holder's
//!   masked phone numbers.
//! - `POST /api/operator/identity-appeals/{id}/decision {decision:
//!   "approve"|"reject", evidence, id_number}`: `id_number` is the number
//!   read from the card checked (required to approve). Errors: 400
//!   `decision` / `evidence` / `id_number`, 404 `appeal`, 409 `appeal`
//!   (decided already) or `claimant` (verified meanwhile with another
//!   identity). The decision goes to the operator action log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::auth::OperatorAuth;
use super::client_addr::ClientAddr;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, SignedIn};
use super::identity::{Verified, text_field};
use crate::identity::appeals::{Appeal, AppealStatus, Decision, Filed};
use crate::platform::Platform;

/// Routes under `/api`.
pub(super) fn api_routes() -> axum::Router<Arc<Platform>> {
    axum::Router::new()
        .route("/me/verification/appeals", post(file).get(mine))
        .route("/operator/identity-appeals", get(queue))
        .route("/operator/identity-appeals/{id}/decision", post(decide))
}

/// An appeal as its claimant sees it.
#[derive(Serialize)]
struct CitizenAppeal {
    id: String,
    status: AppealStatus,
    name_masked: String,
    id_number_masked: String,
    /// UTC ms.
    filed_at: u64,
    /// UTC ms.
    decided_at: Option<u64>,
}

impl From<Appeal> for CitizenAppeal {
    fn from(a: Appeal) -> Self {
        Self {
            name_masked: crate::identity::idcard::mask_name(&a.name),
            id: a.id,
            status: a.status,
            id_number_masked: a.id_number_masked,
            filed_at: a.filed_at,
            decided_at: a.decided_at,
        }
    }
}

async fn file(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Response> {
    let (name, id_number) = (text_field(&body, "name")?, text_field(&body, "id_number")?);
    let filed = platform
        .services
        .appeals
        .file(&who.citizen, name, id_number, &client.to_string())
        .await?;
    Ok(match filed {
        Filed::Verified(citizen) => Json(Verified::of(&platform, &citizen)?).into_response(),
        Filed::Pending(appeal) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "appeal": CitizenAppeal::from(appeal) })),
        )
            .into_response(),
    })
}

async fn mine(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Vec<CitizenAppeal>>> {
    let appeals = platform
        .services
        .appeals
        .of_citizen(&who.citizen.id)
        .await?;
    Ok(Json(appeals.into_iter().map(CitizenAppeal::from).collect()))
}

/// Query of the operator's queue.
#[derive(Deserialize)]
struct QueueQuery {
    status: Option<AppealStatus>,
}

/// An appeal as the operator sees it: the name in full (to compare with
/// the card), the number masked.
#[derive(Serialize)]
struct OperatorAppeal {
    id: String,
    status: AppealStatus,
    name: String,
    id_number_masked: String,
    claimant_phone_masked: Option<String>,
    /// The account verified with the identity now, if any.
    holder_phone_masked: Option<String>,
    /// UTC ms.
    filed_at: u64,
    /// UTC ms.
    decided_at: Option<u64>,
    decided_by: Option<String>,
    evidence: Option<String>,
}

async fn queue(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<OperatorAppeal>>> {
    let Query(q) = query
        .map_err(|_| ApiError::invalid("status", "use `pending`, `approved` or `rejected`"))?;
    let services = &platform.services;
    let mut out = Vec::new();
    for appeal in services.appeals.list(q.status).await? {
        let claimant = services.accounts.get(&appeal.claimant_id).await?;
        let holder = services.appeals.holder(&appeal).await?;
        out.push(OperatorAppeal {
            claimant_phone_masked: claimant.map(|c| c.masked_phone()),
            holder_phone_masked: holder.map(|c| c.masked_phone()),
            id: appeal.id,
            status: appeal.status,
            name: appeal.name,
            id_number_masked: appeal.id_number_masked,
            filed_at: appeal.filed_at,
            decided_at: appeal.decided_at,
            decided_by: appeal.decided_by,
            evidence: appeal.evidence,
        });
    }
    Ok(Json(out))
}

/// Body of a decision.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: Decision,
    evidence: String,
    id_number: Option<String>,
}

async fn decide(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> ApiResult<Json<CitizenAppeal>> {
    let services = &platform.services;
    let operator = &who.operator.name;
    let appeal = services
        .appeals
        .decide(
            &id,
            body.decision,
            &body.evidence,
            body.id_number.as_deref(),
            operator,
        )
        .await?;
    let action = match body.decision {
        Decision::Approve => "identity_appeal.approve",
        Decision::Reject => "identity_appeal.reject",
    };
    services
        .publishing
        .operators
        .record(operator, action, &appeal.id, body.evidence.trim())
        .await?;
    Ok(Json(CitizenAppeal::from(appeal)))
}
