//! Each app's private key-value storage, with a byte quota per app.
//!
//! Tables: `app_storage` (`(app_id, key)` → value bytes) and
//! `app_storage_usage` (`app_id` → bytes of keys plus values). A value and
//! its app's usage change together in one transaction, so the quota is
//! exact however many calls of one app run at once.

use cityhost_store::{Db, Scan};

use crate::error::{ServiceError, ServiceResult};
use tables::{APP_STORAGE, APP_STORAGE_USAGE};

/// The storage tables.
pub(crate) mod tables {
    use cityhost_store::{Raw, Table};

    /// `(app_id, key)` → value bytes.
    pub(crate) const APP_STORAGE: Table<(String, String), Vec<u8>, Raw> = Table::new("app_storage");
    /// `app_id` → bytes the app uses (keys plus values).
    pub(crate) const APP_STORAGE_USAGE: Table<String, u64> = Table::new("app_storage_usage");
}

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
    db: Db,
}

impl AppStorage {
    /// The storage over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The value under `key` in `app_id`'s storage.
    pub async fn get(&self, app_id: &str, key: &str) -> ServiceResult<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(self.db.get(&APP_STORAGE, (app_id, key)).await?)
    }

    /// Stores a value. Errors: `invalid-argument("key" | "value")`,
    /// `quota-exceeded("storage")` when the app's total would pass `quota`
    /// bytes (an overwrite that does not grow the total is always allowed).
    pub async fn set(
        &self,
        app_id: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> ServiceResult<()> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(ServiceError::invalid("value", "use at most 1 MiB"));
        }
        let value = value.to_vec();
        self.db
            .transact(|tx| {
                let value = &value;
                async move {
                    let used = tx.get(&APP_STORAGE_USAGE, app_id).await?.unwrap_or(0);
                    let old = tx
                        .get(&APP_STORAGE, (app_id, key))
                        .await?
                        .map_or(0, |v| (key.len() + v.len()) as u64);
                    let new_used = used - old.min(used) + (key.len() + value.len()) as u64;
                    if new_used > quota && new_used > used {
                        return Err(ServiceError::QuotaExceeded("storage"));
                    }
                    tx.put(&APP_STORAGE, (app_id, key), value).await?;
                    tx.put(&APP_STORAGE_USAGE, app_id, &new_used).await?;
                    Ok(())
                }
            })
            .await
    }

    /// Removes a key; returns whether it existed.
    pub async fn delete(&self, app_id: &str, key: &str) -> ServiceResult<bool> {
        check_key(key)?;
        self.db
            .transact(|tx| async move {
                let Some(old) = tx.get(&APP_STORAGE, (app_id, key)).await? else {
                    return Ok(false);
                };
                let used = tx.get(&APP_STORAGE_USAGE, app_id).await?.unwrap_or(0);
                let freed = (key.len() + old.len()) as u64;
                tx.delete(&APP_STORAGE, (app_id, key)).await?;
                tx.put(&APP_STORAGE_USAGE, app_id, &used.saturating_sub(freed))
                    .await?;
                Ok::<_, ServiceError>(true)
            })
            .await
    }

    /// Keys starting with `prefix`, in byte order, at most `limit` (capped at
    /// [`MAX_LIST`]).
    pub async fn list_keys(
        &self,
        app_id: &str,
        prefix: &str,
        limit: usize,
    ) -> ServiceResult<Vec<String>> {
        if prefix.len() > MAX_KEY_BYTES {
            return Err(ServiceError::invalid("prefix", "use at most 256 bytes"));
        }
        // Keys starting with `prefix` are exactly those from `prefix` up to
        // its successor; without one (an empty prefix, or one of U+10FFFF
        // only), up to the end of the app's keys: `(app_id + "\0", "")` is
        // above every `(app_id, _)` (app ids hold no NUL).
        let end = match successor(prefix) {
            Some(next) => (app_id.to_string(), next),
            None => (format!("{app_id}\0"), String::new()),
        };
        let scan = Scan::range((app_id, prefix), &end).limit(limit.min(MAX_LIST));
        Ok(self
            .db
            .scan(&APP_STORAGE, scan)
            .await?
            .into_iter()
            .map(|((_, key), _)| key)
            .collect())
    }

    /// Bytes the app uses.
    pub async fn usage(&self, app_id: &str) -> ServiceResult<u64> {
        Ok(self.db.get(&APP_STORAGE_USAGE, app_id).await?.unwrap_or(0))
    }

    /// Whether the app has stored anything.
    pub async fn is_empty(&self, app_id: &str) -> ServiceResult<bool> {
        let first = Scan::prefix((app_id,)).limit(1);
        Ok(self.db.scan(&APP_STORAGE, first).await?.is_empty())
    }
}

/// The smallest string greater than every string that starts with
/// `prefix`: the prefix with its last character replaced by the next one
/// (after dropping trailing U+10FFFF, which has none). `None` for an empty
/// prefix or one of U+10FFFF only. UTF-8 byte order is character order, so
/// this bounds the prefix's keys in the table's order too.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn check_key(key: &str) -> ServiceResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.contains('\0') {
        return Err(ServiceError::invalid("key", "use 1-256 bytes without NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    #[tokio::test]
    async fn apps_are_isolated_and_quota_is_exact() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        s.set("app-a", "k", b"secret", 100).await.unwrap();
        assert_eq!(
            s.get("app-a", "k").await.unwrap().as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(s.get("app-b", "k").await.unwrap(), None);
        assert_eq!(
            s.list_keys("app-b", "", 10).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(s.usage("app-a").await.unwrap(), 7);
        // Overwrite accounts for the old value.
        s.set("app-a", "k", &[0; 90], 100).await.unwrap();
        assert_eq!(s.usage("app-a").await.unwrap(), 91);
        assert!(matches!(
            s.set("app-a", "k2", &[0; 20], 100).await,
            Err(ServiceError::QuotaExceeded("storage"))
        ));
        // The refused value left nothing behind.
        assert_eq!(s.get("app-a", "k2").await.unwrap(), None);
        assert_eq!(s.usage("app-a").await.unwrap(), 91);
        assert!(s.delete("app-a", "k").await.unwrap());
        assert!(!s.delete("app-a", "k").await.unwrap());
        assert_eq!(s.usage("app-a").await.unwrap(), 0);
        assert!(s.is_empty("app-a").await.unwrap());
        assert!(matches!(
            s.get("app-a", "").await,
            Err(ServiceError::InvalidArgument { field: "key", .. })
        ));
    }

    #[tokio::test]
    async fn list_keys_is_by_prefix_in_order_within_the_app() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        for key in ["b", "a/2", "a/1", "a", "ab", "a\u{10FFFF}", "\u{10FFFF}x"] {
            s.set("app-a", key, b"v", 1000).await.unwrap();
        }
        s.set("app-b", "a/3", b"v", 1000).await.unwrap();
        s.set("app-a0", "a/4", b"v", 1000).await.unwrap();
        let list =
            async |prefix: &str, limit: usize| s.list_keys("app-a", prefix, limit).await.unwrap();
        assert_eq!(
            list("", 100).await,
            ["a", "a/1", "a/2", "ab", "a\u{10FFFF}", "b", "\u{10FFFF}x"]
        );
        assert_eq!(list("a/", 100).await, ["a/1", "a/2"]);
        assert_eq!(
            list("a", 100).await,
            ["a", "a/1", "a/2", "ab", "a\u{10FFFF}"]
        );
        assert_eq!(list("a", 2).await, ["a", "a/1"]);
        assert_eq!(list("\u{10FFFF}", 100).await, ["\u{10FFFF}x"]);
        assert!(list("c", 100).await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn usage_is_exact_under_concurrent_calls() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        // 50 calls at once on 10 keys: sets of growing values and deletes.
        let calls = (0..50usize).map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let key = format!("k{}", i % 10);
                if i % 7 == 3 {
                    s.delete("app-a", &key).await.map(|_| ())
                } else {
                    s.set("app-a", &key, &vec![1; i], 1 << 20).await
                }
            })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap().unwrap();
        }
        let mut expected = 0;
        for key in s.list_keys("app-a", "", 100).await.unwrap() {
            expected += (key.len() + s.get("app-a", &key).await.unwrap().unwrap().len()) as u64;
        }
        assert!(expected > 0);
        assert_eq!(s.usage("app-a").await.unwrap(), expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_quota_holds_under_concurrent_calls() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        // 40 entries of 10 bytes (a 3-byte key, a 7-byte value) at once
        // against a quota of 100 bytes: exactly 10 fit, whatever the
        // interleaving.
        let calls: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.set("app-a", &format!("k{i:02}"), &[0; 7], 100).await })
            })
            .collect();
        let mut stored = 0;
        for call in calls {
            match call.await.unwrap() {
                Ok(()) => stored += 1,
                Err(ServiceError::QuotaExceeded("storage")) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(stored, 10);
        assert_eq!(s.usage("app-a").await.unwrap(), 100);
    }
}
