//! The per-request state of a mini-app instance and the one way a
//! capability call runs: [`RequestState::call`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::CapabilityError;
use super::Units;
use super::limits::InstanceLimits;
use super::outgoing::Outgoing;
use crate::manifest::{Manifest, Permission};
use crate::outbound::Outbound;
use crate::services::Services;

/// Who and what a request is for: fixed when the request starts.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Host request id (UUID), also given to the app in
    /// `x-cityhost-request-id` and shown in error pages.
    pub request_id: String,
    /// The app's manifest.
    pub manifest: Arc<Manifest>,
    /// The citizen, if signed in (internal id; never given to the app).
    pub citizen_id: Option<String>,
    /// The citizen's openid for this app.
    pub openid: Option<String>,
    /// The host event this request delivers (`payment.succeeded`), if it
    /// is one: set by the gateway from the reserved event path, which
    /// citizens cannot reach.
    pub event: Option<String>,
}

/// Most bytes of guest stderr kept for the error log of a failed request.
const STDERR_BYTES: usize = 16 * 1024;

/// The per-request state held in a wasmtime `Store`: the call context, the
/// host services, the instance's limits and a WASI context that grants
/// nothing (no files, environment, sockets or clocks beyond the standard
/// ones a `wasm32-wasip2` guest links against).
pub struct RequestState {
    /// Who and what the request is for.
    pub context: CallContext,
    /// Memory and table limits of the instance.
    pub limits: InstanceLimits,
    /// The host's domain services.
    pub(super) services: Arc<Services>,
    /// Each capability's own per-request state (`units.log`, ...).
    pub(super) units: Units,
    /// The request's outbound calls (the `http` capability and
    /// `wasi:http`), with its deadline.
    pub(crate) outgoing: Outgoing,
    /// What the capability call under way adds to its audit record
    /// ([`crate::audit::AuditRecord::detail`]); taken by [`Self::call`].
    pub(super) audit_detail: Vec<(String, String)>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
}

impl RequestState {
    /// State for one request, with the app's memory limit in bytes and
    /// the host's outbound calls.
    pub fn new(
        context: CallContext,
        services: Arc<Services>,
        outbound: Arc<Outbound>,
        memory_bytes: usize,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .build();
        let outgoing = Outgoing::new(
            outbound,
            services.clone(),
            context.manifest.clone(),
            context.openid.clone(),
        );
        Self {
            outgoing,
            audit_detail: Vec::new(),
            context,
            limits: InstanceLimits::new(memory_bytes),
            services,
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            stderr,
            units: Units::default(),
        }
    }

    /// What the guest wrote to stderr (a Rust panic message, for example).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }

    /// Runs one capability call: permission check, the call, audit.
    ///
    /// `f` is the call itself, an async block borrowing the state:
    ///
    /// ```text
    /// self.call(Permission::Storage, "storage.get", |s| {
    ///     Box::pin(async move { Ok(s.services.storage.get(&s.context.manifest.id, &key).await?) })
    /// })
    /// .await
    /// ```
    ///
    /// The block's future must be `Send` (wasmtime runs host functions on
    /// any tokio worker), and `RequestState` is not `Sync` (its WASI
    /// streams are not), so a `&RequestState` may not be held across an
    /// `.await`: a helper the block awaits takes `&mut self`, or only the
    /// fields it needs (`&s.services`, `&s.context`).
    ///
    /// The audit record is appended however the call ends: with `ok` or
    /// the error variant, or with `abandoned` if the request is dropped
    /// while the call awaits (see [`crate::audit::Pending`]).
    pub(super) async fn call<T>(
        &mut self,
        permission: Permission,
        capability: &'static str,
        f: impl for<'a> FnOnce(&'a mut Self) -> BoxFuture<'a, Result<T, CapabilityError>>,
    ) -> Result<T, CapabilityError> {
        let mut pending = self.services.audit.begin(
            &self.context.manifest.id,
            &self.context.manifest.version,
            self.context.openid.clone(),
            capability,
        );
        let result = if self.context.manifest.permits(permission) {
            f(self).await
        } else {
            Err(CapabilityError::NotPermitted(format!(
                "the manifest does not declare the `{permission}` permission"
            )))
        };
        for (name, value) in self.audit_detail.drain(..) {
            pending.detail(&name, value);
        }
        pending.finish(super::errors::outcome(&result));
        result
    }

    /// The signed-in citizen, or `not-permitted`.
    pub(super) fn citizen(&self) -> Result<String, CapabilityError> {
        self.context
            .citizen_id
            .clone()
            .ok_or_else(|| CapabilityError::NotPermitted("no citizen is signed in".into()))
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outgoing,
        }
    }
}
