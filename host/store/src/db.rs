//! The database handle every domain service holds.

use std::future::Future;
use std::sync::Arc;

use crate::backend::{Backend, RawRows, Turn};
use crate::error::StoreError;
use crate::key::{self, Key, KeyRef};
use crate::scan::Scan;
use crate::table::{Codec, Table};
use crate::tx::Tx;

/// How often [`Db::transact`] runs a transaction that keeps meeting
/// conflicts before it gives up with [`StoreError::Conflict`].
pub const MAX_ATTEMPTS: usize = 8;

/// The attempt (counting from 0) of [`Db::transact`] from which a
/// transaction runs alone among every host ([`Turn::AloneEverywhere`]).
const ALONE_EVERYWHERE_FROM: usize = 3;

tokio::task_local! {
    /// Set while a transaction closure runs on this task: a write through
    /// the [`Db`] there would wait for the transaction's own write lock.
    static IN_TRANSACTION: ();
}

/// The database: typed reads and writes over a [`Backend`]. Cheap to clone
/// (an `Arc` inside); every service holds a clone.
#[derive(Clone)]
pub struct Db {
    backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// A database over `backend`.
    pub fn new(backend: impl Backend) -> Db {
        Db {
            backend: Arc::new(backend),
        }
    }

    /// The committed value at `key` in `table`. Errors: the backend failed
    /// ([`StoreError::Backend`]) or the stored bytes do not decode
    /// ([`StoreError::Undecodable`]).
    pub fn get<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
    ) -> impl Future<Output = Result<Option<V>, StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        async move {
            let bytes = self.backend.get(name, &key).await?;
            bytes.map(|b| C::decode(name, &b)).transpose()
        }
    }

    /// Whether `key` exists in `table` (committed state).
    pub fn contains<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        async move { Ok(self.backend.get(name, &key).await?.is_some()) }
    }

    /// The committed records of `table` within `scan`, in key order
    /// (reverse with [`Scan::rev`]), at most its limit.
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
            let rows = self.backend.scan(name, raw).await?;
            decode_rows::<K, V, C>(name, rows)
        }
    }

    /// Writes one record: a [`transact`](Self::transact) with one put.
    /// Errors: the value does not encode, the backend failed, or conflicts
    /// persisted. Panics if called inside a transaction closure (use the
    /// [`Tx`] there).
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
            self.transact(|tx| {
                let (key, value) = (key.clone(), value.clone());
                async move { tx.put_raw(name, key, value).await }
            })
            .await
        }
    }

    /// Removes one record (nothing if absent): a
    /// [`transact`](Self::transact) with one delete. Panics if called inside
    /// a transaction closure (use the [`Tx`] there).
    pub fn delete<K: Key, V, C: Codec<V>>(
        &self,
        table: &Table<K, V, C>,
        key: impl KeyRef<K>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let name = table.name();
        let key = key::encode(&key);
        async move {
            self.transact(|tx| {
                let key = key.clone();
                async move { tx.delete_raw(name, key).await }
            })
            .await
        }
    }

    /// Runs `f` in one transaction over any tables it names. `Ok` commits;
    /// `Err` aborts (rolls every write back) and is returned as is — the one
    /// way to abort.
    ///
    /// If the backend reports [`StoreError::Conflict`] (from a [`Tx`] call or
    /// from the commit), the whole closure runs again, up to
    /// [`MAX_ATTEMPTS`] attempts; then `Conflict` is returned (through
    /// `E::from`). The closure may therefore run more than once: no side
    /// effects (live pushes, wakeups, messages) inside it — do them after
    /// `transact` returned `Ok`. A retry first waits a short random pause
    /// (up to 1, 2, 4 … 32 ms), so transactions that collided spread out.
    ///
    /// The first attempt runs beside other transactions ([`Turn::Shared`]);
    /// the next two alone on this host ([`Turn::AloneHere`]), so
    /// transactions that collided on one hot record take turns rather than
    /// collide again; later ones alone among every host sharing the store
    /// ([`Turn::AloneEverywhere`]), where nothing can conflict. (sled runs
    /// one transaction at a time anyway; on PostgreSQL conflicts come from
    /// concurrent transactions of this host or of other hosts sharing the
    /// database.)
    ///
    /// ```
    /// # use cityhost_store::{Db, StoreError, Table};
    /// const COUNTERS: Table<String, u64> = Table::new("counters");
    /// async fn bump(db: &Db, name: &str) -> Result<u64, StoreError> {
    ///     db.transact(|tx| async move {
    ///         let n = tx.get(&COUNTERS, name).await?.unwrap_or(0) + 1;
    ///         tx.put(&COUNTERS, name, &n).await?;
    ///         Ok(n)
    ///     })
    ///     .await
    /// }
    /// ```
    ///
    /// Panics if called inside another transaction's closure on the same
    /// task (that would wait for itself): use the outer [`Tx`].
    pub async fn transact<T, E, F, Fut>(&self, mut f: F) -> Result<T, E>
    where
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send,
        E: From<StoreError>,
        T: Send,
    {
        assert!(
            IN_TRANSACTION.try_with(|_| ()).is_err(),
            "Db::transact, Db::put or Db::delete called inside a transaction closure; \
             use the closure's Tx"
        );
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            let turn = match attempt {
                0 => Turn::Shared,
                a if a < ALONE_EVERYWHERE_FROM => Turn::AloneHere,
                _ => Turn::AloneEverywhere,
            };
            let tx = Tx::new(self.backend.begin(turn).await?);
            let result = IN_TRANSACTION.scope((), f(tx.clone())).await;
            let (backend_tx, conflicted) = tx.finish().await;
            let Some(backend_tx) = backend_tx else {
                return Err(StoreError::Finished.into());
            };
            match result {
                Ok(value) => match backend_tx.commit().await {
                    Ok(()) => return Ok(value),
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                },
                Err(e) => {
                    backend_tx.rollback().await;
                    if !conflicted {
                        return Err(e);
                    }
                }
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// Returns once everything committed before the call is durable on disk
    /// (group commit: concurrent callers share one flush). Errors: the flush
    /// failed — the writes may be lost; do not report success.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.backend.sync().await
    }

    /// A unique id, greater than every id returned before, also across
    /// restarts.
    pub async fn next_id(&self) -> Result<u64, StoreError> {
        self.backend.next_id().await
    }

    /// Tells every other host sharing the store `payload` on `channel`
    /// (see [`crate::signal`]); send it after the change it announces has
    /// committed. Nothing happens on a store only this host opens. Errors:
    /// channel and payload together exceed
    /// [`MAX_SIGNAL_BYTES`](crate::MAX_SIGNAL_BYTES)
    /// ([`StoreError::Encode`]), or the backend failed.
    pub async fn signal(&self, channel: &'static str, payload: &str) -> Result<(), StoreError> {
        if !crate::signal_fits(channel, payload) {
            return Err(StoreError::Encode(format!(
                "a signal on {channel} of {} bytes; at most {} with its channel",
                payload.len(),
                crate::MAX_SIGNAL_BYTES
            )));
        }
        self.backend.signal(channel, payload).await
    }

    /// Whether other hosts may share this store (its signals reach someone).
    pub fn shared(&self) -> bool {
        self.backend.listen().is_some()
    }

    /// Starts listening for the other hosts' signals: the listener hears
    /// every signal sent from now on.
    pub fn listen(&self) -> crate::Listener {
        crate::Listener::new(self.backend.listen())
    }
}

/// The pause before retry `attempt` (1, 2, …): uniformly random up to
/// `2^(attempt-1)` ms, at most 32 ms, so colliding transactions spread out.
fn backoff(attempt: usize) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling_us = 1_000u64 << (attempt - 1).min(5);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_usize(attempt);
    std::time::Duration::from_micros(hasher.finish() % ceiling_us)
}

/// Decodes scanned rows of `table`.
pub(crate) fn decode_rows<K: Key, V, C: Codec<V>>(
    table: &'static str,
    rows: RawRows,
) -> Result<Vec<(K, V)>, StoreError> {
    rows.into_iter()
        .map(|(k, v)| {
            let key = key::decode::<K>(&k).map_err(|e| StoreError::Undecodable {
                table,
                reason: format!("key: {e}"),
            })?;
            Ok((key, C::decode(table, &v)?))
        })
        .collect()
}
