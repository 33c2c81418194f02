//! 杭州市水务集团的账单系统: the water company's billing service, the
//! department system behind the `utility-bills` mini-app. The mini-app
//! reaches it only through the host's `http` capability, at the origin
//! `http://billing.hzwater.internal` that its manifest lists.
//!
//! It keeps its own data ([`store`]): accounts and their bills in
//! `{data dir}/billing.json`, created from a bundled seed (accounts 3301001
//! and 3301002) on first start.
//!
//! # API
//!
//! JSON in, JSON out. An error is `{"error": "...", "field": "..."}`
//! (`field` names what is wrong, or is `null`).
//!
//! - `GET /accounts/{account}` → `200 {"account", "holder", "address"}`,
//!   the holder's name masked (`张*`); `400` (field `account`) when it is
//!   not 5-20 digits, `404` when there is no such account.
//! - `GET /accounts/{account}/bills` → `200 {"account", "bills": [...]}`,
//!   newest period first, each bill `{"id", "account", "kind":
//!   "water"|"power"|"gas", "period": "2026-10", "amount_fen", "status":
//!   "unpaid"|"paid"}` plus `"out_trade_no"` and `"paid_at"` (UTC ms) when
//!   paid; errors as above.
//! - `POST /bills/{bill_id}/payments` with `{"out_trade_no", "amount_fen",
//!   "paid_at"}` marks the bill paid: `201` and the bill; the same
//!   `out_trade_no` again is `200` and the bill, unchanged (idempotent);
//!   `409` (field `out_trade_no`, with `"paid_by"`) when another order
//!   already paid it; `422` (field `amount_fen`, with `"amount_fen"` due)
//!   when the amount is not the bill's; `404` (field `bill_id`) for an
//!   unknown bill; `400` naming the field for a malformed body
//!   (`out_trade_no` is 1-64 of `A-Z a-z 0-9 - _`).
//!
//! Any other path is a `404`, another method a `405`, both in the same
//! JSON. The service never panics on input.
//!
//! # Running it
//!
//! ```text
//! hzwater-billing --bind 127.0.0.1:0 --data data/backends/utility-bills
//! ```
//!
//! prints exactly one line on standard output, `listening on
//! http://127.0.0.1:PORT`, so that a parent process (`cityhost demo`, the
//! host's tests) learns the port; logs go to standard error. With
//! `--exit-with-stdin` it also stops when its standard input closes, so it
//! never outlives the process that started it.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let store = std::sync::Arc::new(hzwater_billing::store::Store::open("data".as_ref())?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, hzwater_billing::router(store)).await?;
//! # Ok(()) }
//! ```

pub mod store;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use store::{Account, Bill, Payment, PaymentError, Recorded, Store};

/// The service's routes over `store`.
pub fn router(store: Arc<Store>) -> Router {
    cityhost_backend::api::with_fallbacks(
        Router::new()
            .route("/accounts/{account}", get(account))
            .route("/accounts/{account}/bills", get(bills))
            .route("/bills/{bill_id}/payments", post(pay)),
    )
    .with_state(store)
}

pub use cityhost_backend::api::ApiError;

/// An account as answered: the holder's name masked.
#[derive(Debug, Serialize)]
struct AccountView {
    account: String,
    holder: String,
    address: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        Self {
            holder: mask_name(&a.holder),
            account: a.account,
            address: a.address,
        }
    }
}

/// `张伟` → `张*`, `欧阳娜娜` → `欧***`: the first character kept.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// An account number from the path, or a 400 naming it.
fn checked_account(account: &str) -> Result<&str, ApiError> {
    if (5..=20).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(account)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an account number is 5-20 digits",
            Some("account"),
        ))
    }
}

fn no_account() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such account", Some("account"))
}

/// `GET /accounts/{account}`.
async fn account(
    State(store): State<Arc<Store>>,
    Path(account): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let account = checked_account(&account)?;
    let found = store.account(account).ok_or_else(no_account)?;
    Ok(Json(found.into()))
}

#[derive(Debug, Serialize)]
struct BillsView {
    account: String,
    bills: Vec<Bill>,
}

/// `GET /accounts/{account}/bills`.
async fn bills(
    State(store): State<Arc<Store>>,
    Path(account): Path<String>,
) -> Result<Json<BillsView>, ApiError> {
    let account = checked_account(&account)?;
    let bills = store.bills(account).ok_or_else(no_account)?;
    Ok(Json(BillsView {
        account: account.to_string(),
        bills,
    }))
}

/// The body of `POST /bills/{bill_id}/payments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    out_trade_no: String,
    amount_fen: u64,
    paid_at: u64,
}

/// The body read, or a 400 naming the field at fault (`body` for JSON
/// that is not an object).
fn payment_body(body: &[u8]) -> Result<Payment, ApiError> {
    let parsed: PaymentBody = cityhost_backend::api::json_body(body)?;
    let no = &parsed.out_trade_no;
    if no.is_empty()
        || no.len() > 64
        || !no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an order number is 1-64 of A-Z a-z 0-9 - _",
            Some("out_trade_no"),
        ));
    }
    if parsed.amount_fen == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the amount is at least 1 fen",
            Some("amount_fen"),
        ));
    }
    Ok(Payment {
        out_trade_no: parsed.out_trade_no,
        amount_fen: parsed.amount_fen,
        paid_at: parsed.paid_at,
    })
}

/// `POST /bills/{bill_id}/payments`.
async fn pay(
    State(store): State<Arc<Store>>,
    Path(bill_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Bill>), ApiError> {
    let payment = payment_body(&body)?;
    match store.pay(&bill_id, &payment) {
        Ok(Recorded::New(bill)) => {
            tracing::info!(bill = %bill.id, out_trade_no = %payment.out_trade_no, "bill paid");
            Ok((StatusCode::CREATED, Json(bill)))
        }
        Ok(Recorded::Again(bill)) => Ok((StatusCode::OK, Json(bill))),
        Err(e @ PaymentError::NoBill(_)) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            &e.to_string(),
            Some("bill_id"),
        )),
        Err(ref e @ PaymentError::PaidByOther { ref paid_by, .. }) => {
            Err(
                ApiError::new(StatusCode::CONFLICT, &e.to_string(), Some("out_trade_no"))
                    .with("paid_by", paid_by),
            )
        }
        Err(e @ PaymentError::AmountDiffers { due, .. }) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            &e.to_string(),
            Some("amount_fen"),
        )
        .with("amount_fen", due)),
        Err(e @ PaymentError::Io(_)) => {
            tracing::error!(error = %e, "payment not recorded");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the payment could not be saved; try again",
                None,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn a_bad_payment_body_names_its_field() {
        let field = |body: &str| payment_body(body.as_bytes()).unwrap_err().body()["field"].clone();
        assert_eq!(field(r#"{"amount_fen":1,"paid_at":1}"#), "out_trade_no");
        assert_eq!(
            field(r#"{"out_trade_no":"a","amount_fen":-1,"paid_at":1}"#),
            "amount_fen"
        );
        assert_eq!(
            field(r#"{"out_trade_no":"a b","amount_fen":1,"paid_at":1}"#),
            "out_trade_no"
        );
        assert_eq!(
            field(r#"{"out_trade_no":"a","amount_fen":1,"paid_at":1,"x":1}"#),
            "x"
        );
        assert_eq!(field("[]"), "body");
        assert_eq!(field("not json"), "body");
    }
}
