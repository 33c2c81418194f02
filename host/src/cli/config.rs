//! `cityhost config set|unset|list`: an app's variables and secrets, over
//! the department API (`/api/departments/{uscc}/apps/{app}/config`, see
//! docs/capabilities.md). The department is the token's own.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;

use super::publish::{Client, Remote};

/// `cityhost config …`.
#[derive(Subcommand)]
pub(super) enum ConfigCommand {
    /// Set a variable, or with `--secret` a secret (sealed by the host,
    /// never shown again). Without VALUE the value is read from stdin, so
    /// a secret need not appear in the process list or shell history.
    Set {
        /// The host and the department's API token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
        /// Name: 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter.
        name: String,
        /// Value, at most 4 KiB (default: stdin, without a final newline).
        value: Option<String>,
        /// Set a secret instead of a variable.
        #[arg(long)]
        secret: bool,
    },
    /// Remove a variable, or with `--secret` a secret.
    Unset {
        /// The host and the department's API token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
        /// Name.
        name: String,
        /// Remove a secret instead of a variable.
        #[arg(long)]
        secret: bool,
    },
    /// List an app's variables (with values) and secrets (names only).
    List {
        /// The host and the department's API token.
        #[command(flatten)]
        remote: Remote,
        /// App id.
        app: String,
    },
}

/// Runs a `config` command.
pub(super) async fn run(command: ConfigCommand) -> anyhow::Result<()> {
    let (remote, app) = match &command {
        ConfigCommand::Set { remote, app, .. }
        | ConfigCommand::Unset { remote, app, .. }
        | ConfigCommand::List { remote, app } => (remote, app.clone()),
    };
    let client = Client::new(remote);
    let department = client
        .send(reqwest::Method::GET, "/api/publish/department", None)
        .await?;
    let uscc = department["uscc"]
        .as_str()
        .context("the host did not name the token's department")?;
    let base = format!("/api/departments/{uscc}/apps/{app}/config");
    let kind = |secret: bool| if secret { "secrets" } else { "variables" };
    match command {
        ConfigCommand::Set {
            name,
            value,
            secret,
            ..
        } => {
            let value = match value {
                Some(v) => v,
                None => {
                    let mut v = String::new();
                    std::io::stdin()
                        .read_to_string(&mut v)
                        .context("reading the value from stdin")?;
                    v.strip_suffix('\n').map(str::to_string).unwrap_or(v)
                }
            };
            client
                .send(
                    reqwest::Method::PUT,
                    &format!("{base}/{}/{name}", kind(secret)),
                    Some(serde_json::json!({ "value": value })),
                )
                .await?;
            println!(
                "{app}: {} {name} set",
                &kind(secret)[..kind(secret).len() - 1]
            );
        }
        ConfigCommand::Unset { name, secret, .. } => {
            client
                .send(
                    reqwest::Method::DELETE,
                    &format!("{base}/{}/{name}", kind(secret)),
                    None,
                )
                .await?;
            println!(
                "{app}: {} {name} removed",
                &kind(secret)[..kind(secret).len() - 1]
            );
        }
        ConfigCommand::List { .. } => {
            let list = client.send(reqwest::Method::GET, &base, None).await?;
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
    }
    Ok(())
}
