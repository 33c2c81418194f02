//! Refunds: a mini-app returns all or part of a paid order to the citizen.
//!
//! `out_request_no` is the idempotency key within the app (as Alipay's):
//! the same number with the same order and amount returns the same refund;
//! with anything else it is `conflict("out-request-no")`. The order's
//! refunded total never exceeds its amount. One transaction writes the
//! refund, the order's new state and refunded total (with time), the
//! balanced transfer department → clearing → citizen and the
//! `refund.succeeded` event; [`Db::sync`](cityhost_store::Db::sync) puts
//! it on disk before success is answered.

use cityhost_store::{StoreError, now_ms};
use serde::{Deserialize, Serialize};

use super::ledger::{self, Account, Transfer, TransferKind};
use super::orders::{OrderState, load, save};
use super::tables::{REFUND_KEYS, REFUNDS};
use super::{Order, PaymentError, Payments};
use crate::error::{ServiceError, ServiceResult};
use crate::events::{self, REFUND_SUCCEEDED};

/// A refund as stored (`refunds` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Host refund id (`rfd_` + 32 hex).
    pub refund_id: String,
    /// The order refunded.
    pub order_id: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// The app's refund number (idempotency key within the app).
    pub out_request_no: String,
    /// Amount refunded, fen.
    pub amount_fen: u64,
    /// Why, shown to the citizen (at most 128 characters; may be empty).
    pub reason: String,
    /// When, UTC ms.
    pub refunded_at: u64,
}

/// What an app asks for.
#[derive(Debug, Clone)]
pub struct NewRefund {
    /// The order's `out_trade_no`.
    pub out_trade_no: String,
    /// 1-64 characters of ASCII letters, digits, `-`, `_`.
    pub out_request_no: String,
    /// Fen, > 0 and ≤ what is still refundable.
    pub amount_fen: u64,
    /// At most 128 printable characters.
    pub reason: String,
}

impl Payments {
    /// Refunds (part of) the app's paid order, durably. Errors:
    /// `invalid-argument` naming `out-request-no`, `amount-fen` or
    /// `reason`; `NotFound("order")` for an unknown `out_trade_no`;
    /// `conflict("state")` if the order was never paid;
    /// `conflict("out-request-no")` when the number was used for another
    /// order or amount; [`PaymentError::RefundExceeds`] with what is still
    /// refundable.
    pub async fn refund(&self, app_id: &str, new: NewRefund) -> ServiceResult<(Refund, Order)> {
        validate(&new)?;
        let order_id = self
            .by_out_trade_no(app_id, &new.out_trade_no)
            .await?
            .ok_or(ServiceError::NotFound("order"))?
            .order_id;
        let now = now_ms();
        let refund = Refund {
            refund_id: format!("rfd_{}", uuid::Uuid::new_v4().simple()),
            order_id: order_id.clone(),
            out_trade_no: new.out_trade_no.clone(),
            out_request_no: new.out_request_no.clone(),
            amount_fen: new.amount_fen,
            reason: new.reason.clone(),
            refunded_at: now,
        };
        let (refund, order_id, new) = (&refund, order_id.as_str(), &new);
        let (refund, order, fresh) = self
            .db
            .transact(|tx| async move {
                let index = (app_id, new.out_request_no.as_str());
                if let Some(existing_id) = tx.get(&REFUND_KEYS, index).await? {
                    let existing = tx.get(&REFUNDS, &existing_id).await?.ok_or_else(|| {
                        StoreError::Undecodable {
                            table: REFUND_KEYS.name(),
                            reason: format!("{existing_id} points to no refund"),
                        }
                    })?;
                    if existing.order_id != order_id || existing.amount_fen != new.amount_fen {
                        return Err(ServiceError::Conflict {
                            field: "out-request-no",
                            reason: "this out_request_no was used for another order or amount"
                                .into(),
                        });
                    }
                    let order = load(&tx, order_id).await?;
                    return Ok((existing, order, false));
                }
                let mut order = load(&tx, order_id).await?;
                if !order.state.was_paid() {
                    return Err(ServiceError::Conflict {
                        field: "state",
                        reason: format!(
                            "the order is {}, not refundable",
                            order.state_at(now).name()
                        ),
                    });
                }
                let refundable = order.refundable_fen();
                if new.amount_fen > refundable {
                    return Err(PaymentError::RefundExceeds {
                        refundable_fen: refundable,
                    }
                    .into());
                }
                order.refunded_fen += new.amount_fen;
                order.refund_ids.push(refund.refund_id.clone());
                let state = if order.refunded_fen == order.amount_fen {
                    OrderState::Refunded
                } else {
                    OrderState::PartiallyRefunded
                };
                order.enter(state, now);
                let transfer = Transfer::through_clearing(
                    refund.refund_id.clone(),
                    TransferKind::Refund,
                    now,
                    Some((&order.order_id, &order.out_trade_no)),
                    Account::Merchant(order.department.clone()),
                    Account::Citizen(order.citizen_id.clone()),
                    new.amount_fen,
                );
                ledger::post(&tx, &transfer).await?;
                save(&tx, &order).await?;
                tx.put(&REFUNDS, &refund.refund_id, refund).await?;
                tx.put(&REFUND_KEYS, index, &refund.refund_id).await?;
                events::stage(
                    &tx,
                    &order.app_id,
                    &order.citizen_id,
                    REFUND_SUCCEEDED,
                    &super::order_event::OrderEvent::new(REFUND_SUCCEEDED, &order, Some(refund)),
                    now,
                )
                .await?;
                Ok((refund.clone(), order, true))
            })
            .await?;
        self.db.sync().await?;
        if fresh {
            self.outbox.wake();
        }
        Ok((refund, order))
    }

    /// The app's refund with this `out_request_no`.
    pub async fn refund_by_request_no(
        &self,
        app_id: &str,
        out_request_no: &str,
    ) -> ServiceResult<Option<Refund>> {
        match self.db.get(&REFUND_KEYS, (app_id, out_request_no)).await? {
            Some(id) => Ok(self.db.get(&REFUNDS, &id).await?),
            None => Ok(None),
        }
    }

    /// The refunds of an order, oldest first.
    pub async fn refunds_of(&self, order: &Order) -> ServiceResult<Vec<Refund>> {
        let mut out = Vec::with_capacity(order.refund_ids.len());
        for id in &order.refund_ids {
            if let Some(r) = self.db.get(&REFUNDS, id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

fn validate(new: &NewRefund) -> ServiceResult<()> {
    super::orders::validate_number("out-request-no", &new.out_request_no)?;
    if new.amount_fen == 0 {
        return Err(ServiceError::invalid("amount-fen", "use at least 1 fen"));
    }
    if new.reason.chars().count() > 128 || new.reason.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "reason",
            "use at most 128 printable characters",
        ));
    }
    Ok(())
}
