//! The host's persistent state: one sled database under the data directory,
//! one named tree per kind of record.
//!
//! Domain services own the layout of their trees (key encodings are
//! documented where each tree is used); this module only opens the database
//! and offers typed JSON helpers. Keys that hold a time use big-endian
//! integers so that sled's byte order is time order.

use std::path::Path;

use serde::{Serialize, de::DeserializeOwned};

/// Errors from the store: I/O or corruption in sled, or a record that no
/// longer decodes.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O error or corruption.
    #[error("store: {0}")]
    Sled(sled::Error),
    /// A stored record could not be decoded (written by an incompatible
    /// version).
    #[error("store: undecodable record: {0}")]
    Decode(serde_json::Error),
    /// A sealed record (an identity number) does not open with the host's
    /// key: the key file was replaced or the record damaged.
    #[error("store: a sealed record does not open with the host key")]
    Sealed,
}

// Not `#[from]`: the message already holds the cause, and `{:#}` would
// print it twice.
impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Decode(e)
    }
}

/// Names of the trees, in one place so that no two services share one by
/// accident.
pub mod trees {
    /// `citizen_id \0 seq (u64 BE)` → inbox message (JSON); see
    /// `notifications::inbox`.
    pub const INBOX: &str = "inbox";
    /// `app_id \0 key` → value bytes.
    pub const APP_STORAGE: &str = "app_storage";
    /// `app_id` → bytes used (u64 BE).
    pub const APP_STORAGE_USAGE: &str = "app_storage_usage";
    /// `app_id \0 time (u64 BE ns) \0 seq (u64 BE)` → audit record (JSON).
    pub const AUDIT: &str = "audit";
    /// division code → division (JSON).
    pub const DIVISIONS: &str = "divisions";
    /// host-wide settings and markers (`divisions_loaded`, ...).
    pub const META: &str = "meta";
    /// `citizen_id` → last inbox `seq` and unread count (JSON).
    pub const INBOX_COUNTERS: &str = "inbox_counters";
    /// `citizen_id \0 seq (u64 BE)` → empty: the unread messages.
    pub const INBOX_UNREAD: &str = "inbox_unread";
    /// message number (u64 BE) → delivery status (JSON).
    pub const DELIVERIES: &str = "deliveries";
    /// `citizen_id \0 app_id \0 template_id` → live subscription (JSON).
    pub const SUBSCRIPTIONS: &str = "subscriptions";
    /// `m \0 app_id` / `d \0 app_id \0 citizen_id` → message-rate window (JSON).
    pub const NOTIFY_RATE: &str = "notify_rate";

    // Publishing.
    /// Unified Social Credit Code → department account (JSON).
    pub const DEPARTMENTS: &str = "departments";
    /// app id → owning department's Unified Social Credit Code.
    pub const APP_OWNERS: &str = "app_owners";
    /// token id (`jti`) → department token record (JSON).
    pub const DEPARTMENT_TOKENS: &str = "department_tokens";
    /// operator name → operator (JSON, token stored as SHA-256).
    pub const OPERATORS: &str = "operators";
    /// `time (u64 BE ns) seq (u64 BE)` → operator action (JSON).
    pub const OPERATOR_ACTIONS: &str = "operator_actions";
    /// `app_id \0 version` → version record (JSON).
    pub const APP_VERSIONS: &str = "app_versions";
    /// hex SHA-256 → component bytes.
    pub const PACKAGES: &str = "packages";
    /// `app_id` → release plan (JSON).
    pub const APP_RELEASES: &str = "app_releases";
}

/// How long [`Store::open`] waits for sled's file lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Pause between attempts to take the lock.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(20);

/// The opened database. Cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
}

impl Store {
    /// Opens (creating if needed) the database in `dir`.
    ///
    /// sled locks its files while any handle, or one of its I/O threads
    /// still writing for a handle just dropped, has them open. Opening right
    /// after the previous owner in this process let go can therefore see the
    /// lock for a few milliseconds: the lock is retried for up to 2 s before
    /// the error is returned (another process holding it keeps it longer).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let config = sled::Config::new().path(dir);
        let mut waited = std::time::Duration::ZERO;
        loop {
            match config.open() {
                Ok(db) => return Ok(Self { db }),
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock") && waited < LOCK_WAIT =>
                {
                    std::thread::sleep(LOCK_RETRY);
                    waited += LOCK_RETRY;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Opens a named tree (see [`trees`]).
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Unique, increasing id from sled (survives restarts).
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }
}

/// Reads a JSON record from `tree`.
pub fn get_json<T: DeserializeOwned>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
) -> Result<Option<T>, StoreError> {
    match tree.get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

/// Writes a JSON record to `tree`.
pub fn put_json<T: Serialize>(
    tree: &sled::Tree,
    key: impl AsRef<[u8]>,
    value: &T,
) -> Result<(), StoreError> {
    tree.insert(key.as_ref(), serde_json::to_vec(value)?)?;
    Ok(())
}

/// Joins key parts with a `\0` separator (parts never contain `\0`: ids,
/// phone numbers and app ids are validated before they reach the store).
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part);
    }
    out
}

/// Current time as UTC milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as u64
}
