//! Publishing the mini-apps shipped with the host (`cityhost demo`,
//! `cityhost serve --apps DIR`) through the same path as a department's
//! upload: a department account per app (its code, name and division from
//! the manifest's `[department]`, its contact from `[dev.publisher]`), a
//! signing key, a signed package, the upload
//! checks, review and a full release.
//!
//! The host signs bundled packages with a key derived from its session key
//! (HMAC-SHA256 with a fixed label) and registers it for each bundled
//! department; review and release are logged as operator `bootstrap`.
//! A version already published with the same bytes is left as it is; a
//! version published with other bytes is refused (bump the version).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};

use crate::error::ServiceError;
use crate::manifest::{DevPublisher, Manifest, ManifestError};
use crate::platform::{LOADS_AT_ONCE, Platform};
use crate::publishing::PublishError;
use crate::publishing::departments::{Department, NewDepartment};
use crate::publishing::package::Package;
use crate::publishing::rules::Decision;
use crate::publishing::uscc::Uscc;
use crate::publishing::versions::VersionState;
use crate::registry::{App, MANIFEST_FILE};

/// The operator name under which bundled apps are reviewed and released.
pub const BOOTSTRAP_REVIEWER: &str = "bootstrap";

/// Why a bundled app was not published.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The manifest is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest has no `[dev.publisher]`.
    #[error("manifest has no [dev.publisher] section (contact-name, contact-phone)")]
    NoPublisher,
    /// The component file is missing.
    #[error(
        "component {path} not found ({reason}); build the mini-apps first (cityhost build-apps)"
    )]
    MissingComponent {
        /// Where it was looked for.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The same version was published before with other bytes.
    #[error("version {0} was published before with other bytes; bump the version in cityhost.toml")]
    ChangedWithoutNewVersion(String),
    /// The package was refused.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The department account could not be created or updated.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Platform {
    /// Makes sure `manifest`'s department (`[department]`) has an account,
    /// creating it with `publisher` as its contact if not (an operator log
    /// entry records it), and that the account owns the app. Returns the
    /// department's code. For bundled apps and for `cityhost dev`.
    /// Errors: the code or the account's fields are malformed, the store
    /// failed.
    pub async fn ensure_department(
        &self,
        manifest: &Manifest,
        publisher: &DevPublisher,
    ) -> Result<Uscc, BundleError> {
        let publishing = &self.services.publishing;
        // The department's one key is `[department] uscc` (checked at parse).
        let uscc = Uscc::parse(manifest.department_key()?)
            .map_err(|e| ServiceError::invalid("department.uscc", e.to_string()))?;
        if publishing.departments.get(uscc.as_str()).await?.is_none() {
            publishing
                .departments
                .create(
                    NewDepartment {
                        name: manifest.department.name.clone(),
                        uscc: uscc.to_string(),
                        division: manifest.department.division.clone(),
                        contact_name: publisher.contact_name.clone(),
                        contact_phone: publisher.contact_phone.clone(),
                        apps: vec![manifest.id.clone()],
                    },
                    &self.services.directory,
                )
                .await?;
            publishing
                .operators
                .record(
                    BOOTSTRAP_REVIEWER,
                    "department.create",
                    uscc.as_str(),
                    &manifest.department.name,
                )
                .await?;
        }
        publishing
            .departments
            .assign_app(uscc.as_str(), &manifest.id)
            .await?;
        Ok(uscc)
    }

    /// Publishes the app in `dir` (its `cityhost.toml`) with its component
    /// from `components_dir`; returns its stable release.
    pub async fn publish_bundled(
        self: &Arc<Self>,
        dir: &Path,
        components_dir: &Path,
    ) -> Result<Arc<App>, BundleError> {
        let text = std::fs::read_to_string(dir.join(MANIFEST_FILE)).map_err(|source| {
            ManifestError::Io {
                path: dir.join(MANIFEST_FILE).display().to_string(),
                source,
            }
        })?;
        let manifest = Manifest::parse(&text)?;
        let path = components_dir.join(format!("{}.wasm", manifest.id.replace('-', "_")));
        // Read and hashed off the async threads: apps load several at a
        // time, and a component is megabytes.
        let (bytes, sha256) = tokio::task::spawn_blocking(move || {
            let bytes = std::fs::read(&path).map_err(|e| BundleError::MissingComponent {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let sha256 = hex::encode(Sha256::digest(&bytes));
            Ok::<_, BundleError>((bytes, sha256))
        })
        .await
        .map_err(|e| match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => {
                BundleError::Service(ServiceError::Unavailable("the host is stopping".into()))
            }
        })??;
        let publisher = manifest
            .dev
            .publisher
            .clone()
            .ok_or(BundleError::NoPublisher)?;
        self.registry.set_source_dir(&manifest.id, dir);
        let publishing = &self.services.publishing;
        // Released at an earlier start (restored with the others): only
        // checked. Otherwise published under the lock, after reading again:
        // a folder holding the same app may have published it meanwhile.
        if self.bundled_state(&manifest, &sha256).await? != Some(VersionState::Released) {
            let _one = self.bundling.lock().await;
            match self.bundled_state(&manifest, &sha256).await? {
                Some(VersionState::Released) => {}
                // Published earlier but not released: finish the way.
                Some(_) => self.finish_bundled(&manifest).await?,
                None => {
                    let department = self.bundled_department(&manifest, &publisher).await?;
                    let key = &publishing.bundled_key;
                    let package = Package::sign(key, &manifest.id, &manifest.version, text, bytes);
                    self.upload_package(&department, &package).await?;
                    self.finish_bundled(&manifest).await?;
                }
            }
        }
        if let Some(app) = self.registry.get(&manifest.id) {
            return Ok(app);
        }
        // Released earlier, but its release was not restored at start.
        {
            let _changes = publishing.changes.lock().await;
            let plan = publishing.versions.plan(&manifest.id).await?;
            self.apply_plan(&manifest.id, &plan).await?;
        }
        self.registry
            .get(&manifest.id)
            .ok_or(BundleError::Service(ServiceError::NotFound("release")))
    }

    /// The state of the stored version of a bundled app, `None` before it
    /// is uploaded. Errors: the stored version's component is not the
    /// folder's (`sha256`, hex) — a changed component needs a new version.
    async fn bundled_state(
        &self,
        manifest: &Manifest,
        sha256: &str,
    ) -> Result<Option<VersionState>, BundleError> {
        let versions = &self.services.publishing.versions;
        match versions.get(&manifest.id, &manifest.version).await? {
            Some(existing) if existing.component_sha256 != sha256 => Err(
                BundleError::ChangedWithoutNewVersion(manifest.version.clone()),
            ),
            existing => Ok(existing.map(|v| v.state)),
        }
    }

    /// The department account a bundled app is uploaded under
    /// ([`Platform::ensure_department`]), with the host's bundled-app key
    /// registered.
    async fn bundled_department(
        &self,
        manifest: &Manifest,
        publisher: &DevPublisher,
    ) -> Result<Department, BundleError> {
        let uscc = self.ensure_department(manifest, publisher).await?;
        let departments = &self.services.publishing.departments;
        let key = &self.services.publishing.bundled_key;
        let public =
            base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
        departments.add_key(uscc.as_str(), &public).await?;
        Ok(departments
            .get(uscc.as_str())
            .await?
            .ok_or(ServiceError::NotFound("department"))?)
    }

    async fn finish_bundled(self: &Arc<Self>, manifest: &Manifest) -> Result<(), BundleError> {
        let versions = &self.services.publishing.versions;
        let (id, version) = (manifest.id.as_str(), manifest.version.as_str());
        let record = versions.require(id, version).await?;
        if record.state == VersionState::Uploaded {
            self.services
                .publishing
                .submit_for_review(&record.department, id, version)
                .await?;
        }
        if versions.require(id, version).await?.state == VersionState::InReview {
            self.services
                .publishing
                .review(BOOTSTRAP_REVIEWER, id, version, Decision::Approve)
                .await?;
        }
        if versions.require(id, version).await?.state == VersionState::Approved {
            self.release(BOOTSTRAP_REVIEWER, id, version, 100).await?;
        }
        Ok(())
    }

    /// Publishes every app directory in `app_dirs` (see
    /// [`Platform::publish_bundled`]), [`LOADS_AT_ONCE`] at a time. An app
    /// that fails is logged with the reason and left out; the others are
    /// served. Returns the failures, in `app_dirs` order.
    pub async fn load_apps(
        self: &Arc<Self>,
        app_dirs: &[PathBuf],
        components_dir: &Path,
    ) -> Vec<(PathBuf, BundleError)> {
        let published = futures_util::stream::iter(app_dirs)
            .map(|dir| async move { (dir, self.publish_bundled(dir, components_dir).await) })
            .buffered(LOADS_AT_ONCE);
        futures_util::pin_mut!(published);
        let mut failures = Vec::new();
        while let Some((dir, result)) = published.next().await {
            match result {
                Ok(app) => tracing::info!(
                    app = %app.manifest.id,
                    version = %app.manifest.version,
                    digest = %&app.component.digest[..12],
                    "published bundled mini-app"
                ),
                Err(e) => {
                    tracing::error!(dir = %dir.display(), error = %e, "mini-app not published");
                    failures.push((dir.clone(), e));
                }
            }
        }
        failures
    }
}
