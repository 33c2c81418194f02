//! Departments' own systems for local use: the backend an app declares in
//! `[dev.backend]` (its billing service, its appointment system...), built,
//! started and allow-listed beside a demo or test host.
//!
//! For each app that declares one, [`launch`] (or [`build`] then
//! [`Backends::start`]):
//! 1. builds the cargo package with `cargo build --release` into
//!    `{target dir}/backends` (its own target directory, as guests have
//!    theirs, so that it never waits on the host's build);
//! 2. starts its binary as `PACKAGE --bind 127.0.0.1:0 --data {host
//!    data}/backends/{app id} --exit-with-stdin` and reads the address
//!    from its first line on standard output, `listening on
//!    http://IP:PORT`;
//! 3. gives the host a [`LocalOrigin`] pinning the declared origin to that
//!    address, as `cityhost serve --http-local-origin ORIGIN=IP:PORT`
//!    would: the app's calls to the origin reach the backend, and nothing
//!    else on loopback is opened to it.
//!
//! A backend never outlives its host: dropping [`Backends`] kills the
//! processes; a ctrl-c in the terminal reaches them as well (same process
//! group); and, should the host die without either, their standard input
//! closes with it, which stops them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::manifest::http::Origin;
use crate::manifest::{DevBackend, Manifest};
use crate::outbound::LocalOrigin;
use crate::registry::MANIFEST_FILE;

/// How long a backend may take from start to its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What a backend prints first: `listening on http://IP:PORT`.
const LISTENING: &str = "listening on http://";

/// An app's `[dev.backend]`.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The app that calls it.
    pub app_id: String,
    /// The package and the origin.
    pub backend: DevBackend,
}

/// The backends the apps in `dirs` declare, in order.
pub fn declared(dirs: &[PathBuf]) -> anyhow::Result<Vec<Declared>> {
    let mut found = Vec::new();
    for dir in dirs {
        let manifest = Manifest::load(&dir.join(MANIFEST_FILE))
            .with_context(|| format!("in {}", dir.display()))?;
        if let Some(backend) = manifest.dev.backend {
            found.push(Declared {
                app_id: manifest.id,
                backend,
            });
        }
    }
    Ok(found)
}

/// Where backends are built: `{target dir}/backends`.
pub fn target_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("backends")
}

/// Builds the packages of `declared` (`cargo build --release`); returns
/// the directory of their binaries. Nothing declared: nothing built.
pub fn build(declared: &[Declared], target: &Path) -> anyhow::Result<PathBuf> {
    let target = target_dir(target);
    let bin_dir = target.join("release");
    if declared.is_empty() {
        return Ok(bin_dir);
    }
    let mut cargo =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", &target);
    for d in declared {
        cargo.arg("-p").arg(&d.backend.package);
    }
    eprintln!("building {} department backend(s)", declared.len());
    let status = cargo.status().context("running cargo")?;
    if !status.success() {
        bail!("building the department backends failed");
    }
    Ok(bin_dir)
}

/// Builds and starts the backends the apps in `dirs` declare, their data
/// under `{data_dir}/backends`.
pub async fn launch(dirs: &[PathBuf], target: &Path, data_dir: &Path) -> anyhow::Result<Backends> {
    let declared = declared(dirs)?;
    let target = target.to_path_buf();
    let to_build = declared.clone();
    let bin_dir = tokio::task::spawn_blocking(move || build(&to_build, &target)).await??;
    Backends::start(&declared, &bin_dir, data_dir, false).await
}

/// One running backend.
pub struct Backend {
    /// The app that calls it.
    pub app_id: String,
    /// Its package (and binary) name.
    pub package: String,
    /// The origin the app calls it at.
    pub origin: Origin,
    /// Where it listens.
    pub address: SocketAddr,
    child: Child,
    /// Held open: the backend stops when it closes.
    _stdin: Option<ChildStdin>,
}

impl Backend {
    /// Starts the binary `bin_dir/{package}` for `declared`, its data in
    /// `data`, and waits for its address. With `quiet`, it logs only
    /// warnings and errors (`RUST_LOG=warn`).
    pub async fn start(
        declared: &Declared,
        bin_dir: &Path,
        data: &Path,
        quiet: bool,
    ) -> anyhow::Result<Backend> {
        let DevBackend { package, origin } = &declared.backend;
        let origin = Origin::parse(origin).map_err(anyhow::Error::msg)?;
        let binary = bin_dir.join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
        let mut command = Command::new(&binary);
        command
            .args(["--bind", "127.0.0.1:0", "--exit-with-stdin", "--data"])
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if quiet {
            command.env("RUST_LOG", "warn");
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let first = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .with_context(|| format!("{package} printed no address within {START_TIMEOUT:?}"))?
            .with_context(|| format!("reading the output of {package}"))?
            .with_context(|| format!("{package} ended before it printed its address"))?;
        let address: SocketAddr = first
            .strip_prefix(LISTENING)
            .and_then(|a| a.trim().parse().ok())
            .with_context(|| {
                format!("{package} printed {first:?}, not `{LISTENING}IP:PORT` first")
            })?;
        // Whatever else it prints goes to the log (an unread pipe would
        // stall it once full).
        let name = package.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(backend = %name, "{line}");
            }
        });
        tracing::info!(
            app = %declared.app_id,
            backend = %package,
            %address,
            %origin,
            "department backend started"
        );
        Ok(Backend {
            app_id: declared.app_id.clone(),
            package: package.clone(),
            origin,
            address,
            child,
            _stdin: stdin,
        })
    }

    /// The host's permission for the app to reach it.
    pub fn local_origin(&self) -> LocalOrigin {
        LocalOrigin {
            origin: self.origin.clone(),
            address: Some(self.address),
        }
    }

    /// Stops it and waits until it has ended.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// The backends started for one host; dropping them stops them.
#[derive(Default)]
pub struct Backends {
    running: Vec<Backend>,
}

impl Backends {
    /// Starts each of `declared` from `bin_dir` ([`build`]), its data in
    /// `{data_dir}/backends/{app id}`. Errors: one did not start (those
    /// started are stopped).
    pub async fn start(
        declared: &[Declared],
        bin_dir: &Path,
        data_dir: &Path,
        quiet: bool,
    ) -> anyhow::Result<Backends> {
        let mut running = Vec::new();
        for d in declared {
            let data = data_dir.join("backends").join(&d.app_id);
            let backend = Backend::start(d, bin_dir, &data, quiet)
                .await
                .with_context(|| format!("the backend of {}", d.app_id))?;
            running.push(backend);
        }
        Ok(Backends { running })
    }

    /// What the host's outbound configuration needs: each backend's origin
    /// pinned to its address.
    pub fn local_origins(&self) -> Vec<LocalOrigin> {
        self.running.iter().map(Backend::local_origin).collect()
    }

    /// The backend of `app_id`, if it has one.
    pub fn of(&mut self, app_id: &str) -> Option<&mut Backend> {
        self.running.iter_mut().find(|b| b.app_id == app_id)
    }

    /// The running backends.
    pub fn iter(&self) -> impl Iterator<Item = &Backend> {
        self.running.iter()
    }
}
