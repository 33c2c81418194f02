//! Citizen accounts: registration and login with phone number and password
//! (argon2id hashes), and the real-name record behind the identity
//! capability.

use cityhost_store::{Db, Scan, now_ms};
use serde::{Deserialize, Serialize};

use super::login_throttle;
use super::password;
use super::phone_codes::PhoneCodes;
use super::sealed::Vault;
use super::tables::{CITIZENS, ID_INDEX, LOGIN_FAILURES, PHONES};
use crate::error::{ServiceError, ServiceResult};
use crate::meta::META;

/// The `meta` marker set once no phone number keys a table in clear
/// ([`Accounts::index_clear_phone_keys`]).
pub const PHONE_KEYS_INDEXED: &str = "phone_keys_indexed";

/// A citizen's account as stored ([`CITIZENS`]). Never sent to apps; the
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
        self.name.as_deref().map(super::idcard::mask_name)
    }
}

/// Registration, login and real-name records.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    vault: Vault,
}

impl Accounts {
    /// The accounts in `db`; identity numbers are sealed in `vault`.
    pub fn new(db: Db, vault: Vault) -> Self {
        Self { db, vault }
    }

    /// Registers a citizen who proves the number with the one-time `code`
    /// sent to it ([`PhoneCodes::send_registration_code`]). Phone and
    /// password are checked before the code, so a typo does not spend it.
    /// Errors: as [`Accounts::register`], and `invalid-argument("code")`
    /// from [`PhoneCodes::redeem`] — also for a number that already has an
    /// account (no code was sent to it), so the answer tells nothing about
    /// the number; `conflict("phone")` only to the holder of a valid code
    /// whose number was registered since the code was sent.
    pub async fn register_with_code(
        &self,
        codes: &PhoneCodes,
        phone: &str,
        code: &str,
        password: &str,
    ) -> ServiceResult<Citizen> {
        check_phone(phone)?;
        check_password(password)?;
        codes.redeem(phone, code, now_ms()).await?;
        self.register(phone, password).await
    }

    /// Registers a citizen without proof of the number: for callers that
    /// are the proof themselves ([`Accounts::register_with_code`], the demo
    /// seeding, tests). Errors: `invalid-argument` naming `phone` (11
    /// digits starting 13-19) or `password` (8-128 characters);
    /// `conflict("phone")` if the number is taken.
    pub async fn register(&self, phone: &str, password: &str) -> ServiceResult<Citizen> {
        check_phone(phone)?;
        check_password(password)?;
        let citizen = Citizen {
            id: uuid::Uuid::new_v4().to_string(),
            phone: phone.to_string(),
            password_hash: password::hash(password).await?,
            name: None,
            id_number_sealed: None,
            assurance_level: 1,
            created_at: now_ms(),
        };
        // Claim the phone number and write the account in one transaction;
        // a concurrent registration of the same number loses here.
        let citizen = &citizen;
        let key = &self.vault.phone_index(phone);
        self.db
            .transact(|tx| async move {
                if tx.contains(&PHONES, key).await? {
                    return Err(ServiceError::Conflict {
                        field: "phone",
                        reason: "this phone number is already registered".into(),
                    });
                }
                tx.put(&PHONES, key, &citizen.id).await?;
                tx.put(&CITIZENS, &citizen.id, citizen).await?;
                Ok(())
            })
            .await?;
        Ok(citizen.clone())
    }

    /// Checks phone number and password for a sign-in from `client` (its
    /// address, as the HTTP layer determines it). Errors: `Unauthenticated`
    /// for an unknown number or a wrong password (the same answer, and the
    /// same argon2 work for both, so neither the answer nor its timing
    /// tells whether a number is registered); `RateLimited` with the wait
    /// while a counter of [`login_throttle`] holds the attempt back (checked
    /// before the password); `invalid-argument("phone")` for a string that
    /// is no phone number (checked first: nothing is hashed or stored for
    /// it).
    pub async fn login(&self, phone: &str, password: &str, client: &str) -> ServiceResult<Citizen> {
        const WRONG: &str = "wrong phone number or password";
        check_phone(phone)?;
        let key = &self.vault.phone_index(phone);
        login_throttle::admit(&self.db, key, client, now_ms()).await?;
        let citizen = self.by_phone(phone).await?;
        let hash = citizen.as_ref().map(|c| c.password_hash.as_str());
        let verified = password::verify(password, hash).await?;
        match citizen {
            Some(citizen) if verified => {
                login_throttle::succeeded(&self.db, key, client).await?;
                Ok(citizen)
            }
            _ => {
                login_throttle::failed(&self.db, key, client, now_ms()).await?;
                Err(ServiceError::Unauthenticated(WRONG))
            }
        }
    }

    /// The citizen with this internal id.
    pub async fn get(&self, citizen_id: &str) -> ServiceResult<Option<Citizen>> {
        Ok(self.db.get(&CITIZENS, citizen_id).await?)
    }

    /// The citizen registered with this phone number.
    pub async fn by_phone(&self, phone: &str) -> ServiceResult<Option<Citizen>> {
        match self.db.get(&PHONES, &self.vault.phone_index(phone)).await? {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    /// Moves the phone-number keys that hosts before the blind index wrote
    /// in clear (`phones`, `login_failures`) to their blind index
    /// ([`Vault::phone_index`]); returns how many accounts moved. A clear
    /// wrong-password count is dropped (counts expire anyway). The platform
    /// calls it at every start; once a pass has finished, the `meta` marker
    /// [`PHONE_KEYS_INDEXED`] makes later calls return 0 without reading
    /// the tables (they hold a row per citizen).
    pub async fn index_clear_phone_keys(&self) -> ServiceResult<usize> {
        if self.db.contains(&META, PHONE_KEYS_INDEXED).await? {
            return Ok(0);
        }
        let clear = |key: &str| check_phone(key).is_ok();
        let phones = self.db.scan(&PHONES, Scan::all()).await?;
        let failures = self.db.scan(&LOGIN_FAILURES, Scan::all()).await?;
        let mut moved = 0;
        for (phone, citizen_id) in phones.iter().filter(|(k, _)| clear(k)) {
            let index = &self.vault.phone_index(phone);
            self.db
                .transact(|tx| async move {
                    tx.put(&PHONES, index, citizen_id).await?;
                    tx.delete(&PHONES, phone).await?;
                    Ok::<_, ServiceError>(())
                })
                .await?;
            moved += 1;
        }
        for (phone, _) in failures.iter().filter(|(k, _)| clear(k)) {
            self.db.delete(&LOGIN_FAILURES, phone).await?;
        }
        self.db.put(&META, PHONE_KEYS_INDEXED, &true.into()).await?;
        Ok(moved)
    }

    /// Records a verified name and identity number (assurance level 2),
    /// the number sealed. The caller has validated the number and had the
    /// identity authority match it with the name (see
    /// `identity::verification`). Errors: `conflict("id_number")` when
    /// another account is already verified with this number (one account
    /// per identity); `NotFound("citizen")`.
    pub async fn set_real_name(
        &self,
        citizen_id: &str,
        name: &str,
        id_number: &str,
    ) -> ServiceResult<Citizen> {
        let index = &self.vault.blind_index(id_number);
        let vault = &self.vault;
        // The index entry and the account change together.
        self.db
            .transact(|tx| async move {
                let mut citizen = tx
                    .get(&CITIZENS, citizen_id)
                    .await?
                    .ok_or(ServiceError::NotFound("citizen"))?;
                match tx.get(&ID_INDEX, index).await? {
                    Some(holder) if holder != citizen_id => {
                        return Err(ServiceError::Conflict {
                            field: "id_number",
                            reason: "another account is already verified with this identity number"
                                .into(),
                        });
                    }
                    Some(_) => {}
                    None => tx.put(&ID_INDEX, index, &citizen_id.to_string()).await?,
                }
                citizen.name = Some(name.to_string());
                citizen.id_number_sealed = Some(vault.seal(id_number, &citizen.id));
                citizen.assurance_level = citizen.assurance_level.max(2);
                tx.put(&CITIZENS, &citizen.id, &citizen).await?;
                Ok(citizen)
            })
            .await
    }

    /// The blind index of a normalised identity number: the key of the
    /// tables that find a number (`id_index`, mismatch counters, appeals).
    pub fn id_index(&self, id_number: &str) -> String {
        self.vault.blind_index(id_number)
    }

    /// The account verified with the normalised `id_number`, if any.
    pub async fn verified_with(&self, id_number: &str) -> ServiceResult<Option<Citizen>> {
        match self
            .db
            .get(&ID_INDEX, &self.vault.blind_index(id_number))
            .await?
        {
            Some(holder) => self.get(&holder).await,
            None => Ok(None),
        }
    }

    /// Moves the verified identity `name` / `id_number` to `claimant_id`
    /// in one transaction: the account that held it (if any) loses its
    /// name and number and drops to level 1; the claimant is verified with
    /// them. Returns `(holder id, the claimant's account)`. Errors:
    /// `NotFound("citizen")` if the claimant has no account;
    /// `Conflict("claimant")` if the claimant is meanwhile verified with
    /// another identity.
    pub async fn move_real_name(
        &self,
        claimant_id: &str,
        name: &str,
        id_number: &str,
    ) -> ServiceResult<(Option<String>, Citizen)> {
        let index = &self.vault.blind_index(id_number);
        let vault = &self.vault;
        self.db
            .transact(|tx| async move {
                let mut claimant = tx
                    .get(&CITIZENS, claimant_id)
                    .await?
                    .ok_or(ServiceError::NotFound("citizen"))?;
                let holder = tx.get(&ID_INDEX, index).await?;
                if claimant.assurance_level >= 2 && holder.as_deref() != Some(claimant_id) {
                    return Err(ServiceError::Conflict {
                        field: "claimant",
                        reason: "the claimant is verified with another identity".into(),
                    });
                }
                let previous = holder.filter(|holder| holder != claimant_id);
                if let Some(holder_id) = &previous
                    && let Some(mut holder) = tx.get(&CITIZENS, holder_id).await?
                {
                    holder.name = None;
                    holder.id_number_sealed = None;
                    holder.assurance_level = holder.assurance_level.min(1);
                    tx.put(&CITIZENS, holder_id, &holder).await?;
                }
                tx.put(&ID_INDEX, index, &claimant_id.to_string()).await?;
                claimant.name = Some(name.to_string());
                claimant.id_number_sealed = Some(vault.seal(id_number, &claimant.id));
                claimant.assurance_level = claimant.assurance_level.max(2);
                tx.put(&CITIZENS, claimant_id, &claimant).await?;
                Ok((previous, claimant))
            })
            .await
    }

    /// The citizen's verified identity number, opened from its sealed form;
    /// `None` before real-name verification. Errors: `Sealed` when the
    /// record does not open (the key file was replaced or the record
    /// damaged), answered as unavailable storage.
    pub fn id_number(&self, citizen: &Citizen) -> ServiceResult<Option<String>> {
        citizen
            .id_number_sealed
            .as_deref()
            .map(|sealed| {
                self.vault.open(sealed, &citizen.id).map_err(|e| {
                    tracing::error!(citizen = %citizen.id, error = %e, "sealed identity number");
                    ServiceError::Sealed(e)
                })
            })
            .transpose()
    }
}

/// Passwords: 8 to 128 characters, not all white space.
fn check_password(password: &str) -> ServiceResult<()> {
    if !(8..=128).contains(&password.chars().count()) {
        Err(ServiceError::invalid("password", "use 8 to 128 characters"))
    } else if password.chars().all(char::is_whitespace) {
        Err(ServiceError::invalid(
            "password",
            "use 8 to 128 characters, not only spaces",
        ))
    } else {
        Ok(())
    }
}

pub(crate) fn check_phone(phone: &str) -> ServiceResult<()> {
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
    use crate::identity::login_throttle::{LOCKOUT_MS, PAIR_MAX_FAILURES};

    #[tokio::test]
    async fn no_phone_number_is_a_key_in_clear_and_old_clear_keys_move() {
        let (_dir, db) = crate::testing::temp_db();
        let vault = Vault::new(&[1; 32], &[2; 32]);
        let accounts = Accounts::new(db.clone(), vault.clone());
        let citizen = accounts
            .register("13800000031", "a good password")
            .await
            .unwrap();
        let _ = accounts
            .login("13800000032", "wrong password", "client")
            .await;
        fn keys<V>(rows: Vec<(String, V)>) -> Vec<String> {
            rows.into_iter().map(|(k, _)| k).collect()
        }
        let phones = keys(db.scan(&PHONES, Scan::all()).await.unwrap());
        let failures = keys(db.scan(&LOGIN_FAILURES, Scan::all()).await.unwrap());
        assert_eq!(phones, [vault.phone_index("13800000031")]);
        assert_eq!(failures, [vault.phone_index("13800000032")]);
        assert_ne!(
            vault.phone_index("13800000031"),
            vault.blind_index("13800000031")
        );

        // A data directory written before: its keys in clear.
        db.delete(&PHONES, &phones[0]).await.unwrap();
        db.put(&PHONES, "13800000031", &citizen.id).await.unwrap();
        let stale = crate::identity::login_throttle::FailedLogins::default();
        db.put(&LOGIN_FAILURES, "13800000033", &stale)
            .await
            .unwrap();
        assert_eq!(accounts.index_clear_phone_keys().await.unwrap(), 1);
        assert_eq!(accounts.index_clear_phone_keys().await.unwrap(), 0);
        let phones = keys(db.scan(&PHONES, Scan::all()).await.unwrap());
        assert_eq!(phones, [vault.phone_index("13800000031")]);
        assert!(!db.contains(&LOGIN_FAILURES, "13800000033").await.unwrap());
        let again = accounts
            .login("13800000031", "a good password", "client")
            .await
            .unwrap();
        assert_eq!(again.id, citizen.id);
    }

    #[tokio::test]
    async fn a_login_with_no_phone_number_is_refused_before_anything_is_stored() {
        let (_dir, db) = crate::testing::temp_db();
        let accounts = Accounts::new(db.clone(), Vault::new(&[1; 32], &[2; 32]));
        let junk = "1".repeat(60_000);
        for phone in [junk.as_str(), "1380000000", "23800000001", "1380000000x"] {
            match accounts.login(phone, "whatever", "client").await {
                Err(ServiceError::InvalidArgument { field, .. }) => assert_eq!(field, "phone"),
                other => panic!("{phone:.20}: {:?}", other.map(|c| c.id)),
            }
            assert!(
                db.scan(&LOGIN_FAILURES, Scan::all())
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[tokio::test]
    async fn a_password_is_8_to_128_characters_and_not_only_spaces() {
        let (_dir, db) = crate::testing::temp_db();
        let accounts = Accounts::new(db, Vault::new(&[1; 32], &[2; 32]));
        let long = "x".repeat(129);
        for bad in ["short", "        ", "\t\t\t\t \u{3000}   ", long.as_str()] {
            assert!(
                matches!(
                    accounts.register("13800000010", bad).await,
                    Err(ServiceError::InvalidArgument {
                        field: "password",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        accounts
            .register("13800000010", "  spaced out  ")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn register_login_and_duplicate() {
        let (_dir, db) = crate::testing::temp_db();
        let accounts = Accounts::new(db, Vault::new(&[1; 32], &[2; 32]));
        let c = accounts
            .register("13800000009", "correct horse")
            .await
            .unwrap();
        assert_eq!(c.masked_phone(), "138****0009");
        assert_eq!(
            accounts
                .login("13800000009", "correct horse", "client")
                .await
                .unwrap()
                .id,
            c.id
        );
        assert!(matches!(
            accounts.login("13800000009", "wrong horse", "client").await,
            Err(ServiceError::Unauthenticated(_))
        ));
        // One wrong password above; three more stay below the limit.
        for _ in 0..PAIR_MAX_FAILURES - 2 {
            assert!(matches!(
                accounts.login("13800000009", "nope nope", "client").await,
                Err(ServiceError::Unauthenticated(_))
            ));
        }
        // A success resets the count; five failures in a row lock the number
        // for this client, not for another.
        accounts
            .login("13800000009", "correct horse", "client")
            .await
            .unwrap();
        for _ in 0..PAIR_MAX_FAILURES {
            assert!(matches!(
                accounts.login("13800000009", "nope nope", "client").await,
                Err(ServiceError::Unauthenticated(_))
            ));
        }
        assert!(matches!(
            accounts.login("13800000009", "correct horse", "client").await,
            Err(ServiceError::RateLimited { retry_after_ms }) if retry_after_ms > LOCKOUT_MS - 60_000
        ));
        accounts
            .login("13800000009", "correct horse", "another client")
            .await
            .unwrap();
        assert!(matches!(
            accounts.login("13811111111", "whatever", "client").await,
            Err(ServiceError::Unauthenticated(_))
        ));
        assert!(matches!(
            accounts.register("13800000009", "another one").await,
            Err(ServiceError::Conflict { field: "phone", .. })
        ));
        assert!(matches!(
            accounts.register("1380000000", "correct horse").await,
            Err(ServiceError::InvalidArgument { field: "phone", .. })
        ));
        assert!(matches!(
            accounts.register("13800000008", "short").await,
            Err(ServiceError::InvalidArgument {
                field: "password",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn one_account_per_identity_number() {
        const NUMBER: &str = "11010519491231002X";
        let (_dir, db) = crate::testing::temp_db();
        let accounts = Accounts::new(db.clone(), Vault::new(&[1; 32], &[2; 32]));
        let a = accounts
            .register("13800000001", "correct horse")
            .await
            .unwrap();
        let b = accounts
            .register("13800000002", "correct horse")
            .await
            .unwrap();
        let verified = accounts.set_real_name(&a.id, "王五", NUMBER).await.unwrap();
        assert_eq!(verified.assurance_level, 2);
        assert!(
            !verified
                .id_number_sealed
                .as_deref()
                .unwrap()
                .contains("1101")
        );
        assert_eq!(
            accounts.id_number(&verified).unwrap().as_deref(),
            Some(NUMBER)
        );
        let stored = accounts.get(&a.id).await.unwrap().unwrap();
        assert_eq!(stored.name.as_deref(), Some("王五"));
        assert_eq!(
            accounts.id_number(&stored).unwrap().as_deref(),
            Some(NUMBER)
        );
        // The same account again is fine; another one is refused and
        // nothing of the attempt is recorded.
        accounts.set_real_name(&a.id, "王五", NUMBER).await.unwrap();
        assert!(matches!(
            accounts.set_real_name(&b.id, "王五", NUMBER).await,
            Err(ServiceError::Conflict {
                field: "id_number",
                ..
            })
        ));
        let b = accounts.get(&b.id).await.unwrap().unwrap();
        assert_eq!(
            (b.assurance_level, b.name, b.id_number_sealed),
            (1, None, None)
        );
        assert!(matches!(
            accounts
                .set_real_name("nobody", "王五", "110105194912310021")
                .await,
            Err(ServiceError::NotFound("citizen"))
        ));
        // A number sealed under another key does not open.
        let rekeyed = Accounts::new(db, Vault::new(&[3; 32], &[2; 32]));
        assert!(matches!(
            rekeyed.id_number(&verified),
            Err(ServiceError::Sealed(_))
        ));
    }
}
