//! `cityhost dev`: a local host for the mini-app crate in a directory, with
//! the demo citizens, the production sandbox limits, and a reload whenever
//! the crate's sources change (rebuild, check, swap the release: the next
//! request uses the new component). Malformed view blocks are printed on
//! the terminal as they happen.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::scaffold::{BuildOneArgs, build};
use super::sources::newest_change;
use crate::manifest::Manifest;
use crate::platform::{HostConfig, Platform};
use crate::registry::{MANIFEST_FILE, load_app};

/// How often the sources are looked at for changes.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// `cityhost dev`.
#[derive(Args)]
pub struct DevArgs {
    /// The mini-app crate.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Address to listen on. Without it, 127.0.0.1:8080, or a free port
    /// of 127.0.0.1 when 8080 is taken (say, by `cityhost demo`); the
    /// address taken is printed.
    #[arg(long)]
    pub bind: Option<SocketAddr>,
    /// Data directory of the local host.
    #[arg(long, default_value = "target/cityhost-dev")]
    pub data: PathBuf,
}

/// Builds the app, serves it with the demo citizens and reloads it on change.
pub async fn dev(args: DevArgs) -> anyhow::Result<()> {
    let build_args = BuildOneArgs {
        dir: args.dir.clone(),
    };
    // The department's own system, if the app declares one
    // (`[dev.backend]`), runs beside the host as under `cityhost demo`.
    let backends = super::backends::launch(
        std::slice::from_ref(&args.dir),
        &super::build_apps::target_dir(),
        &args.data,
    )
    .await?;
    let listener = listen(args.bind).await?;
    let address = listener.local_addr()?;
    let mut config = HostConfig {
        identity: crate::platform::IdentityConfig {
            public_url: Some(format!("http://{address}")),
            ..Default::default()
        },
        ..HostConfig::new(args.data.clone())
    };
    config.outbound.local_origins = backends.local_origins();
    let platform = Platform::open(&config)
        .await
        .with_context(|| format!("opening {}", args.data.display()))?;
    let component = tokio::task::block_in_place(|| build(&build_args))?;
    install(&platform, &args.dir, &component).await?;
    super::demo::seed(&platform).await?;
    let department_token = department_token(&platform, &args.dir).await?;
    println!(
        "dev host at http://{} (demo citizens, password {}, payment PIN {}):",
        address,
        super::demo::DEMO_PASSWORD,
        super::demo::DEMO_PIN
    );
    for citizen in super::demo::DEMO_CITIZENS {
        println!("  {} {}", citizen.phone, citizen.name);
    }
    println!("SMS codes (development channel): http://{address}/dev/sms");
    println!(
        "department API (cityhost config, the department's events and messages):\n  \
         export CITYHOST_HOST=http://{address} CITYHOST_TOKEN={department_token}"
    );
    println!("watching {} for changes", args.dir.join("src").display());
    tokio::spawn(print_view_reports(platform.views.subscribe()));
    tokio::spawn(watch(platform.clone(), args.dir.clone(), build_args));
    // Events (payment-succeeded, timers, cron, …) reach the app as under `serve`.
    let background = crate::background::Background::start(&platform);
    crate::http::serve(listener, platform).await?;
    drop(background);
    drop(backends);
    Ok(())
}

/// The port `cityhost dev` listens on unless told otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Listens at `bind`; without it at [`DEFAULT_BIND`], or at a free port of
/// 127.0.0.1 when that is taken. Errors: `bind` cannot be listened at.
async fn listen(bind: Option<SocketAddr>) -> anyhow::Result<tokio::net::TcpListener> {
    if let Some(bind) = bind {
        return tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"));
    }
    match tokio::net::TcpListener::bind(DEFAULT_BIND).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("binding a free port of 127.0.0.1")?;
            println!(
                "{DEFAULT_BIND} is taken; listening at {} instead",
                listener.local_addr()?
            );
            Ok(listener)
        }
        Err(e) => Err(e).with_context(|| format!("binding {DEFAULT_BIND}")),
    }
}

/// The account of the app's department on the dev host (created from
/// `[department]`, with `[dev.publisher]` or a placeholder contact) and a
/// new API token with every scope, so the developer can try the department
/// API (`cityhost config`, events, messages) against the dev host.
async fn department_token(platform: &Platform, dir: &Path) -> anyhow::Result<String> {
    use crate::manifest::DevPublisher;
    use crate::publishing::tokens::TokenScope;
    let manifest = Manifest::load(&dir.join(MANIFEST_FILE))?;
    let publisher = manifest.dev.publisher.clone().unwrap_or(DevPublisher {
        uscc: None,
        contact_name: "本机开发者".into(),
        contact_phone: "0571-00000000".into(),
    });
    let uscc = platform.ensure_department(&manifest, &publisher).await?;
    let scopes = [
        TokenScope::Publish,
        TokenScope::Statements,
        TokenScope::Messages,
        TokenScope::Events,
    ];
    let issued = platform
        .services
        .publishing
        .tokens
        .issue(uscc.as_str(), &scopes, None)
        .await?;
    Ok(issued.token)
}

async fn install(platform: &Platform, dir: &Path, component: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::load(&dir.join(MANIFEST_FILE))?;
    let bytes = std::fs::read(component)?;
    let app = load_app(
        &platform.runtime,
        &platform.services.directory,
        manifest,
        &bytes,
    )
    .await?;
    platform.registry.set_source_dir(&app.manifest.id, dir);
    tracing::info!(app = %app.manifest.id, version = %app.manifest.version, "mini-app (re)loaded");
    platform.registry.install(app);
    Ok(())
}

/// Prints each view block the host did not show (see [`crate::views`]) on
/// the developer's terminal, where the citizen sees only a placeholder.
async fn print_view_reports(
    mut reports: tokio::sync::broadcast::Receiver<crate::views::ViewReport>,
) {
    use std::io::IsTerminal;
    use tokio::sync::broadcast::error::RecvError;
    let (bold, reset) = if std::io::stderr().is_terminal() {
        ("\x1b[1;31m", "\x1b[0m")
    } else {
        ("", "")
    };
    loop {
        let report = match reports.recv().await {
            Ok(report) => report,
            Err(RecvError::Lagged(missed)) => {
                eprintln!("{bold}VIEW PROBLEM{reset} ({missed} more reports not shown)");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let which = match report.block {
            Some(i) => format!("block {i}"),
            None => "the whole view".to_string(),
        };
        eprintln!(
            "\n{bold}VIEW PROBLEM{reset} {app} {path}: {which} is not shown\n  \
             {reason}\n  \
             the citizen sees \"此部分暂时无法显示\" instead (docs/views.md, docs/view.schema.json)\n",
            app = report.app_id,
            path = report.path,
            reason = report.reason,
        );
    }
}

async fn watch(platform: Arc<Platform>, dir: PathBuf, build_args: BuildOneArgs) {
    let mut last = newest_change(&dir).map(|(time, _)| time);
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        let now = newest_change(&dir).map(|(time, _)| time);
        if now == last {
            continue;
        }
        last = now;
        let result = match tokio::task::block_in_place(|| build(&build_args)) {
            Ok(component) => install(&platform, &dir, &component).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            // The previous build keeps serving.
            eprintln!("not reloaded: {e:#}");
        }
    }
}
