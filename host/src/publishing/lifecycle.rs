//! The publishing steps that touch the runtime and the registry: the checks
//! at upload, review, release (gray and full), rollback, trial testers, and
//! restoring every app's release set at start.
//!
//! Every step that changes what citizens see stores the new
//! [`ReleasePlan`] and then swaps the app's [`ReleaseSet`] in the registry:
//! the next request uses it, requests already running finish on the
//! release they started with.

use std::collections::BTreeSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::departments::Department;
use super::package::Package;
use super::versions::{GrayRelease, ReleasePlan, TrialRelease, VersionRecord, VersionState};
use super::{OperatorCaps, PublishError};
use crate::error::{ServiceError, ServiceResult};
use crate::manifest::Manifest;
use crate::platform::Platform;
use crate::registry::{App, ReleaseSet};
use crate::store::now_ms;

/// Most testers of one trial version.
pub const MAX_TESTERS: usize = 100;

/// An operator's review decision.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The version may be released.
    Approve,
    /// The version is refused, with the reason shown to the department.
    Reject(String),
}

impl Platform {
    /// Checks and stores an uploaded package of `department`; the new version
    /// is `uploaded`. Checks, in order: manifest valid; app id owned by the
    /// department; manifest `[department]` equals the account; signature by
    /// one of the department's keys; version greater than every earlier
    /// version; bytes a `cityhost:miniapp` component whose imports are all
    /// declared permissions; limits within the operator caps. (Sizes are
    /// checked when the upload is decoded.)
    pub fn upload_package(
        &self,
        department: &Department,
        package: &Package,
    ) -> Result<VersionRecord, PublishError> {
        let publishing = &self.services.publishing;
        let manifest = Manifest::parse(&package.manifest)?;
        if !department.apps.contains(&manifest.id) {
            return Err(PublishError::WrongDepartment(manifest.id));
        }
        if manifest.department.name != department.name {
            return Err(PublishError::DepartmentMismatch {
                field: "department.name",
                expected: department.name.clone(),
            });
        }
        if manifest.department.division != department.division {
            return Err(PublishError::DepartmentMismatch {
                field: "department.division",
                expected: department.division.clone(),
            });
        }
        let key = package
            .signed_by(&department.keys, &manifest.id, &manifest.version)
            .ok_or(PublishError::BadSignature)?;
        let version = semver::Version::parse(&manifest.version).map_err(|e| {
            ServiceError::invalid("manifest.version", format!("not a semantic version: {e}"))
        })?;
        check_caps(&manifest, &publishing.caps()?)?;
        // The compile (or cache hit) checks the world and the imports.
        self.runtime.load(&manifest, &package.component)?;
        let _changes = publishing.changes.lock().expect("publishing lock");
        if let Some(latest) = publishing
            .versions
            .list(&manifest.id)?
            .into_iter()
            .filter_map(|v| semver::Version::parse(&v.version).ok())
            .max()
            && version <= latest
        {
            return Err(PublishError::VersionNotIncreasing {
                version: manifest.version,
                latest: latest.to_string(),
            });
        }
        let sha256 = hex::encode(Sha256::digest(&package.component));
        publishing
            .versions
            .put_package(&sha256, &package.component)?;
        let now = now_ms();
        let record = VersionRecord {
            app_id: manifest.id.clone(),
            version: manifest.version.clone(),
            department: department.uscc.clone(),
            state: VersionState::Uploaded,
            reason: None,
            component_sha256: sha256,
            component_bytes: package.component.len() as u64,
            manifest: package.manifest.clone(),
            signed_by: key.id.clone(),
            uploaded_at: now,
            updated_at: now,
        };
        publishing.versions.put(&record)?;
        tracing::info!(app = %record.app_id, version = %record.version, department = %record.department, "package uploaded");
        Ok(record)
    }

    /// Submits an uploaded version for review. Conflict if the version is
    /// not `uploaded` or another version of the app is in review.
    pub fn submit_for_review(
        &self,
        department: &str,
        app_id: &str,
        version: &str,
    ) -> ServiceResult<VersionRecord> {
        let versions = &self.services.publishing.versions;
        let _changes = self
            .services
            .publishing
            .changes
            .lock()
            .expect("publishing lock");
        let mut record = owned_version(versions.require(app_id, version)?, department)?;
        if record.state != VersionState::Uploaded {
            return Err(state_conflict(&record, "submit it for review"));
        }
        if let Some(other) = versions
            .list(app_id)?
            .into_iter()
            .find(|v| v.state == VersionState::InReview)
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
        versions.put(&record)?;
        Ok(record)
    }

    /// Records an operator's decision on a version in review.
    pub fn review(
        &self,
        operator: &str,
        app_id: &str,
        version: &str,
        decision: Decision,
    ) -> ServiceResult<VersionRecord> {
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().expect("publishing lock");
        let mut record = publishing.versions.require(app_id, version)?;
        if record.state != VersionState::InReview {
            return Err(state_conflict(&record, "review it"));
        }
        let (action, detail) = match decision {
            Decision::Approve => {
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
        publishing.versions.put(&record)?;
        publishing
            .operators
            .record(operator, action, &format!("{app_id}@{version}"), &detail)?;
        Ok(record)
    }

    /// Releases an approved (or gray-released) version to `percent` of the
    /// app's citizens (1–100). Below 100 it is a gray release beside the
    /// stable one; at 100 it becomes the stable release, and the previous
    /// stable release is kept for [`Platform::rollback`].
    pub fn release(
        &self,
        operator: &str,
        app_id: &str,
        version: &str,
        percent: u8,
    ) -> ServiceResult<ReleasePlan> {
        if !(1..=100).contains(&percent) {
            return Err(ServiceError::invalid("percent", "use 1-100"));
        }
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().expect("publishing lock");
        let mut record = publishing.versions.require(app_id, version)?;
        let mut plan = publishing.versions.plan(app_id)?;
        let is_gray = plan.gray.as_ref().is_some_and(|g| g.version == version);
        if record.state != VersionState::Approved && !is_gray {
            return Err(state_conflict(&record, "release it (approve it first)"));
        }
        if plan.stable.as_deref() == Some(version) {
            return Err(state_conflict(&record, "release it again"));
        }
        if percent == 100 {
            if let Some(previous) = plan.stable.take() {
                self.set_state(app_id, &previous, VersionState::Superseded)?;
                plan.history.push(previous);
            }
            plan.stable = Some(version.to_string());
            if let Some(gray) = plan.gray.take()
                && gray.version != version
            {
                self.set_state(app_id, &gray.version, VersionState::Superseded)?;
            }
        } else {
            if let Some(gray) = &plan.gray
                && gray.version != version
            {
                // A newer gray release replaces an older one.
                self.set_state(app_id, &gray.version.clone(), VersionState::Approved)?;
            }
            plan.gray = Some(GrayRelease {
                version: version.to_string(),
                percent,
            });
        }
        if plan.trial.as_ref().is_some_and(|t| t.version == version) {
            plan.trial = None;
        }
        record.state = VersionState::Released;
        record.updated_at = now_ms();
        self.apply_plan(app_id, &plan)?;
        publishing.versions.put(&record)?;
        publishing.versions.put_plan(app_id, &plan)?;
        publishing.operators.record(
            operator,
            "release.release",
            &format!("{app_id}@{version}"),
            &format!("{percent}%"),
        )?;
        tracing::info!(app = %app_id, version, percent, "released");
        Ok(plan)
    }

    /// Rolls the app back at once: a running gray release is withdrawn;
    /// otherwise the stable release is replaced by the previous one.
    /// Conflict if there is nothing to return to.
    pub fn rollback(&self, operator: &str, app_id: &str) -> ServiceResult<ReleasePlan> {
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().expect("publishing lock");
        let mut plan = publishing.versions.plan(app_id)?;
        let withdrawn = if let Some(gray) = plan.gray.take() {
            gray.version
        } else {
            let previous = plan.history.pop().ok_or_else(|| ServiceError::Conflict {
                field: "app_id",
                reason: format!("{app_id} has no earlier release to roll back to"),
            })?;
            let current = plan.stable.replace(previous.clone()).unwrap_or_default();
            self.set_state(app_id, &previous, VersionState::Released)?;
            current
        };
        self.apply_plan(app_id, &plan)?;
        if !withdrawn.is_empty() {
            self.set_state(app_id, &withdrawn, VersionState::RolledBack)?;
        }
        publishing.versions.put_plan(app_id, &plan)?;
        publishing.operators.record(
            operator,
            "release.rollback",
            app_id,
            &format!("withdrew {withdrawn}"),
        )?;
        tracing::warn!(app = %app_id, withdrawn, "rolled back");
        Ok(plan)
    }

    /// Makes `version` the trial version of the app, shown only to the
    /// `testers` (this app's openids of citizens); an empty list ends the
    /// trial. The version must be uploaded, in review or approved.
    pub fn set_trial(
        &self,
        department: &str,
        app_id: &str,
        version: &str,
        testers: Vec<String>,
    ) -> ServiceResult<ReleasePlan> {
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().expect("publishing lock");
        let record = owned_version(publishing.versions.require(app_id, version)?, department)?;
        if !matches!(
            record.state,
            VersionState::Uploaded | VersionState::InReview | VersionState::Approved
        ) {
            return Err(state_conflict(&record, "make it a trial version"));
        }
        if testers.len() > MAX_TESTERS || testers.iter().any(|t| t.is_empty() || t.len() > 128) {
            return Err(ServiceError::invalid(
                "testers",
                format!("give at most {MAX_TESTERS} openids"),
            ));
        }
        let mut plan = publishing.versions.plan(app_id)?;
        plan.trial = (!testers.is_empty()).then(|| TrialRelease {
            version: version.to_string(),
            testers,
        });
        self.apply_plan(app_id, &plan)?;
        publishing.versions.put_plan(app_id, &plan)?;
        Ok(plan)
    }

    /// Loads every app's release set from the store (at start). Apps whose
    /// release cannot be loaded are logged and returned.
    pub fn restore_releases(&self) -> Vec<(String, ServiceError)> {
        let plans = match self.services.publishing.versions.plans() {
            Ok(plans) => plans,
            Err(e) => return vec![(String::new(), e)],
        };
        let mut failures = Vec::new();
        for (app_id, plan) in plans {
            if let Err(e) = self.apply_plan(&app_id, &plan) {
                tracing::error!(app = %app_id, error = %e, "release not restored");
                failures.push((app_id, e));
            }
        }
        failures
    }

    /// Builds the app's release set for `plan` and swaps it in. Releases
    /// already loaded are reused.
    pub(crate) fn apply_plan(&self, app_id: &str, plan: &ReleasePlan) -> ServiceResult<()> {
        let current = self.registry.set(app_id);
        let load = |version: &str| -> ServiceResult<Arc<App>> {
            let loaded = current.as_ref().and_then(|set| {
                [
                    set.stable.clone(),
                    set.gray.as_ref().map(|g| g.0.clone()),
                    set.trial.as_ref().map(|t| t.0.clone()),
                ]
                .into_iter()
                .flatten()
                .find(|app| app.manifest.version == version)
            });
            match loaded {
                Some(app) => Ok(app),
                None => self.load_version(app_id, version).map(Arc::new),
            }
        };
        let set = ReleaseSet {
            stable: plan.stable.as_deref().map(load).transpose()?,
            gray: plan
                .gray
                .as_ref()
                .map(|g| Ok::<_, ServiceError>((load(&g.version)?, g.percent)))
                .transpose()?,
            trial: plan
                .trial
                .as_ref()
                .map(|t| {
                    Ok::<_, ServiceError>((
                        load(&t.version)?,
                        t.testers.iter().cloned().collect::<BTreeSet<_>>(),
                    ))
                })
                .transpose()?,
        };
        self.registry.replace(app_id, set);
        Ok(())
    }

    /// Compiles (or loads from the cache) a stored version.
    fn load_version(&self, app_id: &str, version: &str) -> ServiceResult<App> {
        let versions = &self.services.publishing.versions;
        let record = versions.require(app_id, version)?;
        let bytes = versions
            .package(&record.component_sha256)?
            .ok_or(ServiceError::NotFound("package"))?;
        let manifest = Manifest::parse(&record.manifest)
            .map_err(|e| ServiceError::invalid("manifest", e.to_string()))?;
        crate::registry::load_app(
            &self.runtime,
            &self.services.directory,
            manifest,
            &bytes,
            &self.registry.source_dir(app_id),
        )
        .map_err(|e| ServiceError::invalid("component", e.to_string()))
    }

    fn set_state(&self, app_id: &str, version: &str, state: VersionState) -> ServiceResult<()> {
        let versions = &self.services.publishing.versions;
        if let Some(mut record) = versions.get(app_id, version)? {
            record.state = state;
            record.updated_at = now_ms();
            versions.put(&record)?;
        }
        Ok(())
    }
}

/// Checks that each `[limits]` value of `manifest` is above zero and within
/// `caps`.
pub fn check_caps(manifest: &Manifest, caps: &OperatorCaps) -> Result<(), PublishError> {
    let limits = &manifest.limits;
    let checks = [
        ("limits.memory-mib", limits.memory_mib, caps.memory_mib),
        ("limits.timeout-ms", limits.timeout_ms, caps.timeout_ms),
        (
            "limits.storage-bytes",
            limits.storage_bytes,
            caps.storage_bytes,
        ),
        (
            "limits.max-order-fen",
            limits.max_order_fen,
            caps.max_order_fen,
        ),
    ];
    for (field, value, cap) in checks {
        if let Some(value) = value {
            if value > cap {
                return Err(PublishError::OverCap { field, value, cap });
            }
            if value == 0 {
                return Err(ServiceError::invalid(field, "must be above zero").into());
            }
        }
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
