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
//! the number. Before the authority is asked, the mismatch counters of
//! `identity::verify_throttle` (per account, per number, per client) may
//! make the attempt wait, so that the authority never becomes a name
//! lookup. A match for a number another account holds is
//! [`VerifyError::HeldByAnother`]: only someone who knows the name and
//! number learns that, and their way forward is an appeal
//! (`identity::appeals`).

use std::sync::Arc;

use cityhost_store::{Db, now_ms};

use super::accounts::{Accounts, Citizen};
use super::authority::{AuthorityError, IdentityAuthority, Verdict};
use super::idcard::{self, IdNumberError, NameError};
use super::verify_throttle;
use crate::directory::Directory;
use crate::error::ServiceError;

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
    /// The authority matched, but another account is verified with this
    /// identity; the person it belongs to may appeal
    /// (`identity::appeals`).
    #[error(
        "another account is verified with this identity; if it is yours, file an appeal for an operator to review"
    )]
    HeldByAnother,
    /// The authority could not answer; nothing was recorded.
    #[error(transparent)]
    Authority(AuthorityError),
    /// Recording failed, or a limit makes the attempt wait (`RateLimited`).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What [`RealName::check`] found.
#[derive(Debug)]
pub enum Checked {
    /// The citizen is already verified with this identity.
    Recorded(Citizen),
    /// The authority holds this name with this number (normalised).
    Matched {
        /// The validated name.
        name: String,
        /// The normalised number (upper-case `X`).
        number: String,
    },
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

    /// The authority in use.
    pub fn authority(&self) -> &Arc<dyn IdentityAuthority> {
        &self.authority
    }

    /// Checks `name` and `id_number` for `citizen`, whose request comes
    /// from `client` (its address), in the order of the module docs and,
    /// on a match, records them for the citizen. Verifying again with the
    /// identity already recorded succeeds without asking the authority.
    pub async fn verify(
        &self,
        citizen: &Citizen,
        name: &str,
        id_number: &str,
        client: &str,
    ) -> Result<Citizen, VerifyError> {
        match self.check(citizen, name, id_number, client).await? {
            Checked::Recorded(citizen) => Ok(citizen),
            Checked::Matched { name, number } => self.record(citizen, &name, &number).await,
        }
    }

    /// Steps 1-6 without recording: [`Checked::Recorded`] if the citizen
    /// is already verified with this identity, else the matched name and
    /// normalised number. Errors: as [`RealName::verify`] (never
    /// `HeldByAnother`).
    pub async fn check(
        &self,
        citizen: &Citizen,
        name: &str,
        id_number: &str,
        client: &str,
    ) -> Result<Checked, VerifyError> {
        let name = idcard::validate_name(name).map_err(VerifyError::Name)?;
        let number = self.validate_number(id_number).await?;
        if citizen.assurance_level >= 2 {
            let same = citizen.name.as_deref() == Some(name.as_str())
                && self.accounts.id_number(citizen)?.as_deref() == Some(number.as_str());
            return if same {
                Ok(Checked::Recorded(citizen.clone()))
            } else {
                Err(VerifyError::AlreadyVerified)
            };
        }
        let key = self.accounts.id_index(&number);
        verify_throttle::admit(&self.db, &citizen.id, &key, client, now_ms()).await?;
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
            Verdict::Match => {
                verify_throttle::matched(&self.db, &key).await?;
                Ok(Checked::Matched { name, number })
            }
            Verdict::Mismatch => {
                verify_throttle::mismatched(&self.db, &citizen.id, &key, client, now_ms()).await?;
                Err(VerifyError::Mismatch)
            }
        }
    }

    /// Records a matched identity for `citizen`. Errors: `HeldByAnother`
    /// when another account holds the number.
    pub async fn record(
        &self,
        citizen: &Citizen,
        name: &str,
        number: &str,
    ) -> Result<Citizen, VerifyError> {
        match self.accounts.set_real_name(&citizen.id, name, number).await {
            Err(ServiceError::Conflict {
                field: "id_number", ..
            }) => Err(VerifyError::HeldByAnother),
            other => Ok(other?),
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
