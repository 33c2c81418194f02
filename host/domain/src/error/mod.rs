//! The domain services' one error type, and the areas' own refusals it
//! carries ([`PaymentError`], [`Unsealable`]). It is mapped once to HTTP
//! (`http::error`) and once to the WIT `error` variant (`capabilities`).
//! Every domain module depends on this one; it depends on none of them.

mod payment;

pub use payment::PaymentError;

/// A sealed value that does not open: wrong key, wrong record, or damaged
/// (`crate::identity::sealed`).
#[derive(Debug, thiserror::Error)]
#[error("a sealed identity record does not open (wrong key or damaged record)")]
pub struct Unsealable;

/// Why a domain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An argument is malformed or out of range.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The offending field, as the caller named it (`phone`, `amount-fen`).
        field: &'static str,
        /// What is wrong, for a person.
        reason: String,
    },
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The key was used before with other values, or the state forbids the
    /// change.
    #[error("{field}: {reason}")]
    Conflict {
        /// The key or field in conflict (`out-trade-no`, `phone`).
        field: &'static str,
        /// What is in conflict.
        reason: String,
    },
    /// No valid session, or wrong phone number or password.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again after the given time.
    #[error("too many attempts; try again in {} s", retry_after_ms.div_ceil(1000))]
    RateLimited {
        /// How long to wait, ms.
        retry_after_ms: u64,
    },
    /// A quota is used up; names the quota.
    #[error("quota `{0}` exceeded")]
    QuotaExceeded(&'static str),
    /// A part the operation needs cannot serve now (the identity authority,
    /// the ID-token signing key); the message says which, never personal
    /// data.
    #[error("{0}")]
    Unavailable(String),
    /// The state seam ([`cityhost_store`]) failed: the backend, conflicts
    /// that persisted, a record that no longer decodes.
    #[error("store: {0}")]
    Store(cityhost_store::StoreError),
    /// A sealed identity record (an identity number, a registry name) does
    /// not open with the host key: the key file was replaced or the record
    /// damaged. Answered like a store failure.
    #[error(transparent)]
    Sealed(Unsealable),
    /// A payment, PIN or refund was refused (insufficient funds, wrong PIN,
    /// over-refund, ...).
    #[error(transparent)]
    Payment(PaymentError),
}

// Not `#[from]`: the message already holds the cause, and `{:#}` would
// print it twice.
impl From<cityhost_store::StoreError> for ServiceError {
    fn from(e: cityhost_store::StoreError) -> Self {
        ServiceError::Store(e)
    }
}

impl ServiceError {
    /// Shorthand for [`ServiceError::InvalidArgument`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ServiceError::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }
}

/// Result of a domain operation.
pub type ServiceResult<T> = Result<T, ServiceError>;
