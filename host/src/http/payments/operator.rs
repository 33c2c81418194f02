//! `/api/operator/topups` and `/api/operator/ledger/verify`: the
//! operator's side of the ledger, behind the operator token.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::http::auth::OperatorAuth;
use crate::http::error::ApiResult;
use crate::http::extract::JsonBody;
use crate::payments::Account;
use crate::payments::ledger::Verification;
use crate::platform::Platform;

/// Body of a top-up.
#[derive(Deserialize)]
pub(super) struct TopUp {
    /// The citizen's phone number.
    phone: String,
    /// Fen, 1 to 100,000,000.
    amount_fen: u64,
}

/// The citizen's new balance.
#[derive(Serialize)]
pub(super) struct TopUpDone {
    transfer_id: String,
    balance_fen: i64,
}

/// Puts money onto a citizen's simulated bank card.
pub(super) async fn top_up(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    JsonBody(body): JsonBody<TopUp>,
) -> ApiResult<(StatusCode, Json<TopUpDone>)> {
    who.record(
        &platform,
        "ledger.topup",
        "citizen card",
        &format!("{} fen", body.amount_fen),
    )?;
    let services = &platform.services;
    let citizen = services
        .accounts
        .by_phone(&body.phone)
        .await?
        .ok_or(ServiceError::NotFound("citizen"))?;
    let ledger = &services.payments.ledger;
    let transfer = ledger.top_up(&citizen.id, body.amount_fen).await?;
    let done = TopUpDone {
        transfer_id: transfer.id,
        balance_fen: ledger.balance(&Account::Citizen(citizen.id)).await?,
    };
    Ok((StatusCode::CREATED, Json(done)))
}

/// Checks the whole ledger; `200` with the findings either way (see
/// `balanced`).
pub(super) async fn verify(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
) -> ApiResult<Json<serde_json::Value>> {
    let v: Verification = platform.services.payments.ledger.verify().await?;
    let mut body = serde_json::to_value(&v).unwrap_or_default();
    body["balanced"] = v.is_balanced().into();
    Ok(Json(body))
}
