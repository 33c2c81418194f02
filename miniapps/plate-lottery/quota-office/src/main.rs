//! `hz-quota-office`: the quota office's licence-plate lottery service (see
//! the library's docs for its API).
//!
//! Run with: `cargo run --release -p hz-quota-office -- --data /tmp/quota-office`

use std::path::PathBuf;
use std::sync::Arc;

use cityhost_backend::launch::{self, LaunchArgs};
use clap::Parser;

/// The quota office's licence-plate lottery service.
#[derive(Parser)]
#[command(name = "hz-quota-office", version, about)]
struct Args {
    #[command(flatten)]
    launch: LaunchArgs,
    /// Directory of the service's data (`office.json`, `office-token`),
    /// created with the seed registry on first start.
    #[arg(long, default_value = "quota-office-data")]
    data: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    launch::init_logging();
    let args = Args::parse();
    let office = Arc::new(hz_quota_office::Office::open(&args.data)?);
    // The draw is held at its time whether or not anyone asks: looked for
    // every 30 s, so it runs within half a minute of 10:00 on the 26th.
    let scheduled = tokio::spawn(hz_quota_office::draw_on_schedule(
        office.clone(),
        std::time::Duration::from_secs(30),
    ));
    let served = launch::serve(
        &args.launch,
        "quota office",
        hz_quota_office::router(office),
    )
    .await;
    scheduled.abort();
    served
}
