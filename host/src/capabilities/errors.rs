//! The capability layer's error mapping: domain errors to the WIT `error`
//! variant, and the variant to the audit outcome.

use super::payment;
use crate::capabilities::bindings::WitError;
use crate::error::ServiceError;

/// The audit outcome of a call: `ok` or the error variant's name.
pub(super) fn outcome<T>(result: &Result<T, WitError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(WitError::NotPermitted(_)) => "not-permitted",
        Err(WitError::ConsentRequired(_)) => "consent-required",
        Err(WitError::InvalidArgument(_)) => "invalid-argument",
        Err(WitError::QuotaExceeded(_)) => "quota-exceeded",
        Err(WitError::Conflict(_)) => "conflict",
        Err(WitError::Unavailable(_)) => "unavailable",
        Err(WitError::RefundExceeds(_)) => "refund-exceeds",
        Err(WitError::NotSubscribed(_)) => "not-subscribed",
        Err(WitError::RateLimited(_)) => "rate-limited",
    }
}

impl From<ServiceError> for WitError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidArgument { field, .. } => WitError::InvalidArgument(field.into()),
            ServiceError::NotFound(what) => WitError::InvalidArgument(what.into()),
            ServiceError::Conflict { field, .. } => WitError::Conflict(field.into()),
            ServiceError::Unauthenticated(why) => WitError::NotPermitted(why.into()),
            ServiceError::Forbidden(why) => WitError::NotPermitted(why),
            ServiceError::QuotaExceeded(quota) => WitError::QuotaExceeded(quota.into()),
            ServiceError::RateLimited { retry_after_ms } => WitError::RateLimited(retry_after_ms),
            ServiceError::Unavailable(why) => WitError::Unavailable(why),
            ServiceError::Store(_) | ServiceError::Sealed(_) => {
                tracing::error!(error = %e, "store failure in a capability call");
                WitError::Unavailable("storage is unavailable; try again".into())
            }
            ServiceError::Payment(e) => payment::wit_error(e),
        }
    }
}
