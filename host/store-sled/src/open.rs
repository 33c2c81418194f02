//! Opening the sled database, waiting out a lock held briefly by this
//! process.

use std::path::Path;
use std::time::Duration;

use cityhost_store::StoreError;

/// How long [`open`] waits for sled's file lock.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(2);
/// Pause between attempts to take the lock.
const LOCK_RETRY: Duration = Duration::from_millis(20);

/// Opens (creating if needed) the sled database in `dir`.
///
/// sled locks its files while any handle, or one of its I/O threads still
/// writing for a handle just dropped, has them open. Opening right after the
/// previous owner in this process let go can therefore see the lock for a
/// few milliseconds: the lock is retried for up to 2 s (every 20 ms) before
/// the error is returned (another process holding it keeps it longer).
/// Blocks the calling thread meanwhile.
pub(crate) fn open(dir: &Path) -> Result<sled::Db, StoreError> {
    let config = sled::Config::new().path(dir);
    let mut waited = Duration::ZERO;
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock") && waited < LOCK_WAIT =>
            {
                std::thread::sleep(LOCK_RETRY);
                waited += LOCK_RETRY;
            }
            Err(e) => {
                return Err(StoreError::Backend(format!(
                    "opening {}: {e}",
                    dir.display()
                )));
            }
        }
    }
}

/// A sled error as the seam's error.
pub(crate) fn backend_error(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}
