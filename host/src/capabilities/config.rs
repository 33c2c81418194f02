//! `cityhost:miniapp/config`: the app's variables and secrets, set by its
//! department through the department API without republishing
//! ([`crate::app_config`]); each read goes to the store, so a change is
//! seen by the next request. Neither names' values nor secrets reach the
//! audit record or the log.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::app_config::Kind;
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::config::{Error, Host};
use crate::error::ServiceError;
use crate::manifest::Permission;

/// The `config` capability: the app's variables and secrets.
pub(crate) struct Config;

impl Capability for Config {
    const PERMISSION: Permission = Permission::Config;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::config::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}

/// A domain error as this interface's [`CapabilityError`]: a bad name
/// says what a name may be.
fn capability_error(e: ServiceError) -> CapabilityError {
    match e {
        ServiceError::InvalidArgument { field, reason } => {
            CapabilityError::InvalidArgument(format!("{field}: {reason}"))
        }
        other => other.into(),
    }
}

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::InvalidArgument(s) => Error::InvalidArgument(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("config")),
        })
    }

    async fn get(&mut self, name: String) -> Result<Option<String>, CapabilityError> {
        self.call(Permission::Config, "config.get", |s| {
            Box::pin(async move {
                s.services
                    .config
                    .get(&s.context.manifest.id, Kind::Variable, &name)
                    .await
                    .map_err(capability_error)
            })
        })
        .await
    }

    async fn secret(&mut self, name: String) -> Result<Option<String>, CapabilityError> {
        self.call(Permission::Config, "config.secret", |s| {
            Box::pin(async move {
                s.services
                    .config
                    .get(&s.context.manifest.id, Kind::Secret, &name)
                    .await
                    .map_err(capability_error)
            })
        })
        .await
    }
}
