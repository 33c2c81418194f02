//! Apps' signing keys over HTTP: each app's public keys for anyone
//! (`GET /.well-known/apps/{app_id}/jwks.json`, no sign-in, cacheable) and
//! the operator's key management (`GET /api/operator/apps/{app}/sign-keys`,
//! `POST /api/operator/apps/{app}/sign-keys/rotate`,
//! `DELETE /api/operator/apps/{app}/sign-keys/{kid}`).
//!
//! The JWK Set sits under `/.well-known/`, beside the host's own
//! (`/.well-known/jwks.json`), and not under `/apps/{app_id}/`, where every
//! path belongs to the app itself.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::auth::OperatorAuth;
use super::error::{ApiError, ApiResult};
use crate::app_signing::{AppRotation, KeyInfo};
use crate::platform::Platform;

/// Routes under `/api`.
pub(super) fn api_routes() -> axum::Router<Arc<Platform>> {
    axum::Router::new()
        .route("/operator/apps/{app}/sign-keys", get(keys))
        .route("/operator/apps/{app}/sign-keys/rotate", post(rotate))
        .route("/operator/apps/{app}/sign-keys/{kid}", delete(remove))
}

/// 404 unless the host knows the app.
fn known_app(platform: &Platform, app_id: &str) -> ApiResult<()> {
    if platform.registry.set(app_id).is_some() {
        Ok(())
    } else {
        Err(ApiError::not_found("app"))
    }
}

/// `GET /.well-known/apps/{app_id}/jwks.json`: the app's public keys (RFC
/// 7517), the active one and every retired one not removed; cacheable for
/// five minutes (a new key is used for signing at once, so a verifier that
/// meets an unknown `kid` fetches the set again). 404 for an unknown app.
pub(super) async fn jwks(
    State(platform): State<Arc<Platform>>,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let jwks = platform.services.signing.jwks(&app_id).await?;
    if jwks.keys.is_empty() {
        known_app(&platform, &app_id)?;
    }
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(jwks)))
}

/// `GET /api/operator/apps/{app}/sign-keys`: `{"keys": [{kid,
/// created_at, retired_at}]}`, oldest first (UTC seconds; no private part).
async fn keys(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    Path(app_id): Path<String>,
) -> ApiResult<Json<Value>> {
    known_app(&platform, &app_id)?;
    let keys: Vec<KeyInfo> = platform.services.signing.keys(&app_id).await?;
    Ok(Json(json!({ "keys": keys })))
}

/// `POST /api/operator/apps/{app}/sign-keys/rotate`: a new key signs
/// the app's tokens from now on; the old one stays in the JWK Set until
/// removed. Answers `{app_id, new_kid, retired_kid}`.
async fn rotate(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(app_id): Path<String>,
) -> ApiResult<Json<AppRotation>> {
    known_app(&platform, &app_id)?;
    let rotation = platform.services.signing.rotate(&app_id).await?;
    tracing::info!(app_id, new_kid = %rotation.new_kid, retired_kid = ?rotation.retired_kid, "rotated an app's signing key");
    who.record(&platform, "sign-key.rotate", &app_id, &rotation.new_kid)
        .await?;
    Ok(Json(rotation))
}

/// `DELETE /api/operator/apps/{app}/sign-keys/{kid}`: removes a retired
/// key from the JWK Set (what it signed no longer verifies). 404 for an
/// unknown key, 409 (`field` `kid`) for the active key.
async fn remove(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path((app_id, kid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    platform.services.signing.remove(&app_id, &kid).await?;
    tracing::info!(app_id, kid, "removed an app's retired signing key");
    who.record(&platform, "sign-key.remove", &app_id, &kid)
        .await?;
    Ok(Json(json!({ "removed": kid })))
}
