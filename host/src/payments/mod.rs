//! Payments: orders that only the citizen confirms, a double-entry ledger,
//! payment PINs, refunds and daily settlement statements.
//!
//! Money is integer fen (`u64` on orders, `i64` for signed ledger
//! balances), currency CNY; times are UTC milliseconds since the Unix epoch.
//!
//! One concept per module:
//! - [`orders`]: the order record, its validation, creation (idempotent on
//!   (app id, `out_trade_no`)), cancellation and queries;
//! - [`ledger`]: accounts, balanced transfers, top-ups and `verify`;
//! - [`pin`]: the citizen's 6-digit payment PIN (argon2id, 5 wrong tries
//!   lock payments for 15 minutes);
//! - [`pay`]: the citizen's confirmation, `created` → `paid`, with its
//!   ledger transfer and `payment.succeeded` event in one sled transaction;
//! - [`refunds`]: full and partial refunds, idempotent on `out_request_no`;
//! - [`settlement`]: a department's daily statement (CSV);
//! - [`commit`]: group commit, so success is answered only after the
//!   write is on disk while concurrent payers share one `fsync`.
//!
//! ```text
//!            pay (citizen, PIN)            refund (part)          refund (rest)
//! created ─────────────────────▶ paid ───────────────▶ partially_refunded ──▶ refunded
//!    │  ╲                          ╲──────────────────────────────────────────▲
//!    │   ╲ past expires_at              refund (all)
//!    │    ▶ expired
//!    ▼ cancel (app or citizen)
//! cancelled
//! ```

pub mod commit;
pub mod error;
pub mod ledger;
pub mod orders;
pub mod pay;
pub mod pin;
pub mod refunds;
pub mod settlement;

pub use error::PaymentError;
pub use ledger::{Account, Ledger};
pub use orders::{NewOrder, Order, OrderState, StateChange};
pub use pin::{PaymentPins, PinVerified};
pub use refunds::{NewRefund, Refund};

use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::{ServiceError, ServiceResult};
use crate::events::Outbox;
use crate::store::{Store, trees};

/// The payment service: the order book, the ledger and refunds over one
/// store, sharing one group commit.
#[derive(Clone)]
pub struct Payments {
    pub(crate) orders: sled::Tree,
    pub(crate) keys: sled::Tree,
    pub(crate) by_citizen: sled::Tree,
    pub(crate) refunds: sled::Tree,
    pub(crate) refund_keys: sled::Tree,
    /// The ledger (balances and transfers).
    pub ledger: Ledger,
    pub(crate) outbox: Outbox,
    pub(crate) commit: Arc<commit::GroupCommit>,
}

impl Payments {
    /// Opens the payment trees; `outbox` receives `payment.succeeded` and
    /// `refund.succeeded` events in the same transactions as the changes.
    pub fn open(store: &Store, outbox: Outbox) -> ServiceResult<Self> {
        Ok(Self {
            orders: store.tree(trees::ORDERS)?,
            keys: store.tree(trees::ORDER_KEYS)?,
            by_citizen: store.tree(trees::CITIZEN_ORDERS)?,
            refunds: store.tree(trees::REFUNDS)?,
            refund_keys: store.tree(trees::REFUND_KEYS)?,
            ledger: Ledger::open(store)?,
            outbox,
            commit: Arc::new(commit::GroupCommit::new(store.clone())),
        })
    }

    /// Waits until every write made so far is on disk (shared with other
    /// callers waiting at the same time; see [`commit`]).
    pub fn make_durable(&self) -> ServiceResult<()> {
        self.commit.wait()
    }

    /// Flushes (`fsync`s) the group commit has run so far.
    pub fn flushes(&self) -> u64 {
        self.commit.flushes()
    }
}

/// Why a payment transaction stopped: a typed outcome, not a storage error.
#[derive(Debug)]
pub(crate) enum Abort {
    /// A domain error to hand to the caller.
    Service(ServiceError),
    /// A record failed to decode or encode.
    Codec(serde_json::Error),
}

pub(crate) type TxResult<T> = Result<T, ConflictableTransactionError<Abort>>;

pub(crate) fn abort<T>(e: impl Into<ServiceError>) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(Abort::Service(
        e.into(),
    )))
}

pub(crate) fn codec(e: serde_json::Error) -> ConflictableTransactionError<Abort> {
    ConflictableTransactionError::Abort(Abort::Codec(e))
}

pub(crate) fn tx_error(e: TransactionError<Abort>) -> ServiceError {
    match e {
        TransactionError::Abort(Abort::Service(e)) => e,
        TransactionError::Abort(Abort::Codec(e)) => ServiceError::Store(e.into()),
        TransactionError::Storage(e) => ServiceError::from(e),
    }
}

#[cfg(test)]
mod tests;
