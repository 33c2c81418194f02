//! `/api/divisions`: the government directory for the shell's division
//! picker (province → city → county → township), from the real GB/T 2260
//! divisions of Zhejiang in [`crate::directory`]. Public data: no sign-in.
//!
//! - `GET /api/divisions` → `[{code, name, level}]`: Zhejiang province.
//! - `GET /api/divisions?parent={code}` → the divisions directly below
//!   `code`, in code order (empty for a village or a province outside
//!   Zhejiang).
//! - `GET /api/divisions/{code}` → `{code, name, level, parent, path}`,
//!   `path` being `[{code, name, level}]` from the province down to the
//!   division itself.
//!
//! A code that is not 2, 4, 6, 9 or 12 digits is a 400 `invalid_argument`,
//! an unknown one a 404 `not_found`; both name the field (`parent`, `code`).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use crate::directory::{Division, Level, ZHEJIANG};
use crate::error::ServiceError;
use crate::platform::Platform;

/// The picker's routes, to be nested under `/api`.
pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/divisions", get(list))
        .route("/divisions/{code}", get(show))
}

/// One division as the picker lists it.
#[derive(Serialize)]
pub(super) struct DivisionView {
    /// GB/T 2260 code.
    code: String,
    /// Official Chinese name.
    name: String,
    /// `province`, `city`, `county`, `township` or `village`.
    level: Level,
}

impl From<Division> for DivisionView {
    fn from(d: Division) -> Self {
        Self {
            code: d.code,
            name: d.name,
            level: d.level,
        }
    }
}

/// One division with its place in the directory.
#[derive(Serialize)]
pub(super) struct DivisionDetail {
    code: String,
    name: String,
    level: Level,
    /// Code of the enclosing division (`null` for a province).
    parent: Option<String>,
    /// From the province down to this division.
    path: Vec<DivisionView>,
}

/// Query of the listing.
#[derive(Deserialize)]
pub(super) struct ListQuery {
    /// Code whose children are listed; Zhejiang itself when absent.
    parent: Option<String>,
}

async fn list(
    State(platform): State<Arc<Platform>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<DivisionView>>> {
    let Query(query) = query.map_err(|e| ApiError::invalid("parent", e.body_text()))?;
    let directory = &platform.services.directory;
    let divisions = match query.parent {
        None => directory
            .get(ZHEJIANG)
            .await
            .map_err(ServiceError::from)?
            .into_iter()
            .collect(),
        Some(parent) => {
            let parent = lookup(&platform, "parent", &parent).await?;
            directory
                .children(&parent.code)
                .await
                .map_err(ServiceError::from)?
        }
    };
    Ok(Json(
        divisions.into_iter().map(DivisionView::from).collect(),
    ))
}

async fn show(
    State(platform): State<Arc<Platform>>,
    Path(code): Path<String>,
) -> ApiResult<Json<DivisionDetail>> {
    let division = lookup(&platform, "code", &code).await?;
    let path = platform
        .services
        .directory
        .path(&division.code)
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(DivisionDetail {
        code: division.code,
        name: division.name,
        level: division.level,
        parent: division.parent,
        path: path.into_iter().map(DivisionView::from).collect(),
    }))
}

/// The division a request names in `field`: a 400 naming the field unless
/// `code` is a GB/T 2260 code of 2, 4, 6, 9 or 12 digits, a 404 naming it
/// when no such division exists.
pub(super) async fn lookup(platform: &Platform, field: &str, code: &str) -> ApiResult<Division> {
    if Level::of_code(code).is_none() {
        return Err(ApiError::invalid(
            field,
            "a division code is a GB/T 2260 code of 2, 4, 6, 9 or 12 digits",
        ));
    }
    platform
        .services
        .directory
        .get(code)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ApiError {
            field: Some(field.to_string()),
            ..ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no division has the code `{code}`"),
            )
        })
}
