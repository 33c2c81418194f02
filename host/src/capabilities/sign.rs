//! `cityhost:miniapp/sign`: the app's claims signed by the host with the
//! app's own Ed25519 key, as a compact JWS that anyone can check offline
//! against the app's JWK Set (`/.well-known/apps/{app_id}/jwks.json`).
//! The keys, their sealing and rotation are the domain's
//! ([`crate::app_signing`]).

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::sign::{Error, Host};
use crate::error::ServiceError;
use crate::manifest::Permission;

/// The `sign` capability: signatures of the app's claims.
pub(crate) struct Sign;

impl Capability for Sign {
    const PERMISSION: Permission = Permission::Sign;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::sign::add_to_linker::<_, HasSelf<_>>(
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
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("sign")),
        })
    }

    async fn sign(&mut self, claims_json: String) -> Result<String, CapabilityError> {
        self.call(Permission::Sign, "sign.sign", |s| {
            Box::pin(async move {
                s.services
                    .signing
                    .sign(&s.context.manifest.id, &claims_json)
                    .await
                    .map_err(|e| match e {
                        // The app's own mistake: say what is wrong with
                        // which claim (the reason holds no secret).
                        ServiceError::InvalidArgument { field, reason } => {
                            CapabilityError::InvalidArgument(format!("{field}: {reason}"))
                        }
                        other => other.into(),
                    })
            })
        })
        .await
    }
}
