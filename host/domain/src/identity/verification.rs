//! Real-name verification (实名认证): a citizen gives their full name and
//! resident identity number once; the host checks, in this order, and stops
//! at the first failure:
//! 1. the name's length and characters (`idcard::validate_name`),
//! 2. the number's length and characters (17 digits and a digit or `X`;
//!    lower-case `x` is accepted and normalised),
//! 3. its birth date (characters 7-14) is a real date, not in the future,
//! 4. its province code (characters 1-2) exists (GB/T 2260, the
//!    `divisions` directory),
//! 5. its check character (GB 11643-1999, ISO 7064 MOD 11-2),
//! 6. the identity authority matches name and number,
//!
//! then records the verified identity (assurance level 2) with the number
//! sealed. Each failure is its own [`VerifyError`] variant; none carries
//! the number. A citizen whose name and number the authority did not match
//! [`MAX_MISMATCHES`] times within [`MISMATCH_WINDOW_MS`] must wait until
//! the window ends (the authority must not become a name lookup).

use std::sync::Arc;

use cityhost_store::{Db, now_ms};

use super::accounts::{Accounts, Citizen};
use super::authority::{AuthorityError, IdentityAuthority, Verdict};
use super::idcard::{self, IdNumberError, NameError};
use super::tables::VERIFY_FAILURES;
use crate::directory::Directory;
use crate::error::ServiceError;

/// Mismatches a citizen may have in one window.
pub const MAX_MISMATCHES: u32 = 5;
/// The window of [`MAX_MISMATCHES`]: 24 hours, in ms.
pub const MISMATCH_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// A citizen's mismatches ([`VERIFY_FAILURES`]).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Mismatches {
    count: u32,
    window_start_ms: u64,
}

/// Why a verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The name is malformed (field `name`).
    #[error("name: {0}")]
    Name(NameError),
    /// The number is malformed (field `id_number`).
    #[error("id_number: {0}")]
    IdNumber(IdNumberError),
    /// The authority does not hold this name with this number.
    #[error("the name and identity number do not match the population register")]
    Mismatch,
    /// The citizen is already verified (with another identity).
    #[error("this account is already real-name verified")]
    AlreadyVerified,
    /// The authority could not answer; nothing was recorded.
    #[error(transparent)]
    Authority(AuthorityError),
    /// Recording failed, or the number belongs to another account
    /// (`Conflict("id_number")`).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Runs real-name verification against an identity authority.
#[derive(Clone)]
pub struct RealName {
    accounts: Accounts,
    directory: Directory,
    authority: Arc<dyn IdentityAuthority>,
    db: Db,
}

impl RealName {
    /// Verification over these accounts, this directory (province codes)
    /// and this authority, counting mismatches in `db`.
    pub fn new(
        db: Db,
        accounts: Accounts,
        directory: Directory,
        authority: Arc<dyn IdentityAuthority>,
    ) -> Self {
        Self {
            accounts,
            directory,
            authority,
            db,
        }
    }

    /// `RateLimited` while the citizen has used up the window's mismatches.
    async fn check_mismatches(&self, citizen_id: &str) -> Result<(), ServiceError> {
        let now = now_ms();
        let record = self
            .db
            .get(&VERIFY_FAILURES, citizen_id)
            .await?
            .unwrap_or_default();
        let window_end = record.window_start_ms + MISMATCH_WINDOW_MS;
        if record.count >= MAX_MISMATCHES && window_end > now {
            return Err(ServiceError::RateLimited {
                retry_after_ms: window_end - now,
            });
        }
        Ok(())
    }

    /// Counts a mismatch: one atomic read-modify-write, so that parallel
    /// attempts cannot each see the same count and slip past the limit.
    async fn count_mismatch(&self, citizen_id: &str) -> Result<(), ServiceError> {
        let now = now_ms();
        self.db
            .transact(|tx| async move {
                let mut record = tx
                    .get(&VERIFY_FAILURES, citizen_id)
                    .await?
                    .unwrap_or_default();
                if record.window_start_ms + MISMATCH_WINDOW_MS <= now {
                    record = Mismatches {
                        count: 0,
                        window_start_ms: now,
                    };
                }
                record.count += 1;
                tx.put(&VERIFY_FAILURES, citizen_id, &record).await?;
                Ok::<_, ServiceError>(())
            })
            .await
    }

    /// The authority in use.
    pub fn authority(&self) -> &Arc<dyn IdentityAuthority> {
        &self.authority
    }

    /// Checks `name` and `id_number` in the order of the module docs and,
    /// on a match, records them for the citizen. Verifying again with the
    /// identity already recorded succeeds without asking the authority.
    pub async fn verify(
        &self,
        citizen: &Citizen,
        name: &str,
        id_number: &str,
    ) -> Result<Citizen, VerifyError> {
        let name = idcard::validate_name(name).map_err(VerifyError::Name)?;
        let number = self.validate_number(id_number).await?;
        if citizen.assurance_level >= 2 {
            let same = citizen.name.as_deref() == Some(name.as_str())
                && self.accounts.id_number(citizen)?.as_deref() == Some(number.as_str());
            return if same {
                Ok(citizen.clone())
            } else {
                Err(VerifyError::AlreadyVerified)
            };
        }
        self.check_mismatches(&citizen.id).await?;
        let verdict = self
            .authority
            .check(&name, &number)
            .await
            .map_err(VerifyError::Authority)?;
        tracing::info!(
            authority = self.authority.kind(),
            ?verdict,
            "real-name check"
        );
        match verdict {
            Verdict::Match => Ok(self
                .accounts
                .set_real_name(&citizen.id, &name, &number)
                .await?),
            Verdict::Mismatch => {
                self.count_mismatch(&citizen.id).await?;
                Err(VerifyError::Mismatch)
            }
        }
    }

    /// Steps 2-5: the number's structure against today's UTC date and the
    /// directory's provinces; returns it normalised.
    pub async fn validate_number(&self, id_number: &str) -> Result<String, VerifyError> {
        idcard::validate(id_number, idcard::today_utc(), |code| {
            self.directory.is_province(code)
        })
        .map_err(VerifyError::IdNumber)
    }
}
