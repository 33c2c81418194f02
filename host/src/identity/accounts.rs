//! Citizen accounts: registration and login with phone number and password
//! (argon2id hashes), and the real-name record behind the identity
//! capability.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use super::sealed::Vault;
use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, now_ms, trees};

/// A citizen's account as stored (`citizens` tree). Never sent to apps; the
/// shell sees only [`Citizen::masked_phone`] and the masked name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Citizen {
    /// Internal id (UUID); never leaves the host.
    pub id: String,
    /// Mainland mobile number, 11 digits.
    pub phone: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Verified full name, once real-name verification is done.
    pub name: Option<String>,
    /// Verified resident identity number (GB 11643-1999), normalised and
    /// sealed for this citizen (see `identity::sealed`); open it with
    /// [`Accounts::id_number`].
    pub id_number_sealed: Option<String>,
    /// 1 = phone account, 2 = name and identity number verified.
    pub assurance_level: u8,
    /// Registration time, UTC ms.
    pub created_at: u64,
}

impl Citizen {
    /// Phone with the middle four digits starred: `138****0001`.
    pub fn masked_phone(&self) -> String {
        if self.phone.len() == 11 {
            format!("{}****{}", &self.phone[..3], &self.phone[7..])
        } else {
            "*".repeat(self.phone.len())
        }
    }

    /// Name with all but the last character starred: `*三`.
    pub fn masked_name(&self) -> Option<String> {
        self.name.as_ref().map(|name| {
            let chars: Vec<char> = name.chars().collect();
            let last = chars.last().copied().unwrap_or('*');
            format!("{}{}", "*".repeat(chars.len().saturating_sub(1)), last)
        })
    }
}

/// Wrong passwords in a row before a number is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a number stays locked: 15 minutes, in ms.
pub const LOCKOUT_MS: u64 = 15 * 60 * 1000;

/// Failed logins of one phone number (`login_failures` tree).
#[derive(Debug, Default, Serialize, Deserialize)]
struct FailedLogins {
    failures: u32,
    locked_until_ms: u64,
}

/// An argon2 hash of nothing anyone knows, checked for unknown numbers so
/// that they cost the same as known ones.
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

/// Registration, login and real-name records.
#[derive(Clone)]
pub struct Accounts {
    citizens: sled::Tree,
    phones: sled::Tree,
    failures: sled::Tree,
    id_index: sled::Tree,
    vault: Vault,
}

impl Accounts {
    /// Opens the account trees; identity numbers are sealed in `vault`.
    pub fn open(store: &Store, vault: Vault) -> ServiceResult<Self> {
        Ok(Self {
            citizens: store.tree(trees::CITIZENS)?,
            phones: store.tree(trees::PHONES)?,
            failures: store.tree(trees::LOGIN_FAILURES)?,
            id_index: store.tree(trees::ID_INDEX)?,
            vault,
        })
    }

    /// Registers a citizen. Errors: `invalid-argument` naming `phone`
    /// (11 digits starting 13-19) or `password` (8-128 characters);
    /// `conflict("phone")` if the number is taken.
    pub fn register(&self, phone: &str, password: &str) -> ServiceResult<Citizen> {
        check_phone(phone)?;
        let length = password.chars().count();
        if !(8..=128).contains(&length) {
            return Err(ServiceError::invalid("password", "use 8 to 128 characters"));
        }
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let password_hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| ServiceError::invalid("password", e.to_string()))?
            .to_string();
        let citizen = Citizen {
            id: uuid::Uuid::new_v4().to_string(),
            phone: phone.to_string(),
            password_hash,
            name: None,
            id_number_sealed: None,
            assurance_level: 1,
            created_at: now_ms(),
        };
        // Claim the phone number atomically; a concurrent registration of
        // the same number loses here.
        let claimed = self.phones.compare_and_swap(
            phone,
            None as Option<&[u8]>,
            Some(citizen.id.as_bytes()),
        )?;
        if claimed.is_err() {
            return Err(ServiceError::Conflict {
                field: "phone",
                reason: "this phone number is already registered".into(),
            });
        }
        store::put_json(&self.citizens, &citizen.id, &citizen)?;
        Ok(citizen)
    }

    /// Checks phone number and password. Errors: `Unauthenticated` for an
    /// unknown number or a wrong password (the same message and the same
    /// argon2 work for both, so neither the answer nor its timing tells
    /// whether a number is registered); `RateLimited` for
    /// [`LOCKOUT_MS`] after [`MAX_FAILURES`] wrong passwords in a row for
    /// the number, whatever the password.
    pub fn login(&self, phone: &str, password: &str) -> ServiceResult<Citizen> {
        const WRONG: &str = "wrong phone number or password";
        let now = now_ms();
        let record: FailedLogins = store::get_json(&self.failures, phone)?.unwrap_or_default();
        if record.locked_until_ms > now {
            return Err(ServiceError::RateLimited {
                retry_after_ms: record.locked_until_ms - now,
            });
        }
        let citizen = self.by_phone(phone)?;
        let hash = citizen
            .as_ref()
            .map_or_else(dummy_hash, |c| c.password_hash.clone());
        let verified = PasswordHash::new(&hash)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        match citizen {
            Some(citizen) if verified => {
                self.failures.remove(phone)?;
                Ok(citizen)
            }
            _ => {
                // One atomic read-modify-write, so that parallel attempts
                // cannot each see the same count and slip past the limit.
                self.failures.update_and_fetch(phone, |old| {
                    let mut record: FailedLogins = old
                        .and_then(|bytes| serde_json::from_slice(bytes).ok())
                        .unwrap_or_default();
                    record.failures += 1;
                    if record.failures >= MAX_FAILURES {
                        record = FailedLogins {
                            failures: 0,
                            locked_until_ms: now + LOCKOUT_MS,
                        };
                    }
                    serde_json::to_vec(&record).ok()
                })?;
                Err(ServiceError::Unauthenticated(WRONG))
            }
        }
    }

    /// The citizen with this internal id.
    pub fn get(&self, citizen_id: &str) -> ServiceResult<Option<Citizen>> {
        Ok(store::get_json(&self.citizens, citizen_id)?)
    }

    /// The citizen registered with this phone number.
    pub fn by_phone(&self, phone: &str) -> ServiceResult<Option<Citizen>> {
        match self.phones.get(phone)? {
            Some(id) => self.get(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// Records a verified name and identity number (assurance level 2),
    /// the number sealed. The caller has validated the number and had the
    /// identity authority match it with the name (see
    /// `identity::verification`). Errors: `conflict("id_number")` when
    /// another account is already verified with this number (one account
    /// per identity); `NotFound("citizen")`.
    pub fn set_real_name(
        &self,
        citizen_id: &str,
        name: &str,
        id_number: &str,
    ) -> ServiceResult<Citizen> {
        let mut citizen = self
            .get(citizen_id)?
            .ok_or(ServiceError::NotFound("citizen"))?;
        let index = self.vault.blind_index(id_number);
        let claimed = self.id_index.compare_and_swap(
            &index,
            None as Option<&[u8]>,
            Some(citizen_id.as_bytes()),
        )?;
        if let Err(existing) = claimed
            && existing.current.as_deref() != Some(citizen_id.as_bytes())
        {
            return Err(ServiceError::Conflict {
                field: "id_number",
                reason: "another account is already verified with this identity number".into(),
            });
        }
        citizen.name = Some(name.to_string());
        citizen.id_number_sealed = Some(self.vault.seal(id_number, &citizen.id));
        citizen.assurance_level = citizen.assurance_level.max(2);
        store::put_json(&self.citizens, &citizen.id, &citizen)?;
        Ok(citizen)
    }

    /// The citizen's verified identity number, opened from its sealed form;
    /// `None` before real-name verification. A record that does not open
    /// (the key file was replaced) is reported as unavailable storage.
    pub fn id_number(&self, citizen: &Citizen) -> ServiceResult<Option<String>> {
        citizen
            .id_number_sealed
            .as_deref()
            .map(|sealed| {
                self.vault.open(sealed, &citizen.id).map_err(|e| {
                    tracing::error!(citizen = %citizen.id, error = %e, "sealed identity number");
                    ServiceError::Store(crate::store::StoreError::Sealed)
                })
            })
            .transpose()
    }
}

/// Mainland mobile numbers: 11 digits, `1` then `3`-`9`.
fn check_phone(phone: &str) -> ServiceResult<()> {
    let b = phone.as_bytes();
    if b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
    {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "phone",
            "use an 11-digit mobile number starting with 13-19",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_login_and_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::open(
            &Store::open(dir.path()).unwrap(),
            Vault::new(&[1; 32], &[2; 32]),
        )
        .unwrap();
        let c = accounts.register("13800000009", "correct horse").unwrap();
        assert_eq!(c.masked_phone(), "138****0009");
        assert_eq!(
            accounts.login("13800000009", "correct horse").unwrap().id,
            c.id
        );
        assert!(matches!(
            accounts.login("13800000009", "wrong horse"),
            Err(ServiceError::Unauthenticated(_))
        ));
        // One wrong password above; three more stay below the limit.
        for _ in 0..MAX_FAILURES - 2 {
            assert!(matches!(
                accounts.login("13800000009", "nope nope"),
                Err(ServiceError::Unauthenticated(_))
            ));
        }
        // A success resets the count; five failures in a row lock the number.
        accounts.login("13800000009", "correct horse").unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(matches!(
                accounts.login("13800000009", "nope nope"),
                Err(ServiceError::Unauthenticated(_))
            ));
        }
        assert!(matches!(
            accounts.login("13800000009", "correct horse"),
            Err(ServiceError::RateLimited { retry_after_ms }) if retry_after_ms > LOCKOUT_MS - 60_000
        ));
        assert!(matches!(
            accounts.login("13811111111", "whatever"),
            Err(ServiceError::Unauthenticated(_))
        ));
        assert!(matches!(
            accounts.register("13800000009", "another one"),
            Err(ServiceError::Conflict { field: "phone", .. })
        ));
        assert!(matches!(
            accounts.register("1380000000", "correct horse"),
            Err(ServiceError::InvalidArgument { field: "phone", .. })
        ));
        assert!(matches!(
            accounts.register("13800000008", "short"),
            Err(ServiceError::InvalidArgument {
                field: "password",
                ..
            })
        ));
    }
}
