//! Scopes and the citizen's grants to apps.
//!
//! - `auth_base`: openid and unionid; silent, no grant needed.
//! - `auth_user`: masked name, masked identity number, assurance level, and
//!   sex and birth year when the manifest asks (`[identity] user-fields`);
//!   needs the citizen's grant.
//! - `auth_id_number`: full name and full identity number; needs the
//!   citizen's grant and a purpose declared in the manifest, shown on the
//!   consent sheet.
//!
//! Grants are recorded here with time, app, scope and the purpose the
//! citizen saw, listed for the citizen and revocable at any time; every
//! capability call reads the grant afresh, so a revocation takes effect on
//! the next call.

use cityhost_store::{Db, Scan, now_ms};
use serde::{Deserialize, Serialize};

use super::tables::GRANTS;
use crate::error::{ServiceError, ServiceResult};

/// A scope an app can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// `auth_base`: the app's openid; silent.
    #[serde(rename = "auth_base")]
    AuthBase,
    /// `auth_user`: masked name, masked identity number and assurance
    /// level (sex and birth year if the manifest asks); needs consent.
    #[serde(rename = "auth_user")]
    AuthUser,
    /// `auth_id_number`: full name and full identity number; needs consent
    /// and a declared purpose.
    #[serde(rename = "auth_id_number")]
    AuthIdNumber,
}

/// Optional `auth_user` fields an app may ask for in its manifest
/// (`[identity] user-fields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserField {
    /// Sex, from character 17 of the identity number.
    Gender,
    /// Birth year, from characters 7-10 of the identity number.
    BirthYear,
}

impl Scope {
    /// Parses a scope name.
    pub fn parse(name: &str) -> Option<Scope> {
        match name {
            "auth_base" => Some(Scope::AuthBase),
            "auth_user" => Some(Scope::AuthUser),
            "auth_id_number" => Some(Scope::AuthIdNumber),
            _ => None,
        }
    }

    /// Whether `name` is a scope the host knows.
    pub fn is_known(name: &str) -> bool {
        Self::parse(name).is_some()
    }

    /// The scope's wire name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::AuthBase => "auth_base",
            Scope::AuthUser => "auth_user",
            Scope::AuthIdNumber => "auth_id_number",
        }
    }

    /// What the consent sheet lists as shared, in the citizen's language;
    /// `user_fields` are the optional `auth_user` fields the app asks for.
    pub fn fields(self, user_fields: &[UserField]) -> Vec<&'static str> {
        self.shared(user_fields)
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    }

    /// Stable codes of the same fields, in the same order, for clients that
    /// show them in another language: `openid`, `name_masked`,
    /// `id_number_masked`, `assurance_level`, `gender`, `birth_year`,
    /// `name`, `id_number`.
    pub fn field_keys(self, user_fields: &[UserField]) -> Vec<&'static str> {
        self.shared(user_fields)
            .into_iter()
            .map(|(key, _)| key)
            .collect()
    }

    /// `(code, name)` of each field the scope shares.
    fn shared(self, user_fields: &[UserField]) -> Vec<(&'static str, &'static str)> {
        match self {
            Scope::AuthBase => vec![("openid", "应用内用户标识")],
            Scope::AuthUser => {
                let mut fields = vec![
                    ("name_masked", "姓名（脱敏）"),
                    ("id_number_masked", "身份证号（脱敏）"),
                    ("assurance_level", "实名认证等级"),
                ];
                for field in user_fields {
                    fields.push(match field {
                        UserField::Gender => ("gender", "性别"),
                        UserField::BirthYear => ("birth_year", "出生年份"),
                    });
                }
                fields
            }
            Scope::AuthIdNumber => vec![("name", "姓名"), ("id_number", "身份证号（完整）")],
        }
    }

    /// Whether the scope needs the citizen's explicit grant.
    pub fn needs_consent(self) -> bool {
        !matches!(self, Scope::AuthBase)
    }
}

/// A recorded grant ([`GRANTS`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    /// The app.
    pub app_id: String,
    /// The scope.
    pub scope: Scope,
    /// When the citizen granted it, UTC ms.
    pub granted_at: u64,
    /// The purpose the app declared and the consent sheet showed.
    #[serde(default)]
    pub purpose: String,
}

/// The citizen's grants.
#[derive(Clone)]
pub struct Consents {
    db: Db,
}

impl Consents {
    /// The grants in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Whether the citizen has granted `scope` to `app_id` (always true for
    /// scopes that need no consent).
    pub async fn is_granted(
        &self,
        citizen_id: &str,
        app_id: &str,
        scope: Scope,
    ) -> ServiceResult<bool> {
        if !scope.needs_consent() {
            return Ok(true);
        }
        Ok(self
            .db
            .contains(&GRANTS, (citizen_id, app_id, scope.name()))
            .await?)
    }

    /// Records the citizen's grant of `scope` to `app_id` for the
    /// `purpose` the consent sheet showed.
    pub async fn grant(
        &self,
        citizen_id: &str,
        app_id: &str,
        scope: Scope,
        purpose: &str,
    ) -> ServiceResult<Grant> {
        let grant = Grant {
            app_id: app_id.to_string(),
            scope,
            granted_at: now_ms(),
            purpose: purpose.to_string(),
        };
        self.db
            .put(&GRANTS, (citizen_id, app_id, scope.name()), &grant)
            .await?;
        Ok(grant)
    }

    /// Withdraws a grant; `NotFound` if there was none.
    pub async fn revoke(&self, citizen_id: &str, app_id: &str, scope: Scope) -> ServiceResult<()> {
        let key = (citizen_id, app_id, scope.name());
        self.db
            .transact(|tx| async move {
                if !tx.contains(&GRANTS, key).await? {
                    return Err(ServiceError::NotFound("grant"));
                }
                tx.delete(&GRANTS, key).await?;
                Ok(())
            })
            .await
    }

    /// Every grant the citizen has given, by app id, then scope name.
    pub async fn list(&self, citizen_id: &str) -> ServiceResult<Vec<Grant>> {
        let grants = self.db.scan(&GRANTS, Scan::prefix((citizen_id,))).await?;
        Ok(grants.into_iter().map(|(_, grant)| grant).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn grants_are_listed_per_citizen_and_revocable() {
        let (_dir, db) = crate::testing::temp_db();
        let consents = Consents::new(db);
        assert!(
            consents
                .is_granted("c-1", "app", Scope::AuthBase)
                .await
                .unwrap()
        );
        assert!(
            !consents
                .is_granted("c-1", "app", Scope::AuthUser)
                .await
                .unwrap()
        );
        consents
            .grant("c-1", "b-app", Scope::AuthIdNumber, "why")
            .await
            .unwrap();
        consents
            .grant("c-1", "a-app", Scope::AuthUser, "")
            .await
            .unwrap();
        // An id that extends another one is a different citizen.
        consents
            .grant("c-10", "a-app", Scope::AuthUser, "")
            .await
            .unwrap();
        let listed: Vec<_> = consents
            .list("c-1")
            .await
            .unwrap()
            .into_iter()
            .map(|g| (g.app_id, g.scope, g.purpose))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("a-app".to_string(), Scope::AuthUser, String::new()),
                ("b-app".to_string(), Scope::AuthIdNumber, "why".to_string()),
            ]
        );
        assert!(
            consents
                .is_granted("c-1", "a-app", Scope::AuthUser)
                .await
                .unwrap()
        );
        consents
            .revoke("c-1", "a-app", Scope::AuthUser)
            .await
            .unwrap();
        assert!(
            !consents
                .is_granted("c-1", "a-app", Scope::AuthUser)
                .await
                .unwrap()
        );
        assert!(matches!(
            consents.revoke("c-1", "a-app", Scope::AuthUser).await,
            Err(ServiceError::NotFound("grant"))
        ));
        assert_eq!(consents.list("c-10").await.unwrap().len(), 1);
    }
}
