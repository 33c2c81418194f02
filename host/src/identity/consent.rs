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

use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, key, now_ms, trees};

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

/// A recorded grant.
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
    tree: sled::Tree,
}

impl Consents {
    /// Opens the grants tree.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            tree: store.tree(trees::GRANTS)?,
        })
    }

    /// Whether the citizen has granted `scope` to `app_id` (always true for
    /// scopes that need no consent).
    pub fn is_granted(&self, citizen_id: &str, app_id: &str, scope: Scope) -> ServiceResult<bool> {
        if !scope.needs_consent() {
            return Ok(true);
        }
        Ok(self
            .tree
            .contains_key(grant_key(citizen_id, app_id, scope))?)
    }

    /// Records the citizen's grant of `scope` to `app_id` for the
    /// `purpose` the consent sheet showed.
    pub fn grant(
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
        store::put_json(&self.tree, grant_key(citizen_id, app_id, scope), &grant)?;
        Ok(grant)
    }

    /// Withdraws a grant; `NotFound` if there was none.
    pub fn revoke(&self, citizen_id: &str, app_id: &str, scope: Scope) -> ServiceResult<()> {
        match self.tree.remove(grant_key(citizen_id, app_id, scope))? {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound("grant")),
        }
    }

    /// Every grant the citizen has given.
    pub fn list(&self, citizen_id: &str) -> ServiceResult<Vec<Grant>> {
        let prefix = key(&[citizen_id.as_bytes(), b""]);
        self.tree
            .scan_prefix(prefix)
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(crate::store::StoreError::from)?))
            .collect()
    }
}

fn grant_key(citizen_id: &str, app_id: &str, scope: Scope) -> Vec<u8> {
    key(&[
        citizen_id.as_bytes(),
        app_id.as_bytes(),
        scope.name().as_bytes(),
    ])
}
