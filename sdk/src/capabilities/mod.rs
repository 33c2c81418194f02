//! Safe wrappers over the capability interfaces the host provides, one
//! module per WIT interface, each of the same shape: owned Rust types in,
//! owned Rust types out, failures as [`Error`].
//!
//! A component imports only the interfaces whose functions it calls (the
//! linker drops the rest), and the host refuses components that import an
//! interface their manifest's `permissions` do not declare. So calling, say,
//! [`payment::create_order`] is what makes an app need `payment`.

use crate::bindings::cityhost::miniapp::types::Error as WitError;
use crate::error::Error;

pub mod identity;
pub mod log;
pub mod notify;
pub mod payment;
pub mod storage;

impl From<WitError> for Error {
    fn from(error: WitError) -> Self {
        match error {
            WitError::NotPermitted(s) => Error::NotPermitted(s),
            WitError::ConsentRequired(s) => Error::ConsentRequired(s),
            WitError::InvalidArgument(s) => Error::InvalidArgument(s),
            WitError::QuotaExceeded(s) => Error::QuotaExceeded(s),
            WitError::Conflict(s) => Error::Conflict(s),
            WitError::Unavailable(s) => Error::Unavailable(s),
            WitError::RefundExceeds(fen) => Error::RefundExceeds(fen),
            WitError::NotSubscribed(s) => Error::NotSubscribed(s),
            WitError::RateLimited(retry_after_ms) => Error::RateLimited { retry_after_ms },
        }
    }
}
