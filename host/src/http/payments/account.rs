//! `/api/payment/...`: the citizen's funding account and payment PIN.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::error::ApiResult;
use crate::http::extract::{JsonBody, SignedIn};
use crate::payments::Account;
use crate::payments::pin::PinStatus;
use crate::platform::Platform;

/// What the payment sheet shows about the citizen's means of payment.
#[derive(Serialize)]
pub(super) struct AccountView {
    /// The payment method's name.
    method: &'static str,
    /// Its code, for clients that name it in another language.
    method_code: &'static str,
    /// Balance of the simulated bank card, fen.
    balance_fen: i64,
    /// The PIN's state.
    pin: PinStatus,
}

/// Name of the citizen's payment method on the sheet.
const METHOD: &str = "模拟银行卡";

pub(super) async fn show(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<AccountView>> {
    let services = &platform.services;
    Ok(Json(AccountView {
        method: METHOD,
        method_code: "simulated-card",
        balance_fen: services
            .payments
            .ledger
            .balance(&Account::Citizen(who.citizen.id.clone()))
            .await?,
        pin: services.pins.status(&who.citizen.id).await?,
    }))
}

/// Body of setting the PIN.
#[derive(Deserialize)]
pub(super) struct NewPin {
    pin: String,
}

/// Sets the payment PIN (once).
pub(super) async fn set_pin(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    JsonBody(body): JsonBody<NewPin>,
) -> ApiResult<(StatusCode, Json<PinStatus>)> {
    let pins = &platform.services.pins;
    pins.set(&who.citizen.id, &body.pin).await?;
    let status = pins.status(&who.citizen.id).await?;
    Ok((StatusCode::CREATED, Json(status)))
}
