//! The HTTP face of the host (axum): the shell's API under `/api`, mini-apps
//! under `/apps/{app_id}/...`, the web shell at `/`, and `/healthz`.

mod accounts;
mod apps;
mod consents;
pub mod error;
mod extract;
mod inbox;
mod operator;
mod orders;
mod shell;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use serde_json::json;
use tower_http::timeout::TimeoutLayer;

use crate::platform::Platform;
use error::ApiError;

/// The host's router.
pub fn router(platform: Arc<Platform>) -> Router {
    let api = Router::new()
        .route("/register", post(accounts::register))
        .route("/login", post(accounts::login))
        .route("/logout", post(accounts::logout))
        .route("/me", get(accounts::me))
        .route("/apps", get(apps::list))
        .route("/orders", get(orders::list))
        .route("/orders/{order_id}", get(orders::get))
        .route("/orders/{order_id}/confirm", post(orders::confirm))
        .route("/consents", get(consents::list).post(consents::decide))
        .route(
            "/consents/{app_id}/{scope}",
            get(consents::sheet).delete(consents::revoke),
        )
        .route("/inbox", get(inbox::list))
        .route("/inbox/{message_id}/read", post(inbox::mark_read))
        .route("/operator/audit", get(operator::audit))
        .fallback(|| async { ApiError::not_found("API route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here",
            )
        });
    Router::new()
        .route("/", get(shell::index))
        .route("/shell/app.js", get(shell::app_js))
        .route("/shell/style.css", get(shell::style))
        .route("/healthz", get(healthz))
        .route("/apps/{app_id}", any(apps::forward))
        .route("/apps/{app_id}/", any(apps::forward))
        .route("/apps/{app_id}/{*path}", any(apps::forward))
        .nest("/api", api)
        .fallback(|| async { ApiError::not_found("page") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not allowed here",
            )
        })
        // Innermost first: a request gets REQUEST_TIMEOUT in all, then every
        // host error (including axum's own rejections and the timeout) is
        // given the JSON error shape.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .with_state(platform)
}

/// Longest a request may take from its first byte to the response,
/// reading a slow body included (a mini-app's own deadline is 1 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

async fn healthz(
    axum::extract::State(platform): axum::extract::State<Arc<Platform>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(json!({ "status": "ok", "apps": platform.registry.list().len() }))
}

/// Serves `router` on `listener` until ctrl-c (or SIGTERM).
pub async fn serve(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
) -> std::io::Result<()> {
    axum::serve(listener, router(platform))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
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
