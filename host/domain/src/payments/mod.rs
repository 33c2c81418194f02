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
//!   ledger transfer and `payment.succeeded` event in one transaction;
//! - [`refunds`]: full and partial refunds, idempotent on `out_request_no`;
//! - [`settlement`]: a department's daily statement (CSV);
//! - `tables`: where all of it is stored.
//!
//! A change is answered only once it is on disk: each one is a single
//! transaction followed by [`Db::sync`], which concurrent payers share (group
//! commit), so N payers at once cost far fewer than N `fsync`s.
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

pub mod ledger;
pub mod order_event;
pub mod orders;
pub mod pay;
pub mod pin;
pub mod refunds;
pub mod settlement;
pub(crate) mod tables;

pub use crate::error::PaymentError;
pub use ledger::{Account, Ledger};
pub use orders::{NewOrder, Order, OrderState, StateChange};
pub use pin::{PaymentPins, PinVerified};
pub use refunds::{NewRefund, Refund};

use cityhost_store::Db;

use crate::events::Outbox;

/// The payment service: the order book, the ledger and refunds over one
/// database. Cheap to clone.
#[derive(Clone)]
pub struct Payments {
    pub(crate) db: Db,
    /// The ledger (balances and transfers).
    pub ledger: Ledger,
    pub(crate) outbox: Outbox,
}

impl Payments {
    /// The payment service over `db`; `outbox` receives `payment.succeeded`
    /// and `refund.succeeded` events in the same transactions as the
    /// changes.
    pub fn new(db: Db, outbox: Outbox) -> Self {
        Self {
            ledger: Ledger::new(db.clone()),
            db,
            outbox,
        }
    }
}

#[cfg(test)]
mod tests;
