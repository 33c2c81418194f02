//! The backend interface: what sled (`cityhost-store-sled`) and PostgreSQL
//! (`cityhost-store-postgres`) implement.
//! Byte keys and values, tables by name; the typed layer ([`Db`](crate::Db),
//! [`Tx`](crate::Tx)) sits on top.

use crate::error::StoreError;
use crate::scan::RawScan;
use crate::signal::Heard;

/// Encoded `(key, value)` records, as scans return them.
pub type RawRows = Vec<(Vec<u8>, Vec<u8>)>;

/// Whether a transaction may run beside others.
/// [`Db::transact`](crate::Db::transact) asks for [`Turn::Shared`] first;
/// after a conflict for [`Turn::AloneHere`], so a crowd on one hot record
/// takes turns instead of colliding again; and from the fourth attempt on
/// for [`Turn::AloneEverywhere`], which cannot meet a conflict, so a crowd
/// of several hosts on one record cannot exhaust the attempts. A backend
/// that runs one transaction at a time and only in one process (sled)
/// treats all three alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Beside others, as many as the backend allows.
    Shared,
    /// With no other transaction of this backend (this process) running.
    AloneHere,
    /// With no other transaction running on any host sharing the store.
    AloneEverywhere,
}

/// A storage engine. Object-safe; [`Db`](crate::Db) holds one as
/// `Arc<dyn Backend>`.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// The committed value of `key` in `table`.
    async fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Committed records of `table` within `scan`, in key order (reverse if
    /// `scan.reverse`), at most `scan.limit`.
    async fn scan(&self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError>;

    /// Starts a read-write transaction over any tables, beside this
    /// backend's other transactions or alone (see [`Turn`]).
    async fn begin(&self, turn: Turn) -> Result<Box<dyn BackendTx>, StoreError>;

    /// Returns once everything committed before the call is durable on disk.
    async fn sync(&self) -> Result<(), StoreError>;

    /// A unique id, greater than every id returned before (also across
    /// restarts).
    async fn next_id(&self) -> Result<u64, StoreError>;

    /// Sends `payload` on `channel` to every other host sharing the store
    /// (not to this one). The caller checked the size
    /// ([`MAX_SIGNAL_BYTES`](crate::MAX_SIGNAL_BYTES)). By default nothing:
    /// a store only one host opens has nobody to tell.
    async fn signal(&self, channel: &'static str, payload: &str) -> Result<(), StoreError> {
        let _ = (channel, payload);
        Ok(())
    }

    /// A receiver of the other hosts' signals, or `None` for a store only
    /// one host opens (the default).
    fn listen(&self) -> Option<tokio::sync::broadcast::Receiver<Heard>> {
        None
    }
}

/// One transaction of a [`Backend`]. Reads see the transaction's own writes.
/// Dropping it without [`commit`](Self::commit) rolls it back.
#[async_trait::async_trait]
pub trait BackendTx: Send {
    /// The value of `key` in `table` as this transaction sees it.
    async fn get(&mut self, table: &'static str, key: &[u8])
    -> Result<Option<Vec<u8>>, StoreError>;

    /// Records of `table` within `scan` as this transaction sees them.
    async fn scan(&mut self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError>;

    /// Writes `value` at `key`.
    async fn put(
        &mut self,
        table: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError>;

    /// Removes `key` (nothing if absent).
    async fn delete(&mut self, table: &'static str, key: Vec<u8>) -> Result<(), StoreError>;

    /// Makes every write visible atomically. May return
    /// [`StoreError::Conflict`]: a concurrent transaction won and nothing
    /// was written.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Discards every write.
    async fn rollback(self: Box<Self>);
}
