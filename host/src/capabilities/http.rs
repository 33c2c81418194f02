//! `cityhost:miniapp/http`: calls to the department's own systems, the
//! origins of the manifest's `[http] allow` (the policy is
//! [`crate::outbound`]'s, shared with `wasi:http`).

use bytes::Bytes;
use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::http::{Error, Host, Request, Response};
use crate::manifest::Permission;
use crate::outbound::{OutboundError, OutboundRequest};

/// The `http` capability: outbound calls to allowed origins.
pub(crate) struct Http;

impl Capability for Http {
    const PERMISSION: Permission = Permission::Http;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::http::add_to_linker::<_, HasSelf<_>>(
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
            CapabilityError::TooLarge(s) => Error::TooLarge(s),
            CapabilityError::Timeout(s) => Error::Timeout(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("http")),
        })
    }

    async fn send(&mut self, request: Request) -> Result<Response, CapabilityError> {
        self.call(Permission::Http, "http.send", |s| {
            Box::pin(async move {
                let call = s.outgoing.call().map_err(capability_error)?;
                let request = OutboundRequest {
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    body: Bytes::from(request.body),
                };
                let result = call.send(request, &mut s.audit_detail).await;
                let response = result.map_err(capability_error)?;
                Ok(Response {
                    status: response.status,
                    headers: response.headers,
                    body: response.body.to_vec(),
                })
            })
        })
        .await
    }
}

/// The audit outcome of a failed outbound call: its WIT case's name.
pub(super) fn outcome(e: &OutboundError) -> &'static str {
    capability_error(e.clone()).outcome()
}

/// The [`CapabilityError`] for an outbound failure.
fn capability_error(e: OutboundError) -> CapabilityError {
    let text = e.to_string();
    match e {
        OutboundError::NotAllowed { .. }
        | OutboundError::OverCap { .. }
        | OutboundError::PrivateAddress { .. } => {
            CapabilityError::NotPermitted(text)
        }
        OutboundError::Invalid { .. } => CapabilityError::InvalidArgument(text),
        OutboundError::Limit(limit) => CapabilityError::QuotaExceeded(limit.into()),
        OutboundError::RequestTooLarge(_) => CapabilityError::TooLarge(format!("request: {text}")),
        OutboundError::ResponseTooLarge(_) => {
            CapabilityError::TooLarge(format!("response: {text}"))
        }
        OutboundError::Timeout(_) => CapabilityError::Timeout(text),
        OutboundError::Unreachable(_) => CapabilityError::Unavailable(text),
    }
}
