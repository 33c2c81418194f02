//! [`Router`]: dispatches a request to its handler by method and exact path,
//! and host events by name.

use crate::error::Result;
use crate::request::{Method, Request};
use crate::response::Response;
use crate::view::{AlertLevel, View};

/// Path prefix of the events the host sends (`POST`, JSON body). The host
/// makes it unreachable for citizens.
pub const EVENT_PATH_PREFIX: &str = "/_cityhost/events/";

type Handler = Box<dyn Fn(&Request) -> Result<Response>>;

struct Route {
    method: Method,
    path: String,
    handler: Handler,
}

/// Routes requests by method and exact path to handlers of the form
/// `fn(&Request) -> Result<R, Error>` where `R` is a [`Response`] or a
/// [`View`] (anything `Into<Response>`).
///
/// An unknown path answers `404`, a known path with another method `405`
/// (with an `allow` header), both as views. `HEAD` is served by the `GET`
/// handler without the body. An `Err` from a handler becomes its
/// [`Error::into_response`](crate::Error::into_response).
///
/// ```
/// use cityhost_sdk::{Method, Request, Result, Router, View};
///
/// fn index(_req: &Request) -> Result<View> {
///     Ok(View::new("你好").text("欢迎"))
/// }
///
/// let router = Router::new().get("/", index);
/// assert_eq!(router.handle(&Request::new(Method::Get, "/")).status_code(), 200);
/// assert_eq!(router.handle(&Request::new(Method::Post, "/")).status_code(), 405);
/// assert_eq!(router.handle(&Request::new(Method::Get, "/nope")).status_code(), 404);
/// ```
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// A router with no routes.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a handler for `method` and exact `path` (starting with `/`).
    /// The first route added for a method and path wins.
    pub fn route<H, R>(mut self, method: Method, path: impl Into<String>, handler: H) -> Self
    where
        H: Fn(&Request) -> Result<R> + 'static,
        R: Into<Response>,
    {
        self.routes.push(Route {
            method,
            path: path.into(),
            handler: Box::new(move |req| handler(req).map(Into::into)),
        });
        self
    }

    /// Adds a `GET` handler.
    pub fn get<H, R>(self, path: impl Into<String>, handler: H) -> Self
    where
        H: Fn(&Request) -> Result<R> + 'static,
        R: Into<Response>,
    {
        self.route(Method::Get, path, handler)
    }

    /// Adds a `POST` handler.
    pub fn post<H, R>(self, path: impl Into<String>, handler: H) -> Self
    where
        H: Fn(&Request) -> Result<R> + 'static,
        R: Into<Response>,
    {
        self.route(Method::Post, path, handler)
    }

    /// Adds a handler for the host event `event` (e.g. `payment.succeeded`,
    /// see [`payment::PAYMENT_SUCCEEDED`](crate::payment::PAYMENT_SUCCEEDED)):
    /// a `POST` to `/_cityhost/events/{event}` with a JSON body, sent on
    /// behalf of the citizen concerned. Answer `2xx` once the event is
    /// handled; any other status (an `Err` too) makes the host retry later,
    /// so handlers must be idempotent.
    pub fn on_event<H, R>(self, event: &str, handler: H) -> Self
    where
        H: Fn(&Request) -> Result<R> + 'static,
        R: Into<Response>,
    {
        self.route(Method::Post, format!("{EVENT_PATH_PREFIX}{event}"), handler)
    }

    /// Answers `req`: runs the matching handler, or answers `404`/`405`.
    /// A `location` header holding an app path (from
    /// [`Response::redirect`]) is rewritten relative to the request's path.
    pub fn handle(&self, req: &Request) -> Response {
        let wanted = match req.method() {
            Method::Head => Method::Get,
            other => other,
        };
        let on_path = || self.routes.iter().filter(|r| r.path == req.path());
        let response = match on_path().find(|r| r.method == wanted) {
            Some(route) => (route.handler)(req).unwrap_or_else(crate::Error::into_response),
            None if on_path().next().is_some() => {
                let mut allowed: Vec<&str> = Vec::new();
                for route in on_path() {
                    let name = route.method.as_str();
                    if !allowed.contains(&name) {
                        allowed.push(name);
                    }
                }
                method_not_allowed(req, &allowed.join(", "))
            }
            None => not_found(req),
        };
        let response = relative_location(response, req.path());
        if req.method() == Method::Head {
            let (status, headers, _) = response.into_parts();
            return Response::from_parts(status, headers, Vec::new());
        }
        response
    }
}

fn not_found(req: &Request) -> Response {
    let view = View::new("页面不存在")
        .alert(
            AlertLevel::Info,
            format!("此服务没有页面「{}」。", req.path()),
        )
        .link("返回首页", "/");
    Response::view(view).status(404)
}

fn method_not_allowed(req: &Request, allowed: &str) -> Response {
    let view = View::new("无法完成操作")
        .alert(
            AlertLevel::Error,
            format!(
                "页面「{}」不接受 {} 请求（可用：{allowed}）。",
                req.path(),
                req.method().as_str()
            ),
        )
        .link("返回首页", "/");
    Response::view(view).status(405).header("allow", allowed)
}

/// Rewrites a `location` that is an app path (`/x?y`) into a reference
/// relative to the request path, so that the browser resolves it under
/// `/apps/{app-id}/` (e.g. from `/a/b` to `/x`: `../x`).
fn relative_location(response: Response, request_path: &str) -> Response {
    let Some(location) = response.header_value("location") else {
        return response;
    };
    if !location.starts_with('/') || location.starts_with("//") {
        return response;
    }
    let depth = request_path.matches('/').count().saturating_sub(1);
    let target = &location[1..];
    let relative = if depth == 0 {
        format!("./{target}")
    } else {
        format!("{}{target}", "../".repeat(depth))
    };
    response.header("location", relative)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn router() -> Router {
        Router::new()
            .get("/", |_| Ok(View::new("首页")))
            .post("/", |_| Ok(Response::text("posted")))
            .get("/items", |req| {
                let id = req
                    .query("id")
                    .ok_or_else(|| Error::bad_request("id", "为必填项"))?;
                Ok(Response::text(id.to_string()))
            })
            .post("/consent", |_| -> Result<Response> {
                Err(Error::ConsentRequired("auth_user".into()))
            })
            .get("/a/b/go", |_| Ok(Response::redirect("/bills?account=1")))
            .get("/go", |_| Ok(Response::redirect("/")))
            .on_event("payment.succeeded", |req| {
                let body: serde_json::Value = req.json()?;
                Ok(Response::text(
                    body["out_trade_no"].as_str().unwrap_or("").to_string(),
                ))
            })
    }

    #[test]
    fn dispatches_by_method_and_exact_path() {
        let r = router();
        let res = r.handle(&Request::new(Method::Get, "/"));
        assert_eq!(res.status_code(), 200);
        assert_eq!(res.as_view().unwrap().title, "首页");
        assert_eq!(r.handle(&Request::new(Method::Post, "/")).body(), b"posted");
        let res = r.handle(&Request::new(Method::Get, "/items").with_query("id", "7"));
        assert_eq!(res.body(), b"7");
    }

    #[test]
    fn unknown_path_is_404_view() {
        let res = router().handle(&Request::new(Method::Get, "/items/"));
        assert_eq!(res.status_code(), 404);
        assert!(res.as_view().is_some());
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        let res = router().handle(&Request::new(Method::Delete, "/"));
        assert_eq!(res.status_code(), 405);
        assert_eq!(res.header_value("allow"), Some("GET, POST"));
        assert!(res.as_view().is_some());
        let res = router().handle(&Request::new(Method::Get, "/consent"));
        assert_eq!(res.header_value("allow"), Some("POST"));
    }

    #[test]
    fn head_uses_get_without_body() {
        let res = router().handle(&Request::new(Method::Head, "/"));
        assert_eq!(res.status_code(), 200);
        assert!(res.body().is_empty());
        assert_eq!(
            res.header_value("content-type"),
            Some("application/vnd.cityhost.view+json")
        );
    }

    #[test]
    fn handler_errors_become_their_responses() {
        let r = router();
        assert_eq!(
            r.handle(&Request::new(Method::Get, "/items")).status_code(),
            400
        );
        let res = r.handle(&Request::new(Method::Post, "/consent"));
        assert_eq!(res.status_code(), 403);
        assert!(String::from_utf8_lossy(res.body()).contains(r#""kind":"consent""#));
    }

    #[test]
    fn events_are_posts_to_the_reserved_path() {
        let req = Request::new(Method::Post, "/_cityhost/events/payment.succeeded")
            .with_json(&serde_json::json!({"out_trade_no": "ub-1"}));
        assert_eq!(router().handle(&req).body(), b"ub-1");
        let res = router().handle(&Request::new(Method::Post, "/_cityhost/events/other"));
        assert_eq!(res.status_code(), 404);
    }

    #[test]
    fn redirects_are_made_relative_to_the_request_path() {
        let res = router().handle(&Request::new(Method::Get, "/a/b/go"));
        assert_eq!(res.status_code(), 303);
        assert_eq!(res.header_value("location"), Some("../../bills?account=1"));
        let res = router().handle(&Request::new(Method::Get, "/go"));
        assert_eq!(res.header_value("location"), Some("./"));
        assert_eq!(
            relative_location(Response::redirect("https://x/"), "/a").header_value("location"),
            Some("https://x/")
        );
    }
}
