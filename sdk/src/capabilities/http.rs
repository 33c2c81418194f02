//! `cityhost:miniapp/http`: calls to your department's own systems.
//! Permission `http`, and the origins listed in the manifest:
//!
//! ```toml
//! permissions = ["http"]
//! [http]
//! allow = ["https://billing.hzwater.example:8443"]
//! ```
//!
//! A URL on any other origin is refused ([`Error::NotPermitted`]) before
//! the host looks up a name or opens a connection; so is an allowed name
//! that resolves to a private address the operator has not allowed.
//! Redirects come back as they are (status 3xx and `location`); follow one
//! yourself if its origin is allowed. Limits (manifest `[http]`, see
//! docs/manifest.md): calls per request (default 8), timeout per call
//! (default and cap 1000 ms, never past the request's deadline), request
//! body (default 256 KiB) and response body (default 1 MiB).
//!
//! ```ignore
//! use cityhost_sdk::http;
//! let response = http::get("https://billing.hzwater.example:8443/accounts/3301001/bills")?;
//! let bills: Vec<Bill> = response.json()?;
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::cityhost::miniapp::http as wit;
use crate::error::{Error, Result};

/// A request to an allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// Absolute `http`/`https` URL on an allowed origin.
    pub url: String,
    /// Headers as `(name, value)`; the host sets `host`, `content-length`
    /// and the connection headers (giving one is
    /// [`Error::InvalidArgument`]`("headers")`).
    pub headers: Vec<(String, String)>,
    /// Body (empty for none).
    pub body: Vec<u8>,
}

impl Request {
    /// A request with `method` to `url`, no headers, no body.
    pub fn new(method: &str, url: &str) -> Self {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body and `content-type: application/json`. Errors:
    /// [`Error::InvalidData`] when `value` cannot be serialised.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        self.body = serde_json::to_vec(value).map_err(|e| Error::InvalidData {
            key: "body".into(),
            reason: e.to_string(),
        })?;
        Ok(self.header("content-type", "application/json"))
    }

    /// Sends the request and waits for the whole response. Errors: see
    /// the module docs; a status of 4xx or 5xx is a response, not an
    /// error.
    pub fn send(self) -> Result<Response> {
        let response = wit::send(&wit::Request {
            method: self.method,
            url: self.url,
            headers: self.headers,
            body: self.body,
        })?;
        Ok(Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

/// The answer of the department's system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON. Errors: [`Error::InvalidData`] (key `body`) when
    /// it is not a `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::InvalidData {
            key: "body".into(),
            reason: e.to_string(),
        })
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response> {
    Request::new("GET", url).send()
}

/// `POST url` with `value` as a JSON body.
pub fn post_json<T: Serialize + ?Sized>(url: &str, value: &T) -> Result<Response> {
    Request::new("POST", url).json(value)?.send()
}
