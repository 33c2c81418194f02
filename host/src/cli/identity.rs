//! `cityhost import-population` and `cityhost rotate-id-key`: the
//! operator's identity commands.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::directory::Directory;
use crate::identity::authority::PopulationRegistry;
use crate::identity::keys::HostKeys;
use crate::identity::sealed::Vault;
use crate::store::Store;

/// Which file to import where.
#[derive(Args)]
pub(super) struct ImportArgs {
    /// Data directory of the host.
    #[arg(long, default_value = "data", env = "CITYHOST_DATA")]
    data: PathBuf,
    /// CSV file, UTF-8, header line naming the columns `name` and
    /// `id_number`; one person per line.
    file: PathBuf,
}

/// Whose key to rotate.
#[derive(Args)]
pub(super) struct RotateArgs {
    /// Data directory of the host.
    #[arg(long, default_value = "data", env = "CITYHOST_DATA")]
    data: PathBuf,
}

/// Imports the file and prints a JSON report (`imported`, `rejected` rows
/// by line and reason, never their values).
pub(super) async fn import_population(args: ImportArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    crate::platform::create_private_dir(&args.data)
        .with_context(|| format!("creating {}", args.data.display()))?;
    let keys = HostKeys::load_or_create(&args.data)?;
    let store = Store::open(&args.data.join("store")).context(
        "opening the store (is the host still running? use POST /api/operator/population)",
    )?;
    let db = crate::platform::open_db(&args.data).await.context(
        "opening the database (is the host still running? use POST /api/operator/population)",
    )?;
    let directory = Directory::open(&store)?;
    let registry = PopulationRegistry::new(db.clone(), Vault::new(&keys.id_number, &keys.id_index));
    let report = registry
        .import_csv(std::io::BufReader::new(file), |code: &str| {
            directory.is_province(code).unwrap_or(false)
        })
        .await?;
    db.sync().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "imported {} record(s), refused {}; the registry holds {}",
        report.imported,
        report.rejected.len(),
        registry.len().await?
    );
    Ok(())
}

/// Rotates the ID-token signing key and prints the rotation as JSON.
pub(super) fn rotate_id_key(args: RotateArgs) -> anyhow::Result<()> {
    let rotation = crate::identity::id_tokens::rotate(&args.data)
        .with_context(|| format!("rotating the ID-token key in {}", args.data.display()))?;
    println!("{}", serde_json::to_string_pretty(&rotation)?);
    Ok(())
}
