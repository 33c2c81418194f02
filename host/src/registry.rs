//! The apps the host serves: per app, the releases citizens see (stable,
//! gray, trial; see [`ReleaseSet`]), each a validated manifest, its
//! department's place in the directory, and its compiled component. The
//! publishing service (`publishing`) decides the sets; this module holds
//! them for the request path.
//!
//! Apps are found in an apps directory (each sub-directory with a
//! `cityhost.toml`) and their components in a components directory, named
//! after the app id with `-` → `_` (`utility-bills` →
//! `utility_bills.wasm`, as cargo names a `cdylib` built for
//! `wasm32-wasip2`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::directory::{Directory, Division};
use crate::manifest::Manifest;
use crate::publishing::versions::gray_bucket;
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
    Store(#[from] cityhost_store::StoreError),
}

/// What one app's citizens are shown: the stable release, a gray release
/// to a share of citizens, and a trial version for listed testers. Each is
/// a compiled [`App`]; swapping a set takes effect for the next request.
#[derive(Default, Clone)]
pub struct ReleaseSet {
    /// The release everyone else sees.
    pub stable: Option<Arc<App>>,
    /// A gray release and its percentage (1–99).
    pub gray: Option<(Arc<App>, u8)>,
    /// A trial version and its testers' openids.
    pub trial: Option<(Arc<App>, BTreeSet<String>)>,
}

impl ReleaseSet {
    /// The release a citizen with `openid` sees: the trial version for a
    /// listed tester, the gray release when the citizen's
    /// [`gray_bucket`] is below its percentage, otherwise the stable
    /// release. Without a citizen, the stable release.
    pub fn select(&self, app_id: &str, openid: Option<&str>) -> Option<Arc<App>> {
        if let Some(openid) = openid {
            if let Some((app, testers)) = &self.trial
                && testers.contains(openid)
            {
                return Some(app.clone());
            }
            if let Some((app, percent)) = &self.gray
                && gray_bucket(app_id, openid) < *percent
            {
                return Some(app.clone());
            }
        }
        self.stable.clone()
    }
}

/// The apps' release sets, by id. Replacing a set takes effect for the next
/// request; requests already running keep the `Arc<App>` they started with.
#[derive(Default)]
pub struct Registry {
    apps: RwLock<BTreeMap<String, Arc<ReleaseSet>>>,
    source_dirs: RwLock<BTreeMap<String, PathBuf>>,
}

impl Registry {
    /// Remembers where a bundled app's files (demo seeds) are.
    pub fn set_source_dir(&self, id: &str, dir: &Path) {
        self.source_dirs
            .write()
            .expect("registry lock")
            .insert(id.to_string(), dir.to_path_buf());
    }

    /// Where a bundled app's files are; empty for an uploaded app.
    pub fn source_dir(&self, id: &str) -> PathBuf {
        self.source_dirs
            .read()
            .expect("registry lock")
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    /// The stable release of the app with this id.
    pub fn get(&self, id: &str) -> Option<Arc<App>> {
        self.set(id)?.stable.clone()
    }

    /// The app's release set.
    pub fn set(&self, id: &str) -> Option<Arc<ReleaseSet>> {
        self.apps.read().expect("registry lock").get(id).cloned()
    }

    /// The release the citizen with `openid` (this app's openid) sees; see
    /// [`ReleaseSet::select`].
    pub fn select(&self, id: &str, openid: Option<&str>) -> Option<Arc<App>> {
        self.set(id)?.select(id, openid)
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

    /// How many apps have a release set.
    pub fn len(&self) -> usize {
        self.apps.read().expect("registry lock").len()
    }

    /// Whether no app is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every app's release set, by id.
    pub fn sets(&self) -> Vec<(String, Arc<ReleaseSet>)> {
        let apps = self.apps.read().expect("registry lock");
        apps.iter()
            .map(|(id, set)| (id.clone(), set.clone()))
            .collect()
    }

    /// The stable release of every app that has one, by id.
    pub fn list(&self) -> Vec<Arc<App>> {
        self.apps
            .read()
            .expect("registry lock")
            .values()
            .filter_map(|set| set.stable.clone())
            .collect()
    }

    /// Makes `app` the stable release of its app id, keeping any gray and
    /// trial release.
    pub fn install(&self, app: App) -> Arc<App> {
        let app = Arc::new(app);
        let mut apps = self.apps.write().expect("registry lock");
        let mut set = apps
            .get(&app.manifest.id)
            .map(|s| ReleaseSet::clone(s))
            .unwrap_or_default();
        set.stable = Some(app.clone());
        apps.insert(app.manifest.id.clone(), Arc::new(set));
        app
    }

    /// Replaces the app's release set (an empty set removes the app).
    pub fn replace(&self, id: &str, set: ReleaseSet) {
        let mut apps = self.apps.write().expect("registry lock");
        if set.stable.is_none() && set.gray.is_none() && set.trial.is_none() {
            apps.remove(id);
        } else {
            apps.insert(id.to_string(), Arc::new(set));
        }
    }
}

/// The Zhejiang division `division` and its ancestors, province first;
/// [`AppLoadError::UnknownDivision`] for a code outside Zhejiang's data.
pub async fn division_path(
    directory: &Directory,
    division: &str,
) -> Result<Vec<Division>, AppLoadError> {
    match directory.get(division).await? {
        Some(d) if d.zhejiang => {}
        _ => return Err(AppLoadError::UnknownDivision(division.to_string())),
    }
    Ok(directory.path(division).await?)
}

/// Loads one app from its manifest and component bytes. The component is
/// compiled on the calling thread (the publishing steps compile on the
/// blocking pool instead).
pub async fn load_app(
    runtime: &Runtime,
    directory: &Directory,
    manifest: Manifest,
    bytes: &[u8],
) -> Result<App, AppLoadError> {
    let division_path = division_path(directory, &manifest.department.division).await?;
    let component = runtime.load(&manifest, bytes)?;
    Ok(App {
        manifest: Arc::new(manifest),
        division_path,
        component,
    })
}

/// Loads the app in `app_dir` (its `cityhost.toml`) with its component
/// from `components_dir`.
pub async fn load_app_dir(
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
    load_app(runtime, directory, manifest, &bytes).await
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
