//! Write transactions: serialised by one lock, buffered in an overlay,
//! applied atomically at commit.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use cityhost_store::{BackendTx, RawRows, RawScan, StoreError};
use tokio::sync::OwnedMutexGuard;

use crate::Inner;
use crate::open::backend_error;

/// Buffered writes of one table: key → new value (`None`: deleted).
type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One write transaction. It holds the backend's write lock from begin to
/// commit, so no other transaction writes meanwhile: the trees are the
/// committed state, nothing can conflict, and reads through the overlay are
/// serialisable.
pub(crate) struct SledTx {
    inner: Arc<Inner>,
    overlay: BTreeMap<&'static str, Writes>,
    _writer: OwnedMutexGuard<()>,
}

impl SledTx {
    pub(crate) fn new(inner: Arc<Inner>, writer: OwnedMutexGuard<()>) -> Self {
        Self {
            inner,
            overlay: BTreeMap::new(),
            _writer: writer,
        }
    }
}

#[cityhost_store::async_trait]
impl BackendTx for SledTx {
    async fn get(
        &mut self,
        table: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(written) = self.overlay.get(table).and_then(|w| w.get(key)) {
            return Ok(written.clone());
        }
        self.inner.get(table, key)
    }

    async fn scan(&mut self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError> {
        if scan.is_empty() {
            return Ok(Vec::new());
        }
        let tree = self.inner.tree(table)?;
        let tree_rows = tree.range::<&[u8], _>(scan.bounds()).map(|row| {
            row.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(backend_error)
        });
        let written = self
            .overlay
            .get(table)
            .into_iter()
            .flat_map(|w| w.range::<[u8], _>(scan.bounds()));
        if scan.reverse {
            merge(tree_rows.rev(), written.rev(), true, scan.limit)
        } else {
            merge(tree_rows, written, false, scan.limit)
        }
    }

    async fn put(
        &mut self,
        table: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.overlay
            .entry(table)
            .or_default()
            .insert(key, Some(value));
        Ok(())
    }

    async fn delete(&mut self, table: &'static str, key: Vec<u8>) -> Result<(), StoreError> {
        self.overlay.entry(table).or_default().insert(key, None);
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let mut touched = Vec::new();
        for (table, writes) in &self.overlay {
            if writes.is_empty() {
                continue;
            }
            let mut batch = sled::Batch::default();
            for (key, value) in writes {
                match value {
                    Some(value) => batch.insert(key.as_slice(), value.as_slice()),
                    None => batch.remove(key.as_slice()),
                }
            }
            touched.push((self.inner.tree(table)?, batch));
        }
        match touched.as_slice() {
            [] => Ok(()),
            [(tree, batch)] => tree.apply_batch(batch.clone()).map_err(backend_error),
            _ => {
                let (trees, batches): (Vec<sled::Tree>, Vec<sled::Batch>) =
                    touched.into_iter().unzip();
                use sled::Transactional;
                trees
                    .as_slice()
                    .transaction(|views| {
                        for (view, batch) in views.iter().zip(&batches) {
                            view.apply_batch(batch)?;
                        }
                        Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                    })
                    .map_err(|e| match e {
                        sled::transaction::TransactionError::Storage(e) => backend_error(e),
                        sled::transaction::TransactionError::Abort(()) => {
                            StoreError::Backend("multi-table commit aborted".into())
                        }
                    })
            }
        }
        // The write lock is released when `self` drops here.
    }

    async fn rollback(self: Box<Self>) {}
}

/// Merges committed rows (`tree`) with the transaction's writes, both in
/// scan direction: a write replaces the committed row with its key, a
/// deletion hides it. Stops after `limit` rows.
fn merge<'w>(
    tree: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>>,
    written: impl Iterator<Item = (&'w Vec<u8>, &'w Option<Vec<u8>>)>,
    reverse: bool,
    limit: Option<usize>,
) -> Result<RawRows, StoreError> {
    let limit = limit.unwrap_or(usize::MAX);
    let mut tree = tree;
    let mut next_committed = tree.next().transpose()?;
    let mut written = written.peekable();
    let mut out = Vec::new();
    while out.len() < limit {
        let order = match (&next_committed, written.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((committed, _)), Some((key, _))) => {
                let order = committed.as_slice().cmp(key.as_slice());
                if reverse { order.reverse() } else { order }
            }
        };
        if order != Ordering::Greater {
            let row = next_committed.take();
            next_committed = tree.next().transpose()?;
            if order == Ordering::Less {
                out.extend(row);
                continue;
            }
        }
        if let Some((key, Some(value))) = written.next() {
            out.push((key.clone(), value.clone()));
        }
    }
    Ok(out)
}
