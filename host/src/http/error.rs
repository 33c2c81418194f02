//! The HTTP face of every error: a status and a JSON body
//! `{"error": {"code", "message", "field"?, "reason"?, "error_id"?}}` that
//! names the field when one is at fault and, where a field can fail in
//! several ways, a machine-readable reason.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ServiceError;
use crate::gateway::CallFailure;
use crate::runtime::GuestFailure;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid_argument`, `app_timeout`, ...).
    pub code: &'static str,
    /// The request field at fault, if any.
    pub field: Option<String>,
    /// Which rule the field broke (`check_character`, `birth_date`, ...),
    /// or what the request lacks (`L2`), if the code alone does not say.
    pub reason: Option<&'static str>,
    /// What went wrong, for a person.
    pub message: String,
    /// Id under which the host logged the cause.
    pub error_id: Option<String>,
    /// Seconds after which the request may be tried again: the
    /// `Retry-After` header (RFC 9110 §10.2.3) of a 503 or 429 (`u32`:
    /// over a century, and it keeps the error small).
    pub retry_after_secs: Option<u32>,
}

impl ApiError {
    /// An error without field or error id.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            field: None,
            reason: None,
            message: message.into(),
            error_id: None,
            retry_after_secs: None,
        }
    }

    /// A 400 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
        }
    }

    /// A 413 for a body over `limit` (e.g. "64 KiB").
    pub fn body_too_large(limit: &str) -> Self {
        Self {
            field: Some("body".into()),
            ..Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body exceeds {limit}"),
            )
        }
    }

    /// A 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
}

impl ApiError {
    /// A call's outcome in the audit log, in the words capability calls
    /// use there: `ok`, or the error's code with `-` (`invalid-argument`).
    pub fn audit_outcome<T>(result: &Result<T, ApiError>) -> String {
        match result {
            Ok(_) => "ok".into(),
            Err(e) => e.code.replace('_', "-"),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        match e {
            ServiceError::InvalidArgument { field, reason } => ApiError::invalid(field, reason),
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Conflict { field, reason } => ApiError {
                field: Some(field.into()),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", reason)
            },
            ServiceError::Unauthenticated(why) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", why)
            }
            ServiceError::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", why),
            ServiceError::RateLimited { retry_after_ms } => ApiError {
                retry_after_secs: Some(
                    u32::try_from(retry_after_ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX),
                ),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            },
            ServiceError::QuotaExceeded(_) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", message)
            }
            ServiceError::Payment(e) => super::payments::api_error(e),
            ServiceError::Unavailable(why) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", why)
            }
            // A sealed record that does not open is a storage failure to
            // the caller; the log tells them apart.
            ServiceError::Store(_) | ServiceError::Sealed(_) => {
                let error_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(error = %message, error_id, "store failure");
                ApiError {
                    error_id: Some(error_id),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "storage is unavailable; try again",
                    )
                }
            }
        }
    }
}

impl From<CallFailure> for ApiError {
    fn from(e: CallFailure) -> Self {
        let message = e.to_string();
        let (status, code, error_id) = match e {
            CallFailure::Guest { error_id, failure } => match failure {
                GuestFailure::DeadlineExceeded(_) => {
                    (StatusCode::GATEWAY_TIMEOUT, "app_timeout", error_id)
                }
                GuestFailure::MemoryExceeded(_) => {
                    (StatusCode::BAD_GATEWAY, "app_memory_exceeded", error_id)
                }
                GuestFailure::Trapped(_) => (StatusCode::BAD_GATEWAY, "app_failed", error_id),
                GuestFailure::Busy => {
                    return ApiError {
                        error_id: Some(error_id),
                        retry_after_secs: Some(1),
                        ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "host_busy", message)
                    };
                }
            },
            CallFailure::Busy(busy) => {
                return ApiError {
                    retry_after_secs: Some(
                        u32::try_from(busy.retry_after_secs).unwrap_or(u32::MAX),
                    ),
                    ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "host_busy", message)
                };
            }
            CallFailure::ResponseTooLarge { error_id } => {
                (StatusCode::BAD_GATEWAY, "app_response_too_large", error_id)
            }
            CallFailure::Service(e) => return e.into(),
        };
        ApiError {
            error_id: Some(error_id),
            ..ApiError::new(status, code, message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        if let Some(reason) = self.reason {
            body["reason"] = reason.into();
        }
        if let Some(error_id) = self.error_id {
            body["error_id"] = error_id.into();
        }
        let mut response = (self.status, Json(json!({ "error": body }))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Marks a response that a mini-app produced: it passes through
/// [`json_errors`] untouched.
#[derive(Debug, Clone, Copy)]
pub struct FromApp;

/// Gives every host error the JSON error shape: errors that axum or a layer
/// answered with a plain or empty body (405, 408, a malformed path
/// parameter, ...) are rewritten as `{"error": {...}}` with the same status.
/// Mini-apps' own responses are left as they are. Every 413 also carries
/// `Connection: close`.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was refused unread, so the connection cannot carry
        // another request: say so (RFC 9112 §9.6), or a client reusing it
        // meets a closed socket instead of its next answer.
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error())
        || is_json
        || response.extensions().get::<FromApp>().is_some()
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().to_string()
    };
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_client_error() => "bad_request",
        _ => "unavailable",
    };
    // The part of the request at fault, where the status alone says it.
    let field = match status {
        StatusCode::METHOD_NOT_ALLOWED => Some("method".to_string()),
        StatusCode::PAYLOAD_TOO_LARGE => Some("body".to_string()),
        _ => None,
    };
    let mut out = ApiError {
        field,
        ..ApiError::new(parts.status, code, message)
    }
    .into_response();
    out.headers_mut().extend(
        parts
            .headers
            .into_iter()
            .filter_map(|(name, value)| Some((name?, value)))
            .filter(|(name, _)| {
                name == axum::http::header::ALLOW
                    || name == axum::http::header::RETRY_AFTER
                    || name == axum::http::header::CONNECTION
            }),
    );
    out
}

/// Result of an API handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    //! The seam's failures as the edges answer them: HTTP and WIT.

    use cityhost_store::Table;

    use super::*;
    use crate::capabilities::CapabilityError;
    use crate::error::{ServiceError, ServiceResult};

    /// A record the seam can no longer decode, read as a domain operation
    /// does: `?` turns the seam's error into a `ServiceError`.
    async fn read_undecodable(db: &cityhost_store::Db) -> ServiceResult<Option<u64>> {
        const AS_TEXT: Table<String, String> = Table::new("counters");
        const AS_NUMBER: Table<String, u64> = Table::new("counters");
        db.put(&AS_TEXT, "visits", &"many".to_string()).await?;
        Ok(db.get(&AS_NUMBER, "visits").await?)
    }

    #[tokio::test]
    async fn a_seam_failure_is_unavailable_over_http_and_to_apps() {
        let (_dir, db) = crate::testing::temp_db();
        let e = read_undecodable(&db).await.unwrap_err();
        assert!(matches!(
            e,
            ServiceError::Store(cityhost_store::StoreError::Undecodable {
                table: "counters",
                ..
            })
        ));
        assert!(e.to_string().starts_with("store: "), "{e}");
        let api = ApiError::from(e);
        assert_eq!(api.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(api.error_id.is_some());
        // Nothing about the record reaches the client.
        assert_eq!(api.message, "storage is unavailable; try again");
        let wit = CapabilityError::from(ServiceError::from(cityhost_store::StoreError::Conflict));
        assert!(matches!(wit, CapabilityError::Unavailable(_)));
    }
}
