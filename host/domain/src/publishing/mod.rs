//! Publishing: how a department's mini-app reaches citizens.
//!
//! - [`departments`]: department accounts (name, Unified Social Credit Code
//!   checked per [`uscc`], division, contact, owned app ids, Ed25519 keys);
//! - [`tokens`]: department API tokens (JWT, `sub` = department, scopes,
//!   expiring, revocable);
//! - [`operators`]: the operator role and the log of every operator action;
//! - [`package`]: the signed package (component + manifest);
//! - [`versions`]: versions, their review states and each app's release
//!   plan (stable, gray percentage, trial testers);
//! - [`rules`]: the review decision, trial testers' bound and the
//!   operator's caps on limits;
//! - [`steps`]: each step's rules and its one transaction (upload record,
//!   submit, review, the release-plan changes of release, rollback and
//!   trial);
//! - [`tables`]: the tables all of these keep their records in.
//!
//! The steps that load components and swap the registry's release sets
//! (upload checks, review, release, rollback, bundled apps) are the host's
//! (`cityhost::releases`). The guide for department developers is `docs/publishing.md`.

pub mod concurrency;
pub mod departments;
pub mod operators;
pub mod package;
pub mod reach;
pub mod review_queue;
pub mod rules;
pub mod steps;
pub(crate) mod tables;
pub mod tokens;
/// The Unified Social Credit Code (GB 32100-2015), the department's key;
/// its rules live in `crate::uscc`, below both publishing and the manifest.
pub use crate::uscc;
pub mod versions;

use cityhost_store::{Db, StoreError, Tx};
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::manifest::{ManifestError, Permission};
use crate::meta::META;

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a valid component for this engine.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// The component imports a capability its manifest does not declare.
    #[error(
        "the component imports `{import}`, but the manifest does not declare the `{permission}` permission"
    )]
    UndeclaredImport {
        /// The import's full name, e.g. `cityhost:miniapp/payment@0.1.0`.
        import: String,
        /// The permission that would allow it.
        permission: Permission,
    },
    /// The component imports something the host does not provide.
    #[error("the component imports `{0}`, which the host does not provide")]
    UnknownImport(String),
    /// The component exports neither `cityhost:miniapp/handler` nor
    /// `wasi:http/incoming-handler`.
    #[error(
        "the component is not a mini-app: it exports neither `cityhost:miniapp/handler` nor `wasi:http/incoming-handler` ({0})"
    )]
    NotAMiniapp(String),
}

/// The publishing records.
pub struct Publishing {
    /// Department accounts.
    pub departments: departments::Departments,
    /// Department API tokens.
    pub tokens: tokens::DepartmentTokens,
    /// Operators and their action log.
    pub operators: operators::Operators,
    /// Versions, packages and release plans.
    pub versions: versions::Versions,
    /// Operators' per-app concurrency caps.
    pub concurrency: concurrency::AppConcurrency,
    db: Db,
    /// The key the host signs bundled mini-apps with (`cityhost::releases::bundled`).
    pub bundled_key: ed25519_dalek::SigningKey,
    /// Serialises the steps that change release plans (release, rollback,
    /// trial, restore), each a store transaction followed by the swap of
    /// the registry's release set, so that the registry ends with the plan
    /// the store ends with.
    pub changes: tokio::sync::Mutex<()>,
}

/// Key of the operator caps in the `meta` table.
const CAPS_KEY: &str = "publishing_caps";

/// The largest limits a manifest may ask for, and the domains its `[http]`
/// origins must be in, set by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorCaps {
    /// Linear memory per instance, MiB (default 64: the runtime's largest).
    pub memory_mib: u64,
    /// Deadline per request, ms (default 1000: the runtime's longest).
    pub timeout_ms: u64,
    /// Storage quota, bytes (default 10 MiB).
    pub storage_bytes: u64,
    /// Largest order, fen (default 1,000,000 = ¥10,000).
    pub max_order_fen: u64,
    /// Domains an app's `[http] allow` origins must be in: the origin's
    /// host is one of them or under one (`hzwater.example` admits
    /// `billing.hzwater.example`); an IPv4 address only if listed itself,
    /// an IPv6 origin never.
    /// Lower-case ASCII (IDNA applied), at most [`MAX_HTTP_DOMAINS`].
    /// Empty (the default): any origin. Checked at upload, at approval and
    /// on every outbound call, so narrowing it also stops live releases.
    #[serde(default)]
    pub http_domains: Vec<String>,
}

/// Most domains in [`OperatorCaps::http_domains`].
pub const MAX_HTTP_DOMAINS: usize = 64;

impl OperatorCaps {
    /// Whether `origin` is within [`OperatorCaps::http_domains`].
    pub fn allows_origin(&self, origin: &crate::manifest::http::Origin) -> bool {
        domains_allow(&self.http_domains, origin)
    }
}

/// Whether `origin`'s host is one of `domains` or under one; any origin
/// when `domains` is empty.
pub fn domains_allow(domains: &[String], origin: &crate::manifest::http::Origin) -> bool {
    let host = origin.bare_host();
    domains.is_empty()
        || domains.iter().any(|d| {
            host == d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.') && !origin.host.starts_with('['))
        })
}

impl Default for OperatorCaps {
    fn default() -> Self {
        Self {
            memory_mib: (crate::manifest::DEFAULT_MEMORY_BYTES >> 20) as u64,
            timeout_ms: crate::manifest::DEFAULT_TIMEOUT.as_millis() as u64,
            storage_bytes: crate::app_storage::DEFAULT_QUOTA_BYTES,
            max_order_fen: 1_000_000,
            http_domains: Vec::new(),
        }
    }
}

impl Publishing {
    /// The publishing records in `db`; `session_key` derives the token key
    /// and the bundled apps' signing key.
    pub fn new(db: Db, session_key: &[u8; 32]) -> Self {
        Self {
            departments: departments::Departments::new(db.clone()),
            tokens: tokens::DepartmentTokens::new(db.clone(), session_key),
            operators: operators::Operators::new(db.clone()),
            versions: versions::Versions::new(db.clone()),
            concurrency: concurrency::AppConcurrency::new(
                db.clone(),
                operators::Operators::new(db.clone()),
            ),
            db,
            bundled_key: package::bundled_signing_key(session_key),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// The operator caps in force.
    pub async fn caps(&self) -> ServiceResult<OperatorCaps> {
        decode_caps(self.db.get(&META, CAPS_KEY).await?)
    }

    /// The operator caps as the transaction `tx` sees them.
    pub(crate) async fn caps_in(tx: &Tx) -> ServiceResult<OperatorCaps> {
        decode_caps(tx.get(&META, CAPS_KEY).await?)
    }

    /// Sets the operator caps; none may exceed the runtime's own limits
    /// (64 MiB, 1000 ms) or be zero; each domain is a DNS name or IP
    /// address (`http_domains`, the reason naming the entry). Returns the caps as stored
    /// (domains normalised like origins, without duplicates).
    pub async fn set_caps(&self, mut caps: OperatorCaps) -> ServiceResult<OperatorCaps> {
        let most = OperatorCaps::default();
        if caps.memory_mib == 0 || caps.memory_mib > most.memory_mib {
            return Err(ServiceError::invalid(
                "memory_mib",
                format!("use 1-{}", most.memory_mib),
            ));
        }
        if caps.timeout_ms == 0 || caps.timeout_ms > most.timeout_ms {
            return Err(ServiceError::invalid(
                "timeout_ms",
                format!("use 1-{}", most.timeout_ms),
            ));
        }
        if caps.storage_bytes == 0 || caps.max_order_fen == 0 {
            return Err(ServiceError::invalid(
                "storage_bytes",
                "caps must be above zero",
            ));
        }
        if caps.http_domains.len() > MAX_HTTP_DOMAINS {
            return Err(ServiceError::invalid(
                "http_domains",
                format!("list at most {MAX_HTTP_DOMAINS} domains"),
            ));
        }
        let mut domains: Vec<String> = Vec::with_capacity(caps.http_domains.len());
        for (i, domain) in caps.http_domains.iter().enumerate() {
            let bad = || {
                ServiceError::invalid(
                    "http_domains",
                    format!("entry {i}, `{domain}`, is not a domain such as hzwater.example"),
                )
            };
            if domain.is_empty() || domain.contains([':', '/', '*', '@', '?', '#']) {
                return Err(bad());
            }
            let origin = crate::manifest::http::Origin::parse(&format!("https://{domain}"))
                .map_err(|_| bad())?;
            let normalised = origin.bare_host().to_string();
            if !domains.contains(&normalised) {
                domains.push(normalised);
            }
        }
        caps.http_domains = domains;
        let value = serde_json::to_value(&caps).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.db.put(&META, CAPS_KEY, &value).await?;
        Ok(caps)
    }
}

/// The stored caps, or the defaults when none are stored.
fn decode_caps(value: Option<serde_json::Value>) -> ServiceResult<OperatorCaps> {
    match value {
        Some(value) => Ok(
            serde_json::from_value(value).map_err(|e| StoreError::Undecodable {
                table: META.name(),
                reason: format!("{CAPS_KEY}: {e}"),
            })?,
        ),
        None => Ok(OperatorCaps::default()),
    }
}

/// Why a package was refused at upload. Each maps to a 4xx naming the
/// problem (`http::publishing`).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Sizes or encodings of the upload.
    #[error(transparent)]
    Decode(#[from] package::DecodeError),
    /// The manifest does not parse or validate.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The app id belongs to another department (or to none).
    #[error("app id `{0}` is not registered to your department; an operator assigns app ids")]
    WrongDepartment(String),
    /// The manifest's `[department] uscc` is not the uploading department's
    /// code: a department publishes only as itself.
    #[error(
        "manifest field `department.uscc`: `{found}` is not your department's code; a department publishes only under its own Unified Social Credit Code (`{expected}`)"
    )]
    OtherDepartment {
        /// The code the manifest names.
        found: String,
        /// The uploading department's code.
        expected: String,
    },
    /// The manifest's `[department]` name or division differs from the
    /// department account (display data the operator registered; see
    /// `PUT /api/operator/departments/{uscc}/name` for a rename).
    #[error("manifest field `{field}`: must be `{expected}`, as registered for your department")]
    DepartmentMismatch {
        /// `department.name` or `department.division`.
        field: &'static str,
        /// The registered value.
        expected: String,
    },
    /// No registered key of the department verifies the signature.
    #[error(
        "the signature does not verify with any key registered for your department (it must cover the component, the manifest, the app id and the version)"
    )]
    BadSignature,
    /// The version does not take precedence over every earlier version of
    /// the app; build metadata (`+...`) does not count (SemVer 2.0.0 §10).
    #[error(
        "version {version} is not greater than {latest}, the app's latest version (build metadata after `+` does not make a version newer)"
    )]
    VersionNotIncreasing {
        /// The uploaded version.
        version: String,
        /// The highest earlier version.
        latest: String,
    },
    /// The bytes are not an acceptable `cityhost:miniapp` component.
    #[error(transparent)]
    Component(#[from] LoadError),
    /// An `[http] allow` origin outside the operator's domains
    /// ([`OperatorCaps::http_domains`]).
    #[error(
        "manifest field `http.allow[{index}]`: `{origin}` is outside the domains the operator allows apps to call ({domains})"
    )]
    OriginOverCap {
        /// The entry's index in `[http] allow`.
        index: usize,
        /// The origin, normalised.
        origin: String,
        /// The allowed domains, comma-separated.
        domains: String,
    },
    /// A limit exceeds the operator's cap.
    #[error("manifest field `{field}`: {value} exceeds the operator's cap of {cap}")]
    OverCap {
        /// The limit, e.g. `limits.memory-mib`.
        field: &'static str,
        /// The asked value.
        value: u64,
        /// The cap.
        cap: u64,
    },
    /// A domain failure (store, state conflict).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::Service(e.into())
    }
}
