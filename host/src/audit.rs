//! The audit log: one record per capability call (time, app, release,
//! openid, capability, outcome, duration), in its own tree, listable by app
//! and time range. Records hold no personal data: citizens appear only by
//! their per-app openid, and arguments are never recorded.
//!
//! Key layout (`audit` tree): `app_id \0 time (u64 BE, UTC ns) seq (u64 BE)`.

use serde::{Deserialize, Serialize};

use crate::error::ServiceResult;
use crate::store::{Store, StoreError, key, trees};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Time of the call, UTC ms.
    pub time: u64,
    /// App id.
    pub app: String,
    /// Release (the app's version) that made the call.
    pub release: String,
    /// The citizen's openid for this app, when a citizen was present.
    pub openid: Option<String>,
    /// Interface and function, e.g. `payment.create-order`.
    pub capability: String,
    /// `ok`, or the WIT error variant (`not-permitted`, `consent-required`, ...).
    pub outcome: String,
    /// Host time spent in the call, µs.
    pub duration_us: u64,
}

/// The audit log.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    tree: sled::Tree,
}

impl AuditLog {
    /// Opens the audit tree.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            store: store.clone(),
            tree: store.tree(trees::AUDIT)?,
        })
    }

    /// Appends a record.
    pub fn append(&self, record: &AuditRecord) -> ServiceResult<()> {
        let seq = self.store.next_id()?;
        let mut suffix = (record.time * 1_000_000).to_be_bytes().to_vec();
        suffix.extend_from_slice(&seq.to_be_bytes());
        let k = key(&[record.app.as_bytes(), &suffix]);
        self.tree
            .insert(k, serde_json::to_vec(record).map_err(StoreError::from)?)?;
        Ok(())
    }

    /// Records of `app` with `from_ms <= time < to_ms`, oldest first, at most
    /// `limit`.
    pub fn list(
        &self,
        app: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> ServiceResult<Vec<AuditRecord>> {
        let start = key(&[
            app.as_bytes(),
            &from_ms.saturating_mul(1_000_000).to_be_bytes(),
        ]);
        let end = key(&[
            app.as_bytes(),
            &to_ms.saturating_mul(1_000_000).to_be_bytes(),
        ]);
        self.tree
            .range(start..end)
            .values()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(StoreError::from)?))
            .collect()
    }
}
