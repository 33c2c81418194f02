//! The launch protocol between the host and a backend it starts
//! (`host/src/cli/backends.rs`): arguments, the one line on standard output
//! and when to stop.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::io::AsyncReadExt;

/// The arguments the host passes to every backend it starts (flatten them
/// into the backend's own `clap` arguments).
#[derive(clap::Args, Debug, Clone)]
pub struct LaunchArgs {
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Stop when standard input closes: a parent that keeps the pipe open
    /// is sure the service ends with it, however the parent ends.
    #[arg(long)]
    pub exit_with_stdin: bool,
}

/// Logs to standard error (standard output carries the protocol's line),
/// at `RUST_LOG` or `info`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Serves `router` at `args.bind` until ctrl-c, SIGTERM or (with
/// `--exit-with-stdin`) the end of standard input, letting open requests
/// finish. Prints `listening on http://ADDRESS` first, the one line the
/// host reads; `name` names the service in its log. Errors: the address
/// cannot be bound, or serving fails.
pub async fn serve(args: &LaunchArgs, name: &str, router: axum::Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, "{name} started");
    axum::serve(listener, router)
        .with_graceful_shutdown(stopped(args.exit_with_stdin))
        .await?;
    tracing::info!("{name} stopped");
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
