//! [`Response`]: what a handler answers, a view, JSON, text or a redirect.

use serde::Serialize;

use crate::view::{VIEW_CONTENT_TYPE, View};

/// An HTTP response from the app: status, headers (names lowercase) and
/// body (at most 4 MiB; the host refuses larger ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response with `status`, one `content-type` header and `body`.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// A response from its parts; header names are lowercased.
    pub fn from_parts(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let headers = headers
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        Response {
            status,
            headers,
            body,
        }
    }

    /// `200` with a view (`application/vnd.cityhost.view+json`), rendered by
    /// the shell.
    pub fn view(view: View) -> Self {
        // A view is strings, vectors and maps with string keys: it always
        // serialises.
        let body = serde_json::to_vec(&view).unwrap_or_default();
        Response::bytes(200, VIEW_CONTENT_TYPE, body)
    }

    /// `200` with `value` as JSON. A value that cannot be serialised (a map
    /// with non-string keys, a failing `Serialize` impl) gives a `500`
    /// naming the reason instead.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Response::bytes(200, "application/json", body),
            Err(e) => Response::text(format!("cannot serialise the response: {e}")).status(500),
        }
    }

    /// `200` with plain UTF-8 text.
    pub fn text(text: impl Into<String>) -> Self {
        Response::bytes(200, "text/plain; charset=utf-8", text.into())
    }

    /// `303 See Other` to an app path (starting with `/`, e.g.
    /// `/bills?account=3301001`). The [`Router`](crate::Router) rewrites the
    /// `location` into a reference relative to the request's path, so the
    /// browser resolves it inside `/apps/{app-id}/` whatever the host does.
    pub fn redirect(path: impl Into<String>) -> Self {
        Response {
            status: 303,
            headers: vec![("location".into(), path.into())],
            body: Vec::new(),
        }
    }

    /// Sets the status code.
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets a header (the name is lowercased), replacing any with that name.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.into()));
        self
    }

    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The first header named `name` (case-insensitive), if any.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        crate::request::find_header(&self.headers, name)
    }

    /// All headers, names lowercase.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the response apart: status, headers, body.
    pub fn into_parts(self) -> (u16, Vec<(String, String)>, Vec<u8>) {
        (self.status, self.headers, self.body)
    }

    /// The body as a [`View`], if this is a view response (handy in tests).
    pub fn as_view(&self) -> Option<View> {
        let is_view = self
            .header_value("content-type")
            .is_some_and(|ct| ct.starts_with(VIEW_CONTENT_TYPE));
        if !is_view {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

impl From<View> for Response {
    fn from(view: View) -> Self {
        Response::view(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_response_has_the_view_content_type() {
        let r = Response::view(View::new("t").text("x"));
        assert_eq!(r.status_code(), 200);
        assert_eq!(
            r.header_value("Content-Type"),
            Some("application/vnd.cityhost.view+json")
        );
        assert_eq!(r.as_view().unwrap().title, "t");
    }

    #[test]
    fn json_text_status_and_headers() {
        let r = Response::json(&serde_json::json!({"a": 1}))
            .status(201)
            .header("X-Thing", "1");
        assert_eq!(r.body(), br#"{"a":1}"#);
        assert_eq!(r.status_code(), 201);
        assert_eq!(r.header_value("x-thing"), Some("1"));
        let r = Response::text("ok");
        assert_eq!(
            r.header_value("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(r.body(), b"ok");
        assert!(r.as_view().is_none());
    }

    #[test]
    fn redirect_is_a_303_with_location() {
        let r = Response::redirect("/bills?account=1");
        assert_eq!(r.status_code(), 303);
        assert_eq!(r.header_value("location"), Some("/bills?account=1"));
    }
}
