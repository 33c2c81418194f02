//! `cityhost ledger ...`: the operator's ledger commands. They open the
//! database directly, so the host must be stopped (one process at a time);
//! while it runs, use `/api/operator/ledger/verify`, `/api/operator/topups`
//! and the department statement route.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::events::Outbox;
use crate::identity::accounts::Accounts;
use crate::identity::keys::HostKeys;
use crate::identity::sealed::Vault;
use crate::payments::Payments;
use crate::payments::settlement::parse_date;
use crate::platform::open_db;
use cityhost_store::Db;

/// Ledger commands.
#[derive(Args)]
pub(super) struct LedgerArgs {
    /// Data directory of the host.
    #[arg(long, global = true, default_value = "data", env = "CITYHOST_DATA")]
    data: PathBuf,
    #[command(subcommand)]
    command: LedgerCommand,
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Prove that the ledger balances: all balances sum to zero, every
    /// transfer is balanced, balances equal the transfers, no order was
    /// paid twice. Exits non-zero otherwise.
    Verify,
    /// Put money onto a citizen's simulated bank card (development and
    /// operations).
    Topup {
        /// The citizen's phone number.
        #[arg(long)]
        phone: String,
        /// Amount in fen (100 fen = ¥1).
        #[arg(long)]
        amount_fen: u64,
    },
    /// Print a department's settlement statement for one business day
    /// (Asia/Shanghai) as CSV.
    Statement {
        /// The department's Unified Social Credit Code (its apps' `[department] uscc`).
        #[arg(long)]
        department: String,
        /// The day, YYYY-MM-DD.
        #[arg(long)]
        date: String,
    },
}

async fn open(data: &Path) -> anyhow::Result<(Db, Payments)> {
    if !data.join("db").is_dir() {
        bail!(
            "{} holds no CityHost database (check --data)",
            data.display()
        );
    }
    let db = open_db(data)
        .await
        .context("opening the database (is the host still running?)")?;
    let payments = Payments::new(db.clone(), Outbox::new(db.clone()));
    Ok((db, payments))
}

pub(super) async fn run(args: LedgerArgs) -> anyhow::Result<()> {
    let (db, payments) = open(&args.data).await?;
    match args.command {
        LedgerCommand::Verify => {
            let v = payments.ledger.verify().await?;
            println!(
                "{} accounts, {} transfers, balances sum to {} fen",
                v.accounts, v.transfers, v.balance_sum_fen
            );
            for problem in &v.problems {
                println!("problem: {problem}");
            }
            if !v.is_balanced() {
                bail!("the ledger does not balance");
            }
            println!("ledger balanced");
        }
        LedgerCommand::Topup { phone, amount_fen } => {
            let keys = HostKeys::load_or_create(&args.data)?;
            let vault = Vault::new(&keys.id_number, &keys.id_index);
            let citizen = Accounts::new(db, vault)
                .by_phone(&phone)
                .await?
                .with_context(|| format!("no citizen with phone {phone}"))?;
            let transfer = payments.ledger.top_up(&citizen.id, amount_fen).await?;
            let balance = payments
                .ledger
                .balance(&crate::payments::Account::Citizen(citizen.id))
                .await?;
            println!("{}: balance now {balance} fen", transfer.id);
        }
        LedgerCommand::Statement { department, date } => {
            let uscc = crate::uscc::Uscc::parse(&department)
                .with_context(|| format!("`{department}` is not a department's USCC"))?;
            let statement = payments.statement(&uscc, parse_date(&date)?).await?;
            print!("{}", statement.to_csv());
        }
    }
    Ok(())
}
