//! `cityhost:miniapp/citizen-storage`: key-value storage of the signed-in
//! citizen of the current request, private to this app and to them.
//! Permission `citizen-storage`.
//!
//! One namespace per (app, citizen), apart from the app's [`storage`]: a
//! key here never meets the same key of another citizen or of the app's
//! own storage. The limits are [`storage`]'s (keys 1-256 bytes of UTF-8,
//! values at most 1 MiB, expiry 1 to [`MAX_TTL_SECONDS`]) except the quota:
//! 256 KiB per citizen per app by default
//! ([`Error::QuotaExceeded("citizen-storage")`](Error::QuotaExceeded)).
//! Every call needs a signed-in citizen; without one (a host event, a
//! visitor) it fails with [`Error::NotPermitted`]. When a citizen has their
//! data erased, the host erases their namespaces in every app.
//!
//! [`storage`]: crate::storage

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::cityhost::miniapp::citizen_storage as wit;
use crate::error::{Error, Result};
pub use crate::storage::{
    BatchAction, BatchOp, BatchOutcome, Condition, MAX_BATCH_OPS, MAX_LIST, MAX_TTL_SECONDS,
    Versioned,
};

/// The bytes under `key` in the citizen's namespace, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(wit::get(key)?)
}

/// The bytes under `key` with their version, if any.
pub fn get_versioned(key: &str) -> Result<Option<Versioned>> {
    Ok(wit::get_versioned(key)?.map(|v| Versioned {
        value: v.value,
        version: v.version,
    }))
}

/// Stores `value` under `key`, expiring after `ttl_seconds` if given;
/// returns the new version. Errors:
/// [`Error::QuotaExceeded("citizen-storage")`](Error::QuotaExceeded),
/// [`Error::InvalidArgument`] naming `key`, `value` or `ttl-seconds`,
/// [`Error::NotPermitted`] without a signed-in citizen.
pub fn put(key: &str, value: &[u8], ttl_seconds: Option<u32>) -> Result<u64> {
    Ok(wit::put(key, value, ttl_seconds)?)
}

/// Stores `value` under `key` only if the key is absent: `Some(version)`
/// if this call stored it, `None` if it is taken. Errors as [`put`].
pub fn insert(key: &str, value: &[u8], ttl_seconds: Option<u32>) -> Result<Option<u64>> {
    Ok(wit::insert(key, value, ttl_seconds)?)
}

/// Stores `value` under `key` only if its version is still `expected`
/// (`None`: only if absent): `Some(new version)`, or `None` if the key
/// changed (nothing written). Errors as [`put`].
pub fn compare_and_swap(
    key: &str,
    expected: Option<u64>,
    value: &[u8],
    ttl_seconds: Option<u32>,
) -> Result<Option<u64>> {
    Ok(wit::compare_and_swap(key, expected, value, ttl_seconds)?)
}

/// Adds `delta` to the counter under `key` (absent counts as 0); the new
/// value. Errors as [`crate::storage::increment`], with the citizen's quota.
pub fn increment(key: &str, delta: i64, ttl_seconds: Option<u32>) -> Result<i64> {
    Ok(wit::increment(key, delta, ttl_seconds)?)
}

/// Removes `key`; whether it existed (an expired key did not).
pub fn delete(key: &str) -> Result<bool> {
    Ok(wit::delete(key)?)
}

/// The citizen's keys starting with `prefix`, in byte order, at most
/// `limit` (capped at [`MAX_LIST`]).
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>> {
    Ok(wit::list_keys(prefix, limit.min(MAX_LIST))?)
}

/// Runs `ops` as one all-or-nothing unit, as [`crate::storage::batch`]
/// does, in the citizen's namespace and quota.
pub fn batch(ops: &[BatchOp]) -> Result<BatchOutcome> {
    let ops: Vec<wit::BatchOp> = ops
        .iter()
        .map(|op| wit::BatchOp {
            key: op.key.clone(),
            condition: op.condition.map(|c| match c {
                Condition::Absent => wit::Condition::Absent,
                Condition::Version(v) => wit::Condition::Version(v),
            }),
            action: match &op.action {
                BatchAction::Put { value, ttl_seconds } => wit::BatchAction::Put(wit::PutValue {
                    value: value.clone(),
                    ttl_seconds: *ttl_seconds,
                }),
                BatchAction::Delete => wit::BatchAction::Delete,
                BatchAction::Check => wit::BatchAction::Check,
            },
        })
        .collect();
    Ok(match wit::batch(&ops)? {
        wit::BatchOutcome::Applied(v) => BatchOutcome::Applied(v),
        wit::BatchOutcome::Failed(i) => BatchOutcome::Failed(i),
    })
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

/// Stores `value` as JSON under `key` (no expiry); the new version. Errors
/// as [`put`]; a value that cannot be serialised is [`Error::InvalidData`].
pub fn put_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<u64> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::InvalidData {
        key: key.to_string(),
        reason: e.to_string(),
    })?;
    put(key, &bytes, None)
}
