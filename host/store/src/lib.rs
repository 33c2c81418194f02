//! CityHost's state seam: the one API every domain service uses to keep
//! state, over a pluggable engine ([`Backend`]; sled in
//! `cityhost-store-sled`, PostgreSQL in `cityhost-store-postgres`).
//!
//! * [`Table`]s are typed: a name, a key type ([`Key`]: `String`,
//!   `Vec<u8>`, `u64`, `i64`, tuples of those) and a value codec ([`Json`]
//!   or [`Raw`]). Keys are stored in an order-preserving encoding, so
//!   [`Scan`]s come back in typed key order.
//! * [`Db`] reads committed state and writes single records;
//!   [`Db::transact`] runs a closure over a [`Tx`] as one atomic
//!   transaction (retried on conflicts).
//! * Every failure is a [`StoreError`].
//!
//! ```
//! use cityhost_store::{Db, Scan, StoreError, Table};
//!
//! /// `(citizen_id, created_at ms)` → note.
//! const NOTES: Table<(String, u64), String> = Table::new("notes");
//!
//! async fn add_and_list(db: &Db, citizen: &str) -> Result<Vec<String>, StoreError> {
//!     let now = cityhost_store::now_ms();
//!     db.transact(|tx| async move {
//!         tx.put(&NOTES, (citizen, now), &"hello".to_string()).await?;
//!         Ok::<_, StoreError>(())
//!     })
//!     .await?;
//!     let newest = db.scan(&NOTES, Scan::prefix((citizen,)).rev().limit(10)).await?;
//!     Ok(newest.into_iter().map(|(_, note)| note).collect())
//! }
//! ```

mod backend;
pub mod copy;
mod db;
mod error;
mod key;
mod scan;
mod signal;
mod table;
mod tx;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(test)]
mod mem;
#[cfg(test)]
mod tests;

pub use backend::{Backend, BackendTx, RawRows, Turn};
pub use db::{Db, MAX_ATTEMPTS};
pub use error::StoreError;
pub use key::{Key, KeyError, KeyPrefix, KeyRef};
pub use scan::{RawScan, Scan};
pub use signal::{Heard, Listener, MAX_SIGNAL_BYTES, Signal, signal_fits};
pub use table::{Codec, Json, Raw, Table};
pub use tx::Tx;

/// The current time as UTC milliseconds since the Unix epoch (0 if the
/// clock is set before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Re-exported so backends implement [`Backend`] with the same macro.
pub use async_trait::async_trait;
