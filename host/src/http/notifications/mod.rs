//! The citizen's side of notifications: `/api/inbox` (pages, read state,
//! delete), `/api/inbox/stream` (server-sent events) and
//! `/api/subscriptions` (the subscription sheet and the citizen's
//! subscriptions); and the department's side, `/api/departments/{uscc}/
//! apps/{app}/messages` (a department system messages a citizen by
//! openid). Reference: `docs/notifications.md`.

mod department;
mod inbox;
mod stream;
mod subscriptions;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::platform::Platform;

/// The routes, relative to `/api`.
pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/inbox", get(inbox::list))
        .route("/inbox/unread", get(inbox::unread))
        .route("/inbox/read-all", post(inbox::mark_all_read))
        .route("/inbox/stream", get(stream::stream))
        .route("/inbox/{message_id}", delete(inbox::delete))
        .route("/inbox/{message_id}/read", post(inbox::mark_read))
        .route(
            "/subscriptions",
            get(subscriptions::list).post(subscriptions::decide),
        )
        .route("/subscriptions/{app_id}", get(subscriptions::sheet))
        .route(
            "/subscriptions/{app_id}/{template}",
            delete(subscriptions::cancel),
        )
        .route(
            "/departments/{uscc}/apps/{app_id}/messages",
            post(department::send),
        )
}
