//! The publishing steps' rules and records, each step one transaction:
//! storing an uploaded version, submitting it for review, the operator's
//! review, and the release-plan changes of release, rollback and trial
//! ([`PlanChange`]). No engine is needed: the host's `releases` checks the
//! component, builds the new release set before [`Publishing::commit_plan`]
//! and swaps it in after.

use cityhost_store::{Scan, StoreError, Tx, now_ms};

use super::operators::OperatorAction;
use super::rules::{Decision, MAX_TESTERS, check_caps};
use super::tables::{APP_RELEASES, APP_VERSIONS, PACKAGES};
use super::versions::{GrayRelease, ReleasePlan, TrialRelease, VersionRecord, VersionState};
use super::{PublishError, Publishing};
use crate::error::{ServiceError, ServiceResult};
use crate::identity::openid::is_openid;
use crate::manifest::Manifest;

/// A change of an app's release plan: the new plan, the versions whose
/// state changes with it (in the order they are written) and the operator
/// log entry, if an operator made it.
#[derive(Debug, Clone)]
pub struct PlanChange {
    /// The app's plan after the change.
    pub plan: ReleasePlan,
    /// `(version, new state)`, written in order.
    pub states: Vec<(String, VersionState)>,
    /// The operator log entry written with the change.
    pub entry: Option<OperatorAction>,
}

impl Publishing {
    /// Stores an uploaded version (state `uploaded`) and its component
    /// bytes in one transaction, once the caller has checked the package.
    /// Errors: `version` does not take precedence over every earlier
    /// version of the app, build metadata ignored as SemVer 2.0.0 §10 says
    /// (`1.1.0+rebuild` after `1.1.0` is refused,
    /// [`PublishError::VersionNotIncreasing`]); a store failure.
    pub async fn record_upload(
        &self,
        record: &VersionRecord,
        version: &semver::Version,
        component: &Vec<u8>,
    ) -> Result<(), PublishError> {
        self.db
            .transact(|tx| async move {
                let app = record.app_id.as_str();
                let earlier = tx.scan(&APP_VERSIONS, Scan::prefix((app,))).await?;
                // Precedence ignores build metadata (SemVer 2.0.0 §10):
                // `1.1.0+rebuild` is the same version as `1.1.0`, not a
                // newer one.
                if let Some(latest) = earlier
                    .iter()
                    .filter_map(|(_, v)| semver::Version::parse(&v.version).ok())
                    .max_by(|a, b| a.cmp_precedence(b))
                    && version.cmp_precedence(&latest).is_le()
                {
                    return Err(PublishError::VersionNotIncreasing {
                        version: record.version.clone(),
                        latest: latest.to_string(),
                    });
                }
                tx.put(&PACKAGES, &record.component_sha256, component)
                    .await?;
                tx.put(&APP_VERSIONS, (app, record.version.as_str()), record)
                    .await?;
                Ok(())
            })
            .await
    }

    /// Submits an uploaded version for review. Conflict if the version is
    /// not `uploaded` or another version of the app is in review.
    pub async fn submit_for_review(
        &self,
        department: &str,
        app_id: &str,
        version: &str,
    ) -> ServiceResult<VersionRecord> {
        self.db
            .transact(|tx| async move {
                let mut record = owned_version(require(&tx, app_id, version).await?, department)?;
                if record.state != VersionState::Uploaded {
                    return Err(state_conflict(&record, "submit it for review"));
                }
                let versions = tx.scan(&APP_VERSIONS, Scan::prefix((app_id,))).await?;
                if let Some((_, other)) = versions
                    .iter()
                    .find(|(_, v)| v.state == VersionState::InReview)
                {
                    return Err(ServiceError::Conflict {
                        field: "version",
                        reason: format!(
                            "version {} of {app_id} is already in review; one version per app at a time",
                            other.version
                        ),
                    });
                }
                record.state = VersionState::InReview;
                record.updated_at = now_ms();
                tx.put(&APP_VERSIONS, (app_id, version), &record).await?;
                Ok(record)
            })
            .await
    }

    /// Records an operator's decision on a version in review, with the
    /// operator log entry (`release.approve` or `release.reject`).
    pub async fn review(
        &self,
        operator: &str,
        app_id: &str,
        version: &str,
        decision: Decision,
    ) -> ServiceResult<VersionRecord> {
        let operators = &self.operators;
        self.db
            .transact(|tx| {
                let decision = &decision;
                async move {
                    let mut record = require(&tx, app_id, version).await?;
                    if record.state != VersionState::InReview {
                        return Err(state_conflict(&record, "review it"));
                    }
                    let (action, detail) = match decision {
                        Decision::Approve => {
                            // The caps may have narrowed since the upload.
                            let manifest = Manifest::parse(&record.manifest)
                                .map_err(|e| ServiceError::invalid("manifest", e.to_string()))?;
                            let caps = Publishing::caps_in(&tx).await?;
                            if let Err(e) = check_caps(&manifest, &caps) {
                                return Err(ServiceError::Conflict {
                                    field: "caps",
                                    reason: e.to_string(),
                                });
                            }
                            record.state = VersionState::Approved;
                            ("release.approve", String::new())
                        }
                        Decision::Reject(reason) => {
                            let reason = reason.trim().to_string();
                            if reason.is_empty() || reason.chars().count() > 500 {
                                return Err(ServiceError::invalid(
                                    "reason",
                                    "give a reason of 1-500 characters",
                                ));
                            }
                            record.state = VersionState::Rejected;
                            record.reason = Some(reason.clone());
                            ("release.reject", reason)
                        }
                    };
                    record.updated_at = now_ms();
                    tx.put(&APP_VERSIONS, (app_id, version), &record).await?;
                    let target = format!("{app_id}@{version}");
                    let entry = OperatorAction::now(operator, action, &target, &detail);
                    operators.log(&tx, &entry).await?;
                    Ok(record)
                }
            })
            .await
    }

    /// The change that releases an approved version — or one released
    /// before: gray now, superseded, or rolled back — to `percent` of the
    /// app's citizens (1–100): below 100 a gray release beside the stable
    /// one, at 100 the stable release (the previous one kept in the plan's
    /// history for rollback). Errors: `percent` out of range; the version
    /// never approved (uploaded, in review, rejected) or already stable
    /// (conflict, saying what would make it releasable); not found.
    pub async fn plan_release(
        &self,
        operator: &str,
        app_id: &str,
        version: &str,
        percent: u8,
    ) -> ServiceResult<PlanChange> {
        if !(1..=100).contains(&percent) {
            return Err(ServiceError::invalid("percent", "use 1-100"));
        }
        let record = self.versions.require(app_id, version).await?;
        let mut plan = self.versions.plan(app_id).await?;
        match record.state {
            // (Released: gray now, or stable, refused below.)
            VersionState::Approved
            | VersionState::Superseded
            | VersionState::RolledBack
            | VersionState::Released => {}
            VersionState::Uploaded | VersionState::InReview => {
                return Err(state_conflict(
                    &record,
                    "release it before an operator approves it",
                ));
            }
            VersionState::Rejected => {
                return Err(state_conflict(
                    &record,
                    "release it (upload a new version with the reviewer's changes)",
                ));
            }
        }
        if plan.stable.as_deref() == Some(version) {
            return Err(state_conflict(&record, "release it again"));
        }
        let mut states = Vec::new();
        if percent == 100 {
            // Released again, it leaves the history it was in.
            plan.history.retain(|v| v != version);
            if let Some(previous) = plan.stable.take() {
                states.push((previous.clone(), VersionState::Superseded));
                plan.history.push(previous);
            }
            plan.stable = Some(version.to_string());
            if let Some(gray) = plan.gray.take()
                && gray.version != version
            {
                states.push((gray.version, VersionState::Superseded));
            }
        } else {
            if let Some(gray) = &plan.gray
                && gray.version != version
            {
                // A newer gray release replaces an older one.
                states.push((gray.version.clone(), VersionState::Approved));
            }
            plan.gray = Some(GrayRelease {
                version: version.to_string(),
                percent,
            });
        }
        if plan.trial.as_ref().is_some_and(|t| t.version == version) {
            plan.trial = None;
        }
        states.push((version.to_string(), VersionState::Released));
        let entry = OperatorAction::now(
            operator,
            "release.release",
            &format!("{app_id}@{version}"),
            &format!("{percent}%"),
        );
        Ok(PlanChange {
            plan,
            states,
            entry: Some(entry),
        })
    }

    /// The change that rolls the app back: a running gray release is
    /// withdrawn; otherwise the stable release is replaced by the previous
    /// one. Conflict if there is nothing to return to. Returns the change
    /// and the withdrawn version.
    pub async fn plan_rollback(
        &self,
        operator: &str,
        app_id: &str,
    ) -> ServiceResult<(PlanChange, String)> {
        let mut plan = self.versions.plan(app_id).await?;
        let mut states = Vec::new();
        let withdrawn = if let Some(gray) = plan.gray.take() {
            gray.version
        } else {
            let previous = plan.history.pop().ok_or_else(|| ServiceError::Conflict {
                field: "app_id",
                reason: format!("{app_id} has no earlier release to roll back to"),
            })?;
            let current = plan.stable.replace(previous.clone()).unwrap_or_default();
            states.push((previous, VersionState::Released));
            current
        };
        if !withdrawn.is_empty() {
            states.push((withdrawn.clone(), VersionState::RolledBack));
        }
        let entry = OperatorAction::now(
            operator,
            "release.rollback",
            app_id,
            &format!("withdrew {withdrawn}"),
        );
        let change = PlanChange {
            plan,
            states,
            entry: Some(entry),
        };
        Ok((change, withdrawn))
    }

    /// The change that makes `version` of `department`'s app the trial
    /// version, shown only to `testers` (this app's openids of citizens,
    /// at most [`MAX_TESTERS`], each once); an empty list ends the trial.
    /// The version must be uploaded, in review or approved (else
    /// conflict). Errors: an entry that is not an openid's shape or
    /// repeats one (invalid `testers`, naming its index).
    pub async fn plan_trial(
        &self,
        department: &str,
        app_id: &str,
        version: &str,
        testers: Vec<String>,
    ) -> ServiceResult<PlanChange> {
        let record = owned_version(self.versions.require(app_id, version).await?, department)?;
        if !matches!(
            record.state,
            VersionState::Uploaded | VersionState::InReview | VersionState::Approved
        ) {
            return Err(state_conflict(&record, "make it a trial version"));
        }
        if testers.len() > MAX_TESTERS {
            return Err(ServiceError::invalid(
                "testers",
                format!("give at most {MAX_TESTERS} openids"),
            ));
        }
        for (i, tester) in testers.iter().enumerate() {
            if !is_openid(tester) {
                return Err(ServiceError::invalid(
                    "testers",
                    format!(
                        "testers[{i}] is not an openid (32 lowercase hex characters, as the app \
                         is given them)"
                    ),
                ));
            }
            if testers[..i].contains(tester) {
                return Err(ServiceError::invalid(
                    "testers",
                    format!("testers[{i}] repeats an openid named before"),
                ));
            }
        }
        let mut plan = self.versions.plan(app_id).await?;
        plan.trial = (!testers.is_empty()).then(|| TrialRelease {
            version: version.to_string(),
            testers,
        });
        Ok(PlanChange {
            plan,
            states: Vec::new(),
            entry: None,
        })
    }

    /// Writes `change` in one transaction: the version states, the app's
    /// plan and the operator log entry.
    pub async fn commit_plan(&self, app_id: &str, change: &PlanChange) -> ServiceResult<()> {
        let operators = &self.operators;
        self.db
            .transact(|tx| async move {
                for (version, state) in &change.states {
                    set_state(&tx, app_id, version, *state).await?;
                }
                tx.put(&APP_RELEASES, app_id, &change.plan).await?;
                if let Some(entry) = &change.entry {
                    operators.log(&tx, entry).await?;
                }
                Ok::<_, StoreError>(())
            })
            .await?;
        Ok(())
    }
}

/// The version record within `tx`, or not found.
async fn require(tx: &Tx, app_id: &str, version: &str) -> ServiceResult<VersionRecord> {
    tx.get(&APP_VERSIONS, (app_id, version))
        .await?
        .ok_or(ServiceError::NotFound("version"))
}

/// Sets the state of a version (if it exists) within `tx`.
async fn set_state(
    tx: &Tx,
    app_id: &str,
    version: &str,
    state: VersionState,
) -> Result<(), StoreError> {
    if let Some(mut record) = tx.get(&APP_VERSIONS, (app_id, version)).await? {
        record.state = state;
        record.updated_at = now_ms();
        tx.put(&APP_VERSIONS, (app_id, version), &record).await?;
    }
    Ok(())
}

fn owned_version(record: VersionRecord, department: &str) -> ServiceResult<VersionRecord> {
    if record.department != department {
        return Err(ServiceError::NotFound("version"));
    }
    Ok(record)
}

fn state_conflict(record: &VersionRecord, what: &str) -> ServiceError {
    ServiceError::Conflict {
        field: "version",
        reason: format!(
            "{}@{} is {}; cannot {what}",
            record.app_id,
            record.version,
            serde_json::to_value(record.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    //! The release rules without an engine: versions as records only.

    use super::*;
    use crate::publishing::OperatorCaps;

    const DEPT: &str = "11330000002482146U";

    fn record(version: &str) -> VersionRecord {
        VersionRecord {
            app_id: "app".into(),
            version: version.into(),
            department: DEPT.into(),
            state: VersionState::Uploaded,
            reason: None,
            component_sha256: format!("sha-{version}"),
            component_bytes: 1,
            manifest: manifest(version, ""),
            signed_by: "key".into(),
            uploaded_at: 0,
            updated_at: 0,
        }
    }

    /// A valid manifest of `app` at `version`, with `extra` appended.
    fn manifest(version: &str, extra: &str) -> String {
        format!(
            "id = \"app\"\nname = \"应用\"\nversion = \"{version}\"\ncategory = \"public-data\"\n\
             permissions = [\"http\"]\n{extra}\n[department]\nuscc = \"{DEPT}\"\n\
             name = \"浙江省大数据发展管理局\"\ndivision = \"33\"\n\
             [http]\nallow = [\"https://api.zjzwfw.gov.cn\"]\n"
        )
    }

    #[tokio::test]
    async fn approval_holds_the_release_to_the_caps_in_force_then() {
        let (_dir, db) = crate::testing::temp_db();
        let p = Publishing::new(db, &[7; 32]);
        let v = semver::Version::parse("1.0.0").unwrap();
        p.record_upload(&record("1.0.0"), &v, &vec![0])
            .await
            .unwrap();
        p.submit_for_review(DEPT, "app", "1.0.0").await.unwrap();
        // The operator narrows the domains after the upload.
        let caps = OperatorCaps {
            http_domains: vec!["hzwater.example".into()],
            ..OperatorCaps::default()
        };
        p.set_caps(caps).await.unwrap();
        let refused = p.review("op", "app", "1.0.0", Decision::Approve).await;
        assert!(
            matches!(&refused, Err(ServiceError::Conflict { field: "caps", reason }) if reason.contains("http.allow[0]")),
            "{refused:?}"
        );
        let caps = OperatorCaps {
            http_domains: vec!["gov.cn".into()],
            ..OperatorCaps::default()
        };
        p.set_caps(caps).await.unwrap();
        p.review("op", "app", "1.0.0", Decision::Approve)
            .await
            .unwrap();
    }

    /// Uploads, submits and approves `version`.
    async fn approved(p: &Publishing, version: &str) {
        let v = semver::Version::parse(version).unwrap();
        p.record_upload(&record(version), &v, &vec![0])
            .await
            .unwrap();
        p.submit_for_review(DEPT, "app", version).await.unwrap();
        p.review("op", "app", version, Decision::Approve)
            .await
            .unwrap();
    }

    async fn state(p: &Publishing, version: &str) -> VersionState {
        p.versions.require("app", version).await.unwrap().state
    }

    #[tokio::test]
    async fn gray_then_full_release_then_rollback() {
        let (_dir, db) = crate::testing::temp_db();
        let p = Publishing::new(db, &[7; 32]);
        approved(&p, "1.0.0").await;
        let change = p.plan_release("op", "app", "1.0.0", 100).await.unwrap();
        p.commit_plan("app", &change).await.unwrap();
        approved(&p, "1.1.0").await;

        let gray = p.plan_release("op", "app", "1.1.0", 10).await.unwrap();
        assert_eq!(gray.plan.stable.as_deref(), Some("1.0.0"));
        assert_eq!(gray.plan.gray.as_ref().map(|g| g.percent), Some(10));
        p.commit_plan("app", &gray).await.unwrap();
        assert_eq!(state(&p, "1.1.0").await, VersionState::Released);

        let full = p.plan_release("op", "app", "1.1.0", 100).await.unwrap();
        p.commit_plan("app", &full).await.unwrap();
        assert_eq!(state(&p, "1.0.0").await, VersionState::Superseded);
        assert!(matches!(
            p.plan_release("op", "app", "1.1.0", 100).await,
            Err(ServiceError::Conflict { .. })
        ));

        let (back, withdrawn) = p.plan_rollback("op", "app").await.unwrap();
        assert_eq!(withdrawn, "1.1.0");
        p.commit_plan("app", &back).await.unwrap();
        assert_eq!(
            p.versions.plan("app").await.unwrap().stable.as_deref(),
            Some("1.0.0")
        );
        assert_eq!(state(&p, "1.1.0").await, VersionState::RolledBack);
        assert!(p.plan_rollback("op", "app").await.is_err());
        let log = p.operators.actions(0, u64::MAX, 10).await.unwrap();
        assert!(log.iter().any(|a| a.action == "release.rollback"));
    }

    /// A version withdrawn by a rollback (its fault was elsewhere) or
    /// superseded goes back out, gray or whole; one never approved does
    /// not, and the refusal says what would let it.
    #[tokio::test]
    async fn a_rolled_back_or_superseded_version_is_released_again() {
        let (_dir, db) = crate::testing::temp_db();
        let p = Publishing::new(db, &[7; 32]);
        let release = async |version: &str, percent: u8| {
            let change = p.plan_release("op", "app", version, percent).await?;
            p.commit_plan("app", &change).await?;
            Ok::<_, ServiceError>(())
        };
        approved(&p, "1.0.0").await;
        release("1.0.0", 100).await.unwrap();
        approved(&p, "1.1.0").await;
        release("1.1.0", 100).await.unwrap();
        let (back, _) = p.plan_rollback("op", "app").await.unwrap();
        p.commit_plan("app", &back).await.unwrap();
        assert_eq!(state(&p, "1.1.0").await, VersionState::RolledBack);

        release("1.1.0", 20).await.unwrap();
        release("1.1.0", 100).await.unwrap();
        let plan = p.versions.plan("app").await.unwrap();
        assert_eq!(plan.stable.as_deref(), Some("1.1.0"));
        assert_eq!(plan.history, ["1.0.0"]);
        assert_eq!(state(&p, "1.0.0").await, VersionState::Superseded);
        // The superseded one, again: 1.1.0 goes to the history once.
        release("1.0.0", 100).await.unwrap();
        let plan = p.versions.plan("app").await.unwrap();
        assert_eq!(plan.stable.as_deref(), Some("1.0.0"));
        assert_eq!(plan.history, ["1.1.0"]);

        let v = semver::Version::parse("1.2.0").unwrap();
        p.record_upload(&record("1.2.0"), &v, &vec![0])
            .await
            .unwrap();
        let refused = release("1.2.0", 100).await;
        assert!(
            matches!(&refused, Err(ServiceError::Conflict { reason, .. })
                if reason.contains("before an operator approves it")),
            "{refused:?}"
        );
        p.submit_for_review(DEPT, "app", "1.2.0").await.unwrap();
        let no = Decision::Reject("the form asks for too much".into());
        p.review("op", "app", "1.2.0", no).await.unwrap();
        let refused = release("1.2.0", 100).await;
        assert!(
            matches!(&refused, Err(ServiceError::Conflict { reason, .. })
                if reason.contains("upload a new version")),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn versions_must_increase_and_percent_stay_in_range() {
        let (_dir, db) = crate::testing::temp_db();
        let p = Publishing::new(db, &[7; 32]);
        approved(&p, "1.1.0").await;
        let older = semver::Version::parse("1.0.9").unwrap();
        assert!(matches!(
            p.record_upload(&record("1.0.9"), &older, &vec![0]).await,
            Err(PublishError::VersionNotIncreasing { .. })
        ));
        // Build metadata does not order versions (SemVer 2.0.0 §10): a
        // rebuild of 1.1.0 is not newer than 1.1.0.
        let rebuild = semver::Version::parse("1.1.0+rebuild").unwrap();
        assert!(matches!(
            p.record_upload(&record("1.1.0+rebuild"), &rebuild, &vec![0])
                .await,
            Err(PublishError::VersionNotIncreasing { .. })
        ));
        let next = semver::Version::parse("1.1.1+build.7").unwrap();
        p.record_upload(&record("1.1.1+build.7"), &next, &vec![0])
            .await
            .unwrap();
        let same = semver::Version::parse("1.1.1+build.8").unwrap();
        assert!(matches!(
            p.record_upload(&record("1.1.1+build.8"), &same, &vec![0])
                .await,
            Err(PublishError::VersionNotIncreasing { .. })
        ));
        assert!(p.plan_release("op", "app", "1.1.0", 0).await.is_err());
        assert!(p.plan_release("op", "app", "1.1.0", 101).await.is_err());
        // Another department cannot name testers for this version.
        assert!(matches!(
            p.plan_trial("91330100MA27XL0E96", "app", "1.1.0", vec!["o".into()])
                .await,
            Err(ServiceError::NotFound("version"))
        ));
    }
}
