//! The HTTP face of the host (axum): the shell's API under `/api`, mini-apps
//! under `/apps/{app_id}/...`, the web shell at `/`, and `/healthz`.

mod accounts;
mod app_concurrency;
mod appeals;
mod apps;
pub(crate) mod auth;
pub mod client_addr;
mod config;
mod consents;
mod cookies;
mod csrf;
mod department_auth;
mod department_events;
mod dev_sms;
mod divisions;
pub mod error;
mod extract;
mod identity;
mod metrics;
mod notifications;
mod operator;
mod payments;
mod publishing;
mod request_headers;
mod runtime_status;
mod security_headers;
mod shell;
mod signing;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use crate::platform::Platform;
use error::ApiError;

/// The host's router. Every response carries the security headers
/// (`security_headers`); a state-changing request from another site or
/// origin, or a cookie-authenticated one without the session's CSRF token,
/// is refused (`csrf`, docs/security.md).
pub fn router(platform: Arc<Platform>) -> Router {
    let behind_tls = cookies::behind_tls(&platform);
    let api = Router::new()
        .route("/register", post(accounts::register))
        .route("/register/code", post(accounts::send_code))
        .route("/login", post(accounts::login))
        .route("/logout", post(accounts::logout))
        .route("/me", get(accounts::me))
        .route("/apps", get(apps::list))
        .route("/consents", get(consents::list).post(consents::decide))
        .route(
            "/consents/{app_id}/{scope}",
            get(consents::sheet).delete(consents::revoke),
        )
        .route("/operator/audit", get(operator::audit))
        .route("/operator/audit/head", get(operator::audit_head))
        .route("/operator/runtime", get(runtime_status::runtime))
        .merge(payments::routes())
        .merge(notifications::routes())
        .merge(identity::api_routes())
        .merge(appeals::api_routes())
        .merge(app_concurrency::api_routes())
        .merge(publishing::routes())
        .merge(divisions::routes())
        .merge(signing::api_routes())
        .merge(config::routes())
        .merge(department_events::routes())
        .fallback(|| async { ApiError::not_found("API route") });
    let host = Router::new()
        .route("/", get(shell::index))
        .route("/shell/{*path}", get(shell::asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .merge(dev_sms::routes(&platform))
        .route("/.well-known/jwks.json", get(identity::jwks))
        .route("/.well-known/apps/{app_id}/jwks.json", get(signing::jwks))
        .route("/apps/{app_id}", any(apps::forward))
        .route("/apps/{app_id}/", any(apps::forward))
        .route("/apps/{app_id}/{*path}", any(apps::forward))
        .nest("/api", api)
        .fallback(|| async { ApiError::not_found("page") })
        // Innermost first: a request gets REQUEST_TIMEOUT in all, then every
        // host error (including axum's own rejections and the timeout) is
        // given the JSON error shape.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            platform.clone(),
            csrf::refuse_cross_origin,
        ));
    security_headers::apply(host, behind_tls).with_state(platform)
}

/// Longest a request may take from its first byte to the response,
/// reading a slow body included (a mini-app's own deadline is 1 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

async fn healthz(
    axum::extract::State(platform): axum::extract::State<Arc<Platform>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "status": "ok", "apps": platform.registry.list().len() }))
}

/// Longest a client may take to send a request's headers. Slow-header
/// connections are closed after it (hyper's own default applies only with a
/// timer, which `axum::serve` does not set).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the host waits for open connections after ctrl-c or SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves the host on `listener` (HTTP/1.1) until ctrl-c or SIGTERM, then
/// lets open requests finish for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
) -> std::io::Result<()> {
    serve_until(listener, platform, shutdown_signal()).await
}

/// Serves the host on `listener` until `shutdown` completes (see
/// [`serve_app`]).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let app = router(platform.clone());
    serve_app(listener, platform, app, shutdown).await
}

/// Serves `app` — the host's [`router`], possibly with routes beside it (the
/// benchmarks' native handler) — on `listener` (HTTP/1.1, header-read
/// timeout) until `shutdown` completes, then ends the open inbox streams
/// (which would otherwise never finish) and lets open requests finish for
/// up to [`SHUTDOWN_GRACE`].
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(
                TokioIo::new(stream),
                // The peer address, for `client_addr::ClientAddr`.
                TowerToHyperService::new(tower::ServiceExt::map_request(
                    app.clone(),
                    move |mut request: hyper::Request<hyper::body::Incoming>| {
                        request
                            .extensions_mut()
                            .insert(axum::extract::ConnectInfo(peer));
                        request
                    },
                )),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    platform.services.notifications.live().close();
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing");
    }
    Ok(())
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
