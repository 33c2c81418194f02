//! The delivery task: sends due events from the outbox to their apps and
//! reschedules failures.
//!
//! One task per host walks the outbox in due order. A 2xx answer removes
//! the event; anything else (an error status, a trap, a timeout, the app
//! not loaded) records the outcome and moves the event to its next due time
//! — both in one transaction — or, after the last attempt, keeps it
//! marked `gave_up` for the operator. The app is looked up on every
//! attempt, so a new release takes the retry.

use std::sync::Arc;
use std::time::Duration;

use cityhost_store::{Codec, Json, Scan, StoreError, now_ms};

use crate::capabilities::bindings::Method;
use crate::events::tables::{EVENT_OUTBOX, EVENT_OUTBOX_RAW};
use crate::events::{GAVE_UP, Outbox, PendingEvent};
use crate::gateway::{AppRequest, EVENT_PATH_PREFIX};
use crate::platform::Platform;

/// Longest the task sleeps before looking at the outbox again, even if
/// nothing woke it.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Events sent per pass before looking for newly due ones.
const BATCH: usize = 64;

/// Starts the delivery task for `platform`'s outbox. It runs until the
/// runtime stops or the handle is aborted.
pub fn spawn_delivery(platform: Arc<Platform>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let outbox = platform.services.events.clone();
        loop {
            match deliver_due(&platform, &outbox).await {
                Ok(0) => {
                    let pause = next_due_in(&outbox)
                        .await
                        .unwrap_or(IDLE_POLL)
                        .min(IDLE_POLL);
                    tokio::select! {
                        () = outbox.woken() => {}
                        () = tokio::time::sleep(pause) => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "event outbox unreadable; retrying");
                    tokio::time::sleep(IDLE_POLL).await;
                }
            }
        }
    })
}

async fn next_due_in(outbox: &Outbox) -> Option<Duration> {
    let first = outbox
        .db()
        .scan(&EVENT_OUTBOX_RAW, Scan::all().limit(1))
        .await
        .ok()?;
    let ((due, _), _) = first.into_iter().next()?;
    Some(Duration::from_millis(due.saturating_sub(now_ms())))
}

/// Sends up to [`BATCH`] due events; returns how many were attempted.
async fn deliver_due(platform: &Platform, outbox: &Outbox) -> Result<usize, StoreError> {
    let now = now_ms();
    let due_now = Scan::range((0, ""), (now + 1, "")).limit(BATCH);
    let due = outbox.db().scan(&EVENT_OUTBOX_RAW, due_now).await?;
    let count = due.len();
    for ((due, id), bytes) in due {
        let key = (due, id.as_str());
        let decoded: Result<PendingEvent, _> = Json::decode(EVENT_OUTBOX.name(), &bytes);
        let Ok(mut event) = decoded else {
            tracing::error!("undecodable event in the outbox; dropped");
            outbox.db().delete(&EVENT_OUTBOX, key).await?;
            continue;
        };
        let outcome = attempt(platform, &event).await;
        event.attempts += 1;
        match outcome {
            Ok(()) => {
                outbox.db().delete(&EVENT_OUTBOX, key).await?;
                tracing::info!(app = %event.app_id, event = %event.event, attempts = event.attempts, "event delivered");
            }
            Err(why) => {
                let next = outbox.delay_after(event.attempts);
                let next_due = match next {
                    Some(delay) => now_ms() + delay.as_millis() as u64,
                    None => GAVE_UP,
                };
                event.gave_up = next.is_none();
                if event.gave_up {
                    tracing::error!(app = %event.app_id, event = %event.event, attempts = event.attempts, outcome = %why, "event not delivered; giving up");
                } else {
                    tracing::warn!(app = %event.app_id, event = %event.event, attempts = event.attempts, outcome = %why, retry_in = ?next, "event not accepted; will retry");
                }
                event.last_error = Some(why);
                let event = &event;
                let moved = outbox
                    .db()
                    .transact(|tx| async move {
                        tx.delete(&EVENT_OUTBOX, key).await?;
                        tx.put(&EVENT_OUTBOX, (next_due, event.id.as_str()), event)
                            .await
                    })
                    .await;
                if let Err(e) = moved {
                    tracing::error!(error = %e, "cannot reschedule an event");
                }
            }
        }
    }
    Ok(count)
}

/// One attempt: the app's answer, `Ok` for 2xx.
async fn attempt(platform: &Platform, event: &PendingEvent) -> Result<(), String> {
    let app = platform
        .registry
        .get(&event.app_id)
        .ok_or_else(|| "app not loaded".to_string())?;
    let request = AppRequest {
        method: Method::Post,
        path: format!("{EVENT_PATH_PREFIX}events/{}", event.event),
        query: Vec::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-cityhost-event".into(), event.event.clone()),
            ("x-cityhost-event-id".into(), event.id.clone()),
        ],
        body: event.body.clone().into_bytes(),
    };
    match platform
        .call_app(&app, Some(&event.citizen_id), request)
        .await
    {
        Ok(response) if (200..300).contains(&response.status) => Ok(()),
        Ok(response) => Err(format!("status {}", response.status)),
        Err(e) => Err(e.to_string()),
    }
}
