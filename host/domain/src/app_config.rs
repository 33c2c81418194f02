//! Each app's configuration, set by its department without republishing:
//! variables (kept in clear, shown back) and secrets (sealed at rest with
//! the same AEAD as identity numbers, [`Vault`], record
//! `app-secret/{app}/{name}`; never shown back, never logged). A change is
//! seen by the app's next request (each read goes to the store).
//!
//! Table: `app_config` (`(app_id, kind, name)` → [`Entry`], `kind` being
//! `variable` or `secret`).

use cityhost_store::{Db, Scan, now_ms};
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::identity::sealed::Vault;
use tables::APP_CONFIG;

/// The configuration table.
pub(crate) mod tables {
    use cityhost_store::Table;

    use super::Entry;

    /// `(app_id, kind, name)` → [`Entry`] (a secret's value sealed).
    pub(crate) const APP_CONFIG: Table<(String, String, String), Entry> = Table::new("app_config");
}

/// Longest name: 64 characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Largest value of a variable or secret: 4 KiB of UTF-8 (a URL, a token,
/// a small PEM key).
pub const MAX_VALUE_BYTES: usize = 4 * 1024;
/// Most entries (variables and secrets together) per app: 64.
pub const MAX_ENTRIES: usize = 64;

/// A variable (in clear) or a secret (sealed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Shown back in lists.
    Variable,
    /// Sealed at rest; only its name and update time are shown.
    Secret,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Variable => "variable",
            Kind::Secret => "secret",
        }
    }
}

/// One stored entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The value: in clear for a variable, sealed for a secret.
    value: String,
    /// Last set, UTC ms.
    updated_at: u64,
}

/// A variable as listed: name, value, last update (UTC ms).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VariableInfo {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Last set, UTC ms.
    pub updated_at: u64,
}

/// A secret as listed: its name and last update (UTC ms), never its value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SecretInfo {
    /// Name.
    pub name: String,
    /// Last set, UTC ms.
    pub updated_at: u64,
}

/// An app's configuration as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConfigList {
    /// Variables with their values, by name.
    pub variables: Vec<VariableInfo>,
    /// Secrets' names only, by name.
    pub secrets: Vec<SecretInfo>,
}

/// Checks a name: 1–[`MAX_NAME_CHARS`] characters of `A-Z a-z 0-9 _ . -`,
/// starting with a letter. Errors: `invalid-argument("name")`.
pub fn check_name(name: &str) -> ServiceResult<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "name",
            format!(
                "use 1-{MAX_NAME_CHARS} characters of A-Z a-z 0-9 _ . -, starting with a letter"
            ),
        ))
    }
}

fn secret_record(app_id: &str, name: &str) -> String {
    format!("app-secret/{app_id}/{name}")
}

/// The apps' configuration.
#[derive(Clone)]
pub struct AppConfig {
    db: Db,
    vault: Vault,
}

impl AppConfig {
    /// The configuration in `db`, secrets sealed by `vault`.
    pub fn new(db: Db, vault: Vault) -> Self {
        Self { db, vault }
    }

    /// Sets a variable or secret of `app_id`. Errors:
    /// `invalid-argument("name" | "value")` (the message never holds the
    /// value); `quota-exceeded("config-entries")` past [`MAX_ENTRIES`].
    pub async fn set(
        &self,
        app_id: &str,
        kind: Kind,
        name: &str,
        value: &str,
    ) -> ServiceResult<()> {
        check_name(name)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(ServiceError::invalid(
                "value",
                format!("use at most {MAX_VALUE_BYTES} bytes"),
            ));
        }
        let stored = match kind {
            Kind::Variable => value.to_string(),
            Kind::Secret => self.vault.seal(value, &secret_record(app_id, name)),
        };
        let entry = Entry {
            value: stored,
            updated_at: now_ms(),
        };
        self.db
            .transact(|tx| {
                let entry = &entry;
                async move {
                    let key = (app_id, kind.key(), name);
                    if !tx.contains(&APP_CONFIG, key).await? {
                        let count = tx.scan(&APP_CONFIG, Scan::prefix((app_id,))).await?.len();
                        if count >= MAX_ENTRIES {
                            return Err(ServiceError::QuotaExceeded("config-entries"));
                        }
                    }
                    tx.put(&APP_CONFIG, key, entry).await?;
                    Ok(())
                }
            })
            .await
    }

    /// Removes a variable or secret; whether it existed. Errors:
    /// `invalid-argument("name")`.
    pub async fn unset(&self, app_id: &str, kind: Kind, name: &str) -> ServiceResult<bool> {
        check_name(name)?;
        self.db
            .transact(|tx| async move {
                let key = (app_id, kind.key(), name);
                let existed = tx.contains(&APP_CONFIG, key).await?;
                tx.delete(&APP_CONFIG, key).await?;
                Ok::<_, ServiceError>(existed)
            })
            .await
    }

    /// The value of a variable (`Kind::Variable`) or, opened, of a secret.
    /// Errors: `invalid-argument("name")`; a secret that does not open
    /// (the sealing key changed) is `Sealed`.
    pub async fn get(&self, app_id: &str, kind: Kind, name: &str) -> ServiceResult<Option<String>> {
        check_name(name)?;
        let Some(entry) = self.db.get(&APP_CONFIG, (app_id, kind.key(), name)).await? else {
            return Ok(None);
        };
        match kind {
            Kind::Variable => Ok(Some(entry.value)),
            Kind::Secret => self
                .vault
                .open(&entry.value, &secret_record(app_id, name))
                .map(Some)
                .map_err(ServiceError::Sealed),
        }
    }

    /// The app's variables (with values) and secrets (names only), by name.
    pub async fn list(&self, app_id: &str) -> ServiceResult<ConfigList> {
        let mut list = ConfigList {
            variables: Vec::new(),
            secrets: Vec::new(),
        };
        for ((_, kind, name), entry) in self.db.scan(&APP_CONFIG, Scan::prefix((app_id,))).await? {
            if kind == Kind::Secret.key() {
                list.secrets.push(SecretInfo {
                    name,
                    updated_at: entry.updated_at,
                });
            } else {
                list.variables.push(VariableInfo {
                    name,
                    value: entry.value,
                    updated_at: entry.updated_at,
                });
            }
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sets_lists_and_seals() {
        let (_dir, db) = crate::testing::temp_db();
        let config = AppConfig::new(db, Vault::new(&[1; 32], &[2; 32]));
        config
            .set(
                "app",
                Kind::Variable,
                "BILLING_URL",
                "https://billing.example",
            )
            .await
            .unwrap();
        config
            .set("app", Kind::Secret, "API_KEY", "s3cr3t-value")
            .await
            .unwrap();
        assert_eq!(
            config
                .get("app", Kind::Secret, "API_KEY")
                .await
                .unwrap()
                .as_deref(),
            Some("s3cr3t-value")
        );
        assert_eq!(
            config.get("other", Kind::Secret, "API_KEY").await.unwrap(),
            None
        );
        let list = config.list("app").await.unwrap();
        assert_eq!(list.variables[0].value, "https://billing.example");
        assert_eq!(list.secrets[0].name, "API_KEY");
        assert!(!serde_json::to_string(&list).unwrap().contains("s3cr3t"));
        assert!(matches!(
            config.set("app", Kind::Variable, "1bad", "v").await,
            Err(ServiceError::InvalidArgument { field: "name", .. })
        ));
        assert!(matches!(
            config
                .set(
                    "app",
                    Kind::Variable,
                    "BIG",
                    &"x".repeat(MAX_VALUE_BYTES + 1)
                )
                .await,
            Err(ServiceError::InvalidArgument { field: "value", .. })
        ));
        for i in 2..MAX_ENTRIES {
            config
                .set("app", Kind::Variable, &format!("V{i}"), "v")
                .await
                .unwrap();
        }
        assert!(matches!(
            config.set("app", Kind::Variable, "ONE_MORE", "v").await,
            Err(ServiceError::QuotaExceeded("config-entries"))
        ));
        // Overwriting at the cap is allowed.
        config.set("app", Kind::Variable, "V2", "w").await.unwrap();
        assert!(config.unset("app", Kind::Secret, "API_KEY").await.unwrap());
        assert!(!config.unset("app", Kind::Secret, "API_KEY").await.unwrap());
    }
}
