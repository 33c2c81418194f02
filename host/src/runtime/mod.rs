//! The WebAssembly runtime: one wasmtime `Engine`, a compiled-component
//! cache on disk, a shared `Linker`, and a fresh `Store` and instance for
//! every request.
//!
//! Sandbox, per instance:
//! - memory: a `ResourceLimiter` caps linear memory (default 64 MiB) and
//!   traps the guest when it asks for more;
//! - time: epoch interruption. A ticker thread bumps the engine's epoch every
//!   [`EPOCH_TICK`]; at each tick the running guest yields to tokio with
//!   `tokio::task::yield_now`, which queues it behind every other ready
//!   task (so a busy guest holds a worker thread for at most one tick at a
//!   time and never starves the others); past [`LONG_RUNNING_SLICES`] its
//!   slices go through the host-wide [`LongRunningLane`]; it is interrupted
//!   once its deadline (default 1 s) has passed. A guest parked in a host
//!   call (a sleep on a `wasi:clocks` pollable) runs no code an epoch could
//!   interrupt, so the whole call is also bounded by the same deadline;
//! - capabilities: only the `cityhost:miniapp` interfaces its manifest
//!   declares (checked at load, see [`Runtime::load`]) and a WASI context
//!   that grants nothing.
//!
//! A component is a mini-app if it exports either the platform's
//! `cityhost:miniapp/handler` (of the current contract, 0.2.0, or of
//! 0.1.0) or the standard `wasi:http/incoming-handler` ([`wasi_http`]); the
//! runtime detects which at load ([`EntryPoint`]).
//!
//! A guest that traps, overruns its deadline or its memory ends its own
//! request with a [`GuestFailure`]; the store is dropped and nothing else is
//! affected.

mod budget;
mod cache;
pub mod lane;
pub mod wasi_http;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, Linker, types::ComponentItem};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap,
    UpdateDeadline,
};

use crate::admission::AdmissionConfig;
use crate::capabilities::bindings::{Event, MiniappPre, Request, Response};
use crate::capabilities::{RequestState, v0_1};
use crate::manifest::{Manifest, Permission};
pub use budget::{DEFAULT_MEMORY_BUDGET, MemoryBudget};
pub use cache::ComponentCache;
pub use cityhost_domain::manifest::{DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT};
pub use cityhost_domain::publishing::LoadError;
pub use lane::{LONG_RUNNING_PERIOD, LONG_RUNNING_SLICES, LongRunningLane};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// How often the epoch advances: the granularity of deadlines and the
/// longest slice a busy guest runs before it yields to other tasks. 2 ms
/// keeps a well-behaved app's latency beside spinning ones within a few
/// slices (docs/benchmarks.md, noisy neighbour).
pub const EPOCH_TICK: Duration = Duration::from_millis(2);
/// Largest response body an app may return: 4 MiB.
pub const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Bytes at the start of a pooled linear memory that are reset in place
/// rather than returned to the kernel when an instance ends, so the next
/// instance in the slot takes no page faults there: 16 MiB. With 1 MiB, a
/// `wasi:http` guest's heap above it was unmapped and faulted in again on
/// every request (docs/benchmarks.md). Where the kernel has the
/// `PAGEMAP_SCAN` ioctl (Linux 6.7 and later) the pooling allocator uses it
/// to find and reset only the pages the guest wrote; elsewhere it zeroes
/// the whole region the guest's memory spans, which made this reset the
/// largest single cost of a trivial request. The cost is memory: each of
/// the pool's slots keeps the pages its guests dirtied below this mark
/// resident.
pub const MEMORY_KEEP_RESIDENT: usize = 16 << 20;
/// The same for tables: 64 KiB.
pub const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// WASI interfaces a `wasm32-wasip2` guest links against. They are linked
/// with a context that grants nothing: no preopened directories, no
/// environment, no network; `wasi:http` is there for standard components
/// and its outgoing requests go through the host's outbound policy
/// ([`crate::outbound`]).
const WASI_PACKAGES: [&str; 7] = [
    "wasi:cli/",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:filesystem/",
    "wasi:sockets/",
    "wasi:http/",
];

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Instances that may exist at once (pooling allocator slots).
    pub max_instances: u32,
    /// Use the pooling allocator (falls back to on-demand if the address
    /// space reservation fails).
    pub pooling: bool,
    /// Who may take the instances when many requests want one
    /// ([`crate::admission`]).
    pub admission: AdmissionConfig,
    /// Linear memory all live instances may hold together, bytes
    /// ([`MemoryBudget`]).
    pub memory_budget: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            // Far above what 2 cores run at once; each slot reserves virtual
            // address space only.
            max_instances: 256,
            pooling: true,
            admission: AdmissionConfig::default(),
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// Why a request to a guest failed.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    /// The guest ran past its deadline and was interrupted.
    #[error("the mini-app did not answer within {0:?}")]
    DeadlineExceeded(Duration),
    /// The guest tried to grow its memory beyond its limit.
    #[error("the mini-app exceeded its memory limit of {0} MiB")]
    MemoryExceeded(usize),
    /// The guest trapped (a panic, an unreachable, ...). The string is the
    /// trap with its wasm backtrace: for the host's log, never shown to the
    /// citizen (the message says only that the app failed).
    #[error("the mini-app failed")]
    Trapped(String),
    /// Every instance slot of the pooling allocator is in use.
    #[error("the host is at its limit of concurrent mini-app instances; try again")]
    Busy,
}

/// Which export a mini-app's requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryPoint {
    /// The platform's `cityhost:miniapp/handler` of the current contract
    /// (the SDK's export), with host events through its `events` export.
    Handler,
    /// The `cityhost:miniapp/handler` of contract 0.1.0: host events
    /// arrive as `POST` requests under `/_cityhost/events/`.
    HandlerV0_1,
    /// The standard `wasi:http/incoming-handler` (`wasi:http/proxy` world);
    /// host events arrive as for 0.1.0.
    WasiHttp,
}

impl EntryPoint {
    /// Whether host events go to the component's `events` export
    /// ([`Call::Event`]) rather than arriving as requests.
    pub fn takes_typed_events(self) -> bool {
        self == EntryPoint::Handler
    }
}

/// What one instance runs.
#[derive(Debug)]
pub enum Call {
    /// A request, to the component's handler.
    Request(Request),
    /// A host event, to the `events` export (only an [`EntryPoint::Handler`]
    /// component has one; see [`EntryPoint::takes_typed_events`]).
    Event {
        /// The host's id of the event, the same on every retry.
        id: String,
        /// The event.
        event: Event,
    },
}

/// What the guest answered to a [`Call`].
#[derive(Debug)]
pub enum Answer {
    /// The handler's response to a request.
    Response(Response),
    /// The events export's verdict: `Ok` accepts the event, `Err(why)` asks
    /// for a retry.
    Event(Result<(), String>),
}

/// A compiled release, ready to instantiate.
pub struct LoadedComponent {
    /// SHA-256 of the component bytes, hex.
    pub digest: String,
    /// Whether the compiled artifact came from the disk cache.
    pub from_cache: bool,
    pre: Pre,
}

enum Pre {
    Handler(MiniappPre<RequestState>),
    HandlerV0_1(v0_1::MiniappPre<RequestState>),
    WasiHttp(ProxyPre<RequestState>),
}

impl LoadedComponent {
    /// The export requests go to.
    pub fn entry_point(&self) -> EntryPoint {
        match self.pre {
            Pre::Handler(_) => EntryPoint::Handler,
            Pre::HandlerV0_1(_) => EntryPoint::HandlerV0_1,
            Pre::WasiHttp(_) => EntryPoint::WasiHttp,
        }
    }
}

/// The engine, linker, cache and epoch ticker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<RequestState>,
    cache: ComponentCache,
    stop_ticker: Arc<AtomicBool>,
    lane: Arc<LongRunningLane>,
    budget: Arc<MemoryBudget>,
    pool_slots: u32,
}

impl Runtime {
    /// Builds the engine (pooling allocator where the OS allows), links the
    /// capabilities and WASI, and starts the epoch ticker.
    pub fn new(config: &RuntimeConfig, cache_dir: &Path) -> anyhow::Result<Self> {
        let engine = build_engine(config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::capabilities::add_to_linker(&mut linker)?;
        let cache = ComponentCache::new(cache_dir, &engine)?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        start_ticker(engine.clone(), stop_ticker.clone());
        Ok(Self {
            engine,
            linker,
            cache,
            stop_ticker,
            lane: Arc::default(),
            budget: Arc::new(MemoryBudget::new(config.memory_budget)),
            pool_slots: config.max_instances,
        })
    }

    /// Compiles (or loads from cache) a component and checks it against its
    /// manifest: every `cityhost:miniapp` import must be a declared
    /// permission, every other import a WASI interface the host links, and
    /// it must export one of the two entry points ([`EntryPoint`]).
    pub fn load(&self, manifest: &Manifest, bytes: &[u8]) -> Result<LoadedComponent, LoadError> {
        self.load_stored(manifest, &ComponentCache::digest(bytes), bytes)
    }

    /// [`Runtime::load`] for bytes whose `digest` (hex SHA-256) is known,
    /// such as a stored package, which is keyed by it: the bytes are not
    /// hashed again.
    pub fn load_stored(
        &self,
        manifest: &Manifest,
        digest: &str,
        bytes: &[u8],
    ) -> Result<LoadedComponent, LoadError> {
        let (component, from_cache) = self
            .cache
            .load(&self.engine, bytes, digest)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        self.prepare(manifest, component, digest, from_cache)
    }

    /// [`Runtime::load_stored`] without the bytes, when the component
    /// `digest` is compiled already (in memory or in the disk cache), so
    /// loading a stored release need not read its package; `Ok(None)`
    /// when it must be compiled from its bytes.
    pub fn load_compiled(
        &self,
        manifest: &Manifest,
        digest: &str,
    ) -> Result<Option<LoadedComponent>, LoadError> {
        match self.cache.compiled(&self.engine, digest) {
            Some(component) => self.prepare(manifest, component, digest, true).map(Some),
            None => Ok(None),
        }
    }

    /// Checks a compiled component against its manifest and links it.
    fn prepare(
        &self,
        manifest: &Manifest,
        component: Component,
        digest: &str,
        from_cache: bool,
    ) -> Result<LoadedComponent, LoadError> {
        check_imports(&self.engine, &component, manifest)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::UnknownImport(format!("{e:#}")))?;
        let pre = match MiniappPre::new(instance_pre.clone()) {
            Ok(pre) => Pre::Handler(pre),
            Err(handler) => match v0_1::MiniappPre::new(instance_pre.clone()) {
                Ok(pre) => Pre::HandlerV0_1(pre),
                Err(_) => match ProxyPre::new(instance_pre) {
                    Ok(pre) => Pre::WasiHttp(pre),
                    Err(_) => return Err(LoadError::NotAMiniapp(format!("{handler:#}"))),
                },
            },
        };
        Ok(LoadedComponent {
            digest: digest.to_string(),
            from_cache,
            pre,
        })
    }

    /// Runs one call (a request or a host event) on a fresh instance of
    /// `component`, within `timeout`. Returns the guest's answer and the
    /// final request state (for its stderr), or why the guest failed. An
    /// event for a component without the `events` export fails as a trap
    /// (the caller sends such a component requests instead).
    pub async fn invoke(
        &self,
        component: &LoadedComponent,
        state: RequestState,
        call: Call,
        timeout: Duration,
    ) -> (Result<Answer, GuestFailure>, RequestState) {
        let memory_mib = state.limits.memory_bytes >> 20;
        let mut state = state;
        state.limits.attach(self.budget.clone());
        let deadline = Instant::now() + timeout;
        state.outgoing.deadline = deadline;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(1);
        let mut slices = 0u32;
        let lane = self.lane.clone();
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                return Ok(UpdateDeadline::Interrupt);
            }
            slices += 1;
            // A plain `Yield` wakes the task from inside its own poll,
            // and tokio may run such a task again (its LIFO slot)
            // before the tasks already queued; `yield_now` defers it.
            // A long-running guest waits for its slice of the lane.
            if slices > LONG_RUNNING_SLICES {
                let Some(slot) = lane.reserve(deadline) else {
                    return Ok(UpdateDeadline::Interrupt);
                };
                if slot > Instant::now() {
                    return Ok(UpdateDeadline::YieldCustom(
                        1,
                        Box::pin(tokio::time::sleep_until(slot.into())),
                    ));
                }
            }
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
        let call = async {
            match (&component.pre, call) {
                (Pre::Handler(pre), Call::Request(request)) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let handler = instance.cityhost_miniapp_handler();
                    let response = handler.call_handle(&mut store, &request).await?;
                    Ok(Answer::Response(response))
                }
                (Pre::Handler(pre), Call::Event { id, event }) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let events = instance.cityhost_miniapp_events();
                    let verdict = events.call_on_event(&mut store, &id, &event).await?;
                    Ok(Answer::Event(verdict))
                }
                (Pre::HandlerV0_1(pre), Call::Request(request)) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let handler = instance.cityhost_miniapp_handler();
                    let request = v0_1::request(request);
                    let response = handler.call_handle(&mut store, &request).await?;
                    Ok(Answer::Response(v0_1::response(response)))
                }
                (Pre::WasiHttp(pre), Call::Request(request)) => {
                    wasi_http::call(pre, &mut store, request, deadline)
                        .await
                        .map(Answer::Response)
                }
                (Pre::HandlerV0_1(_) | Pre::WasiHttp(_), Call::Event { .. }) => Err(
                    wasmtime::format_err!("the component has no `cityhost:miniapp/events` export"),
                ),
            }
        };
        // Epoch interrupts stop a guest that runs; a guest parked in a host
        // call (a `wasi:clocks` sleep, a poll, a future outbound request)
        // does not run, so the whole call also ends at the deadline.
        // Dropping the call drops the guest's fiber; the store is dropped
        // below and its instance slot freed.
        let result = tokio::time::timeout_at(deadline.into(), call)
            .await
            .unwrap_or_else(|_elapsed| Err(Trap::Interrupt.into()));
        let result = result.map_err(|e| {
            if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                .is_some()
            {
                GuestFailure::Busy
            } else if store.data().limits.memory_exceeded {
                GuestFailure::MemoryExceeded(memory_mib)
            } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                GuestFailure::DeadlineExceeded(timeout)
            } else {
                GuestFailure::Trapped(format!("{e:#}"))
            }
        });
        (result, store.into_data())
    }
}

impl Runtime {
    /// The host-wide memory budget, with what live instances hold now.
    pub fn memory_budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// Instances that may exist at once (the pool's slots).
    pub fn pool_slots(&self) -> u32 {
        self.pool_slots
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

fn build_engine(config: &RuntimeConfig) -> anyhow::Result<Engine> {
    let mut wasm = Config::new();
    wasm.epoch_interruption(true);
    wasm.wasm_component_model(true);
    if config.pooling {
        let mut pool = PoolingAllocationConfig::default();
        // A Rust `wasm32-wasip2` component holds one memory but several core
        // instances and tables (its module plus the canonical-ABI shims).
        pool.total_component_instances(config.max_instances)
            .total_core_instances(config.max_instances * 8)
            .total_memories(config.max_instances)
            .total_tables(config.max_instances * 8)
            .max_memory_size(DEFAULT_MEMORY_BYTES)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            .pagemap_scan(Enabled::Auto);
        let mut pooled = wasm.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&pooled) {
            Ok(engine) => return Ok(engine),
            Err(e) => tracing::warn!(
                error = %e,
                "pooling allocator unavailable (address space reservation failed); using on-demand allocation"
            ),
        }
    }
    Ok(Engine::new(&wasm)?)
}

fn start_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("cityhost-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawn epoch ticker thread");
}

fn check_imports(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<(), LoadError> {
    for (name, item) in component.component_type().imports(engine) {
        if let Some(permission) = Permission::from_import(name) {
            if !manifest.permits(permission) && !types_only(engine, &item.ty) {
                return Err(LoadError::UndeclaredImport {
                    import: name.to_string(),
                    permission,
                });
            }
        } else if name.starts_with("cityhost:miniapp/types@")
            && matches!(item.ty, ComponentItem::ComponentInstance(_))
        {
            // Type definitions only.
        } else if !WASI_PACKAGES.iter().any(|p| name.starts_with(p)) {
            return Err(LoadError::UnknownImport(name.to_string()));
        }
    }
    Ok(())
}

/// Whether an imported instance holds types only (no functions): it grants
/// nothing. A 0.2.0 component imports the types of
/// `cityhost:miniapp/payment` this way for its `events` export, whatever
/// its permissions.
fn types_only(engine: &Engine, item: &ComponentItem) -> bool {
    match item {
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .all(|(_, export)| matches!(export.ty, ComponentItem::Type(_))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(permissions: &str) -> Manifest {
        Manifest::parse(&format!(
            "id = \"test-app\"\nname = \"t\"\nversion = \"1.0.0\"\ncategory = \"utilities\"\n\
             permissions = {permissions}\n[department]\nname = \"d\"\ndivision = \"3301\"\n"
        ))
        .unwrap()
    }

    fn runtime(dir: &Path) -> Runtime {
        Runtime::new(&RuntimeConfig::default(), dir).unwrap()
    }

    #[test]
    fn imports_must_be_declared_permissions_or_linked_wasi() {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let payment = br#"(component (import "cityhost:miniapp/payment@0.1.0"
            (instance (export "query-order" (func)))))"#;
        match rt.load(&manifest("[\"storage\"]"), payment) {
            Err(LoadError::UndeclaredImport { import, permission }) => {
                assert_eq!(import, "cityhost:miniapp/payment@0.1.0");
                assert_eq!(permission, Permission::Payment);
            }
            other => panic!("expected UndeclaredImport, got {:?}", other.err()),
        }
        // The same interface's types alone (what a 0.2.0 component's
        // `events` export imports) grant nothing: past the check, the
        // component is refused only for having no entry point.
        let types = br#"(component (import "cityhost:miniapp/payment@0.2.0"
            (instance (type (enum "created" "paid")) (export "order-state" (type (eq 0))))))"#;
        match rt.load(&manifest("[]"), types) {
            Err(LoadError::NotAMiniapp(_)) => {}
            other => panic!("expected NotAMiniapp, got {:?}", other.err()),
        }
        let nn = br#"(component (import "wasi:nn/graph@0.2.0" (instance)))"#;
        assert!(
            matches!(rt.load(&manifest("[]"), nn), Err(LoadError::UnknownImport(name)) if name.starts_with("wasi:nn"))
        );
        // wasi:http is linked (standard components), but a component still
        // needs an entry point.
        let http = br#"(component (import "wasi:http/outgoing-handler@0.2.0" (instance)))"#;
        assert!(matches!(
            rt.load(&manifest("[]"), http),
            Err(LoadError::NotAMiniapp(_))
        ));
        // Declared, but no `handler` export: not a mini-app.
        assert!(matches!(
            rt.load(&manifest("[\"payment\"]"), payment),
            Err(LoadError::UnknownImport(_) | LoadError::NotAMiniapp(_))
        ));
        assert!(matches!(
            rt.load(&manifest("[]"), b"not wasm"),
            Err(LoadError::Invalid(_))
        ));
    }

    #[test]
    fn compiled_components_are_cached_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let empty = b"(component)";
        let first = runtime(dir.path()).load(&manifest("[]"), empty);
        // An empty component has no handler export, but it was compiled.
        assert!(matches!(first, Err(LoadError::NotAMiniapp(_))));
        let cached: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(cached.len(), 1);
        let rt = runtime(dir.path());
        let (_, from_cache) = rt
            .cache
            .load(&rt.engine, empty, &ComponentCache::digest(empty))
            .unwrap();
        assert!(from_cache);
        // Loaded again by the same runtime: from memory, not from disk.
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        let (_, from_cache) = rt
            .cache
            .load(&rt.engine, empty, &ComponentCache::digest(empty))
            .unwrap();
        assert!(from_cache);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn memory_limit_refuses_growth_and_remembers_why() {
        let mut limits = crate::capabilities::limits::InstanceLimits::new(1 << 20);
        assert!(wasmtime::ResourceLimiter::memory_growing(&mut limits, 0, 1 << 20, None).unwrap());
        assert!(!limits.memory_exceeded);
        assert!(
            wasmtime::ResourceLimiter::memory_growing(&mut limits, 1 << 20, 2 << 20, None).is_err()
        );
        assert!(limits.memory_exceeded);
    }
}
