//! `cityhost migrate-store --from DATA_DIR --to postgres://…`: moves an
//! embedded deployment's records into PostgreSQL, table by table, then
//! checks the copy record for record and the ledger on the new store.

use std::path::PathBuf;

use anyhow::{Context, bail};
use cityhost_store::{Backend, Db, copy};
use cityhost_store_postgres::PgBackend;
use cityhost_store_sled::SledBackend;
use clap::Args;

use crate::events::Outbox;
use crate::payments::Payments;

/// `cityhost migrate-store`.
#[derive(Args)]
pub(super) struct MigrateStoreArgs {
    /// The data directory whose embedded database (`DATA_DIR/db`) is
    /// copied. Its host must be stopped.
    #[arg(long, value_name = "DATA_DIR")]
    from: PathBuf,
    /// The PostgreSQL database to copy into; it must hold no CityHost
    /// records yet. Prefer the environment variable (keeps a password out
    /// of the process list).
    #[arg(
        long,
        env = "CITYHOST_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    to: String,
}

/// Copies every table, checks each copy and the ledger, and prints what it
/// did. Errors: the embedded database is in use or missing, the target is
/// not empty, a copy differs, or the ledger does not balance on the target.
pub(super) async fn run(args: MigrateStoreArgs) -> anyhow::Result<()> {
    let dir = args.from.join("db");
    if !dir.is_dir() {
        bail!(
            "{} holds no CityHost database (check --from)",
            args.from.display()
        );
    }
    let from = tokio::task::spawn_blocking(move || SledBackend::open(&dir))
        .await?
        .context("opening the embedded database (is its host still running?)")?;
    let to = PgBackend::connect(&args.to)
        .await
        .context("connecting to PostgreSQL (--to)")?;
    let existing = to.table_names().await?;
    if !existing.is_empty() {
        bail!(
            "the PostgreSQL database already holds CityHost tables ({}); migrate into an \
             empty database",
            existing.join(", ")
        );
    }
    let mut total = 0;
    for name in from.table_names() {
        // Store table names are `&'static str`; these few live until exit.
        let table: &'static str = Box::leak(name.into_boxed_str());
        let copied = copy::copy_table(&from, &to, table).await?;
        let checked = copy::same_table(&from, &to, table).await?;
        if copied != checked {
            bail!("table `{table}`: copied {copied} records but found {checked}");
        }
        println!("{table}: {copied} records");
        total += copied;
    }
    to.raise_ids(from.next_id().await?).await?;
    let db = Db::new(to);
    let ledger = Payments::new(db.clone(), Outbox::new(db))
        .ledger
        .verify()
        .await?;
    for problem in &ledger.problems {
        println!("ledger problem: {problem}");
    }
    if !ledger.is_balanced() {
        bail!("the ledger does not balance on the new store");
    }
    println!(
        "{total} records copied and checked; ledger balanced ({} accounts, {} transfers)",
        ledger.accounts, ledger.transfers
    );
    println!(
        "Start the host with --data {} --store <the URL>: the data directory keeps its \
         keys and operator token.",
        args.from.display()
    );
    Ok(())
}
