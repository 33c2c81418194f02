//! Apps' configuration over the department API (bearer department token
//! with the `publish` scope), under `/api/departments/{uscc}/apps/{app}/config`:
//!
//! - `GET` — `{"variables": [{name, value, updated_at}], "secrets": [{name,
//!   updated_at}]}` (UTC ms; never a secret's value);
//! - `PUT /variables/{name}` and `PUT /secrets/{name}` `{"value": "…"}` —
//!   set (`204`);
//! - `DELETE /variables/{name}` and `DELETE /secrets/{name}` — unset
//!   (`204`, or `404` if it was not set).
//!
//! The caller's department must be `{uscc}` and own the app, else `403`.
//! Bad input is a `400` naming the field (`name`, `value`, `uscc`); more
//! than 64 entries per app a `429` `quota_exceeded`. Values are never in
//! an answer (but the list's variables), the log or the operator log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;

use super::auth::DepartmentAuth;
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use crate::app_config::{ConfigList, Kind};
use crate::platform::Platform;
use crate::publishing::tokens::TokenScope;

/// Routes under `/api`.
pub(super) fn routes() -> axum::Router<Arc<Platform>> {
    axum::Router::new()
        .route("/departments/{uscc}/apps/{app}/config", get(list))
        .route(
            "/departments/{uscc}/apps/{app}/config/variables/{name}",
            put(set_variable).delete(unset_variable),
        )
        .route(
            "/departments/{uscc}/apps/{app}/config/secrets/{name}",
            put(set_secret).delete(unset_secret),
        )
}

/// The body of a `PUT`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SetBody {
    /// The value, at most 4 KiB of UTF-8.
    value: String,
}

/// 403 unless the caller is the department `uscc` (with the `publish`
/// scope) and owns `app`.
async fn owner(platform: &Platform, who: &DepartmentAuth, uscc: &str, app: &str) -> ApiResult<()> {
    who.require(TokenScope::Publish)?;
    let departments = &platform.services.publishing.departments;
    if who.department.uscc.as_str() != uscc || !departments.owns(uscc, app).await? {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the app does not belong to the caller's department",
        ));
    }
    Ok(())
}

async fn list(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path((uscc, app)): Path<(String, String)>,
) -> ApiResult<Json<ConfigList>> {
    owner(&platform, &who, &uscc, &app).await?;
    Ok(Json(platform.services.config.list(&app).await?))
}

async fn set(
    platform: &Platform,
    who: &DepartmentAuth,
    (uscc, app, name): (String, String, String),
    kind: Kind,
    value: &str,
) -> ApiResult<StatusCode> {
    owner(platform, who, &uscc, &app).await?;
    platform
        .services
        .config
        .set(&app, kind, &name, value)
        .await?;
    tracing::info!(app, name, kind = ?kind, "department set an app's configuration");
    Ok(StatusCode::NO_CONTENT)
}

async fn unset(
    platform: &Platform,
    who: &DepartmentAuth,
    (uscc, app, name): (String, String, String),
    kind: Kind,
) -> ApiResult<StatusCode> {
    owner(platform, who, &uscc, &app).await?;
    if platform.services.config.unset(&app, kind, &name).await? {
        tracing::info!(app, name, kind = ?kind, "department unset an app's configuration");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("configuration entry"))
    }
}

async fn set_variable(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path(path): Path<(String, String, String)>,
    JsonBody(body): JsonBody<SetBody>,
) -> ApiResult<StatusCode> {
    set(&platform, &who, path, Kind::Variable, &body.value).await
}

async fn set_secret(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path(path): Path<(String, String, String)>,
    JsonBody(body): JsonBody<SetBody>,
) -> ApiResult<StatusCode> {
    set(&platform, &who, path, Kind::Secret, &body.value).await
}

async fn unset_variable(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    unset(&platform, &who, path, Kind::Variable).await
}

async fn unset_secret(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path(path): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    unset(&platform, &who, path, Kind::Secret).await
}
