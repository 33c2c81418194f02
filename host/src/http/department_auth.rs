//! Who may call the department API (`/api/departments/{department}/...`).
//!
//! One extractor guards every department route. It accepts the platform
//! operator's bearer token (the operator may read any department's data);
//! department API tokens plug in here, so that a department's token reads
//! only its own department.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::platform::Platform;

/// An authenticated caller of the department API.
pub(crate) struct DepartmentCaller {
    /// `None`: the operator, who may read every department.
    department: Option<String>,
}

impl DepartmentCaller {
    /// Whether the caller may read `department`'s data; `403` otherwise.
    pub(crate) fn may_read(&self, department: &str) -> Result<(), ApiError> {
        match &self.department {
            None => Ok(()),
            Some(own) if own == department => Ok(()),
            Some(_) => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "this token belongs to another department",
            )),
        }
    }
}

impl FromRequestParts<Arc<Platform>> for DepartmentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        super::operator::authorize(platform, &parts.headers)?;
        Ok(DepartmentCaller { department: None })
    }
}
