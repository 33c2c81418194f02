//! `POST /api/departments/{uscc}/apps/{app}/messages`: a department's own
//! system sends one of its app's templated messages to a citizen, named by
//! the citizen's openid for that app (the way GOV.UK Notify takes API
//! calls). The same rules hold as for the app's `notify.send-to`: the
//! template must be declared in the app's manifest and not be a receipt,
//! the citizen must hold a live subscription to it, and the app's and the
//! operator's rate limits apply. Needs a department token with the
//! `messages` scope, for the department that publishes the app.
//!
//! Body: `{"openid": "…", "template": "…", "params": {"name": "value"},
//! "link_path": "/…"}` (`params` and `link_path` optional). Answers `201
//! {"message_id": "…"}`. Errors: `400` naming the field (`uscc`, `openid`,
//! `template`, `params.{name}`, `link_path`), `403` (`forbidden`: another
//! department's or a scope-less token; `not_permitted`: a receipt
//! template; `not_subscribed` naming the template), `404 app`, `429
//! rate_limited` with `Retry-After`. Each call is audited
//! (`department.send-message`, with the citizen's openid).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::auth::DepartmentAuth;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::JsonBody;
use crate::notifications::{Basis, Outgoing, SendError};
use crate::platform::Platform;
use crate::publishing::tokens::TokenScope;

/// The request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageBody {
    /// The citizen's openid for the app.
    openid: String,
    /// A template id of the app's `[[notify.templates]]`.
    template: String,
    /// One value per placeholder.
    #[serde(default)]
    params: BTreeMap<String, String>,
    /// App path the inbox entry opens.
    link_path: Option<String>,
}

/// The answer: the message's id (as `notify.send` gives it).
#[derive(Serialize)]
pub(super) struct Sent {
    message_id: String,
}

pub(super) async fn send(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path((uscc, app_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<MessageBody>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    let app = who
        .published_app(&platform, &uscc, &app_id, TokenScope::Messages)
        .await?;
    let manifest = &app.manifest;
    let services = &platform.services;
    let audit = services.audit.begin(
        &manifest.id,
        &manifest.version,
        Some(body.openid.clone()),
        "department.send-message",
    );
    let result = async {
        let citizen_id = services
            .openids
            .resolve(&manifest.id, &body.openid)
            .await?
            .ok_or_else(|| ApiError::invalid("openid", "no citizen has this openid for the app"))?;
        let params: Vec<(String, String)> = body.params.into_iter().collect();
        let sent = services
            .notifications
            .send(Outgoing {
                app: manifest,
                citizen_id: &citizen_id,
                template: &body.template,
                params: &params,
                link_path: body.link_path.as_deref(),
                basis: Basis::Subscription,
            })
            .await
            .map_err(send_error)?;
        Ok::<_, ApiError>(sent.0.id.clone())
    }
    .await;
    audit.finish(ApiError::audit_outcome(&result));
    Ok((
        StatusCode::CREATED,
        Json(Sent {
            message_id: result?,
        }),
    ))
}

/// The API error for a message that could not be sent.
fn send_error(e: SendError) -> ApiError {
    let message = e.to_string();
    match e {
        // The body's key for the link is `link_path`.
        SendError::InvalidArgument { field, reason } if field == "link-path" => {
            ApiError::invalid("link_path", reason)
        }
        SendError::InvalidArgument { field, reason } => ApiError::invalid(field, reason),
        SendError::NotSubscribed(template) => ApiError {
            field: Some("template".into()),
            ..ApiError::new(
                StatusCode::FORBIDDEN,
                "not_subscribed",
                format!("the citizen has no live subscription to `{template}`"),
            )
        },
        SendError::NotPermitted(why) => ApiError {
            field: Some("template".into()),
            ..ApiError::new(StatusCode::FORBIDDEN, "not_permitted", why)
        },
        SendError::RateLimited { retry_after_ms, .. } => ApiError {
            retry_after_secs: Some(
                u32::try_from(retry_after_ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX),
            ),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        },
        SendError::Service(e) => e.into(),
    }
}
