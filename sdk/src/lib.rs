//! Write CityHost mini-apps in Rust.
//!
//! A mini-app is a WebAssembly component (target `wasm32-wasip2`) that the
//! host runs on a fresh instance for every request. This crate gives it:
//!
//! - a [`Router`] that dispatches by method and exact path, and host
//!   [`events`] by kind ([`Router::on_payment_succeeded`]) and app events
//!   (timers, cron schedules, the department's) by type
//!   ([`Router::on_event`]);
//! - a [`Request`] with typed access to query, form and JSON body, whose
//!   errors name the offending field;
//! - a [`Response`]: a [`View`] (the declarative page the host's shell
//!   renders, see `docs/views.md`), JSON, text or a redirect;
//! - safe wrappers over the host's capabilities: [`identity`], [`payment`],
//!   [`notify`], [`storage`], [`citizen_storage`], [`log`], [`http`],
//!   [`sign`], [`config`] and [`schedule`];
//! - one [`Error`] type: `?` on a capability or request error inside a
//!   handler answers the right status with a view explaining it (a missing
//!   consent answers a button that opens the host's consent sheet);
//! - helpers for [`money`] (integer fen, never floats) and [`time`] (UTC
//!   milliseconds, shown in Beijing time);
//! - [`export_app!`], which exports the app's router as the component's
//!   `handler` and `events`.
//!
//! # Example
//!
//! ```
//! use cityhost_sdk::{Request, Result, Router, View, identity, storage};
//!
//! fn index(_req: &Request) -> Result<View> {
//!     let openid = identity::openid()?;
//!     let key = format!("visits:{openid}");
//!     let visits = storage::get_json::<u64>(&key)?.unwrap_or(0) + 1;
//!     storage::set_json(&key, &visits)?;
//!     Ok(View::new("你好").text(format!("这是您第 {visits} 次访问。")))
//! }
//!
//! fn app() -> Router {
//!     Router::new().get("/", index)
//! }
//!
//! cityhost_sdk::export_app!(app());
//! # fn main() {}
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --profile guest`; the app
//! crate is a `cdylib` whose package name is the app id, beside a
//! `cityhost.toml` manifest.
//!
//! # Imports and permissions
//!
//! The component imports only the capability interfaces whose functions the
//! app calls: the example above imports `cityhost:miniapp/identity` and
//! `cityhost:miniapp/storage` (and the types of `cityhost:miniapp/payment`
//! that the `events` export uses, which grant nothing), so its manifest
//! declares
//! `permissions = ["identity", "storage"]`. The host refuses a component
//! importing an interface its manifest does not declare.
//!
//! # Units
//!
//! Money is integer fen as `u64` (1 yuan = 100 fen); times are UTC
//! milliseconds since the Unix epoch as `u64`.
//!
//! # Testing
//!
//! [`Router::handle`] answers a [`Request`] natively, so routing, parsing
//! and views can be unit-tested with `cargo test`. Capability calls only
//! work inside the host (natively they panic).

#![deny(missing_docs)]

#[doc(hidden)]
pub mod bindings;
mod capabilities;
mod error;
pub mod events;
mod guest;
pub mod money;
mod request;
mod response;
mod router;
pub mod time;
pub mod view;

pub use capabilities::{
    citizen_storage, config, http, identity, log, notify, payment, schedule, sign, storage,
};
pub use error::{Error, Result};
pub use events::{AppEvent, Event};
pub use request::{Method, Request};
pub use response::Response;
pub use router::Router;
pub use view::View;

/// What [`export_app!`] expands to; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::guest::{
        EventsGuest, Guest, WitEvent, WitRequest, WitResponse, handle, on_event,
    };
}

/// Exports an app as the component's `cityhost:miniapp/handler` and
/// `cityhost:miniapp/events`.
///
/// The argument is an expression that builds the app's [`Router`]; it is
/// evaluated once per request or event (each runs on a fresh instance).
/// Use it once, in the app crate's `lib.rs`:
///
/// ```
/// use cityhost_sdk::{Request, Response, Result, Router};
///
/// fn ok(_req: &Request) -> Result<Response> {
///     Ok(Response::text("ok"))
/// }
///
/// cityhost_sdk::export_app!(Router::new().get("/ok", ok));
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_app {
    ($router:expr) => {
        #[doc(hidden)]
        #[allow(dead_code)]
        struct __CityhostApp;

        impl $crate::__private::Guest for __CityhostApp {
            fn handle(request: $crate::__private::WitRequest) -> $crate::__private::WitResponse {
                $crate::__private::handle(request, || $router)
            }
        }

        impl $crate::__private::EventsGuest for __CityhostApp {
            fn on_event(
                event_id: ::std::string::String,
                event: $crate::__private::WitEvent,
            ) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::on_event(event_id, event, || $router)
            }
        }

        // Only a WebAssembly build exports the component's functions: a
        // native build (the crate's `cargo test`, doctests, an `rlib`
        // beside the `cdylib`) would name symbols no native linker takes.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export!(__CityhostApp with_types_in $crate::bindings);

        /// The app's router, natively: what keeps its handlers in use
        /// where nothing is exported.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __cityhost_router() -> $crate::Router {
            $router
        }
    };
}
