//! `cityhost:miniapp/payment`: orders that the citizen pays in the host's
//! own confirmation sheet. Permission `payment`.
//!
//! Money is integer fen (`u64`, 1 yuan = 100 fen); times are UTC
//! milliseconds since the Unix epoch. The flow:
//!
//! 1. [`create_order`] with the app's own `out_trade_no` (the idempotency
//!    key) and show a button with [`Order::pay_action`];
//! 2. the citizen confirms in the host, which returns them to `return_path`;
//! 3. the host POSTs the paid order to the app as the event
//!    [`PAYMENT_SUCCEEDED`] (handle it with
//!    [`Router::on_event`](crate::Router::on_event) and read the body with
//!    `req.json::<Order>()`); the app may also [`query_order`] at any time.
//!    Trust only these two, never the citizen's return.

use serde::{Deserialize, Serialize};

use crate::bindings::cityhost::miniapp::payment as wit;
use crate::error::Result;
use crate::view::Action;

/// Name of the event sent when an order is paid; its body is the [`Order`]
/// as JSON.
pub const PAYMENT_SUCCEEDED: &str = "payment.succeeded";

/// Lifecycle of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    /// Waiting for the citizen to confirm it in the host.
    Created,
    /// Paid.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Not paid in time.
    Expired,
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
}

/// An order as the host keeps it; also the JSON body of the
/// [`PAYMENT_SUCCEEDED`] event (snake_case field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The host's order id (opaque).
    pub order_id: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// What is paid for.
    pub subject: String,
    /// Lifecycle state.
    pub state: OrderState,
    /// Creation time, UTC milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Payment time, UTC milliseconds since the Unix epoch.
    #[serde(default)]
    pub paid_at: Option<u64>,
    /// Host page where the citizen confirms the payment.
    pub pay_url: String,
}

impl Order {
    /// Whether the order is paid.
    pub fn is_paid(&self) -> bool {
        self.state == OrderState::Paid
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
            subject: o.subject,
            state: match o.state {
                wit::OrderState::Created => OrderState::Created,
                wit::OrderState::Paid => OrderState::Paid,
                wit::OrderState::Cancelled => OrderState::Cancelled,
                wit::OrderState::Expired => OrderState::Expired,
            },
            created_at: o.created_at,
            paid_at: o.paid_at,
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
    };
    Ok(wit::create_order(&request)?.into())
}

/// This app's order with `out_trade_no`, if there is one.
pub fn query_order(out_trade_no: &str) -> Result<Option<Order>> {
    Ok(wit::query_order(out_trade_no)?.map(Order::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_body_decodes_as_an_order() {
        // As the host sends it (with its extra `event` field).
        let body = r#"{"event":"payment.succeeded","order_id":"o-1","out_trade_no":"ub-1",
            "amount_fen":4560,"subject":"水费","state":"paid","created_at":1,"paid_at":2,
            "pay_url":"/#/pay/o-1"}"#;
        let order: Order = serde_json::from_str(body).unwrap();
        assert!(order.is_paid());
        assert_eq!(order.paid_at, Some(2));
        assert_eq!(order.pay_action(), Action::pay("o-1", "/#/pay/o-1"),);
    }
}
