//! `GET /api/inbox/stream`: the citizen's inbox as server-sent events.
//!
//! Events:
//! - `ready` (first, `id` = the citizen's newest message `seq` or the
//!   resume point): `{"unread": N}`;
//! - `message` (`id` = the message's `seq`): `{"message": {...}, "unread": N}`;
//! - `unread` (no id): `{"unread": N}` after a read, "all read" or delete.
//!
//! Ids grow with every message of this citizen, in the order they were
//! stored. A client that reconnects with `Last-Event-ID` (browsers'
//! `EventSource` does so by itself) first gets every message stored after
//! that id, then live ones; gaps (a slow stream, messages committed in one
//! order and published in another) are filled from the store, so the
//! stream is always in `seq` order without holes. A comment every 15 s
//! keeps proxies from closing an idle stream. The request timeout of the
//! host covers only the time to the response's headers, never the stream;
//! on shutdown every stream ends, so the host stops promptly.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;

use super::inbox::MessageView;
use crate::error::ServiceResult;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::SignedIn;
use crate::notifications::inbox::Message;
use crate::notifications::live::{Heard, LiveEvent, LiveSubscription};
use crate::platform::Platform;

/// Interval of keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Reconnection delay suggested to the browser.
const RETRY: Duration = Duration::from_secs(2);
/// Most messages read from the store at once when catching up.
const CATCH_UP_BATCH: usize = 200;

/// One open stream.
struct Feed {
    platform: Arc<Platform>,
    citizen_id: String,
    /// The session the stream was opened with: the stream ends once it is
    /// revoked (logout) or expires.
    session_id: String,
    live: LiveSubscription,
    /// The `seq` of the last message queued.
    last: u64,
    /// Events to send, each with the number of the message it carries.
    pending: VecDeque<(Event, Option<u64>)>,
}

impl Feed {
    fn queue_message(&mut self, message: &Message, unread: u64) {
        let number = message.number();
        let event = Event::default()
            .event("message")
            .id(message.seq.to_string())
            .json_data(json!({
                "message": MessageView::new(&self.platform, message.clone()),
                "unread": unread,
            }))
            .expect("message events serialise");
        self.last = message.seq;
        self.pending.push_back((event, number));
    }

    fn queue_unread(&mut self, name: &'static str, unread: u64) {
        let event = Event::default()
            .event(name)
            .json_data(json!({ "unread": unread }))
            .expect("unread events serialise");
        self.pending.push_back((event, None));
    }

    /// Queues every stored message after `self.last` up to `until`.
    async fn catch_up(&mut self, until: u64) -> ServiceResult<()> {
        let platform = self.platform.clone();
        let inbox = &platform.services.notifications.inbox;
        let unread = inbox.unread(&self.citizen_id).await?;
        while self.last < until {
            let batch = inbox
                .since(&self.citizen_id, self.last, CATCH_UP_BATCH)
                .await?;
            let Some(newest) = batch.last().map(|m| m.seq) else {
                break;
            };
            for message in batch.iter().filter(|m| m.seq <= until) {
                self.queue_message(message, unread);
            }
            if newest >= until || batch.len() < CATCH_UP_BATCH {
                break;
            }
        }
        Ok(())
    }

    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            let sessions = &self.platform.services.sessions;
            if !sessions.is_live(&self.session_id).await.unwrap_or(false) {
                return None;
            }
            if let Some((event, number)) = self.pending.pop_front() {
                if let Some(number) = number
                    && let Err(e) = self
                        .platform
                        .services
                        .notifications
                        .inbox
                        .mark_pushed(number)
                        .await
                {
                    tracing::warn!(error = %e, "cannot record a pushed message");
                }
                return Some(event);
            }
            let caught_up = match self.live.next().await {
                Heard::Closing => return None,
                Heard::Lagged => self.catch_up(u64::MAX).await,
                Heard::Event(LiveEvent::Unread(unread)) => {
                    self.queue_unread("unread", unread);
                    Ok(())
                }
                Heard::Event(LiveEvent::Message(message, unread)) => {
                    if message.seq <= self.last {
                        continue;
                    }
                    let filled = self.catch_up(message.seq - 1).await;
                    self.queue_message(&message, unread);
                    filled
                }
            };
            if let Err(e) = caught_up {
                // The client reconnects with Last-Event-ID and resumes.
                tracing::warn!(error = %e, "inbox stream cannot read the store; closing it");
                return None;
            }
        }
    }
}

/// The `Last-Event-ID` header as a `seq`.
fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::invalid("Last-Event-ID", "use the id of the last event received")
                })
        })
        .transpose()
}

pub(super) async fn stream(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let resume = last_event_id(&headers)?;
    let citizen_id = who.citizen.id;
    let session_id = who.session.id;
    let notifications = &platform.services.notifications;
    // Listen before reading the store, so nothing falls between the two.
    let live = notifications.live().subscribe(&citizen_id);
    let latest = notifications.inbox.latest_seq(&citizen_id).await?;
    let unread = notifications.inbox.unread(&citizen_id).await?;
    let start = resume.map_or(latest, |id| id.min(latest));
    let mut feed = Feed {
        platform: platform.clone(),
        citizen_id,
        session_id,
        live,
        last: start,
        pending: VecDeque::new(),
    };
    let ready = Event::default()
        .event("ready")
        .id(start.to_string())
        .retry(RETRY)
        .json_data(json!({ "unread": unread }))
        .expect("ready event serialises");
    feed.pending.push_back((ready, None));
    feed.catch_up(latest).await?;
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
