//! Hello over standard `wasi:http`: a component of the `wasi:http/proxy`
//! world written with `wstd` instead of the CityHost SDK. CityHost serves
//! it as a mini-app (same manifest, limits and audit), and the very same
//! file runs under `wasmtime serve`.
//!
//! - `GET /` → `200 text/plain`: a greeting and the host's request id
//!   (`x-cityhost-request-id`, absent under other hosts).
//! - `GET /headers` → `200 text/plain`: the request headers the component
//!   received, one `name: value` line each (what a host passes on).
//! - anything else → `404 text/plain`.

use wstd::http::{Body, Error, Request, Response, StatusCode};

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    if request.uri().path() == "/headers" {
        let lines: String = request
            .headers()
            .iter()
            .map(|(name, value)| format!("{name}: {}\n", value.to_str().unwrap_or("?")))
            .collect();
        return Ok(text(StatusCode::OK, lines));
    }
    if request.uri().path() != "/" {
        return Ok(text(StatusCode::NOT_FOUND, "没有这个页面\n".to_string()));
    }
    let request_id = request
        .headers()
        .get("x-cityhost-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    Ok(text(
        StatusCode::OK,
        format!("你好，wasi:http！\nrequest id: {request_id}\n"),
    ))
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        "text/plain; charset=utf-8"
            .parse()
            .expect("a valid header value"),
    );
    response
}
