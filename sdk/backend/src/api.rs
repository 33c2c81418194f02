//! Error answers and JSON bodies of a backend's HTTP API: every refusal is
//! a status with a JSON body `{"error": MESSAGE, "field": FIELD}` (field
//! `null` when no one field is at fault), plus any details.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// An error answer: status and `{"error", "field"}` plus any details.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// `status` with `{"error": error, "field": field}`.
    pub fn new(status: StatusCode, error: &str, field: Option<&str>) -> Self {
        Self {
            status,
            body: json!({"error": error, "field": field}),
        }
    }

    /// The same answer with `key` set to `value` in its body.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        self.body[key] = json!(value);
        self
    }

    /// Its status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Its JSON body.
    pub fn body(&self) -> &Value {
        &self.body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// A JSON body of type `T`. Errors: 400 naming the field at fault — its
/// path (`items[2].amount`), the missing or unknown field's name, or
/// `body` for what is not the expected JSON at all — with serde's message.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // `.` is the body itself, `?` a place serde could not name.
        let field = if path != "." && path != "?" {
            path
        } else if let Some(name) = message
            .strip_prefix("missing field `")
            .or_else(|| message.strip_prefix("unknown field `"))
            .and_then(|rest| rest.split('`').next())
        {
            name.to_string()
        } else {
            "body".to_string()
        };
        ApiError::new(StatusCode::BAD_REQUEST, &message, Some(&field))
    })?;
    // Nothing but whitespace may follow the value.
    de.end()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, &e.to_string(), Some("body")))?;
    Ok(value)
}

/// Ends a backend's routes the same way for every backend: any other path
/// is a 404 (`code` `not_found`), another method a 405 naming `method`, and
/// an answer axum makes by itself (a body over the limit, 413; an
/// unreadable one) is given the same JSON shape, naming `body` when the
/// body is at fault. Call it on the finished routes, before `with_state`.
pub fn with_fallbacks<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "no such path", None).with("code", "not_found")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                Some("method"),
            )
            .with("code", "method_not_allowed")
        })
        .layer(axum::middleware::from_fn(json_errors))
}

/// Turns an error answer that is not JSON into [`ApiError`]'s shape,
/// keeping its status, its text as the message and its `Allow` and
/// `Retry-After` headers.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error"),
        text => text,
    };
    let field = matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNSUPPORTED_MEDIA_TYPE
            | StatusCode::UNPROCESSABLE_ENTITY
    )
    .then_some("body");
    let mut out = ApiError::new(status, message, field).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        id: String,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        amount_fen: u64,
    }

    fn field(bytes: &str) -> String {
        let e = json_body::<Order>(bytes.as_bytes()).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        e.body()["field"].as_str().unwrap().to_string()
    }

    #[test]
    fn each_refusal_names_its_field() {
        assert!(json_body::<Order>(br#"{"id": "a", "items": [{"amount_fen": 1}]}"#).is_ok());
        assert_eq!(
            field(r#"{"id": "a", "items": [{"amount_fen": -1}]}"#),
            "items[0].amount_fen"
        );
        assert_eq!(field(r#"{"items": []}"#), "id");
        assert_eq!(field(r#"{"id": "a", "items": [], "x": 1}"#), "x");
        assert_eq!(field("not json"), "body");
        assert_eq!(field(r#"{"id": "a", "items": []} trailing"#), "body");
    }

    /// Status, `field` and `code` of `method path` with `body` through
    /// routes ended by [`with_fallbacks`].
    async fn ask(method: &str, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
        use tower::ServiceExt;
        let routes = with_fallbacks(Router::new().route(
            "/echo",
            axum::routing::post(|bytes: axum::body::Bytes| async move { bytes.len().to_string() }),
        ));
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::from(body))
            .unwrap();
        let response = routes.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn every_refusal_of_the_routes_themselves_is_json_naming_what_is_wrong() {
        let (status, _) = ask("POST", "/echo", b"ok".to_vec()).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = ask("GET", "/nowhere", Vec::new()).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (status, body) = ask("GET", "/echo", Vec::new()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["field"], "method");
        // Over axum's default body limit (2 MiB): its own plain-text 413,
        // given the JSON shape.
        let (status, body) = ask("POST", "/echo", vec![b'x'; 3 << 20]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["field"], "body", "{body}");
        assert!(body["error"].as_str().unwrap().contains("limit"), "{body}");
    }
}
