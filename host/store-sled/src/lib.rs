//! CityHost's state seam ([`cityhost_store`]) over sled: the host's
//! database in one directory (`<data dir>/db`).
//!
//! * One sled tree per table name.
//! * Write transactions are serialised by one lock held from begin to
//!   commit; a transaction buffers its writes in an overlay that its own
//!   reads and scans consult first, and commit applies them atomically (one
//!   batch for one tree, one sled transaction over several trees). So
//!   nothing ever conflicts and `transact` never retries here.
//! * [`Backend::sync`] is a group commit: concurrent callers share flushes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cityhost_store::StoreError> {
//! use cityhost_store::Db;
//! use cityhost_store_sled::SledBackend;
//! let db = Db::new(SledBackend::open(std::path::Path::new("data/db"))?);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cityhost_store::{Backend, BackendTx, RawRows, RawScan, StoreError, Turn};

mod group;
mod open;
mod tx;

use group::GroupCommit;
use open::backend_error;

/// The sled backend. Cheap to clone (clones share the database).
#[derive(Clone)]
pub struct SledBackend {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    db: sled::Db,
    /// Opened trees by table name.
    trees: Mutex<HashMap<&'static str, sled::Tree>>,
    /// Held by the one running write transaction.
    writer: Arc<tokio::sync::Mutex<()>>,
    group: Arc<GroupCommit>,
}

impl Inner {
    /// The tree of `table`, opened on first use.
    pub(crate) fn tree(&self, table: &'static str) -> Result<sled::Tree, StoreError> {
        let mut trees = self.trees.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tree) = trees.get(table) {
            return Ok(tree.clone());
        }
        let tree = self.db.open_tree(table).map_err(backend_error)?;
        trees.insert(table, tree.clone());
        Ok(tree)
    }

    /// The committed value of `key` in `table`.
    pub(crate) fn get(
        &self,
        table: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.tree(table)?.get(key).map_err(backend_error)?;
        Ok(value.map(|v| v.to_vec()))
    }
}

impl SledBackend {
    /// Opens (creating if needed) the database in `dir`. sled's file lock,
    /// which this process may hold for a few milliseconds after dropping a
    /// previous handle, is retried for up to 2 s; this blocks the calling
    /// thread meanwhile (use `spawn_blocking` from async code). Errors:
    /// [`StoreError::Backend`] — the directory is unusable or another
    /// process holds the database.
    pub fn open(dir: &Path) -> Result<SledBackend, StoreError> {
        Ok(SledBackend {
            inner: Arc::new(Inner {
                db: open::open(dir)?,
                trees: Mutex::new(HashMap::new()),
                writer: Arc::new(tokio::sync::Mutex::new(())),
                group: Arc::new(GroupCommit::default()),
            }),
        })
    }

    /// The names of the tables that exist on disk, sorted (for tools).
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .inner
            .db
            .tree_names()
            .into_iter()
            .filter(|name| name.as_ref() != b"__sled__default")
            .map(|name| String::from_utf8_lossy(&name).into_owned())
            .collect();
        names.sort();
        names
    }

    /// Flushes run by [`Backend::sync`] so far (for tests and benchmarks:
    /// N concurrent syncs cost far fewer than N flushes).
    pub fn flushes(&self) -> u64 {
        self.inner.group.flushes()
    }
}

impl std::fmt::Debug for SledBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledBackend").finish_non_exhaustive()
    }
}

#[cityhost_store::async_trait]
impl Backend for SledBackend {
    async fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(table, key)
    }

    async fn scan(&self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError> {
        if scan.is_empty() {
            return Ok(Vec::new());
        }
        let range = self.inner.tree(table)?.range::<&[u8], _>(scan.bounds());
        let limit = scan.limit.unwrap_or(usize::MAX);
        let rows = |row: sled::Result<(sled::IVec, sled::IVec)>| {
            row.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(backend_error)
        };
        if scan.reverse {
            range.rev().take(limit).map(rows).collect()
        } else {
            range.take(limit).map(rows).collect()
        }
    }

    async fn begin(&self, _turn: Turn) -> Result<Box<dyn BackendTx>, StoreError> {
        let writer = Arc::clone(&self.inner.writer).lock_owned().await;
        Ok(Box::new(tx::SledTx::new(Arc::clone(&self.inner), writer)))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        let db = self.inner.db.clone();
        let flush = move || db.flush().map(drop).map_err(backend_error);
        self.inner.group.sync(flush).await
    }

    async fn next_id(&self) -> Result<u64, StoreError> {
        self.inner.db.generate_id().map_err(backend_error)
    }
}
