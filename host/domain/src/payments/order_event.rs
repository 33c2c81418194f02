//! The body of the host events about an order (`payment.succeeded`,
//! `refund.succeeded`, [`crate::events`]), staged in the same transaction
//! as the change they announce.

use serde::Serialize;

use super::{Order, OrderState, Refund};

/// The body of `payment.succeeded` and `refund.succeeded`: the order as the
/// app sees it (no citizen id), plus the refund for a refund event. Times
/// are UTC ms; amounts fen.
#[derive(Debug, Serialize)]
pub struct OrderEvent<'a> {
    /// Event type.
    pub event: &'static str,
    /// Host order id.
    pub order_id: &'a str,
    /// The app's order number.
    pub out_trade_no: &'a str,
    /// Amount, fen.
    pub amount_fen: u64,
    /// Refunded so far, fen.
    pub refunded_fen: u64,
    /// What was paid for.
    pub subject: &'a str,
    /// Order state.
    pub state: OrderState,
    /// Creation time, UTC ms.
    pub created_at: u64,
    /// Payment time, UTC ms.
    pub paid_at: Option<u64>,
    /// Last moment the order could be paid, UTC ms.
    pub expires_at: u64,
    /// Host payment page.
    pub pay_url: String,
    /// The refund (refund events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund: Option<&'a Refund>,
}

impl<'a> OrderEvent<'a> {
    /// The event `event` about `order` (and `refund`).
    pub fn new(event: &'static str, order: &'a Order, refund: Option<&'a Refund>) -> Self {
        OrderEvent {
            event,
            order_id: &order.order_id,
            out_trade_no: &order.out_trade_no,
            amount_fen: order.amount_fen,
            refunded_fen: order.refunded_fen,
            subject: &order.subject,
            state: order.state,
            created_at: order.created_at,
            paid_at: order.paid_at,
            expires_at: order.expires_at,
            pay_url: order.pay_url(),
            refund,
        }
    }
}
