//! `/api/apps` (the service list) and `/apps/{app_id}/...` (requests
//! forwarded to a mini-app).
//!
//! Forwarding strips what the app must never see or forge (cookies,
//! authorization, hop-by-hop and forwarding headers, every `x-cityhost-*`
//! header: see [`super::request_headers`]); the reserved
//! event paths (`/_cityhost/...`) are unreachable from outside. The app's
//! answer is served with `Content-Security-Policy: sandbox`, so app content
//! can never run script in the host's origin, and with only the content
//! headers of [`ALLOWED_RESPONSE_HEADERS`] from the app: no cookie, host
//! header or security policy the app tried to set. A view answer reaches
//! the shell only as the host's view model parses it, malformed blocks
//! replaced and reported ([`crate::views`]).

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult, FromApp};
use super::extract::SignedIn;
use crate::capabilities::bindings::Method;
use crate::directory::Level;
use crate::error::ServiceError;
use crate::gateway::{AppRequest, EVENT_PATH_PREFIX, MAX_REQUEST_BYTES};
use crate::platform::Platform;
use crate::views::is_view_content_type;

/// A service tile.
#[derive(Serialize)]
pub(super) struct AppView {
    id: String,
    name: String,
    category: String,
    description: String,
    version: String,
    department: DepartmentView,
}

/// The department behind a service, with its place in the directory.
#[derive(Serialize)]
pub(super) struct DepartmentView {
    name: String,
    division_code: String,
    division_name: String,
    /// Names from province down to the department's division.
    division_path: Vec<String>,
    /// Level of government of the department's division: `province`,
    /// `city`, `county`, `township` or `village` (always set: an app loads
    /// only with a division of the directory).
    level: Option<Level>,
}

/// Query of the service list.
#[derive(Deserialize)]
pub(super) struct ListQuery {
    /// A division code (GB/T 2260): only the services of this division and
    /// of the divisions above it are listed.
    division: Option<String>,
}

/// `GET /api/apps[?division={code}]`: every service, or with `division`
/// the services a citizen of that place is served by — those of
/// departments at the division itself or above it (a Tonglu county citizen
/// gets Tonglu's, Hangzhou's and province-wide services, not Ningbo's).
/// `division` malformed: 400, unknown: 404, both naming `division`.
/// Each app is listed in the release the caller would be served: a signed-in
/// citizen in an app's gray group or among its trial testers sees that
/// release — and an app whose first version is only gray or on trial is
/// listed for them alone.
pub(super) async fn list(
    State(platform): State<Arc<Platform>>,
    who: Option<SignedIn>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<AppView>>> {
    let Query(query) = query.map_err(|e| ApiError::invalid("division", e.body_text()))?;
    let served_by: Option<Vec<String>> = match query.division {
        None => None,
        Some(code) => {
            let division = super::divisions::lookup(&platform, "division", &code).await?;
            let path = platform
                .services
                .directory
                .path(&division.code)
                .await
                .map_err(ServiceError::from)?;
            Some(path.into_iter().map(|d| d.code).collect())
        }
    };
    let openids = &platform.services.openids;
    let seen = platform
        .registry
        .sets()
        .into_iter()
        .filter_map(|(id, set)| match &who {
            Some(who) if set.gray.is_some() || set.trial.is_some() => {
                let openid = openids.peek(&id, &who.citizen.id);
                set.select(&id, Some(&openid))
            }
            _ => set.stable.clone(),
        });
    Ok(Json(
        seen.filter(|app| {
            served_by
                .as_ref()
                .is_none_or(|codes| codes.contains(&app.manifest.department.division))
        })
        .map(|app| {
            let m = &app.manifest;
            AppView {
                id: m.id.clone(),
                name: m.name.clone(),
                category: m.category.clone(),
                description: m.description.clone(),
                version: m.version.clone(),
                department: DepartmentView {
                    name: m.department.name.clone(),
                    division_code: m.department.division.clone(),
                    division_name: app
                        .division_path
                        .last()
                        .map(|d| d.name.clone())
                        .unwrap_or_default(),
                    division_path: app.division_path.iter().map(|d| d.name.clone()).collect(),
                    level: app.division_path.last().map(|d| d.level),
                },
            }
        })
        .collect(),
    ))
}

/// Response headers an app may set; every other one (cookies, security
/// and caching policies, CORS, `refresh`, framing, hop-by-hop headers...)
/// is dropped, so an app can neither sign anyone in or out nor relax the
/// host's security headers.
const ALLOWED_RESPONSE_HEADERS: [&str; 9] = [
    "content-type",
    "content-language",
    "content-disposition",
    "location",
    "etag",
    "last-modified",
    "vary",
    "retry-after",
    "allow",
];

/// Policy of every app answer: sandboxed (an opaque origin, no script, no
/// forms), loading nothing but inline styles and `data:` images, framed by
/// nobody.
const APP_CSP: &str =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

pub(super) async fn forward(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    request: Request,
) -> ApiResult<Response> {
    let (parts, body) = request.into_parts();
    let full_path = parts.uri.path();
    let rest = full_path.strip_prefix("/apps/").unwrap_or_default();
    let (app_id, app_path) = match rest.split_once('/') {
        Some((id, path)) => (id, format!("/{path}")),
        None => (rest, "/".to_string()),
    };
    // The release this citizen sees (stable, gray or trial), chosen once:
    // the request finishes on it even if a new release lands meanwhile.
    let releases = platform
        .registry
        .set(app_id)
        .ok_or_else(|| ApiError::not_found("app"))?;
    let openid = platform
        .services
        .openids
        .openid(app_id, &who.citizen.id)
        .await?;
    let app = releases
        .select(app_id, Some(&openid))
        .ok_or_else(|| ApiError::not_found("app"))?;
    if !is_canonical(&app_path) || app_path.starts_with(EVENT_PATH_PREFIX) {
        return Err(ApiError::not_found("path"));
    }
    // The manifest's minimum assurance level for this route, checked before
    // the app runs; the shell turns the answer into the real-name page.
    let required = app.manifest.identity.required_level(&app_path);
    if who.citizen.assurance_level < required {
        return Err(ApiError {
            field: Some("assurance_level".into()),
            reason: Some(if required >= 2 { "L2" } else { "L1" }),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                "assurance_required",
                format!("this service needs assurance level L{required} (real-name verification)"),
            )
        });
    }
    let method = method(&parts.method)?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
        .map_err(|_| ApiError::invalid("query", "the query string is not valid form encoding"))?;
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| ApiError::body_too_large("1 MiB"))?;
    let is_head = matches!(method, Method::Head);
    let app_request = AppRequest {
        method,
        path: app_path.clone(),
        query,
        headers: super::request_headers::for_app(&parts.headers),
        body: body.to_vec(),
    };
    let mut response = platform
        .call_app(&app, Some(&who.citizen.id), app_request)
        .await?;
    // A view reaches the shell only as the model parses it (crate::views).
    let is_view = response.headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("content-type") && is_view_content_type(value)
    });
    if is_view && !is_head {
        response.body =
            crate::views::relay(&platform.views, &app.manifest.id, &app_path, &response.body);
    }
    let mut response = into_http(response, &app.manifest.id);
    if let Ok(version) = HeaderValue::from_str(&app.manifest.version) {
        response.headers_mut().insert(RELEASE_HEADER, version);
    }
    Ok(response)
}

/// Response header naming the release (version) that answered, so that a
/// department can tell which version a citizen got in a gray release.
pub(crate) const RELEASE_HEADER: &str = "x-cityhost-release";

fn method(method: &axum::http::Method) -> ApiResult<Method> {
    Ok(match method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        _ => {
            return Err(ApiError {
                field: Some("method".into()),
                ..ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "mini-apps accept GET, POST, PUT, PATCH, DELETE, HEAD and OPTIONS",
                )
            });
        }
    })
}

/// The app's response as HTTP: its status (an invalid one becomes 502),
/// its headers less those it may not set, an app-path `location` made
/// absolute under `/apps/{app_id}`, and the host's sandboxing headers.
fn into_http(response: crate::capabilities::bindings::Response, app_id: &str) -> Response {
    let status = StatusCode::from_u16(response.status)
        .ok()
        .filter(|s| !s.is_informational())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() = status;
    let headers = out.headers_mut();
    for (name, mut value) in response.headers {
        let lower = name.to_ascii_lowercase();
        if !ALLOWED_RESPONSE_HEADERS.contains(&lower.as_str()) {
            continue;
        }
        if lower == "location" && value.starts_with('/') && !value.starts_with("//") {
            value = format!("/apps/{app_id}{value}");
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(lower.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(APP_CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.extensions_mut().insert(FromApp);
    out
}

/// Whether an app path is in its one canonical form: percent-decoded, it
/// has no empty segment (`//`) but a trailing one, no `.` or `..` segment
/// and no backslash. Anything else could reach the same route as a canonical
/// path while dodging the host's checks on it (the reserved event paths,
/// the minimum assurance level per route), so it is refused.
fn is_canonical(path: &str) -> bool {
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return false;
    };
    let Some(rest) = decoded.strip_prefix('/') else {
        return false;
    };
    if decoded.contains('\\') || decoded.starts_with(EVENT_PATH_PREFIX) {
        return false;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    segments
        .iter()
        .enumerate()
        .all(|(i, s)| !matches!(*s, "." | "..") && (!s.is_empty() || i == last))
}

#[cfg(test)]
mod tests {
    use super::is_canonical;

    #[test]
    fn only_canonical_app_paths_pass() {
        for ok in ["/", "/bills", "/bills/", "/a/b", "/%E6%B5%99A12345"] {
            assert!(is_canonical(ok), "{ok}");
        }
        for bad in [
            "",
            "//_cityhost/events/payment.succeeded",
            "/./_cityhost/events/payment.succeeded",
            "/%5Fcityhost/events/payment.succeeded",
            "/a/../_cityhost/x",
            "/a//b",
            "/a/%2e%2e/b",
            "/a\\b",
            "/%FF",
        ] {
            assert!(!is_canonical(bad), "{bad}");
        }
    }
}
