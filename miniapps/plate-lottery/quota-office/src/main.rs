//! `hz-quota-office`: the quota office's licence-plate lottery service (see
//! the library's docs for its API).
//!
//! Run with: `cargo run --release -p hz-quota-office -- --data /tmp/quota-office`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use tokio::io::AsyncReadExt;

/// The quota office's licence-plate lottery service.
#[derive(Parser)]
#[command(name = "hz-quota-office", version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Directory of the service's data (`office.json`, `office-token`),
    /// created with the seed registry on first start.
    #[arg(long, default_value = "quota-office-data")]
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
    let office = Arc::new(hz_quota_office::Office::open(&args.data)?);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let address = listener.local_addr()?;
    // The one line a parent reads to learn the port.
    println!("listening on http://{address}");
    tracing::info!(%address, data = %args.data.display(), "quota office started");
    // The draw is held at its time whether or not anyone asks: looked for
    // every 30 s, so it runs within half a minute of 10:00 on the 26th.
    let scheduled = tokio::spawn(hz_quota_office::draw_on_schedule(
        office.clone(),
        std::time::Duration::from_secs(30),
    ));
    axum::serve(listener, hz_quota_office::router(office))
        .with_graceful_shutdown(stopped(args.exit_with_stdin))
        .await?;
    scheduled.abort();
    tracing::info!("quota office stopped");
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
