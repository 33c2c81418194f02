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

/// Path prefix under which the host delivers app events to the handler
/// (citizens cannot reach it).
pub(crate) const APP_EVENT_PATH: &str = "/_cityhost/events/";

/// An app event: from one of the app's [timers](crate::schedule)
/// (`timer.{name}`), a `[[schedule.cron]]` schedule of its manifest
/// (`cron.{name}`, payload `{"schedule": name, "scheduled_at": ms}`) or
/// its department's own system (`department.{name}`, an event its
/// manifest lists in `[events] from-department`). Handle it with
/// [`Router::on_event`](crate::Router::on_event).
///
/// Delivered at least once, with the retries of host events, and on behalf
/// of the citizen it concerns if any (then [`identity`](crate::identity)
/// calls answer for them); [`AppEvent::id`] is the same on every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    id: String,
    kind: String,
    payload: Vec<u8>,
}

impl AppEvent {
    /// The event from a host request under [`APP_EVENT_PATH`], if it is
    /// one.
    pub(crate) fn from_request(req: &crate::Request) -> Option<AppEvent> {
        let kind = req.path().strip_prefix(APP_EVENT_PATH)?;
        Some(AppEvent {
            id: req
                .header("x-cityhost-event-id")
                .unwrap_or_default()
                .to_string(),
            kind: kind.to_string(),
            payload: req.body().to_vec(),
        })
    }

    /// The host's id of the event (`evt_` + 32 hex), the same on every
    /// attempt: a repeat has the id of one already handled.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event's type, `{source}.{name}`, e.g. `timer.day-before`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The payload decoded from JSON. Errors:
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
    /// payload's field at fault.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> crate::Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&self.payload);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            crate::Error::InvalidArgument(format!("payload.{}: {}", e.path(), e.inner()))
        })
    }

    /// The payload's JSON text.
    pub fn payload_json(&self) -> &[u8] {
        &self.payload
    }
}
