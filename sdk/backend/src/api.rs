//! Error answers and JSON bodies of a backend's HTTP API: every refusal is
//! a status with a JSON body `{"error": MESSAGE, "field": FIELD}` (field
//! `null` when no one field is at fault), plus any details.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
}
