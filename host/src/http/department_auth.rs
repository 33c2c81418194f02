//! Who may read a department's data through the department API
//! (`/api/departments/{uscc}/...`, `{uscc}` being the department's Unified
//! Social Credit Code, GB 32100-2015, as in its account and its apps'
//! `[department] uscc`): a platform operator (any department), or a holder
//! of that department's API token with the `statements` scope.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::auth::{DepartmentAuth, OperatorAuth};
use super::error::ApiError;
use crate::platform::Platform;
use crate::publishing::tokens::TokenScope;
use crate::uscc::Uscc;

/// An authenticated caller of the department API (bearer token of an
/// operator or of a department). Neither → 401.
pub(crate) enum DepartmentCaller {
    /// A platform operator: may read every department.
    Operator,
    /// A department's API token.
    Department(Box<DepartmentAuth>),
}

impl DepartmentCaller {
    /// Whether the caller may read the statements of the department whose
    /// code is `department`; `403` otherwise (another department's token,
    /// or a token without the `statements` scope).
    pub(crate) fn may_read(&self, department: &Uscc) -> Result<(), ApiError> {
        match self {
            DepartmentCaller::Operator => Ok(()),
            DepartmentCaller::Department(auth) => {
                auth.require(TokenScope::Statements)?;
                if auth.department.uscc == department.as_str() {
                    Ok(())
                } else {
                    Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "this token belongs to another department",
                    ))
                }
            }
        }
    }
}

impl FromRequestParts<Arc<Platform>> for DepartmentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        if OperatorAuth::from_request_parts(parts, platform)
            .await
            .is_ok()
        {
            return Ok(DepartmentCaller::Operator);
        }
        DepartmentAuth::from_request_parts(parts, platform)
            .await
            .map(|auth| DepartmentCaller::Department(Box::new(auth)))
    }
}
