//! Per-app identifiers. `openid` = HMAC-SHA256(host key, "openid" ‖ app id ‖
//! citizen id), first 16 bytes in hex: stable for one app and citizen,
//! unlinkable across apps without the host key. `unionid` = HMAC-SHA256(host
//! key, "unionid" ‖ department USCC ‖ citizen id), the same across one
//! department's apps and different for every other department. The
//! department is named by its Unified Social Credit Code (GB 32100-2015,
//! the manifest's `[department] uscc`), so renaming a department or moving
//! it to another division changes no unionid. The host remembers each
//! openid it hands out so that an app can address a citizen it has seen
//! (`notify.send-to`) without ever learning who they are. The index is
//! only ever added to, so the openids handed out recently are kept in a
//! bounded in-memory cache ([`CACHED_OPENIDS`] entries) and a signed-in
//! request pays neither the HMAC nor the index lookup for them.

use std::sync::Arc;

use cityhost_store::Db;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::tables::OPENIDS;
use crate::error::ServiceResult;

/// Entries in the cache of openids handed out (`(app id, citizen id)` →
/// openid).
pub const CACHED_OPENIDS: usize = 65_536;

/// Whether `text` has an openid's shape: 32 lowercase hex characters (what
/// [`OpenIds::openid`] hands out).
pub fn is_openid(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Derives and resolves openids.
#[derive(Clone)]
pub struct OpenIds {
    key: [u8; 32],
    db: Db,
    /// `(app id, citizen id)` → openid, for openids already in the index.
    handed_out: Arc<quick_cache::sync::Cache<(String, String), String>>,
}

impl OpenIds {
    /// The openid index in `db`, derived with the host's HMAC key.
    pub fn new(db: Db, key: [u8; 32]) -> Self {
        Self {
            key,
            db,
            handed_out: Arc::new(quick_cache::sync::Cache::new(CACHED_OPENIDS)),
        }
    }

    /// The citizen's openid for `app_id` (32 lowercase hex characters),
    /// recorded so that [`OpenIds::resolve`] can find the citizen again.
    pub async fn openid(&self, app_id: &str, citizen_id: &str) -> ServiceResult<String> {
        let cache_key = (app_id.to_string(), citizen_id.to_string());
        if let Some(openid) = self.handed_out.get(&cache_key) {
            return Ok(openid);
        }
        let openid = self.peek(app_id, citizen_id);
        let index = (app_id, openid.as_str());
        if !self.db.contains(&OPENIDS, index).await? {
            self.db
                .put(&OPENIDS, index, &citizen_id.to_string())
                .await?;
        }
        self.handed_out.insert(cache_key, openid.clone());
        Ok(openid)
    }

    /// The citizen's openid for `app_id`, as [`OpenIds::openid`] gives it,
    /// without recording it as handed out: for the host's own choices (which
    /// release a citizen sees), never for an app.
    pub fn peek(&self, app_id: &str, citizen_id: &str) -> String {
        self.derive(b"openid", app_id, citizen_id)
    }

    /// The citizen's unionid for the department whose Unified Social Credit
    /// Code is `department_uscc` (the manifest's `[department] uscc`, e.g.
    /// `12330100470104496C`): 32 lowercase hex characters, the same in
    /// every app of that department whatever its name. Not indexed: apps
    /// address citizens by openid only.
    pub fn unionid(&self, department_uscc: &str, citizen_id: &str) -> String {
        self.derive(b"unionid", department_uscc, citizen_id)
    }

    /// The citizen behind an openid this app has been given, if any.
    pub async fn resolve(&self, app_id: &str, openid: &str) -> ServiceResult<Option<String>> {
        Ok(self.db.get(&OPENIDS, (app_id, openid)).await?)
    }

    /// HMAC-SHA256 under the host key of `label \0 scope \0 citizen_id`,
    /// the first 16 bytes in lowercase hex. (The `\0`-joined message is
    /// part of the derivation: changing it would change every openid and
    /// unionid already handed out.)
    fn derive(&self, label: &[u8], scope: &str, citizen_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(label);
        mac.update(b"\0");
        mac.update(scope.as_bytes());
        mac.update(b"\0");
        mac.update(citizen_id.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stable_per_app_and_unlinkable_across_apps() {
        let (_dir, db) = crate::testing::temp_db();
        let ids = OpenIds::new(db, [7; 32]);
        let a = ids.openid("utility-bills", "citizen-1").await.unwrap();
        assert_eq!(a, ids.openid("utility-bills", "citizen-1").await.unwrap());
        assert_ne!(a, ids.openid("move-my-car", "citizen-1").await.unwrap());
        assert_eq!(a.len(), 32);
        assert!(!a.contains("citizen"));
        assert_eq!(
            ids.resolve("utility-bills", &a).await.unwrap().as_deref(),
            Some("citizen-1")
        );
        assert_eq!(ids.resolve("move-my-car", &a).await.unwrap(), None);
    }

    #[tokio::test]
    async fn derivation_is_unchanged() {
        // HMAC-SHA256(key, "openid\0app\0citizen") and the same for
        // unionids, first 16 bytes: the identifiers apps already hold.
        let (_dir, db) = crate::testing::temp_db();
        let ids = OpenIds::new(db, [7; 32]);
        let expected = |message: &[u8]| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
            mac.update(message);
            hex::encode(&mac.finalize().into_bytes()[..16])
        };
        assert_eq!(
            ids.openid("utility-bills", "citizen-1").await.unwrap(),
            expected(b"openid\0utility-bills\0citizen-1")
        );
        assert_eq!(
            ids.unionid("12330100470104496C", "citizen-1"),
            expected(b"unionid\x0012330100470104496C\0citizen-1")
        );
    }

    #[tokio::test]
    async fn unionid_is_per_department() {
        let (_dir, db) = crate::testing::temp_db();
        let ids = OpenIds::new(db, [7; 32]);
        let u = ids.unionid("12330100470104496C", "citizen-1");
        assert_eq!(u, ids.unionid("12330100470104496C", "citizen-1"));
        assert_ne!(u, ids.unionid("91330100143044481D", "citizen-1"));
        assert_ne!(u, ids.unionid("12330100470104496C", "citizen-2"));
        assert_ne!(
            u,
            ids.openid("12330100470104496C", "citizen-1").await.unwrap()
        );
    }
}
