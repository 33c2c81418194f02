//! `cityhost:miniapp/payment`: create, query and cancel orders; refund paid
//! ones. There is no call that pays: only the citizen confirms, in the
//! host's payment sheet, with their payment PIN.

use serde::Deserialize;
use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::manifest::Permission;
use crate::payments::orders::{Owner, Payee};
use crate::payments::{NewOrder, NewRefund, Order, OrderState, PaymentError, Refund};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::Event;
use crate::capabilities::bindings::cityhost::miniapp::payment::{self as wit, Error, Host};
use crate::events::{PAYMENT_SUCCEEDED, PendingEvent, REFUND_SUCCEEDED};
use cityhost_store::now_ms;

/// The `payment` capability: orders and refunds through the host's payment sheet and ledger.
pub(crate) struct Payment;

impl Capability for Payment {
    const PERMISSION: Permission = Permission::Payment;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::payment::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}


/// Largest order when the manifest sets no `max-order-fen`: ¥10,000.
pub(crate) const DEFAULT_MAX_ORDER_FEN: u64 = 1_000_000;

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::InvalidArgument(s) => Error::InvalidArgument(s),
            CapabilityError::Conflict(s) => Error::Conflict(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            CapabilityError::RefundExceeds(fen) => Error::RefundExceeds(fen),
            other => Error::Unavailable(other.not_in("payment")),
        })
    }

    async fn create_order(&mut self, request: wit::OrderRequest) -> Result<wit::Order, CapabilityError> {
        self.call(Permission::Payment, "payment.create-order", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                let manifest = &s.context.manifest;
                // The merchant account is the department's USCC (every
                // published manifest has one: the upload requires it).
                let department = manifest.department_key().map_err(|_| {
                    CapabilityError::Unavailable(
                        "the app's manifest names no department (department.uscc)".into(),
                    )
                })?;
                let payee = Payee {
                    app_id: &manifest.id,
                    department,
                    max_order_fen: manifest
                        .limits
                        .max_order_fen
                        .unwrap_or(DEFAULT_MAX_ORDER_FEN),
                };
                let order = s
                    .services
                    .payments
                    .create(
                        payee,
                        &citizen_id,
                        NewOrder {
                            out_trade_no: request.out_trade_no,
                            amount_fen: request.amount_fen,
                            subject: request.subject,
                            return_path: request.return_path,
                            expires_in_ms: request.expires_in_ms,
                        },
                    )
                    .await?;
                Ok(to_wit(&order))
            })
        })
        .await
    }

    async fn query_order(&mut self, out_trade_no: String) -> Result<Option<wit::Order>, CapabilityError> {
        self.call(Permission::Payment, "payment.query-order", |s| {
            Box::pin(async move {
                let order = s
                    .services
                    .payments
                    .by_out_trade_no(&s.context.manifest.id, &out_trade_no)
                    .await?;
                Ok(order.as_ref().map(to_wit))
            })
        })
        .await
    }

    async fn cancel_order(&mut self, out_trade_no: String) -> Result<wit::Order, CapabilityError> {
        self.call(Permission::Payment, "payment.cancel-order", |s| {
            Box::pin(async move {
                let app = &s.context.manifest.id;
                let payments = &s.services.payments;
                let order = payments
                    .by_out_trade_no(app, &out_trade_no)
                    .await?
                    .ok_or_else(|| CapabilityError::InvalidArgument("order".into()))?;
                // In a citizen's request an app may cancel only that
                // citizen's own orders (as with refunds): otherwise any
                // citizen could make another's order unpayable.
                if let Some(citizen_id) = &s.context.citizen_id
                    && &order.citizen_id != citizen_id
                {
                    return Err(CapabilityError::NotPermitted(
                        "this order is another citizen's".into(),
                    ));
                }
                let order = payments.cancel(&order.order_id, Owner::App(app)).await?;
                Ok(to_wit(&order))
            })
        })
        .await
    }

    async fn refund_order(&mut self, request: wit::RefundRequest) -> Result<wit::Refund, CapabilityError> {
        self.call(Permission::Payment, "payment.refund-order", |s| {
            Box::pin(async move {
                // In a citizen's request an app may refund only that citizen's
                // own orders: another citizen's payment is not theirs to undo.
                if let Some(citizen_id) = &s.context.citizen_id {
                    let order = s
                        .services
                        .payments
                        .by_out_trade_no(&s.context.manifest.id, &request.out_trade_no)
                        .await?;
                    if order.is_some_and(|o| &o.citizen_id != citizen_id) {
                        return Err(CapabilityError::NotPermitted(
                            "this order was paid by another citizen".into(),
                        ));
                    }
                }
                let (refund, _) = s
                    .services
                    .payments
                    .refund(
                        &s.context.manifest.id,
                        NewRefund {
                            out_trade_no: request.out_trade_no,
                            out_request_no: request.out_request_no,
                            amount_fen: request.amount_fen,
                            reason: request.reason,
                        },
                    )
                    .await?;
                Ok(refund_to_wit(refund))
            })
        })
        .await
    }

    async fn query_refund(
        &mut self,
        out_request_no: String,
    ) -> Result<Option<wit::Refund>, CapabilityError> {
        self.call(Permission::Payment, "payment.query-refund", |s| {
            Box::pin(async move {
                let refund = s
                    .services
                    .payments
                    .refund_by_request_no(&s.context.manifest.id, &out_request_no)
                    .await?;
                Ok(refund.map(refund_to_wit))
            })
        })
        .await
    }
}

/// The WIT error for a payment refusal. Only `refund-exceeds` can reach an
/// app (PIN and funds errors happen on the citizen's sheet, never in an
/// app's call); the rest map to `not-permitted` defensively.
pub(super) fn capability_error(e: PaymentError) -> CapabilityError {
    match e {
        PaymentError::RefundExceeds { refundable_fen } => CapabilityError::RefundExceeds(refundable_fen),
        other => CapabilityError::NotPermitted(other.to_string()),
    }
}

/// The WIT view of an order (no citizen id).
fn to_wit(order: &Order) -> wit::Order {
    wit::Order {
        order_id: order.order_id.clone(),
        out_trade_no: order.out_trade_no.clone(),
        amount_fen: order.amount_fen,
        refunded_fen: order.refunded_fen,
        subject: order.subject.clone(),
        state: state_to_wit(order.state_at(now_ms())),
        created_at: order.created_at,
        paid_at: order.paid_at,
        expires_at: order.expires_at,
        pay_url: order.pay_url(),
    }
}

/// The WIT order state.
fn state_to_wit(state: OrderState) -> wit::OrderState {
    match state {
        OrderState::Created => wit::OrderState::Created,
        OrderState::Paid => wit::OrderState::Paid,
        OrderState::Cancelled => wit::OrderState::Cancelled,
        OrderState::Expired => wit::OrderState::Expired,
        OrderState::PartiallyRefunded => wit::OrderState::PartiallyRefunded,
        OrderState::Refunded => wit::OrderState::Refunded,
    }
}

/// The WIT view of a refund.
fn refund_to_wit(r: Refund) -> wit::Refund {
    wit::Refund {
        refund_id: r.refund_id,
        out_trade_no: r.out_trade_no,
        out_request_no: r.out_request_no,
        amount_fen: r.amount_fen,
        reason: r.reason,
        refunded_at: r.refunded_at,
    }
}

/// The body of an order event as the outbox holds it
/// (`cityhost_domain::payments::order_event::OrderEvent`).
#[derive(Deserialize)]
struct StoredOrderEvent {
    order_id: String,
    out_trade_no: String,
    amount_fen: u64,
    refunded_fen: u64,
    subject: String,
    state: OrderState,
    created_at: u64,
    paid_at: Option<u64>,
    expires_at: u64,
    pay_url: String,
    refund: Option<Refund>,
}

/// The WIT event (the `events` export's argument) for an outbox entry. Errors (kept as the attempt's
/// outcome): an event name the contract does not know, or a body that is
/// not the order event's JSON.
pub(crate) fn typed_event(event: &PendingEvent) -> Result<Event, String> {
    let body: StoredOrderEvent = serde_json::from_str(&event.body)
        .map_err(|e| format!("unreadable body of {}: {e}", event.event))?;
    let order = wit::Order {
        order_id: body.order_id,
        out_trade_no: body.out_trade_no,
        amount_fen: body.amount_fen,
        refunded_fen: body.refunded_fen,
        subject: body.subject,
        state: state_to_wit(body.state),
        created_at: body.created_at,
        paid_at: body.paid_at,
        expires_at: body.expires_at,
        pay_url: body.pay_url,
    };
    match (event.event.as_str(), body.refund) {
        (PAYMENT_SUCCEEDED, _) => Ok(Event::PaymentSucceeded(order)),
        (REFUND_SUCCEEDED, Some(refund)) => {
            Ok(Event::RefundSucceeded((order, refund_to_wit(refund))))
        }
        (name, _) => Err(format!("no typed form of the event {name}")),
    }
}
