//! The limit of the HTTP comparison: a native axum handler inside the host
//! process doing the work CityHost does around a trivial mini-app, without
//! WebAssembly — the session cookie checked (JWT + session record), the
//! citizen's account read, the per-app openid derived, one audit record
//! written, and a text answer with a request id.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cityhost::audit::AuditRecord;
use cityhost::identity::sessions::COOKIE;
use cityhost::platform::{HostConfig, Platform};

/// App id the native handler audits under.
const APP_ID: &str = "native-hello";

/// Serves the host's router plus `GET /native/hello` on `bind`, with its
/// data in `data_dir`, until ctrl-c.
pub async fn serve(bind: SocketAddr, data_dir: std::path::PathBuf) -> anyhow::Result<()> {
    let platform = Platform::open(&HostConfig::new(data_dir)).await?;
    let app = Router::new()
        .route("/native/hello", get(hello))
        .with_state(platform.clone())
        .merge(cityhost::http::router(platform.clone()));
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!(
        "native handler at http://{}/native/hello",
        listener.local_addr()?
    );
    cityhost::http::serve_app(listener, platform, app, cityhost::http::shutdown_signal()).await?;
    Ok(())
}

async fn hello(State(platform): State<Arc<Platform>>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let services = &platform.services;
    let Some(token) = cookie(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(session) = services.sessions.check(&token).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(Some(_citizen)) = services.accounts.get(&session.citizen_id).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(openid) = services.openids.openid(APP_ID, &session.citizen_id).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let record = AuditRecord {
        time: cityhost_store::now_ms(),
        app: APP_ID.into(),
        release: "0.1.0".into(),
        openid: Some(openid),
        capability: "request".into(),
        outcome: "200".into(),
        duration_us: started.elapsed().as_micros() as u64,
        detail: Vec::new(),
        seq: 0,
        hash: String::new(),
    };
    if services.audit.append(record).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("你好，wasi:http！\nrequest id: {request_id}\n"),
    )
        .into_response()
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}
