//! The host's shared state: the domain services over one store, the
//! runtime and the registry of loaded apps. One [`Platform`] serves every
//! HTTP request, event and CLI action.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cityhost_store::Db;
use cityhost_store_postgres::PgBackend;
use cityhost_store_sled::SledBackend;

use crate::admission::Admission;
use crate::error::ServiceResult;
use crate::http_authority::HttpAuthority;
use crate::identity::authority::IdentityAuthority;
use crate::identity::keys::HostKeys;
use crate::metrics::Metrics;
use crate::notifications::rate::RateCaps;
use crate::outbound::{Outbound, OutboundConfig};
use crate::public_origins::PublicOrigins;
use crate::publishing::operators::BOOTSTRAP_OPERATOR;
use crate::registry::Registry;
use crate::runtime::{Runtime, RuntimeConfig};
use crate::services::{DEFAULT_ISSUER, Services};
use crate::sms::{DevSms, SmsChannel};
use crate::sms_gateway::SmsGateway;

/// Where the host's text messages (one-time codes) go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SmsConfig {
    /// The development channel ([`DevSms`]): messages go to the log and the
    /// dev-only page `/dev/sms`, never to a phone. The default of
    /// [`HostConfig::new`] (tests, `cityhost demo`, `cityhost dev`).
    #[default]
    Dev,
    /// The operator's SMS gateway ([`SmsGateway`]).
    Gateway {
        /// `http://` URL the host POSTs each message to.
        url: String,
        /// Bearer token sent with each message.
        token: Option<String>,
    },
    /// No messages: the host registers no new accounts (`cityhost serve`
    /// without `--sms-gateway` or `--dev-sms`).
    Off,
}

/// The SMS channel the services send through (none: no messages), and the
/// development channel again when that is the one (for its page).
pub type SmsChannels = (Option<Arc<dyn SmsChannel>>, Option<Arc<DevSms>>);

/// Identity settings of a host.
#[derive(Debug, Clone, Default)]
pub struct IdentityConfig {
    /// The host's public base URL, the `iss` of its ID tokens (default
    /// `http://localhost`; `cityhost serve` uses `http://{bind}` unless
    /// `--public-url` is given).
    pub public_url: Option<String>,
    /// URL of a remote identity authority (`http://...`); `None`: the
    /// host's own population registry.
    pub authority_url: Option<String>,
    /// Bearer token sent to the remote authority.
    pub authority_token: Option<String>,
    /// Where one-time codes are sent.
    pub sms: SmsConfig,
    /// Code messages one client (address) may ask for per hour; `None`:
    /// [`crate::identity::phone_codes::MAX_SENDS_PER_CLIENT`].
    pub sms_per_client_hour: Option<usize>,
}

impl IdentityConfig {
    /// The `iss` of the host's ID tokens: the public URL, or
    /// [`DEFAULT_ISSUER`].
    pub fn issuer(&self) -> &str {
        self.public_url.as_deref().unwrap_or(DEFAULT_ISSUER)
    }

    /// The configured remote authority, or `None` for the host's own
    /// population registry. Errors: an unusable URL
    /// (`invalid-argument("identity-authority")`).
    pub fn authority(&self) -> ServiceResult<Option<Arc<dyn IdentityAuthority>>> {
        Ok(match &self.authority_url {
            Some(url) => Some(Arc::new(HttpAuthority::new(
                url,
                self.authority_token.clone(),
            )?)),
            None => None,
        })
    }

    /// The SMS channel to open the services with, and the development
    /// channel again when it is one (for the dev page). Errors: an
    /// unusable gateway URL (`invalid-argument("sms-gateway")`).
    pub fn sms_channel(&self) -> ServiceResult<SmsChannels> {
        Ok(match &self.sms {
            SmsConfig::Dev => {
                let dev = Arc::new(DevSms::default());
                (Some(dev.clone()), Some(dev))
            }
            SmsConfig::Gateway { url, token } => {
                (Some(Arc::new(SmsGateway::new(url, token.clone())?)), None)
            }
            SmsConfig::Off => (None, None),
        })
    }
}

/// Where the host keeps its state and finds its apps.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Data directory: `db/` (the database behind the state seam, see
    /// [`open_db`]), `keys/`, `cache/` (compiled components),
    /// `operator-token`.
    pub data_dir: PathBuf,
    /// Engine settings.
    pub runtime: RuntimeConfig,
    /// The operator's caps on apps' message rates.
    pub notify: RateCaps,
    /// Identity settings (issuer URL, identity authority).
    pub identity: IdentityConfig,
    /// Origins besides the public URL's whose browser requests may change
    /// state (`--public-origin`, e.g. a second public name of the host);
    /// see [`PublicOrigins`].
    pub public_origins: Vec<String>,
    /// Reverse proxies in front of the host whose `X-Forwarded-For` names
    /// the client (`--trusted-proxy`; see [`crate::http::client_addr`]).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The operator's settings for mini-apps' outbound calls (local-use
    /// origins, extra CA certificates).
    pub outbound: OutboundConfig,
    /// Where the records live (`--store`): the embedded database in
    /// `data_dir` by default.
    pub store: StoreConfig,
}

/// Where the host keeps its records (`--store`, `CITYHOST_STORE`). The data
/// directory holds the host's keys and compiled-component cache either way.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded sled database in `<data dir>/db`, for one host.
    #[default]
    Embedded,
    /// A PostgreSQL database that several hosts may share: its URL
    /// (`postgres://user:password@host:port/db`; see
    /// [`PgBackend::connect`]).
    Postgres(String),
}

impl StoreConfig {
    /// From the `--store` setting: absent or empty is [`Embedded`](Self::Embedded);
    /// a `postgres://` or `postgresql://` URL is [`Postgres`](Self::Postgres).
    /// Error: any other value (the message never repeats it, as it may
    /// hold a password).
    pub fn parse(setting: Option<&str>) -> anyhow::Result<StoreConfig> {
        match setting.map(str::trim) {
            None | Some("") => Ok(StoreConfig::Embedded),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(StoreConfig::Postgres(url.to_string()))
            }
            Some(_) => anyhow::bail!(
                "--store (CITYHOST_STORE) must be a postgres:// or postgresql:// URL, \
                 or absent for the embedded database in the data directory"
            ),
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    /// Never prints the URL (it may hold a password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Embedded => f.write_str("Embedded"),
            StoreConfig::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl HostConfig {
    /// Settings for a host with its state in `data_dir` and every other
    /// setting at its default (pooling engine, default message-rate caps,
    /// the host's own population registry, issuer `http://localhost`).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            runtime: RuntimeConfig::default(),
            notify: RateCaps::default(),
            identity: IdentityConfig::default(),
            public_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            outbound: OutboundConfig::default(),
            store: StoreConfig::Embedded,
        }
    }
}

/// Creates the data directory readable by the owner only: the store holds
/// personal data (names, identity numbers, phone numbers).
pub(crate) fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens (creating if needed) the state seam's database in
/// `<data_dir>/db`. Opening waits up to 2 s for a lock this process may
/// still hold (on a blocking thread). Errors: the directory is unusable or
/// another process (a running host) holds the database.
pub async fn open_db(data_dir: &Path) -> Result<Db, cityhost_store::StoreError> {
    let dir = data_dir.join("db");
    let backend = tokio::task::spawn_blocking(move || SledBackend::open(&dir))
        .await
        .map_err(|e| cityhost_store::StoreError::Backend(format!("opening the database: {e}")))??;
    Ok(Db::new(backend))
}

/// Opens the store `store` names: the embedded database in `data_dir`
/// ([`open_db`]) or the PostgreSQL database, whose schema is brought up to
/// date first. Errors: as [`open_db`], or the PostgreSQL server cannot be
/// reached, refuses the login or holds a newer schema.
pub async fn open_store(
    data_dir: &Path,
    store: &StoreConfig,
) -> Result<Db, cityhost_store::StoreError> {
    match store {
        StoreConfig::Embedded => open_db(data_dir).await,
        StoreConfig::Postgres(url) => Ok(Db::new(PgBackend::connect(url).await?)),
    }
}

/// Refuses a data directory written before the state seam (its records in
/// `store/`, which this host no longer reads): starting on it would show an
/// empty platform over the old data. Error: names the directory and what to
/// do.
fn refuse_old_layout(data_dir: &Path) -> anyhow::Result<()> {
    let old = data_dir.join("store");
    if old.is_dir() && !data_dir.join("db").is_dir() {
        anyhow::bail!(
            "{} holds state in the old layout (`store/`), which this CityHost no \
             longer reads; start with a fresh data directory (--data), or move \
             `store/` away to start this one empty",
            data_dir.display()
        );
    }
    Ok(())
}

/// Refuses a data directory whose ledger keys departments' merchant
/// accounts by name (written before departments were keyed by their
/// Unified Social Credit Code): its balances, orders and statements would
/// not meet the new accounts. Error: names the directory, the accounts and
/// what to do.
async fn refuse_name_keyed_merchants(services: &Services, data_dir: &Path) -> anyhow::Result<()> {
    let old = services.payments.ledger.merchants_keyed_by_name().await?;
    if !old.is_empty() {
        anyhow::bail!(
            "{} holds merchant accounts keyed by department name ({}); this CityHost keys \
             departments by their Unified Social Credit Code (`[department] uscc`), so \
             payments made before would not reach their department's statements; start \
             with a fresh data directory (--data), or move this one away",
            data_dir.display(),
            old.join(", ")
        );
    }
    Ok(())
}

/// Everything a request needs.
pub struct Platform {
    /// Domain services.
    pub services: Arc<Services>,
    /// The WebAssembly runtime.
    pub runtime: Runtime,
    /// The limits in front of the runtime's instance pool.
    pub admission: Admission,
    /// The figures `GET /metrics` shows ([`crate::metrics`]).
    pub metrics: Arc<Metrics>,
    /// Loaded apps.
    pub registry: Registry,
    /// Bearer token of the bootstrap operator, from `data_dir/operator-token`.
    pub operator_token: String,
    /// The origins the host's pages are served from: the public URL's and
    /// those configured (docs/security.md).
    pub public_origins: PublicOrigins,
    /// Reverse proxies whose `X-Forwarded-For` the host believes.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Mini-apps' outbound calls to their departments' systems.
    pub outbound: Arc<Outbound>,
    /// Where problems in the views apps answer are reported
    /// ([`crate::views`]).
    pub views: crate::views::ViewReports,
    /// The development SMS channel, when the host sends its messages there
    /// (its page: `/dev/sms`).
    pub dev_sms: Option<Arc<DevSms>>,
    /// Held while a bundled app is uploaded and released, so apps loaded
    /// together create their department once ([`Platform::load_apps`]).
    pub(crate) bundling: tokio::sync::Mutex<()>,
}

/// Apps loaded at once at start ([`Platform::restore_releases`],
/// [`Platform::load_apps`]): each waits mostly on the store, so a few
/// together keep a shared database busy without crowding the pool.
pub(crate) const LOADS_AT_ONCE: usize = 8;

impl Platform {
    /// Opens the data directory (creating what is missing), loads the
    /// shipped divisions at first start, starts the runtime, creates the
    /// bootstrap operator at first start (token in
    /// `data_dir/operator-token`) and restores every app's published
    /// releases into the [`Registry`].
    pub async fn open(config: &HostConfig) -> anyhow::Result<Arc<Self>> {
        let public_origins = PublicOrigins::new(config.identity.issuer(), &config.public_origins)
            .map_err(anyhow::Error::msg)?;
        create_private_dir(&config.data_dir)?;
        let keys = HostKeys::load_or_create(&config.data_dir)?;
        refuse_old_layout(&config.data_dir)?;
        let db = open_store(&config.data_dir, &config.store).await?;
        keys.check_store(&db).await?;
        let (sms, dev_sms) = config.identity.sms_channel()?;
        let mut services = Services::open_with(
            db,
            &keys,
            config.identity.issuer(),
            config.identity.authority()?,
            sms,
        )?;
        services.notifications.set_caps(config.notify);
        if let Some(per_hour) = config.identity.sms_per_client_hour {
            services.phone_codes.set_client_limit(per_hour);
        }
        services.directory.load_shipped().await?;
        refuse_name_keyed_merchants(&services, &config.data_dir).await?;
        let moved = services.accounts.index_clear_phone_keys().await?;
        if moved > 0 {
            tracing::info!(
                accounts = moved,
                "phone numbers re-keyed by their blind index"
            );
        }
        let indexed = services.publishing.departments.index_apps().await?;
        if indexed > 0 {
            tracing::info!(apps = indexed, "apps indexed by their department");
        }
        let services = Arc::new(services);
        let metrics = Arc::new(Metrics::new());
        let counting = Arc::clone(&metrics);
        services
            .audit
            .tap(Box::new(move |record| counting.record(record)));
        let runtime = Runtime::new(&config.runtime, &config.data_dir.join("cache"))?;
        let operator_token = crate::identity::keys::operator_token(&config.data_dir)?;
        let operators = &services.publishing.operators;
        if operators.is_empty().await? {
            operators
                .add_with_token(BOOTSTRAP_OPERATOR, &operator_token)
                .await?;
            tracing::info!(
                token_file = %config.data_dir.join("operator-token").display(),
                "created the bootstrap operator"
            );
        }
        let platform = Arc::new(Self {
            services,
            runtime,
            admission: Admission::new(
                config.runtime.admission.clone(),
                config.runtime.max_instances as usize,
            ),
            metrics,
            registry: Registry::default(),
            operator_token,
            public_origins,
            trusted_proxies: config.trusted_proxies.clone(),
            outbound: Arc::new(Outbound::new(&config.outbound)?),
            views: Default::default(),
            dev_sms,
            bundling: Default::default(),
        });
        platform.load_operator_settings().await?;
        platform.restore_releases().await;
        Ok(platform)
    }

    /// Applies the operator's settings from the store: the caps (outbound
    /// domains) and each app's concurrency cap. At start, and when another
    /// host changed them ([`OPERATOR_SETTINGS_CHANGED`]).
    pub async fn load_operator_settings(&self) -> ServiceResult<()> {
        let publishing = &self.services.publishing;
        let caps = publishing.caps().await?;
        self.outbound.set_domains(caps.http_domains);
        let concurrency = publishing.concurrency.all().await?;
        self.admission.set_app_caps(
            concurrency
                .into_iter()
                .map(|(app, cap)| (app, cap as usize))
                .collect(),
        );
        Ok(())
    }

    /// Tells the other hosts sharing the store that the operator's settings
    /// changed (after they were stored); a failure is logged.
    pub async fn operator_settings_changed(&self) {
        if let Err(e) = self.services.db.signal(OPERATOR_SETTINGS_CHANGED, "").await {
            tracing::error!(error = %e, "the other hosts were not told of new operator settings");
        }
    }
}

/// The store signal sent to the other hosts when the operator's caps or an
/// app's concurrency cap changed (no payload): they reload them
/// ([`Platform::load_operator_settings`]).
pub const OPERATOR_SETTINGS_CHANGED: &str = "operator.settings";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_data_directory_in_the_old_layout_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("store")).unwrap();
        let e = match Platform::open(&HostConfig::new(dir.path())).await {
            Ok(_) => panic!("a data directory in the old layout was opened"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("old layout") && e.contains("fresh data directory"),
            "{e}"
        );
        // Nothing was created next to the old records.
        assert!(!dir.path().join("db").exists());
    }
}
