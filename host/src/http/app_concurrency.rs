//! `/api/operator/apps/{app}/concurrency` (bearer operator token): the
//! operator's cap on how many requests of one app run at once
//! (`publishing::concurrency`, applied by `admission`).
//!
//! - `GET` → `{"app", "max", "default"}`: `max` is the app's own cap or
//!   `null`; `default` is the host's (`--app-concurrency`).
//! - `PUT {"max": N}` sets it (1 to 4096), `{"max": null}` returns the app
//!   to the default; answers as `GET`. Errors: 400 `max`, 404 `app` (no
//!   department owns it). The change is in the operator action log
//!   (`app.concurrency`) and binds requests admitted from then on.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::auth::OperatorAuth;
use super::error::ApiResult;
use super::extract::JsonBody;
use crate::platform::Platform;

/// Routes under `/api`.
pub(super) fn api_routes() -> axum::Router<Arc<Platform>> {
    axum::Router::new().route(
        "/operator/apps/{app}/concurrency",
        get(get_cap).put(set_cap),
    )
}

/// An app's cap as answered.
#[derive(Serialize)]
struct Cap {
    app: String,
    max: Option<u32>,
    default: usize,
}

/// Body of `PUT`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetCap {
    max: Option<u32>,
}

async fn answer(platform: &Platform, app: String) -> ApiResult<Json<Cap>> {
    let caps = platform.services.publishing.concurrency.all().await?;
    Ok(Json(Cap {
        max: caps.get(&app).copied(),
        app,
        default: platform.admission.default_app_cap(),
    }))
}

async fn get_cap(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<Cap>> {
    answer(&platform, app).await
}

async fn set_cap(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(app): Path<String>,
    JsonBody(body): JsonBody<SetCap>,
) -> ApiResult<Json<Cap>> {
    platform
        .services
        .publishing
        .concurrency
        .set(&who.operator.name, &app, body.max)
        .await?;
    platform
        .admission
        .set_app_cap(&app, body.max.map(|m| m as usize));
    platform.operator_settings_changed().await;
    answer(&platform, app).await
}
