//! The HTTP face of payments: the citizen's orders, receipts, payment PIN
//! and funding account; the operator's top-ups and ledger check; the
//! department's daily settlement statement.

mod account;
mod operator;
mod orders;
mod statements;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::error::ApiError;
use crate::payments::PaymentError;
use crate::platform::Platform;

/// Routes under `/api`.
pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/orders", get(orders::list))
        .route("/orders/{order_id}", get(orders::get))
        .route("/orders/{order_id}/confirm", post(orders::confirm))
        .route("/orders/{order_id}/cancel", post(orders::cancel))
        .route("/payment/account", get(account::show))
        .route("/payment/pin", post(account::set_pin))
        .route("/operator/topups", post(operator::top_up))
        .route("/operator/ledger/verify", get(operator::verify))
        .route(
            "/departments/{uscc}/statements/{file}",
            get(statements::download),
        )
}

/// The HTTP answer to a payment refusal (codes the shell's sheet shows).
pub(super) fn api_error(e: PaymentError) -> ApiError {
    let message = e.to_string();
    let (status, code, field) = match e {
        PaymentError::InsufficientFunds { .. } => {
            (StatusCode::PAYMENT_REQUIRED, "insufficient_funds", None)
        }
        PaymentError::PinNotSet => (StatusCode::CONFLICT, "pin_not_set", Some("pin")),
        PaymentError::PinAlreadySet => (StatusCode::CONFLICT, "pin_already_set", Some("pin")),
        PaymentError::WrongPin { .. } => (StatusCode::FORBIDDEN, "wrong_pin", Some("pin")),
        PaymentError::PinLocked { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, "payment_locked", Some("pin"))
        }
        PaymentError::RefundExceeds { .. } => {
            (StatusCode::CONFLICT, "refund_exceeds", Some("amount_fen"))
        }
    };
    ApiError {
        field: field.map(str::to_string),
        ..ApiError::new(status, code, message)
    }
}
