//! Host secrets kept in the data directory (`keys/`), created at first start
//! with the operating system's random generator and readable by the owner
//! only.

use std::io::Write;
use std::path::Path;

use rand::RngCore;

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
