//! Department accounts: the organisations that publish mini-apps. Each has
//! a name, its Unified Social Credit Code (its id, GB 32100-2015), the
//! Zhejiang division it serves, a contact, the app ids it owns and the
//! Ed25519 public keys it signs packages with. Created by an operator.
//!
//! Trees: `departments` (USCC → [`Department`] JSON) and `app_owners`
//! (app id → USCC).

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::uscc::Uscc;
use crate::directory::Directory;
use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, now_ms, trees};

/// Most signing keys one department may register.
pub const MAX_KEYS: usize = 8;

/// A department account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Department {
    /// Unified Social Credit Code (GB 32100-2015); the department's id and
    /// the `sub` of its API tokens.
    pub uscc: String,
    /// Official name, e.g. `杭州市公安局交通警察支队` (1–64 characters).
    pub name: String,
    /// GB/T 2260 code of the Zhejiang division it serves (any of the five
    /// levels).
    pub division: String,
    /// Contact person (1–32 characters).
    pub contact_name: String,
    /// Contact phone: digits with optional `-`, 7–20 characters.
    pub contact_phone: String,
    /// App ids the department may publish.
    pub apps: Vec<String>,
    /// Registered signing keys.
    pub keys: Vec<SigningKeyRecord>,
    /// Creation time, UTC ms.
    pub created_at: u64,
}

/// A registered Ed25519 public key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// First 16 hex digits of the SHA-256 of the key bytes.
    pub id: String,
    /// The 32-byte public key, standard base64.
    pub public_key: String,
    /// Registration time, UTC ms.
    pub added_at: u64,
}

impl SigningKeyRecord {
    /// The key, decoded.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.public_key)
            .ok()?;
        VerifyingKey::from_bytes(&bytes.try_into().ok()?).ok()
    }
}

/// What an operator gives to create a department.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    /// Official name.
    pub name: String,
    /// Unified Social Credit Code.
    pub uscc: String,
    /// Division code (Zhejiang, any level).
    pub division: String,
    /// Contact person.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// App ids the department may publish.
    #[serde(default)]
    pub apps: Vec<String>,
}

/// The department accounts.
#[derive(Clone)]
pub struct Departments {
    tree: sled::Tree,
    owners: sled::Tree,
}

impl Departments {
    /// Opens the trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            tree: store.tree(trees::DEPARTMENTS)?,
            owners: store.tree(trees::APP_OWNERS)?,
        })
    }

    /// Creates a department. Errors name the field: `uscc` (GB 32100
    /// structure and check characters; already registered → conflict),
    /// `division` (not a Zhejiang division), `name`, `contact_name`,
    /// `contact_phone`, `apps` (malformed id, or owned by another department
    /// → conflict).
    pub fn create(&self, new: NewDepartment, directory: &Directory) -> ServiceResult<Department> {
        let uscc =
            Uscc::parse(&new.uscc).map_err(|e| ServiceError::invalid("uscc", e.to_string()))?;
        let name_len = new.name.chars().count();
        if name_len == 0 || name_len > 64 || new.name.chars().any(char::is_control) {
            return Err(ServiceError::invalid("name", "use 1-64 characters"));
        }
        match directory.get(&new.division)? {
            Some(d) if d.zhejiang => {}
            _ => {
                return Err(ServiceError::invalid(
                    "division",
                    format!("`{}` is not a Zhejiang division code", new.division),
                ));
            }
        }
        let contact_len = new.contact_name.chars().count();
        if contact_len == 0 || contact_len > 32 || new.contact_name.chars().any(char::is_control) {
            return Err(ServiceError::invalid("contact_name", "use 1-32 characters"));
        }
        let phone = &new.contact_phone;
        if !(7..=20).contains(&phone.len())
            || !phone.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            || !phone.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(ServiceError::invalid(
                "contact_phone",
                "use 7-20 digits, optionally with '-'",
            ));
        }
        for app in &new.apps {
            self.check_app_free(app, uscc.as_str())?;
        }
        let department = Department {
            uscc: uscc.to_string(),
            name: new.name,
            division: new.division,
            contact_name: new.contact_name,
            contact_phone: new.contact_phone,
            apps: new.apps.clone(),
            keys: Vec::new(),
            created_at: now_ms(),
        };
        let inserted = self.tree.compare_and_swap(
            department.uscc.as_bytes(),
            None as Option<&[u8]>,
            Some(serde_json::to_vec(&department).map_err(store::StoreError::from)?),
        )?;
        if inserted.is_err() {
            return Err(ServiceError::Conflict {
                field: "uscc",
                reason: "a department with this code is already registered".into(),
            });
        }
        for app in &new.apps {
            self.owners
                .insert(app.as_bytes(), department.uscc.as_bytes())?;
        }
        Ok(department)
    }

    fn check_app_free(&self, app: &str, uscc: &str) -> ServiceResult<()> {
        if !crate::manifest::is_app_id(app) {
            return Err(ServiceError::invalid(
                "apps",
                format!("`{app}`: use 3-32 characters of a-z, 0-9 and '-', starting with a letter"),
            ));
        }
        match self.owner_of(app)? {
            Some(owner) if owner != uscc => Err(ServiceError::Conflict {
                field: "apps",
                reason: format!("app id `{app}` belongs to another department"),
            }),
            _ => Ok(()),
        }
    }

    /// The department with this code.
    pub fn get(&self, uscc: &str) -> ServiceResult<Option<Department>> {
        Ok(store::get_json(&self.tree, uscc)?)
    }

    /// Every department, by code.
    pub fn list(&self) -> ServiceResult<Vec<Department>> {
        self.tree
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(store::StoreError::from)?))
            .collect()
    }

    /// The code of the department that owns `app`.
    pub fn owner_of(&self, app: &str) -> ServiceResult<Option<String>> {
        Ok(self
            .owners
            .get(app)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Gives `app` to the department (an operator action). Conflict if
    /// another department owns it.
    pub fn assign_app(&self, uscc: &str, app: &str) -> ServiceResult<Department> {
        self.check_app_free(app, uscc)?;
        let department = self.update(uscc, |d| {
            if !d.apps.iter().any(|a| a == app) {
                d.apps.push(app.to_string());
            }
            Ok(())
        })?;
        self.owners.insert(app.as_bytes(), uscc.as_bytes())?;
        Ok(department)
    }

    /// Registers an Ed25519 public key (32 bytes, standard base64) for the
    /// department; returns its record. Registering a key twice returns the
    /// existing record. Errors: `public_key` malformed or not a valid curve
    /// point; more than [`MAX_KEYS`] keys.
    pub fn add_key(&self, uscc: &str, public_key: &str) -> ServiceResult<SigningKeyRecord> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(public_key.trim())
            .map_err(|_| ServiceError::invalid("public_key", "not standard base64"))?;
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            ServiceError::invalid("public_key", "an Ed25519 public key has 32 bytes")
        })?;
        VerifyingKey::from_bytes(&array)
            .map_err(|_| ServiceError::invalid("public_key", "not a valid Ed25519 public key"))?;
        let record = SigningKeyRecord {
            id: hex::encode(&Sha256::digest(array)[..8]),
            public_key: base64::engine::general_purpose::STANDARD.encode(array),
            added_at: now_ms(),
        };
        let mut result = record.clone();
        self.update(uscc, |d| {
            if let Some(existing) = d.keys.iter().find(|k| k.id == record.id) {
                result = existing.clone();
                return Ok(());
            }
            if d.keys.len() >= MAX_KEYS {
                return Err(ServiceError::invalid(
                    "public_key",
                    format!("a department may register at most {MAX_KEYS} keys; remove one first"),
                ));
            }
            d.keys.push(record.clone());
            Ok(())
        })?;
        Ok(result)
    }

    /// Removes a signing key by id.
    pub fn remove_key(&self, uscc: &str, key_id: &str) -> ServiceResult<Department> {
        self.update(uscc, |d| {
            let before = d.keys.len();
            d.keys.retain(|k| k.id != key_id);
            if d.keys.len() == before {
                return Err(ServiceError::NotFound("signing key"));
            }
            Ok(())
        })
    }

    fn update(
        &self,
        uscc: &str,
        mut change: impl FnMut(&mut Department) -> ServiceResult<()>,
    ) -> ServiceResult<Department> {
        loop {
            let old = self
                .tree
                .get(uscc)?
                .ok_or(ServiceError::NotFound("department"))?;
            let mut department: Department =
                serde_json::from_slice(&old).map_err(store::StoreError::from)?;
            change(&mut department)?;
            let new = serde_json::to_vec(&department).map_err(store::StoreError::from)?;
            if self
                .tree
                .compare_and_swap(uscc, Some(old), Some(new))?
                .is_ok()
            {
                return Ok(department);
            }
        }
    }
}
