//! `cityhost:miniapp/payment`: create and query orders. There is no call
//! that pays: only the citizen confirms, in the host's payment sheet.

use super::RequestState;
use crate::manifest::Permission;
use crate::payments::{NewOrder, Order, OrderState};
use crate::runtime::bindings::WitError;
use crate::runtime::bindings::cityhost::miniapp::payment::{self as wit, Host};
use crate::store::now_ms;

/// Largest order when the manifest sets no `max-order-fen`: ¥10,000.
pub(crate) const DEFAULT_MAX_ORDER_FEN: u64 = 1_000_000;

impl Host for RequestState {
    fn create_order(&mut self, request: wit::OrderRequest) -> Result<wit::Order, WitError> {
        self.call(Permission::Payment, "payment.create-order", |s| {
            let citizen_id = s.citizen()?;
            let max = s
                .ctx
                .manifest
                .limits
                .max_order_fen
                .unwrap_or(DEFAULT_MAX_ORDER_FEN);
            let order = s.services.payments.create(
                &s.ctx.manifest.id,
                &citizen_id,
                max,
                NewOrder {
                    out_trade_no: request.out_trade_no,
                    amount_fen: request.amount_fen,
                    subject: request.subject,
                    return_path: request.return_path,
                },
            )?;
            Ok(to_wit(&order))
        })
    }

    fn query_order(&mut self, out_trade_no: String) -> Result<Option<wit::Order>, WitError> {
        self.call(Permission::Payment, "payment.query-order", |s| {
            let order = s
                .services
                .payments
                .by_out_trade_no(&s.ctx.manifest.id, &out_trade_no)?;
            Ok(order.as_ref().map(to_wit))
        })
    }
}

/// The WIT view of an order (no citizen id).
fn to_wit(order: &Order) -> wit::Order {
    wit::Order {
        order_id: order.order_id.clone(),
        out_trade_no: order.out_trade_no.clone(),
        amount_fen: order.amount_fen,
        subject: order.subject.clone(),
        state: match order.state_at(now_ms()) {
            OrderState::Created => wit::OrderState::Created,
            OrderState::Paid => wit::OrderState::Paid,
            OrderState::Cancelled => wit::OrderState::Cancelled,
            OrderState::Expired => wit::OrderState::Expired,
        },
        created_at: order.created_at,
        paid_at: order.paid_at,
        pay_url: order.pay_url(),
    }
}
