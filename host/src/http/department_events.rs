//! `POST /api/departments/{uscc}/apps/{app}/events`: a department's own
//! system sends its app an event (a bill issued, a slot released), which
//! the host delivers to the app as the app event `department.{event}` —
//! persisted, at least once, with the outbox's retries — on behalf of the
//! citizen named by `openid` if one is given. The event must be listed in
//! the app's manifest (`[events] from-department`). Needs a department
//! token with the `events` scope, for the department that publishes the
//! app.
//!
//! Body: `{"event": "bill-issued", "payload": {…}, "openid": "…"}`
//! (`payload`, any JSON value of at most 16 KiB, defaults to `{}`;
//! `openid` optional). Answers `202 {"event_id": "evt_…"}`: the event is
//! stored and will be delivered. Errors: `400` naming the field (`uscc`,
//! `event`, `payload`, `openid`), `403` (a token without the scope, or
//! another department's), `404 app`. Each call is audited
//! (`department.send-event`, with the event's name and id; never the
//! payload).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::auth::DepartmentAuth;
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use crate::events::{Source, check_app_event};
use crate::platform::Platform;
use crate::publishing::tokens::TokenScope;

/// Routes under `/api`.
pub(super) fn routes() -> axum::Router<Arc<Platform>> {
    axum::Router::new().route("/departments/{uscc}/apps/{app_id}/events", post(send))
}

/// The request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventBody {
    /// An event listed in the app's `[events] from-department`.
    event: String,
    /// The event's JSON payload.
    #[serde(default = "empty_object")]
    payload: serde_json::Value,
    /// The citizen (their openid for the app) it concerns.
    openid: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// The answer: the stored event's id (`x-cityhost-event-id` at the app).
#[derive(Serialize)]
pub(super) struct Accepted {
    event_id: String,
}

async fn send(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path((uscc, app_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EventBody>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let app = who
        .published_app(&platform, &uscc, &app_id, TokenScope::Events)
        .await?;
    let manifest = &app.manifest;
    let services = &platform.services;
    let mut audit = services.audit.begin(
        &manifest.id,
        &manifest.version,
        body.openid.clone(),
        "department.send-event",
    );
    audit.detail("event", body.event.as_str());
    let result = async {
        if !manifest.events.accepts(&body.event) {
            return Err(ApiError::invalid(
                "event",
                format!(
                    "the app's manifest does not list `{}` in [events] from-department",
                    body.event
                ),
            ));
        }
        let payload = body.payload.to_string();
        check_app_event(&body.event, &payload)
            .map_err(|(field, reason)| ApiError::invalid(field, reason))?;
        let citizen_id = match &body.openid {
            Some(openid) => Some(
                services
                    .openids
                    .resolve(&manifest.id, openid)
                    .await?
                    .ok_or_else(|| {
                        ApiError::invalid("openid", "no citizen has this openid for the app")
                    })?,
            ),
            None => None,
        };
        let id = services
            .events
            .stage_app_event(
                &manifest.id,
                Source::Department,
                &body.event,
                payload,
                citizen_id.as_deref(),
            )
            .await
            .map_err(crate::error::ServiceError::from)?;
        Ok::<_, ApiError>(id)
    }
    .await;
    if let Ok(id) = &result {
        audit.detail("event_id", id.as_str());
    }
    audit.finish(ApiError::audit_outcome(&result));
    Ok((StatusCode::ACCEPTED, Json(Accepted { event_id: result? })))
}
