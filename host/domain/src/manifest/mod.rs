//! The mini-app manifest, `cityhost.toml` beside each mini-app crate.
//!
//! ```toml
//! id = "utility-bills"
//! name = "水电煤缴费"
//! version = "0.1.0"
//! category = "utilities"
//! description = "查询并缴纳水费、电费、燃气费"
//! permissions = ["identity", "payment", "notify", "storage", "log"]
//! [department]
//! uscc = "91330100143044481D"
//! name = "杭州市水务集团有限公司"
//! division = "3301"
//! ```
//!
//! The department is keyed by `[department] uscc`, its Unified Social
//! Credit Code (GB 32100-2015, checked by [`crate::uscc::Uscc`]): unionids,
//! merchant accounts, settlement statements and publishing all use it, so
//! `name` and `division` are display data that may change without changing
//! any of them.
//!
//! Parsing checks the shape (unknown keys are refused, so a typo is an error
//! rather than a silently ignored setting); [`Manifest::validate`] checks the
//! values and names the offending field. The full reference is
//! `docs/manifest.md`.

pub mod http;
pub mod notify;
pub mod schedule;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Default (and largest) wall-clock deadline of one request; a manifest's
/// `limits.timeout-ms` may only lower it.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// Default (and largest) linear memory of one instance: 64 MiB; a
/// manifest's `limits.memory-mib` may only lower it.
pub const DEFAULT_MEMORY_BYTES: usize = 64 << 20;

/// A manifest that could not be used; each variant names the field.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    Io {
        /// The manifest's path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or mistyped keys.
    #[error("manifest is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A field has a value outside its rules.
    #[error("manifest field `{field}`: {reason}")]
    Invalid {
        /// The field, as written in the manifest (e.g. `department.division`,
        /// `http.allow[1]`).
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The `[notify]` section (templates, rate limits) is not valid; names
    /// the field, e.g. `notify.templates[receipt].params.amount`.
    #[error(transparent)]
    Notify(#[from] crate::manifest::notify::TemplateError),
}

/// Defines [`Permission`] from the capability list.
macro_rules! define_permission {
    ($( $(#[$doc:meta])* $variant:ident $module:ident $name:literal, )*) => {
        /// A capability a mini-app may import: one WIT interface of
        /// `cityhost:miniapp@0.1.0` each, generated from the one list in
        /// `crate::for_each_capability`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Permission {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Permission {
            /// Every permission, in WIT order.
            pub const ALL: &[Permission] = &[$(Permission::$variant),*];

            /// The permission's name as written in manifests and WIT
            /// (`payment`).
            pub fn name(self) -> &'static str {
                match self {
                    $( Permission::$variant => $name, )*
                }
            }
        }
    };
}

crate::for_each_capability!(define_permission);

impl Permission {
    /// The permission a component import name (e.g.
    /// `cityhost:miniapp/payment@0.1.0`) stands for.
    pub fn from_import(import: &str) -> Option<Permission> {
        let rest = import.strip_prefix("cityhost:miniapp/")?;
        let name = rest.split('@').next()?;
        Permission::ALL.iter().copied().find(|p| p.name() == name)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Service categories of the citizen's service grid.
pub const CATEGORIES: [&str; 8] = [
    "utilities",
    "housing",
    "social-security",
    "health",
    "transport",
    "education",
    "public-data",
    "government-affairs",
];

/// The department that publishes the app, `[department]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// The department's key: its Unified Social Credit Code, 18 characters
    /// with both check characters valid (GB 32100-2015, GB 11714), e.g.
    /// `91330100143044481D`. Checked at parse when present; required to
    /// publish ([`Manifest::department_key`]). After [`Manifest::parse`] it
    /// also holds a manifest's older `[dev.publisher] uscc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// Official name, e.g. `杭州市公安局交通警察支队`.
    pub name: String,
    /// GB/T 2260 code of the division the department serves (any of the five
    /// Zhejiang levels), checked against the directory at load.
    pub division: String,
}

/// Per-app limits, each within the host's caps (see `docs/manifest.md`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Limits {
    /// Linear memory per instance, MiB (default and cap 64).
    pub memory_mib: Option<u64>,
    /// Wall-clock deadline per request, ms (default and cap 1000).
    pub timeout_ms: Option<u64>,
    /// Largest order this app may create, fen (default 1,000,000 = ¥10,000).
    pub max_order_fen: Option<u64>,
    /// Storage quota, bytes (default and cap 10 MiB).
    pub storage_bytes: Option<u64>,
}

/// A request the demo host makes as a demo citizen after seeding.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevRequest {
    /// Phone number of the demo citizen to act as.
    pub citizen: String,
    /// `GET` or `POST`.
    pub method: String,
    /// App path, starting with `/`.
    pub path: String,
    /// Form fields, sent form-encoded.
    #[serde(default)]
    pub form: BTreeMap<String, String>,
}

/// Settings used only by the demo host (`cityhost demo`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dev {
    /// JSON file (relative to the manifest) of key → JSON value loaded into
    /// the app's storage when it is empty.
    pub storage_seed: Option<String>,
    /// Requests made as demo citizens after seeding, in order.
    #[serde(default)]
    pub requests: Vec<DevRequest>,
    /// Template subscriptions accepted for demo citizens.
    #[serde(default)]
    pub subscriptions: Vec<DevSubscription>,
    /// The department account the demo host creates to publish the app.
    pub publisher: Option<DevPublisher>,
    /// The department's own system the app calls, started beside a demo or
    /// test host (`[dev.backend]`).
    pub backend: Option<DevBackend>,
}

/// `[dev.backend]`: the department's own system (its billing service, its
/// appointment system...) as a cargo package of this workspace, which
/// `cityhost demo` and the host's tests build, start on a loopback port and
/// allow `origin` to reach, as an operator would with `cityhost serve
/// --http-local-origin ORIGIN=IP:PORT`. Publishing ignores it, as all of
/// `[dev]`.
///
/// The package's binary has the package's name and follows one contract:
/// it takes `--bind IP:PORT` (port 0: any free one) and `--data DIR` (its
/// own data, created on first start), prints `listening on
/// http://IP:PORT` as its first line on standard output, and with
/// `--exit-with-stdin` stops when its standard input closes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DevBackend {
    /// The cargo package (and binary) name, e.g. `hzwater-billing`.
    pub package: String,
    /// The origin the app calls it at, one of `[http] allow`, e.g.
    /// `http://billing.hzwater.internal`.
    pub origin: String,
}

/// A subscription the demo host accepts for a demo citizen, as if they had
/// accepted it on the subscription sheet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevSubscription {
    /// Phone number of the demo citizen.
    pub citizen: String,
    /// Template id (declared in `[[notify.templates]]`).
    pub template: String,
}

// --- Publishing: the bundled app's department account -------------------

/// `[dev.publisher]`: the department account under which `cityhost demo`
/// (and `serve --apps`) publishes a bundled app through the publishing path.
/// The code, name and division are the manifest's `[department]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DevPublisher {
    /// Where manifests written before `[department] uscc` gave the
    /// department's code. Read only when `[department]` has none (it is
    /// then moved there by [`Manifest::parse`]); when both are given they
    /// must be equal (`dev.publisher.uscc` otherwise). New manifests leave
    /// it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    /// Contact person.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
}

/// A parsed `cityhost.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// App id: 3-32 characters of `a-z`, `0-9` and `-`, starting with a
    /// letter; equals the crate's package name.
    pub id: String,
    /// Display name, 1-32 characters.
    pub name: String,
    /// Semantic version (`MAJOR.MINOR.PATCH`).
    pub version: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// One-line description for the service grid.
    #[serde(default)]
    pub description: String,
    /// Capabilities the app may import.
    pub permissions: Vec<Permission>,
    /// The publishing department.
    pub department: Department,
    /// Per-app limits.
    #[serde(default)]
    pub limits: Limits,
    /// Purpose shown on the consent sheet, per scope (`auth_user`).
    #[serde(default)]
    pub consent: BTreeMap<String, String>,
    /// Demo-only settings.
    #[serde(default)]
    pub dev: Dev,
    /// Notification templates and message rate limits (`[notify]`,
    /// `docs/notifications.md`).
    #[serde(default)]
    pub notify: crate::manifest::notify::NotifySection,
    // Identity: minimum assurance level per route and optional auth_user
    // fields (`[identity]`, see `identity::assurance`).
    /// Identity settings.
    #[serde(default)]
    pub identity: crate::identity::assurance::IdentitySettings,
    /// The origins the app may call and the limits of those calls
    /// (`[http]`, [`http::HttpSection`]).
    #[serde(default)]
    pub http: crate::manifest::http::HttpSection,
    /// Cron schedules (`[schedule]`, [`schedule::ScheduleSection`]).
    #[serde(default, skip_serializing_if = "is_default")]
    pub schedule: crate::manifest::schedule::ScheduleSection,
    /// Events the department's system may send the app (`[events]`,
    /// [`schedule::EventsSection`]).
    #[serde(default, skip_serializing_if = "is_default")]
    pub events: crate::manifest::schedule::EventsSection,
}

/// Whether a section is absent (left out when a manifest is written back).
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Manifest {
    /// Parses a manifest from TOML text and validates it.
    ///
    /// One key per department: a code given only as the older
    /// `[dev.publisher] uscc` becomes `[department] uscc`; one given in
    /// both places must be the same (`dev.publisher.uscc` otherwise).
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let mut manifest: Manifest = toml::from_str(text)?;
        if let Some(publisher) = &manifest.dev.publisher {
            match (&manifest.department.uscc, &publisher.uscc) {
                (None, Some(code)) => manifest.department.uscc = Some(code.clone()),
                (Some(key), Some(code)) if key != code => {
                    return Err(ManifestError::Invalid {
                        field: "dev.publisher.uscc".into(),
                        reason: format!(
                            "`{code}` differs from department.uscc `{key}`; \
                             leave it out, [department] uscc is the department's one code"
                        ),
                    });
                }
                _ => {}
            }
        }
        manifest.validate()?;
        Ok(manifest)
    }

    /// The department's key, `[department] uscc` (a valid GB 32100-2015
    /// code, checked at parse). Publishing requires it: a manifest without
    /// one is refused naming `department.uscc`.
    pub fn department_key(&self) -> Result<&str, ManifestError> {
        self.department
            .uscc
            .as_deref()
            .ok_or_else(|| ManifestError::Invalid {
                field: "department.uscc".into(),
                reason: "missing: add your department's Unified Social Credit Code \
                         (uscc = \"...\", 18 characters, GB 32100-2015) to [department]"
                    .into(),
            })
    }

    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// The purpose the manifest declares for a consent scope (`auth_user`),
    /// shown on the consent sheet; an app may ask only for scopes it has a
    /// purpose for.
    pub fn purpose(&self, scope: &str) -> Option<&str> {
        self.consent.get(scope).map(String::as_str)
    }

    /// Whether the manifest declares `permission`.
    pub fn permits(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// Checks every field's value (the division code's existence is checked
    /// by the registry, which holds the directory).
    pub fn validate(&self) -> Result<(), ManifestError> {
        let invalid = |field: &str, reason: &str| {
            Err(ManifestError::Invalid {
                field: field.to_string(),
                reason: reason.to_string(),
            })
        };
        if !is_app_id(&self.id) {
            return invalid(
                "id",
                "use 3-32 characters of a-z, 0-9 and '-', starting with a letter",
            );
        }
        let name_len = self.name.chars().count();
        if name_len == 0 || name_len > 32 {
            return invalid("name", "use 1-32 characters");
        }
        if !is_semver(&self.version) {
            return invalid("version", "use a semantic version such as 1.2.3");
        }
        if !CATEGORIES.contains(&self.category.as_str()) {
            return invalid(
                "category",
                &format!("use one of: {}", CATEGORIES.join(", ")),
            );
        }
        if self.description.chars().count() > 200 {
            return invalid("description", "use at most 200 characters");
        }
        let mut seen = std::collections::BTreeSet::new();
        if !self.permissions.iter().all(|p| seen.insert(*p)) {
            return invalid("permissions", "a permission is listed twice");
        }
        if let Some(code) = &self.department.uscc
            && let Err(e) = crate::uscc::Uscc::parse(code)
        {
            return invalid("department.uscc", &e.to_string());
        }
        let dept_len = self.department.name.chars().count();
        if dept_len == 0 || dept_len > 64 {
            return invalid("department.name", "use 1-64 characters");
        }
        if crate::directory::Level::of_code(&self.department.division).is_none() {
            return invalid(
                "department.division",
                "use a GB/T 2260 code of 2, 4, 6, 9 or 12 digits",
            );
        }
        for scope in self.consent.keys() {
            if !crate::identity::consent::Scope::is_known(scope) {
                return invalid("consent", &format!("unknown scope `{scope}`"));
            }
        }
        self.validate_notify()?;
        for sub in &self.dev.subscriptions {
            if self
                .notify
                .template(&sub.template)
                .is_none_or(|t| t.kind == crate::manifest::notify::TemplateKind::Receipt)
            {
                return invalid(
                    "dev.subscriptions",
                    "name a one-time or long-term template declared in [[notify.templates]]",
                );
            }
        }
        // Identity settings.
        if let Err((field, reason)) = self.identity.validate() {
            return invalid(field, &reason);
        }
        let http = self.http_policy()?;
        if let Some(backend) = &self.dev.backend {
            if !is_package_name(&backend.package) {
                return invalid(
                    "dev.backend.package",
                    "use a cargo package name: 1-64 of a-z, A-Z, 0-9, '-' and '_', \
                     starting with a letter",
                );
            }
            let listed =
                crate::manifest::http::Origin::parse(&backend.origin).map_err(|reason| {
                    ManifestError::Invalid {
                        field: "dev.backend.origin".into(),
                        reason,
                    }
                })?;
            if !http.allows(&listed) {
                return invalid(
                    "dev.backend.origin",
                    "list the backend's origin in [http] allow too: the app calls it there",
                );
            }
        }
        self.cron_schedules()?;
        if let Err((field, reason)) = self.events.validate() {
            return invalid(&field, &reason);
        }
        for request in &self.dev.requests {
            if !matches!(request.method.as_str(), "GET" | "POST") || !request.path.starts_with('/')
            {
                return invalid(
                    "dev.requests",
                    "use method GET or POST and a path starting with /",
                );
            }
        }
        Ok(())
    }
}

impl Manifest {
    /// The `[http]` section checked: the allowed origins normalised and
    /// each limit resolved. Errors: the field at fault (`http.allow[1]`,
    /// `http.timeout-ms`); `http.allow` when origins are listed without
    /// the `http` permission, or the permission without origins.
    pub fn http_policy(&self) -> Result<crate::manifest::http::HttpPolicy, ManifestError> {
        let policy = self
            .http
            .policy()
            .map_err(|(field, reason)| ManifestError::Invalid { field, reason })?;
        if policy.allow.is_empty() && self.permits(Permission::Http) {
            return Err(ManifestError::Invalid {
                field: "http.allow".into(),
                reason: "the http permission is declared but no origin is; list your \
                         department's origins in [http] allow"
                    .into(),
            });
        }
        if !policy.allow.is_empty() && !self.permits(Permission::Http) {
            return Err(ManifestError::Invalid {
                field: "http.allow".into(),
                reason: "origins are listed but the http permission is not declared; \
                         add \"http\" to permissions"
                    .into(),
            });
        }
        Ok(policy)
    }

    /// The `[schedule]` section's cron schedules, parsed. Errors: the
    /// entry at fault (`schedule.cron[0].at`); `schedule.cron` when
    /// schedules are declared without the `schedule` permission.
    pub fn cron_schedules(
        &self,
    ) -> Result<Vec<crate::manifest::schedule::CronSchedule>, ManifestError> {
        let schedules = self
            .schedule
            .schedules()
            .map_err(|(field, reason)| ManifestError::Invalid { field, reason })?;
        if !schedules.is_empty() && !self.permits(Permission::Schedule) {
            return Err(ManifestError::Invalid {
                field: "schedule.cron".into(),
                reason: "schedules are declared but the schedule permission is not; \
                         add \"schedule\" to permissions"
                    .into(),
            });
        }
        Ok(schedules)
    }

    /// Checks the `[notify]` section: its templates and limits, and that
    /// templates and the `notify` permission come together.
    fn validate_notify(&self) -> Result<(), ManifestError> {
        self.notify.validate()?;
        let has_templates = !self.notify.templates.is_empty();
        if has_templates != self.permits(Permission::Notify) {
            return Err(ManifestError::Invalid {
                field: "notify.templates".into(),
                reason: if has_templates {
                    "templates are declared but the notify permission is not; add \"notify\" to permissions".into()
                } else {
                    "the notify permission needs at least one [[notify.templates]] to send".into()
                },
            });
        }
        Ok(())
    }
}

/// Whether `name` is a cargo package name as `[dev.backend] package`
/// takes it.
fn is_package_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `id` is a well-formed app id.
pub fn is_app_id(id: &str) -> bool {
    (3..=32).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "move-my-car"
name = "挪车"
version = "0.1.0"
category = "transport"
permissions = ["identity", "notify", "storage"]
[department]
uscc = "11330100002497866N"
name = "杭州市公安局交通警察支队"
division = "3301"

[[notify.templates]]
id = "move-request"
title = "请挪车"
kind = "long-term"
body = "您的车辆 {{plate}} 需要挪车。"
params.plate = { type = "text", max-len = 10 }
"#;

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.id, "move-my-car");
        assert!(m.permits(Permission::Notify));
        assert!(!m.permits(Permission::Payment));
    }

    fn field_of(text: &str) -> String {
        match Manifest::parse(text) {
            Err(ManifestError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn names_the_bad_field() {
        assert_eq!(field_of(&GOOD.replace("move-my-car", "Move_My_Car")), "id");
        assert_eq!(field_of(&GOOD.replace("0.1.0", "1.0")), "version");
        assert_eq!(field_of(&GOOD.replace("transport", "games")), "category");
        assert_eq!(
            field_of(&GOOD.replace("\"3301\"", "\"33011\"")),
            "department.division"
        );
        assert_eq!(
            field_of(&GOOD.replace("\"storage\"]", "\"storage\", \"notify\"]")),
            "permissions"
        );
    }

    #[test]
    fn the_department_is_keyed_by_a_valid_uscc() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.department_key().unwrap(), "11330100002497866N");
        // A wrong check character, a name in its place, a lower-case code.
        for bad in [
            "11330100002497866P",
            "杭州市公安局交通警察支队",
            "11330100002497866n",
        ] {
            let text = GOOD.replace("\"11330100002497866N\"", &format!("\"{bad}\""));
            assert_eq!(field_of(&text), "department.uscc", "{bad}");
        }
        // Without a code the manifest parses (the runtime's own tests load
        // such manifests) but cannot be published.
        let without = GOOD.replace("uscc = \"11330100002497866N\"\n", "");
        match Manifest::parse(&without).unwrap().department_key() {
            Err(ManifestError::Invalid { field, .. }) => assert_eq!(field, "department.uscc"),
            other => panic!("expected a missing department.uscc, got {other:?}"),
        }
    }

    #[test]
    fn an_older_dev_publisher_uscc_is_the_same_one_key() {
        let publisher = "\n[dev.publisher]\nuscc = \"11330100002497866N\"\n\
                         contact-name = \"科技信息科\"\ncontact-phone = \"0571-87280110\"\n";
        let without = GOOD.replace("uscc = \"11330100002497866N\"\n", "");
        // Only in [dev.publisher] (manifests written before [department] uscc).
        let older = Manifest::parse(&format!("{without}{publisher}")).unwrap();
        assert_eq!(older.department_key().unwrap(), "11330100002497866N");
        // In both, the same: fine; different: refused.
        Manifest::parse(&format!("{GOOD}{publisher}")).unwrap();
        let other = publisher.replace("11330100002497866N", "12330100470104496C");
        assert_eq!(field_of(&format!("{GOOD}{other}")), "dev.publisher.uscc");
        // An invalid older code is refused too.
        let bad = publisher.replace("11330100002497866N", "11330100002497866P");
        assert_eq!(field_of(&format!("{without}{bad}")), "department.uscc");
    }

    #[test]
    fn templates_and_the_notify_permission_come_together() {
        let without_permission = GOOD.replace("\"notify\", ", "");
        assert_eq!(field_of(&without_permission), "notify.templates");
        let without_templates = GOOD.split("[[notify.templates]]").next().unwrap();
        assert_eq!(field_of(without_templates), "notify.templates");
        match Manifest::parse(&GOOD.replace("{{plate}}", "{{plate}} {{time}}")) {
            Err(ManifestError::Notify(e)) => {
                assert_eq!(e.field, "notify.templates[move-request].params.time")
            }
            other => panic!("expected a template error, got {other:?}"),
        }
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(
            m.notify.template("move-request").unwrap().kind,
            crate::manifest::notify::TemplateKind::LongTerm
        );
    }

    #[test]
    fn refuses_unknown_keys_and_permissions() {
        assert!(matches!(
            Manifest::parse(&GOOD.replace("category", "categroy")),
            Err(ManifestError::Syntax(_))
        ));
        assert!(matches!(
            Manifest::parse(&GOOD.replace("\"storage\"]", "\"sockets\"]")),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn a_dev_backend_names_a_package_and_an_allowed_origin() {
        let with_http = GOOD.replace(
            r#""storage"]"#,
            r#""storage", "http"]
[http]
allow = ["http://billing.hzwater.internal"]"#,
        );
        let backend = |package: &str, origin: &str| {
            format!("{with_http}\n[dev.backend]\npackage = \"{package}\"\norigin = \"{origin}\"\n")
        };
        let m = Manifest::parse(&backend(
            "hzwater-billing",
            "http://Billing.hzwater.internal/",
        ))
        .unwrap();
        assert_eq!(m.dev.backend.unwrap().package, "hzwater-billing");
        assert_eq!(
            field_of(&backend("../billing", "http://billing.hzwater.internal")),
            "dev.backend.package"
        );
        assert_eq!(
            field_of(&backend("hzwater-billing", "http://other.internal")),
            "dev.backend.origin"
        );
        assert_eq!(
            field_of(&backend("hzwater-billing", "billing.hzwater.internal")),
            "dev.backend.origin"
        );
    }

    #[test]
    fn maps_component_imports_to_permissions() {
        assert_eq!(
            Permission::from_import("cityhost:miniapp/payment@0.1.0"),
            Some(Permission::Payment)
        );
        assert_eq!(
            Permission::from_import("cityhost:miniapp/types@0.1.0"),
            None
        );
        assert_eq!(Permission::from_import("wasi:cli/stdout@0.2.6"), None);
    }
}
