//! Host-side bindings of the `cityhost:miniapp` world, generated from
//! `sdk/wit` (the same files the SDK builds guests from).
//!
//! Imports are async host functions, so a capability can await the state
//! seam (transactions, the group commit) without holding a tokio worker;
//! the `handle` export is async so that the epoch callback can yield to
//! tokio while a guest runs.

#![allow(missing_docs, unreachable_pub)]

wasmtime::component::bindgen!({
    world: "miniapp",
    path: "../sdk/wit",
    imports: { default: async },
    exports: { default: async },
});

pub use self::cityhost::miniapp::types::Error as WitError;
pub use self::exports::cityhost::miniapp::handler::{Method, Request, Response};
