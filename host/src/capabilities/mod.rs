//! The capability layer: the host side of each `cityhost:miniapp` import.
//!
//! Every capability is one unit, a module here holding everything that is
//! only its own: a [`Capability`] (its permission, its per-request state,
//! its linker registration), the generated WIT `Host` trait implemented on
//! [`RequestState`], its audit names and its error mapping. The units are
//! listed once, in `cityhost_domain::for_each_capability`; this module generates from
//! that list the state every request carries ([`Units`]) and the linker
//! registration of them all ([`add_to_linker`]).
//!
//! Each host function goes through [`RequestState::call`], which
//! 1. checks that the app's manifest declares the permission (components
//!    importing an undeclared interface are already refused at load; this is
//!    the second wall),
//! 2. calls (and awaits) a domain service, which knows nothing of
//!    WebAssembly,
//! 3. maps its error once to a [`CapabilityError`], which each interface's
//!    `convert_error` turns into that interface's WIT `error` variant, and
//! 4. appends an audit record (time, app, release, openid, capability,
//!    outcome, duration) — never the arguments, so no personal data — even
//!    when the request is dropped while the call awaits.
//!
//! The imports are async host functions (`capabilities::bindings`): a call may
//! await the domain services without holding a tokio worker.
//!
//! Components built against the earlier contract `cityhost:miniapp@0.1.0`
//! are served by [`v0_1`]: its interfaces forward to the same host
//! functions, so a unit is written once, against the current contract.

pub mod bindings;
mod errors;
pub mod limits;
pub mod outgoing;
mod request;
pub mod v0_1;

use wasmtime::component::Linker;

use crate::manifest::Permission;
pub use errors::CapabilityError;
pub use request::{CallContext, RequestState};

/// One capability: what the host needs to know of it beyond its host
/// functions (which implement its WIT interface's generated `Host` trait
/// on [`RequestState`]).
pub trait Capability {
    /// The permission that grants it: its name in manifests and WIT.
    const PERMISSION: Permission;
    /// Its state for one request, fresh (`Default`) at the start of each.
    type State: Default + Send;
    /// Registers its host functions (its WIT interface) in the linker.
    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()>;
}

/// Generates, from the capability list, the unit modules, their
/// per-request state and the linker registration of them all.
macro_rules! define_units {
    ($( $(#[$doc:meta])* $variant:ident $module:ident $name:literal, )*) => {
        $( mod $module; )*

        /// Every capability's per-request state, one field per unit
        /// (`units.log`), fresh for each request. A unit without state
        /// holds `()`, which nothing reads.
        #[derive(Default)]
        #[allow(dead_code)]
        pub struct Units {
            $( pub(crate) $module: <$module::$variant as Capability>::State, )*
        }

        /// Registers every capability's host functions in `linker`, for
        /// the current contract and for 0.1.0 ([`v0_1::add_to_linker`]).
        pub fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
            v0_1::add_to_linker(linker)?;
            $(
                debug_assert_eq!(<$module::$variant as Capability>::PERMISSION, Permission::$variant);
                <$module::$variant as Capability>::add_to_linker(linker)?;
            )*
            Ok(())
        }
    };
}

cityhost_domain::for_each_capability!(define_units);

pub(crate) use payment::typed_event;

#[cfg(test)]
mod tests;
