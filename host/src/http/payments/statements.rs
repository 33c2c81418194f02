//! `GET /api/departments/{uscc}/statements/{YYYY-MM-DD}.csv`: a
//! department's daily settlement statement. The department is its Unified
//! Social Credit Code (GB 32100-2015); anything else (its name, a code
//! with a wrong check character) is a 400 naming `uscc`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::department_auth::DepartmentCaller;
use crate::http::error::{ApiError, ApiResult};
use crate::payments::settlement::parse_date;
use crate::platform::Platform;
use crate::uscc::Uscc;

pub(super) async fn download(
    State(platform): State<Arc<Platform>>,
    caller: DepartmentCaller,
    Path((uscc, file)): Path<(String, String)>,
) -> ApiResult<Response> {
    let department = Uscc::parse(&uscc).map_err(|e| {
        ApiError::invalid(
            "uscc",
            format!("a department is named by its Unified Social Credit Code: {e}"),
        )
    })?;
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
