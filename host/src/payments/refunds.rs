//! Refunds: a mini-app returns all or part of a paid order to the citizen.
//!
//! `out_request_no` is the idempotency key within the app (as Alipay's):
//! the same number with the same order and amount returns the same refund;
//! with anything else it is `conflict("out-request-no")`. The order's
//! refunded total never exceeds its amount. One sled transaction writes the
//! refund, the order's new state and refunded total (with time), the
//! balanced transfer department → clearing → citizen and the
//! `refund.succeeded` event; the group commit puts it on disk before
//! success is answered.

use serde::{Deserialize, Serialize};
use sled::Transactional;

use super::ledger::{self, Account, Transfer, TransferKind};
use super::orders::{OrderState, load, save};
use super::{Order, PaymentError, Payments, abort, codec, tx_error};
use crate::error::{ServiceError, ServiceResult};
use crate::events::{self, REFUND_SUCCEEDED};
use crate::store::{self, key, now_ms};

/// A refund as stored (`refunds` tree).
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
    pub fn refund(&self, app_id: &str, new: NewRefund) -> ServiceResult<(Refund, Order)> {
        validate(&new)?;
        let order_id = self
            .by_out_trade_no(app_id, &new.out_trade_no)?
            .ok_or(ServiceError::NotFound("order"))?
            .order_id;
        let now = now_ms();
        let index = key(&[app_id.as_bytes(), new.out_request_no.as_bytes()]);
        let refund = Refund {
            refund_id: format!("rfd_{}", uuid::Uuid::new_v4().simple()),
            order_id: order_id.clone(),
            out_trade_no: new.out_trade_no.clone(),
            out_request_no: new.out_request_no.clone(),
            amount_fen: new.amount_fen,
            reason: new.reason.clone(),
            refunded_at: now,
        };
        let trees = (
            &self.orders,
            &self.refunds,
            &self.refund_keys,
            &self.ledger.balances,
            &self.ledger.transfers,
            &self.outbox.tree,
        );
        let (refund, order, fresh) = trees
            .transaction(|(orders, refunds, keys, balances, transfers, outbox)| {
                if let Some(existing) = keys.get(&index)? {
                    let bytes = refunds.get(&existing)?.ok_or_else(|| {
                        codec(serde::de::Error::custom("refund index points nowhere"))
                    })?;
                    let existing: Refund = serde_json::from_slice(&bytes).map_err(codec)?;
                    if existing.order_id != order_id || existing.amount_fen != new.amount_fen {
                        return abort(ServiceError::Conflict {
                            field: "out-request-no",
                            reason: "this out_request_no was used for another order or amount"
                                .into(),
                        });
                    }
                    let order = load(orders, &order_id)?;
                    return Ok((existing, order, false));
                }
                let mut order = load(orders, &order_id)?;
                if !order.state.was_paid() {
                    return abort(ServiceError::Conflict {
                        field: "state",
                        reason: format!(
                            "the order is {}, not refundable",
                            order.state_at(now).name()
                        ),
                    });
                }
                let refundable = order.refundable_fen();
                if new.amount_fen > refundable {
                    return abort(PaymentError::RefundExceeds {
                        refundable_fen: refundable,
                    });
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
                ledger::post(balances, transfers, &transfer)?;
                save(orders, &order)?;
                let encoded = serde_json::to_vec(&refund).map_err(codec)?;
                refunds.insert(refund.refund_id.as_bytes(), encoded)?;
                keys.insert(index.as_slice(), refund.refund_id.as_bytes())?;
                events::stage(
                    outbox,
                    &order.app_id,
                    &order.citizen_id,
                    REFUND_SUCCEEDED,
                    &events::OrderEvent::new(REFUND_SUCCEEDED, &order, Some(&refund)),
                    now,
                )?;
                Ok((refund.clone(), order, true))
            })
            .map_err(tx_error)?;
        self.make_durable()?;
        if fresh {
            self.outbox.wake();
        }
        Ok((refund, order))
    }

    /// The app's refund with this `out_request_no`.
    pub fn refund_by_request_no(
        &self,
        app_id: &str,
        out_request_no: &str,
    ) -> ServiceResult<Option<Refund>> {
        match self
            .refund_keys
            .get(key(&[app_id.as_bytes(), out_request_no.as_bytes()]))?
        {
            Some(id) => Ok(store::get_json(&self.refunds, id)?),
            None => Ok(None),
        }
    }

    /// The refunds of an order, oldest first.
    pub fn refunds_of(&self, order: &Order) -> ServiceResult<Vec<Refund>> {
        let mut out = Vec::new();
        for id in &order.refund_ids {
            if let Some(r) = store::get_json(&self.refunds, id)? {
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
