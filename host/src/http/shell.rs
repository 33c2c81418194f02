//! The citizen's web shell: `index.html` at `/` and the files under
//! `host/src/shell/` (stylesheet, ES modules) at `/shell/{path}`, all
//! compiled into the binary.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use super::error::ApiError;

/// Everything under `host/src/shell/`.
static SHELL: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/src/shell");

/// Scripts only from the host's own origin (the ES modules below), no
/// inline script; mini-app views are rendered as data, never as HTML.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// `GET /`: the shell's page.
pub(super) async fn index() -> Response {
    let page = SHELL
        .get_file("index.html")
        .and_then(|f| f.contents_utf8())
        .unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page,
    )
        .into_response()
}

/// `GET /shell/{*path}`: a stylesheet or script of the shell; any other
/// path (or another file type) is a JSON 404.
pub(super) async fn asset(Path(path): Path<String>) -> Response {
    let Some((file, content_type)) =
        content_type(&path).and_then(|ct| Some((SHELL.get_file(&path)?, ct)))
    else {
        return ApiError::not_found("shell file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        file.contents(),
    )
        .into_response()
}

/// The content type the shell serves a file name with, or `None` for a
/// type it does not serve (the page itself is served only at `/`).
fn content_type(path: &str) -> Option<&'static str> {
    if path
        .split('/')
        .any(|segment| segment.is_empty() || segment.starts_with('.'))
    {
        return None;
    }
    match path.rsplit_once('.')?.1 {
        "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn only_scripts_and_stylesheets_without_dot_or_empty_segments_are_served() {
        assert_eq!(
            content_type("js/pages/me.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("style.css"), Some("text/css; charset=utf-8"));
        for refused in [
            "index.html",
            "js/../style.css",
            "../http/shell.rs",
            ".hidden.js",
            "js//main.js",
            "js/main",
        ] {
            assert_eq!(content_type(refused), None, "{refused}");
        }
    }
}
