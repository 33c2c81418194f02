//! `/api/inbox`: the citizen's messages, newest first in pages, with the
//! unread count; mark read, mark all read, delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::SignedIn;
use crate::notifications::inbox::{MAX_PAGE, Message};
use crate::platform::Platform;

/// Messages per page unless the client asks for another number.
const DEFAULT_PAGE: usize = 20;

/// A page of the inbox.
#[derive(Serialize)]
pub(super) struct InboxPage {
    unread: u64,
    messages: Vec<MessageView>,
    /// `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<u64>,
}

/// A message with its app's name.
#[derive(Serialize)]
pub(super) struct MessageView {
    #[serde(flatten)]
    message: Message,
    app_name: String,
}

impl MessageView {
    pub(super) fn new(platform: &Platform, message: Message) -> Self {
        Self {
            app_name: platform.registry.display_names(&message.app_id).0,
            message,
        }
    }
}

/// `?before=SEQ&limit=N`.
#[derive(Deserialize)]
pub(super) struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

fn number(field: &'static str, value: Option<&str>) -> ApiResult<Option<u64>> {
    value
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::invalid(field, "use a non-negative integer"))
        })
        .transpose()
}

pub(super) async fn list(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Query(query): Query<PageQuery>,
) -> ApiResult<Json<InboxPage>> {
    let before = number("before", query.before.as_deref())?;
    let limit = match number("limit", query.limit.as_deref())? {
        None => DEFAULT_PAGE,
        Some(n) if (1..=MAX_PAGE as u64).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::invalid("limit", format!("use 1-{MAX_PAGE}"))),
    };
    let inbox = &platform.services.notifications.inbox;
    let page = inbox.page(&who.citizen.id, before, limit).await?;
    Ok(Json(InboxPage {
        unread: inbox.unread(&who.citizen.id).await?,
        messages: page
            .messages
            .into_iter()
            .map(|m| MessageView::new(&platform, m))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The unread count.
#[derive(Serialize)]
pub(super) struct Unread {
    unread: u64,
}

pub(super) async fn unread(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Unread>> {
    Ok(Json(Unread {
        unread: platform
            .services
            .notifications
            .inbox
            .unread(&who.citizen.id)
            .await?,
    }))
}

pub(super) async fn mark_read(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(message_id): Path<String>,
) -> ApiResult<Json<MessageView>> {
    let message = platform
        .services
        .notifications
        .mark_read(&who.citizen.id, &message_id)
        .await?;
    Ok(Json(MessageView::new(&platform, message)))
}

/// How many messages "mark all read" marked.
#[derive(Serialize)]
pub(super) struct Marked {
    marked: u64,
    unread: u64,
}

pub(super) async fn mark_all_read(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Marked>> {
    let notifications = &platform.services.notifications;
    let marked = notifications.mark_all_read(&who.citizen.id).await?;
    Ok(Json(Marked {
        marked,
        unread: notifications.inbox.unread(&who.citizen.id).await?,
    }))
}

pub(super) async fn delete(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(message_id): Path<String>,
) -> ApiResult<StatusCode> {
    platform
        .services
        .notifications
        .delete(&who.citizen.id, &message_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
