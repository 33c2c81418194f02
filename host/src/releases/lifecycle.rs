//! The publishing steps that touch the runtime and the registry: the checks
//! at upload that need the engine, release (gray and full), rollback, trial
//! testers, and restoring every app's release set at start. Their rules and
//! records are the domain's (`crate::publishing::steps`: submitting for
//! review and the review itself need no engine and live there alone).
//!
//! Each step's writes (version states, the [`ReleasePlan`], the operator
//! log entry) are one store transaction. A step that changes what citizens
//! see first builds the app's new [`ReleaseSet`] (compiling what is not
//! loaded yet; a component that does not load leaves everything as it
//! was), then commits, then swaps the set in the registry: the next
//! request uses it, requests already running finish on the release they
//! started with. Those steps hold [`Publishing::changes`](crate::publishing::Publishing)
//! from reading the plan to the swap, so plans change one at a time and the
//! registry ends with the plan the store ends with. Hosts sharing the
//! store hear of each change ([`RELEASE_CHANGED`], a store signal) and load
//! the app's plan from the store ([`Platform::reload_release`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use cityhost_store::now_ms;
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::manifest::Manifest;
use crate::platform::{LOADS_AT_ONCE, Platform};
use crate::publishing::PublishError;
use crate::publishing::departments::Department;
use crate::publishing::package::Package;
use crate::publishing::rules::check_caps;
use crate::publishing::steps::PlanChange;
use crate::publishing::versions::{ReleasePlan, VersionRecord, VersionState};
use crate::registry::{App, ReleaseSet};
use crate::runtime::{LoadError, Runtime};

/// The store signal sent to the other hosts when an app's release plan
/// changed; its payload is the app id.
pub const RELEASE_CHANGED: &str = "release.changed";

impl Platform {
    /// Checks and stores an uploaded package of `department`; the new version
    /// is `uploaded`. Checks, in order: manifest valid; its `[department]
    /// uscc` present and the department's own (a department cannot publish
    /// as another); app id owned by the department; the manifest's
    /// `[department]` name and division equal the account's; signature by
    /// one of the department's keys; version greater than every earlier
    /// version (build metadata ignored, SemVer 2.0.0 §10); bytes a binary
    /// component (not WebAssembly text, not a core module), a
    /// `cityhost:miniapp` component whose imports are all
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
        let uscc = manifest.department_key()?;
        if uscc != department.uscc {
            return Err(PublishError::OtherDepartment {
                found: uscc.to_string(),
                expected: department.uscc.clone(),
            });
        }
        if !publishing
            .departments
            .owns(&department.uscc, &manifest.id)
            .await?
        {
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
        // The engine compiles WebAssembly text too: refuse anything but a
        // binary component before it gets the chance.
        if !crate::publishing::package::is_binary_component(&package.component) {
            return Err(PublishError::Component(LoadError::Invalid(
                "not a binary WebAssembly component: a package carries the component's \
                 binary encoding (it starts with `\\0asm`, component version 0x0d, layer 1), \
                 not WebAssembly text or a core module"
                    .into(),
            )));
        }
        // The compile (or cache hit) checks the world and the imports.
        let digest = hex::encode(Sha256::digest(&package.component));
        {
            let (manifest, digest) = (manifest.clone(), digest.clone());
            let bytes = package.component.clone();
            self.on_blocking_pool(move |runtime| runtime.load_stored(&manifest, &digest, &bytes))
                .await?;
        }
        let now = now_ms();
        let record = VersionRecord {
            app_id: manifest.id.clone(),
            version: manifest.version.clone(),
            department: department.uscc.clone(),
            state: VersionState::Uploaded,
            reason: None,
            component_sha256: digest,
            component_bytes: package.component.len() as u64,
            manifest: package.manifest.clone(),
            signed_by: key.id.clone(),
            uploaded_at: now,
            updated_at: now,
        };
        publishing
            .record_upload(&record, &version, &package.component)
            .await?;
        tracing::info!(app = %record.app_id, version = %record.version, department = %record.department, "package uploaded");
        Ok(record)
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
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().await;
        let change = publishing
            .plan_release(operator, app_id, version, percent)
            .await?;
        let plan = self.change_plan(app_id, change).await?;
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
        let (change, withdrawn) = publishing.plan_rollback(operator, app_id).await?;
        let plan = self.change_plan(app_id, change).await?;
        tracing::warn!(app = %app_id, withdrawn, "rolled back");
        Ok(plan)
    }

    /// Makes `version` the trial version of the app, shown only to the
    /// `testers` (this app's openids of citizens); an empty list ends the
    /// trial. The version must be uploaded, in review or approved.
    /// Errors: a tester that is not an openid this app has been given
    /// (invalid `testers`, naming its index), and those of
    /// [`cityhost_domain::publishing::Publishing::plan_trial`].
    pub async fn set_trial(
        self: &Arc<Self>,
        department: &str,
        app_id: &str,
        version: &str,
        testers: Vec<String>,
    ) -> ServiceResult<ReleasePlan> {
        let publishing = &self.services.publishing;
        let _changes = publishing.changes.lock().await;
        let change = publishing
            .plan_trial(department, app_id, version, testers)
            .await?;
        let named = change.plan.trial.iter().flat_map(|t| &t.testers);
        for (i, tester) in named.enumerate() {
            if self
                .services
                .openids
                .resolve(app_id, tester)
                .await?
                .is_none()
            {
                return Err(ServiceError::invalid(
                    "testers",
                    format!("testers[{i}] is no openid {app_id} has been given"),
                ));
            }
        }
        self.change_plan(app_id, change).await
    }

    /// Loads every app's release set from the store (at start). Apps whose
    /// release cannot be loaded are logged and returned.
    pub async fn restore_releases(self: &Arc<Self>) -> Vec<(String, ServiceError)> {
        let _changes = self.services.publishing.changes.lock().await;
        let plans = match self.services.publishing.versions.plans().await {
            Ok(plans) => plans,
            Err(e) => return vec![(String::new(), e)],
        };
        let restored = futures_util::stream::iter(plans)
            .map(|(app_id, plan)| async move {
                let result = self.apply_plan(&app_id, &plan).await;
                (app_id, result)
            })
            .buffered(LOADS_AT_ONCE);
        let mut failures = Vec::new();
        futures_util::pin_mut!(restored);
        while let Some((app_id, result)) = restored.next().await {
            if let Err(e) = result {
                tracing::error!(app = %app_id, error = %e, "release not restored");
                failures.push((app_id, e));
            }
        }
        failures
    }

    /// Builds the app's release set for `change.plan` (a component that
    /// does not load changes nothing), then writes the plan, the version
    /// states and the operator log entry in one transaction, then swaps
    /// the set in. The caller holds [`Publishing::changes`](crate::publishing::Publishing).
    async fn change_plan(
        self: &Arc<Self>,
        app_id: &str,
        change: PlanChange,
    ) -> ServiceResult<ReleasePlan> {
        let set = self.release_set(app_id, &change.plan).await?;
        self.services
            .publishing
            .commit_plan(app_id, &change)
            .await?;
        self.registry.replace(app_id, set);
        if let Err(e) = self.services.db.signal(RELEASE_CHANGED, app_id).await {
            tracing::error!(app = %app_id, error = %e, "the other hosts were not told of a release change");
        }
        Ok(change.plan)
    }

    /// Loads `app_id`'s release plan from the store and serves it (another
    /// host changed it). Releases already loaded are reused; a new one is
    /// compiled (or read from this host's component cache). Errors: the
    /// plan's component cannot be loaded here — this host keeps serving
    /// what it served.
    pub async fn reload_release(self: &Arc<Self>, app_id: &str) -> ServiceResult<()> {
        let _changes = self.services.publishing.changes.lock().await;
        let plan = self.services.publishing.versions.plan(app_id).await?;
        self.apply_plan(app_id, &plan).await
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

    /// Loads a stored version: from the compiled-component caches when
    /// they hold its component (its package is then not read), else
    /// compiled from its package.
    async fn load_version(self: &Arc<Self>, app_id: &str, version: &str) -> ServiceResult<App> {
        let versions = &self.services.publishing.versions;
        let record = versions.require(app_id, version).await?;
        let manifest = Arc::new(
            Manifest::parse(&record.manifest)
                .map_err(|e| ServiceError::invalid("manifest", e.to_string()))?,
        );
        let division_path =
            crate::registry::division_path(&self.services.directory, &manifest.department.division)
                .await
                .map_err(|e| ServiceError::invalid("component", e.to_string()))?;
        let digest = Arc::new(record.component_sha256);
        let invalid = |e: LoadError| ServiceError::invalid("component", e.to_string());
        let compiled = {
            let (manifest, digest) = (manifest.clone(), digest.clone());
            self.on_blocking_pool(move |runtime| runtime.load_compiled(&manifest, &digest))
                .await
                .map_err(invalid)?
        };
        let component = match compiled {
            Some(component) => component,
            None => {
                let bytes = versions
                    .package(&digest)
                    .await?
                    .ok_or(ServiceError::NotFound("package"))?;
                let manifest = manifest.clone();
                self.on_blocking_pool(move |runtime| {
                    runtime.load_stored(&manifest, &digest, &bytes)
                })
                .await
                .map_err(invalid)?
            }
        };
        Ok(App {
            manifest,
            division_path,
            component,
        })
    }

    /// Runs a load on the blocking pool: a compile takes the better part
    /// of a second, which no request task should wait behind.
    async fn on_blocking_pool<T: Send + 'static>(
        self: &Arc<Self>,
        load: impl FnOnce(&Runtime) -> Result<T, LoadError> + Send + 'static,
    ) -> Result<T, LoadError> {
        let platform = Arc::clone(self);
        match tokio::task::spawn_blocking(move || load(&platform.runtime)).await {
            Ok(loaded) => loaded,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(LoadError::Invalid(
                "the compilation was cancelled: the host is stopping".into(),
            )),
        }
    }
}
