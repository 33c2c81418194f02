//! Demo data: the population registry's demo residents, two demo citizens
//! verified against it through real-name verification (with a payment PIN
//! and ¥2,000 on their simulated bank cards), each bundled app's `[dev]`
//! storage seed and template subscriptions, and the `[dev.requests]` the
//! apps ask to be made
//! as demo citizens (move-my-car registers a plate for one of them).
//! Seeding happens once per data directory: an app whose storage already
//! holds data is left alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, bail};

use crate::app_storage::DEFAULT_QUOTA_BYTES;
use crate::capabilities::bindings::Method;
use crate::gateway::AppRequest;
use crate::identity::idcard;
use crate::platform::Platform;
use crate::registry::App;

/// A demo citizen.
#[derive(Debug, Clone, Copy)]
pub struct DemoCitizen {
    /// Full name.
    pub name: &'static str,
    /// Phone number (login).
    pub phone: &'static str,
    /// Resident identity number (valid per GB 11643-1999).
    pub id_number: &'static str,
}

/// Password of every demo citizen.
pub const DEMO_PASSWORD: &str = "cityhost-demo";
/// Payment PIN of every demo citizen.
pub const DEMO_PIN: &str = "258036";
/// What is put on each demo citizen's simulated bank card: ¥2,000.00.
pub const DEMO_FUNDS_FEN: u64 = 200_000;

/// The demo citizens.
pub const DEMO_CITIZENS: [DemoCitizen; 2] = [
    DemoCitizen {
        name: "张三",
        phone: "13800000001",
        id_number: "33010619900101123X",
    },
    DemoCitizen {
        name: "李四",
        phone: "13800000002",
        id_number: "330102198506152345",
    },
];

/// Residents of the demo population registry who have no account yet: a
/// citizen who registers in the demo can verify as one of them (numbers
/// valid per GB 11643-1999; invented people).
pub const DEMO_RESIDENTS: [(&str, &str); 3] = [
    ("王五", "330106199203041023"),
    ("赵六", "330183197809053014"),
    ("买买提·艾力", "440304199511200034"),
];

/// Seeds the demo population registry, demo citizens (verified through the
/// host's real-name verification) and the apps' dev data.
pub async fn seed(platform: &Arc<Platform>) -> anyhow::Result<()> {
    let services = &platform.services;
    let residents = DEMO_CITIZENS
        .iter()
        .map(|c| (c.name, c.id_number))
        .chain(DEMO_RESIDENTS);
    for (name, number) in residents {
        let number = idcard::validate(number, idcard::today_utc(), |p| {
            services.directory.is_province(p)
        })
        .map_err(|e| anyhow::anyhow!("demo identity number of {name}: {e}"))?;
        services.population.insert(name, &number).await?;
    }
    for demo in DEMO_CITIZENS {
        if services.accounts.by_phone(demo.phone).await?.is_some() {
            continue;
        }
        let citizen = services
            .accounts
            .register(demo.phone, DEMO_PASSWORD)
            .await?;
        // The configured authority may be a remote one that does not know
        // the demo residents: then the demo citizens stay at level 1.
        if let Err(e) = services
            .real_name
            .verify(&citizen, demo.name, demo.id_number, "demo-seeding")
            .await
        {
            tracing::warn!(phone = demo.phone, error = %e, "demo citizen not verified");
        }
        services.pins.set(&citizen.id, DEMO_PIN).await?;
        services
            .payments
            .ledger
            .top_up(&citizen.id, DEMO_FUNDS_FEN)
            .await?;
    }
    for app in platform.registry.list() {
        seed_app(platform, &app)
            .await
            .with_context(|| format!("seeding demo data of {}", app.manifest.id))?;
    }
    Ok(())
}

async fn seed_app(platform: &Arc<Platform>, app: &Arc<App>) -> anyhow::Result<()> {
    let dev = &app.manifest.dev;
    for sub in &dev.subscriptions {
        let citizen = platform
            .services
            .accounts
            .by_phone(&sub.citizen)
            .await?
            .with_context(|| format!("dev subscription of unknown demo citizen {}", sub.citizen))?;
        let kind = app
            .manifest
            .notify
            .template(&sub.template)
            .map(|t| t.kind)
            .context("dev subscription to an undeclared template")?;
        platform
            .services
            .notifications
            .subscriptions
            .accept(&citizen.id, &app.manifest.id, &sub.template, kind)
            .await?;
    }
    let storage = &platform.services.storage;
    if !storage.is_empty(&app.manifest.id).await? {
        return Ok(());
    }
    // Only bundled apps have their seed files at hand (an app uploaded as a
    // package has no source directory).
    let source_dir = platform.registry.source_dir(&app.manifest.id);
    if source_dir.as_os_str().is_empty() {
        return Ok(());
    }
    if let Some(file) = &dev.storage_seed {
        let path = source_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let entries: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for (key, value) in &entries {
            storage
                .set(
                    &app.manifest.id,
                    key,
                    &serde_json::to_vec(value)?,
                    DEFAULT_QUOTA_BYTES,
                )
                .await?;
        }
        tracing::info!(app = %app.manifest.id, keys = entries.len(), "seeded demo storage");
    }
    for request in &dev.requests {
        let citizen = platform
            .services
            .accounts
            .by_phone(&request.citizen)
            .await?
            .with_context(|| format!("dev request as unknown demo citizen {}", request.citizen))?;
        let (method, body) = match request.method.as_str() {
            "POST" => (
                Method::Post,
                serde_urlencoded::to_string(&request.form)?.into_bytes(),
            ),
            _ => (Method::Get, Vec::new()),
        };
        let response = platform
            .call_app(
                app,
                Some(&citizen.id),
                AppRequest {
                    method,
                    path: request.path.clone(),
                    query: Vec::new(),
                    headers: vec![(
                        "content-type".into(),
                        "application/x-www-form-urlencoded".into(),
                    )],
                    body,
                },
            )
            .await?;
        if !(200..400).contains(&response.status) {
            bail!(
                "dev request {} {} answered {}",
                request.method,
                request.path,
                response.status
            );
        }
    }
    Ok(())
}
