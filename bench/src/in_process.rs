//! In-process costs of the runtime: a fresh store and instance from the
//! app's pre-instantiated component plus one trivial call, and the cost of
//! one capability call measured from a loop inside a guest.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use cityhost::capabilities::bindings::{Method, Request};
use cityhost::capabilities::{CallContext, RequestState};
use cityhost::platform::{HostConfig, Platform};
use cityhost::registry::{self, App};
use cityhost::runtime::{Answer, Call, DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT, RuntimeConfig};
use serde::Serialize;

use crate::stats::{Summary, process_cpu};

/// A platform on a temporary data directory with the benchmark apps loaded.
pub struct Fixture {
    platform: Arc<Platform>,
    citizen: String,
    _data: tempfile::TempDir,
}

impl Fixture {
    /// Opens a platform (pooling allocator on or off) and loads the apps in
    /// `app_dirs` with their components from `components`.
    pub async fn open(
        pooling: bool,
        app_dirs: &[&Path],
        components: &Path,
    ) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let platform = Platform::open(&HostConfig {
            runtime: RuntimeConfig {
                pooling,
                ..RuntimeConfig::default()
            },
            ..HostConfig::new(data.path())
        })
        .await?;
        for dir in app_dirs {
            let app = registry::load_app_dir(
                &platform.runtime,
                &platform.services.directory,
                dir,
                components,
            )
            .await
            .with_context(|| format!("loading {}", dir.display()))?;
            platform.registry.install(app);
        }
        let citizen = platform
            .services
            .accounts
            .register("13900009999", "bench-password")
            .await?
            .id;
        Ok(Self {
            platform,
            citizen,
            _data: data,
        })
    }

    /// The loaded app `id`.
    pub fn app(&self, id: &str) -> anyhow::Result<Arc<App>> {
        self.platform
            .registry
            .get(id)
            .with_context(|| format!("app {id} is not loaded"))
    }

    /// One request to `app` on a fresh store and instance, as the bench
    /// citizen; returns the time from creating the store's state to the
    /// handler's answer, and the status (0 when the guest failed).
    pub async fn once(
        &self,
        app: &Arc<App>,
        path: &str,
        query: &[(&str, String)],
    ) -> (Duration, u16) {
        let services = &self.platform.services;
        let openid = services
            .openids
            .openid(&app.manifest.id, &self.citizen)
            .await
            .expect("openid");
        let request = Request {
            method: Method::Get,
            path: path.into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let started = Instant::now();
        let ctx = CallContext {
            request_id: String::new(),
            manifest: app.manifest.clone(),
            citizen_id: Some(self.citizen.clone()),
            openid: Some(openid),
            event: None,
        };
        let state = RequestState::new(
            ctx,
            services.clone(),
            self.platform.outbound.clone(),
            DEFAULT_MEMORY_BYTES,
        );
        let (result, _) = self
            .platform
            .runtime
            .invoke(
                &app.component,
                state,
                Call::Request(request),
                DEFAULT_TIMEOUT,
            )
            .await;
        let elapsed = started.elapsed();
        let status = match result {
            Ok(Answer::Response(response)) => response.status,
            _ => 0,
        };
        (elapsed, status)
    }

    /// Instantiate + trivial call (`GET /` of `app_id`), `iterations` times
    /// after a warm-up.
    pub async fn trivial(&self, app_id: &str, iterations: usize) -> anyhow::Result<Summary> {
        let app = self.app(app_id)?;
        for _ in 0..iterations / 10 {
            let (_, status) = self.once(&app, "/", &[]).await;
            anyhow::ensure!(status == 200, "{app_id} answered {status}");
        }
        let mut samples = Vec::with_capacity(iterations);
        let cpu = process_cpu();
        for _ in 0..iterations {
            samples.push(self.once(&app, "/", &[]).await.0);
        }
        Ok(Summary::of(samples).with_cpu(process_cpu() - cpu))
    }

    /// Host cost of one capability call: the median request with `calls`
    /// calls in the guest's loop minus the median with none, per call.
    pub async fn capability(
        &self,
        op: &str,
        calls: u32,
        rounds: usize,
    ) -> anyhow::Result<CapabilityCost> {
        let app = self.app("bench-loop")?;
        let median = async |n: u32| -> anyhow::Result<Duration> {
            let query = [("op", op.to_string()), ("n", n.to_string())];
            let mut samples = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let (elapsed, status) = self.once(&app, "/loop", &query).await;
                anyhow::ensure!(status == 200, "bench-loop {op} answered {status}");
                samples.push(elapsed);
            }
            samples.sort_unstable();
            Ok(samples[samples.len() / 2])
        };
        median(calls).await?; // warm-up
        let empty = median(0).await?;
        let full = median(calls).await?;
        Ok(CapabilityCost {
            op: op.to_string(),
            calls_per_request: calls,
            requests: rounds * 2,
            per_call_us: full.saturating_sub(empty).as_nanos() as f64 / 1_000.0 / calls as f64,
        })
    }
}

/// Cost of one capability call.
#[derive(Debug, Clone, Serialize)]
pub struct CapabilityCost {
    /// The capability (`storage-get` or `openid`).
    pub op: String,
    /// Calls made in the guest's loop per request.
    pub calls_per_request: u32,
    /// Requests measured (half with an empty loop).
    pub requests: usize,
    /// Host time per call, µs (median difference).
    pub per_call_us: f64,
}
