//! Orders: the record, its validation, creation (idempotent on (app id,
//! `out_trade_no`)), cancellation and the citizen's list.
//!
//! Tables (see `tables`): `orders`, `order_keys` and `citizen_orders`,
//! written together in one transaction.

use cityhost_store::{Scan, Tx, now_ms};
use serde::{Deserialize, Serialize};

use super::Payments;
use super::tables::{CITIZEN_ORDERS, ORDER_KEYS, ORDERS};
use crate::error::{ServiceError, ServiceResult};

/// How long a created order can be paid unless the app says otherwise: 15
/// minutes, in ms.
pub const ORDER_TTL_MS: u64 = 15 * 60 * 1000;
/// Shortest expiry an app may ask for: 1 minute, in ms.
pub const MIN_TTL_MS: u64 = 60 * 1000;
/// Longest expiry an app may ask for: 7 days, in ms.
pub const MAX_TTL_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// An order's state (see the diagram in [`crate::payments`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Waiting for the citizen's confirmation.
    Created,
    /// Confirmed by the citizen; the money is with the department.
    Paid,
    /// Paid, and part of the amount refunded.
    PartiallyRefunded,
    /// Paid, and the whole amount refunded.
    Refunded,
    /// Cancelled before payment (by the app or the citizen).
    Cancelled,
    /// Not paid before `expires_at`.
    Expired,
}

impl OrderState {
    /// Whether money was taken for the order (paid, partly or fully
    /// refunded).
    pub fn was_paid(self) -> bool {
        matches!(
            self,
            OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded
        )
    }

    /// The state's name as stored and sent (`partially_refunded`).
    pub fn name(self) -> &'static str {
        match self {
            OrderState::Created => "created",
            OrderState::Paid => "paid",
            OrderState::PartiallyRefunded => "partially_refunded",
            OrderState::Refunded => "refunded",
            OrderState::Cancelled => "cancelled",
            OrderState::Expired => "expired",
        }
    }
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The state entered.
    pub state: OrderState,
    /// When, UTC ms.
    pub at: u64,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Host order id (`ord_` + 32 hex).
    pub order_id: String,
    /// The app that created it.
    pub app_id: String,
    /// The department that receives the money: its Unified Social Credit
    /// Code (GB 32100-2015, the manifest's `[department] uscc`), which
    /// names its merchant account `merchant:{uscc}`.
    #[serde(default)]
    pub department: String,
    /// The paying citizen (internal id; never given to apps).
    pub citizen_id: String,
    /// The app's order number (idempotency key within the app).
    pub out_trade_no: String,
    /// Amount, fen.
    pub amount_fen: u64,
    /// What is paid for.
    pub subject: String,
    /// App path the citizen returns to after paying.
    pub return_path: String,
    /// Current state (as last written; see [`Order::state_at`]).
    pub state: OrderState,
    /// Creation time, UTC ms.
    pub created_at: u64,
    /// Payment time, UTC ms.
    pub paid_at: Option<u64>,
    /// Last moment the order can be paid, UTC ms.
    pub expires_at: u64,
    /// Refunded so far, fen (≤ `amount_fen`).
    #[serde(default)]
    pub refunded_fen: u64,
    /// Ids of the order's refunds, oldest first.
    #[serde(default)]
    pub refund_ids: Vec<String>,
    /// Every transition after creation, in order.
    #[serde(default)]
    pub history: Vec<StateChange>,
}

impl Order {
    /// The host page where the citizen confirms this order.
    pub fn pay_url(&self) -> String {
        format!("/#/pay/{}", self.order_id)
    }

    /// The state as seen at `now` (a created order past its expiry reads as
    /// expired even before anything rewrites it).
    pub fn state_at(&self, now: u64) -> OrderState {
        if self.state == OrderState::Created && now > self.expires_at {
            OrderState::Expired
        } else {
            self.state
        }
    }

    /// What can still be refunded, fen.
    pub fn refundable_fen(&self) -> u64 {
        if self.state.was_paid() {
            self.amount_fen - self.refunded_fen
        } else {
            0
        }
    }

    /// Moves to `state` at `at` and records it.
    pub(crate) fn enter(&mut self, state: OrderState, at: u64) {
        self.state = state;
        self.history.push(StateChange { state, at });
    }

    /// Writes the expiry if the order has expired unnoticed; returns
    /// whether it changed.
    pub(crate) fn settle_expiry(&mut self, now: u64) -> bool {
        if self.state == OrderState::Created && now > self.expires_at {
            let at = self.expires_at;
            self.enter(OrderState::Expired, at);
            true
        } else {
            false
        }
    }
}

/// What an app asks for.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// 1-64 characters of ASCII letters, digits, `-`, `_`.
    pub out_trade_no: String,
    /// Fen, > 0 and ≤ the app's cap.
    pub amount_fen: u64,
    /// 1-128 characters.
    pub subject: String,
    /// App path starting with `/`, at most 512 bytes.
    pub return_path: String,
    /// How long the order can be paid, ms ([`MIN_TTL_MS`]..=[`MAX_TTL_MS`];
    /// default [`ORDER_TTL_MS`]).
    pub expires_in_ms: Option<u64>,
}

/// Who the order is for and who is paid: the creating app's side.
#[derive(Debug, Clone, Copy)]
pub struct Payee<'a> {
    /// The app id.
    pub app_id: &'a str,
    /// The app's department by its Unified Social Credit Code (the
    /// manifest's `[department] uscc`), owner of the merchant account.
    pub department: &'a str,
    /// Largest order the app may create, fen (manifest `max-order-fen`).
    pub max_order_fen: u64,
}

/// Reads an order inside a transaction. Errors: `NotFound("order")`.
pub(crate) async fn load(tx: &Tx, order_id: &str) -> ServiceResult<Order> {
    tx.get(&ORDERS, order_id)
        .await?
        .ok_or(ServiceError::NotFound("order"))
}

/// Writes an order inside a transaction.
pub(crate) async fn save(tx: &Tx, order: &Order) -> ServiceResult<()> {
    Ok(tx.put(&ORDERS, &order.order_id, order).await?)
}

impl Payments {
    /// Creates an order for `citizen_id`, or returns the existing one for
    /// the same (app, `out_trade_no`) when citizen, amount and subject
    /// match. Errors: `invalid-argument` naming `out-trade-no`,
    /// `amount-fen`, `subject`, `return-path` or `expires-in-ms`;
    /// `conflict("out-trade-no")` when the number was used with other
    /// fields.
    pub async fn create(
        &self,
        payee: Payee<'_>,
        citizen_id: &str,
        new: NewOrder,
    ) -> ServiceResult<Order> {
        validate(&new, payee.max_order_fen)?;
        let now = now_ms();
        let order = Order {
            order_id: format!("ord_{}", uuid::Uuid::new_v4().simple()),
            app_id: payee.app_id.to_string(),
            department: payee.department.to_string(),
            citizen_id: citizen_id.to_string(),
            out_trade_no: new.out_trade_no,
            amount_fen: new.amount_fen,
            subject: new.subject,
            return_path: new.return_path,
            state: OrderState::Created,
            created_at: now,
            paid_at: None,
            expires_at: now + new.expires_in_ms.unwrap_or(ORDER_TTL_MS),
            refunded_fen: 0,
            refund_ids: Vec::new(),
            history: Vec::new(),
        };
        let order = &order;
        let existing = self
            .db
            .transact(|tx| async move {
                let index = (order.app_id.as_str(), order.out_trade_no.as_str());
                if let Some(existing_id) = tx.get(&ORDER_KEYS, index).await? {
                    return load(&tx, &existing_id).await.map(Some);
                }
                tx.put(&ORDER_KEYS, index, &order.order_id).await?;
                save(&tx, order).await?;
                let by_citizen = (
                    order.citizen_id.as_str(),
                    order.created_at,
                    order.order_id.as_str(),
                );
                tx.put(&CITIZEN_ORDERS, by_citizen, &()).await?;
                Ok::<_, ServiceError>(None)
            })
            .await?;
        match existing {
            None => Ok(order.clone()),
            Some(existing) => {
                let same = existing.citizen_id == order.citizen_id
                    && existing.amount_fen == order.amount_fen
                    && existing.subject == order.subject;
                if same {
                    Ok(existing)
                } else {
                    Err(ServiceError::Conflict {
                        field: "out-trade-no",
                        reason: "this out_trade_no was used with other fields".into(),
                    })
                }
            }
        }
    }

    /// The order with this host id.
    pub async fn get(&self, order_id: &str) -> ServiceResult<Option<Order>> {
        Ok(self.db.get(&ORDERS, order_id).await?)
    }

    /// The app's order with this `out_trade_no`.
    pub async fn by_out_trade_no(
        &self,
        app_id: &str,
        out_trade_no: &str,
    ) -> ServiceResult<Option<Order>> {
        match self.db.get(&ORDER_KEYS, (app_id, out_trade_no)).await? {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    /// Cancels a created order: `created` → `cancelled`, atomically and
    /// durably, time recorded. `owner` says who asks: the app (by its
    /// id) or the citizen (by internal id). Cancelling a cancelled order
    /// returns it unchanged. Errors: `NotFound` if the order is not the
    /// caller's; `conflict("state")` if it is paid or expired.
    pub async fn cancel(&self, order_id: &str, owner: Owner<'_>) -> ServiceResult<Order> {
        let now = now_ms();
        let order = self
            .db
            .transact(|tx| async move {
                let mut order = load(&tx, order_id).await?;
                if !owner.owns(&order) {
                    return Err(ServiceError::NotFound("order"));
                }
                if order.settle_expiry(now) {
                    save(&tx, &order).await?;
                    return Ok(order);
                }
                if order.state == OrderState::Created {
                    order.enter(OrderState::Cancelled, now);
                    save(&tx, &order).await?;
                }
                Ok(order)
            })
            .await?;
        self.db.sync().await?;
        match order.state {
            OrderState::Cancelled => Ok(order),
            state => Err(ServiceError::Conflict {
                field: "state",
                reason: format!("the order is {}, not cancellable", state.name()),
            }),
        }
    }

    /// The citizen's orders, newest first, at most `limit`.
    pub async fn for_citizen(&self, citizen_id: &str, limit: usize) -> ServiceResult<Vec<Order>> {
        let index = self
            .db
            .scan(
                &CITIZEN_ORDERS,
                Scan::prefix((citizen_id,)).rev().limit(limit),
            )
            .await?;
        let mut out = Vec::with_capacity(index.len());
        for ((_, _, order_id), ()) in index {
            if let Some(order) = self.get(&order_id).await? {
                out.push(order);
            }
        }
        Ok(out)
    }
}

/// Who acts on an order.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// The app that created it, by app id.
    App(&'a str),
    /// The citizen it is for, by internal id.
    Citizen(&'a str),
}

impl Owner<'_> {
    fn owns(&self, order: &Order) -> bool {
        match self {
            Owner::App(app) => order.app_id == *app,
            Owner::Citizen(c) => order.citizen_id == *c,
        }
    }
}

/// Checks an app's order or refund number (`out_trade_no`,
/// `out_request_no`): 1-64 characters of ASCII letters, digits, `-` and `_`
/// (as Alipay's). Errors: `invalid-argument(field)`.
pub(crate) fn validate_number(field: &'static str, no: &str) -> ServiceResult<()> {
    if no.is_empty()
        || no.len() > 64
        || !no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServiceError::invalid(
            field,
            "use 1-64 characters of letters, digits, '-' and '_'",
        ));
    }
    Ok(())
}

fn validate(new: &NewOrder, max_order_fen: u64) -> ServiceResult<()> {
    validate_number("out-trade-no", &new.out_trade_no)?;
    if new.amount_fen == 0 || new.amount_fen > max_order_fen {
        return Err(ServiceError::invalid(
            "amount-fen",
            format!("use 1 to {max_order_fen} fen"),
        ));
    }
    let subject_len = new.subject.chars().count();
    if subject_len == 0 || subject_len > 128 || new.subject.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "subject",
            "use 1-128 printable characters",
        ));
    }
    if let Some(ttl) = new.expires_in_ms
        && !(MIN_TTL_MS..=MAX_TTL_MS).contains(&ttl)
    {
        return Err(ServiceError::invalid(
            "expires-in-ms",
            format!("use {MIN_TTL_MS} to {MAX_TTL_MS} ms"),
        ));
    }
    if !new.return_path.starts_with('/')
        || new.return_path.len() > 512
        || new.return_path.starts_with("//")
    {
        return Err(ServiceError::invalid(
            "return-path",
            "use an app path starting with a single '/'",
        ));
    }
    Ok(())
}
