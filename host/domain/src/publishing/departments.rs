//! Department accounts: the organisations that publish mini-apps. Each has
//! a name, its Unified Social Credit Code (its id, GB 32100-2015), the
//! Zhejiang division it serves, a contact, the app ids it owns and the
//! Ed25519 public keys it signs packages with. Created by an operator.
//!
//! Tables: `departments` (USCC → [`Department`]), `app_owners` (app id →
//! USCC) and `department_apps` (`(USCC, app id)` → assignment time, UTC
//! ms); an app's two ownership rows change together, in one transaction.
//! The department's record does not list its apps, so publishing one app
//! costs the same whether the department has one app or twelve thousand.

use base64::Engine as _;
use cityhost_store::{Db, Scan, Tx, now_ms};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tables::{APP_OWNERS, DEPARTMENT_APPS, DEPARTMENTS};
use crate::directory::Directory;
use crate::error::{ServiceError, ServiceResult};
use crate::meta::META;
use crate::uscc::Uscc;

/// The `meta` marker set once every app in `app_owners` has its
/// `department_apps` row and no department record lists its apps
/// ([`Departments::index_apps`]).
pub const DEPARTMENT_APPS_INDEXED: &str = "department_apps_indexed";

/// Most signing keys one department may register.
pub const MAX_KEYS: usize = 8;

/// A department account as stored (without its apps: see
/// [`DepartmentAccount`]).
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
    /// Registered signing keys.
    pub keys: Vec<SigningKeyRecord>,
    /// Creation time, UTC ms.
    pub created_at: u64,
}

/// A department account with the ids of the apps it may publish, in id
/// order: what the operator and department APIs answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DepartmentAccount {
    /// The account.
    #[serde(flatten)]
    pub department: Department,
    /// App ids the department may publish.
    pub apps: Vec<String>,
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
    db: Db,
}

impl Departments {
    /// The accounts in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Creates a department; answers it with its apps (in id order, once
    /// each). Errors name the field: `uscc` (GB 32100
    /// structure and check characters; already registered → conflict),
    /// `division` (not a Zhejiang division), `name`, `contact_name`,
    /// `contact_phone`, `apps` (malformed id, or owned by another department
    /// → conflict).
    pub async fn create(
        &self,
        new: NewDepartment,
        directory: &Directory,
    ) -> ServiceResult<DepartmentAccount> {
        let uscc =
            Uscc::parse(&new.uscc).map_err(|e| ServiceError::invalid("uscc", e.to_string()))?;
        let name_len = new.name.chars().count();
        if name_len == 0 || name_len > 64 || new.name.chars().any(char::is_control) {
            return Err(ServiceError::invalid("name", "use 1-64 characters"));
        }
        match directory.get(&new.division).await? {
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
        let mut apps = new.apps;
        for app in &apps {
            check_app_id(app)?;
        }
        apps.sort();
        apps.dedup();
        let department = Department {
            uscc: uscc.to_string(),
            name: new.name,
            division: new.division,
            contact_name: new.contact_name,
            contact_phone: new.contact_phone,
            keys: Vec::new(),
            created_at: now_ms(),
        };
        self.db
            .transact(|tx| {
                let (department, apps) = (&department, &apps);
                async move {
                    for app in apps {
                        check_app_free(&tx, app, &department.uscc).await?;
                    }
                    if tx.contains(&DEPARTMENTS, &department.uscc).await? {
                        return Err(ServiceError::Conflict {
                            field: "uscc",
                            reason: "a department with this code is already registered".into(),
                        });
                    }
                    tx.put(&DEPARTMENTS, &department.uscc, department).await?;
                    for app in apps {
                        own(&tx, &department.uscc, app, department.created_at).await?;
                    }
                    Ok(())
                }
            })
            .await?;
        Ok(DepartmentAccount { department, apps })
    }

    /// The department with this code.
    pub async fn get(&self, uscc: &str) -> ServiceResult<Option<Department>> {
        Ok(self.db.get(&DEPARTMENTS, uscc).await?)
    }

    /// The department with this code and its apps.
    pub async fn account(&self, uscc: &str) -> ServiceResult<Option<DepartmentAccount>> {
        let Some(department) = self.get(uscc).await? else {
            return Ok(None);
        };
        let apps = self.apps(uscc).await?;
        Ok(Some(DepartmentAccount { department, apps }))
    }

    /// The ids of the apps department `uscc` may publish, in id order.
    pub async fn apps(&self, uscc: &str) -> ServiceResult<Vec<String>> {
        let rows = self
            .db
            .scan(&DEPARTMENT_APPS, Scan::prefix((uscc,)))
            .await?;
        Ok(rows.into_iter().map(|((_, app), _)| app).collect())
    }

    /// Every department with its apps, by code.
    pub async fn list(&self) -> ServiceResult<Vec<DepartmentAccount>> {
        let all = self.db.scan(&DEPARTMENTS, Scan::all()).await?;
        let mut accounts = Vec::with_capacity(all.len());
        for (uscc, department) in all {
            let apps = self.apps(&uscc).await?;
            accounts.push(DepartmentAccount { department, apps });
        }
        Ok(accounts)
    }

    /// The code of the department that owns `app`.
    pub async fn owner_of(&self, app: &str) -> ServiceResult<Option<String>> {
        Ok(self.db.get(&APP_OWNERS, app).await?)
    }

    /// Whether department `uscc` owns `app`.
    pub async fn owns(&self, uscc: &str, app: &str) -> ServiceResult<bool> {
        Ok(self.owner_of(app).await?.as_deref() == Some(uscc))
    }

    /// Renames the department (an operator action): its code stays its
    /// key, so unionids, merchant account, statements and tokens are
    /// unchanged; its apps' next versions carry the new `[department]
    /// name`. Errors: `name` not 1-64 characters (or with control
    /// characters); `NotFound("department")`.
    pub async fn rename(&self, uscc: &str, name: &str) -> ServiceResult<Department> {
        let name_len = name.chars().count();
        if name_len == 0 || name_len > 64 || name.chars().any(char::is_control) {
            return Err(ServiceError::invalid("name", "use 1-64 characters"));
        }
        self.db
            .transact(|tx| async move {
                let mut department = tx
                    .get(&DEPARTMENTS, uscc)
                    .await?
                    .ok_or(ServiceError::NotFound("department"))?;
                department.name = name.to_string();
                tx.put(&DEPARTMENTS, uscc, &department).await?;
                Ok(department)
            })
            .await
    }

    /// Gives `app` to the department (an operator action); giving it
    /// again changes nothing. Errors: `apps` malformed, or owned by another
    /// department (conflict); `NotFound("department")`.
    pub async fn assign_app(&self, uscc: &str, app: &str) -> ServiceResult<()> {
        check_app_id(app)?;
        if self.owns(uscc, app).await? {
            return Ok(());
        }
        self.db
            .transact(|tx| async move {
                check_app_free(&tx, app, uscc).await?;
                if !tx.contains(&DEPARTMENTS, uscc).await? {
                    return Err(ServiceError::NotFound("department"));
                }
                own(&tx, uscc, app, now_ms()).await
            })
            .await
    }

    /// Gives every app in `app_owners` its `department_apps` row and
    /// rewrites department records that hosts before that table stored
    /// with their apps listed; returns how many apps were indexed. The
    /// platform calls it at every start; once a pass has finished, the
    /// `meta` marker [`DEPARTMENT_APPS_INDEXED`] makes later calls return
    /// 0 without reading the tables.
    pub async fn index_apps(&self) -> ServiceResult<usize> {
        if self.db.contains(&META, DEPARTMENT_APPS_INDEXED).await? {
            return Ok(0);
        }
        // Each record read once (an old one lists every app): reading
        // drops the old `apps` field; writing stores the record without it.
        let departments = self.db.scan(&DEPARTMENTS, Scan::all()).await?;
        let mut created_at = std::collections::HashMap::new();
        for (uscc, department) in &departments {
            self.db.put(&DEPARTMENTS, uscc, department).await?;
            created_at.insert(uscc.as_str(), department.created_at);
        }
        let owners = self.db.scan(&APP_OWNERS, Scan::all()).await?;
        for (app, uscc) in &owners {
            let assigned_at = created_at
                .get(uscc.as_str())
                .copied()
                .unwrap_or_else(now_ms);
            self.db
                .put(
                    &DEPARTMENT_APPS,
                    (uscc.as_str(), app.as_str()),
                    &assigned_at,
                )
                .await?;
        }
        self.db
            .put(&META, DEPARTMENT_APPS_INDEXED, &true.into())
            .await?;
        Ok(owners.len())
    }

    /// Registers an Ed25519 public key (32 bytes, standard base64) for the
    /// department; returns its record. Registering a key twice returns the
    /// existing record. Errors: `public_key` malformed or not a valid curve
    /// point; more than [`MAX_KEYS`] keys.
    pub async fn add_key(&self, uscc: &str, public_key: &str) -> ServiceResult<SigningKeyRecord> {
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
        // Registering a key it has is a read, not a write.
        let department = self
            .get(uscc)
            .await?
            .ok_or(ServiceError::NotFound("department"))?;
        if let Some(existing) = department.keys.iter().find(|k| k.id == record.id) {
            return Ok(existing.clone());
        }
        let (_, result) = self
            .update(uscc, |d| {
                if let Some(existing) = d.keys.iter().find(|k| k.id == record.id) {
                    return Ok(existing.clone());
                }
                if d.keys.len() >= MAX_KEYS {
                    return Err(ServiceError::invalid(
                        "public_key",
                        format!(
                            "a department may register at most {MAX_KEYS} keys; remove one first"
                        ),
                    ));
                }
                d.keys.push(record.clone());
                Ok(record.clone())
            })
            .await?;
        Ok(result)
    }

    /// Removes a signing key by id.
    pub async fn remove_key(&self, uscc: &str, key_id: &str) -> ServiceResult<Department> {
        let (department, ()) = self
            .update(uscc, |d| {
                let before = d.keys.len();
                d.keys.retain(|k| k.id != key_id);
                if d.keys.len() == before {
                    return Err(ServiceError::NotFound("signing key"));
                }
                Ok(())
            })
            .await?;
        Ok(department)
    }

    /// Reads, changes and stores the department in one transaction; an
    /// `Err` from `change` leaves it as it was. Returns the stored
    /// department and what `change` returned.
    async fn update<T: Send>(
        &self,
        uscc: &str,
        change: impl Fn(&mut Department) -> ServiceResult<T> + Sync,
    ) -> ServiceResult<(Department, T)> {
        let change = &change;
        self.db
            .transact(|tx| async move {
                let mut department = tx
                    .get(&DEPARTMENTS, uscc)
                    .await?
                    .ok_or(ServiceError::NotFound("department"))?;
                let out = change(&mut department)?;
                tx.put(&DEPARTMENTS, uscc, &department).await?;
                Ok((department, out))
            })
            .await
    }
}

/// Checks that `app` is a well-formed app id.
fn check_app_id(app: &str) -> ServiceResult<()> {
    if !crate::manifest::is_app_id(app) {
        return Err(ServiceError::invalid(
            "apps",
            format!("`{app}`: use 3-32 characters of a-z, 0-9 and '-', starting with a letter"),
        ));
    }
    Ok(())
}

/// Records `app` as department `uscc`'s, in both ownership tables.
async fn own(tx: &Tx, uscc: &str, app: &str, assigned_at: u64) -> ServiceResult<()> {
    tx.put(&APP_OWNERS, app, &uscc.to_string()).await?;
    tx.put(&DEPARTMENT_APPS, (uscc, app), &assigned_at).await?;
    Ok(())
}

/// Conflict if another department than `uscc` owns `app`.
async fn check_app_free(tx: &Tx, app: &str, uscc: &str) -> ServiceResult<()> {
    match tx.get(&APP_OWNERS, app).await? {
        Some(owner) if owner != uscc => Err(ServiceError::Conflict {
            field: "apps",
            reason: format!("app id `{app}` belongs to another department"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;
    use cityhost_store::Table;

    const FIRST: &str = "91330100MA27XL0E96";
    const SECOND: &str = "113300000024820668";

    fn new(uscc: &str, apps: &[&str]) -> NewDepartment {
        NewDepartment {
            name: "杭州市公安局交通警察支队".into(),
            uscc: uscc.into(),
            division: "3301".into(),
            contact_name: "王工".into(),
            contact_phone: "0571-87000000".into(),
            apps: apps.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn key(seed: u8) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes())
    }

    #[tokio::test]
    async fn a_department_and_its_apps_are_created_together_or_not_at_all() {
        let (_dir, db) = temp_db();
        let directory = Directory::new(db.clone());
        directory.load_shipped().await.unwrap();
        let departments = Departments::new(db);
        let created = departments
            .create(new(FIRST, &["traffic", "parking"]), &directory)
            .await
            .unwrap();
        assert_eq!(departments.account(FIRST).await.unwrap(), Some(created));
        assert_eq!(
            departments.apps(FIRST).await.unwrap(),
            ["parking", "traffic"]
        );
        assert_eq!(
            departments.owner_of("parking").await.unwrap().as_deref(),
            Some(FIRST)
        );
        // The code is taken once.
        assert!(matches!(
            departments.create(new(FIRST, &[]), &directory).await,
            Err(ServiceError::Conflict { field: "uscc", .. })
        ));
        // An app of another department refuses the whole department: no
        // account, and its other app stays unowned.
        assert!(matches!(
            departments
                .create(new(SECOND, &["bills", "traffic"]), &directory)
                .await,
            Err(ServiceError::Conflict { field: "apps", .. })
        ));
        assert_eq!(departments.get(SECOND).await.unwrap(), None);
        assert_eq!(departments.owner_of("bills").await.unwrap(), None);
        // Fields are checked before anything is stored.
        let mut outside = new(SECOND, &[]);
        outside.division = "11".into();
        assert!(matches!(
            departments.create(outside, &directory).await,
            Err(ServiceError::InvalidArgument {
                field: "division",
                ..
            })
        ));
        assert!(matches!(
            departments
                .create(new(SECOND, &["Bad_Id"]), &directory)
                .await,
            Err(ServiceError::InvalidArgument { field: "apps", .. })
        ));
        assert_eq!(departments.list().await.unwrap().len(), 1);
        // Assigning: another department's app is refused; a free one is
        // recorded on both sides; twice is once.
        departments
            .create(new(SECOND, &[]), &directory)
            .await
            .unwrap();
        assert!(matches!(
            departments.assign_app(SECOND, "traffic").await,
            Err(ServiceError::Conflict { field: "apps", .. })
        ));
        departments.assign_app(SECOND, "bills").await.unwrap();
        departments.assign_app(SECOND, "bills").await.unwrap();
        assert_eq!(departments.apps(SECOND).await.unwrap(), ["bills"]);
        assert_eq!(
            departments.owner_of("bills").await.unwrap().as_deref(),
            Some(SECOND)
        );
        assert!(matches!(
            departments
                .assign_app("91330100143044481D", "free-app")
                .await,
            Err(ServiceError::NotFound("department"))
        ));
        assert_eq!(departments.owner_of("free-app").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_department_record_stays_one_size_however_many_apps_it_owns() {
        let (_dir, db) = temp_db();
        let directory = Directory::new(db.clone());
        directory.load_shipped().await.unwrap();
        let departments = Departments::new(db.clone());
        departments
            .create(new(FIRST, &["app-0"]), &directory)
            .await
            .unwrap();
        let raw: Table<String, serde_json::Value> = Table::new("departments");
        let size = async || {
            db.get(&raw, FIRST)
                .await
                .unwrap()
                .unwrap()
                .to_string()
                .len()
        };
        let before = size().await;
        for i in 1..200 {
            departments
                .assign_app(FIRST, &format!("app-{i}"))
                .await
                .unwrap();
        }
        // Each publish reads the record: it must not grow with the
        // catalogue.
        assert_eq!(size().await, before);
        let apps = departments.apps(FIRST).await.unwrap();
        assert_eq!(apps.len(), 200);
        assert!(apps.windows(2).all(|w| w[0] < w[1]), "in id order");
        assert!(departments.owns(FIRST, "app-199").await.unwrap());
        assert!(!departments.owns(SECOND, "app-199").await.unwrap());
    }

    #[tokio::test]
    async fn apps_listed_in_an_older_department_record_are_indexed_once() {
        let (_dir, db) = temp_db();
        // What hosts before `department_apps` stored: the apps listed in
        // the record, the owners table alone beside it.
        let old: Table<String, serde_json::Value> = Table::new("departments");
        let record = serde_json::json!({
            "uscc": FIRST, "name": "杭州市公安局交通警察支队", "division": "3301",
            "contact_name": "王工", "contact_phone": "0571-87000000",
            "apps": ["traffic", "parking"], "keys": [], "created_at": 1_700_000_000_000u64,
        });
        db.put(&old, FIRST, &record).await.unwrap();
        for app in ["traffic", "parking"] {
            db.put(&APP_OWNERS, app, &FIRST.to_string()).await.unwrap();
        }
        let departments = Departments::new(db.clone());
        assert_eq!(departments.apps(FIRST).await.unwrap(), Vec::<String>::new());
        assert_eq!(departments.index_apps().await.unwrap(), 2);
        assert_eq!(
            departments.apps(FIRST).await.unwrap(),
            ["parking", "traffic"]
        );
        assert!(departments.owns(FIRST, "traffic").await.unwrap());
        let stored = db.get(&old, FIRST).await.unwrap().unwrap();
        assert_eq!(stored.get("apps"), None, "the record no longer lists apps");
        assert_eq!(stored["name"], "杭州市公安局交通警察支队");
        // Once is enough: the marker stops later passes.
        assert_eq!(departments.index_apps().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn signing_keys_are_added_once_bounded_and_removed() {
        let (_dir, db) = temp_db();
        let directory = Directory::new(db.clone());
        directory.load_shipped().await.unwrap();
        let departments = Departments::new(db);
        departments
            .create(new(FIRST, &[]), &directory)
            .await
            .unwrap();
        let first = departments.add_key(FIRST, &key(1)).await.unwrap();
        // The same key again is the same record.
        assert_eq!(departments.add_key(FIRST, &key(1)).await.unwrap(), first);
        for seed in 2..=MAX_KEYS as u8 {
            departments.add_key(FIRST, &key(seed)).await.unwrap();
        }
        assert!(matches!(
            departments.add_key(FIRST, &key(99)).await,
            Err(ServiceError::InvalidArgument {
                field: "public_key",
                ..
            })
        ));
        assert!(matches!(
            departments.add_key(FIRST, "not base64!").await,
            Err(ServiceError::InvalidArgument {
                field: "public_key",
                ..
            })
        ));
        let department = departments.remove_key(FIRST, &first.id).await.unwrap();
        assert_eq!(department.keys.len(), MAX_KEYS - 1);
        assert!(department.keys.iter().all(|k| k.id != first.id));
        assert_eq!(departments.get(FIRST).await.unwrap(), Some(department));
        assert!(matches!(
            departments.remove_key(FIRST, &first.id).await,
            Err(ServiceError::NotFound("signing key"))
        ));
        assert!(matches!(
            departments.add_key(SECOND, &key(1)).await,
            Err(ServiceError::NotFound("department"))
        ));
    }
}
