//! The citizen's confirmation: `created` → `paid`.
//!
//! One transaction over the order, the ledger and the event outbox writes
//! the state change (with its time), the balanced transfer citizen →
//! clearing → department, and the `payment.succeeded` event; then
//! [`Db::sync`](cityhost_store::Db::sync) puts it on disk before success is
//! answered. Insufficient funds aborts the transaction: nothing is written.

use cityhost_store::now_ms;

use super::ledger::{self, Account, Transfer, TransferKind};
use super::orders::{Order, OrderState, load, save};
use super::{Payments, PinVerified};
use crate::error::{ServiceError, ServiceResult};
use crate::events::{self, PAYMENT_SUCCEEDED};

impl Payments {
    /// Pays the order from the citizen's funding account, durably. `pin`
    /// proves the citizen entered their PIN (see
    /// [`PaymentPins::verify`](super::PaymentPins::verify)). Errors:
    /// `NotFound` if the order is not this citizen's; `conflict("state")`
    /// if it is not payable (paid, cancelled or expired — an expiry noticed
    /// here is recorded); [`PaymentError::InsufficientFunds`](super::PaymentError).
    pub async fn pay(&self, pin: &PinVerified, order_id: &str) -> ServiceResult<Order> {
        let citizen_id = pin.citizen_id.as_str();
        let now = now_ms();
        let (order, paid_now) = self
            .db
            .transact(|tx| async move {
                let mut order = load(&tx, order_id).await?;
                if order.citizen_id != citizen_id {
                    return Err(ServiceError::NotFound("order"));
                }
                if order.settle_expiry(now) {
                    save(&tx, &order).await?;
                    return Ok((order, false));
                }
                if order.state != OrderState::Created {
                    return Ok((order, false));
                }
                order.enter(OrderState::Paid, now);
                order.paid_at = Some(now);
                let transfer = Transfer::through_clearing(
                    order.order_id.clone(),
                    TransferKind::Payment,
                    now,
                    Some((&order.order_id, &order.out_trade_no)),
                    Account::Citizen(citizen_id.to_string()),
                    Account::Merchant(order.department.clone()),
                    order.amount_fen,
                );
                ledger::post(&tx, &transfer).await?;
                save(&tx, &order).await?;
                events::stage(
                    &tx,
                    &order.app_id,
                    &order.citizen_id,
                    PAYMENT_SUCCEEDED,
                    &super::order_event::OrderEvent::new(PAYMENT_SUCCEEDED, &order, None),
                    now,
                )
                .await?;
                Ok((order, true))
            })
            .await?;
        // Durable before anyone hears of it (also an expiry just recorded).
        self.db.sync().await?;
        if paid_now {
            self.outbox.wake();
            Ok(order)
        } else {
            Err(ServiceError::Conflict {
                field: "state",
                reason: format!("the order is {}, not payable", order.state.name()),
            })
        }
    }
}
