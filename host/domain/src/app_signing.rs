//! Signatures of mini-apps: each app's Ed25519 keys, with which the host
//! signs the app's claims as a compact JWS (EdDSA), and their public halves
//! as a JWK Set that anyone can use to check a document or ticket offline.
//!
//! A token's header is `{"alg": "EdDSA", "typ": "JWT", "kid": …}`; its
//! payload is the app's claims (a JSON object of at most
//! [`MAX_CLAIMS_BYTES`]) plus `iss` = the app id and `iat` = UTC seconds,
//! both set by the host ([`RESERVED_CLAIMS`] may not come from the app). An
//! `exp` the app sets must be a non-negative integer, UTC seconds.
//!
//! Keys: an app's first key is created on its first signature. The
//! private key (the 32-byte seed) is sealed at rest with the same AEAD as
//! identity numbers ([`Vault`], record `app-signing-key/{app}/{kid}`) and
//! is never logged; the public key is kept beside it. [`AppSigning::rotate`]
//! makes a new key sign from then on and *retires* the old one: retired
//! keys stay in the app's JWK Set until the operator removes them
//! ([`AppSigning::remove`]), because signed documents (certificates,
//! tickets) may be checked long after they were issued.
//!
//! Tables: `app_signing_keys` (`(app_id, kid)` → [`AppKey`]) and
//! `app_signing_active` (`app_id` → the `kid` that signs now).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cityhost_store::{Db, Scan, now_ms};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::identity::sealed::Vault;
use tables::{APP_SIGNING_ACTIVE, APP_SIGNING_KEYS};

/// The signing tables.
pub(crate) mod tables {
    use cityhost_store::Table;

    use super::AppKey;

    /// `(app_id, kid)` → the key ([`AppKey`], private half sealed).
    pub(crate) const APP_SIGNING_KEYS: Table<(String, String), AppKey> =
        Table::new("app_signing_keys");
    /// `app_id` → the `kid` of the key that signs now.
    pub(crate) const APP_SIGNING_ACTIVE: Table<String, String> = Table::new("app_signing_active");
}

/// Largest claims object an app may have signed, bytes of JSON: 8 KiB,
/// room for a ticket or certificate, small enough to fit a QR code's
/// neighbourhood and a URL.
pub const MAX_CLAIMS_BYTES: usize = 8 * 1024;

/// Claims the host sets and an app may not: `iss` (the app id) and `iat`
/// (when the host signed).
pub const RESERVED_CLAIMS: [&str; 2] = ["iss", "iat"];

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the 32-byte seed
/// follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// One of an app's signing keys, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppKey {
    /// Key id (16 hex characters), the `kid` of the tokens it signs.
    pub kid: String,
    /// The Ed25519 seed, base64, sealed ([`Vault::seal`]).
    sealed_seed: String,
    /// The Ed25519 public key, base64url without padding (the JWK's `x`).
    pub public_x: String,
    /// Creation time, UTC seconds.
    pub created_at: u64,
    /// When it stopped signing, UTC seconds; `None` while it signs.
    pub retired_at: Option<u64>,
}

/// A public key of an app as the operator sees it (no private part).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub kid: String,
    /// Creation time, UTC seconds.
    pub created_at: u64,
    /// When it stopped signing, UTC seconds; `None` for the active key.
    pub retired_at: Option<u64>,
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct AppRotation {
    /// The app.
    pub app_id: String,
    /// The key that signs from now on.
    pub new_kid: String,
    /// The key it replaces, still published until removed; `None` if the
    /// app had no key yet.
    pub retired_kid: Option<String>,
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

fn seal_record(app_id: &str, kid: &str) -> String {
    format!("app-signing-key/{app_id}/{kid}")
}

/// The apps' signing keys.
#[derive(Clone)]
pub struct AppSigning {
    db: Db,
    vault: Vault,
}

impl AppSigning {
    /// The keys in `db`, private halves sealed by `vault`.
    pub fn new(db: Db, vault: Vault) -> Self {
        Self { db, vault }
    }

    /// A fresh key for `app_id` (not yet stored).
    fn new_key(&self, app_id: &str, now: u64) -> AppKey {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let mut kid = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut kid);
        let kid = hex::encode(kid);
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        AppKey {
            sealed_seed: self
                .vault
                .seal(&STANDARD.encode(seed), &seal_record(app_id, &kid)),
            public_x: URL_SAFE_NO_PAD.encode(public),
            kid,
            created_at: now,
            retired_at: None,
        }
    }

    /// The app's active key, created (in one transaction, so two first
    /// calls at once make one key) if it has none.
    async fn active_key(&self, app_id: &str) -> ServiceResult<AppKey> {
        if let Some(kid) = self.db.get(&APP_SIGNING_ACTIVE, app_id).await?
            && let Some(key) = self
                .db
                .get(&APP_SIGNING_KEYS, (app_id, kid.as_str()))
                .await?
        {
            return Ok(key);
        }
        self.db
            .transact(|tx| async move {
                if let Some(kid) = tx.get(&APP_SIGNING_ACTIVE, app_id).await?
                    && let Some(key) = tx.get(&APP_SIGNING_KEYS, (app_id, kid.as_str())).await?
                {
                    return Ok::<_, ServiceError>(key);
                }
                let key = self.new_key(app_id, now_secs());
                tx.put(&APP_SIGNING_KEYS, (app_id, key.kid.as_str()), &key)
                    .await?;
                tx.put(&APP_SIGNING_ACTIVE, app_id, &key.kid).await?;
                Ok(key)
            })
            .await
    }

    /// Signs `claims_json` for `app_id`: a compact JWS (EdDSA, header
    /// `kid`), payload = the claims plus `iss` = `app_id` and `iat` = now
    /// (UTC seconds). Errors: `invalid-argument` naming the problem
    /// (`claims` not a JSON object or larger than [`MAX_CLAIMS_BYTES`],
    /// `iss`/`iat` reserved, `exp` not a non-negative integer);
    /// `unavailable` when the key does not open (the sealing key changed).
    pub async fn sign(&self, app_id: &str, claims_json: &str) -> ServiceResult<String> {
        let mut claims = check_claims(claims_json)?;
        let key = self.active_key(app_id).await?;
        let seed = self
            .vault
            .open(&key.sealed_seed, &seal_record(app_id, &key.kid))
            .map_err(ServiceError::Sealed)?;
        let seed = STANDARD
            .decode(seed)
            .ok()
            .filter(|s| s.len() == 32)
            .ok_or(ServiceError::Sealed(crate::error::Unsealable))?;
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let signing = EncodingKey::from_ed_der(&der);
        claims.insert("iss".into(), app_id.into());
        claims.insert("iat".into(), now_secs().into());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid);
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, &claims, &signing).map_err(|e| {
            tracing::error!(app_id, error = %e, "signing an app's claims");
            ServiceError::Unavailable("signing failed".into())
        })
    }

    /// Rotates `app_id`'s key: a new key signs from now on; the old one is
    /// retired and stays in the JWK Set until [`AppSigning::remove`]d.
    pub async fn rotate(&self, app_id: &str) -> ServiceResult<AppRotation> {
        self.db
            .transact(|tx| async move {
                let now = now_secs();
                let mut retired_kid = None;
                if let Some(kid) = tx.get(&APP_SIGNING_ACTIVE, app_id).await?
                    && let Some(mut old) = tx.get(&APP_SIGNING_KEYS, (app_id, kid.as_str())).await?
                {
                    old.retired_at = Some(now);
                    tx.put(&APP_SIGNING_KEYS, (app_id, kid.as_str()), &old)
                        .await?;
                    retired_kid = Some(kid);
                }
                let key = self.new_key(app_id, now);
                tx.put(&APP_SIGNING_KEYS, (app_id, key.kid.as_str()), &key)
                    .await?;
                tx.put(&APP_SIGNING_ACTIVE, app_id, &key.kid).await?;
                Ok::<_, ServiceError>(AppRotation {
                    app_id: app_id.to_string(),
                    new_kid: key.kid,
                    retired_kid,
                })
            })
            .await
    }

    /// Removes a retired key of `app_id` from its JWK Set: tokens it signed
    /// no longer verify. Errors: `not-found("key")`; `conflict("kid")` for
    /// the active key (rotate first).
    pub async fn remove(&self, app_id: &str, kid: &str) -> ServiceResult<()> {
        self.db
            .transact(|tx| async move {
                let Some(key) = tx.get(&APP_SIGNING_KEYS, (app_id, kid)).await? else {
                    return Err(ServiceError::NotFound("key"));
                };
                if key.retired_at.is_none() {
                    return Err(ServiceError::Conflict {
                        field: "kid",
                        reason: "the active key cannot be removed; rotate first".into(),
                    });
                }
                tx.delete(&APP_SIGNING_KEYS, (app_id, kid)).await?;
                Ok(())
            })
            .await
    }

    /// The app's keys, oldest first, the active one last (no private part).
    pub async fn keys(&self, app_id: &str) -> ServiceResult<Vec<KeyInfo>> {
        let mut keys: Vec<KeyInfo> = self
            .db
            .scan(&APP_SIGNING_KEYS, Scan::prefix((app_id,)))
            .await?
            .into_iter()
            .map(|(_, k)| KeyInfo {
                kid: k.kid,
                created_at: k.created_at,
                retired_at: k.retired_at,
            })
            .collect();
        // Seconds do not order keys made in one second; a retired key is
        // older than the key that replaced it.
        keys.sort_by_key(|k| (k.created_at, k.retired_at.unwrap_or(u64::MAX)));
        Ok(keys)
    }

    /// The app's public keys as a JWK Set (RFC 7517; `kty` `OKP`, `crv`
    /// `Ed25519`, `alg` `EdDSA`, `use` `sig`): the active key and every
    /// retired one not removed. Empty if the app never signed.
    pub async fn jwks(&self, app_id: &str) -> ServiceResult<JwkSet> {
        let keys = self
            .db
            .scan(&APP_SIGNING_KEYS, Scan::prefix((app_id,)))
            .await?
            .into_iter()
            .map(|(_, k)| {
                serde_json::from_value(serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": k.public_x,
                    "kid": k.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                }))
                .map_err(|e| ServiceError::Unavailable(format!("a stored key is malformed: {e}")))
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(JwkSet { keys })
    }
}

/// The app's claims as a JSON object, checked: size, object, no key
/// twice, reserved claims, `exp`.
fn check_claims(claims_json: &str) -> ServiceResult<serde_json::Map<String, serde_json::Value>> {
    if claims_json.len() > MAX_CLAIMS_BYTES {
        return Err(ServiceError::invalid(
            "claims",
            format!("larger than {MAX_CLAIMS_BYTES} bytes"),
        ));
    }
    let value = crate::unique_json::parse(claims_json)
        .map_err(|e| ServiceError::invalid("claims", format!("not JSON: {e}")))?;
    let serde_json::Value::Object(claims) = value else {
        return Err(ServiceError::invalid("claims", "not a JSON object"));
    };
    for reserved in RESERVED_CLAIMS {
        if claims.contains_key(reserved) {
            return Err(ServiceError::invalid(
                reserved,
                "a reserved claim; the host sets it",
            ));
        }
    }
    if let Some(exp) = claims.get("exp")
        && exp.as_u64().is_none()
    {
        return Err(ServiceError::invalid(
            "exp",
            "must be a non-negative integer, UTC seconds",
        ));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_keys_are_sealed_and_rotation_keeps_old_keys() {
        let (dir, db) = crate::testing::temp_db();
        let vault = Vault::new(&[7; 32], &[8; 32]);
        let signing = AppSigning::new(db.clone(), vault.clone());
        assert!(signing.jwks("ticket-app").await.unwrap().keys.is_empty());
        signing
            .sign("ticket-app", r#"{"seat": "3-12"}"#)
            .await
            .unwrap();
        let first = signing.keys("ticket-app").await.unwrap();
        assert_eq!(first.len(), 1);
        let kid = &first[0].kid;

        // At rest: the seed opens only with the vault, and only for its
        // record; neither it nor its encodings are stored in clear.
        let stored = db
            .get(&APP_SIGNING_KEYS, ("ticket-app", kid.as_str()))
            .await
            .unwrap()
            .unwrap();
        let seed_b64 = vault
            .open(&stored.sealed_seed, &seal_record("ticket-app", kid))
            .unwrap();
        assert!(
            vault
                .open(&stored.sealed_seed, &seal_record("other-app", kid))
                .is_err()
        );
        let seed: [u8; 32] = STANDARD.decode(&seed_b64).unwrap().try_into().unwrap();
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(stored.public_x, URL_SAFE_NO_PAD.encode(public.to_bytes()));
        db.sync().await.unwrap();
        let mut files = vec![dir.path().to_path_buf()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            for clear in [
                seed.to_vec(),
                seed_b64.as_bytes().to_vec(),
                URL_SAFE_NO_PAD.encode(seed).into_bytes(),
                hex::encode(seed).into_bytes(),
            ] {
                assert!(
                    !bytes.windows(clear.len()).any(|w| w == clear.as_slice()),
                    "{} holds the private key in clear",
                    path.display()
                );
            }
        }

        // Rotation: a new active key, the old one kept until removed.
        let rotation = signing.rotate("ticket-app").await.unwrap();
        assert_eq!(rotation.retired_kid.as_deref(), Some(kid.as_str()));
        let keys = signing.keys("ticket-app").await.unwrap();
        assert_eq!(keys.len(), 2);
        assert!(keys.iter().any(|k| &k.kid == kid && k.retired_at.is_some()));
        assert_eq!(signing.jwks("ticket-app").await.unwrap().keys.len(), 2);
        assert!(matches!(
            signing.remove("ticket-app", &rotation.new_kid).await,
            Err(ServiceError::Conflict { field: "kid", .. })
        ));
        signing.remove("ticket-app", kid).await.unwrap();
        assert!(matches!(
            signing.remove("ticket-app", kid).await,
            Err(ServiceError::NotFound("key"))
        ));
        let jwks = signing.jwks("ticket-app").await.unwrap();
        assert_eq!(jwks.keys.len(), 1);
        assert!(jwks.find(&rotation.new_kid).is_some());
        // Other apps have their own keys.
        assert!(signing.jwks("other-app").await.unwrap().keys.is_empty());
    }

    #[test]
    fn claims_are_checked() {
        assert!(check_claims(r#"{"ticket": "A-1", "exp": 1900000000}"#).is_ok());
        let field = |json: &str| match check_claims(json) {
            Err(ServiceError::InvalidArgument { field, .. }) => field,
            other => panic!("{json}: {other:?}"),
        };
        assert_eq!(field("[1, 2]"), "claims");
        assert_eq!(field("not json"), "claims");
        assert_eq!(field(r#"{"seat": "1A", "seat": "9Z"}"#), "claims");
        assert_eq!(field(r#"{"iss": "other-app"}"#), "iss");
        assert_eq!(field(r#"{"iat": 1}"#), "iat");
        assert_eq!(field(r#"{"exp": "tomorrow"}"#), "exp");
        assert_eq!(field(r#"{"exp": 1.5}"#), "exp");
        let big = format!(r#"{{"x": "{}"}}"#, "a".repeat(MAX_CLAIMS_BYTES));
        assert_eq!(field(&big), "claims");
    }
}
