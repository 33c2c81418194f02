//! Key-value storage for mini-apps, in two spaces: each app's own storage
//! (`Owner::App`, the `storage` capability) and, inside each app, one
//! namespace per citizen (`Owner::Citizen`, the `citizen-storage`
//! capability). Each namespace has a byte quota.
//!
//! Besides plain reads and writes there are atomic operations — insert if
//! absent, compare-and-swap on a version, counter increment and a small
//! all-or-nothing batch with per-key conditions — and an optional expiry
//! per key. Every operation is one [`Db::transact`], so on any backend of
//! the state seam it is serialisable: of two calls that insert the same
//! absent key, exactly one succeeds.
//!
//! Tables per space (`app_storage*` and `citizen_storage*`), keyed by a
//! namespace string `ns` (the app id, or `citizen_id NUL app_id`):
//! * values: `(ns, key)` → value bytes;
//! * meta: `(ns, key)` → [`Meta`] (version, expiry); a value written
//!   before versions existed has none and reads as version 0;
//! * expiry: `(ns, expires_at_ms, key)` → `0`, the keys by expiry time;
//! * usage: `ns` → bytes of keys plus values.
//!
//! An expired key is invisible to every read and list at once; its bytes
//! are reclaimed (and stop counting against the quota) by the next write in
//! its namespace, which first removes up to [`MAX_SWEEP`] expired keys.
//! A value and its namespace's usage change together in one transaction,
//! so the quota is exact however many calls run at once.

use cityhost_store::{Db, Json, Raw, Scan, Table, Tx};
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use tables::{APP_STORAGE, APP_STORAGE_USAGE};

/// The storage tables.
pub(crate) mod tables {
    use cityhost_store::{Raw, Table};

    /// `(app_id, key)` → value bytes.
    pub(crate) const APP_STORAGE: Table<(String, String), Vec<u8>, Raw> = Table::new("app_storage");
    /// `app_id` → bytes the app uses (keys plus values).
    pub(crate) const APP_STORAGE_USAGE: Table<String, u64> = Table::new("app_storage_usage");
}

/// Largest key, bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value: 1 MiB.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Default quota per app: 10 MiB (as Alipay and WeChat give a mini program).
pub const DEFAULT_QUOTA_BYTES: u64 = 10 << 20;
/// Quota of one citizen's namespace in one app: 256 KiB. Enough for a
/// citizen's bookings, drafts and preferences in a service; small enough
/// that a million citizens of one app stay within 256 GiB.
pub const DEFAULT_CITIZEN_QUOTA_BYTES: u64 = 256 << 10;
/// Most keys one `list_keys` returns.
pub const MAX_LIST: usize = 1000;
/// Most operations in one [`AppStorage::batch`].
pub const MAX_BATCH_OPS: usize = 64;
/// Most value bytes in one [`AppStorage::batch`], all operations together:
/// 1 MiB, as one value.
pub const MAX_BATCH_BYTES: usize = 1 << 20;
/// Longest expiry: 366 days, in seconds.
pub const MAX_TTL_SECONDS: u32 = 366 * 24 * 3600;
/// Most expired keys one write reclaims in its namespace before it runs.
pub const MAX_SWEEP: usize = 256;

/// Whose storage a call addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    /// The app's own storage.
    App(&'a str),
    /// One citizen's namespace in one app's storage.
    Citizen {
        /// The app.
        app_id: &'a str,
        /// The citizen (internal id, never given to the app).
        citizen_id: &'a str,
    },
}

impl Owner<'_> {
    fn space(&self) -> &'static Space {
        match self {
            Owner::App(_) => &APP,
            Owner::Citizen { .. } => &CITIZEN,
        }
    }

    /// The namespace string; errors if an id holds a NUL (ids never do).
    fn ns(&self) -> ServiceResult<String> {
        match self {
            Owner::App(app) if !app.contains('\0') => Ok(app.to_string()),
            Owner::Citizen { app_id, citizen_id }
                if !app_id.contains('\0') && !citizen_id.contains('\0') =>
            {
                Ok(format!("{citizen_id}\0{app_id}"))
            }
            _ => Err(ServiceError::invalid("owner", "ids hold no NUL")),
        }
    }

    /// The quota's name in `quota-exceeded`.
    fn quota_name(&self) -> &'static str {
        match self {
            Owner::App(_) => "storage",
            Owner::Citizen { .. } => "citizen-storage",
        }
    }
}

/// The tables of one space.
struct Space {
    values: Table<(String, String), Vec<u8>, Raw>,
    meta: Table<(String, String), Meta, Json>,
    expiry: Table<(String, u64, String), u8, Json>,
    usage: Table<String, u64>,
}

const APP: Space = Space {
    values: APP_STORAGE,
    meta: Table::new("app_storage_meta"),
    expiry: Table::new("app_storage_expiry"),
    usage: APP_STORAGE_USAGE,
};

const CITIZEN: Space = Space {
    values: Table::new("citizen_storage"),
    meta: Table::new("citizen_storage_meta"),
    expiry: Table::new("citizen_storage_expiry"),
    usage: Table::new("citizen_storage_usage"),
};

/// A key's version and expiry.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Meta {
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
}

impl Meta {
    fn expired(&self, now: u64) -> bool {
        self.expires_at_ms.is_some_and(|at| at <= now)
    }
}

/// A value with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value bytes.
    pub value: Vec<u8>,
    /// Changes at every write of the key and is never reused for it, even
    /// after a delete (versions come from the store's id sequence); 0 for
    /// a value written before versions existed.
    pub version: u64,
}

/// What a conditional write requires of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The key is absent (never written, deleted or expired).
    Absent,
    /// The key is present at this version.
    Version(u64),
}

/// What one batch operation does once every condition holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchAction {
    /// Stores the value, expiring after `ttl_seconds` if given.
    Put {
        /// At most [`MAX_VALUE_BYTES`].
        value: Vec<u8>,
        /// 1..=[`MAX_TTL_SECONDS`].
        ttl_seconds: Option<u32>,
    },
    /// Removes the key (nothing if absent).
    Delete,
    /// Writes nothing: the operation only carries its condition.
    Check,
}

/// One operation of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOp {
    /// The key; each key at most once per batch.
    pub key: String,
    /// Checked, with every other operation's, before anything is written.
    pub condition: Option<Condition>,
    /// The write.
    pub action: BatchAction,
}

/// How a batch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every condition held and every write was made. Per operation, in
    /// order: the key's version after the batch (0 if absent).
    Applied(Vec<u64>),
    /// The condition of the operation at this index (0-based) did not hold;
    /// nothing was written.
    Failed(u32),
}

/// One key of a citizen's storage, for their data export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitizenEntry {
    /// The app that stored it.
    pub app_id: String,
    /// The key.
    pub key: String,
    /// The value bytes.
    pub value: Vec<u8>,
    /// When it expires, UTC ms since the epoch, if it does.
    pub expires_at_ms: Option<u64>,
}

/// The apps' storage.
#[derive(Clone)]
pub struct AppStorage {
    db: Db,
}

impl AppStorage {
    /// The storage over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The value under `key` in `app_id`'s storage.
    pub async fn get(&self, app_id: &str, key: &str) -> ServiceResult<Option<Vec<u8>>> {
        Ok(self
            .get_versioned(Owner::App(app_id), key)
            .await?
            .map(|v| v.value))
    }

    /// Stores a value. Errors: `invalid-argument("key" | "value")`,
    /// `quota-exceeded("storage")` when the app's total would pass `quota`
    /// bytes (an overwrite that does not grow the total is always allowed).
    pub async fn set(
        &self,
        app_id: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> ServiceResult<()> {
        self.put(Owner::App(app_id), key, value, None, quota)
            .await
            .map(|_| ())
    }

    /// Removes a key; returns whether it existed.
    pub async fn delete(&self, app_id: &str, key: &str) -> ServiceResult<bool> {
        self.remove(Owner::App(app_id), key).await
    }

    /// Keys starting with `prefix`, in byte order, at most `limit` (capped at
    /// [`MAX_LIST`]).
    pub async fn list_keys(
        &self,
        app_id: &str,
        prefix: &str,
        limit: usize,
    ) -> ServiceResult<Vec<String>> {
        self.list(Owner::App(app_id), prefix, limit).await
    }

    /// Bytes the owner uses (expired keys not yet reclaimed included).
    pub async fn usage_of(&self, owner: Owner<'_>) -> ServiceResult<u64> {
        let ns = owner.ns()?;
        Ok(self
            .db
            .get(&owner.space().usage, ns.as_str())
            .await?
            .unwrap_or(0))
    }

    /// Bytes the app uses.
    pub async fn usage(&self, app_id: &str) -> ServiceResult<u64> {
        self.usage_of(Owner::App(app_id)).await
    }

    /// Whether the app has stored anything.
    pub async fn is_empty(&self, app_id: &str) -> ServiceResult<bool> {
        let first = Scan::prefix((app_id,)).limit(1);
        Ok(self.db.scan(&APP_STORAGE, first).await?.is_empty())
    }

    /// The live value under `key` with its version, if any. Errors:
    /// `invalid-argument("key")`.
    pub async fn get_versioned(
        &self,
        owner: Owner<'_>,
        key: &str,
    ) -> ServiceResult<Option<Versioned>> {
        check_key(key)?;
        let (sp, ns) = (owner.space(), owner.ns()?);
        let now = cityhost_store::now_ms();
        self.db
            .transact(|tx| {
                let ns = ns.clone();
                async move { Ok::<_, ServiceError>(read(&tx, sp, &ns, key, now).await?.live()) }
            })
            .await
    }

    /// Stores `value` under `key` (expiring after `ttl_seconds` if given,
    /// else never); returns its new version. Errors:
    /// `invalid-argument("key" | "value" | "ttl-seconds")`,
    /// `quota-exceeded` (see [`set`](Self::set)).
    pub async fn put(
        &self,
        owner: Owner<'_>,
        key: &str,
        value: &[u8],
        ttl_seconds: Option<u32>,
        quota: u64,
    ) -> ServiceResult<u64> {
        let outcome = self
            .conditional(owner, key, None, value, ttl_seconds, quota)
            .await?;
        Ok(outcome.expect("an unconditional write always applies"))
    }

    /// Stores `value` under `key` only if the key is absent (never
    /// written, deleted or expired): the new version, or `None` when the
    /// key is taken (nothing written). Errors as [`put`](Self::put).
    pub async fn insert(
        &self,
        owner: Owner<'_>,
        key: &str,
        value: &[u8],
        ttl_seconds: Option<u32>,
        quota: u64,
    ) -> ServiceResult<Option<u64>> {
        self.conditional(
            owner,
            key,
            Some(Condition::Absent),
            value,
            ttl_seconds,
            quota,
        )
        .await
    }

    /// Stores `value` under `key` only if the key is now at `expected`
    /// (`None`: absent): the new version, or `None` when it is not (nothing
    /// written). Errors as [`put`](Self::put).
    pub async fn compare_and_swap(
        &self,
        owner: Owner<'_>,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        ttl_seconds: Option<u32>,
        quota: u64,
    ) -> ServiceResult<Option<u64>> {
        let condition = expected.map_or(Condition::Absent, Condition::Version);
        self.conditional(owner, key, Some(condition), value, ttl_seconds, quota)
            .await
    }

    async fn conditional(
        &self,
        owner: Owner<'_>,
        key: &str,
        condition: Option<Condition>,
        value: &[u8],
        ttl_seconds: Option<u32>,
        quota: u64,
    ) -> ServiceResult<Option<u64>> {
        let op = BatchOp {
            key: key.to_string(),
            condition,
            action: BatchAction::Put {
                value: value.to_vec(),
                ttl_seconds,
            },
        };
        Ok(match self.run_batch(owner, vec![op], quota, false).await? {
            BatchOutcome::Applied(versions) => Some(versions[0]),
            BatchOutcome::Failed(_) => None,
        })
    }

    /// Adds `delta` to the integer counter under `key` (absent counts as
    /// 0) and returns the new value. The counter is stored as its decimal
    /// text (`get` reads e.g. `b"42"`). `ttl_seconds` sets the expiry when
    /// this call creates the key; an existing counter keeps its own.
    /// Errors: `invalid-argument("key" | "ttl-seconds")`,
    /// `invalid-argument("value")` when the stored value is not a decimal
    /// `i64`, `invalid-argument("delta")` when the sum overflows `i64`,
    /// `quota-exceeded`.
    pub async fn increment(
        &self,
        owner: Owner<'_>,
        key: &str,
        delta: i64,
        ttl_seconds: Option<u32>,
        quota: u64,
    ) -> ServiceResult<i64> {
        check_key(key)?;
        let expires = expiry(ttl_seconds, cityhost_store::now_ms())?;
        let (sp, ns) = (owner.space(), owner.ns()?);
        let quota_name = owner.quota_name();
        let db = &self.db;
        db.transact(|tx| {
            let ns = ns.clone();
            async move {
                let now = cityhost_store::now_ms();
                let version = db.next_id().await?;
                let mut usage = Usage::start(&tx, sp, &ns, now).await?;
                let current = read(&tx, sp, &ns, key, now).await?;
                let (old, expires_at_ms) = match current.live_ref() {
                    Some((value, meta)) => (parse_counter(value)?, meta.expires_at_ms),
                    None => (0, expires),
                };
                let new = old.checked_add(delta).ok_or_else(|| {
                    ServiceError::invalid("delta", "the counter would overflow i64")
                })?;
                let meta = Meta {
                    version,
                    expires_at_ms,
                };
                write(
                    &tx,
                    sp,
                    &ns,
                    key,
                    &current,
                    Some((new.to_string().as_bytes(), meta)),
                    &mut usage,
                )
                .await?;
                usage.finish(&tx, sp, &ns, quota, quota_name).await?;
                Ok(new)
            }
        })
        .await
    }

    /// Removes `key` from the owner's storage; returns whether it existed
    /// (an expired key did not).
    pub async fn remove(&self, owner: Owner<'_>, key: &str) -> ServiceResult<bool> {
        check_key(key)?;
        let (sp, ns) = (owner.space(), owner.ns()?);
        self.db
            .transact(|tx| {
                let ns = ns.clone();
                async move {
                    let now = cityhost_store::now_ms();
                    let mut usage = Usage::start(&tx, sp, &ns, now).await?;
                    let current = read(&tx, sp, &ns, key, now).await?;
                    let existed = current.live_ref().is_some();
                    write(&tx, sp, &ns, key, &current, None, &mut usage).await?;
                    usage.save(&tx, sp, &ns).await?;
                    Ok::<_, ServiceError>(existed)
                }
            })
            .await
    }

    /// Live keys of the owner starting with `prefix`, in byte order, at most
    /// `limit` (capped at [`MAX_LIST`]). Errors:
    /// `invalid-argument("prefix")`.
    pub async fn list(
        &self,
        owner: Owner<'_>,
        prefix: &str,
        limit: usize,
    ) -> ServiceResult<Vec<String>> {
        if prefix.len() > MAX_KEY_BYTES {
            return Err(ServiceError::invalid("prefix", "use at most 256 bytes"));
        }
        let (sp, ns) = (owner.space(), owner.ns()?);
        let limit = limit.min(MAX_LIST);
        let now = cityhost_store::now_ms();
        // Keys starting with `prefix` are exactly those from `prefix` up to
        // its successor; without one (an empty prefix, or one of U+10FFFF
        // only), up to the end of the namespace's keys: `(ns + "\0", "")` is
        // above every `(ns, _)`.
        let end = match successor(prefix) {
            Some(next) => (ns.clone(), next),
            None => (format!("{ns}\0"), String::new()),
        };
        self.db
            .transact(|tx| {
                let (ns, end) = (ns.clone(), end.clone());
                async move {
                    let mut keys = Vec::new();
                    let mut from = prefix.to_string();
                    while keys.len() < limit {
                        let want = limit - keys.len();
                        let scan = Scan::range((ns.as_str(), from.as_str()), &end).limit(want);
                        let rows = tx.scan(&sp.values, scan).await?;
                        let full = rows.len() == want;
                        for ((_, key), _) in rows {
                            let meta = tx.get(&sp.meta, (ns.as_str(), key.as_str())).await?;
                            // The smallest key after this one (keys hold no NUL).
                            from = format!("{key}\0");
                            if !meta.is_some_and(|m| m.expired(now)) {
                                keys.push(key);
                            }
                        }
                        if !full {
                            break;
                        }
                    }
                    Ok::<_, ServiceError>(keys)
                }
            })
            .await
    }

    /// Runs `ops` as one all-or-nothing unit: if every operation's
    /// condition holds, every write is made; otherwise nothing is, and the
    /// outcome names the first operation whose condition failed. Errors:
    /// `invalid-argument("ops")` for no operations, more than
    /// [`MAX_BATCH_OPS`], a key twice or more than [`MAX_BATCH_BYTES`] of
    /// values; `invalid-argument("key" | "value" | "ttl-seconds")`;
    /// `quota-exceeded` when the writes together would pass the quota
    /// (nothing is written then either).
    pub async fn batch(
        &self,
        owner: Owner<'_>,
        ops: Vec<BatchOp>,
        quota: u64,
    ) -> ServiceResult<BatchOutcome> {
        self.run_batch(owner, ops, quota, true).await
    }

    async fn run_batch(
        &self,
        owner: Owner<'_>,
        ops: Vec<BatchOp>,
        quota: u64,
        is_batch: bool,
    ) -> ServiceResult<BatchOutcome> {
        if is_batch {
            if ops.is_empty() || ops.len() > MAX_BATCH_OPS {
                return Err(ServiceError::invalid("ops", "use 1-64 operations"));
            }
            let mut keys: Vec<&str> = ops.iter().map(|op| op.key.as_str()).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return Err(ServiceError::invalid("ops", "name each key at most once"));
            }
            let bytes: usize = ops
                .iter()
                .map(|op| match &op.action {
                    BatchAction::Put { value, .. } => value.len(),
                    _ => 0,
                })
                .sum();
            if bytes > MAX_BATCH_BYTES {
                return Err(ServiceError::invalid(
                    "ops",
                    "use at most 1 MiB of values in all",
                ));
            }
        }
        let now = cityhost_store::now_ms();
        for op in &ops {
            check_key(&op.key)?;
            if let BatchAction::Put { value, ttl_seconds } = &op.action {
                if value.len() > MAX_VALUE_BYTES {
                    return Err(ServiceError::invalid("value", "use at most 1 MiB"));
                }
                expiry(*ttl_seconds, now)?;
            }
        }
        let (sp, ns) = (owner.space(), owner.ns()?);
        let quota_name = owner.quota_name();
        let db = &self.db;
        let ops = &ops;
        db.transact(|tx| {
            let ns = ns.clone();
            async move {
                let now = cityhost_store::now_ms();
                let mut usage = Usage::start(&tx, sp, &ns, now).await?;
                let mut current = Vec::with_capacity(ops.len());
                for (i, op) in ops.iter().enumerate() {
                    let entry = read(&tx, sp, &ns, &op.key, now).await?;
                    let version = entry.live_ref().map(|(_, meta)| meta.version);
                    let holds = match op.condition {
                        None => true,
                        Some(Condition::Absent) => version.is_none(),
                        Some(Condition::Version(v)) => version == Some(v),
                    };
                    if !holds {
                        return Ok(BatchOutcome::Failed(i as u32));
                    }
                    current.push(entry);
                }
                let version = db.next_id().await?;
                let mut versions = Vec::with_capacity(ops.len());
                for (op, entry) in ops.iter().zip(&current) {
                    match &op.action {
                        BatchAction::Put { value, ttl_seconds } => {
                            let meta = Meta {
                                version,
                                expires_at_ms: expiry(*ttl_seconds, now)?,
                            };
                            write(
                                &tx,
                                sp,
                                &ns,
                                &op.key,
                                entry,
                                Some((value, meta)),
                                &mut usage,
                            )
                            .await?;
                            versions.push(version);
                        }
                        BatchAction::Delete => {
                            write(&tx, sp, &ns, &op.key, entry, None, &mut usage).await?;
                            versions.push(0);
                        }
                        BatchAction::Check => {
                            versions.push(entry.live_ref().map_or(0, |(_, meta)| meta.version));
                        }
                    }
                }
                usage.finish(&tx, sp, &ns, quota, quota_name).await?;
                Ok::<_, ServiceError>(BatchOutcome::Applied(versions))
            }
        })
        .await
    }

    /// Everything a citizen has stored, across all apps (live keys only),
    /// ordered by app then key: for their data export.
    pub async fn citizen_entries(&self, citizen_id: &str) -> ServiceResult<Vec<CitizenEntry>> {
        let (from, to) = citizen_range(citizen_id)?;
        let now = cityhost_store::now_ms();
        self.db
            .transact(|tx| {
                let (from, to) = (from.clone(), to.clone());
                async move {
                    let rows = tx
                        .scan(
                            &CITIZEN.values,
                            Scan::range((from.as_str(), ""), (to.as_str(), "")),
                        )
                        .await?;
                    let mut entries = Vec::with_capacity(rows.len());
                    for ((ns, key), value) in rows {
                        let meta = tx.get(&CITIZEN.meta, (ns.as_str(), key.as_str())).await?;
                        if meta.is_some_and(|m| m.expired(now)) {
                            continue;
                        }
                        let app_id = ns.split_once('\0').map_or("", |(_, app)| app).to_string();
                        entries.push(CitizenEntry {
                            app_id,
                            key,
                            value,
                            expires_at_ms: meta.and_then(|m| m.expires_at_ms),
                        });
                    }
                    Ok::<_, ServiceError>(entries)
                }
            })
            .await
    }

    /// Erases everything a citizen has stored, in every app, expired keys
    /// included, in one transaction; returns how many keys were removed.
    /// For the deletion of their data.
    pub async fn erase_citizen(&self, citizen_id: &str) -> ServiceResult<u64> {
        let (from, to) = citizen_range(citizen_id)?;
        self.db
            .transact(|tx| {
                let (from, to) = (from.clone(), to.clone());
                async move {
                    let sp = &CITIZEN;
                    let range = || Scan::range((from.as_str(), ""), (to.as_str(), ""));
                    let values = tx.scan(&sp.values, range()).await?;
                    for ((ns, key), _) in &values {
                        tx.delete(&sp.values, (ns.as_str(), key.as_str())).await?;
                    }
                    for ((ns, key), _) in tx.scan(&sp.meta, range()).await? {
                        tx.delete(&sp.meta, (ns.as_str(), key.as_str())).await?;
                    }
                    let expiry = Scan::range((from.as_str(), 0u64, ""), (to.as_str(), 0u64, ""));
                    for ((ns, at, key), _) in tx.scan(&sp.expiry, expiry).await? {
                        tx.delete(&sp.expiry, (ns.as_str(), at, key.as_str()))
                            .await?;
                    }
                    let usage = Scan::range(from.as_str(), to.as_str());
                    for (ns, _) in tx.scan(&sp.usage, usage).await? {
                        tx.delete(&sp.usage, ns.as_str()).await?;
                    }
                    Ok::<_, ServiceError>(values.len() as u64)
                }
            })
            .await
    }
}

/// The namespaces of one citizen are the strings from `citizen_id NUL` up
/// to (excluding) `citizen_id U+0001`.
fn citizen_range(citizen_id: &str) -> ServiceResult<(String, String)> {
    if citizen_id.is_empty() || citizen_id.contains('\0') {
        return Err(ServiceError::invalid(
            "citizen-id",
            "a non-empty id without NUL",
        ));
    }
    Ok((format!("{citizen_id}\0"), format!("{citizen_id}\u{1}")))
}

/// A key's stored state as a transaction sees it: its value bytes and
/// meta, whether live or expired and not yet reclaimed.
struct Entry {
    value: Option<Vec<u8>>,
    meta: Option<Meta>,
    now: u64,
}

impl Entry {
    /// The value and meta if the key is live (meta of a value from before
    /// versions: version 0, no expiry).
    fn live_ref(&self) -> Option<(&[u8], Meta)> {
        let value = self.value.as_deref()?;
        let meta = self.meta.unwrap_or(Meta {
            version: 0,
            expires_at_ms: None,
        });
        (!meta.expired(self.now)).then_some((value, meta))
    }

    fn live(self) -> Option<Versioned> {
        let version = self.live_ref()?.1.version;
        Some(Versioned {
            value: self.value?,
            version,
        })
    }
}

async fn read(tx: &Tx, sp: &Space, ns: &str, key: &str, now: u64) -> ServiceResult<Entry> {
    let value = tx.get(&sp.values, (ns, key)).await?;
    let meta = tx.get(&sp.meta, (ns, key)).await?;
    Ok(Entry { value, meta, now })
}

/// Replaces `current` under `key` with `new` (value and meta) or removes
/// it (`None`), keeping the expiry index and `usage` in step.
async fn write(
    tx: &Tx,
    sp: &Space,
    ns: &str,
    key: &str,
    current: &Entry,
    new: Option<(&[u8], Meta)>,
    usage: &mut Usage,
) -> ServiceResult<()> {
    if let Some(old) = &current.value {
        usage.used = usage.used.saturating_sub((key.len() + old.len()) as u64);
    }
    if let Some(at) = current.meta.and_then(|m| m.expires_at_ms) {
        tx.delete(&sp.expiry, (ns, at, key)).await?;
    }
    match new {
        Some((value, meta)) => {
            tx.put(&sp.values, (ns, key), &value.to_vec()).await?;
            tx.put(&sp.meta, (ns, key), &meta).await?;
            if let Some(at) = meta.expires_at_ms {
                tx.put(&sp.expiry, (ns, at, key), &0u8).await?;
            }
            usage.used += (key.len() + value.len()) as u64;
        }
        None => {
            if current.value.is_some() {
                tx.delete(&sp.values, (ns, key)).await?;
            }
            if current.meta.is_some() {
                tx.delete(&sp.meta, (ns, key)).await?;
            }
        }
    }
    Ok(())
}

/// A namespace's usage through one write transaction.
struct Usage {
    /// After reclaiming expired keys, before this call's writes.
    start: u64,
    used: u64,
}

impl Usage {
    /// Reclaims up to [`MAX_SWEEP`] expired keys of `ns`, then reads its
    /// usage.
    async fn start(tx: &Tx, sp: &Space, ns: &str, now: u64) -> ServiceResult<Usage> {
        let mut used = tx.get(&sp.usage, ns).await?.unwrap_or(0);
        let due = Scan::range((ns, 0u64, ""), (ns, now.saturating_add(1), "")).limit(MAX_SWEEP);
        let due = tx.scan(&sp.expiry, due).await?;
        let swept = !due.is_empty();
        for ((_, at, key), _) in due {
            tx.delete(&sp.expiry, (ns, at, key.as_str())).await?;
            let meta = tx.get(&sp.meta, (ns, key.as_str())).await?;
            // A later write may have moved the expiry; only a key whose
            // own expiry this is goes.
            if meta.is_some_and(|m| m.expires_at_ms == Some(at)) {
                if let Some(old) = tx.get(&sp.values, (ns, key.as_str())).await? {
                    used = used.saturating_sub((key.len() + old.len()) as u64);
                    tx.delete(&sp.values, (ns, key.as_str())).await?;
                }
                tx.delete(&sp.meta, (ns, key.as_str())).await?;
            }
        }
        if swept {
            tx.put(&sp.usage, ns, &used).await?;
        }
        Ok(Usage { start: used, used })
    }

    /// Checks the quota (a write that does not grow the total always
    /// passes) and stores the usage.
    async fn finish(
        self,
        tx: &Tx,
        sp: &Space,
        ns: &str,
        quota: u64,
        name: &'static str,
    ) -> ServiceResult<()> {
        if self.used > quota && self.used > self.start {
            return Err(ServiceError::QuotaExceeded(name));
        }
        self.save(tx, sp, ns).await
    }

    /// Stores the usage if this call changed it: a write that keeps the
    /// total (a value replaced by one of the same size) leaves the
    /// record, which every write of the namespace reads, untouched, so
    /// concurrent ones do not conflict on it.
    async fn save(self, tx: &Tx, sp: &Space, ns: &str) -> ServiceResult<()> {
        if self.used != self.start {
            tx.put(&sp.usage, ns, &self.used).await?;
        }
        Ok(())
    }
}

/// The expiry time for a TTL from `now`. Errors:
/// `invalid-argument("ttl-seconds")` outside 1..=[`MAX_TTL_SECONDS`].
fn expiry(ttl_seconds: Option<u32>, now: u64) -> ServiceResult<Option<u64>> {
    match ttl_seconds {
        None => Ok(None),
        Some(s) if (1..=MAX_TTL_SECONDS).contains(&s) => Ok(Some(now + u64::from(s) * 1000)),
        Some(_) => Err(ServiceError::invalid(
            "ttl-seconds",
            format!("use 1-{MAX_TTL_SECONDS} seconds"),
        )),
    }
}

fn parse_counter(value: &[u8]) -> ServiceResult<i64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ServiceError::invalid("value", "the stored value is not a decimal integer"))
}

/// The smallest string greater than every string that starts with
/// `prefix`: the prefix with its last character replaced by the next one
/// (after dropping trailing U+10FFFF, which has none). `None` for an empty
/// prefix or one of U+10FFFF only. UTF-8 byte order is character order, so
/// this bounds the prefix's keys in the table's order too.
fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn check_key(key: &str) -> ServiceResult<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || key.contains('\0') {
        return Err(ServiceError::invalid("key", "use 1-256 bytes without NUL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    #[tokio::test]
    async fn apps_are_isolated_and_quota_is_exact() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        s.set("app-a", "k", b"secret", 100).await.unwrap();
        assert_eq!(
            s.get("app-a", "k").await.unwrap().as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(s.get("app-b", "k").await.unwrap(), None);
        assert_eq!(
            s.list_keys("app-b", "", 10).await.unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(s.usage("app-a").await.unwrap(), 7);
        // Overwrite accounts for the old value.
        s.set("app-a", "k", &[0; 90], 100).await.unwrap();
        assert_eq!(s.usage("app-a").await.unwrap(), 91);
        assert!(matches!(
            s.set("app-a", "k2", &[0; 20], 100).await,
            Err(ServiceError::QuotaExceeded("storage"))
        ));
        // The refused value left nothing behind.
        assert_eq!(s.get("app-a", "k2").await.unwrap(), None);
        assert_eq!(s.usage("app-a").await.unwrap(), 91);
        assert!(s.delete("app-a", "k").await.unwrap());
        assert!(!s.delete("app-a", "k").await.unwrap());
        assert_eq!(s.usage("app-a").await.unwrap(), 0);
        assert!(s.is_empty("app-a").await.unwrap());
        assert!(matches!(
            s.get("app-a", "").await,
            Err(ServiceError::InvalidArgument { field: "key", .. })
        ));
    }

    #[tokio::test]
    async fn list_keys_is_by_prefix_in_order_within_the_app() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        for key in ["b", "a/2", "a/1", "a", "ab", "a\u{10FFFF}", "\u{10FFFF}x"] {
            s.set("app-a", key, b"v", 1000).await.unwrap();
        }
        s.set("app-b", "a/3", b"v", 1000).await.unwrap();
        s.set("app-a0", "a/4", b"v", 1000).await.unwrap();
        let list =
            async |prefix: &str, limit: usize| s.list_keys("app-a", prefix, limit).await.unwrap();
        assert_eq!(
            list("", 100).await,
            ["a", "a/1", "a/2", "ab", "a\u{10FFFF}", "b", "\u{10FFFF}x"]
        );
        assert_eq!(list("a/", 100).await, ["a/1", "a/2"]);
        assert_eq!(
            list("a", 100).await,
            ["a", "a/1", "a/2", "ab", "a\u{10FFFF}"]
        );
        assert_eq!(list("a", 2).await, ["a", "a/1"]);
        assert_eq!(list("\u{10FFFF}", 100).await, ["\u{10FFFF}x"]);
        assert!(list("c", 100).await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn usage_is_exact_under_concurrent_calls() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        // 50 calls at once on 10 keys: sets of growing values and deletes.
        let calls = (0..50usize).map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                let key = format!("k{}", i % 10);
                if i % 7 == 3 {
                    s.delete("app-a", &key).await.map(|_| ())
                } else {
                    s.set("app-a", &key, &vec![1; i], 1 << 20).await
                }
            })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap().unwrap();
        }
        let mut expected = 0;
        for key in s.list_keys("app-a", "", 100).await.unwrap() {
            expected += (key.len() + s.get("app-a", &key).await.unwrap().unwrap().len()) as u64;
        }
        assert!(expected > 0);
        assert_eq!(s.usage("app-a").await.unwrap(), expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_quota_holds_under_concurrent_calls() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        // 40 entries of 10 bytes (a 3-byte key, a 7-byte value) at once
        // against a quota of 100 bytes: exactly 10 fit, whatever the
        // interleaving.
        let calls: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.set("app-a", &format!("k{i:02}"), &[0; 7], 100).await })
            })
            .collect();
        let mut stored = 0;
        for call in calls {
            match call.await.unwrap() {
                Ok(()) => stored += 1,
                Err(ServiceError::QuotaExceeded("storage")) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(stored, 10);
        assert_eq!(s.usage("app-a").await.unwrap(), 100);
    }

    const A: Owner<'static> = Owner::App("app-a");

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_concurrent_inserts_of_one_key_exactly_one_wins() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        for round in 0..20 {
            let key = format!("slot-{round}");
            let calls: Vec<_> = (0..16)
                .map(|i| {
                    let (s, key) = (s.clone(), key.clone());
                    tokio::spawn(async move {
                        s.insert(A, &key, format!("c{i}").as_bytes(), None, 1 << 20)
                            .await
                            .unwrap()
                            .map(|_| i)
                    })
                })
                .collect();
            let mut winners = Vec::new();
            for call in calls {
                winners.extend(call.await.unwrap());
            }
            assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
            let stored = s.get("app-a", &key).await.unwrap().unwrap();
            assert_eq!(stored, format!("c{}", winners[0]).into_bytes());
        }
    }

    #[tokio::test]
    async fn compare_and_swap_needs_the_current_version() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        // Absent: only `expected = None` succeeds.
        assert_eq!(
            s.compare_and_swap(A, "k", Some(1), b"x", None, 100)
                .await
                .unwrap(),
            None
        );
        let v1 = s
            .compare_and_swap(A, "k", None, b"a", None, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            s.compare_and_swap(A, "k", None, b"b", None, 100)
                .await
                .unwrap(),
            None
        );
        let v2 = s
            .compare_and_swap(A, "k", Some(v1), b"b", None, 100)
            .await
            .unwrap()
            .unwrap();
        assert!(v2 > v1);
        assert_eq!(
            s.compare_and_swap(A, "k", Some(v1), b"c", None, 100)
                .await
                .unwrap(),
            None
        );
        let now = s.get_versioned(A, "k").await.unwrap().unwrap();
        assert_eq!((now.value.as_slice(), now.version), (&b"b"[..], v2));
        // A deleted and re-created key never gets an old version back.
        assert!(s.remove(A, "k").await.unwrap());
        let v3 = s.insert(A, "k", b"d", None, 100).await.unwrap().unwrap();
        assert!(v3 > v2);
        assert_eq!(s.usage("app-a").await.unwrap(), 2);
    }

    #[tokio::test]
    async fn increment_counts_and_refuses_non_numbers() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        assert_eq!(s.increment(A, "n", 5, None, 100).await.unwrap(), 5);
        assert_eq!(s.increment(A, "n", -7, None, 100).await.unwrap(), -2);
        assert_eq!(s.get("app-a", "n").await.unwrap().unwrap(), b"-2");
        s.set("app-a", "t", b"text", 100).await.unwrap();
        assert!(matches!(
            s.increment(A, "t", 1, None, 100).await,
            Err(ServiceError::InvalidArgument { field: "value", .. })
        ));
        s.set("app-a", "max", i64::MAX.to_string().as_bytes(), 100)
            .await
            .unwrap();
        assert!(matches!(
            s.increment(A, "max", 1, None, 100).await,
            Err(ServiceError::InvalidArgument { field: "delta", .. })
        ));
    }

    #[tokio::test]
    async fn a_batch_is_all_or_nothing() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        let put = |key: &str, condition, value: &[u8]| BatchOp {
            key: key.into(),
            condition,
            action: BatchAction::Put {
                value: value.to_vec(),
                ttl_seconds: None,
            },
        };
        let v = s.insert(A, "b", b"1", None, 1000).await.unwrap().unwrap();
        let failed = s
            .batch(
                A,
                vec![
                    put("a", Some(Condition::Absent), b"x"),
                    put("b", Some(Condition::Absent), b"y"),
                ],
                1000,
            )
            .await
            .unwrap();
        assert_eq!(failed, BatchOutcome::Failed(1));
        assert_eq!(s.get("app-a", "a").await.unwrap(), None);
        let applied = s
            .batch(
                A,
                vec![
                    put("a", Some(Condition::Absent), b"x"),
                    BatchOp {
                        key: "b".into(),
                        condition: Some(Condition::Version(v)),
                        action: BatchAction::Delete,
                    },
                ],
                1000,
            )
            .await
            .unwrap();
        let BatchOutcome::Applied(versions) = applied else {
            panic!("{applied:?}")
        };
        assert!(versions[0] > v && versions[1] == 0);
        assert_eq!(s.get("app-a", "b").await.unwrap(), None);
        // Over the quota together: nothing written.
        let big = s
            .batch(
                A,
                vec![put("c", None, &[0; 500]), put("d", None, &[0; 500])],
                1000,
            )
            .await;
        assert!(matches!(big, Err(ServiceError::QuotaExceeded("storage"))));
        assert_eq!(s.get("app-a", "c").await.unwrap(), None);
        assert_eq!(s.usage("app-a").await.unwrap(), 2);
        // Bad batches name the field.
        let twice = s
            .batch(A, vec![put("a", None, b""), put("a", None, b"")], 1000)
            .await;
        assert!(matches!(
            twice,
            Err(ServiceError::InvalidArgument { field: "ops", .. })
        ));
        let many = (0..65).map(|i| put(&format!("k{i}"), None, b"")).collect();
        assert!(matches!(
            s.batch(A, many, 1000).await,
            Err(ServiceError::InvalidArgument { field: "ops", .. })
        ));
    }

    #[tokio::test]
    async fn expired_keys_are_invisible_and_reclaimed() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        s.put(A, "short", &[0; 40], Some(1), 100).await.unwrap();
        s.put(A, "long", b"v", Some(3600), 100).await.unwrap();
        assert_eq!(s.usage("app-a").await.unwrap(), 50);
        assert!(matches!(
            s.put(A, "x", b"v", Some(0), 100).await,
            Err(ServiceError::InvalidArgument {
                field: "ttl-seconds",
                ..
            })
        ));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(s.get("app-a", "short").await.unwrap(), None);
        assert_eq!(s.list_keys("app-a", "", 10).await.unwrap(), ["long"]);
        // The expired key takes no quota: 90 bytes fit beside "long".
        s.put(A, "new", &[0; 87], None, 100).await.unwrap();
        assert_eq!(s.usage("app-a").await.unwrap(), 95);
        assert!(
            s.insert(A, "short", b"again", None, 200)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn citizens_have_their_own_namespaces_to_export_and_erase() {
        let (_dir, db) = temp_db();
        let s = AppStorage::new(db);
        let alice = Owner::Citizen {
            app_id: "app-a",
            citizen_id: "c1",
        };
        let bob = Owner::Citizen {
            app_id: "app-a",
            citizen_id: "c2",
        };
        let alice_b = Owner::Citizen {
            app_id: "app-b",
            citizen_id: "c1",
        };
        s.put(alice, "k", b"alice", None, 100).await.unwrap();
        s.put(alice_b, "k", b"alice in b", None, 100).await.unwrap();
        s.put(bob, "k", b"bob", None, 100).await.unwrap();
        assert_eq!(
            s.get_versioned(bob, "k").await.unwrap().unwrap().value,
            b"bob"
        );
        assert_eq!(s.get("app-a", "k").await.unwrap(), None);
        assert!(matches!(
            s.put(alice, "big", &[0; 100], None, 100).await,
            Err(ServiceError::QuotaExceeded("citizen-storage"))
        ));
        let entries = s.citizen_entries("c1").await.unwrap();
        let apps: Vec<_> = entries
            .iter()
            .map(|e| (e.app_id.as_str(), e.value.as_slice()))
            .collect();
        assert_eq!(
            apps,
            [("app-a", &b"alice"[..]), ("app-b", &b"alice in b"[..])]
        );
        assert_eq!(s.erase_citizen("c1").await.unwrap(), 2);
        assert!(s.citizen_entries("c1").await.unwrap().is_empty());
        assert_eq!(s.usage_of(alice).await.unwrap(), 0);
        assert_eq!(
            s.get_versioned(bob, "k").await.unwrap().unwrap().value,
            b"bob"
        );
    }
}
