//! `zj-social-insurance`: the provincial social-insurance records service
//! (see the library's docs for its API).
//!
//! Run with: `cargo run --release -p zj-social-insurance -- --data /tmp/si`

use std::path::PathBuf;

use cityhost_backend::launch::{self, LaunchArgs};
use clap::Parser;

/// The social-insurance records service.
#[derive(Parser)]
#[command(name = "zj-social-insurance", version, about)]
struct Args {
    #[command(flatten)]
    launch: LaunchArgs,
    /// Directory of the service's data (`insurance.json`), created with the
    /// seed records on first start.
    #[arg(long, default_value = "si-data")]
    data: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    launch::init_logging();
    let args = Args::parse();
    let store = zj_social_insurance::store::Store::open(&args.data)?;
    let router = zj_social_insurance::router(store);
    launch::serve(&args.launch, "social insurance", router).await
}
