//! Host events: what the host tells the app about its own business, as
//! typed values (the WIT `events` export of `cityhost:miniapp@0.2.0`).
//!
//! Register a handler per event on the [`Router`](crate::Router)
//! ([`Router::on_payment_succeeded`](crate::Router::on_payment_succeeded),
//! [`Router::on_refund_succeeded`](crate::Router::on_refund_succeeded)).
//! The host delivers each event on behalf of the citizen concerned (so
//! [`identity`](crate::identity) calls answer for them, and a `receipt`
//! template may be sent to them once), and retries it with growing pauses
//! (8 attempts over about 24 hours) until the handler returns `Ok`: an
//! event may arrive more than once, so handlers must be idempotent (the
//! order's `out_trade_no` or the refund's `out_request_no` tells a repeat).
//! An event the app has no handler for is accepted as it comes.

use crate::bindings::exports::cityhost::miniapp::events as wit;
use crate::payment::{Order, RefundEvent};

/// One host event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The citizen paid the order in the host's confirmation sheet (state
    /// `paid`, `paid_at` set).
    PaymentSucceeded(Order),
    /// A refund of the order went back to the citizen; the order's
    /// `refunded_fen` includes it.
    RefundSucceeded(RefundEvent),
}

impl Event {
    /// The event's name in the host's log and audit, e.g.
    /// `payment-succeeded`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::PaymentSucceeded(_) => "payment-succeeded",
            Event::RefundSucceeded(_) => "refund-succeeded",
        }
    }
}

impl From<wit::Event> for Event {
    fn from(event: wit::Event) -> Self {
        match event {
            wit::Event::PaymentSucceeded(order) => Event::PaymentSucceeded(order.into()),
            wit::Event::RefundSucceeded((order, refund)) => Event::RefundSucceeded(RefundEvent {
                order: order.into(),
                refund: refund.into(),
            }),
        }
    }
}
