//! The one list of capabilities: each `cityhost:miniapp` interface a
//! mini-app may import, with its permission (variant), its unit
//! (`cityhost::capabilities::<module>`) and its name in manifests and WIT.
//!
//! Nothing else enumerates capabilities. [`crate::manifest::Permission`]
//! and its name table, and the capability layer's per-request state and
//! linker registration (`cityhost::capabilities`), are generated from this
//! list by passing a macro to [`for_each_capability`] (the pattern of
//! wasmtime's `foreach_builtin_function!`). Adding a capability is one line
//! here; see "Adding a capability" in `docs/architecture.md`.

/// Calls `$m! { $( $(#[doc])* Variant module "wit-name", )* }` with every
/// capability, in WIT order.
#[macro_export]
macro_rules! for_each_capability {
    ($m:ident) => {
        $m! {
            /// `cityhost:miniapp/identity`: openid; profile after consent.
            Identity identity "identity",
            /// `cityhost:miniapp/payment`: orders the citizen confirms in the host.
            Payment payment "payment",
            /// `cityhost:miniapp/notify`: messages to citizens' inboxes.
            Notify notify "notify",
            /// `cityhost:miniapp/storage`: the app's private key-value store.
            Storage storage "storage",
            /// `cityhost:miniapp/citizen-storage`: the signed-in citizen's own key-value store in the app.
            CitizenStorage citizen_storage "citizen-storage",
            /// `cityhost:miniapp/log`: structured log lines.
            Log log "log",
            /// `cityhost:miniapp/http`: calls to the department's own systems.
            Http http "http",
            /// `cityhost:miniapp/sign`: the app's claims signed with its own key (JWS).
            Sign sign "sign",
            /// `cityhost:miniapp/config`: the app's variables and secrets.
            Config config "config",
            /// `cityhost:miniapp/schedule`: one-shot timers delivered as app events.
            Schedule schedule "schedule",
        }
    };
}
