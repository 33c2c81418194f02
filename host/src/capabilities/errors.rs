//! The capability layer's errors: [`CapabilityError`], what a host function
//! fails with whatever the contract version, mapped once from the domain's
//! errors; its audit outcome; and the fallback for a case an interface
//! does not have.

use super::payment;
use crate::error::ServiceError;

/// Why a capability call failed, on the host side. Each contract version
/// turns it into its own WIT type: `cityhost:miniapp@0.2.0` into the
/// calling interface's `error` variant (each unit's `convert_error`),
/// 0.1.0 into the shared `types.error` ([`super::v0_1`]). The cases are
/// the union of the interfaces' cases, with the same names and payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapabilityError {
    /// The manifest does not declare the capability, or the call needs a
    /// signed-in citizen and there is none; says which.
    NotPermitted(String),
    /// The citizen has not granted the scope named here.
    ConsentRequired(String),
    /// An argument is malformed or out of range; names the field.
    InvalidArgument(String),
    /// A per-app quota is used up; names it.
    QuotaExceeded(String),
    /// An idempotency key was reused with other fields, or a state is
    /// wrong; names the key or `state`.
    Conflict(String),
    /// The host could not serve the call now.
    Unavailable(String),
    /// A refund asked for more than the order has left: what is left, fen.
    RefundExceeds(u64),
    /// No live subscription to the template named here.
    NotSubscribed(String),
    /// A rate limit is reached: ms until the next attempt can succeed.
    RateLimited(u64),
    /// A body exceeds its limit; says which and the limit in bytes.
    TooLarge(String),
    /// No answer in time; says after how long.
    Timeout(String),
}

impl CapabilityError {
    /// The audit outcome of a failed call: the WIT case's name.
    pub(super) fn outcome(&self) -> &'static str {
        match self {
            Self::NotPermitted(_) => "not-permitted",
            Self::ConsentRequired(_) => "consent-required",
            Self::InvalidArgument(_) => "invalid-argument",
            Self::QuotaExceeded(_) => "quota-exceeded",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::RefundExceeds(_) => "refund-exceeds",
            Self::NotSubscribed(_) => "not-subscribed",
            Self::RateLimited(_) => "rate-limited",
            Self::TooLarge(_) => "too-large",
            Self::Timeout(_) => "timeout",
        }
    }

    /// For a case that `interface`'s WIT error does not have (a bug in the
    /// host, never the guest's doing): logged, and the text of the
    /// `unavailable` the guest gets instead.
    pub(super) fn not_in(self, interface: &'static str) -> String {
        tracing::error!(interface, error = ?self, "a capability error the interface does not have");
        "the host could not serve the call; try again".into()
    }
}

/// The audit outcome of a call: `ok` or the error case's name.
pub(super) fn outcome<T>(result: &Result<T, CapabilityError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.outcome(),
    }
}

impl From<ServiceError> for CapabilityError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidArgument { field, .. } => Self::InvalidArgument(field.into()),
            ServiceError::NotFound(what) => Self::InvalidArgument(what.into()),
            ServiceError::Conflict { field, .. } => Self::Conflict(field.into()),
            ServiceError::Unauthenticated(why) => Self::NotPermitted(why.into()),
            ServiceError::Forbidden(why) => Self::NotPermitted(why),
            ServiceError::QuotaExceeded(quota) => Self::QuotaExceeded(quota.into()),
            ServiceError::RateLimited { retry_after_ms } => Self::RateLimited(retry_after_ms),
            ServiceError::Unavailable(why) => Self::Unavailable(why),
            ServiceError::Store(_) | ServiceError::Sealed(_) => {
                tracing::error!(error = %e, "store failure in a capability call");
                Self::Unavailable("storage is unavailable; try again".into())
            }
            ServiceError::Payment(e) => payment::capability_error(e),
        }
    }
}
