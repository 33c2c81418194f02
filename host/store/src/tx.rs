//! A transaction handle, as [`Db::transact`](crate::Db::transact) hands it to
//! its closure.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Mutex, MutexGuard};

use crate::backend::BackendTx;
use crate::error::StoreError;
use crate::key::{self, Key, KeyRef};
use crate::scan::Scan;
use crate::table::{Codec, Table};

/// One transaction: owned, `Clone + Send + Sync` (an `Arc` inside), so it
/// can be moved into the closure's `async move` block. Reads see the
/// transaction's own writes. Once the closure has returned, every clone
/// answers [`StoreError::Finished`].
#[derive(Clone)]
pub struct Tx {
    inner: Arc<Inner>,
}

struct Inner {
    /// The backend's transaction; `None` once it ended.
    tx: Mutex<Option<Box<dyn BackendTx>>>,
    /// A call reported [`StoreError::Conflict`]: the closure's `Err` is
    /// then retried, whatever the error was converted into.
    conflicted: AtomicBool,
}

impl Tx {
    pub(crate) fn new(tx: Box<dyn BackendTx>) -> Self {
        Self {
            inner: Arc::new(Inner {
                tx: Mutex::new(Some(tx)),
                conflicted: AtomicBool::new(false),
            }),
        }
    }

    /// Ends the handle: takes the backend transaction out (every clone then
    /// answers `Finished`) and says whether a call saw a conflict.
    pub(crate) async fn finish(&self) -> (Option<Box<dyn BackendTx>>, bool) {
        let tx = self.inner.tx.lock().await.take();
        (tx, self.inner.conflicted.load(Ordering::SeqCst))
    }

    /// Locks the backend transaction for one call (`None`: it ended).
    async fn lock(&self) -> MutexGuard<'_, Option<Box<dyn BackendTx>>> {
        self.inner.tx.lock().await
    }

    /// Passes a backend result on, noting a conflict.
    fn note<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if matches!(result, Err(StoreError::Conflict)) {
            self.inner.conflicted.store(true, Ordering::SeqCst);
        }
        result
    }

    async fn get_raw(&self, name: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut slot = self.lock().await;
        let tx = slot.as_mut().ok_or(StoreError::Finished)?;
        self.note(tx.get(name, key).await)
    }

    /// The value at `key` in `table` as this transaction sees it. Errors:
    /// the backend failed, the stored bytes do not decode, or `Finished`.
    pub fn get<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
    ) -> impl Future<Output = Result<Option<V>, StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        async move {
            let bytes = self.get_raw(name, &key).await?;
            bytes.map(|b| C::decode(name, &b)).transpose()
        }
    }

    /// Whether `key` exists in `table` as this transaction sees it.
    pub fn contains<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        async move { Ok(self.get_raw(name, &key).await?.is_some()) }
    }

    /// The records of `table` within `scan` as this transaction sees them,
    /// in key order (reverse with [`Scan::rev`]).
    pub fn scan<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        scan: Scan<K>,
    ) -> impl Future<Output = Result<Vec<(K, V)>, StoreError>> + Send {
        let name = table.name();
        async move {
            let raw = scan.raw();
            if raw.is_empty() {
                return Ok(Vec::new());
            }
            let rows = {
                let mut slot = self.lock().await;
                let tx = slot.as_mut().ok_or(StoreError::Finished)?;
                self.note(tx.scan(name, raw).await)?
            };
            crate::db::decode_rows::<K, V, C>(name, rows)
        }
    }

    /// Writes `value` at `key` in `table` (visible to this transaction at
    /// once, to others when it commits). Errors: the value does not encode,
    /// the backend failed, or `Finished`.
    pub fn put<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
        value: &V,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        let value = C::encode(value);
        async move {
            let value = value?;
            self.put_raw(name, key, value).await
        }
    }

    /// Removes `key` from `table` (nothing if absent).
    pub fn delete<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        async move { self.delete_raw(name, key).await }
    }

    pub(crate) async fn put_raw(
        &self,
        name: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        let mut slot = self.lock().await;
        let tx = slot.as_mut().ok_or(StoreError::Finished)?;
        self.note(tx.put(name, key, value).await)
    }

    pub(crate) async fn delete_raw(
        &self,
        name: &'static str,
        key: Vec<u8>,
    ) -> Result<(), StoreError> {
        let mut slot = self.lock().await;
        let tx = slot.as_mut().ok_or(StoreError::Finished)?;
        self.note(tx.delete(name, key).await)
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}
