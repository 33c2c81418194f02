//! CityHost's domain: what the platform keeps and decides, with no
//! WebAssembly engine and no HTTP stack (`cargo tree -p cityhost-domain`
//! holds neither wasmtime nor axum nor hyper).
//!
//! - [`identity`]: accounts, sessions, real-name verification, openids and
//!   unionids, consent, ID tokens;
//! - [`payments`]: orders, the double-entry ledger, refunds, settlement;
//! - [`notifications`]: templates, subscriptions, inboxes, live push;
//! - [`publishing`]: departments, tokens, operators, signed packages,
//!   versions and their rules;
//! - [`events`]: the outbox of host events to apps;
//! - [`audit`], [`app_storage`], [`directory`];
//! - [`manifest`]: the mini-app manifest and its [`manifest::Permission`]s,
//!   generated from the one list of capabilities ([`for_each_capability`]);
//! - [`app_signing`]: apps' Ed25519 keys, signatures and JWK Sets;
//! - [`app_config`]: apps' variables and secrets, set by their departments;
//! - [`services`]: all of them, opened together over one database;
//! - [`error`]: the one [`error::ServiceError`] every service returns.
//!
//! Every service keeps its records behind the state seam
//! ([`cityhost_store::Db`]). The `cityhost` crate wires these services to
//! the runtime (wasmtime), the capability layer and the HTTP layer (axum).

pub mod app_storage;
pub mod audit;
mod capability_list;
pub mod directory;
pub mod error;
pub mod events;
pub mod hashing;
pub mod identity;
pub mod manifest;
pub mod meta;
pub mod notifications;
pub mod payments;
pub mod publishing;
pub mod services;
pub mod sms;
#[cfg(test)]
pub(crate) mod testing;
pub mod unique_json;
pub mod uscc;
// Added capabilities' services.
pub mod app_config;
pub mod app_signing;
