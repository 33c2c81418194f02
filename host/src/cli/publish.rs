//! The department's and the operator's commands against a running host:
//! `keygen`, `publish`, `status`, and `operator …` (review queue, approve,
//! reject, release percentage, rollback, add an operator). They speak the
//! HTTP API of `docs/publishing.md`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use rand::RngCore;
use serde_json::{Value, json};

use crate::manifest::Manifest;
use crate::publishing::package::Package;

/// Where the host is and who is calling.
#[derive(Args, Clone)]
pub struct Remote {
    /// The host's base URL, e.g. `http://127.0.0.1:8080`.
    #[arg(long = "host", env = "CITYHOST_HOST")]
    pub host: String,
    /// Department API token (for `publish`, `status`) or operator token.
    #[arg(long, env = "CITYHOST_TOKEN", hide_env_values = true)]
    pub token: String,
}

/// `cityhost keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// File to write the private key to (created, owner-readable only).
    #[arg(long, default_value = "department.key")]
    pub out: PathBuf,
}

/// `cityhost publish`.
#[derive(Args)]
pub struct PublishArgs {
    #[command(flatten)]
    remote: Remote,
    /// The signing key file written by `cityhost keygen`.
    #[arg(long, default_value = "department.key")]
    key: PathBuf,
    /// The manifest.
    #[arg(long, default_value = "cityhost.toml")]
    manifest: PathBuf,
    /// The component; default: `{target dir}/wasm32-wasip2/release/{id with _}.wasm`,
    /// refused when a source of the crate beside the manifest is newer
    /// (run `cityhost build` first).
    #[arg(long)]
    component: Option<PathBuf>,
    /// Upload only; do not submit for review.
    #[arg(long)]
    no_submit: bool,
}

/// `cityhost status`.
#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    remote: Remote,
    /// The app id.
    #[arg(long)]
    app: String,
}

/// `cityhost operator …`.
#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Add an operator to a host's data directory (host stopped); prints the
    /// new operator's token once.
    Add {
        /// The operator's name.
        name: String,
        /// The host's data directory.
        #[arg(long, default_value = "data", env = "CITYHOST_DATA")]
        data: PathBuf,
    },
    /// List the versions waiting for review.
    Review(Remote),
    /// Approve a version in review.
    Approve {
        /// The host and the operator's token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
        /// Version.
        version: String,
    },
    /// Reject a version in review, with the reason the department sees.
    Reject {
        /// The host and the operator's token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
        /// Version.
        version: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Release an approved version to a percentage of citizens (100 = all).
    Release {
        /// The host and the operator's token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
        /// Version.
        version: String,
        /// Share of citizens, 1-100.
        #[arg(long, default_value_t = 100)]
        percent: u8,
    },
    /// Withdraw a gray release, or return to the previous release.
    Rollback {
        /// The host and the operator's token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
    },
    /// Rotate an app's signing key (`sign` capability): new signatures use
    /// the new key; the old public key stays in the app's JWK Set until
    /// removed with `remove-sign-key`.
    RotateSignKey {
        /// The host and the operator's token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
    },
    /// Remove a retired signing key of an app from its JWK Set: what it
    /// signed no longer verifies.
    RemoveSignKey {
        /// The host and the operator's token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
        /// The key id (`kid`).
        kid: String,
    },
}

/// Writes a new Ed25519 key and prints its public half (base64).
pub fn keygen(args: KeygenArgs) -> anyhow::Result<()> {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let key = SigningKey::from_bytes(&secret);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&args.out)
        .with_context(|| format!("creating {} (it must not exist yet)", args.out.display()))?;
    writeln!(file, "{}", b64.encode(secret))?;
    println!("private key written to {}", args.out.display());
    println!("public key (register it with POST /api/publish/keys):");
    println!("{}", b64.encode(key.verifying_key().to_bytes()));
    Ok(())
}

/// Reads a key file written by [`keygen`].
pub fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (make one with cityhost keygen)", path.display()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .with_context(|| format!("{} is not a key written by cityhost keygen", path.display()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Signs and uploads a package, then submits it for review.
pub async fn publish(args: PublishArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.manifest)
        .with_context(|| format!("reading {}", args.manifest.display()))?;
    let manifest =
        Manifest::parse(&text).with_context(|| format!("in {}", args.manifest.display()))?;
    let component = args.component.clone().unwrap_or_else(|| {
        super::build_apps::target_dir()
            .join(super::build_apps::TARGET)
            .join("release")
            .join(format!("{}.wasm", manifest.id.replace('-', "_")))
    });
    let bytes = std::fs::read(&component)
        .with_context(|| format!("reading {} (build it first)", component.display()))?;
    if args.component.is_none() {
        let crate_dir = args.manifest.parent().unwrap_or(Path::new("."));
        refuse_stale_build(&component, crate_dir)?;
    }
    let key = read_key(&args.key)?;
    eprintln!(
        "[1/3] signing {} {} ({:.1} KiB)",
        manifest.id,
        manifest.version,
        bytes.len() as f64 / 1024.0
    );
    let package = Package::sign(&key, &manifest.id, &manifest.version, text, bytes);
    let client = Client::new(&args.remote);
    eprintln!("[2/3] uploading to {}", args.remote.host);
    let record = client
        .send(
            reqwest::Method::POST,
            "/api/publish/packages",
            Some(serde_json::to_value(package.to_upload())?),
        )
        .await?;
    eprintln!("      uploaded: {}", describe(&record));
    if !args.no_submit {
        eprintln!("[3/3] submitting for review");
        let record = client
            .send(
                reqwest::Method::POST,
                &format!(
                    "/api/publish/apps/{}/versions/{}/submit",
                    manifest.id, manifest.version
                ),
                Some(json!({})),
            )
            .await?;
        eprintln!("      {}", describe(&record));
    }
    Ok(())
}

/// Refuses `component` when a source of the crate in `crate_dir`
/// ([`super::sources`]) changed after it was built: publishing it would
/// ship something other than what the sources say.
fn refuse_stale_build(component: &Path, crate_dir: &Path) -> anyhow::Result<()> {
    let built = std::fs::metadata(component)
        .and_then(|meta| meta.modified())
        .with_context(|| format!("reading {}", component.display()))?;
    if let Some((changed, source)) = super::sources::newest_change(crate_dir)
        && changed > built
    {
        bail!(
            "{} is older than its sources ({} changed after the build): run `cityhost build`, \
             then publish again (or name a component with --component)",
            component.display(),
            source.display()
        );
    }
    Ok(())
}

/// "hello 0.2.0 is in_review" for a version record.
fn describe(record: &Value) -> String {
    let field = |name: &str| record[name].as_str().unwrap_or_default().to_string();
    format!(
        "{} {} is {}",
        field("app_id"),
        field("version"),
        field("state")
    )
}

/// Prints an app's versions and release plan.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.remote);
    let status = client
        .send(
            reqwest::Method::GET,
            &format!("/api/publish/apps/{}", args.app),
            None,
        )
        .await?;
    print_versions(&status);
    Ok(())
}

fn print_versions(status: &Value) {
    let plan = &status["plan"];
    println!("{:<12} {:<12} NOTE", "VERSION", "STATE");
    for v in status["versions"].as_array().into_iter().flatten() {
        let version = v["version"].as_str().unwrap_or_default();
        let mut note = v["reason"].as_str().unwrap_or_default().to_string();
        if plan["stable"].as_str() == Some(version) {
            note = "stable".into();
        }
        if plan["gray"]["version"].as_str() == Some(version) {
            note = format!("gray {}%", plan["gray"]["percent"]);
        }
        if plan["trial"]["version"].as_str() == Some(version) {
            note = format!(
                "trial ({} testers)",
                plan["trial"]["testers"].as_array().map_or(0, Vec::len)
            );
        }
        println!(
            "{:<12} {:<12} {}",
            version,
            v["state"].as_str().unwrap_or_default(),
            note
        );
    }
}

/// Runs an operator command.
pub async fn operator(command: OperatorCommand) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Add { name, data } => {
            let db = crate::platform::open_db(&data).await.with_context(|| {
                format!(
                    "opening the database in {} (stop the host first)",
                    data.display()
                )
            })?;
            let operators = crate::publishing::operators::Operators::new(db.clone());
            let token = operators.add(&name).await?;
            db.sync().await?;
            println!("operator {name} added; its token (shown once):\n{token}");
        }
        OperatorCommand::Review(remote) => {
            let queue = Client::new(&remote)
                .send(reqwest::Method::GET, "/api/operator/review", None)
                .await?;
            println!("{:<24} {:<12} DEPARTMENT", "APP", "VERSION");
            for v in queue.as_array().into_iter().flatten() {
                println!(
                    "{:<24} {:<12} {} ({})",
                    v["app_id"].as_str().unwrap_or_default(),
                    v["version"].as_str().unwrap_or_default(),
                    v["department_name"].as_str().unwrap_or("no account"),
                    v["department"].as_str().unwrap_or_default()
                );
                match v["running"]["version"].as_str() {
                    Some(running) => println!("  replaces {running}"),
                    None => println!("  a first version"),
                }
                print_reach(&v["reach"]);
                if let Some(diff) = v["manifest_diff"].as_str() {
                    println!("  manifest change:");
                    for line in diff.lines() {
                        println!("    {line}");
                    }
                }
            }
        }
        OperatorCommand::Approve {
            remote,
            app,
            version,
        } => {
            let r = Client::new(&remote)
                .send(
                    reqwest::Method::POST,
                    &format!("/api/operator/apps/{app}/versions/{version}/approve"),
                    Some(json!({})),
                )
                .await?;
            println!("{}", describe(&r));
        }
        OperatorCommand::Reject {
            remote,
            app,
            version,
            reason,
        } => {
            let r = Client::new(&remote)
                .send(
                    reqwest::Method::POST,
                    &format!("/api/operator/apps/{app}/versions/{version}/reject"),
                    Some(json!({"reason": reason})),
                )
                .await?;
            println!("{}", describe(&r));
        }
        OperatorCommand::Release {
            remote,
            app,
            version,
            percent,
        } => {
            let plan = Client::new(&remote)
                .send(
                    reqwest::Method::POST,
                    &format!("/api/operator/apps/{app}/versions/{version}/release"),
                    Some(json!({"percent": percent})),
                )
                .await?;
            println!("{app}: {plan}");
        }
        OperatorCommand::Rollback { remote, app } => {
            let plan = Client::new(&remote)
                .send(
                    reqwest::Method::POST,
                    &format!("/api/operator/apps/{app}/rollback"),
                    Some(json!({})),
                )
                .await?;
            println!("{app}: {plan}");
        }
        OperatorCommand::RotateSignKey { remote, app } => {
            let rotation = Client::new(&remote)
                .send(
                    reqwest::Method::POST,
                    &format!("/api/operator/apps/{app}/sign-keys/rotate"),
                    Some(json!({})),
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&rotation)?);
        }
        OperatorCommand::RemoveSignKey { remote, app, kid } => {
            let removed = Client::new(&remote)
                .send(
                    reqwest::Method::DELETE,
                    &format!("/api/operator/apps/{app}/sign-keys/{kid}"),
                    None,
                )
                .await?;
            println!("{}", serde_json::to_string_pretty(&removed)?);
        }
    }
    Ok(())
}

/// The host's API with a bearer token; an error answer becomes an error
/// carrying the host's code, field and message.
pub(super) struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    pub(super) fn new(remote: &Remote) -> Client {
        Client {
            base: remote.host.trim_end_matches('/').to_string(),
            token: remote.token.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("connecting to {}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let e = &body["error"];
            bail!(
                "{} {}{}: {}",
                status.as_u16(),
                e["code"].as_str().unwrap_or("error"),
                e["field"]
                    .as_str()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default(),
                e["message"]
                    .as_str()
                    .unwrap_or("the host refused the request")
            );
        }
        Ok(body)
    }
}

/// Prints what a version in review may reach, one line per kind it has.
fn print_reach(reach: &Value) {
    let list = |key: &str| -> Vec<String> {
        reach[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| match v {
                Value::Object(entry) => format!(
                    "{} ({})",
                    entry
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                    entry.get("at").and_then(Value::as_str).unwrap_or_default()
                ),
                other => other.as_str().unwrap_or_default().to_string(),
            })
            .collect()
    };
    for (label, key) in [
        ("permissions", "permissions"),
        ("calls", "http_allow"),
        ("cron (Asia/Shanghai)", "cron"),
        ("department events", "department_events"),
    ] {
        let items = list(key);
        if !items.is_empty() {
            println!("    {label}: {}", items.join(", "));
        }
    }
    if let Some(consent) = reach["consent"].as_object() {
        for (scope, purpose) in consent {
            println!(
                "    consent {scope}: {}",
                purpose.as_str().unwrap_or_default()
            );
        }
    }
}
