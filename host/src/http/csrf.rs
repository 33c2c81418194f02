//! Cross-site request forgery defences (OWASP CSRF Prevention Cheat Sheet),
//! on every state-changing request (any method but GET, HEAD, OPTIONS and
//! TRACE):
//!
//! 1. [`refuse_cross_origin`], a layer over the whole router: a request that
//!    a browser marks `Sec-Fetch-Site` other than `same-origin` or `none`
//!    is refused (`403 cross_site_request`), and so is one whose `Origin` is
//!    not one of the host's configured origins ([`PublicOrigins`]: the
//!    public URL's, `--public-origin`s, the loopback names of a local host)
//!    (`403 origin_mismatch`). The request's `Host` is never trusted for
//!    this: under DNS rebinding `Host` and `Origin` both name the
//!    attacker's site and agree. This covers register
//!    and login too, which have no session yet. Clients that are not
//!    browsers (the CLI, department systems with bearer tokens) send
//!    neither header and pass.
//! 2. [`require_token`], called by the `SignedIn` extractor, so on exactly
//!    the requests authenticated by the session cookie (the shell's API
//!    and the mini-app routes): the `X-CSRF-Token` header must hold the
//!    session's CSRF token (`Sessions::csrf_token`, the HMAC of the session
//!    id; compared in constant time) — missing is `403 csrf_token_missing`,
//!    any other value `403 csrf_token_mismatch`. Requests authenticated by
//!    a bearer token never carry the cookie's authority and need no token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::identity::sessions::{CSRF_HEADER, Session};
use crate::platform::Platform;
use crate::public_origins::PublicOrigins;

/// Whether `method` may change state (anything but GET, HEAD, OPTIONS,
/// TRACE: RFC 9110 §9.2.1 safe methods).
pub(crate) fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Layer: refuses a state-changing request that a browser sent from another
/// site or origin (see the module docs).
pub(crate) async fn refuse_cross_origin(
    State(platform): State<Arc<Platform>>,
    request: Request,
    next: Next,
) -> Response {
    if changes_state(request.method())
        && let Err(refusal) = check_origin(request.headers(), &platform.public_origins)
    {
        return refusal.into_response();
    }
    next.run(request).await
}

/// `Sec-Fetch-Site` (Fetch Metadata) first, then `Origin` against the
/// configured origins. Either header given more than once is refused: only
/// one value can be checked.
fn check_origin(headers: &HeaderMap, own: &PublicOrigins) -> Result<(), ApiError> {
    let site = single(headers, "sec-fetch-site", "cross_site_request")?;
    if let Some(site) = site {
        let site = site.to_ascii_lowercase();
        if !matches!(site.as_str(), "same-origin" | "none") {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                format!("a request with Sec-Fetch-Site `{site}` may not change anything here"),
            ));
        }
    }
    let Some(origin) = single(headers, header::ORIGIN.as_str(), "origin_mismatch")? else {
        return Ok(());
    };
    if own.contains(origin) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_mismatch",
            format!(
                "requests from origin `{}` may not change anything here",
                origin.to_ascii_lowercase()
            ),
        ))
    }
}

/// The one value of header `name`, if present; refused with `code` when
/// it is given more than once.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &str,
    code: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            code,
            format!("the {name} header is given more than once"),
        ));
    }
    Ok(first.map(|v| v.to_str().unwrap_or_default()))
}

/// On a state-changing request authenticated by `session`'s cookie: the
/// `X-CSRF-Token` header must hold the session's CSRF token.
pub(crate) fn require_token(
    parts: &Parts,
    platform: &Platform,
    session: &Session,
) -> Result<(), ApiError> {
    if !changes_state(&parts.method) {
        return Ok(());
    }
    let Some(presented) = single(&parts.headers, CSRF_HEADER, "csrf_token_mismatch")? else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_token_missing",
            "send the cityhost_csrf cookie's value in the X-CSRF-Token header",
        ));
    };
    if platform
        .services
        .sessions
        .csrf_token_matches(&session.id, presented)
    {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_token_mismatch",
            "the X-CSRF-Token header does not match this session; sign in again",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn own(public_url: &str) -> PublicOrigins {
        PublicOrigins::new(public_url, &[]).unwrap()
    }

    fn refusal(pairs: &[(&'static str, &'static str)]) -> Option<&'static str> {
        check_origin(&headers(pairs), &own("https://city.example.cn"))
            .err()
            .map(|e| e.code)
    }

    #[test]
    fn own_origin_and_non_browser_clients_pass() {
        assert_eq!(refusal(&[]), None);
        assert_eq!(refusal(&[("sec-fetch-site", "same-origin")]), None);
        assert_eq!(refusal(&[("sec-fetch-site", "none")]), None);
        assert_eq!(refusal(&[("origin", "https://city.example.cn")]), None);
        assert_eq!(refusal(&[("origin", "HTTPS://City.Example.cn")]), None);
        // Reached under another name than the public URL's, e.g. a host
        // bound to 0.0.0.0 opened as 127.0.0.1.
        let local = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert!(check_origin(&local, &own("http://0.0.0.0:8080")).is_ok());
    }

    #[test]
    fn the_scheme_counts_and_a_header_given_twice_is_refused() {
        // Same host and port, other scheme: another origin.
        for origin in ["http://city.example.cn", "ws://city.example.cn"] {
            let mut map = headers(&[("host", "city.example.cn")]);
            map.insert("origin", origin.parse().unwrap());
            let e = check_origin(&map, &own("https://city.example.cn")).unwrap_err();
            assert_eq!(e.code, "origin_mismatch", "{origin}");
        }
        // A header given twice, even with an acceptable first value.
        for (name, first, second, code) in [
            (
                "origin",
                "https://city.example.cn",
                "https://evil.example",
                "origin_mismatch",
            ),
            (
                "sec-fetch-site",
                "same-origin",
                "cross-site",
                "cross_site_request",
            ),
        ] {
            let mut map = headers(&[(name, first)]);
            map.append(name, second.parse().unwrap());
            let e = check_origin(&map, &own("https://city.example.cn")).unwrap_err();
            assert_eq!(e.code, code, "{name}");
        }
    }

    #[test]
    fn other_sites_and_origins_are_refused() {
        for site in ["cross-site", "same-site", "bogus"] {
            let mut map = HeaderMap::new();
            map.insert("sec-fetch-site", site.parse().unwrap());
            let e = check_origin(&map, &own("https://city.example.cn")).unwrap_err();
            assert_eq!(e.code, "cross_site_request", "{site}");
        }
        for origin in [
            "https://evil.example",
            "null",
            "https://city.example.cn.evil.example",
            "http://city.example.cn:8443",
        ] {
            let mut map = headers(&[("host", "127.0.0.1:8080")]);
            map.insert("origin", origin.parse().unwrap());
            let e = check_origin(&map, &own("https://city.example.cn")).unwrap_err();
            assert_eq!(e.code, "origin_mismatch", "{origin}");
        }
        // A matching Host does not excuse a cross-site fetch.
        assert_eq!(
            refusal(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://city.example.cn")
            ]),
            Some("cross_site_request")
        );
    }

    #[test]
    fn a_host_header_that_agrees_with_a_foreign_origin_does_not_pass() {
        // DNS rebinding: the attacker's name now points at the host.
        let rebound = headers(&[("host", "evil.example"), ("origin", "http://evil.example")]);
        let e = check_origin(&rebound, &own("http://127.0.0.1:8080")).unwrap_err();
        assert_eq!(e.code, "origin_mismatch");
    }

    #[test]
    fn only_unsafe_methods_change_state() {
        for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!changes_state(&m));
        }
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(changes_state(&m));
        }
    }
}
