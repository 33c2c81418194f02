//! Password hashing: argon2id (RFC 9106, the `argon2` crate's defaults)
//! in PHC strings. Hashing and checking take tens of milliseconds of CPU,
//! so both run on tokio's blocking pool through [`crate::blocking::run`],
//! never on a runtime worker.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::{ServiceError, ServiceResult};

/// Hashes `password` with argon2id and a fresh random salt; returns the
/// PHC string. Errors: `invalid-argument("password")` if argon2 refuses the
/// input (it accepts every password of the lengths accounts allow).
pub async fn hash(password: &str) -> ServiceResult<String> {
    let password = password.to_string();
    crate::blocking::run(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::invalid("password", e.to_string()))
    })
    .await?
}

/// Whether `password` matches the PHC string `hash`. With `None` (no such
/// account) the password is checked against a hash of nothing anyone knows
/// and the answer is `false`: both cases cost the same argon2 work, so the
/// time taken does not tell whether an account exists. A malformed hash
/// matches nothing.
pub async fn verify(password: &str, hash: Option<&str>) -> ServiceResult<bool> {
    let password = password.to_string();
    let hash = hash.map(str::to_string);
    crate::blocking::run(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(dummy_hash);
        let matches = PasswordHash::new(&hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        });
        known && matches
    })
    .await
}

/// An argon2 hash of nothing anyone knows, made once per process.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
            .expect("argon2 hashes 16 bytes")
            .to_string()
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_off_the_runtime() {
        let hash = hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_ne!(hash, super::hash("correct horse").await.unwrap());
        assert!(verify("correct horse", Some(&hash)).await.unwrap());
        assert!(!verify("wrong horse", Some(&hash)).await.unwrap());
        assert!(
            !verify("correct horse", Some("not a PHC string"))
                .await
                .unwrap()
        );
        assert!(!verify("correct horse", None).await.unwrap());
    }
}
