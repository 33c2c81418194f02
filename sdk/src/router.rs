//! [`Router`]: dispatches a request to its handler by method and exact path,
//! and a host event to its handler by kind.

use crate::error::Result;
use crate::events::{AppEvent, Event};
use crate::payment::{Order, RefundEvent};
use crate::request::{Method, Request};
use crate::response::Response;
use crate::view::{AlertLevel, View};

type Handler = Box<dyn Fn(&Request) -> Result<Response>>;
type EventHandler<T> = Box<dyn Fn(&T) -> Result<()>>;

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
    payment_succeeded: Option<EventHandler<Order>>,
    refund_succeeded: Option<EventHandler<RefundEvent>>,
    app_events: Vec<(String, EventHandler<AppEvent>)>,
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

    /// Sets the handler of [`Event::PaymentSucceeded`]: the order the
    /// citizen has just paid. Return `Ok` once it is handled; an `Err`
    /// makes the host deliver it again later (see [`crate::events`]).
    pub fn on_payment_succeeded(
        mut self,
        handler: impl Fn(&Order) -> Result<()> + 'static,
    ) -> Self {
        self.payment_succeeded = Some(Box::new(handler));
        self
    }

    /// Sets the handler of [`Event::RefundSucceeded`]: a refund done, with
    /// the order as it is after it. `Ok` and `Err` as for
    /// [`Router::on_payment_succeeded`].
    pub fn on_refund_succeeded(
        mut self,
        handler: impl Fn(&RefundEvent) -> Result<()> + 'static,
    ) -> Self {
        self.refund_succeeded = Some(Box::new(handler));
        self
    }

    /// Sets the handler of the app event of type `kind` (`timer.{name}`,
    /// `cron.{name}` or `department.{name}`, see [`AppEvent`]). Return
    /// `Ok` once it is handled; an `Err` makes the host deliver it again
    /// later. An app event without a handler is refused (so a release that
    /// adds the handler still gets it, within the retries). The first
    /// handler set for a type wins.
    pub fn on_event(
        mut self,
        kind: impl Into<String>,
        handler: impl Fn(&AppEvent) -> Result<()> + 'static,
    ) -> Self {
        self.app_events.push((kind.into(), Box::new(handler)));
        self
    }

    /// Handles an app event (the host's request under `/_cityhost/events/`):
    /// `204` once handled, `500` (with the error as text, for the host's
    /// log) to be delivered again, `404` if no handler takes it.
    fn handle_app_event(&self, event: &AppEvent) -> Response {
        let Some((_, handler)) = self.app_events.iter().find(|(k, _)| k == event.kind()) else {
            return Response::text(format!("no handler for the app event `{}`", event.kind()))
                .status(404);
        };
        match handler(event) {
            Ok(()) => Response::from_parts(204, Vec::new(), Vec::new()),
            Err(e) => Response::text(e.to_string()).status(500),
        }
    }

    /// Handles a host event: runs its handler, or accepts it if the app has
    /// none. `Err` carries the handler's error as text, for the host's log
    /// (the host then retries the event).
    pub fn handle_event(&self, event: &Event) -> std::result::Result<(), String> {
        let result = match event {
            Event::PaymentSucceeded(order) => self.payment_succeeded.as_ref().map(|h| h(order)),
            Event::RefundSucceeded(refund) => self.refund_succeeded.as_ref().map(|h| h(refund)),
        };
        result.unwrap_or(Ok(())).map_err(|e| e.to_string())
    }

    /// Answers `req`: runs the matching handler, or answers `404`/`405`.
    /// A `location` header holding an app path (from
    /// [`Response::redirect`]) is rewritten relative to the request's path.
    pub fn handle(&self, req: &Request) -> Response {
        if req.method() == Method::Post
            && let Some(event) = AppEvent::from_request(req)
        {
            return self.handle_app_event(&event);
        }
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
            .on_payment_succeeded(|order| match order.out_trade_no.as_str() {
                "later" => Err(Error::Unavailable("try later".into())),
                _ => Ok(()),
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
    fn events_go_to_their_handler_and_unhandled_ones_are_accepted() {
        let order = |no: &str| Order {
            order_id: "o-1".into(),
            out_trade_no: no.into(),
            amount_fen: 100,
            refunded_fen: 0,
            subject: "水费".into(),
            state: crate::payment::OrderState::Paid,
            created_at: 1,
            paid_at: Some(2),
            expires_at: 3,
            pay_url: "/#/pay/o-1".into(),
        };
        let r = router();
        assert_eq!(
            r.handle_event(&Event::PaymentSucceeded(order("ub-1"))),
            Ok(())
        );
        let err = r
            .handle_event(&Event::PaymentSucceeded(order("later")))
            .unwrap_err();
        assert!(err.contains("try later"), "{err}");
        // No refund handler: accepted, so the host stops retrying.
        let refund = RefundEvent {
            order: order("ub-1"),
            refund: crate::payment::Refund {
                refund_id: "r-1".into(),
                out_trade_no: "ub-1".into(),
                out_request_no: "rf-1".into(),
                amount_fen: 100,
                reason: String::new(),
                refunded_at: 4,
            },
        };
        assert_eq!(r.handle_event(&Event::RefundSucceeded(refund)), Ok(()));
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

    #[test]
    fn app_events_go_to_their_handler_by_type() {
        use std::cell::RefCell;
        use std::rc::Rc;
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        let router = Router::new().on_event("timer.remind", move |event: &AppEvent| {
            let slot: String = event.payload::<serde_json::Value>()?["slot"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if slot.is_empty() {
                return Err(Error::InvalidArgument("payload.slot".into()));
            }
            log.borrow_mut().push((event.id().to_string(), slot));
            Ok(())
        });
        let event = |kind: &str, body: &str| {
            Request::new(Method::Post, format!("/_cityhost/events/{kind}"))
                .with_header("x-cityhost-event-id", "evt_1")
                .with_body(body.as_bytes().to_vec())
        };
        let ok = router.handle(&event("timer.remind", r#"{"slot":"09:00"}"#));
        assert_eq!(ok.status_code(), 204);
        assert_eq!(
            *seen.borrow(),
            vec![("evt_1".to_string(), "09:00".to_string())]
        );
        assert_eq!(
            router.handle(&event("timer.remind", "{}")).status_code(),
            500
        );
        assert_eq!(router.handle(&event("cron.daily", "{}")).status_code(), 404);
        // A GET there is no event.
        let get = Request::new(Method::Get, "/_cityhost/events/timer.remind");
        assert_eq!(router.handle(&get).status_code(), 404);
    }
}
