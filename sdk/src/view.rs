//! Declarative views (`application/vnd.cityhost.view+json`): the page a
//! mini-app shows, rendered by the host's shell in the platform's one look.
//!
//! The model lives in the `cityhost-view` crate, shared with the host,
//! which checks every view it relays against these same types; this module
//! re-exports it whole. See [`View`] for an example.

#[doc(inline)]
pub use cityhost_view::*;
