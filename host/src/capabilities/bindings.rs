//! Host-side bindings of the `cityhost:miniapp` world, generated from
//! `sdk/wit` (the same files the SDK builds guests from): the current
//! contract, `cityhost:miniapp@0.2.0`. The earlier contract's bindings are
//! in [`super::v0_1`].
//!
//! Imports are async host functions, so a capability can await the state
//! seam (transactions, the group commit) without holding a tokio worker;
//! each interface's `error` is [`CapabilityError`] on the host side
//! (`trappable_error_type`), turned into the interface's own variant by its
//! unit's `convert_error`. The exports are async so that the epoch callback
//! can yield to tokio while a guest runs.

#![allow(missing_docs, unreachable_pub)]

use super::CapabilityError;

wasmtime::component::bindgen!({
    world: "miniapp",
    path: "../sdk/wit",
    imports: { default: async | trappable },
    exports: { default: async },
    trappable_error_type: {
        "cityhost:miniapp/identity.error" => CapabilityError,
        "cityhost:miniapp/payment.error" => CapabilityError,
        "cityhost:miniapp/notify.error" => CapabilityError,
        "cityhost:miniapp/storage.error" => CapabilityError,
        "cityhost:miniapp/citizen-storage.error" => CapabilityError,
        "cityhost:miniapp/log.error" => CapabilityError,
        "cityhost:miniapp/http.error" => CapabilityError,
        "cityhost:miniapp/sign.error" => CapabilityError,
        "cityhost:miniapp/config.error" => CapabilityError,
        "cityhost:miniapp/schedule.error" => CapabilityError,
    },
});

pub use self::exports::cityhost::miniapp::events::Event;
pub use self::exports::cityhost::miniapp::handler::{Method, Request, Response};
