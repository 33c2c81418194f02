//! `cityhost:miniapp/config`: the app's variables and secrets, which its
//! department sets per app through the department API (`cityhost config
//! set|unset|list`) without republishing. Permission `config`.
//!
//! Names are 1–64 characters of `A-Z a-z 0-9 _ . -`, starting with a
//! letter; values at most 4 KiB. A change is seen by the app's next
//! request. Secrets are sealed at rest by the host; keep them out of
//! responses and logs in the app too.
//!
//! ```no_run
//! # fn run() -> cityhost_sdk::Result<()> {
//! use cityhost_sdk::config;
//!
//! let base = config::get("BILLING_URL")?.unwrap_or_default();
//! let key = config::secret("BILLING_API_KEY")?;
//! # let _ = (base, key); Ok(()) }
//! ```

use crate::bindings::cityhost::miniapp::config as wit;
use crate::error::Result;

/// The variable `name`, if the department set it. Errors:
/// [`crate::Error::InvalidArgument`] (`name: …`) for a malformed name;
/// [`crate::Error::NotPermitted`] without the `config` permission.
pub fn get(name: &str) -> Result<Option<String>> {
    Ok(wit::get(name)?)
}

/// The secret `name`, if the department set it. Errors as [`get`].
pub fn secret(name: &str) -> Result<Option<String>> {
    Ok(wit::secret(name)?)
}
