//! Host secrets kept in the data directory (`keys/`), created at first start
//! with the operating system's random generator and readable by the owner
//! only.

use std::io::Write;
use std::path::Path;

use cityhost_store::Db;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::tables::HOST_KEYS;
use crate::error::{ServiceError, ServiceResult};

/// The host's secrets.
#[derive(Clone)]
pub struct HostKeys {
    /// The `keys/` directory (also holds the ID-token signing keys, see
    /// `identity::id_tokens`).
    pub dir: std::path::PathBuf,
    /// HMAC-SHA256 key for `openid` / `unionid` derivation.
    pub openid: [u8; 32],
    /// HS256 key for session tokens.
    pub session: [u8; 32],
    /// ChaCha20-Poly1305 key sealing identity numbers at rest.
    pub id_number: [u8; 32],
    /// HMAC-SHA256 key of identity-number blind indexes (lookup without
    /// storing the number).
    pub id_index: [u8; 32],
}

impl HostKeys {
    /// Loads the keys from `dir/keys/`, creating missing ones.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        let dir = data_dir.join("keys");
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir: dir.clone(),
            openid: key_file(&dir.join("openid.key"))?,
            session: key_file(&dir.join("session.key"))?,
            id_number: key_file(&dir.join("id-number.key"))?,
            id_index: key_file(&dir.join("id-index.key"))?,
        })
    }
}

impl HostKeys {
    /// A fingerprint of the four keys (HMAC-SHA256 of a fixed label under
    /// each, hashed together; hex): equal for equal keys, and no help in
    /// finding them.
    pub fn fingerprint(&self) -> String {
        let mut all = Vec::with_capacity(128);
        for key in [&self.openid, &self.session, &self.id_number, &self.id_index] {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
            mac.update(b"cityhost host-key fingerprint");
            all.extend_from_slice(&mac.finalize().into_bytes());
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&all).expect("HMAC takes any key");
        mac.update(b"cityhost host keys");
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Checks that the store was written with these keys, recording their
    /// fingerprint on first use. Every host sharing a store must hold the
    /// same keys (openids, sessions and sealed identity numbers depend on
    /// them). Errors: the store holds another fingerprint
    /// ([`ServiceError::Forbidden`], saying what to copy), or the store
    /// failed.
    pub async fn check_store(&self, db: &Db) -> ServiceResult<()> {
        let mine = self.fingerprint();
        let key = "fingerprint";
        let recorded = db
            .transact(|tx| {
                let mine = mine.clone();
                async move {
                    match tx.get(&HOST_KEYS, key).await? {
                        Some(recorded) => Ok::<_, cityhost_store::StoreError>(recorded),
                        None => {
                            tx.put(&HOST_KEYS, key, &mine).await?;
                            Ok(mine)
                        }
                    }
                }
            })
            .await?;
        if recorded == mine {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "the store was written by hosts with other keys than those in {}: every host \
                 sharing a store needs the same keys; copy keys/ and operator-token from the \
                 data directory of a host that serves this store",
                self.dir.display()
            )))
        }
    }
}

fn key_file(path: &Path) -> std::io::Result<[u8; 32]> {
    if let Ok(bytes) = std::fs::read(path) {
        if let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(key);
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a 32-byte key", path.display()),
        ));
    }
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    write_private(path, &key)?;
    Ok(key)
}

/// Creates `path` (failing if it exists) readable by the owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The operator API's bearer token in `data_dir/operator-token` (created at
/// first start, 32 random bytes in hex, owner-readable only).
pub fn operator_token(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("operator-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    write_private(&path, token.as_bytes())?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_serves_only_hosts_with_its_keys() {
        let (_dir, db) = crate::testing::temp_db();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let keys = HostKeys::load_or_create(a.path()).unwrap();
        keys.check_store(&db).await.unwrap();
        // The same keys again (a restart, or a second host with a copy).
        let copy = HostKeys::load_or_create(a.path()).unwrap();
        assert_eq!(copy.fingerprint(), keys.fingerprint());
        copy.check_store(&db).await.unwrap();
        // Another host's own keys: refused, saying what to copy.
        let other = HostKeys::load_or_create(b.path()).unwrap();
        assert_ne!(other.fingerprint(), keys.fingerprint());
        match other.check_store(&db).await {
            Err(ServiceError::Forbidden(why)) => assert!(why.contains("copy keys/"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
