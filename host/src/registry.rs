//! The apps the host serves: each a validated manifest, its department's
//! place in the directory, and its compiled component.
//!
//! Apps are found in an apps directory (each sub-directory with a
//! `cityhost.toml`) and their components in a components directory, named
//! after the app id with `-` → `_` (`utility-bills` →
//! `utility_bills.wasm`, as cargo names a `cdylib` built for
//! `wasm32-wasip2`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::directory::{Directory, Division};
use crate::manifest::Manifest;
use crate::runtime::{LoadedComponent, Runtime};

/// Name of the manifest file in an app's directory.
pub const MANIFEST_FILE: &str = "cityhost.toml";

/// A loaded app.
pub struct App {
    /// Its manifest.
    pub manifest: Arc<Manifest>,
    /// The department's division and its ancestors, province first.
    pub division_path: Vec<Division>,
    /// The compiled component.
    pub component: LoadedComponent,
    /// The directory the manifest came from (for seed files).
    pub source_dir: PathBuf,
}

/// Why an app was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum AppLoadError {
    /// The manifest is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// The division code is not in the directory.
    #[error("manifest field `department.division`: `{0}` is not a Zhejiang division code")]
    UnknownDivision(String),
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
    /// The component was refused.
    #[error(transparent)]
    Load(#[from] crate::runtime::LoadError),
    /// The directory lookup failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The loaded apps, by id. Replacing an app takes effect for the next
/// request; requests already running keep the `Arc<App>` they started with.
#[derive(Default)]
pub struct Registry {
    apps: RwLock<BTreeMap<String, Arc<App>>>,
}

impl Registry {
    /// The app with this id.
    pub fn get(&self, id: &str) -> Option<Arc<App>> {
        self.apps.read().expect("registry lock").get(id).cloned()
    }

    /// The app's display name and department name, for lists that outlive
    /// an app (orders, grants, messages): the id and an empty department
    /// when the app is no longer loaded.
    pub fn display_names(&self, id: &str) -> (String, String) {
        match self.get(id) {
            Some(app) => (
                app.manifest.name.clone(),
                app.manifest.department.name.clone(),
            ),
            None => (id.to_string(), String::new()),
        }
    }

    /// Every app, by id.
    pub fn list(&self) -> Vec<Arc<App>> {
        self.apps
            .read()
            .expect("registry lock")
            .values()
            .cloned()
            .collect()
    }

    /// Adds or replaces an app.
    pub fn install(&self, app: App) -> Arc<App> {
        let app = Arc::new(app);
        self.apps
            .write()
            .expect("registry lock")
            .insert(app.manifest.id.clone(), app.clone());
        app
    }
}

/// Loads one app from its manifest and component bytes.
pub fn load_app(
    runtime: &Runtime,
    directory: &Directory,
    manifest: Manifest,
    bytes: &[u8],
    source_dir: &Path,
) -> Result<App, AppLoadError> {
    let division = &manifest.department.division;
    match directory.get(division)? {
        Some(d) if d.zhejiang => {}
        _ => return Err(AppLoadError::UnknownDivision(division.clone())),
    }
    let division_path = directory.path(division)?;
    let component = runtime.load(&manifest, bytes)?;
    Ok(App {
        manifest: Arc::new(manifest),
        division_path,
        component,
        source_dir: source_dir.to_path_buf(),
    })
}

/// Loads the app in `app_dir` (its `cityhost.toml`) with its component
/// from `components_dir`.
pub fn load_app_dir(
    runtime: &Runtime,
    directory: &Directory,
    app_dir: &Path,
    components_dir: &Path,
) -> Result<App, AppLoadError> {
    let manifest = Manifest::load(&app_dir.join(MANIFEST_FILE))?;
    let path = components_dir.join(format!("{}.wasm", manifest.id.replace('-', "_")));
    let bytes = std::fs::read(&path).map_err(|e| AppLoadError::MissingComponent {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    load_app(runtime, directory, manifest, &bytes, app_dir)
}

/// The app directories under `apps_dir` (those with a `cityhost.toml`),
/// sorted.
pub fn app_dirs(apps_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(apps_dir)? {
        let path = entry?.path();
        if path.join(MANIFEST_FILE).is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}
