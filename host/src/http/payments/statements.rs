//! `GET /api/departments/{department}/statements/{YYYY-MM-DD}.csv`: a
//! department's daily settlement statement.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::department_auth::DepartmentCaller;
use crate::http::error::{ApiError, ApiResult};
use crate::payments::settlement::parse_date;
use crate::platform::Platform;

pub(super) async fn download(
    State(platform): State<Arc<Platform>>,
    caller: DepartmentCaller,
    Path((department, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    caller.may_read(&department)?;
    let date = file
        .strip_suffix(".csv")
        .ok_or_else(|| ApiError::not_found("statement"))?;
    let date = parse_date(date)?;
    let statement = platform
        .services
        .payments
        .statement(&department, date)
        .await?;
    let name = format!("statement-{}.csv", statement.date);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        statement.to_csv(),
    )
        .into_response())
}
