//! `hzhospital-his`: the hospital's appointment system (see the
//! library's docs for its API).
//!
//! Run with: `cargo run --release -p hzhospital-his -- --data /tmp/his`

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio::io::AsyncReadExt;

/// The hospital's appointment system (HIS).
#[derive(Parser)]
#[command(name = "hzhospital-his", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Directory of the service's data (`his.json`, `staff-token`), created with the
    /// seed departments and doctors on first start.
    #[arg(long, default_value = "his-data")]
    data: PathBuf,
    /// Stop when standard input closes: a parent that keeps the pipe open
    /// is sure the service ends with it, however the parent ends.
    #[arg(long)]
    exit_with_stdin: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let store = hzhospital_his::store::Store::open(&args.data)?;
    let staff_token = hzhospital_his::staff_token(&args.data)?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let address = listener.local_addr()?;
    // The one line a parent reads to learn the port.
    println!("listening on http://{address}");
    tracing::info!(%address, data = %args.data.display(), "HIS started");
    axum::serve(listener, hzhospital_his::router(store, staff_token))
        .with_graceful_shutdown(stopped(args.exit_with_stdin))
        .await?;
    tracing::info!("HIS stopped");
    Ok(())
}

/// Resolves on ctrl-c, SIGTERM, or (with `stdin`) the end of standard
/// input.
async fn stopped(stdin: bool) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        #[cfg(unix)]
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            return;
        }
        std::future::pending::<()>().await
    };
    let eof = async {
        if !stdin {
            return std::future::pending().await;
        }
        let mut input = tokio::io::stdin();
        let mut buf = [0u8; 256];
        // Whatever the parent writes is ignored; the end (or an error) stops us.
        while let Ok(n) = input.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
        () = eof => {}
    }
}
