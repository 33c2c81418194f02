//! Each app's private key-value storage, with a byte quota per app.
//!
//! Key layout (`app_storage` tree): `app_id \0 key`; usage per app in
//! `app_storage_usage` (u64 BE, bytes of keys plus values). Value and usage
//! change together in one sled transaction, so the quota cannot drift.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{Store, key, trees};

/// Largest key, bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value: 1 MiB.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Default quota per app: 10 MiB (as Alipay and WeChat give a mini program).
pub const DEFAULT_QUOTA_BYTES: u64 = 10 << 20;
/// Most keys one `list_keys` returns.
pub const MAX_LIST: usize = 1000;

/// The apps' storage.
#[derive(Clone)]
pub struct AppStorage {
    data: sled::Tree,
    usage: sled::Tree,
}

impl AppStorage {
    /// Opens the storage trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            data: store.tree(trees::APP_STORAGE)?,
            usage: store.tree(trees::APP_STORAGE_USAGE)?,
        })
    }

    /// The value under `key` in `app_id`'s storage.
    pub fn get(&self, app_id: &str, k: &str) -> ServiceResult<Option<Vec<u8>>> {
        check_key(k)?;
        Ok(self
            .data
            .get(key(&[app_id.as_bytes(), k.as_bytes()]))?
            .map(|v| v.to_vec()))
    }

    /// Stores a value. Errors: `invalid-argument("key" | "value")`,
    /// `quota-exceeded("storage")` when the app's total would pass `quota`.
    pub fn set(&self, app_id: &str, k: &str, value: &[u8], quota: u64) -> ServiceResult<()> {
        check_key(k)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(ServiceError::invalid("value", "use at most 1 MiB"));
        }
        let full_key = key(&[app_id.as_bytes(), k.as_bytes()]);
        let result = (&self.data, &self.usage).transaction(|(data, usage)| {
            let used = read_usage(usage.get(app_id)?);
            let old = data
                .get(&full_key)?
                .map_or(0, |v| (k.len() + v.len()) as u64);
            let new_used = used - old.min(used) + (k.len() + value.len()) as u64;
            if new_used > quota && new_used > used {
                return Err(ConflictableTransactionError::Abort(()));
            }
            data.insert(full_key.as_slice(), value)?;
            usage.insert(app_id.as_bytes(), &new_used.to_be_bytes())?;
            Ok(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(())) => Err(ServiceError::QuotaExceeded("storage")),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Removes a key; returns whether it existed.
    pub fn delete(&self, app_id: &str, k: &str) -> ServiceResult<bool> {
        check_key(k)?;
        let full_key = key(&[app_id.as_bytes(), k.as_bytes()]);
        let result: Result<bool, TransactionError<()>> =
            (&self.data, &self.usage).transaction(|(data, usage)| {
                let Some(old) = data.remove(full_key.as_slice())? else {
                    return Ok(false);
                };
                let used = read_usage(usage.get(app_id)?);
                let freed = (k.len() + old.len()) as u64;
                usage.insert(app_id.as_bytes(), &used.saturating_sub(freed).to_be_bytes())?;
                Ok(true)
            });
        result.map_err(|e| match e {
            TransactionError::Abort(()) => ServiceError::Forbidden("delete aborted".into()),
            TransactionError::Storage(e) => e.into(),
        })
    }

    /// Keys starting with `prefix`, in byte order, at most `limit` (capped at
    /// [`MAX_LIST`]).
    pub fn list_keys(
        &self,
        app_id: &str,
        prefix: &str,
        limit: usize,
    ) -> ServiceResult<Vec<String>> {
        if prefix.len() > MAX_KEY_BYTES {
            return Err(ServiceError::invalid("prefix", "use at most 256 bytes"));
        }
        let scan = key(&[app_id.as_bytes(), prefix.as_bytes()]);
        let skip = app_id.len() + 1;
        self.data
            .scan_prefix(scan)
            .keys()
            .take(limit.min(MAX_LIST))
            .map(|k| Ok(String::from_utf8_lossy(&k?[skip..]).into_owned()))
            .collect()
    }

    /// Bytes the app uses.
    pub fn usage(&self, app_id: &str) -> ServiceResult<u64> {
        Ok(read_usage(self.usage.get(app_id)?))
    }

    /// Whether the app has stored anything.
    pub fn is_empty(&self, app_id: &str) -> ServiceResult<bool> {
        Ok(self
            .data
            .scan_prefix(key(&[app_id.as_bytes(), b""]))
            .next()
            .is_none())
    }
}

fn read_usage(bytes: Option<sled::IVec>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
        .map_or(0, u64::from_be_bytes)
}

fn check_key(k: &str) -> ServiceResult<()> {
    if k.is_empty() || k.len() > MAX_KEY_BYTES || k.contains('\0') {
        return Err(ServiceError::invalid("key", "use 1-256 bytes without NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_isolated_and_quota_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let s = AppStorage::open(&Store::open(dir.path()).unwrap()).unwrap();
        s.set("app-a", "k", b"secret", 100).unwrap();
        assert_eq!(
            s.get("app-a", "k").unwrap().as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(s.get("app-b", "k").unwrap(), None);
        assert_eq!(s.list_keys("app-b", "", 10).unwrap(), Vec::<String>::new());
        assert_eq!(s.usage("app-a").unwrap(), 7);
        // Overwrite accounts for the old value.
        s.set("app-a", "k", &[0; 90], 100).unwrap();
        assert_eq!(s.usage("app-a").unwrap(), 91);
        assert!(matches!(
            s.set("app-a", "k2", &[0; 20], 100),
            Err(ServiceError::QuotaExceeded("storage"))
        ));
        assert!(s.delete("app-a", "k").unwrap());
        assert_eq!(s.usage("app-a").unwrap(), 0);
        assert!(matches!(
            s.get("app-a", ""),
            Err(ServiceError::InvalidArgument { field: "key", .. })
        ));
    }
}
