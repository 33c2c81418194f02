//! Standard components: a mini-app may export `wasi:http/incoming-handler`
//! (the `wasi:http/proxy` world, e.g. written with `wstd`) instead of the
//! platform's own `cityhost:miniapp/handler`. The host turns the same
//! [`Request`] record into a `wasi:http` incoming request, runs the
//! component's `handle` and collects its response into the same
//! [`Response`] record, so routing, limits, capabilities and audit do not
//! depend on which export an app has.
//!
//! Outgoing requests go through the host's outbound policy, the same as
//! the `http` capability's ([`crate::capabilities::outgoing`]).

use std::pin::pin;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::http;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use super::MAX_RESPONSE_BYTES;
use crate::capabilities::RequestState;
use crate::capabilities::bindings::{Method, Request, Response};

/// Authority of the incoming request a `wasi:http` component sees: apps
/// are addressed by path, never by host name.
const AUTHORITY: &str = "miniapp.cityhost.internal";

/// Why a `wasi:http` component gave no usable response.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The component answered through `response-outparam.set` with an error.
    #[error("the component answered with the wasi:http error {0}")]
    ErrorCode(String),
    /// `handle` returned without setting the response.
    #[error("the component returned without setting a response")]
    NoResponse,
    /// The response body failed or exceeded [`MAX_RESPONSE_BYTES`].
    #[error("the component's response body failed: {0}")]
    Body(String),
}

/// Instantiates `pre` in `store` and runs one request through its
/// `wasi:http/incoming-handler`, reading the response body while the guest
/// writes it. The body wait ends at `deadline` (a guest that never finishes
/// its body is interrupted like one that never returns).
pub(super) async fn call(
    pre: &ProxyPre<RequestState>,
    store: &mut Store<RequestState>,
    request: Request,
    deadline: Instant,
) -> wasmtime::Result<Response> {
    let incoming = to_http(request)?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let proxy = pre.instantiate_async(&mut *store).await?;
    let mut http = store.data_mut().http();
    let incoming = http.new_incoming_request(Scheme::Http, incoming)?;
    let outparam = http.new_response_outparam(sender)?;

    let handle = pin!(proxy.wasi_http_incoming_handler().call_handle(
        &mut *store,
        incoming,
        outparam
    ));
    let read = pin!(tokio::time::timeout_at(deadline.into(), async {
        match receiver.await {
            Ok(Ok(response)) => collect(response).await,
            Ok(Err(code)) => Err(ProxyError::ErrorCode(format!("{code:?}"))),
            Err(_) => Err(ProxyError::NoResponse),
        }
    }));
    let (mut handle, mut read) = (handle, read);
    let mut response = None;
    let handled = loop {
        tokio::select! {
            handled = &mut handle => break handled,
            r = &mut read, if response.is_none() => response = Some(r),
        }
    };
    handled?;
    let response = match response {
        Some(r) => r,
        None => read.await,
    };
    match response {
        Ok(response) => Ok(response?),
        Err(_elapsed) => Err(wasmtime::Trap::Interrupt.into()),
    }
}

fn to_http(request: Request) -> wasmtime::Result<http::Request<Full<Bytes>>> {
    let method = match request.method {
        Method::Get => http::Method::GET,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        Method::Patch => http::Method::PATCH,
        Method::Delete => http::Method::DELETE,
        Method::Head => http::Method::HEAD,
        Method::Options => http::Method::OPTIONS,
    };
    let mut uri = request.path;
    if !request.query.is_empty() {
        uri.push('?');
        uri.push_str(&serde_urlencoded::to_string(&request.query)?);
    }
    let mut builder = http::Request::builder()
        .method(method)
        .uri(http::Uri::builder().path_and_query(uri).build()?)
        .header(http::header::HOST, AUTHORITY);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(Full::new(Bytes::from(request.body)))?)
}

async fn collect(
    response: http::Response<wasmtime_wasi_http::p2::body::HyperOutgoingBody>,
) -> Result<Response, ProxyError> {
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| ProxyError::Body(e.to_string()))?
        .to_bytes();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    Ok(Response {
        status: parts.status.as_u16(),
        headers,
        body: body.to_vec(),
    })
}
