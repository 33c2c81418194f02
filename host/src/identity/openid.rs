//! Per-app identifiers. `openid` = HMAC-SHA256(host key, "openid" ‖ app id ‖
//! citizen id), first 16 bytes in hex: stable for one app and citizen,
//! unlinkable across apps without the host key. The host remembers each
//! openid it hands out so that an app can address a citizen it has seen
//! (`notify.send-to`) without ever learning who they are.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ServiceResult;
use crate::store::{Store, key, trees};

/// Derives and resolves openids.
#[derive(Clone)]
pub struct OpenIds {
    key: [u8; 32],
    tree: sled::Tree,
}

impl OpenIds {
    /// Opens the openid index with the host's HMAC key.
    pub fn open(store: &Store, key: [u8; 32]) -> ServiceResult<Self> {
        Ok(Self {
            key,
            tree: store.tree(trees::OPENIDS)?,
        })
    }

    /// The citizen's openid for `app_id` (32 lowercase hex characters),
    /// recorded so that [`OpenIds::resolve`] can find the citizen again.
    pub fn openid(&self, app_id: &str, citizen_id: &str) -> ServiceResult<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(&key(&[b"openid", app_id.as_bytes(), citizen_id.as_bytes()]));
        let openid = hex::encode(&mac.finalize().into_bytes()[..16]);
        let index = key(&[app_id.as_bytes(), openid.as_bytes()]);
        if !self.tree.contains_key(&index)? {
            self.tree.insert(index, citizen_id.as_bytes())?;
        }
        Ok(openid)
    }

    /// The citizen behind an openid this app has been given, if any.
    pub fn resolve(&self, app_id: &str, openid: &str) -> ServiceResult<Option<String>> {
        Ok(self
            .tree
            .get(key(&[app_id.as_bytes(), openid.as_bytes()]))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }
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
}
