//! The publishing steps that touch the runtime and the registry: the checks
//! at upload, review, release (gray and full), rollback, trial testers, and
//! restoring every app's release set at start.
//!
//! Each step's writes (version states, the [`ReleasePlan`], the operator
//! log entry) are one store transaction. A step that changes what citizens
//! see first builds the app's new [`ReleaseSet`] (compiling what is not
//! loaded yet; a component that does not load leaves everything as it
//! was), then commits, then swaps the set in the registry: the next
//! request uses it, requests already running finish on the release they
//! started with. Those steps hold [`Publishing::changes`](crate::publishing::Publishing)
//! from reading the plan to the swap, so plans change one at a time and the
//! registry ends with the plan the store ends with.

use std::collections::BTreeSet;
use std::sync::Arc;

use cityhost_store::{Scan, StoreError, Tx, now_ms};
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::manifest::Manifest;
use crate::platform::Platform;
use crate::publishing::PublishError;
use crate::publishing::departments::Department;
use crate::publishing::operators::OperatorAction;
use crate::publishing::package::Package;
use crate::publishing::rules::{Decision, MAX_TESTERS, check_caps};
use crate::publishing::tables::{APP_RELEASES, APP_VERSIONS, PACKAGES};
use crate::publishing::versions::{
    GrayRelease, ReleasePlan, TrialRelease, VersionRecord, VersionState,
};
use crate::registry::{App, ReleaseSet};
use crate::runtime::{LoadError, LoadedComponent};

/// A change of an app's release plan: the new plan and the versions whose
/// state changes with it, in the order they are written.
struct PlanChange {
    plan: ReleasePlan,
    states: Vec<(String, VersionState)>,
}

impl Platform {
    /// Checks and stores an uploaded package of `department`; the new version
    /// is `uploaded`. Checks, in order: manifest valid; app id owned by the
    /// department; manifest `[department]` equals the account; signature by
    /// one of the department's keys; version greater than every earlier
    /// version; bytes a `cityhost:miniapp` component whose imports are all
    /// declared permissions; limits within the operator caps. (Sizes are
    /// checked when the upload is decoded.) The component is compiled on the
    /// blocking pool; the package and the version record are stored in one
    /// transaction.
    pub async fn upload_package(
        self: &Arc<Self>,
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
        check_caps(&manifest, &publishing.caps().await?)?;
        // The compile (or cache hit) checks the world and the imports.
        self.compile(&manifest, package.component.clone()).await?;
        let now = now_ms();
        let record = VersionRecord {
            app_id: manifest.id.clone(),
            version: manifest.version.clone(),
            department: department.uscc.clone(),
            state: VersionState::Uploaded,
            reason: None,
            component_sha256: hex::encode(Sha256::digest(&package.component)),
            component_bytes: package.component.len() as u64,
            manifest: package.manifest.clone(),
            signed_by: key.id.clone(),
            uploaded_at: now,
            updated_at: now,
        };
        publishing
            .db()
            .transact(|tx| {
                let (record, version, component) = (&record, &version, &package.component);
                async move {
                    let app = record.app_id.as_str();
                    let earlier = tx.scan(&APP_VERSIONS, Scan::prefix((app,))).await?;
                    if let Some(latest) = earlier
                        .iter()
                        .filter_map(|(_, v)| semver::Version::parse(&v.version).ok())
                        .max()
                        && *version <= latest
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
                }
            })
            .await?;
        tracing::info!(app = %record.app_id, version = %record.version, department = %record.department, "package uploaded");
        Ok(record)
    }

    /// Submits an uploaded version for review. Conflict if the version is
    /// not `uploaded` or another version of the app is in review.
    pub async fn submit_for_review(
        &self,
        department: &str,
        app_id: &str,
        version: &str,
    ) -> ServiceResult<VersionRecord> {
        self.services
            .publishing
            .db()
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
        let publishing = &self.services.publishing;
        publishing
            .db()
            .transact(|tx| {
                let decision = &decision;
                async move {
                    let mut record = require(&tx, app_id, version).await?;
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
                    tx.put(&APP_VERSIONS, (app_id, version), &record).await?;
                    let target = format!("{app_id}@{version}");
                    let entry = OperatorAction::now(operator, action, &target, &detail);
                    publishing.operators.log(&tx, &entry).await?;
                    Ok(record)
                }
            })
            .await
    }

    /// Releases an approved (or gray-released) version to `percent` of the
    /// app's citizens (1–100). Below 100 it is a gray release beside the
    /// stable one; at 100 it becomes the stable release, and the previous
    /// stable release is kept for [`Platform::rollback`].
    pub async fn release(
        self: &Arc<Self>,
        operator: &str,
        app_id: &str,
        version: &str,
        percent: u8,
    ) -> ServiceResult<ReleasePlan> {
        if !(1..=100).contains(&percent) {
            return Err(ServiceError::invalid("percent", "use 1-100"));
        }
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().await;
        let record = publishing.versions.require(app_id, version).await?;
        let mut plan = publishing.versions.plan(app_id).await?;
        let is_gray = plan.gray.as_ref().is_some_and(|g| g.version == version);
        if record.state != VersionState::Approved && !is_gray {
            return Err(state_conflict(&record, "release it (approve it first)"));
        }
        if plan.stable.as_deref() == Some(version) {
            return Err(state_conflict(&record, "release it again"));
        }
        let mut states = Vec::new();
        if percent == 100 {
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
        let plan = self
            .change_plan(app_id, PlanChange { plan, states }, Some(entry))
            .await?;
        tracing::info!(app = %app_id, version, percent, "released");
        Ok(plan)
    }

    /// Rolls the app back at once: a running gray release is withdrawn;
    /// otherwise the stable release is replaced by the previous one.
    /// Conflict if there is nothing to return to.
    pub async fn rollback(
        self: &Arc<Self>,
        operator: &str,
        app_id: &str,
    ) -> ServiceResult<ReleasePlan> {
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().await;
        let mut plan = publishing.versions.plan(app_id).await?;
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
        let plan = self
            .change_plan(app_id, PlanChange { plan, states }, Some(entry))
            .await?;
        tracing::warn!(app = %app_id, withdrawn, "rolled back");
        Ok(plan)
    }

    /// Makes `version` the trial version of the app, shown only to the
    /// `testers` (this app's openids of citizens); an empty list ends the
    /// trial. The version must be uploaded, in review or approved.
    pub async fn set_trial(
        self: &Arc<Self>,
        department: &str,
        app_id: &str,
        version: &str,
        testers: Vec<String>,
    ) -> ServiceResult<ReleasePlan> {
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().await;
        let record = owned_version(
            publishing.versions.require(app_id, version).await?,
            department,
        )?;
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
        let mut plan = publishing.versions.plan(app_id).await?;
        plan.trial = (!testers.is_empty()).then(|| TrialRelease {
            version: version.to_string(),
            testers,
        });
        let change = PlanChange {
            plan,
            states: Vec::new(),
        };
        self.change_plan(app_id, change, None).await
    }

    /// Loads every app's release set from the store (at start). Apps whose
    /// release cannot be loaded are logged and returned.
    pub async fn restore_releases(self: &Arc<Self>) -> Vec<(String, ServiceError)> {
        let _changes = self.services.publishing.changes.lock().await;
        let plans = match self.services.publishing.versions.plans().await {
            Ok(plans) => plans,
            Err(e) => return vec![(String::new(), e)],
        };
        let mut failures = Vec::new();
        for (app_id, plan) in plans {
            if let Err(e) = self.apply_plan(&app_id, &plan).await {
                tracing::error!(app = %app_id, error = %e, "release not restored");
                failures.push((app_id, e));
            }
        }
        failures
    }

    /// Builds the app's release set for `change.plan` (a component that
    /// does not load changes nothing), then writes the plan, the version
    /// states and the operator log `entry` in one transaction, then swaps
    /// the set in. The caller holds [`Publishing::changes`](crate::publishing::Publishing).
    async fn change_plan(
        self: &Arc<Self>,
        app_id: &str,
        change: PlanChange,
        entry: Option<OperatorAction>,
    ) -> ServiceResult<ReleasePlan> {
        let publishing = &self.services.publishing;
        let set = self.release_set(app_id, &change.plan).await?;
        publishing
            .db()
            .transact(|tx| {
                let (change, entry) = (&change, &entry);
                async move {
                    for (version, state) in &change.states {
                        set_state(&tx, app_id, version, *state).await?;
                    }
                    tx.put(&APP_RELEASES, app_id, &change.plan).await?;
                    if let Some(entry) = entry {
                        publishing.operators.log(&tx, entry).await?;
                    }
                    Ok::<_, StoreError>(())
                }
            })
            .await?;
        self.registry.replace(app_id, set);
        Ok(change.plan)
    }

    /// Builds the app's release set for `plan` and swaps it in. Releases
    /// already loaded are reused.
    pub(crate) async fn apply_plan(
        self: &Arc<Self>,
        app_id: &str,
        plan: &ReleasePlan,
    ) -> ServiceResult<()> {
        let set = self.release_set(app_id, plan).await?;
        self.registry.replace(app_id, set);
        Ok(())
    }

    /// The release set of `plan`: releases already in the app's current set
    /// are reused, the others loaded from the store and compiled.
    async fn release_set(
        self: &Arc<Self>,
        app_id: &str,
        plan: &ReleasePlan,
    ) -> ServiceResult<ReleaseSet> {
        let current = self.registry.set(app_id);
        let current = current.as_deref();
        let stable = match &plan.stable {
            Some(version) => Some(self.release_app(app_id, current, version).await?),
            None => None,
        };
        let gray = match &plan.gray {
            Some(g) => Some((
                self.release_app(app_id, current, &g.version).await?,
                g.percent,
            )),
            None => None,
        };
        let trial = match &plan.trial {
            Some(t) => Some((
                self.release_app(app_id, current, &t.version).await?,
                t.testers.iter().cloned().collect::<BTreeSet<_>>(),
            )),
            None => None,
        };
        Ok(ReleaseSet {
            stable,
            gray,
            trial,
        })
    }

    /// The app at `version`: from `current` when loaded there, otherwise
    /// loaded from the store.
    async fn release_app(
        self: &Arc<Self>,
        app_id: &str,
        current: Option<&ReleaseSet>,
        version: &str,
    ) -> ServiceResult<Arc<App>> {
        let loaded = current.and_then(|set| {
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
            None => self.load_version(app_id, version).await.map(Arc::new),
        }
    }

    /// Compiles (or loads from the cache) a stored version.
    async fn load_version(self: &Arc<Self>, app_id: &str, version: &str) -> ServiceResult<App> {
        let versions = &self.services.publishing.versions;
        let record = versions.require(app_id, version).await?;
        let bytes = versions
            .package(&record.component_sha256)
            .await?
            .ok_or(ServiceError::NotFound("package"))?;
        let manifest = Manifest::parse(&record.manifest)
            .map_err(|e| ServiceError::invalid("manifest", e.to_string()))?;
        let division_path =
            crate::registry::division_path(&self.services.directory, &manifest.department.division)
                .await
                .map_err(|e| ServiceError::invalid("component", e.to_string()))?;
        let component = self
            .compile(&manifest, bytes)
            .await
            .map_err(|e| ServiceError::invalid("component", e.to_string()))?;
        Ok(App {
            manifest: Arc::new(manifest),
            division_path,
            component,
            source_dir: self.registry.source_dir(app_id),
        })
    }

    /// Compiles (or loads from the cache) a component on the blocking pool:
    /// a compile takes the better part of a second, which no request task
    /// should wait behind.
    async fn compile(
        self: &Arc<Self>,
        manifest: &Manifest,
        bytes: Vec<u8>,
    ) -> Result<LoadedComponent, LoadError> {
        let platform = Arc::clone(self);
        let manifest = manifest.clone();
        match tokio::task::spawn_blocking(move || platform.runtime.load(&manifest, &bytes)).await {
            Ok(loaded) => loaded,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(LoadError::Invalid(
                "the compilation was cancelled: the host is stopping".into(),
            )),
        }
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
