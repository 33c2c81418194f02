//! `cityhost:miniapp/payment`: create, query and cancel orders; refund paid
//! ones. There is no call that pays: only the citizen confirms, in the
//! host's payment sheet, with their payment PIN.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::manifest::Permission;
use crate::payments::orders::{Owner, Payee};
use crate::payments::{NewOrder, NewRefund, Order, OrderState, PaymentError, Refund};
use crate::capabilities::bindings::WitError;
use crate::capabilities::bindings::cityhost::miniapp::payment::{self as wit, Host};
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
    async fn create_order(&mut self, request: wit::OrderRequest) -> Result<wit::Order, WitError> {
        self.call(Permission::Payment, "payment.create-order", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                let manifest = &s.context.manifest;
                // The merchant account is the department's USCC (every
                // published manifest has one: the upload requires it).
                let department = manifest.department_key().map_err(|_| {
                    WitError::Unavailable(
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

    async fn query_order(&mut self, out_trade_no: String) -> Result<Option<wit::Order>, WitError> {
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

    async fn cancel_order(&mut self, out_trade_no: String) -> Result<wit::Order, WitError> {
        self.call(Permission::Payment, "payment.cancel-order", |s| {
            Box::pin(async move {
                let app = &s.context.manifest.id;
                let payments = &s.services.payments;
                let order = payments
                    .by_out_trade_no(app, &out_trade_no)
                    .await?
                    .ok_or_else(|| WitError::InvalidArgument("order".into()))?;
                // In a citizen's request an app may cancel only that
                // citizen's own orders (as with refunds): otherwise any
                // citizen could make another's order unpayable.
                if let Some(citizen_id) = &s.context.citizen_id
                    && &order.citizen_id != citizen_id
                {
                    return Err(WitError::NotPermitted(
                        "this order is another citizen's".into(),
                    ));
                }
                let order = payments.cancel(&order.order_id, Owner::App(app)).await?;
                Ok(to_wit(&order))
            })
        })
        .await
    }

    async fn refund_order(&mut self, request: wit::RefundRequest) -> Result<wit::Refund, WitError> {
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
                        return Err(WitError::NotPermitted(
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
    ) -> Result<Option<wit::Refund>, WitError> {
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
pub(super) fn wit_error(e: PaymentError) -> WitError {
    match e {
        PaymentError::RefundExceeds { refundable_fen } => WitError::RefundExceeds(refundable_fen),
        other => WitError::NotPermitted(other.to_string()),
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
        state: match order.state_at(now_ms()) {
            OrderState::Created => wit::OrderState::Created,
            OrderState::Paid => wit::OrderState::Paid,
            OrderState::Cancelled => wit::OrderState::Cancelled,
            OrderState::Expired => wit::OrderState::Expired,
            OrderState::PartiallyRefunded => wit::OrderState::PartiallyRefunded,
            OrderState::Refunded => wit::OrderState::Refunded,
        },
        created_at: order.created_at,
        paid_at: order.paid_at,
        expires_at: order.expires_at,
        pay_url: order.pay_url(),
    }
}

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
