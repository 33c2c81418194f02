//! CityHost: the super-app host in which government departments publish
//! their services as sandboxed WebAssembly mini-apps and citizens use every
//! one of them with one account, one consent sheet, one payment sheet and one
//! inbox.
//!
//! The way of a request (see `docs/architecture.md`): [`http`] (axum) →
//! [`registry`] (which app) → [`gateway`] (context, limits) → [`runtime`]
//! (fresh wasmtime instance of the component) → the app's `handle` export,
//! whose imports land in [`capabilities`] (permission check, domain service,
//! audit) → domain services ([`identity`], [`payments`], [`notifications`],
//! [`app_storage`], [`audit`], [`directory`]) over the state seam
//! ([`cityhost_store::Db`], sled under `data/db`).
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use cityhost::platform::{HostConfig, Platform};
//! let config = HostConfig::new("data");
//! let platform = Platform::open(&config).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! cityhost::http::serve(listener, platform).await?;
//! # Ok(()) }
//! ```

pub mod admission;
pub mod background;
pub mod capabilities;
pub mod cli;
pub mod cron_task;
pub mod event_delivery;
pub mod gateway;
pub mod http;
pub mod http_authority;
pub mod metrics;
pub mod outbound;
pub mod platform;
pub mod public_origins;
pub mod registry;
pub mod releases;
pub mod runtime;
pub mod signal_task;
pub mod sms_gateway;
pub mod views;

// The domain (crate `cityhost-domain`), under the paths the host's layers
// name it by.
pub use cityhost_domain::app_config;
pub use cityhost_domain::app_signing;
pub use cityhost_domain::{
    app_storage, audit, directory, error, events, identity, manifest, notifications, payments,
    publishing, services, sms, uscc,
};

#[cfg(test)]
pub(crate) mod testing;
