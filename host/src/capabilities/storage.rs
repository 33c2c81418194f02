//! `cityhost:miniapp/storage`: the app's private key-value store, within
//! its quota.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::app_storage::DEFAULT_QUOTA_BYTES;
use crate::manifest::Permission;
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::storage::{Error, Host};

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
                let quota = s
                    .context
                    .manifest
                    .limits
                    .storage_bytes
                    .unwrap_or(DEFAULT_QUOTA_BYTES);
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
}
