//! `hzwater-billing`: the water company's billing service (see the
//! library's docs for its API).
//!
//! Run with: `cargo run --release -p hzwater-billing -- --data /tmp/billing`

use std::path::PathBuf;
use std::sync::Arc;

use cityhost_backend::launch::{self, LaunchArgs};
use clap::Parser;

/// The water company's billing service.
#[derive(Parser)]
#[command(name = "hzwater-billing", version, about)]
struct Args {
    #[command(flatten)]
    launch: LaunchArgs,
    /// Directory of the service's data (`billing.json`), created with the
    /// seed accounts on first start.
    #[arg(long, default_value = "billing-data")]
    data: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    launch::init_logging();
    let args = Args::parse();
    let store = hzwater_billing::store::Store::open(&args.data)?;
    let router = hzwater_billing::router(Arc::new(store));
    launch::serve(&args.launch, "billing service", router).await
}
