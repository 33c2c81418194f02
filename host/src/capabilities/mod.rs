//! The capability layer: the host side of each `cityhost:miniapp` import.
//!
//! Every capability has the same shape (one module each): the generated
//! WIT `Host` trait implemented on [`RequestState`], where each function
//! goes through [`RequestState::call`], which
//! 1. checks that the app's manifest declares the permission (components
//!    importing an undeclared interface are already refused at load; this is
//!    the second wall),
//! 2. calls (and awaits) a domain service, which knows nothing of
//!    WebAssembly,
//! 3. maps its error once to the WIT `error` variant, and
//! 4. appends an audit record (time, app, release, openid, capability,
//!    outcome, duration) — never the arguments, so no personal data — even
//!    when the request is dropped while the call awaits.
//!
//! The imports are async host functions (`runtime::bindings`): a call may
//! await the domain services without holding a tokio worker.

mod identity;
mod log;
mod notify;
mod payment;
mod storage;

use std::sync::Arc;

use futures_util::future::BoxFuture;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::error::ServiceError;
use crate::manifest::{Manifest, Permission};
use crate::platform::Services;
use crate::runtime::bindings::{WitError, cityhost};
use crate::runtime::limits::InstanceLimits;
use crate::runtime::wasi_http::DenyOutgoing;

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
    pub ctx: CallContext,
    /// Memory and table limits of the instance.
    pub limits: InstanceLimits,
    services: Arc<Services>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_policy: DenyOutgoing,
    table: ResourceTable,
    stderr: MemoryOutputPipe,
    log_lines: u32,
    receipt_sent: bool,
}

impl RequestState {
    /// State for one request, with the app's memory limit in bytes.
    pub fn new(ctx: CallContext, services: Arc<Services>, memory_bytes: usize) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .build();
        Self {
            ctx,
            limits: InstanceLimits::new(memory_bytes),
            services,
            wasi,
            http: WasiHttpCtx::new(),
            http_policy: DenyOutgoing,
            table: ResourceTable::new(),
            stderr,
            log_lines: 0,
            receipt_sent: false,
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
    ///     Box::pin(async move { Ok(s.services.storage.get(&s.ctx.manifest.id, &key).await?) })
    /// })
    /// .await
    /// ```
    ///
    /// The block's future must be `Send` (wasmtime runs host functions on
    /// any tokio worker), and `RequestState` is not `Sync` (its WASI
    /// streams are not), so a `&RequestState` may not be held across an
    /// `.await`: a helper the block awaits takes `&mut self`, or only the
    /// fields it needs (`&s.services`, `&s.ctx`).
    ///
    /// The audit record is appended however the call ends: with `ok` or
    /// the error variant, or with `abandoned` if the request is dropped
    /// while the call awaits (see [`crate::audit::Pending`]).
    async fn call<T>(
        &mut self,
        permission: Permission,
        capability: &'static str,
        f: impl for<'a> FnOnce(&'a mut Self) -> BoxFuture<'a, Result<T, WitError>>,
    ) -> Result<T, WitError> {
        let pending = self.services.audit.begin(
            &self.ctx.manifest.id,
            &self.ctx.manifest.version,
            self.ctx.openid.clone(),
            capability,
        );
        let result = if self.ctx.manifest.permits(permission) {
            f(self).await
        } else {
            Err(WitError::NotPermitted(format!(
                "the manifest does not declare the `{permission}` permission"
            )))
        };
        pending.finish(outcome(&result));
        result
    }

    /// The signed-in citizen, or `not-permitted`.
    fn citizen(&self) -> Result<String, WitError> {
        self.ctx
            .citizen_id
            .clone()
            .ok_or_else(|| WitError::NotPermitted("no citizen is signed in".into()))
    }
}

/// The audit outcome of a call: `ok` or the error variant's name.
fn outcome<T>(result: &Result<T, WitError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(WitError::NotPermitted(_)) => "not-permitted",
        Err(WitError::ConsentRequired(_)) => "consent-required",
        Err(WitError::InvalidArgument(_)) => "invalid-argument",
        Err(WitError::QuotaExceeded(_)) => "quota-exceeded",
        Err(WitError::Conflict(_)) => "conflict",
        Err(WitError::Unavailable(_)) => "unavailable",
        Err(WitError::RefundExceeds(_)) => "refund-exceeds",
        Err(WitError::NotSubscribed(_)) => "not-subscribed",
        Err(WitError::RateLimited(_)) => "rate-limited",
    }
}

impl From<ServiceError> for WitError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidArgument { field, .. } => WitError::InvalidArgument(field.into()),
            ServiceError::NotFound(what) => WitError::InvalidArgument(what.into()),
            ServiceError::Conflict { field, .. } => WitError::Conflict(field.into()),
            ServiceError::Unauthenticated(why) => WitError::NotPermitted(why.into()),
            ServiceError::Forbidden(why) => WitError::NotPermitted(why),
            ServiceError::QuotaExceeded(quota) => WitError::QuotaExceeded(quota.into()),
            ServiceError::RateLimited { retry_after_ms } => WitError::RateLimited(retry_after_ms),
            ServiceError::Unavailable(why) => WitError::Unavailable(why),
            ServiceError::Store(_) | ServiceError::Sealed(_) => {
                tracing::error!(error = %e, "store failure in a capability call");
                WitError::Unavailable("storage is unavailable; try again".into())
            }
            ServiceError::Payment(e) => payment::wit_error(e),
        }
    }
}

impl cityhost::miniapp::types::Host for RequestState {}

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
            hooks: &mut self.http_policy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::keys::HostKeys;
    use crate::runtime::bindings::cityhost::miniapp::{
        identity::Host as _, payment, payment::Host as _,
    };

    async fn state(
        permissions: &str,
        dir: &std::path::Path,
    ) -> (RequestState, Arc<Services>, String) {
        let db = cityhost_store::Db::new(
            cityhost_store_sled::SledBackend::open(&dir.join("db")).unwrap(),
        );
        let keys = HostKeys::load_or_create(dir).unwrap();
        let services = Arc::new(Services::open(db, &keys).unwrap());
        let citizen = services
            .accounts
            .register("13800000077", "a good password")
            .await
            .unwrap();
        let manifest = Manifest::parse(&format!(
            "id = \"test-app\"\nname = \"t\"\nversion = \"1.0.0\"\ncategory = \"utilities\"\n\
             permissions = {permissions}\n[department]\nname = \"d\"\ndivision = \"3301\"\n\
             [consent]\nauth_user = \"test\"\n"
        ))
        .unwrap();
        let ctx = CallContext {
            request_id: "req".into(),
            manifest: Arc::new(manifest),
            citizen_id: Some(citizen.id.clone()),
            openid: Some(
                services
                    .openids
                    .openid("test-app", &citizen.id)
                    .await
                    .unwrap(),
            ),
            event: None,
        };
        (
            RequestState::new(ctx, services.clone(), 1 << 20),
            services,
            citizen.id,
        )
    }

    fn order() -> payment::OrderRequest {
        payment::OrderRequest {
            out_trade_no: "t-1".into(),
            amount_fen: 100,
            subject: "s".into(),
            return_path: "/".into(),
            expires_in_ms: None,
        }
    }

    #[tokio::test]
    async fn undeclared_capability_is_refused_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, services, _) = state("[\"identity\"]", dir.path()).await;
        assert!(matches!(
            s.create_order(order()).await,
            Err(WitError::NotPermitted(_))
        ));
        let records = services
            .audit
            .list("test-app", 0, u64::MAX / 2_000_000, 10)
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].capability, "payment.create-order");
        assert_eq!(records[0].outcome, "not-permitted");
        assert_eq!(records[0].openid, s.ctx.openid);
    }

    #[tokio::test]
    async fn a_call_dropped_while_it_awaits_is_audited_as_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, services, _) = state("[\"identity\"]", dir.path()).await;
        let call = s.call(Permission::Identity, "identity.openid", |_| {
            Box::pin(std::future::pending::<Result<(), WitError>>())
        });
        let waited = tokio::time::timeout(std::time::Duration::from_millis(10), call).await;
        assert!(waited.is_err());
        let records = services
            .audit
            .list("test-app", 0, u64::MAX / 2_000_000, 10)
            .await
            .unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].capability, "identity.openid");
        assert_eq!(records[0].outcome, crate::audit::ABANDONED);
        assert_eq!(records[0].openid, s.ctx.openid);
        assert!(records[0].duration_us >= 10_000);
    }

    #[tokio::test]
    async fn profile_needs_consent_then_real_name() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, services, citizen) = state("[\"identity\"]", dir.path()).await;
        assert_eq!(
            s.profile().await.unwrap_err().to_string(),
            WitError::ConsentRequired("auth_user".into()).to_string()
        );
        services
            .consents
            .grant(
                &citizen,
                "test-app",
                crate::identity::consent::Scope::AuthUser,
                "test",
            )
            .await
            .unwrap();
        assert!(matches!(s.profile().await, Err(WitError::Unavailable(_))));
        services
            .accounts
            .set_real_name(&citizen, "王五", "11010519491231002X")
            .await
            .unwrap();
        let profile = s.profile().await.unwrap();
        assert_eq!(profile.id_number_masked, "1****************X");
        assert_eq!(profile.name_masked, "*五");
        assert_eq!(profile.gender, None);
        assert_eq!(profile.assurance_level, 2);
    }

    #[tokio::test]
    async fn orders_need_a_citizen_and_valid_fields() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _, _) = state("[\"payment\"]", dir.path()).await;
        let mut bad = order();
        bad.amount_fen = 0;
        assert!(
            matches!(s.create_order(bad).await, Err(WitError::InvalidArgument(f)) if f == "amount-fen")
        );
        let created = s.create_order(order()).await.unwrap();
        assert_eq!(created.state, payment::OrderState::Created);
        assert_eq!(created.pay_url, format!("/#/pay/{}", created.order_id));
        s.ctx.citizen_id = None;
        assert!(matches!(
            s.create_order(order()).await,
            Err(WitError::NotPermitted(_))
        ));
    }
}
