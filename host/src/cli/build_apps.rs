//! Building mini-apps: installs the `wasm32-wasip2` target with rustup when
//! it is missing, then builds every mini-app crate with cargo's `guest`
//! profile (size-optimised, LTO) into `{target dir}/guest`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::manifest::Manifest;
use crate::registry::{MANIFEST_FILE, app_dirs};

/// The Rust target mini-apps are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// The cargo target directory: `CARGO_TARGET_DIR`, else `./target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// Where built components land: `{target dir}/guest/wasm32-wasip2/guest`.
/// Guests have their own target directory so that building them never waits
/// on (or invalidates) the host's build.
pub fn components_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("guest").join(TARGET).join("guest")
}

/// Every mini-app directory under `roots`: a root that holds a
/// `cityhost.toml` is itself one; otherwise its sub-directories are looked at.
pub fn find_apps(roots: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for root in roots {
        if root.join(MANIFEST_FILE).is_file() {
            dirs.push(root.clone());
        } else if root.is_dir() {
            dirs.extend(app_dirs(root).with_context(|| format!("reading {}", root.display()))?);
        }
    }
    Ok(dirs)
}

/// Installs the wasm target if rustup does not list it as installed.
pub fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (is Rust installed with rustup?)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()?;
    if !status.success() {
        bail!("rustup target add {TARGET} failed");
    }
    Ok(())
}

/// Builds the mini-apps under `roots` with cargo's target directory
/// `target_dir`; returns the components directory.
pub fn build(roots: &[PathBuf], target_dir: &Path) -> anyhow::Result<PathBuf> {
    let dirs = find_apps(roots)?;
    if dirs.is_empty() {
        bail!("no mini-app (directory with {MANIFEST_FILE}) found");
    }
    ensure_target()?;
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .args(["build", "--target", TARGET, "--profile", "guest"])
        .env("CARGO_TARGET_DIR", target_dir.join("guest"));
    for dir in &dirs {
        cargo.arg("-p").arg(package_id(dir)?);
    }
    eprintln!("building {} mini-app(s) for {TARGET}", dirs.len());
    let status = cargo.status().context("running cargo")?;
    if !status.success() {
        bail!("building the mini-apps failed");
    }
    Ok(components_dir(target_dir))
}

/// The cargo package of a mini-app: its app id (manifest `id` equals the
/// crate's package name).
fn package_id(dir: &Path) -> anyhow::Result<String> {
    let manifest = Manifest::load(&dir.join(MANIFEST_FILE))
        .with_context(|| format!("in {}", dir.display()))?;
    Ok(manifest.id)
}
