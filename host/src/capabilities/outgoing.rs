//! The host's `wasi:http` outgoing policy for a request's instance.
//! Outgoing requests (`wasi:http/outgoing-handler`, part of the proxy
//! world) are linked so that standard components load, and every one is
//! refused with `HTTP-request-denied`: mini-apps reach the network only
//! through host capabilities.

use hyper::http;
use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// The host's `wasi:http` policy: no outgoing requests.
#[derive(Debug, Default)]
pub struct DenyOutgoing;

impl WasiHttpHooks for DenyOutgoing {
    fn send_request(
        &mut self,
        _request: http::Request<WasiBody>,
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
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
