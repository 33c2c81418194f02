//! `/api/inbox`: the citizen's messages.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::error::ApiResult;
use super::extract::SignedIn;
use crate::notifications::Message;
use crate::platform::Platform;

/// Messages shown per page.
const PAGE: usize = 100;

/// The inbox page.
#[derive(Serialize)]
pub(super) struct InboxView {
    unread: usize,
    messages: Vec<MessageView>,
}

/// A message with its app's name.
#[derive(Serialize)]
pub(super) struct MessageView {
    #[serde(flatten)]
    message: Message,
    app_name: String,
}

pub(super) async fn list(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<InboxView>> {
    let inbox = &platform.services.inbox;
    let messages = inbox
        .list(&who.citizen.id, PAGE)?
        .into_iter()
        .map(|message| MessageView {
            app_name: platform.registry.display_names(&message.app_id).0,
            message,
        })
        .collect();
    Ok(Json(InboxView {
        unread: inbox.unread(&who.citizen.id)?,
        messages,
    }))
}

pub(super) async fn mark_read(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(message_id): Path<String>,
) -> ApiResult<Json<Message>> {
    Ok(Json(
        platform
            .services
            .inbox
            .mark_read(&who.citizen.id, &message_id)?,
    ))
}
