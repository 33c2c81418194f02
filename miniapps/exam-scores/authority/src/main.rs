//! `zj-exam-authority`: the Zhejiang education examinations authority's
//! score service (see the library's docs for its API).
//!
//! Run with: `cargo run --release -p zj-exam-authority -- --data /tmp/exam-authority`

use std::path::PathBuf;
use std::sync::Arc;

use cityhost_backend::launch::{self, LaunchArgs};
use clap::Parser;

/// The Zhejiang education examinations authority's score service.
#[derive(Parser)]
#[command(name = "zj-exam-authority", version, about)]
struct Args {
    #[command(flatten)]
    launch: LaunchArgs,
    /// Directory of the service's data (`authority.json`,
    /// `authority-token`), created with the seed exam and candidates on
    /// first start.
    #[arg(long, default_value = "exam-authority-data")]
    data: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    launch::init_logging();
    let args = Args::parse();
    let authority = Arc::new(zj_exam_authority::Authority::open(&args.data)?);
    launch::serve(
        &args.launch,
        "exam authority",
        zj_exam_authority::router(authority),
    )
    .await
}
