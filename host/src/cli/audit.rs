//! `cityhost audit`: prints an app's audit records as JSON lines. Opens the
//! host's database (`data/db`) directly, so the host must be stopped (the
//! database allows one process); while it runs, use
//! `GET /api/operator/audit`.

use std::path::PathBuf;

use std::io::Write;

use anyhow::Context;
use clap::Args;

use crate::audit::AuditLog;

/// Which records to print.
#[derive(Args)]
pub(super) struct AuditArgs {
    /// Data directory of the host.
    #[arg(long, default_value = "data", env = "CITYHOST_DATA")]
    data: PathBuf,
    /// App id.
    #[arg(long)]
    app: String,
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

pub(super) async fn print(args: AuditArgs) -> anyhow::Result<()> {
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
        .list(&args.app, from, to, args.limit + 1)
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
        eprintln!("no audit records for app `{}` in that range", args.app);
    }
    Ok(())
}

fn parse_time(text: &str) -> anyhow::Result<u64> {
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| anyhow::anyhow!("`{text}` is not an RFC 3339 time: {e}"))?;
    Ok((time.unix_timestamp_nanos() / 1_000_000).max(0) as u64)
}
