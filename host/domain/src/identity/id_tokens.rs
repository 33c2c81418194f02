//! ID tokens for departments' backends: short-lived JWTs signed by the host
//! with EdDSA (Ed25519) through `jsonwebtoken`, and the public keys that
//! verify them, published as a JWK Set at `/.well-known/jwks.json`.
//!
//! A token says, for one app: `iss` = the host's base URL, `aud` = the app
//! id, `sub` = the citizen's openid for that app, `iat`/`nbf`/`exp` (UTC
//! seconds, `exp` = `iat` + [`TOKEN_LIFETIME_SECS`]), `jti` (UUID), `acr`
//! (`L1`/`L2`), `scope` (the granted scopes, space-separated) and only the
//! claims of those scopes. The header carries `kid`.
//!
//! Keys live in `keys/id-token-keys.json` in the data directory (owner
//! read/write only), created at first start. `cityhost rotate-id-key` adds
//! a new signing key and retires the old one, which stays published for
//! [`PUBLISH_RETIRED_SECS`] so that every token it signed can still be
//! verified until it expires; the running host notices the file's change
//! on its next use.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cityhost_store::now_ms;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};

/// Lifetime of an ID token: 5 minutes (at most 10 by the platform's rule).
pub const TOKEN_LIFETIME_SECS: u64 = 5 * 60;
/// How long a retired key stays in the JWK Set: the token lifetime plus a
/// minute for clock skew between the host and a backend.
pub const PUBLISH_RETIRED_SECS: u64 = TOKEN_LIFETIME_SECS + 60;
/// File of the signing keys, under `keys/` in the data directory.
pub const KEY_FILE: &str = "id-token-keys.json";

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the 32-byte seed
/// follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The claims of an ID token. Optional claims are present only when their
/// scope is granted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdClaims {
    /// Issuer: the host's base URL.
    pub iss: String,
    /// Audience: the app id.
    pub aud: String,
    /// Subject: the citizen's openid for the app.
    pub sub: String,
    /// Issued at, UTC seconds.
    pub iat: u64,
    /// Not before, UTC seconds (= `iat`).
    pub nbf: u64,
    /// Expiry, UTC seconds.
    pub exp: u64,
    /// Token id (UUID v4).
    pub jti: String,
    /// Assurance level: `L1` or `L2`.
    pub acr: String,
    /// Granted scopes, space-separated (`auth_base auth_user`).
    pub scope: String,
    /// `auth_base`: the citizen's unionid for the app's department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// `auth_user`: masked name (`*三`); `auth_id_number`: full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `auth_user`: masked identity number (`3****************X`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number_masked: Option<String>,
    /// `auth_id_number`: full identity number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// `auth_user` with `gender` asked: `male` or `female`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `auth_user` with `birth-year` asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u16>,
}

/// One signing key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    /// Key id (16 hex characters).
    kid: String,
    /// Ed25519 seed, base64.
    seed: String,
    /// Creation time, UTC seconds.
    created_at: u64,
    /// When it stopped signing, UTC seconds.
    #[serde(default)]
    retired_at: Option<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

impl KeyFile {
    fn read(path: &Path) -> std::io::Result<Option<KeyFile>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the file atomically (a private temporary file renamed over it).
    fn write(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self).expect("key file serialises"))?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    fn active(&self) -> Option<&StoredKey> {
        self.keys.iter().rev().find(|k| k.retired_at.is_none())
    }

    fn add_key(&mut self, now: u64) -> String {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let mut kid = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut kid);
        let kid = hex::encode(kid);
        self.keys.push(StoredKey {
            kid: kid.clone(),
            seed: STANDARD.encode(seed),
            created_at: now,
            retired_at: None,
        });
        kid
    }
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join(KEY_FILE)
}

/// Creates the key file with one signing key if it does not exist.
pub fn ensure_keys(data_dir: &Path) -> std::io::Result<()> {
    let path = key_path(data_dir);
    if KeyFile::read(&path)?.is_some_and(|f| f.active().is_some()) {
        return Ok(());
    }
    std::fs::create_dir_all(path.parent().expect("keys/ has a parent"))?;
    let mut file = KeyFile::default();
    file.add_key(now_secs());
    file.write(&path)
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    /// The new signing key.
    pub new_kid: String,
    /// The key it replaces, still published for [`PUBLISH_RETIRED_SECS`].
    pub retired_kid: Option<String>,
    /// Keys retired long enough ago that no valid token needs them, removed.
    pub removed_kids: Vec<String>,
}

/// Rotates the signing key in `data_dir`: a new key signs from now on, the
/// old one is retired (kept in the JWK Set until its tokens have expired),
/// keys retired more than [`PUBLISH_RETIRED_SECS`] ago are removed. Safe to
/// run while the host serves (the file is replaced atomically).
pub fn rotate(data_dir: &Path) -> std::io::Result<Rotation> {
    ensure_keys(data_dir)?;
    let path = key_path(data_dir);
    let mut file = KeyFile::read(&path)?.unwrap_or_default();
    let now = now_secs();
    let mut retired_kid = None;
    for key in &mut file.keys {
        if key.retired_at.is_none() {
            key.retired_at = Some(now);
            retired_kid = Some(key.kid.clone());
        }
    }
    let mut removed_kids = Vec::new();
    file.keys.retain(|k| {
        let keep = k.retired_at.is_none_or(|t| t + PUBLISH_RETIRED_SECS > now);
        if !keep {
            removed_kids.push(k.kid.clone());
        }
        keep
    });
    let new_kid = file.add_key(now);
    file.write(&path)?;
    Ok(Rotation {
        new_kid,
        retired_kid,
        removed_kids,
    })
}

/// What tells one version of the key file from another: modification
/// time, length and (on Unix) inode — the file is replaced by a rename, so
/// a new version has a new inode even within one timestamp tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

/// The loaded key file.
struct Loaded {
    stamp: FileStamp,
    kid: String,
    signing: EncodingKey,
    published: Vec<(Option<u64>, Jwk)>,
}

/// Mints ID tokens and publishes the JWK Set.
pub struct IdTokens {
    data_dir: PathBuf,
    path: PathBuf,
    issuer: String,
    loaded: RwLock<Option<std::sync::Arc<Loaded>>>,
}

impl IdTokens {
    /// Opens the keys of `data_dir` (creating the first one) for tokens
    /// issued by `issuer` (the host's base URL, no trailing slash).
    pub fn open(data_dir: &Path, issuer: &str) -> std::io::Result<Self> {
        ensure_keys(data_dir)?;
        let tokens = Self {
            data_dir: data_dir.to_path_buf(),
            path: key_path(data_dir),
            issuer: issuer.trim_end_matches('/').to_string(),
            loaded: RwLock::new(None),
        };
        tokens.current()?;
        Ok(tokens)
    }

    /// Rotates the signing key of this host's data directory (see
    /// [`rotate`]); the next token is signed with the new key.
    pub fn rotate(&self) -> std::io::Result<Rotation> {
        let rotation = rotate(&self.data_dir)?;
        // Forget the cached file even if its modification time did not move.
        *self.loaded.write().expect("key lock") = None;
        Ok(rotation)
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key file as last read, re-read when it was replaced.
    fn current(&self) -> std::io::Result<std::sync::Arc<Loaded>> {
        let stamp = FileStamp::of(&self.path)?;
        if let Some(loaded) = self.loaded.read().expect("key lock").as_ref()
            && loaded.stamp == stamp
            && stamp.modified.is_some()
        {
            return Ok(loaded.clone());
        }
        let file = KeyFile::read(&self.path)?.unwrap_or_default();
        let invalid = |why: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {why}", self.path.display()),
            )
        };
        let active = file.active().ok_or_else(|| invalid("no active key"))?;
        let mut published = Vec::new();
        let mut signing = None;
        for key in &file.keys {
            let seed = STANDARD
                .decode(&key.seed)
                .ok()
                .filter(|s| s.len() == 32)
                .ok_or_else(|| invalid("a key is not a 32-byte seed"))?;
            let mut der = PKCS8_ED25519_PREFIX.to_vec();
            der.extend_from_slice(&seed);
            let encoding = EncodingKey::from_ed_der(&der);
            let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)
                .map_err(|e| invalid(&e.to_string()))?;
            jwk.common.key_id = Some(key.kid.clone());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            published.push((key.retired_at, jwk));
            if key.kid == active.kid {
                signing = Some(encoding);
            }
        }
        let loaded = std::sync::Arc::new(Loaded {
            stamp,
            kid: active.kid.clone(),
            signing: signing.expect("the active key is among the keys"),
            published,
        });
        *self.loaded.write().expect("key lock") = Some(loaded.clone());
        Ok(loaded)
    }

    fn keys(&self) -> ServiceResult<std::sync::Arc<Loaded>> {
        self.current().map_err(|e| {
            tracing::error!(error = %e, "ID-token keys");
            ServiceError::Unavailable(
                "ID tokens are unavailable: the host's signing key cannot be read".into(),
            )
        })
    }

    /// Signs a token with the active key. `claims` holds the citizen's data;
    /// the time claims, `iss` and `jti` are set here.
    pub fn mint(&self, mut claims: IdClaims) -> ServiceResult<String> {
        let keys = self.keys()?;
        let now = now_secs();
        claims.iss = self.issuer.clone();
        claims.iat = now;
        claims.nbf = now;
        claims.exp = now + TOKEN_LIFETIME_SECS;
        claims.jti = uuid::Uuid::new_v4().to_string();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &claims, &keys.signing).map_err(|e| {
            tracing::error!(error = %e, "signing an ID token");
            ServiceError::Unavailable("ID tokens are unavailable: signing failed".into())
        })
    }

    /// Signs `claims` as a JWT (EdDSA, `typ` = `typ`) with the active key,
    /// as is: for statements of the host other than ID tokens (the audit
    /// log's checkpoints), verifiable with the same [`IdTokens::jwks`].
    pub fn sign<C: serde::Serialize>(&self, typ: &str, claims: &C) -> ServiceResult<String> {
        let keys = self.keys()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.kid.clone());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &keys.signing).map_err(|e| {
            tracing::error!(error = %e, "signing a statement");
            ServiceError::Unavailable("signing is unavailable".into())
        })
    }

    /// The public keys: the active one and those retired less than
    /// [`PUBLISH_RETIRED_SECS`] ago.
    pub fn jwks(&self) -> ServiceResult<JwkSet> {
        let keys = self.keys()?;
        let now = now_secs();
        Ok(JwkSet {
            keys: keys
                .published
                .iter()
                .filter(|(retired, _)| retired.is_none_or(|t| t + PUBLISH_RETIRED_SECS > now))
                .map(|(_, jwk)| jwk.clone())
                .collect(),
        })
    }

    /// The id of the key that signs now.
    pub fn active_kid(&self) -> ServiceResult<String> {
        Ok(self.keys()?.kid.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn claims() -> IdClaims {
        IdClaims {
            iss: String::new(),
            aud: "housing-fund".into(),
            sub: "0123456789abcdef0123456789abcdef".into(),
            iat: 0,
            nbf: 0,
            exp: 0,
            jti: String::new(),
            acr: "L2".into(),
            scope: "auth_base".into(),
            unionid: None,
            name: None,
            id_number_masked: None,
            id_number: None,
            gender: None,
            birth_year: None,
        }
    }

    #[test]
    fn mints_verifiable_tokens_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let tokens = IdTokens::open(dir.path(), "http://127.0.0.1:8080/").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys").join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let token = tokens.mint(claims()).unwrap();
        let first_kid = tokens.active_kid().unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(first_kid.as_str()));

        let verify = |token: &str, jwks: &JwkSet| {
            let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
            let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
            let mut validation = Validation::new(Algorithm::EdDSA);
            validation.set_audience(&["housing-fund"]);
            validation.set_issuer(&["http://127.0.0.1:8080"]);
            jsonwebtoken::decode::<IdClaims>(token, &key, &validation).map(|d| d.claims)
        };
        let decoded = verify(&token, &tokens.jwks().unwrap()).unwrap();
        assert_eq!(decoded.exp - decoded.iat, TOKEN_LIFETIME_SECS);
        assert!(decoded.exp - decoded.iat <= 600);

        let rotation = rotate(dir.path()).unwrap();
        assert_eq!(rotation.retired_kid.as_deref(), Some(first_kid.as_str()));
        // The running service sees the new key at once (the file was
        // replaced); the old one stays published.
        let jwks = tokens.jwks().unwrap();
        assert_eq!(jwks.keys.len(), 2);
        assert!(verify(&token, &jwks).is_ok());
        let newer = tokens.mint(claims()).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&newer).unwrap().kid,
            Some(rotation.new_kid.clone())
        );
        assert!(verify(&newer, &jwks).is_ok());
    }
}
