//! Payment-specific errors, carried in [`ServiceError::Payment`].

use super::ServiceError;

/// Why a payment, PIN or refund operation was refused. Each is answered to
/// the citizen on the payment sheet (HTTP) or to the app (WIT), never as a
/// storage failure; nothing is written when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The citizen's funding account holds less than the order's amount.
    #[error("insufficient funds: balance {balance_fen} fen, amount {amount_fen} fen")]
    InsufficientFunds {
        /// Balance of the funding account, fen.
        balance_fen: i64,
        /// Amount asked for, fen.
        amount_fen: u64,
    },
    /// The citizen has not set a payment PIN yet.
    #[error("set a payment PIN first")]
    PinNotSet,
    /// A payment PIN is set already; it is set once.
    #[error("a payment PIN is already set")]
    PinAlreadySet,
    /// The PIN is wrong; `remaining_tries` more wrong PINs lock payments.
    #[error("wrong payment PIN; {remaining_tries} tries left")]
    WrongPin {
        /// Wrong PINs still allowed before the lock.
        remaining_tries: u32,
    },
    /// Too many wrong PINs: payments are locked for this long.
    #[error("payments are locked after too many wrong PINs; try again in {} s", retry_after_ms.div_ceil(1000))]
    PinLocked {
        /// How long until payments unlock, ms.
        retry_after_ms: u64,
    },
    /// The refund would take the order past its paid amount.
    #[error("refund exceeds what is refundable: {refundable_fen} fen left")]
    RefundExceeds {
        /// What can still be refunded on the order, fen.
        refundable_fen: u64,
    },
}

impl From<PaymentError> for ServiceError {
    fn from(e: PaymentError) -> Self {
        ServiceError::Payment(e)
    }
}
