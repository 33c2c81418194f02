//! Who is calling the host's non-citizen APIs: a department (bearer
//! department API token, see `publishing::tokens`) or an operator (bearer
//! operator token). Both are axum extractors; a route needing a department
//! scope calls [`DepartmentAuth::require`].
//!
//! ```ignore
//! async fn statement(who: DepartmentAuth, ...) -> ApiResult<...> {
//!     who.require(TokenScope::Statements)?;
//!     let department = &who.department.uscc;
//!     ...
//! }
//! ```

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use super::error::ApiError;
use crate::platform::Platform;
use crate::publishing::departments::Department;
use crate::publishing::operators::Operator;
use crate::publishing::tokens::{TokenRecord, TokenScope};
use crate::registry::App;
use crate::uscc::Uscc;

/// A caller holding a valid department API token (signature, expiry,
/// revocation checked) whose department exists. Missing or invalid → 401.
pub(crate) struct DepartmentAuth {
    /// The department (`sub` of the token).
    pub department: Department,
    /// The token's record (scopes, expiry).
    pub token: TokenRecord,
}

impl DepartmentAuth {
    /// 403 unless the token has `scope`.
    pub(crate) fn require(&self, scope: TokenScope) -> Result<(), ApiError> {
        if self.token.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("this token lacks the `{}` scope", scope.name()),
            ))
        }
    }

    /// The loaded app `app_id` of department `uscc` (both from the path),
    /// for a call that needs `scope`. Errors: `400 uscc` for a malformed
    /// code; `403` for a token without the scope, or another department's
    /// token (field `uscc`); `404` with field `app` for an app the
    /// department does not publish or that is not loaded.
    pub(crate) async fn published_app(
        &self,
        platform: &Platform,
        uscc: &str,
        app_id: &str,
        scope: TokenScope,
    ) -> Result<Arc<App>, ApiError> {
        let department = Uscc::parse(uscc).map_err(|e| {
            ApiError::invalid(
                "uscc",
                format!("a department is named by its Unified Social Credit Code: {e}"),
            )
        })?;
        self.require(scope)?;
        if self.department.uscc != department.as_str() {
            return Err(ApiError {
                field: Some("uscc".into()),
                ..ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the token is another department's",
                )
            });
        }
        let departments = &platform.services.publishing.departments;
        match platform.registry.get(app_id) {
            Some(app) if departments.owns(department.as_str(), app_id).await? => Ok(app),
            _ => Err(ApiError {
                field: Some("app".into()),
                ..ApiError::not_found("app")
            }),
        }
    }
}

impl FromRequestParts<Arc<Platform>> for DepartmentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        let token =
            bearer(parts).ok_or_else(|| unauthenticated("department API token required"))?;
        let publishing = &platform.services.publishing;
        let record = publishing.tokens.check(token).await?;
        let department = publishing
            .departments
            .get(&record.department)
            .await?
            .ok_or_else(|| unauthenticated("the token's department no longer exists"))?;
        Ok(DepartmentAuth {
            department,
            token: record,
        })
    }
}

/// A caller holding an operator's bearer token. Missing or invalid → 401.
pub(crate) struct OperatorAuth {
    /// The operator.
    pub operator: Operator,
}

impl FromRequestParts<Arc<Platform>> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| unauthenticated("operator token required"))?;
        let operator = platform
            .services
            .publishing
            .operators
            .check(token)
            .await
            .map_err(|_| unauthenticated("operator token required"))?;
        Ok(OperatorAuth { operator })
    }
}

impl OperatorAuth {
    /// Appends `action` on `target` to the operator log (see
    /// `publishing::operators`).
    pub(crate) async fn record(
        &self,
        platform: &Platform,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), ApiError> {
        platform
            .services
            .publishing
            .operators
            .record(&self.operator.name, action, target, detail)
            .await?;
        Ok(())
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
}
