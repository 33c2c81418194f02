//! Helpers for the host's unit tests.

use cityhost_store::Db;
use cityhost_store_sled::SledBackend;

/// A fresh database in a temporary directory (removed when the `TempDir`
/// drops; keep it alive as long as the `Db`).
pub(crate) fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let backend = SledBackend::open(dir.path()).expect("a database in the temporary directory");
    (dir, Db::new(backend))
}

/// A fresh database in a temporary directory, with a counter of the flushes
/// its backend runs (to show that concurrent `Db::sync`s share them).
pub(crate) fn temp_db_counting_flushes() -> (tempfile::TempDir, Db, Flushes) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let backend = SledBackend::open(dir.path()).expect("a database in the temporary directory");
    (dir, Db::new(backend.clone()), Flushes(backend))
}

/// Counts the flushes (`fsync`s) of a database from [`temp_db_counting_flushes`].
pub(crate) struct Flushes(SledBackend);

impl Flushes {
    /// Flushes run so far.
    pub(crate) fn count(&self) -> u64 {
        self.0.flushes()
    }
}

/// The database in `dir`, opened again (to show what survives a restart).
pub(crate) fn open_db(dir: &std::path::Path) -> Db {
    Db::new(SledBackend::open(dir).expect("the database in the directory"))
}
