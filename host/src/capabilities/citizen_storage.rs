//! `cityhost:miniapp/citizen-storage`: the signed-in citizen's own
//! key-value store inside the app, one namespace per (app, citizen) with
//! its own quota ([`DEFAULT_CITIZEN_QUOTA_BYTES`]). The same operations as
//! `storage` over the same domain service ([`Owner::Citizen`]); a call
//! without a signed-in citizen is `not-permitted`.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::app_storage::{self, DEFAULT_CITIZEN_QUOTA_BYTES, Owner};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::citizen_storage::{
    BatchAction, BatchOp, BatchOutcome, Condition, Error, Host, Versioned,
};
use crate::manifest::Permission;

/// The `citizen-storage` capability.
pub(crate) struct CitizenStorage;

impl Capability for CitizenStorage {
    const PERMISSION: Permission = Permission::CitizenStorage;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::citizen_storage::add_to_linker::<
            _,
            HasSelf<_>,
        >(linker, |state| state)
    }
}

/// Runs `$body` with `$owner` bound to the current citizen's namespace in
/// this app (or fails `not-permitted` without a citizen), audited as
/// `citizen-storage.$name`.
macro_rules! in_namespace {
    ($self:ident, $name:literal, |$s:ident, $owner:ident| $body:expr) => {
        $self
            .call(Permission::CitizenStorage, $name, |$s| {
                Box::pin(async move {
                    let citizen_id = $s.citizen()?;
                    let $owner = Owner::Citizen {
                        app_id: &$s.context.manifest.id,
                        citizen_id: &citizen_id,
                    };
                    $body.await.map_err(CapabilityError::from)
                })
            })
            .await
    };
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

const QUOTA: u64 = DEFAULT_CITIZEN_QUOTA_BYTES;

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::InvalidArgument(s) => Error::InvalidArgument(s),
            CapabilityError::QuotaExceeded(s) => Error::QuotaExceeded(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("citizen-storage")),
        })
    }

    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, CapabilityError> {
        in_namespace!(self, "citizen-storage.get", |s, owner| async {
            let found = s.services.storage.get_versioned(owner, &key).await?;
            Ok::<_, CapabilityError>(found.map(|v| v.value))
        })
    }

    async fn get_versioned(&mut self, key: String) -> Result<Option<Versioned>, CapabilityError> {
        in_namespace!(self, "citizen-storage.get-versioned", |s, owner| async {
            let found = s.services.storage.get_versioned(owner, &key).await?;
            Ok::<_, CapabilityError>(found.map(|v| Versioned {
                value: v.value,
                version: v.version,
            }))
        })
    }

    async fn put(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> Result<u64, CapabilityError> {
        in_namespace!(self, "citizen-storage.put", |s, owner| s
            .services
            .storage
            .put(owner, &key, &value, ttl_seconds, QUOTA))
    }

    async fn insert(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> Result<Option<u64>, CapabilityError> {
        in_namespace!(self, "citizen-storage.insert", |s, owner| s
            .services
            .storage
            .insert(owner, &key, &value, ttl_seconds, QUOTA))
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<u64>,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> Result<Option<u64>, CapabilityError> {
        in_namespace!(self, "citizen-storage.compare-and-swap", |s, owner| s
            .services
            .storage
            .compare_and_swap(owner, &key, expected, &value, ttl_seconds, QUOTA))
    }

    async fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_seconds: Option<u32>,
    ) -> Result<i64, CapabilityError> {
        in_namespace!(self, "citizen-storage.increment", |s, owner| s
            .services
            .storage
            .increment(owner, &key, delta, ttl_seconds, QUOTA))
    }

    async fn delete(&mut self, key: String) -> Result<bool, CapabilityError> {
        in_namespace!(self, "citizen-storage.delete", |s, owner| s
            .services
            .storage
            .remove(owner, &key))
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, CapabilityError> {
        in_namespace!(self, "citizen-storage.list-keys", |s, owner| s
            .services
            .storage
            .list(owner, &prefix, limit as usize))
    }

    async fn batch(&mut self, ops: Vec<BatchOp>) -> Result<BatchOutcome, CapabilityError> {
        in_namespace!(self, "citizen-storage.batch", |s, owner| async {
            let ops = ops.into_iter().map(batch_op).collect();
            Ok::<_, CapabilityError>(match s.services.storage.batch(owner, ops, QUOTA).await? {
                app_storage::BatchOutcome::Applied(v) => BatchOutcome::Applied(v),
                app_storage::BatchOutcome::Failed(i) => BatchOutcome::Failed(i),
            })
        })
    }
}
