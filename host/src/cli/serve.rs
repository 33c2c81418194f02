//! `cityhost serve` and `cityhost demo`.

use anyhow::Context;

use super::ServeArgs;
use super::backends::{self, Backends};
use super::build_apps;
use crate::outbound::OutboundConfig;
use crate::platform::{HostConfig, IdentityConfig, Platform, StoreConfig};
use crate::runtime::RuntimeConfig;

/// Opens the data directory, loads the apps and serves until ctrl-c. With
/// `demo`, first builds the bundled apps and starts the department
/// backends they declare (`[dev.backend]`, [`backends`]), then seeds demo
/// citizens and app data.
pub(super) async fn serve(args: ServeArgs, demo: bool) -> anyhow::Result<()> {
    let components = match args.components.clone() {
        Some(dir) => dir,
        None if demo => build_apps::build(&args.apps, &build_apps::target_dir())?,
        None => build_apps::components_dir(&build_apps::target_dir()),
    };
    let dirs = build_apps::find_apps(&args.apps)?;
    // Held until the host stops: dropping them stops the backends.
    let backends = if demo {
        backends::launch(&dirs, &build_apps::target_dir(), &args.data).await?
    } else {
        Backends::default()
    };
    // The operator's own pins come first, so they win over a backend's
    // for the same origin (the first match is used).
    let mut local_origins = args.http_local_origins.clone();
    local_origins.extend(backends.local_origins());
    let platform = Platform::open(&HostConfig {
        data_dir: args.data.clone(),
        runtime: RuntimeConfig {
            admission: args.admission(),
            memory_budget: args.memory_budget_mib.saturating_mul(1 << 20),
            ..RuntimeConfig::default()
        },
        notify: Default::default(),
        identity: IdentityConfig {
            public_url: Some(
                args.public_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", args.bind)),
            ),
            authority_url: args.identity_authority.clone(),
            authority_token: args.identity_authority_token.clone(),
            sms: args.sms(demo),
            sms_per_client_hour: Some(args.sms_per_client_hour),
        },
        public_origins: args.public_origins.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        outbound: OutboundConfig {
            local_origins,
            extra_roots: args.http_ca_files.clone(),
        },
        store: StoreConfig::parse(args.store.as_deref())?,
    })
    .await
    .with_context(|| format!("opening data directory {}", args.data.display()))?;
    platform.load_apps(&dirs, &components).await;
    if demo {
        super::demo::seed(&platform).await?;
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let address = listener.local_addr()?;
    println!(
        "CityHost is serving {} mini-app(s) at http://{address}",
        platform.registry.list().len()
    );
    if platform.dev_sms.is_some() {
        println!("SMS codes (development channel, sent to no phone): http://{address}/dev/sms");
    }
    if demo {
        println!(
            "Demo citizens (password {}, payment PIN {}):",
            super::demo::DEMO_PASSWORD,
            super::demo::DEMO_PIN
        );
        for citizen in super::demo::DEMO_CITIZENS {
            println!("  {} {}", citizen.phone, citizen.name);
        }
        for backend in backends.iter() {
            println!(
                "Backend of {}: {} at http://{} (reached as {})",
                backend.app_id, backend.package, backend.address, backend.origin
            );
        }
    }
    let background = crate::background::Background::start(&platform);
    let audit = platform.services.audit.clone();
    crate::http::serve(listener, platform).await?;
    // Every audit record of the requests served is written before exit.
    audit.flush().await?;
    drop(background);
    drop(backends);
    Ok(())
}
