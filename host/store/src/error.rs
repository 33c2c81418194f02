//! The seam's one error type.

/// Why a store operation failed. Domain code wraps it in its own error type
/// (the host's `ServiceError`); it never names the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// I/O or engine failure; the message comes from the backend.
    #[error("{0}")]
    Backend(String),
    /// A concurrent transaction won. [`Db::transact`](crate::Db::transact)
    /// runs the transaction again (up to 8 attempts) before returning this.
    #[error("a concurrent transaction changed the same records; try again")]
    Conflict,
    /// Stored bytes no longer decode (written by an incompatible version,
    /// or damaged).
    #[error("undecodable record in table `{table}`: {reason}")]
    Undecodable {
        /// The table the record was read from.
        table: &'static str,
        /// What did not decode.
        reason: String,
    },
    /// A value failed to serialise.
    #[error("a value failed to encode: {0}")]
    Encode(String),
    /// A [`Tx`](crate::Tx) was used after its transaction ended (committed
    /// or rolled back).
    #[error("a transaction handle was used after its transaction ended")]
    Finished,
}
