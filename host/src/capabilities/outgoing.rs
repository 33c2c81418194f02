//! A request's outbound calls: what both outbound paths share for one
//! request (the app's `[http]` policy, its calls so far, the deadline),
//! and the host's `wasi:http/outgoing-handler` for standard components,
//! which sends through the same [`Outbound::send`] as the `http`
//! capability and is audited the same way (`http.send`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::http;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::manifest::Manifest;
use crate::manifest::http::HttpPolicy;
use crate::outbound::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use crate::services::Services;

/// One request's outbound calls.
pub struct Outgoing {
    outbound: Arc<Outbound>,
    /// The host's services, for the audit log of `wasi:http` calls.
    services: Arc<Services>,
    manifest: Arc<Manifest>,
    openid: Option<String>,
    /// The app's `[http]` policy, resolved at the first call.
    policy: Option<Arc<HttpPolicy>>,
    calls: u32,
    /// When the request's deadline passes; no call outlives it.
    pub(crate) deadline: Instant,
}

/// Leave for one call: everything it needs, owned, so that the call may
/// run as a `'static` future (as `wasi:http` requires).
pub(super) struct Call {
    outbound: Arc<Outbound>,
    app: String,
    policy: Arc<HttpPolicy>,
    deadline: Instant,
}

impl Outgoing {
    /// A request's outbound state; `deadline` is set by the runtime when
    /// the request starts.
    pub(super) fn new(
        outbound: Arc<Outbound>,
        services: Arc<Services>,
        manifest: Arc<Manifest>,
        openid: Option<String>,
    ) -> Self {
        Self {
            outbound,
            services,
            manifest,
            openid,
            policy: None,
            calls: 0,
            deadline: Instant::now() + crate::runtime::DEFAULT_TIMEOUT,
        }
    }

    /// Counts one call against `http.calls-per-request` and gives its
    /// leave. Errors: [`OutboundError::Limit`] once the calls are used up,
    /// [`OutboundError::NotAllowed`] (for any origin) when the app lists
    /// none.
    pub(super) fn call(&mut self) -> Result<Call, OutboundError> {
        let policy = match &self.policy {
            Some(policy) => policy.clone(),
            None => {
                // Checked when the manifest was loaded; a failure here
                // means no origin is allowed.
                let policy = Arc::new(self.manifest.http_policy().unwrap_or_else(|_| {
                    crate::manifest::http::HttpSection::default()
                        .policy()
                        .expect("the default policy is valid")
                }));
                self.policy = Some(policy.clone());
                policy
            }
        };
        if self.calls >= policy.calls_per_request {
            return Err(OutboundError::Limit("http.calls-per-request"));
        }
        self.calls += 1;
        Ok(Call {
            outbound: self.outbound.clone(),
            app: self.manifest.id.clone(),
            policy,
            deadline: self.deadline,
        })
    }
}

impl Call {
    /// Sends `request`, adding what it did to `detail`.
    pub(super) async fn send(
        self,
        request: OutboundRequest,
        detail: &mut Vec<(String, String)>,
    ) -> Result<OutboundResponse, OutboundError> {
        self.outbound
            .send(&self.app, &self.policy, request, self.deadline, detail)
            .await
    }
}

impl WasiHttpHooks for Outgoing {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                    ),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let mut audit = self.services.audit.begin(
            &self.manifest.id,
            &self.manifest.version,
            self.openid.clone(),
            "http.send",
        );
        let call = self.call();
        Box::new(async move {
            let mut detail = Vec::new();
            let result = match call {
                Ok(call) => match wasi_request(request).await {
                    Ok(request) => call.send(request, &mut detail).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            for (name, value) in detail {
                audit.detail(&name, value);
            }
            audit.finish(match &result {
                Ok(_) => "ok",
                Err(e) => super::http::outcome(e),
            });
            let response = result.map_err(|e| wasi_error(&e))?;
            let mut builder = http::Response::builder().status(response.status);
            for (name, value) in &response.headers {
                builder = builder.header(name, value);
            }
            let body: WasiBody = Full::new(response.body)
                .map_err(|never| match never {})
                .boxed_unsync();
            let response = builder
                .body(body)
                .map_err(|_| wasmtime_wasi_http::Error::HttpProtocolError)?;
            let done: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

/// The guest's `wasi:http` request as an [`OutboundRequest`]: its body read
/// whole (the limit is checked by [`Outbound::send`]; a body the guest
/// never finishes is bounded by the request's deadline).
async fn wasi_request(request: http::Request<WasiBody>) -> Result<OutboundRequest, OutboundError> {
    let (parts, body) = request.into_parts();
    let body: Bytes = body
        .collect()
        .await
        .map_err(|e| OutboundError::Invalid {
            field: "body",
            reason: format!("{e:?}"),
        })?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !crate::outbound::is_hop_by_hop(name.as_str()))
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    Ok(OutboundRequest {
        method: parts.method.to_string(),
        url: parts.uri.to_string(),
        headers,
        body,
    })
}

/// The `wasi:http` error code for an outbound failure.
fn wasi_error(e: &OutboundError) -> wasmtime_wasi_http::Error {
    use wasmtime_wasi_http::Error as E;
    match e {
        OutboundError::NotAllowed { .. }
        | OutboundError::OverCap { .. }
        | OutboundError::Limit(_) => E::HttpRequestDenied,
        OutboundError::PrivateAddress { .. } => E::DestinationIpProhibited,
        OutboundError::Invalid {
            field: "method", ..
        } => E::HttpRequestMethodInvalid,
        OutboundError::Invalid { .. } => E::HttpRequestUriInvalid,
        OutboundError::RequestTooLarge(n) => E::HttpRequestBodySize(Some(*n as u64)),
        OutboundError::ResponseTooLarge(n) => E::HttpResponseBodySize(Some(*n as u64)),
        OutboundError::Timeout(_) => E::HttpResponseTimeout,
        OutboundError::Unreachable(_) => E::DestinationUnavailable,
    }
}
