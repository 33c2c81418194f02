//! `cityhost audit`: prints an app's audit records as JSON lines. Opens the
//! host's database (`data/db`) directly, so the host must be stopped (the
//! database allows one process); while it runs, use
//! `GET /api/operator/audit`. `cityhost audit verify FILE` checks such an
//! export against the app's hash chain (`audit::chain`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::audit::chain::{self, Checkpoint};
use crate::audit::{AuditLog, AuditRecord};

/// Which records to print, or an export to verify.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Checks an export of one app's records (JSON lines, as `cityhost
    /// audit` prints them, or the JSON array of `GET /api/operator/audit`)
    /// against the app's hash chain: exits 0 and prints the stretch and its
    /// head hash if no record was changed, deleted or moved; else exits 1
    /// naming the first break.
    Verify {
        /// The export file (`-` for standard input).
        file: PathBuf,
        /// A checkpoint kept earlier: the JSON of `GET
        /// /api/operator/audit/head`, or its `checkpoint` JWT alone. The
        /// export must hold the record it names, with the signed hash.
        #[arg(long, requires = "jwks")]
        checkpoint: Option<PathBuf>,
        /// The host's public keys (`/.well-known/jwks.json`, saved) to
        /// check the checkpoint's signature with.
        #[arg(long, requires = "checkpoint")]
        jwks: Option<PathBuf>,
    },
}

/// Which records to print.
#[derive(Args)]
struct ListArgs {
    /// Data directory of the host.
    #[arg(long, default_value = "data", env = "CITYHOST_DATA")]
    data: PathBuf,
    /// App id.
    #[arg(long, required = true)]
    app: Option<String>,
    /// From, RFC 3339 UTC (e.g. 2026-11-29T00:00:00Z); default: the beginning.
    #[arg(long)]
    from: Option<String>,
    /// To (exclusive), RFC 3339 UTC; default: now.
    #[arg(long)]
    to: Option<String>,
    /// Most records.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

/// Runs `cityhost audit`.
pub(super) async fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        Some(AuditCommand::Verify {
            file,
            checkpoint,
            jwks,
        }) => verify(&file, checkpoint.as_deref().zip(jwks.as_deref())),
        None => print(args.list).await,
    }
}

fn verify(file: &Path, checkpoint: Option<(&Path, &Path)>) -> anyhow::Result<()> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        read(file)?
    };
    let records = parse_export(&text)?;
    let count = records.len();
    let hashes: HashMap<u64, String> = records.iter().map(|r| (r.seq, r.hash.clone())).collect();
    let verified = match chain::verify(records) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("the audit chain is broken: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "{count} records of app `{}`, seq {} to {}, unbroken; head hash {}",
        verified.app, verified.first, verified.last, verified.head
    );
    if let Some((checkpoint, jwks)) = checkpoint {
        let signed = signed_checkpoint(&read(checkpoint)?, &read(jwks)?)?;
        if signed.sub != verified.app {
            anyhow::bail!(
                "the checkpoint is of app `{}`, not `{}`",
                signed.sub,
                verified.app
            );
        }
        match hashes.get(&signed.seq) {
            Some(hash) if *hash == signed.head => println!(
                "it holds the checkpoint signed at {} s (seq {}): no record up to there was recomputed",
                signed.iat, signed.seq
            ),
            Some(_) => {
                eprintln!(
                    "the audit chain is broken: the record at seq {} is not the one the checkpoint signed",
                    signed.seq
                );
                std::process::exit(1);
            }
            None => anyhow::bail!(
                "the export does not reach the checkpoint's record (seq {}); export a range that holds it",
                signed.seq
            ),
        }
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The claims of a checkpoint (`text`: the JSON of the head endpoint or the
/// JWT alone) whose EdDSA signature checks with a key of `jwks`.
fn signed_checkpoint(text: &str, jwks: &str) -> anyhow::Result<Checkpoint> {
    let text = text.trim();
    let token = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => json["checkpoint"]
            .as_str()
            .context("the checkpoint JSON has no `checkpoint` field")?
            .to_string(),
        Err(_) => text.to_string(),
    };
    let jwks: JwkSet = serde_json::from_str(jwks).context("reading the JWKS")?;
    let header = jsonwebtoken::decode_header(&token).context("reading the checkpoint")?;
    if header.typ.as_deref() != Some(chain::CHECKPOINT_TYP) {
        anyhow::bail!(
            "the token is not an audit checkpoint (typ {:?})",
            header.typ
        );
    }
    let kid = header.kid.context("the checkpoint names no key")?;
    let jwk = jwks
        .find(&kid)
        .with_context(|| format!("the JWKS has no key `{kid}`"))?;
    let key = DecodingKey::from_jwk(jwk).context("reading the key")?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Checkpoint>(&token, &key, &validation)
        .context("the checkpoint's signature does not check with that key")?;
    Ok(data.claims)
}

/// Records from JSON lines or one JSON array. Errors name the line.
fn parse_export(text: &str) -> anyhow::Result<Vec<AuditRecord>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).context("reading the JSON array of records");
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("line {}: not an audit record", n + 1))
        })
        .collect()
}

async fn print(args: ListArgs) -> anyhow::Result<()> {
    let app = args.app.unwrap_or_default();
    if !args.data.join("db").is_dir() {
        anyhow::bail!(
            "{} holds no CityHost database (check --data)",
            args.data.display()
        );
    }
    let from = args
        .from
        .as_deref()
        .map(parse_time)
        .transpose()?
        .unwrap_or(0);
    let to = args
        .to
        .as_deref()
        .map(parse_time)
        .transpose()?
        .unwrap_or_else(|| cityhost_store::now_ms() + 1);
    if from >= to {
        anyhow::bail!("--from must be before --to");
    }
    let db = crate::platform::open_db(&args.data)
        .await
        .context("opening the database (is the host still running? use GET /api/operator/audit)")?;
    let records = AuditLog::open(db)?
        .list(&app, from, to, args.limit + 1)
        .await?;
    let mut out = std::io::stdout().lock();
    for record in records.iter().take(args.limit) {
        // A closed pipe (`| head`) ends the listing quietly.
        if writeln!(out, "{}", serde_json::to_string(record)?).is_err() {
            return Ok(());
        }
    }
    if records.len() > args.limit {
        eprintln!(
            "showing the first {} records; narrow --from/--to or raise --limit for more",
            args.limit
        );
    } else if records.is_empty() {
        eprintln!("no audit records for app `{app}` in that range");
    }
    Ok(())
}

fn parse_time(text: &str) -> anyhow::Result<u64> {
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| anyhow::anyhow!("`{text}` is not an RFC 3339 time: {e}"))?;
    Ok((time.unix_timestamp_nanos() / 1_000_000).max(0) as u64)
}
