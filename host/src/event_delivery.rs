//! The delivery task: sends due events from the outbox to their apps and
//! reschedules failures.
//!
//! A component of the current contract gets each of the host's own events
//! (payment, refund) as a typed value through its `events` export (decoded
//! here from the outbox's JSON body); one built against 0.1.0, or a
//! `wasi:http` one, as a `POST` of that body to
//! `/_cityhost/events/{event}`. App events (timers, cron schedules, the
//! department's events) reach every component as that `POST`.
//!
//! One task per host walks the outbox in due order and claims each due
//! event before its attempt ([`Outbox::claim`]), so hosts sharing a store
//! never attempt one event at once. A 2xx answer removes
//! the event; anything else (an error status, a trap, a timeout, the app
//! not loaded) records the outcome and moves the event to its next due time
//! — both in one transaction — or, after the last attempt, keeps it
//! marked `gave_up` for the operator. The app is looked up on every
//! attempt, so a new release takes the retry.

use std::sync::Arc;
use std::time::Duration;

use cityhost_store::StoreError;

use crate::capabilities::bindings::Method;
use crate::capabilities::typed_event;
use crate::events::{Outbox, PendingEvent, Retry, is_host_event};
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
                    let pause = outbox
                        .next_due_in()
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

/// Sends up to [`BATCH`] due events; returns how many were attempted.
async fn deliver_due(platform: &Platform, outbox: &Outbox) -> Result<usize, StoreError> {
    let due = outbox.due(BATCH).await?;
    let count = due.len();
    for due in due {
        let Some(due) = outbox.claim(&due).await? else {
            continue;
        };
        match attempt(platform, &due.event).await {
            Ok(()) => {
                outbox.delivered(&due).await?;
                tracing::info!(app = %due.event.app_id, event = %due.event.event, attempts = due.event.attempts + 1, "event delivered");
            }
            Err(why) => match outbox.failed(due, why).await {
                Ok((event, Retry::After(pause))) => {
                    tracing::warn!(app = %event.app_id, event = %event.event, attempts = event.attempts, outcome = ?event.last_error, retry_in = ?pause, "event not accepted; will retry");
                }
                Ok((event, Retry::GaveUp)) => {
                    tracing::error!(app = %event.app_id, event = %event.event, attempts = event.attempts, outcome = ?event.last_error, "event not delivered; giving up");
                }
                Err(e) => tracing::error!(error = %e, "cannot reschedule an event"),
            },
        }
    }
    Ok(count)
}

/// One attempt: `Ok` if the app accepted the event (for a request, a 2xx
/// answer).
async fn attempt(platform: &Platform, event: &PendingEvent) -> Result<(), String> {
    let app = platform
        .registry
        .get(&event.app_id)
        .ok_or_else(|| "app not loaded".to_string())?;
    let citizen_id = event.citizen_id.as_deref();
    if app.component.entry_point().takes_typed_events() && is_host_event(&event.event) {
        let typed = typed_event(event)?;
        return match platform
            .send_event(&app, citizen_id, &event.event, &event.id, typed)
            .await
        {
            Ok(verdict) => verdict.map_err(|why| format!("refused: {why}")),
            Err(e) => Err(e.to_string()),
        };
    }
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
    match platform.call_app(&app, citizen_id, request).await {
        Ok(response) if (200..300).contains(&response.status) => Ok(()),
        Ok(response) => Err(format!("status {}", response.status)),
        Err(e) => Err(e.to_string()),
    }
}
