//! Extractors with the host's error shape: a JSON body whose errors name the
//! field, and the signed-in citizen from the session cookie (with the CSRF
//! token checked on state-changing requests).

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::identity::accounts::Citizen;
use crate::identity::sessions::{COOKIE, Session};

use super::{cookies, csrf};
use crate::platform::Platform;

/// Largest JSON body of the shell API: 64 KiB.
const MAX_JSON_BYTES: usize = 64 << 10;

/// A JSON request body; a malformed one is a 400 naming the field.
pub(crate) struct JsonBody<T>(pub T);

/// `415 unsupported_media_type` ("send {what} as application/json") unless
/// the request's `Content-Type` is JSON.
pub(crate) fn require_json(headers: &axum::http::HeaderMap, what: &str) -> Result<(), ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError {
            field: Some("content-type".into()),
            ..ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send {what} as application/json"),
            )
        })
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        require_json(req.headers(), "the body")?;
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|_| ApiError::body_too_large("64 KiB"))?;
        // Every body of the API is one JSON object: serde would also read
        // a struct from an array of its fields in order, and stop reading
        // at the end of the first value.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::invalid("body", "send one JSON object"));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // Broken JSON (cut short, bad syntax) is the body's fault, not
            // the field the parser had reached.
            let field = match missing_field(&inner.to_string()) {
                _ if inner.is_syntax() || inner.is_eof() => "body".to_string(),
                Some(name) => name,
                None if path == "." => "body".to_string(),
                None => path,
            };
            ApiError::invalid(field, inner.to_string())
        })?;
        de.end()
            .map_err(|_| ApiError::invalid("body", "nothing may follow the JSON object"))?;
        Ok(JsonBody(value))
    }
}

/// serde names a missing field only in its message: "missing field `phone`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// The signed-in citizen; a request without a valid session is a 401, a
/// state-changing one without the session's CSRF token a 403 (see `csrf`).
pub(crate) struct SignedIn {
    /// The session.
    pub session: Session,
    /// The citizen's account.
    pub citizen: Citizen,
}

impl FromRequestParts<Arc<Platform>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, ApiError> {
        let token = cookies::read(parts, COOKIE).ok_or_else(not_signed_in)?;
        let session = platform
            .services
            .sessions
            .check(&token)
            .await
            .map_err(|_| not_signed_in())?;
        let citizen = platform
            .services
            .accounts
            .get(&session.citizen_id)
            .await?
            .ok_or_else(not_signed_in)?;
        csrf::require_token(parts, platform, &session)?;
        Ok(SignedIn { session, citizen })
    }
}

/// A citizen if the request is signed in (`Option<SignedIn>`): none without
/// a session cookie or with one that is not a live session. Errors: the
/// store cannot be read; a state-changing request of a session without its
/// CSRF token.
impl OptionalFromRequestParts<Arc<Platform>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Option<Self>, ApiError> {
        if cookies::read(parts, COOKIE).is_none() {
            return Ok(None);
        }
        match <SignedIn as FromRequestParts<_>>::from_request_parts(parts, platform).await {
            Ok(signed_in) => Ok(Some(signed_in)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn not_signed_in() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
}
