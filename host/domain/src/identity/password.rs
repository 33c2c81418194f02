//! Password hashing: argon2id (RFC 9106, the `argon2` crate's defaults)
//! in PHC strings. Hashing and checking take tens of milliseconds of CPU,
//! so both run on the hasher threads ([`crate::hashing`]), never on a
//! runtime worker.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};

use crate::error::ServiceResult;
use crate::hashing;

/// Hashes `password` with argon2id and a fresh random salt; returns the
/// PHC string. Errors: `invalid-argument("password")` if argon2 refuses the
/// input (it accepts every password of the lengths accounts allow);
/// `Unavailable` when too many hashes wait ([`hashing::MAX_QUEUED`]).
pub async fn hash(password: &str) -> ServiceResult<String> {
    hashing::hash(password, "password").await
}

/// Whether `password` matches the PHC string `hash`. With `None` (no such
/// account) the password is checked against a hash of nothing anyone knows
/// and the answer is `false`: both cases cost the same argon2 work, so the
/// time taken does not tell whether an account exists. A malformed hash
/// matches nothing. Errors: `Unavailable` as for [`hash`].
pub async fn verify(password: &str, hash: Option<&str>) -> ServiceResult<bool> {
    let known = hash.is_some();
    let hash = hash.map_or_else(dummy_hash, str::to_string);
    // The check runs whether or not the account exists; only then is
    // `known` looked at.
    let matches = hashing::verify(password, &hash).await? == Some(true);
    Ok(known && matches)
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

    #[tokio::test]
    async fn a_number_nobody_registered_costs_a_full_argon2_check() {
        let before = hashing::runs();
        assert!(!verify("any password", None).await.unwrap());
        assert!(
            hashing::runs() > before,
            "no argon2 run for an unknown account"
        );
    }
}
