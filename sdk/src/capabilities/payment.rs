//! `cityhost:miniapp/payment`: orders that the citizen pays in the host's
//! own confirmation sheet. Permission `payment`.
//!
//! Money is integer fen (`u64`, 1 yuan = 100 fen); times are UTC
//! milliseconds since the Unix epoch. The flow:
//!
//! 1. [`create_order`] with the app's own `out_trade_no` (the idempotency
//!    key) and show a button with [`Order::pay_action`];
//! 2. the citizen confirms in the host, which returns them to `return_path`;
//! 3. the host sends the paid order to the app as the event
//!    [`Event::PaymentSucceeded`](crate::Event::PaymentSucceeded) (handle it
//!    with [`Router::on_payment_succeeded`](crate::Router::on_payment_succeeded));
//!    the app may also [`query_order`] at any time. Trust only these two,
//!    never the citizen's return.
//! 4. to give money back, [`refund`] with the app's own `out_request_no`
//!    (the refund's idempotency key); the host then sends
//!    [`Event::RefundSucceeded`](crate::Event::RefundSucceeded) with a
//!    [`RefundEvent`].
//!
//! Events are retried until the app accepts them (8 attempts over about
//! 24 hours), and may arrive more than once: handle them idempotently
//! ([`crate::events`]).

use serde::{Deserialize, Serialize};

use crate::bindings::cityhost::miniapp::payment as wit;
use crate::error::Result;
use crate::view::Action;

/// Lifecycle of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Waiting for the citizen to confirm it in the host.
    Created,
    /// Paid.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Not paid in time.
    Expired,
    /// Paid, and part of the amount refunded.
    PartiallyRefunded,
    /// Paid, and the whole amount refunded.
    Refunded,
}

/// What the app asks the citizen to pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The app's own order number, unique per app: 1-64 characters of ASCII
    /// letters, digits, `-` and `_`. Creating it again with the same fields
    /// returns the same order; with different fields it fails with
    /// [`Error::Conflict("out-trade-no")`](crate::Error::Conflict).
    pub out_trade_no: String,
    /// Amount in fen, greater than 0 and at most the manifest's
    /// `max-order-fen`.
    pub amount_fen: u64,
    /// What is paid for, shown on the confirmation sheet; 1-128 characters.
    pub subject: String,
    /// App path the citizen returns to after paying, e.g.
    /// `/bills?account=3301001`.
    pub return_path: String,
    /// How long the order can be paid, ms (1 minute to 7 days); `None`
    /// for the host's default of 15 minutes.
    pub expires_in_ms: Option<u64>,
}

/// An order as the host keeps it; also what
/// [`Event::PaymentSucceeded`](crate::Event::PaymentSucceeded) carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The host's order id (opaque).
    pub order_id: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Refunded so far, fen.
    #[serde(default)]
    pub refunded_fen: u64,
    /// What is paid for.
    pub subject: String,
    /// Lifecycle state.
    pub state: OrderState,
    /// Creation time, UTC milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Payment time, UTC milliseconds since the Unix epoch.
    #[serde(default)]
    pub paid_at: Option<u64>,
    /// Last moment the order can be paid, UTC milliseconds.
    #[serde(default)]
    pub expires_at: u64,
    /// Host page where the citizen confirms the payment.
    pub pay_url: String,
}

impl Order {
    /// Whether the order was paid (refunds since included).
    pub fn is_paid(&self) -> bool {
        matches!(
            self.state,
            OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded
        )
    }

    /// What can still be refunded, fen.
    pub fn refundable_fen(&self) -> u64 {
        if self.is_paid() {
            self.amount_fen.saturating_sub(self.refunded_fen)
        } else {
            0
        }
    }

    /// The view action that opens the host's payment sheet for this order.
    pub fn pay_action(&self) -> Action {
        Action::pay(self.order_id.clone(), self.pay_url.clone())
    }
}

impl From<wit::Order> for Order {
    fn from(o: wit::Order) -> Self {
        Order {
            order_id: o.order_id,
            out_trade_no: o.out_trade_no,
            amount_fen: o.amount_fen,
            refunded_fen: o.refunded_fen,
            subject: o.subject,
            state: match o.state {
                wit::OrderState::Created => OrderState::Created,
                wit::OrderState::Paid => OrderState::Paid,
                wit::OrderState::Cancelled => OrderState::Cancelled,
                wit::OrderState::Expired => OrderState::Expired,
                wit::OrderState::PartiallyRefunded => OrderState::PartiallyRefunded,
                wit::OrderState::Refunded => OrderState::Refunded,
            },
            created_at: o.created_at,
            paid_at: o.paid_at,
            expires_at: o.expires_at,
            pay_url: o.pay_url,
        }
    }
}

/// Creates an order for the current citizen to pay; it stays
/// [`OrderState::Created`] until they confirm it in the host. Errors:
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
/// field, [`Error::Conflict("out-trade-no")`](crate::Error::Conflict),
/// [`Error::NotPermitted`](crate::Error::NotPermitted) without a signed-in
/// citizen.
pub fn create_order(request: &OrderRequest) -> Result<Order> {
    let request = wit::OrderRequest {
        out_trade_no: request.out_trade_no.clone(),
        amount_fen: request.amount_fen,
        subject: request.subject.clone(),
        return_path: request.return_path.clone(),
        expires_in_ms: request.expires_in_ms,
    };
    Ok(wit::create_order(&request)?.into())
}

/// This app's order with `out_trade_no`, if there is one.
pub fn query_order(out_trade_no: &str) -> Result<Option<Order>> {
    Ok(wit::query_order(out_trade_no)?.map(Order::from))
}

/// Cancels this app's created order (a cancelled one is returned as it
/// is); in a citizen's request only that citizen's own orders. Errors:
/// [`Error::InvalidArgument("order")`](crate::Error::InvalidArgument) if
/// unknown, [`Error::NotPermitted`](crate::Error::NotPermitted) if it is
/// another citizen's, [`Error::Conflict("state")`](crate::Error::Conflict)
/// if paid or expired.
pub fn cancel_order(out_trade_no: &str) -> Result<Order> {
    Ok(wit::cancel_order(out_trade_no)?.into())
}

/// What the app asks to refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The paid order's `out_trade_no`.
    pub out_trade_no: String,
    /// The app's refund number, unique per app (1-64 characters of ASCII
    /// letters, digits, `-`, `_`): asking again with the same order and
    /// amount returns the same refund.
    pub out_request_no: String,
    /// Fen, > 0 and at most [`Order::refundable_fen`].
    pub amount_fen: u64,
    /// Why, shown to the citizen; at most 128 characters.
    pub reason: String,
}

/// A refund as the host keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// The host's refund id.
    pub refund_id: String,
    /// The order's number.
    pub out_trade_no: String,
    /// The refund's number.
    pub out_request_no: String,
    /// Amount refunded, fen.
    pub amount_fen: u64,
    /// Why.
    pub reason: String,
    /// When, UTC milliseconds.
    pub refunded_at: u64,
}

impl From<wit::Refund> for Refund {
    fn from(r: wit::Refund) -> Self {
        Refund {
            refund_id: r.refund_id,
            out_trade_no: r.out_trade_no,
            out_request_no: r.out_request_no,
            amount_fen: r.amount_fen,
            reason: r.reason,
            refunded_at: r.refunded_at,
        }
    }
}

/// What [`Event::RefundSucceeded`](crate::Event::RefundSucceeded) carries:
/// the order after the refund, and the refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEvent {
    /// The order as it is after the refund.
    #[serde(flatten)]
    pub order: Order,
    /// The refund.
    pub refund: Refund,
}

/// Refunds (part of) this app's paid order to the citizen. Errors:
/// [`Error::RefundExceeds`](crate::Error::RefundExceeds) with what is still
/// refundable, [`Error::Conflict("out-request-no")`](crate::Error::Conflict)
/// when the number was used for another order or amount,
/// [`Error::Conflict("state")`](crate::Error::Conflict) if never paid,
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
/// field.
pub fn refund(request: &RefundRequest) -> Result<Refund> {
    let request = wit::RefundRequest {
        out_trade_no: request.out_trade_no.clone(),
        out_request_no: request.out_request_no.clone(),
        amount_fen: request.amount_fen,
        reason: request.reason.clone(),
    };
    Ok(wit::refund_order(&request)?.into())
}

/// This app's refund with `out_request_no`, if there is one.
pub fn query_refund(out_request_no: &str) -> Result<Option<Refund>> {
    Ok(wit::query_refund(out_request_no)?.map(Refund::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_decodes_from_json_with_unknown_fields() {
        // As a 0.1.0 host sent it in an event body (with an `event` field).
        let body = r#"{"event":"payment.succeeded","order_id":"o-1","out_trade_no":"ub-1",
            "amount_fen":4560,"subject":"水费","state":"paid","created_at":1,"paid_at":2,
            "pay_url":"/#/pay/o-1"}"#;
        let order: Order = serde_json::from_str(body).unwrap();
        assert!(order.is_paid());
        assert_eq!(order.paid_at, Some(2));
        assert_eq!(order.pay_action(), Action::pay("o-1", "/#/pay/o-1"),);
    }
}
