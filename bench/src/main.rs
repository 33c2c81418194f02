//! `cityhost-bench`: CityHost's benchmark suite. `bench/run.sh` installs the
//! load generator and `wasmtime serve`, builds everything and runs `suite`,
//! which rewrites `docs/benchmarks.md`. The other subcommands are its parts.

// A binary: its modules share items with `pub`; nothing is exported.
#![allow(unreachable_pub)]

mod gen_apps;
mod http_load;
mod in_process;
mod native;
mod report;
mod stats;
mod suite;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cityhost-bench", about = "CityHost's benchmark suite")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every measurement and writes the Markdown report.
    Suite(suite::SuiteArgs),
    /// Serves the host's router plus the native handler `GET /native/hello`.
    Native {
        /// Address to listen on.
        #[arg(long)]
        bind: SocketAddr,
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Suite(args) => suite::run(&args).await,
        Command::Native { bind, data } => native::serve(bind, data).await,
    }
}
