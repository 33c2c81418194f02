//! `cityhost:miniapp/storage`: key-value storage private to this app.
//! Permission `storage`.
//!
//! Keys are 1-256 bytes of UTF-8, values at most 1 MiB, the app's total at
//! most its quota (default 10 MiB). By convention values are JSON:
//! [`get_json`] and [`set_json`] read and write them, and the demo host's
//! `storage-seed` file is a JSON object of key → JSON value.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::cityhost::miniapp::storage as wit;
use crate::error::{Error, Result};

/// Most keys [`list_keys`] returns in one call.
pub const MAX_LIST: u32 = 1000;

/// The bytes under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(wit::get(key)?)
}

/// Stores `value` under `key`. Errors:
/// [`Error::QuotaExceeded("storage")`](Error::QuotaExceeded) when the app's
/// quota would be exceeded; [`Error::InvalidArgument`] naming `key` or
/// `value`.
pub fn set(key: &str, value: &[u8]) -> Result<()> {
    Ok(wit::set(key, value)?)
}

/// Removes `key`; whether it existed.
pub fn delete(key: &str) -> Result<bool> {
    Ok(wit::delete(key)?)
}

/// Keys starting with `prefix`, in byte order, at most `limit` (capped at
/// [`MAX_LIST`]).
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>> {
    Ok(wit::list_keys(prefix, limit.min(MAX_LIST))?)
}

/// The JSON value under `key` as `T`, if any. Errors:
/// [`Error::InvalidData`] when the stored bytes are not a `T`.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    match get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::InvalidData {
                key: key.to_string(),
                reason: e.to_string(),
            }),
    }
}

/// Stores `value` as JSON under `key`. Errors as [`set`]; a value that
/// cannot be serialised is [`Error::InvalidData`].
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::InvalidData {
        key: key.to_string(),
        reason: e.to_string(),
    })?;
    set(key, &bytes)
}
