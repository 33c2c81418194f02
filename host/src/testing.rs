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
