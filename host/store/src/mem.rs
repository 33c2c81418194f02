//! An in-memory [`Backend`] for the seam's own tests, with injectable
//! conflicts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::backend::{Backend, BackendTx, RawRows};
use crate::error::StoreError;
use crate::scan::RawScan;

type Map = BTreeMap<(&'static str, Vec<u8>), Vec<u8>>;
/// A buffered write: table and key, new value (`None`: deleted).
type Write = ((&'static str, Vec<u8>), Option<Vec<u8>>);

/// Committed records plus fault injection; clones share state.
#[derive(Clone, Default)]
pub(crate) struct MemBackend {
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    map: Mutex<Map>,
    /// The next this many commits report `Conflict`.
    commit_conflicts: AtomicUsize,
    /// The next this many transactional reads report `Conflict`.
    read_conflicts: AtomicUsize,
    /// Transactions begun.
    begun: AtomicUsize,
}

impl MemBackend {
    pub(crate) fn fail_commits(&self, n: usize) {
        self.state.commit_conflicts.store(n, Ordering::SeqCst);
    }

    pub(crate) fn fail_reads(&self, n: usize) {
        self.state.read_conflicts.store(n, Ordering::SeqCst);
    }

    pub(crate) fn begun(&self) -> usize {
        self.state.begun.load(Ordering::SeqCst)
    }

    pub(crate) fn len(&self) -> usize {
        self.state.map.lock().unwrap().len()
    }
}

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn scan_map(map: &Map, table: &'static str, scan: &RawScan) -> RawRows {
    let rows = map
        .iter()
        .filter(|((t, k), _)| *t == table && scan.contains(k))
        .map(|((_, k), v)| (k.clone(), v.clone()));
    let limit = scan.limit.unwrap_or(usize::MAX);
    if scan.reverse {
        rows.rev().take(limit).collect()
    } else {
        rows.take(limit).collect()
    }
}

#[async_trait::async_trait]
impl Backend for MemBackend {
    async fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .state
            .map
            .lock()
            .unwrap()
            .get(&(table, key.to_vec()))
            .cloned())
    }

    async fn scan(&self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError> {
        Ok(scan_map(&self.state.map.lock().unwrap(), table, scan))
    }

    async fn begin(&self, _turn: crate::Turn) -> Result<Box<dyn BackendTx>, StoreError> {
        self.state.begun.fetch_add(1, Ordering::SeqCst);
        let snapshot = self.state.map.lock().unwrap().clone();
        Ok(Box::new(MemTx {
            backend: self.clone(),
            view: snapshot,
            writes: Vec::new(),
        }))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.state.begun.load(Ordering::SeqCst) as u64)
    }
}

/// A snapshot with the transaction's writes applied, and the writes.
struct MemTx {
    backend: MemBackend,
    view: Map,
    writes: Vec<Write>,
}

#[async_trait::async_trait]
impl BackendTx for MemTx {
    async fn get(
        &mut self,
        table: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if take_one(&self.backend.state.read_conflicts) {
            return Err(StoreError::Conflict);
        }
        Ok(self.view.get(&(table, key.to_vec())).cloned())
    }

    async fn scan(&mut self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError> {
        Ok(scan_map(&self.view, table, scan))
    }

    async fn put(
        &mut self,
        table: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.view.insert((table, key.clone()), value.clone());
        self.writes.push(((table, key), Some(value)));
        Ok(())
    }

    async fn delete(&mut self, table: &'static str, key: Vec<u8>) -> Result<(), StoreError> {
        self.view.remove(&(table, key.clone()));
        self.writes.push(((table, key), None));
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        if take_one(&self.backend.state.commit_conflicts) {
            return Err(StoreError::Conflict);
        }
        let mut map = self.backend.state.map.lock().unwrap();
        for (key, value) in self.writes {
            match value {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(())
    }

    async fn rollback(self: Box<Self>) {}
}
