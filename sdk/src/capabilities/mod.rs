//! Safe wrappers over the capability interfaces the host provides, one
//! module per WIT interface, each of the same shape: owned Rust types in,
//! owned Rust types out, failures as [`Error`].
//!
//! A component imports only the interfaces whose functions it calls (the
//! linker drops the rest), and the host refuses components that import an
//! interface their manifest's `permissions` do not declare. So calling, say,
//! [`payment::create_order`] is what makes an app need `payment`.

use crate::bindings::cityhost::miniapp as wit;
use crate::error::Error;

pub mod citizen_storage;
pub mod http;
pub mod identity;
pub mod log;
pub mod notify;
pub mod payment;
pub mod storage;
// Added after the first five.
pub mod config;
pub mod schedule;
pub mod sign;

// Each interface's WIT error cases become the [`Error`] variants of the
// same name.

impl From<wit::identity::Error> for Error {
    fn from(error: wit::identity::Error) -> Self {
        use wit::identity::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::ConsentRequired(s) => Error::ConsentRequired(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::payment::Error> for Error {
    fn from(error: wit::payment::Error) -> Self {
        use wit::payment::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::Conflict(s) => Error::Conflict(s),
            E::RefundExceeds(fen) => Error::RefundExceeds(fen),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::notify::Error> for Error {
    fn from(error: wit::notify::Error) -> Self {
        use wit::notify::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::NotSubscribed(s) => Error::NotSubscribed(s),
            E::RateLimited(retry_after_ms) => Error::RateLimited { retry_after_ms },
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::storage::Error> for Error {
    fn from(error: wit::storage::Error) -> Self {
        use wit::storage::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::QuotaExceeded(s) => Error::QuotaExceeded(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::citizen_storage::Error> for Error {
    fn from(error: wit::citizen_storage::Error) -> Self {
        use wit::citizen_storage::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::QuotaExceeded(s) => Error::QuotaExceeded(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::log::Error> for Error {
    fn from(error: wit::log::Error) -> Self {
        use wit::log::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::QuotaExceeded(s) => Error::QuotaExceeded(s),
        }
    }
}

impl From<wit::http::Error> for Error {
    fn from(error: wit::http::Error) -> Self {
        use wit::http::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::QuotaExceeded(s) => Error::QuotaExceeded(s),
            E::TooLarge(s) => Error::TooLarge(s),
            E::Timeout(s) => Error::Timeout(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::sign::Error> for Error {
    fn from(error: wit::sign::Error) -> Self {
        use wit::sign::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::config::Error> for Error {
    fn from(error: wit::config::Error) -> Self {
        use wit::config::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}

impl From<wit::schedule::Error> for Error {
    fn from(error: wit::schedule::Error) -> Self {
        use wit::schedule::Error as E;
        match error {
            E::NotPermitted(s) => Error::NotPermitted(s),
            E::InvalidArgument(s) => Error::InvalidArgument(s),
            E::QuotaExceeded(s) => Error::QuotaExceeded(s),
            E::Unavailable(s) => Error::Unavailable(s),
        }
    }
}
