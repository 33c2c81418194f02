//! [`Request`]: one request from the citizen's host app (or an event from
//! the host), with typed access to its query, form and JSON body.
//!
//! Decoding errors are [`Error::BadRequest`] naming the offending field, so
//! `req.form::<T>()?` in a handler answers `400` with a view that says which
//! input is missing or malformed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// HTTP method of a [`Request`] (the WIT `method` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// The method's name in upper case, e.g. `GET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// A request to the app: method, app path (starting with `/`, without the
/// `/apps/{app-id}` prefix), percent-decoded query parameters, headers
/// (names lowercase) and body (at most 1 MiB).
///
/// Handlers receive it from the [`Router`](crate::Router); tests build one
/// with [`Request::new`] and the `with_*` methods:
///
/// ```
/// use cityhost_sdk::{Method, Request};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize)]
/// struct Query {
///     account: u64,
///     period: Option<String>,
/// }
///
/// let req = Request::new(Method::Get, "/bills").with_query("account", "3301001");
/// let q: Query = req.query_as().unwrap();
/// assert_eq!((q.account, q.period), (3301001, None));
///
/// let bad = Request::new(Method::Get, "/bills").with_query("account", "x");
/// let err = bad.query_as::<Query>().unwrap_err();
/// assert_eq!(err.status(), 400);
/// assert!(err.to_string().contains("account"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with no query, headers or body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Builds a request from its parts, as the host sends it.
    pub fn from_parts(
        method: Method,
        path: String,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Self {
        Request {
            method,
            path,
            query,
            headers,
            body,
        }
    }

    /// Adds a (decoded) query parameter.
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header; the name is lowercased.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a form-encoded body from `fields` (a struct or a list of pairs)
    /// and the matching `content-type`.
    ///
    /// # Panics
    ///
    /// If `fields` is not a flat struct, map or list of pairs.
    pub fn with_form<T: Serialize + ?Sized>(self, fields: &T) -> Self {
        let body = serde_urlencoded::to_string(fields).expect("form fields are flat");
        self.with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(body)
    }

    /// Sets a JSON body and the matching `content-type`.
    ///
    /// # Panics
    ///
    /// If `value` cannot be serialised to JSON.
    pub fn with_json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("value serialises to JSON");
        self.with_header("content-type", "application/json")
            .with_body(body)
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The app path, starting with `/`, without the query string.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The first query parameter named `name`, percent-decoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All query parameters, in order.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// The query parameters as `T` (a struct with named fields, usually).
    /// Empty values count as absent, so an optional field left blank in a
    /// GET form is `None`. Errors: [`Error::BadRequest`] naming the field.
    pub fn query_as<T: DeserializeOwned>(&self) -> Result<T> {
        let pairs: Vec<&(String, String)> =
            self.query.iter().filter(|(_, v)| !v.is_empty()).collect();
        let encoded = serde_urlencoded::to_string(pairs).map_err(|e| Error::BadRequest {
            field: "query".into(),
            reason: format!("无法读取（{e}）"),
        })?;
        decode_urlencoded(encoded.as_bytes(), "query")
    }

    /// The body, `application/x-www-form-urlencoded`, as `T`. Empty values
    /// count as absent, so an optional input left blank is `None` and a
    /// required one is reported as missing. Errors: [`Error::BadRequest`]
    /// naming the field.
    pub fn form<T: DeserializeOwned>(&self) -> Result<T> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&self.body)
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
        decode_urlencoded(encoded.as_bytes(), "form")
    }

    /// The body, JSON, as `T`. Errors: [`Error::BadRequest`] naming the
    /// field's path (e.g. `items[0].amount_fen`), or `body` when the body
    /// is not JSON at all.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| path_error(e, "body"))?;
        de.end().map_err(|e| Error::BadRequest {
            field: "body".into(),
            reason: format!("不是有效的 JSON（{e}）"),
        })?;
        Ok(value)
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// All headers, names lowercase.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The host's id for this request (`x-cityhost-request-id`), also on
    /// the host's log lines and audit records.
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-cityhost-request-id")
    }
}

fn decode_urlencoded<T: DeserializeOwned>(input: &[u8], whole: &str) -> Result<T> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize(de).map_err(|e| path_error(e, whole))
}

/// Turns a decoding error into a `BadRequest` naming the field: the path
/// where decoding failed, or the field a "missing field `x`" message names
/// (serde reports those at the enclosing struct), or `whole`.
fn path_error<E: std::fmt::Display>(error: serde_path_to_error::Error<E>, whole: &str) -> Error {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("duplicate field"));
    let field = match (path.as_str(), named) {
        (".", Some(name)) => name.to_string(),
        (".", None) => whole.to_string(),
        (path, Some(name)) if message.starts_with("missing field") => format!("{path}.{name}"),
        (path, _) => path.to_string(),
    };
    let reason = if message.starts_with("missing field") {
        "为必填项".to_string()
    } else {
        format!("格式不正确（{message}）")
    };
    Error::BadRequest { field, reason }
}

/// The first header named `name` (case-insensitive) in `headers`.
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pay {
        account: u64,
        bill: String,
        note: Option<String>,
    }

    fn bad_field(error: Error) -> (String, String) {
        match error {
            Error::BadRequest { field, reason } => (field, reason),
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    #[test]
    fn form_decodes_typed_fields() {
        let req = Request::new(Method::Post, "/pay").with_body("account=3301001&bill=w%2D1&note=");
        let pay: Pay = req.form().unwrap();
        assert_eq!(
            pay,
            Pay {
                account: 3301001,
                bill: "w-1".into(),
                note: None,
            }
        );
    }

    #[test]
    fn form_errors_name_the_field() {
        let req = Request::new(Method::Post, "/pay").with_body("bill=1");
        let (field, reason) = bad_field(req.form::<Pay>().unwrap_err());
        assert_eq!(field, "account");
        assert_eq!(reason, "为必填项");

        let req = Request::new(Method::Post, "/pay").with_body("account=abc&bill=1");
        let (field, reason) = bad_field(req.form::<Pay>().unwrap_err());
        assert_eq!(field, "account");
        assert!(reason.starts_with("格式不正确"), "{reason}");

        // A blank required input is missing, not "".
        let req = Request::new(Method::Post, "/pay").with_body("account=1&bill=");
        assert_eq!(bad_field(req.form::<Pay>().unwrap_err()).0, "bill");
    }

    #[test]
    fn with_form_round_trips_through_form() {
        let req =
            Request::new(Method::Post, "/pay").with_form(&[("account", "7"), ("bill", "甲 乙&丙")]);
        assert_eq!(
            req.header("Content-Type"),
            Some("application/x-www-form-urlencoded")
        );
        let pay: Pay = req.form().unwrap();
        assert_eq!(pay.bill, "甲 乙&丙");
    }

    #[test]
    fn query_access() {
        let req = Request::new(Method::Get, "/bills")
            .with_query("account", "3301001")
            .with_query("bill", "a&b=c")
            .with_query("account", "ignored");
        assert_eq!(req.query("account"), Some("3301001"));
        assert_eq!(req.query("missing"), None);
        let err = req.query_as::<Pay>().unwrap_err();
        assert_eq!(
            bad_field(err).0,
            "account",
            "duplicate parameters are refused"
        );
        let req = Request::new(Method::Get, "/bills")
            .with_query("account", "1")
            .with_query("bill", "a&b=c");
        assert_eq!(req.query_as::<Pay>().unwrap().bill, "a&b=c");
    }

    #[test]
    fn json_errors_name_the_path() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Item {
            amount_fen: u64,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Body {
            items: Vec<Item>,
        }
        let req = Request::new(Method::Post, "/x").with_body(r#"{"items":[{"amount_fen":-1}]}"#);
        assert_eq!(
            bad_field(req.json::<Body>().unwrap_err()).0,
            "items[0].amount_fen"
        );
        let req = Request::new(Method::Post, "/x").with_body(r#"{"items":[{}]}"#);
        assert_eq!(
            bad_field(req.json::<Body>().unwrap_err()).0,
            "items[0].amount_fen"
        );
        let req = Request::new(Method::Post, "/x").with_body("not json");
        assert_eq!(bad_field(req.json::<Body>().unwrap_err()).0, "body");
        let req = Request::new(Method::Post, "/x").with_json(&serde_json::json!({"items": []}));
        assert!(req.json::<Body>().unwrap().items.is_empty());
    }

    #[test]
    fn headers_are_case_insensitive() {
        let req = Request::new(Method::Get, "/").with_header("X-CityHost-Request-Id", "r1");
        assert_eq!(req.request_id(), Some("r1"));
        assert_eq!(req.headers()[0].0, "x-cityhost-request-id");
    }
}
