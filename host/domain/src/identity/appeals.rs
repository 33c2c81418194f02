//! Identity appeals (身份申诉): the way back for a person whose identity
//! another account verified first — by guessing, or a relative's phone.
//!
//! Only someone the authority matched (name and number) may file: the
//! appeal runs every real-name check again, mismatch limits included
//! (`identity::verification`). If the number is free by then, filing just
//! verifies. Otherwise the appeal waits for an operator, who makes the
//! stronger check the platform cannot make online — the identity card in
//! person at a service counter, or a video call against the card — and
//! decides. Approval moves the verification in one transaction
//! ([`Accounts::move_real_name`]): the account that held it drops to level
//! 1 with no name or number, the claimant is verified. Rejection changes
//! nothing. Either way the operator's evidence is kept with the decision.
//!
//! A citizen has at most one pending appeal; filing again while one waits
//! answers that one. Appeals hold the number sealed to the appeal and its
//! blind index, never in clear.

use cityhost_store::{Db, Scan, now_ms};
use serde::{Deserialize, Serialize};

use super::accounts::{Accounts, Citizen};
use super::idcard;
use super::sealed::Vault;
use super::tables::APPEALS;
use super::verification::{Checked, RealName, VerifyError};
use crate::error::{ServiceError, ServiceResult};

/// Longest evidence an operator may record, in characters.
pub const MAX_EVIDENCE_CHARS: usize = 500;

/// Where an appeal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealStatus {
    /// Waiting for an operator.
    Pending,
    /// The verification was moved to the claimant.
    Approved,
    /// The operator found the claim unproven; nothing changed.
    Rejected,
}

/// An appeal as stored ([`APPEALS`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Appeal {
    /// Appeal id (UUID).
    pub id: String,
    /// The account that filed it.
    pub claimant_id: String,
    /// The name the authority matched.
    pub name: String,
    /// The identity number, sealed to this appeal's id.
    pub id_number_sealed: String,
    /// The number masked for display (`3****************3`).
    pub id_number_masked: String,
    /// Where it stands.
    pub status: AppealStatus,
    /// Filed, UTC ms.
    pub filed_at: u64,
    /// Decided, UTC ms.
    pub decided_at: Option<u64>,
    /// Who decided (the operator's id).
    pub decided_by: Option<String>,
    /// What the operator checked, in their words.
    pub evidence: Option<String>,
}

/// What filing an appeal did.
#[derive(Debug)]
pub enum Filed {
    /// The number was free (or already the citizen's): verified at once.
    Verified(Citizen),
    /// The appeal waits for an operator (a new one, or the citizen's
    /// pending one).
    Pending(Appeal),
}

/// An operator's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Move the verification to the claimant.
    Approve,
    /// Change nothing.
    Reject,
}

/// Filing and deciding appeals.
#[derive(Clone)]
pub struct Appeals {
    db: Db,
    accounts: Accounts,
    real_name: RealName,
    vault: Vault,
}

impl Appeals {
    /// Appeals in `db`, checked by `real_name`, moving verifications in
    /// `accounts`; numbers sealed in `vault`.
    pub fn new(db: Db, accounts: Accounts, real_name: RealName, vault: Vault) -> Self {
        Self {
            db,
            accounts,
            real_name,
            vault,
        }
    }

    /// Files an appeal for `citizen` (request from `client`) claiming the
    /// identity `name` / `id_number`. Errors: every [`RealName::check`]
    /// error (a mismatch is counted as in verification).
    pub async fn file(
        &self,
        citizen: &Citizen,
        name: &str,
        id_number: &str,
        client: &str,
    ) -> Result<Filed, VerifyError> {
        let (name, number) = match self
            .real_name
            .check(citizen, name, id_number, client)
            .await?
        {
            Checked::Recorded(citizen) => return Ok(Filed::Verified(citizen)),
            Checked::Matched { name, number } => (name, number),
        };
        match self.real_name.record(citizen, &name, &number).await {
            Ok(citizen) => return Ok(Filed::Verified(citizen)),
            Err(VerifyError::HeldByAnother) => {}
            Err(e) => return Err(e),
        }
        if let Some(pending) = self
            .of_citizen(&citizen.id)
            .await?
            .into_iter()
            .find(|a| a.status == AppealStatus::Pending)
        {
            return Ok(Filed::Pending(pending));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let appeal = Appeal {
            id_number_sealed: self.vault.seal(&number, &id),
            id_number_masked: idcard::mask(&number),
            id,
            claimant_id: citizen.id.clone(),
            name,
            status: AppealStatus::Pending,
            filed_at: now_ms(),
            decided_at: None,
            decided_by: None,
            evidence: None,
        };
        self.db
            .put(&APPEALS, &appeal.id, &appeal)
            .await
            .map_err(ServiceError::from)?;
        tracing::info!(appeal = %appeal.id, citizen = %citizen.id, "identity appeal filed");
        Ok(Filed::Pending(appeal))
    }

    /// The citizen's appeals, newest first.
    pub async fn of_citizen(&self, citizen_id: &str) -> ServiceResult<Vec<Appeal>> {
        let mut found: Vec<Appeal> = self
            .all()
            .await?
            .into_iter()
            .filter(|a| a.claimant_id == citizen_id)
            .collect();
        found.sort_by_key(|a| std::cmp::Reverse(a.filed_at));
        Ok(found)
    }

    /// Every appeal, or those with `status`, oldest first (the operator's
    /// queue).
    pub async fn list(&self, status: Option<AppealStatus>) -> ServiceResult<Vec<Appeal>> {
        let mut found: Vec<Appeal> = self
            .all()
            .await?
            .into_iter()
            .filter(|a| status.is_none_or(|s| a.status == s))
            .collect();
        found.sort_by_key(|a| a.filed_at);
        Ok(found)
    }

    async fn all(&self) -> ServiceResult<Vec<Appeal>> {
        Ok(self
            .db
            .scan(&APPEALS, Scan::all())
            .await?
            .into_iter()
            .map(|(_, appeal)| appeal)
            .collect())
    }

    /// The account currently verified with the appeal's identity, if any.
    pub async fn holder(&self, appeal: &Appeal) -> ServiceResult<Option<Citizen>> {
        let number = self.open(appeal)?;
        self.accounts.verified_with(&number).await
    }

    /// Decides a pending appeal as `operator`, recording `evidence` (what
    /// was checked, 1 to [`MAX_EVIDENCE_CHARS`] characters). Approval needs
    /// `card_number`, the number the operator read from the identity card
    /// they checked, which must be the appeal's; it moves the
    /// verification. Errors: `InvalidArgument("evidence")`;
    /// `InvalidArgument("id_number")` (approval without the card's number,
    /// or another number);
    /// `NotFound("appeal")`; `Conflict("appeal")` if it is already decided;
    /// `Conflict("claimant")` if the claimant is meanwhile verified with
    /// another identity (reject it instead).
    pub async fn decide(
        &self,
        appeal_id: &str,
        decision: Decision,
        evidence: &str,
        card_number: Option<&str>,
        operator: &str,
    ) -> ServiceResult<Appeal> {
        let evidence = evidence.trim();
        if evidence.is_empty() || evidence.chars().count() > MAX_EVIDENCE_CHARS {
            return Err(ServiceError::invalid(
                "evidence",
                format!("say what was checked, 1 to {MAX_EVIDENCE_CHARS} characters"),
            ));
        }
        let mut appeal = self
            .db
            .get(&APPEALS, appeal_id)
            .await?
            .ok_or(ServiceError::NotFound("appeal"))?;
        if appeal.status != AppealStatus::Pending {
            return Err(ServiceError::Conflict {
                field: "appeal",
                reason: "this appeal is already decided".into(),
            });
        }
        if decision == Decision::Approve {
            let number = self.open(&appeal)?;
            let read = card_number.map(|n| n.trim().to_ascii_uppercase());
            if read.as_deref() != Some(number.as_str()) {
                return Err(ServiceError::invalid(
                    "id_number",
                    "approving needs the number on the identity card checked, and it must be the appeal's",
                ));
            }
            let (previous, _) = self
                .accounts
                .move_real_name(&appeal.claimant_id, &appeal.name, &number)
                .await?;
            tracing::warn!(
                appeal = %appeal.id,
                claimant = %appeal.claimant_id,
                previous_holder = previous.as_deref().unwrap_or("-"),
                %operator,
                "identity appeal approved: verification moved"
            );
        } else {
            tracing::info!(appeal = %appeal.id, %operator, "identity appeal rejected");
        }
        appeal.status = match decision {
            Decision::Approve => AppealStatus::Approved,
            Decision::Reject => AppealStatus::Rejected,
        };
        appeal.decided_at = Some(now_ms());
        appeal.decided_by = Some(operator.to_string());
        appeal.evidence = Some(evidence.to_string());
        self.db.put(&APPEALS, &appeal.id, &appeal).await?;
        Ok(appeal)
    }

    fn open(&self, appeal: &Appeal) -> ServiceResult<String> {
        self.vault
            .open(&appeal.id_number_sealed, &appeal.id)
            .map_err(|e| {
                tracing::error!(appeal = %appeal.id, error = %e, "sealed identity number");
                ServiceError::Sealed(e)
            })
    }
}
