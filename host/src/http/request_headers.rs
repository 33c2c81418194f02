//! The request headers a mini-app sees.
//!
//! The host is the app's only client: whatever described the citizen's
//! connection to the host, or the host's credentials, is not the app's.
//! Dropped before a request is passed to an app:
//!
//! - the citizen's credentials: `cookie`, `authorization`, the CSRF header;
//! - `host` (the app is addressed by its id, not by a name);
//! - every `x-cityhost-*` header (the host's own namespace, set by the
//!   gateway only);
//! - hop-by-hop headers, which describe one connection and must not be
//!   forwarded by an intermediary (RFC 9110 §7.6.1): `connection`, every
//!   header `connection` names, `keep-alive`, `te`, `trailer`,
//!   `transfer-encoding`, `upgrade` and every `proxy-*` header;
//! - forwarding and client-identity headers (`via`, `forwarded`,
//!   `x-forwarded-*`, `x-real-ip`, `true-client-ip`, `cf-connecting-ip`…):
//!   a citizen can forge any of them, and the app addresses the citizen by
//!   openid only, never by network address.

use axum::http::{HeaderMap, header};

use crate::gateway::HOST_HEADER_PREFIX;

/// Request headers never passed to an app, by exact (lowercase) name.
const DROPPED: [&str; 21] = [
    // Credentials and addressing.
    "cookie",
    crate::identity::sessions::CSRF_HEADER,
    "authorization",
    "host",
    // Hop-by-hop (RFC 9110 §7.6.1; `keep-alive` per RFC 7230 §6.1).
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    // Forwarding and client identity (RFC 9110 §7.6.3, RFC 7239, and the
    // de-facto headers of proxies and CDNs).
    "via",
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "client-ip",
    "x-original-forwarded-for",
    "x-originating-ip",
];

/// Request headers never passed to an app, by (lowercase) name prefix:
/// the host's namespace, proxy headers (`proxy-authorization`,
/// `proxy-connection`…) and the `x-forwarded-*` family.
const DROPPED_PREFIXES: [&str; 3] = [HOST_HEADER_PREFIX, "proxy-", "x-forwarded-"];

/// The headers an app sees, in order: lowercase names, UTF-8 values (a
/// value that is not UTF-8 is dropped), none of those listed in the module
/// docs.
pub(super) fn for_app(headers: &HeaderMap) -> Vec<(String, String)> {
    // Names the `connection` header declares hop-by-hop (RFC 9110 §7.6.1),
    // lowercase, from every `connection` line.
    let nominated: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
        .collect();
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            !DROPPED.contains(&name)
                && !DROPPED_PREFIXES.iter().any(|p| name.starts_with(p))
                && !nominated.iter().any(|n| n == name)
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderName, HeaderValue};

    use super::for_app;

    #[test]
    fn hop_by_hop_forwarding_and_nominated_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("accept-language", "zh-CN"),
            ("x-app-thing", "kept"),
            ("connection", "keep-alive, X-Secret-Hop"),
            ("x-secret-hop", "1"),
            ("te", "trailers"),
            ("proxy-connection", "keep-alive"),
            ("x-forwarded-proto", "https"),
            ("cf-connecting-ip", "203.0.113.7"),
            ("via", "1.1 evil"),
            ("x-cityhost-openid", "forged"),
        ] {
            headers.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let names: Vec<String> = for_app(&headers).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["accept-language", "x-app-thing"]);
    }
}
