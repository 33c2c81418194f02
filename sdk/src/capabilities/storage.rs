//! `cityhost:miniapp/storage`: key-value storage private to this app.
//! Permission `storage`.
//!
//! Keys are 1-256 bytes of UTF-8, values at most 1 MiB, the app's total at
//! most its quota (default 10 MiB). By convention values are JSON:
//! [`get_json`] and [`set_json`] read and write them, and the demo host's
//! `storage-seed` file is a JSON object of key → JSON value.
//!
//! # Atomic operations
//!
//! Each call below is one transaction on the host, so concurrent calls of
//! many citizens never interleave inside one: [`insert`] (store only if
//! absent), [`compare_and_swap`] (store only if the key is still at the
//! version read with [`get_versioned`]), [`increment`] (a counter) and
//! [`batch`] (up to [`MAX_BATCH_OPS`] operations with per-key conditions,
//! all or nothing). Losing a race is an answer (`None`,
//! [`BatchOutcome::Failed`]), not an error. [`put`], [`insert`],
//! [`compare_and_swap`] and [`increment`] take an optional expiry in
//! seconds: an expired key is absent for every read and list and stops
//! counting against the quota.
//!
//! # Booking a slot
//!
//! Twelve citizens press "book" for the same slot at once; exactly one
//! gets it, the others are told it is taken:
//!
//! ```no_run
//! use cityhost_sdk::storage::{self, BatchOp, BatchOutcome};
//! use cityhost_sdk::{Response, Result};
//!
//! /// Claims `slot` for `openid` with an insert-if-absent.
//! fn book(slot: &str, openid: &str) -> Result<Response> {
//!     match storage::insert(&format!("slot:{slot}"), openid.as_bytes(), None)? {
//!         Some(_version) => Ok(Response::text("booked")),
//!         None => Ok(Response::text("已被预约 (taken)").status(409)),
//!     }
//! }
//!
//! /// Takes one of a day's limited places, read-modify-write with
//! /// compare-and-swap: the loser of a race reads again.
//! fn take_place(day: &str, places: u32) -> Result<bool> {
//!     let key = format!("taken:{day}");
//!     loop {
//!         let current = storage::get_versioned(&key)?;
//!         let taken: u32 = match &current {
//!             Some(v) => String::from_utf8_lossy(&v.value).parse().unwrap_or(0),
//!             None => 0,
//!         };
//!         if taken >= places {
//!             return Ok(false);
//!         }
//!         let expected = current.map(|v| v.version);
//!         let next = (taken + 1).to_string();
//!         if storage::compare_and_swap(&key, expected, next.as_bytes(), None)?.is_some() {
//!             return Ok(true);
//!         }
//!     }
//! }
//!
//! /// Moves a booking from one slot to another, or not at all: holds for
//! /// 15 minutes until paid.
//! fn move_booking(from: &str, to: &str, openid: &str, version: u64) -> Result<bool> {
//!     let ops = [
//!         BatchOp::delete(format!("slot:{from}")).if_version(version),
//!         BatchOp::put(format!("slot:{to}"), openid).if_absent().ttl_seconds(900),
//!     ];
//!     Ok(matches!(storage::batch(&ops)?, BatchOutcome::Applied(_)))
//! }
//! ```

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

/// Most operations in one [`batch`].
pub const MAX_BATCH_OPS: usize = 64;
/// Longest expiry, seconds (366 days).
pub const MAX_TTL_SECONDS: u32 = 366 * 24 * 3600;

/// A value with its version, as [`get_versioned`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value bytes.
    pub value: Vec<u8>,
    /// Changes at every write of the key and is never reused for it, even
    /// after a delete; 0 for a value written before versions existed.
    /// Compare it for equality only (e.g. pass it to
    /// [`compare_and_swap`]).
    pub version: u64,
}

/// What a batch operation requires of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The key is absent (never written, deleted or expired).
    Absent,
    /// The key is present at this version.
    Version(u64),
}

/// What a batch operation writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAction {
    /// Store the value, expiring after `ttl_seconds` if given.
    Put {
        /// At most 1 MiB.
        value: Vec<u8>,
        /// 1 to [`MAX_TTL_SECONDS`]; `None`: never expires.
        ttl_seconds: Option<u32>,
    },
    /// Remove the key (nothing if absent).
    Delete,
    /// Write nothing; only the condition counts.
    Check,
}

/// One operation of a [`batch`]; build it with [`BatchOp::put`],
/// [`BatchOp::delete`] or [`BatchOp::check`] and add a condition with
/// [`if_absent`](BatchOp::if_absent) or [`if_version`](BatchOp::if_version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOp {
    /// The key; each key at most once per batch.
    pub key: String,
    /// Checked, with every other operation's, before anything is written.
    pub condition: Option<Condition>,
    /// The write.
    pub action: BatchAction,
}

impl BatchOp {
    /// Store `value` under `key` (no expiry).
    pub fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        BatchOp {
            key: key.into(),
            condition: None,
            action: BatchAction::Put {
                value: value.into(),
                ttl_seconds: None,
            },
        }
    }

    /// Remove `key`.
    pub fn delete(key: impl Into<String>) -> Self {
        BatchOp {
            key: key.into(),
            condition: None,
            action: BatchAction::Delete,
        }
    }

    /// Write nothing, only require `condition` of `key`.
    pub fn check(key: impl Into<String>, condition: Condition) -> Self {
        BatchOp {
            key: key.into(),
            condition: Some(condition),
            action: BatchAction::Check,
        }
    }

    /// Only if the key is absent.
    pub fn if_absent(mut self) -> Self {
        self.condition = Some(Condition::Absent);
        self
    }

    /// Only if the key is present at `version`.
    pub fn if_version(mut self, version: u64) -> Self {
        self.condition = Some(Condition::Version(version));
        self
    }

    /// For a put: expire after `ttl_seconds` (1 to [`MAX_TTL_SECONDS`]).
    pub fn ttl_seconds(mut self, ttl_seconds: u32) -> Self {
        if let BatchAction::Put { ttl_seconds: t, .. } = &mut self.action {
            *t = Some(ttl_seconds);
        }
        self
    }
}

/// How a [`batch`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every condition held and every write was made: per operation, in
    /// order, the key's version after the batch (0 if absent).
    Applied(Vec<u64>),
    /// The condition of the operation at this 0-based index did not hold;
    /// nothing was written.
    Failed(u32),
}

/// The bytes under `key` with their version, if any.
pub fn get_versioned(key: &str) -> Result<Option<Versioned>> {
    Ok(wit::get_versioned(key)?.map(|v| Versioned {
        value: v.value,
        version: v.version,
    }))
}

/// Stores `value` under `key`, expiring after `ttl_seconds` if given (1 to
/// [`MAX_TTL_SECONDS`]; an expired key reads as absent and stops counting
/// against the quota); returns the new version. Errors as [`set`], and
/// [`Error::InvalidArgument("ttl-seconds")`](Error::InvalidArgument).
pub fn put(key: &str, value: &[u8], ttl_seconds: Option<u32>) -> Result<u64> {
    Ok(wit::put(key, value, ttl_seconds)?)
}

/// Stores `value` under `key` only if the key is absent (never written,
/// deleted or expired): `Some(version)` if this call stored it, `None` if
/// the key is taken — of any number of concurrent calls for one absent key,
/// exactly one gets `Some`. Errors as [`put`].
///
/// The booking pattern: the slot's key is claimed once.
///
/// ```no_run
/// use cityhost_sdk::{Response, Result, storage};
///
/// fn book(slot: &str, openid: &str) -> Result<Response> {
///     match storage::insert(&format!("slot:{slot}"), openid.as_bytes(), None)? {
///         Some(_) => Ok(Response::text("booked")),
///         None => Ok(Response::text("taken").status(409)),
///     }
/// }
/// ```
pub fn insert(key: &str, value: &[u8], ttl_seconds: Option<u32>) -> Result<Option<u64>> {
    Ok(wit::insert(key, value, ttl_seconds)?)
}

/// Stores `value` under `key` only if its version is still `expected`
/// (`None`: only if the key is absent): `Some(new version)` if stored,
/// `None` if the key changed since it was read (nothing written; read it
/// again and retry or give up). Errors as [`put`].
pub fn compare_and_swap(
    key: &str,
    expected: Option<u64>,
    value: &[u8],
    ttl_seconds: Option<u32>,
) -> Result<Option<u64>> {
    Ok(wit::compare_and_swap(key, expected, value, ttl_seconds)?)
}

/// Adds `delta` to the counter under `key` (absent counts as 0) and
/// returns the new value. Stored as decimal text. `ttl_seconds` sets the
/// expiry only when this call creates the key (a counter per time window).
/// Errors: [`Error::InvalidArgument("value")`](Error::InvalidArgument) if
/// the stored value is not a decimal `i64`, `InvalidArgument("delta")` on
/// overflow, and as [`put`].
pub fn increment(key: &str, delta: i64, ttl_seconds: Option<u32>) -> Result<i64> {
    Ok(wit::increment(key, delta, ttl_seconds)?)
}

/// Runs `ops` (1 to [`MAX_BATCH_OPS`], at most 1 MiB of values in all) as
/// one all-or-nothing unit: every write if every condition holds, else
/// none, with the index of the first failed condition. Errors:
/// [`Error::InvalidArgument("ops")`](Error::InvalidArgument) for an empty
/// or too large batch or a key named twice;
/// [`Error::QuotaExceeded("storage")`](Error::QuotaExceeded) when the
/// writes together would pass the quota (nothing written); and as [`put`].
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
