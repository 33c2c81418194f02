//! `cityhost new` (a mini-app crate from a template) and `cityhost build`
//! (build the component for `wasm32-wasip2` and check it against its
//! manifest with the same checks and messages as the host's upload).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;

use super::build_apps::{TARGET, ensure_target};
use crate::manifest::Manifest;
use crate::publishing::package::MAX_COMPONENT_BYTES;
use crate::registry::MANIFEST_FILE;
use crate::runtime::{Runtime, RuntimeConfig};

/// `cityhost new`.
#[derive(Args)]
pub struct NewArgs {
    /// App id and crate name: 3-32 of a-z, 0-9 and '-', starting with a letter.
    pub name: String,
    /// Your department's Unified Social Credit Code (GB 32100-2015), its
    /// key on the platform.
    #[arg(long, default_value = "11330100002501175E")]
    pub uscc: String,
    /// Your department's registered name.
    #[arg(long, default_value = "杭州市数据资源管理局")]
    pub department: String,
    /// Your department's division code.
    #[arg(long, default_value = "3301")]
    pub division: String,
    /// Directory to create the crate in.
    #[arg(long, default_value = ".")]
    pub into: PathBuf,
    /// Path of the `cityhost-sdk` crate (default: the SDK this host was
    /// built with).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

/// `cityhost build`.
#[derive(Args)]
pub struct BuildOneArgs {
    /// The mini-app crate (with `Cargo.toml` and `cityhost.toml`).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// Creates the crate `args.name` in the current directory.
pub fn new(args: NewArgs) -> anyhow::Result<()> {
    if !crate::manifest::is_app_id(&args.name) {
        bail!(
            "`{}`: use 3-32 characters of a-z, 0-9 and '-', starting with a letter",
            args.name
        );
    }
    let dir = args.into.join(&args.name);
    if dir.exists() {
        bail!("{} exists already", dir.display());
    }
    let sdk = match args.sdk {
        Some(path) => path,
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk"),
    };
    let sdk = std::fs::canonicalize(&sdk)
        .with_context(|| format!("the SDK is not at {} (give --sdk PATH)", sdk.display()))?;
    let manifest = format!(
        r#"# The mini-app manifest: see docs/manifest.md.
id = "{name}"
name = "{name}"
version = "0.1.0"
category = "public-data"
description = ""
# Only what the code imports (the host refuses a component importing more).
permissions = ["identity"]

[department]
# Your department's Unified Social Credit Code: its key (unionids, payments,
# statements); name and division exactly as registered for your department.
uscc = "{uscc}"
name = "{department}"
division = "{division}"
"#,
        name = args.name,
        uscc = args.uscc,
        department = args.department,
        division = args.division,
    );
    // Validate what we write, with the host's own rules.
    Manifest::parse(&manifest)
        .and_then(|m| m.department_key().map(drop))
        .context("the manifest of the new app")?;
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join(MANIFEST_FILE), manifest)?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
cityhost-sdk = {{ path = "{sdk}" }}
# Forms and JSON bodies into your own types, claims for `sign`.
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

# Its own workspace: build it on its own.
[workspace]

# Small components, fast to start.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = true
panic = "abort"
"#,
            name = args.name,
            sdk = sdk.display()
        ),
    )?;
    std::fs::write(
        dir.join("src/lib.rs"),
        r#"//! A CityHost mini-app: one view that greets the citizen.

use cityhost_sdk::{Request, Result, Router, View, identity};

/// The greeting for the citizen with this openid.
pub fn greeting(openid: &str) -> String {
    format!("你好，市民 {}", &openid[..openid.len().min(8)])
}

/// `GET /`: the start view.
fn index(_req: &Request) -> Result<View> {
    let openid = identity::openid()?;
    Ok(View::new("你好").heading(greeting(&openid)))
}

cityhost_sdk::export_app!(Router::new().get("/", index));

#[cfg(test)]
mod tests {
    #[test]
    fn greets_by_a_short_openid() {
        assert_eq!(super::greeting("0123456789abcdef"), "你好，市民 01234567");
    }
}
"#,
    )?;
    std::fs::write(dir.join(".gitignore"), "/target\n")?;
    println!(
        "created {}: cityhost.toml, Cargo.toml, src/lib.rs",
        dir.display()
    );
    println!("next: cd {} && cityhost build", dir.display());
    Ok(())
}

/// Builds the crate in `args.dir` for `wasm32-wasip2` (release profile) and
/// checks the component against the manifest; returns the component's path.
pub fn build(args: &BuildOneArgs) -> anyhow::Result<PathBuf> {
    let manifest = Manifest::load(&args.dir.join(MANIFEST_FILE))?;
    // The upload refuses a manifest without its department's code.
    manifest.department_key()?;
    ensure_target()?;
    eprintln!("[1/2] building {} for {TARGET}", manifest.id);
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| args.dir.join("target"), PathBuf::from);
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--target", TARGET])
        .current_dir(&args.dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let path = target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", manifest.id.replace('-', "_")));
    eprintln!("[2/2] checking {} against {MANIFEST_FILE}", path.display());
    check(&manifest, &path)?;
    println!(
        "{} {} is ready to publish: {}",
        manifest.id,
        manifest.version,
        path.display()
    );
    Ok(path)
}

/// The host's upload checks that need no department: size, the
/// `cityhost:miniapp` world, imports ⊆ permissions, limits within the
/// default caps.
pub fn check(manifest: &Manifest, component: &Path) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(component).with_context(|| format!("reading {}", component.display()))?;
    if bytes.len() > MAX_COMPONENT_BYTES {
        bail!(
            "the component has {} bytes; at most 10 MiB are accepted",
            bytes.len()
        );
    }
    crate::publishing::rules::check_caps(manifest, &Default::default())?;
    let cache = tempfile_dir()?;
    let runtime = Runtime::new(
        &RuntimeConfig {
            max_instances: 4,
            pooling: false,
            ..RuntimeConfig::default()
        },
        &cache,
    )?;
    let result = runtime.load(manifest, &bytes).map(|_| ());
    let _ = std::fs::remove_dir_all(&cache);
    result?;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("cityhost-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_writes_a_crate_the_host_accepts() {
        let parent = tempfile::tempdir().unwrap();
        let args = |name: &str| NewArgs {
            name: name.into(),
            uscc: "11330100002501175E".into(),
            department: "杭州市数据资源管理局".into(),
            division: "3301".into(),
            into: parent.path().to_path_buf(),
            sdk: None,
        };
        new(args("my-service")).unwrap();
        let dir = parent.path().join("my-service");
        let manifest = Manifest::load(&dir.join(MANIFEST_FILE)).unwrap();
        assert_eq!(manifest.id, "my-service");
        assert_eq!(manifest.department_key().unwrap(), "11330100002501175E");
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"my-service\""));
        assert!(cargo.contains("cityhost-sdk = { path = \"/"), "{cargo}");
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(lib.contains("export_app!") && lib.contains("#[test]"));
        // Not over an existing directory, nor with a bad id.
        assert!(new(args("my-service")).is_err());
        assert!(new(args("My_Service")).is_err());
    }
}
