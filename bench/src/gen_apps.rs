//! Many apps from one: copies of an app's manifest with ids `app-00001` …
//! and of its component under the names the host looks for, for the scale
//! measurement (boot time and memory with 12,000 apps).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Writes `count` apps generated from `app_dir` (its `cityhost.toml`) and
/// `component` into `out/apps/app-NNNNN/` and `out/components/`; returns
/// `(apps dir, components dir)`.
pub fn generate(
    app_dir: &Path,
    component: &Path,
    count: usize,
    out: &Path,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let manifest = std::fs::read_to_string(app_dir.join("cityhost.toml"))
        .with_context(|| format!("reading the manifest in {}", app_dir.display()))?;
    anyhow::ensure!(
        manifest.lines().filter(|l| l.starts_with("id = ")).count() == 1,
        "the manifest must have one top-level `id = \"…\"` line"
    );
    let apps = out.join("apps");
    let components = out.join("components");
    std::fs::create_dir_all(&components)?;
    for i in 1..=count {
        let id = app_id(i);
        let dir = apps.join(&id);
        std::fs::create_dir_all(&dir)?;
        let text: String = manifest
            .lines()
            .map(|line| {
                if line.starts_with("id = ") {
                    format!("id = \"{id}\"\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(dir.join("cityhost.toml"), text)?;
        // One component under many names: linked, not copied, where the
        // file system allows.
        let name = components.join(format!("{}.wasm", id.replace('-', "_")));
        if std::fs::hard_link(component, &name).is_err() {
            std::fs::copy(component, &name)?;
        }
    }
    Ok((apps, components))
}

/// Id of the `i`th generated app (1-based): `app-00001`.
pub fn app_id(i: usize) -> String {
    format!("app-{i:05}")
}
