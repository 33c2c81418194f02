//! `hzhospital-his`: the hospital's appointment system (see the
//! library's docs for its API).
//!
//! Run with: `cargo run --release -p hzhospital-his -- --data /tmp/his`

use std::path::PathBuf;

use cityhost_backend::launch::{self, LaunchArgs};
use clap::Parser;

/// The hospital's appointment system (HIS).
#[derive(Parser)]
#[command(name = "hzhospital-his", version, about)]
struct Args {
    #[command(flatten)]
    launch: LaunchArgs,
    /// Directory of the service's data (`his.json`, `staff-token`), created with the
    /// seed departments and doctors on first start.
    #[arg(long, default_value = "his-data")]
    data: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    launch::init_logging();
    let args = Args::parse();
    let store = hzhospital_his::store::Store::open(&args.data)?;
    let staff_token = hzhospital_his::staff_token(&args.data)?;
    let router = hzhospital_his::router(store, staff_token);
    launch::serve(&args.launch, "HIS", router).await
}
