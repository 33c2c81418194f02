//! The host's two cookies, both `Path=/; SameSite=Strict`, `Secure` when the
//! host's public URL is `https://` (it is then served behind TLS):
//!
//! - [`COOKIE`] (`cityhost_session`): the session token, `HttpOnly` — no
//!   script, the shell's included, can read it.
//! - [`CSRF_COOKIE`] (`cityhost_csrf`): the session's CSRF token, readable
//!   by the shell's script, which echoes it in the `X-CSRF-Token` header
//!   (see `csrf`).
//!
//! `SameSite=Strict` rather than `Lax`: the shell is one page that calls the
//! API with `fetch`, so a citizen arriving from a link elsewhere loses
//! nothing (the page itself needs no cookie), while no other site's page,
//! form or navigation ever carries the session.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::identity::sessions::{COOKIE, CSRF_COOKIE, Issued, LIFETIME_SECS};
use crate::platform::Platform;

/// Whether the host is served behind TLS: its public URL (the issuer of its
/// ID tokens, `--public-url`) is `https://`. Cookies are then `Secure` and
/// responses carry `Strict-Transport-Security`.
pub(crate) fn behind_tls(platform: &Platform) -> bool {
    platform
        .services
        .id_tokens
        .issuer()
        .to_ascii_lowercase()
        .starts_with("https://")
}

/// The `Set-Cookie` values that sign a citizen in: the session and its
/// CSRF token, both for the session's lifetime.
pub(crate) fn signed_in(platform: &Platform, issued: &Issued) -> [HeaderValue; 2] {
    let csrf = platform.services.sessions.csrf_token(&issued.session.id);
    let max_age = LIFETIME_SECS.to_string();
    [
        set_cookie(platform, COOKIE, &issued.token, &max_age, true),
        set_cookie(platform, CSRF_COOKIE, &csrf, &max_age, false),
    ]
}

/// The `Set-Cookie` values that sign a citizen out: both cookies expired.
pub(crate) fn signed_out(platform: &Platform) -> [HeaderValue; 2] {
    [
        set_cookie(platform, COOKIE, "", "0", true),
        set_cookie(platform, CSRF_COOKIE, "", "0", false),
    ]
}

fn set_cookie(
    platform: &Platform,
    name: &str,
    value: &str,
    max_age: &str,
    http_only: bool,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; SameSite=Strict; Max-Age={max_age}");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if behind_tls(platform) {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("tokens are header-safe")
}

/// Adds `cookies` to a response's headers as `Set-Cookie`.
pub(crate) fn append(headers: &mut HeaderMap, cookies: [HeaderValue; 2]) {
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
}

/// The value of the request's cookie `name`, if any.
pub(crate) fn read(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}
