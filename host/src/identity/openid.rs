//! Per-app identifiers. `openid` = HMAC-SHA256(host key, "openid" ‖ app id ‖
//! citizen id), first 16 bytes in hex: stable for one app and citizen,
//! unlinkable across apps without the host key. `unionid` = HMAC-SHA256(host
//! key, "unionid" ‖ department id ‖ citizen id), the same across one
//! department's apps and different for every other department; the
//! department id is [`department_id`] of the manifest's `[department]`. The host remembers each
//! openid it hands out so that an app can address a citizen it has seen
//! (`notify.send-to`) without ever learning who they are. The index is
//! only ever added to, so the openids handed out recently are kept in a
//! bounded in-memory cache ([`CACHED_OPENIDS`] entries) and a signed-in
//! request pays neither the HMAC nor the index lookup for them.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ServiceResult;
use crate::manifest::Department;
use crate::store::{Store, key, trees};

/// Entries in the cache of openids handed out (`(app id, citizen id)` →
/// openid).
pub const CACHED_OPENIDS: usize = 65_536;

/// Derives and resolves openids.
#[derive(Clone)]
pub struct OpenIds {
    key: [u8; 32],
    tree: sled::Tree,
    /// `(app id, citizen id)` → openid, for openids already in the index.
    handed_out: Arc<quick_cache::sync::Cache<(String, String), String>>,
}

impl OpenIds {
    /// Opens the openid index with the host's HMAC key.
    pub fn open(store: &Store, key: [u8; 32]) -> ServiceResult<Self> {
        Ok(Self {
            key,
            tree: store.tree(trees::OPENIDS)?,
            handed_out: Arc::new(quick_cache::sync::Cache::new(CACHED_OPENIDS)),
        })
    }

    /// The citizen's openid for `app_id` (32 lowercase hex characters),
    /// recorded so that [`OpenIds::resolve`] can find the citizen again.
    pub fn openid(&self, app_id: &str, citizen_id: &str) -> ServiceResult<String> {
        let cache_key = (app_id.to_string(), citizen_id.to_string());
        if let Some(openid) = self.handed_out.get(&cache_key) {
            return Ok(openid);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&key(&[b"openid", app_id.as_bytes(), citizen_id.as_bytes()]));
        let openid = hex::encode(&mac.finalize().into_bytes()[..16]);
        let index = key(&[app_id.as_bytes(), openid.as_bytes()]);
        if !self.tree.contains_key(&index)? {
            self.tree.insert(index, citizen_id.as_bytes())?;
        }
        self.handed_out.insert(cache_key, openid.clone());
        Ok(openid)
    }

    /// The citizen's unionid for a department (see [`department_id`]): 32
    /// lowercase hex characters, the same in every app of that department.
    /// Not indexed: apps address citizens by openid only.
    pub fn unionid(&self, department_id: &str, citizen_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&key(&[
            b"unionid",
            department_id.as_bytes(),
            citizen_id.as_bytes(),
        ]));
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The citizen behind an openid this app has been given, if any.
    pub fn resolve(&self, app_id: &str, openid: &str) -> ServiceResult<Option<String>> {
        Ok(self
            .tree
            .get(key(&[app_id.as_bytes(), openid.as_bytes()]))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }
}

/// A department's identity for unionids: its division code and official
/// name, as the manifest's `[department]` table gives them (two apps of one
/// department declare the same pair).
pub fn department_id(department: &Department) -> String {
    format!("{}:{}", department.division, department.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_per_app_and_unlinkable_across_apps() {
        let dir = tempfile::tempdir().unwrap();
        let ids = OpenIds::open(&Store::open(dir.path()).unwrap(), [7; 32]).unwrap();
        let a = ids.openid("utility-bills", "citizen-1").unwrap();
        assert_eq!(a, ids.openid("utility-bills", "citizen-1").unwrap());
        assert_ne!(a, ids.openid("move-my-car", "citizen-1").unwrap());
        assert_eq!(a.len(), 32);
        assert!(!a.contains("citizen"));
        assert_eq!(
            ids.resolve("utility-bills", &a).unwrap().as_deref(),
            Some("citizen-1")
        );
        assert_eq!(ids.resolve("move-my-car", &a).unwrap(), None);
    }

    #[test]
    fn unionid_is_per_department() {
        let dir = tempfile::tempdir().unwrap();
        let ids = OpenIds::open(&Store::open(dir.path()).unwrap(), [7; 32]).unwrap();
        let u = ids.unionid("3301:杭州住房公积金管理中心", "citizen-1");
        assert_eq!(u, ids.unionid("3301:杭州住房公积金管理中心", "citizen-1"));
        assert_ne!(u, ids.unionid("3301:杭州市水务集团有限公司", "citizen-1"));
        assert_ne!(u, ids.unionid("3301:杭州住房公积金管理中心", "citizen-2"));
        assert_ne!(
            u,
            ids.openid("3301:杭州住房公积金管理中心", "citizen-1")
                .unwrap()
        );
    }
}
