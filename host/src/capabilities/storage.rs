//! `cityhost:miniapp/storage`: the app's private key-value store, within
//! its quota, with atomic operations (insert if absent, compare-and-swap,
//! increment, all-or-nothing batches) and per-key expiry.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::app_storage::{self, DEFAULT_QUOTA_BYTES, Owner};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::storage::{
    BatchAction, BatchOp, BatchOutcome, Condition, Error, Host, Versioned,
};
use crate::manifest::Permission;

/// The `storage` capability: the app's private key-value store.
pub(crate) struct Storage;

impl Capability for Storage {
    const PERMISSION: Permission = Permission::Storage;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::storage::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}

impl RequestState {
    /// The app's storage quota, bytes: the manifest's
    /// `limits.storage-bytes`, else the default.
    fn storage_quota(&self) -> u64 {
        self.context
            .manifest
            .limits
            .storage_bytes
            .unwrap_or(DEFAULT_QUOTA_BYTES)
    }
}

/// A domain batch operation from the WIT one.
fn batch_op(op: BatchOp) -> app_storage::BatchOp {
    app_storage::BatchOp {
        key: op.key,
        condition: op.condition.map(|c| match c {
            Condition::Absent => app_storage::Condition::Absent,
            Condition::Version(v) => app_storage::Condition::Version(v),
        }),
        action: match op.action {
            BatchAction::Put(p) => app_storage::BatchAction::Put {
                value: p.value,
                ttl_seconds: p.ttl_seconds,
            },
            BatchAction::Delete => app_storage::BatchAction::Delete,
            BatchAction::Check => app_storage::BatchAction::Check,
        },
    }
}

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::InvalidArgument(s) => Error::InvalidArgument(s),
            CapabilityError::QuotaExceeded(s) => Error::QuotaExceeded(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("storage")),
        })
    }

    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, CapabilityError> {
        self.call(Permission::Storage, "storage.get", |s| {
            Box::pin(async move { Ok(s.services.storage.get(&s.context.manifest.id, &key).await?) })
        })
        .await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), CapabilityError> {
        self.call(Permission::Storage, "storage.set", |s| {
            Box::pin(async move {
                let quota = s.storage_quota();
                Ok(s.services
                    .storage
                    .set(&s.context.manifest.id, &key, &value, quota)
                    .await?)
            })
        })
        .await
    }

    async fn delete(&mut self, key: String) -> Result<bool, CapabilityError> {
        self.call(Permission::Storage, "storage.delete", |s| {
            Box::pin(async move { Ok(s.services.storage.delete(&s.context.manifest.id, &key).await?) })
        })
        .await
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, CapabilityError> {
        self.call(Permission::Storage, "storage.list-keys", |s| {
            Box::pin(async move {
                Ok(s.services
                    .storage
                    .list_keys(&s.context.manifest.id, &prefix, limit as usize)
                    .await?)
            })
        })
        .await
    }

    async fn get_versioned(&mut self, key: String) -> Result<Option<Versioned>, CapabilityError> {
        self.call(Permission::Storage, "storage.get-versioned", |s| {
            Box::pin(async move {
                let owner = Owner::App(&s.context.manifest.id);
                Ok(s.services
                    .storage
                    .get_versioned(owner, &key)
                    .await?
                    .map(|v| Versioned {
                        value: v.value,
                        version: v.version,
                    }))
            })
        })
        .await
    }

    async fn put(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> Result<u64, CapabilityError> {
        self.call(Permission::Storage, "storage.put", |s| {
            Box::pin(async move {
                let (owner, quota) = (Owner::App(&s.context.manifest.id), s.storage_quota());
                Ok(s.services
                    .storage
                    .put(owner, &key, &value, ttl_seconds, quota)
                    .await?)
            })
        })
        .await
    }

    async fn insert(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> Result<Option<u64>, CapabilityError> {
        self.call(Permission::Storage, "storage.insert", |s| {
            Box::pin(async move {
                let (owner, quota) = (Owner::App(&s.context.manifest.id), s.storage_quota());
                Ok(s.services
                    .storage
                    .insert(owner, &key, &value, ttl_seconds, quota)
                    .await?)
            })
        })
        .await
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<u64>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> Result<Option<u64>, CapabilityError> {
        self.call(Permission::Storage, "storage.compare-and-swap", |s| {
            Box::pin(async move {
                let (owner, quota) = (Owner::App(&s.context.manifest.id), s.storage_quota());
                Ok(s.services
                    .storage
                    .compare_and_swap(owner, &key, expected, &value, ttl_seconds, quota)
                    .await?)
            })
        })
        .await
    }

    async fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_seconds: Option<u32>,
    ) -> Result<i64, CapabilityError> {
        self.call(Permission::Storage, "storage.increment", |s| {
            Box::pin(async move {
                let (owner, quota) = (Owner::App(&s.context.manifest.id), s.storage_quota());
                Ok(s.services
                    .storage
                    .increment(owner, &key, delta, ttl_seconds, quota)
                    .await?)
            })
        })
        .await
    }

    async fn batch(&mut self, ops: Vec<BatchOp>) -> Result<BatchOutcome, CapabilityError> {
        self.call(Permission::Storage, "storage.batch", |s| {
            Box::pin(async move {
                let (owner, quota) = (Owner::App(&s.context.manifest.id), s.storage_quota());
                let ops = ops.into_iter().map(batch_op).collect();
                Ok(match s.services.storage.batch(owner, ops, quota).await? {
                    app_storage::BatchOutcome::Applied(v) => BatchOutcome::Applied(v),
                    app_storage::BatchOutcome::Failed(i) => BatchOutcome::Failed(i),
                })
            })
        })
        .await
    }
}
