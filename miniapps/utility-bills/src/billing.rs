//! The water company's billing service, reached through the host's `http`
//! capability at [`ORIGIN`] (the manifest's `[http] allow`). Its API is
//! documented in `billing/` (package `hzwater-billing`): accounts, their
//! bills, and the payments reported for them.
//!
//! Every failure to get an answer the service documents — no connection, a
//! timeout, a 5xx, a body that is not what the API says — is one
//! [`Unreachable`]: the citizen is told the system cannot be reached now,
//! and a payment event is retried by the host until the payment is
//! recorded.

use cityhost_sdk::http;
use cityhost_sdk::payment::Order;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::bill::{Account, Bill};

/// Where the billing service is, as the manifest allows it.
pub(crate) const ORIGIN: &str = "http://billing.hzwater.internal";

/// The billing service gave no usable answer; says what happened (for the
/// log, not for the citizen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable(pub(crate) String);

/// What reporting a payment came to.
#[derive(Debug)]
pub(crate) enum Reported {
    /// The bill is paid by this order (now or before: reporting is
    /// idempotent).
    Recorded(Bill),
    /// Another order, named here, paid the bill first.
    PaidByOther(String),
    /// The bill asks for another amount (fen) than the order paid.
    AmountDiffers(u64),
    /// The billing service knows no such bill.
    NoBill,
}

fn get(url: &str) -> Result<http::Response, Unreachable> {
    http::get(url).map_err(|e| Unreachable(format!("GET: {e:?}")))
}

fn json<T: DeserializeOwned>(response: &http::Response) -> Result<T, Unreachable> {
    response
        .json()
        .map_err(|e| Unreachable(format!("unexpected answer: {e:?}")))
}

fn unexpected(response: &http::Response) -> Unreachable {
    Unreachable(format!("status {}", response.status))
}

/// The account `account` (digits, checked by the caller), if it exists.
pub(crate) fn account(account: &str) -> Result<Option<Account>, Unreachable> {
    let response = get(&format!("{ORIGIN}/accounts/{account}"))?;
    match response.status {
        200 => json(&response).map(Some),
        404 => Ok(None),
        _ => Err(unexpected(&response)),
    }
}

#[derive(Deserialize)]
struct BillsAnswer {
    bills: Vec<Bill>,
}

/// The bills of `account` (digits, checked by the caller), newest period
/// first; `None` when there is no such account.
pub(crate) fn bills(account: &str) -> Result<Option<Vec<Bill>>, Unreachable> {
    let response = get(&format!("{ORIGIN}/accounts/{account}/bills"))?;
    match response.status {
        200 => json::<BillsAnswer>(&response).map(|a| Some(a.bills)),
        404 => Ok(None),
        _ => Err(unexpected(&response)),
    }
}

/// Bill `bill_id` of `account`, if both exist.
pub(crate) fn bill(account: &str, bill_id: &str) -> Result<Option<Bill>, Unreachable> {
    Ok(bills(account)?.and_then(|bills| bills.into_iter().find(|b| b.bill_id == bill_id)))
}

/// The body of `POST /bills/{bill_id}/payments`.
#[derive(Serialize)]
struct PaymentReport<'a> {
    out_trade_no: &'a str,
    amount_fen: u64,
    paid_at: u64,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    paid_by: Option<String>,
    #[serde(default)]
    amount_fen: Option<u64>,
}

/// Reports that `order` (paid) paid bill `bill_id` (checked by the
/// caller with [`crate::bill::is_bill_id`]). Idempotent by the order
/// number.
pub(crate) fn report_payment(bill_id: &str, order: &Order) -> Result<Reported, Unreachable> {
    let payment = PaymentReport {
        out_trade_no: &order.out_trade_no,
        amount_fen: order.amount_fen,
        paid_at: order.paid_at.unwrap_or(order.created_at),
    };
    let response = http::post_json(&format!("{ORIGIN}/bills/{bill_id}/payments"), &payment)
        .map_err(|e| Unreachable(format!("POST: {e:?}")))?;
    match response.status {
        200 | 201 => json(&response).map(Reported::Recorded),
        404 => Ok(Reported::NoBill),
        409 => {
            let answer: ErrorAnswer = json(&response)?;
            Ok(Reported::PaidByOther(answer.paid_by.unwrap_or_default()))
        }
        422 => {
            let answer: ErrorAnswer = json(&response)?;
            Ok(Reported::AmountDiffers(
                answer.amount_fen.unwrap_or_default(),
            ))
        }
        _ => Err(unexpected(&response)),
    }
}
