//! Orders: a mini-app creates one, only the citizen confirms it (in the
//! host's payment sheet), and the app learns the outcome by event or query.
//!
//! Money is integer fen (`u64`), currency CNY. The key (app id,
//! `out_trade_no`) is the idempotency key. State changes are atomic (sled
//! transactions over the `orders`, `order_keys` and `citizen_orders` trees).

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, StoreError, key, now_ms, trees};

/// How long a created order can be paid: 15 minutes, in ms.
pub const ORDER_TTL_MS: u64 = 15 * 60 * 1000;

/// An order's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Waiting for the citizen's confirmation.
    Created,
    /// Confirmed by the citizen.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Not paid within [`ORDER_TTL_MS`].
    Expired,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Host order id (`ord_` + 32 hex).
    pub order_id: String,
    /// The app that created it.
    pub app_id: String,
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
    /// Current state.
    pub state: OrderState,
    /// Creation time, UTC ms.
    pub created_at: u64,
    /// Payment time, UTC ms.
    pub paid_at: Option<u64>,
    /// Last moment the order can be paid, UTC ms.
    pub expires_at: u64,
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
}

/// The order book.
#[derive(Clone)]
pub struct Payments {
    orders: sled::Tree,
    keys: sled::Tree,
    by_citizen: sled::Tree,
}

impl Payments {
    /// Opens the order trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            orders: store.tree(trees::ORDERS)?,
            keys: store.tree(trees::ORDER_KEYS)?,
            by_citizen: store.tree(trees::CITIZEN_ORDERS)?,
        })
    }

    /// Creates an order, or returns the existing one for the same
    /// `out_trade_no` when every field matches. Errors: `invalid-argument`
    /// naming `out-trade-no`, `amount-fen`, `subject` or `return-path`;
    /// `conflict("out-trade-no")` when the number was used with other fields.
    pub fn create(
        &self,
        app_id: &str,
        citizen_id: &str,
        max_order_fen: u64,
        new: NewOrder,
    ) -> ServiceResult<Order> {
        validate(&new, max_order_fen)?;
        let now = now_ms();
        let order = Order {
            order_id: format!("ord_{}", uuid::Uuid::new_v4().simple()),
            app_id: app_id.to_string(),
            citizen_id: citizen_id.to_string(),
            out_trade_no: new.out_trade_no,
            amount_fen: new.amount_fen,
            subject: new.subject,
            return_path: new.return_path,
            state: OrderState::Created,
            created_at: now,
            paid_at: None,
            expires_at: now + ORDER_TTL_MS,
        };
        let index = key(&[app_id.as_bytes(), order.out_trade_no.as_bytes()]);
        let encoded = serde_json::to_vec(&order).map_err(StoreError::from)?;
        let citizen_index = key(&[
            citizen_id.as_bytes(),
            &order.created_at.to_be_bytes(),
            order.order_id.as_bytes(),
        ]);
        let trees = (&self.orders, &self.keys, &self.by_citizen);
        let result = trees.transaction(|(orders, keys, by_citizen)| {
            if let Some(existing_id) = keys.get(&index)? {
                let existing = orders
                    .get(&existing_id)?
                    .ok_or_else(|| abort("order index points nowhere"))?;
                return Ok(Err(existing));
            }
            keys.insert(index.as_slice(), order.order_id.as_bytes())?;
            orders.insert(order.order_id.as_bytes(), encoded.as_slice())?;
            by_citizen.insert(citizen_index.as_slice(), order.order_id.as_bytes())?;
            Ok(Ok(()))
        });
        match result.map_err(tx_error)? {
            Ok(()) => Ok(order),
            Err(existing) => {
                let existing: Order =
                    serde_json::from_slice(&existing).map_err(StoreError::from)?;
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
    pub fn get(&self, order_id: &str) -> ServiceResult<Option<Order>> {
        Ok(store::get_json(&self.orders, order_id)?)
    }

    /// The app's order with this `out_trade_no`.
    pub fn by_out_trade_no(
        &self,
        app_id: &str,
        out_trade_no: &str,
    ) -> ServiceResult<Option<Order>> {
        match self
            .keys
            .get(key(&[app_id.as_bytes(), out_trade_no.as_bytes()]))?
        {
            Some(id) => self.get(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// The citizen's confirmation: `created` → `paid`, atomically. Errors:
    /// `NotFound` if the order is not the citizen's; `conflict("state")` if
    /// it is no longer payable (paid, cancelled or expired).
    pub fn confirm(&self, citizen_id: &str, order_id: &str) -> ServiceResult<Order> {
        let now = now_ms();
        let result = self.orders.transaction(|orders| {
            let bytes = orders.get(order_id)?.ok_or_else(|| abort("missing"))?;
            let mut order: Order =
                serde_json::from_slice(&bytes).map_err(|_| abort("undecodable order"))?;
            if order.citizen_id != citizen_id {
                return Err(abort("missing"));
            }
            let state = order.state_at(now);
            if state != OrderState::Created {
                if state == OrderState::Expired && order.state != state {
                    order.state = state;
                    let encoded = serde_json::to_vec(&order).map_err(|_| abort("encode"))?;
                    orders.insert(order_id.as_bytes(), encoded)?;
                }
                return Ok(Err(state));
            }
            order.state = OrderState::Paid;
            order.paid_at = Some(now);
            let encoded = serde_json::to_vec(&order).map_err(|_| abort("encode"))?;
            orders.insert(order_id.as_bytes(), encoded)?;
            Ok(Ok(order))
        });
        match result {
            Ok(Ok(order)) => Ok(order),
            Ok(Err(state)) => Err(ServiceError::Conflict {
                field: "state",
                reason: format!("the order is {state:?}, not payable").to_lowercase(),
            }),
            Err(TransactionError::Abort("missing")) => Err(ServiceError::NotFound("order")),
            Err(e) => Err(tx_error(e)),
        }
    }

    /// The citizen's orders, newest first, at most `limit`.
    pub fn for_citizen(&self, citizen_id: &str, limit: usize) -> ServiceResult<Vec<Order>> {
        let mut out = Vec::new();
        for id in self
            .by_citizen
            .scan_prefix(key(&[citizen_id.as_bytes(), b""]))
            .values()
            .rev()
            .take(limit)
        {
            if let Some(order) = self.get(&String::from_utf8_lossy(&id?))? {
                out.push(order);
            }
        }
        Ok(out)
    }
}

fn validate(new: &NewOrder, max_order_fen: u64) -> ServiceResult<()> {
    let otn = &new.out_trade_no;
    if otn.is_empty()
        || otn.len() > 64
        || !otn
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServiceError::invalid(
            "out-trade-no",
            "use 1-64 characters of letters, digits, '-' and '_'",
        ));
    }
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

fn abort(reason: &'static str) -> ConflictableTransactionError<&'static str> {
    ConflictableTransactionError::Abort(reason)
}

fn tx_error(e: TransactionError<&'static str>) -> ServiceError {
    match e {
        TransactionError::Abort(reason) => ServiceError::Forbidden(reason.to_string()),
        TransactionError::Storage(e) => ServiceError::from(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(otn: &str, amount: u64) -> NewOrder {
        NewOrder {
            out_trade_no: otn.into(),
            amount_fen: amount,
            subject: "2026年10月水费".into(),
            return_path: "/bills".into(),
        }
    }

    #[test]
    fn idempotent_create_conflict_and_confirm_once() {
        let dir = tempfile::tempdir().unwrap();
        let payments = Payments::open(&Store::open(dir.path()).unwrap()).unwrap();
        let a = payments
            .create("app", "c1", 100_000, new("bill-1", 3210))
            .unwrap();
        assert_eq!(
            a,
            payments
                .create("app", "c1", 100_000, new("bill-1", 3210))
                .unwrap()
        );
        assert!(matches!(
            payments.create("app", "c1", 100_000, new("bill-1", 3211)),
            Err(ServiceError::Conflict {
                field: "out-trade-no",
                ..
            })
        ));
        // The same number in another app is another order.
        assert_ne!(
            a.order_id,
            payments
                .create("other", "c1", 100_000, new("bill-1", 5))
                .unwrap()
                .order_id
        );
        assert!(matches!(
            payments.confirm("c2", &a.order_id),
            Err(ServiceError::NotFound(_))
        ));
        let listed = payments.for_citizen("c1", 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].created_at >= listed[1].created_at);
        assert!(payments.for_citizen("c2", 10).unwrap().is_empty());
        let paid = payments.confirm("c1", &a.order_id).unwrap();
        assert_eq!(paid.state, OrderState::Paid);
        assert!(matches!(
            payments.confirm("c1", &a.order_id),
            Err(ServiceError::Conflict { field: "state", .. })
        ));
    }

    #[test]
    fn names_the_invalid_field() {
        let dir = tempfile::tempdir().unwrap();
        let payments = Payments::open(&Store::open(dir.path()).unwrap()).unwrap();
        let field = |n: NewOrder| match payments.create("app", "c1", 1000, n) {
            Err(ServiceError::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(new("", 1)), "out-trade-no");
        assert_eq!(field(new("a b", 1)), "out-trade-no");
        assert_eq!(field(new("ok", 0)), "amount-fen");
        assert_eq!(field(new("ok", 1001)), "amount-fen");
        let mut n = new("ok", 1);
        n.return_path = "https://evil.example".into();
        assert_eq!(field(n), "return-path");
    }
}
