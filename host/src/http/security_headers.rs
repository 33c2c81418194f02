//! Security headers on every response the host sends — API answers and
//! errors, the shell and its assets, mini-apps' answers, the inbox stream
//! (OWASP HTTP Headers Cheat Sheet). A route that sets one of them itself
//! keeps its own value (`if_not_present`): the shell's page has its own
//! `Content-Security-Policy`, mini-apps' answers the sandboxing one, the
//! shell's assets `Cache-Control: no-cache`. A mini-app cannot set any of
//! them: `apps` passes only an allowlist of its response headers.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

/// Policy of every response that does not set its own: load nothing, be
/// framed by nobody — right for JSON, CSS, script and error bodies.
pub(crate) const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Browser features no response of the host may use (`Permissions-Policy`).
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
     magnetometer=(), microphone=(), payment=(), usb=()";

/// `Strict-Transport-Security` behind TLS: one year (RFC 6797); no
/// `includeSubDomains`, since other services of the government domain are
/// not the host's to commit.
const HSTS: &str = "max-age=31536000";

/// `router` with every header below added to each response that lacks it
/// (one `SetResponseHeaderLayer::if_not_present` each, stacked into one
/// layer); `Strict-Transport-Security` only when `behind_tls`.
pub(crate) fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    behind_tls: bool,
) -> Router<S> {
    let set = |name: HeaderName, value: Option<HeaderValue>| {
        SetResponseHeaderLayer::if_not_present(name, value)
    };
    let fixed = |value: &'static str| Some(HeaderValue::from_static(value));
    router.layer(
        ServiceBuilder::new()
            .layer(set(header::X_CONTENT_TYPE_OPTIONS, fixed("nosniff")))
            .layer(set(header::REFERRER_POLICY, fixed("no-referrer")))
            .layer(set(header::X_FRAME_OPTIONS, fixed("DENY")))
            .layer(set(header::CONTENT_SECURITY_POLICY, fixed(DEFAULT_CSP)))
            .layer(set(
                HeaderName::from_static("cross-origin-opener-policy"),
                fixed("same-origin"),
            ))
            .layer(set(
                HeaderName::from_static("cross-origin-resource-policy"),
                fixed("same-origin"),
            ))
            .layer(set(
                HeaderName::from_static("permissions-policy"),
                fixed(PERMISSIONS_POLICY),
            ))
            // API answers carry personal data: never stored by a browser or
            // a proxy. The shell's page and assets set `no-cache` themselves.
            .layer(set(header::CACHE_CONTROL, fixed("no-store")))
            .layer(set(
                header::STRICT_TRANSPORT_SECURITY,
                behind_tls.then(|| HeaderValue::from_static(HSTS)),
            )),
    )
}
