//! The domain services, opened together over one database: what every
//! layer above (capabilities, HTTP, CLI) is given.

use std::sync::Arc;

use cityhost_store::Db;

use crate::app_config::AppConfig;
use crate::app_signing::AppSigning;
use crate::app_storage::AppStorage;
use crate::audit::AuditLog;
use crate::directory::Directory;
use crate::error::{ServiceError, ServiceResult};
use crate::events::Outbox;
use crate::identity::accounts::Accounts;
use crate::identity::appeals::Appeals;
use crate::identity::authority::{IdentityAuthority, PopulationRegistry};
use crate::identity::consent::Consents;
use crate::identity::id_tokens::IdTokens;
use crate::identity::keys::HostKeys;
use crate::identity::openid::OpenIds;
use crate::identity::phone_codes::PhoneCodes;
use crate::identity::sealed::Vault;
use crate::identity::sessions::Sessions;
use crate::identity::verification::RealName;
use crate::notifications::Notifications;
use crate::payments::{PaymentPins, Payments};
use crate::publishing::Publishing;
use crate::sms::SmsChannel;

/// The issuer (`iss`) of ID tokens when the host is given no public URL.
pub const DEFAULT_ISSUER: &str = "http://localhost";

/// The domain services. None of them knows WebAssembly or HTTP.
pub struct Services {
    /// The database behind the state seam (`data/db`).
    pub db: Db,
    /// Citizen accounts.
    pub accounts: Accounts,
    /// One-time codes that prove a phone number, sent by SMS.
    pub phone_codes: PhoneCodes,
    /// Citizen sessions.
    pub sessions: Sessions,
    /// Per-app openids.
    pub openids: OpenIds,
    /// Consent grants.
    pub consents: Consents,
    /// Orders, ledger and refunds.
    pub payments: Payments,
    /// Payment PINs.
    pub pins: PaymentPins,
    /// Events waiting to be delivered to apps.
    pub events: Outbox,
    /// Templates, subscriptions, inboxes, live push.
    pub notifications: Notifications,
    /// Apps' private storage.
    pub storage: AppStorage,
    /// The audit log.
    pub audit: AuditLog,
    /// Administrative divisions.
    pub directory: Directory,
    /// Departments, operators, packages, versions and releases.
    pub publishing: Publishing,
    /// The host's own population registry (an identity authority).
    pub population: PopulationRegistry,
    /// Real-name verification against the configured identity authority.
    pub real_name: RealName,
    /// Appeals that move a verified identity to the person it belongs to.
    pub appeals: Appeals,
    /// ID tokens and their JWK Set.
    pub id_tokens: IdTokens,
    /// Apps' signing keys, signatures and JWK Sets.
    pub signing: AppSigning,
    /// Apps' variables and secrets.
    pub config: AppConfig,
}

impl Services {
    /// Opens every service over `db` with the host's keys, the host's own
    /// population registry as identity authority, issuer
    /// [`DEFAULT_ISSUER`] and no SMS channel.
    pub fn open(db: Db, keys: &HostKeys) -> ServiceResult<Self> {
        Self::open_with(db, keys, DEFAULT_ISSUER, None, None)
    }

    /// Opens every service over `db` with the host's keys, `issuer` as the
    /// `iss` of ID tokens, `authority` for real-name verification (`None`:
    /// the host's own population registry) and `sms` for one-time codes
    /// (`None`: no messages, so no registration). Errors: unreadable
    /// ID-token keys (`unavailable`), a database failure.
    pub fn open_with(
        db: Db,
        keys: &HostKeys,
        issuer: &str,
        authority: Option<Arc<dyn IdentityAuthority>>,
        sms: Option<Arc<dyn SmsChannel>>,
    ) -> ServiceResult<Self> {
        let vault = Vault::new(&keys.id_number, &keys.id_index);
        let accounts = Accounts::new(db.clone(), vault.clone());
        let phone_codes = PhoneCodes::new(db.clone(), vault.clone(), sms);
        let directory = Directory::new(db.clone());
        let signing = AppSigning::new(db.clone(), vault.clone());
        let config = AppConfig::new(db.clone(), vault.clone());
        let population = PopulationRegistry::new(db.clone(), vault.clone());
        let authority = authority.unwrap_or_else(|| Arc::new(population.clone()));
        let data_dir = keys.dir.parent().unwrap_or(&keys.dir);
        let id_tokens = IdTokens::open(data_dir, issuer)
            .map_err(|e| ServiceError::Unavailable(format!("ID-token keys: {e}")))?;
        let events = Outbox::new(db.clone());
        let real_name = RealName::new(db.clone(), accounts.clone(), directory.clone(), authority);
        Ok(Self {
            appeals: Appeals::new(db.clone(), accounts.clone(), real_name.clone(), vault),
            real_name,
            population,
            id_tokens,
            accounts,
            phone_codes,
            sessions: Sessions::new(db.clone(), &keys.session),
            openids: OpenIds::new(db.clone(), keys.openid),
            consents: Consents::new(db.clone()),
            payments: Payments::new(db.clone(), events.clone()),
            pins: PaymentPins::new(db.clone()),
            events,
            notifications: Notifications::new(db.clone()),
            storage: AppStorage::new(db.clone()),
            audit: AuditLog::open(db.clone())?,
            publishing: Publishing::new(db.clone(), &keys.session),
            directory,
            signing,
            config,
            db,
        })
    }
}
