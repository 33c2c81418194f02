//! `cityhost-bench`: CityHost's benchmark suite. `bench/run.sh` installs the
//! load generator and `wasmtime serve`, builds everything and runs `suite`,
//! which rewrites `docs/benchmarks.md`. The other subcommands are its parts.

use std::net::SocketAddr;
use std::path::PathBuf;

use cityhost_bench::{native, suite};
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
    /// Measures instantiate + trivial call only (section 1 of the report),
    /// printed as one line per export and allocator.
    InProcess {
        /// Workspace root.
        #[arg(long, default_value = ".")]
        workspace: PathBuf,
        /// Built components (`cityhost build-apps` output).
        #[arg(long)]
        components: PathBuf,
        /// Calls per export and allocator.
        #[arg(long, default_value_t = 20_000, value_parser = suite::at_least::<100>)]
        iterations: usize,
    },
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
        Command::InProcess {
            workspace,
            components,
            iterations,
        } => {
            for (label, s) in suite::in_process(&workspace, &components, iterations).await? {
                println!(
                    "{label}: p50 {:.1} µs, p99 {:.1} µs, CPU {:.1} µs per call (n = {})",
                    s.p50_us,
                    s.p99_us,
                    s.cpu_us.unwrap_or(0.0),
                    s.n
                );
            }
            Ok(())
        }
        Command::Native { bind, data } => native::serve(bind, data).await,
    }
}
