//! The host's shared state: the domain services over one store, the
//! runtime and the registry of loaded apps. One [`Platform`] serves every
//! HTTP request, event and CLI action.

use std::path::PathBuf;
use std::sync::Arc;

use crate::app_storage::AppStorage;
use crate::audit::AuditLog;
use crate::directory::Directory;
use crate::error::ServiceResult;
use crate::identity::accounts::Accounts;
use crate::identity::consent::Consents;
use crate::identity::keys::HostKeys;
use crate::identity::openid::OpenIds;
use crate::identity::sessions::Sessions;
use crate::notifications::Inbox;
use crate::payments::Payments;
use crate::publishing::Publishing;
use crate::publishing::operators::BOOTSTRAP_OPERATOR;
use crate::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::store::Store;

/// The domain services. None of them knows WebAssembly or HTTP.
pub struct Services {
    /// The store they share.
    pub store: Store,
    /// Citizen accounts.
    pub accounts: Accounts,
    /// Citizen sessions.
    pub sessions: Sessions,
    /// Per-app openids.
    pub openids: OpenIds,
    /// Consent grants.
    pub consents: Consents,
    /// Orders.
    pub payments: Payments,
    /// Inboxes.
    pub inbox: Inbox,
    /// Apps' private storage.
    pub storage: AppStorage,
    /// The audit log.
    pub audit: AuditLog,
    /// Administrative divisions.
    pub directory: Directory,
    /// Departments, operators, packages, versions and releases.
    pub publishing: Publishing,
}

impl Services {
    /// Opens every service over `store` with the host's keys.
    pub fn open(store: Store, keys: &HostKeys) -> ServiceResult<Self> {
        Ok(Self {
            accounts: Accounts::open(&store)?,
            sessions: Sessions::open(&store, &keys.session)?,
            openids: OpenIds::open(&store, keys.openid)?,
            consents: Consents::open(&store)?,
            payments: Payments::open(&store)?,
            inbox: Inbox::open(&store)?,
            storage: AppStorage::open(&store)?,
            audit: AuditLog::open(&store)?,
            directory: Directory::open(&store)?,
            publishing: Publishing::open(&store, &keys.session)?,
            store,
        })
    }
}

/// Where the host keeps its state and finds its apps.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Data directory: `store/` (sled), `keys/`, `cache/` (compiled
    /// components), `operator-token`.
    pub data_dir: PathBuf,
    /// Engine settings.
    pub runtime: RuntimeConfig,
}

/// Creates the data directory readable by the owner only: the store holds
/// personal data (names, identity numbers, phone numbers).
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Everything a request needs.
pub struct Platform {
    /// Domain services.
    pub services: Arc<Services>,
    /// The WebAssembly runtime.
    pub runtime: Runtime,
    /// Loaded apps.
    pub registry: Registry,
    /// Bearer token of the bootstrap operator, from `data_dir/operator-token`.
    pub operator_token: String,
}

impl Platform {
    /// Opens the data directory (creating what is missing), starts the
    /// runtime, creates the bootstrap operator at first start (token in
    /// `data_dir/operator-token`) and restores every app's published
    /// releases into the [`Registry`].
    pub fn open(config: &HostConfig) -> anyhow::Result<Arc<Self>> {
        create_private_dir(&config.data_dir)?;
        let keys = HostKeys::load_or_create(&config.data_dir)?;
        let store = Store::open(&config.data_dir.join("store"))?;
        let services = Arc::new(Services::open(store, &keys)?);
        let runtime = Runtime::new(&config.runtime, &config.data_dir.join("cache"))?;
        let operator_token = crate::identity::keys::operator_token(&config.data_dir)?;
        let operators = &services.publishing.operators;
        if operators.is_empty() {
            operators.add_with_token(BOOTSTRAP_OPERATOR, &operator_token)?;
            tracing::info!(
                token_file = %config.data_dir.join("operator-token").display(),
                "created the bootstrap operator"
            );
        }
        let platform = Arc::new(Self {
            services,
            runtime,
            registry: Registry::default(),
            operator_token,
        });
        platform.restore_releases();
        Ok(platform)
    }
}
