//! The export side of the component: the host's WIT request (or event) in,
//! the app's [`Router`] run, the WIT response out.
//! [`export_app!`](crate::export_app) wires an app to [`handle`] and
//! [`on_event`].

use crate::bindings::exports::cityhost::miniapp::events as wit_events;
use crate::bindings::exports::cityhost::miniapp::handler as wit;
use crate::request::{Method, Request};
use crate::router::Router;

pub use wit::Guest;
pub use wit::{Request as WitRequest, Response as WitResponse};
pub use wit_events::{Event as WitEvent, Guest as EventsGuest};

/// Handles one host event with the router `app` builds.
pub fn on_event(
    _event_id: String,
    event: WitEvent,
    app: impl FnOnce() -> Router,
) -> Result<(), String> {
    app().handle_event(&event.into())
}

/// Answers one host request with the router `app` builds.
pub fn handle(request: WitRequest, app: impl FnOnce() -> Router) -> WitResponse {
    let method = match request.method {
        wit::Method::Get => Method::Get,
        wit::Method::Post => Method::Post,
        wit::Method::Put => Method::Put,
        wit::Method::Patch => Method::Patch,
        wit::Method::Delete => Method::Delete,
        wit::Method::Head => Method::Head,
        wit::Method::Options => Method::Options,
    };
    let request = Request::from_parts(
        method,
        request.path,
        request.query,
        request.headers,
        request.body,
    );
    let (status, headers, body) = app().handle(&request).into_parts();
    WitResponse {
        status,
        headers,
        body,
    }
}
