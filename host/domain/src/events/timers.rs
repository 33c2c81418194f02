//! One-shot timers: an app (capability `schedule`) sets one for a time;
//! at that time the host delivers the app event `timer.{name}` with the
//! timer's JSON payload, on behalf of a citizen if the timer names one.
//!
//! A timer is an outbox event due at its time, so it is persisted,
//! survives restarts and is retried like every event (at least once; the
//! event id is the timer id, the same on every attempt). An entry per
//! pending timer (`app_timers`) finds it for [`Outbox::cancel_timer`] and
//! counts an app's pending timers against [`MAX_PENDING_TIMERS`]; it goes
//! when the event is delivered, given up or cancelled. The app's count is
//! a record of its own (`app_timer_counts`), changed with the entries, so
//! setting a timer costs the same however many are pending.

use cityhost_store::{Scan, StoreError, Tx, now_ms};

use super::tables::{APP_TIMER_COUNTS, APP_TIMERS, EVENT_OUTBOX};
use super::{Outbox, PendingEvent, Source, check_app_event};

/// Pending timers one app may hold.
pub const MAX_PENDING_TIMERS: usize = 1000;
/// Furthest ahead a timer may be set: 400 days, ms.
pub const MAX_AHEAD_MS: u64 = 400 * 24 * 3_600_000;

/// A timer to set.
#[derive(Debug, Clone)]
pub struct NewTimer<'a> {
    /// Event name ([`crate::manifest::schedule::is_event_name`]); the app
    /// receives `timer.{name}`.
    pub name: &'a str,
    /// When it fires, UTC ms; a time already past fires at once.
    pub at_ms: u64,
    /// JSON payload, at most [`super::MAX_APP_EVENT_BYTES`].
    pub payload: String,
    /// The citizen (internal id) it is delivered on behalf of.
    pub citizen_id: Option<&'a str>,
}

/// Why a timer was not set.
#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    /// A field is malformed: `name`, `payload` or `at`.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The app holds [`MAX_PENDING_TIMERS`] pending timers already.
    #[error("the app has {0} pending timers, the most it may hold; cancel some or wait")]
    LimitReached(usize),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `event` came from a timer.
fn is_timer(event: &PendingEvent) -> bool {
    event
        .event
        .strip_prefix(Source::Timer.as_str())
        .is_some_and(|rest| rest.starts_with('.'))
}

impl Outbox {
    /// Sets a timer for `app_id`; returns its id (`evt_` + 32 hex, also the
    /// event id it is delivered with). Errors: [`TimerError`].
    pub async fn set_timer(&self, app_id: &str, timer: NewTimer<'_>) -> Result<String, TimerError> {
        check_app_event(timer.name, &timer.payload)
            .map_err(|(field, reason)| TimerError::InvalidArgument { field, reason })?;
        let now = now_ms();
        if timer.at_ms > now.saturating_add(MAX_AHEAD_MS) {
            return Err(TimerError::InvalidArgument {
                field: "at",
                reason: format!("at most {} days ahead", MAX_AHEAD_MS / 86_400_000),
            });
        }
        let due = timer.at_ms.max(now);
        let event = format!("{}.{}", Source::Timer.as_str(), timer.name);
        let pending = PendingEvent::new(
            super::new_event_id(),
            app_id,
            timer.citizen_id,
            &event,
            timer.payload,
            now,
        );
        let pending = &pending;
        self.db
            .transact(|tx| async move {
                let held = held(&tx, app_id).await?;
                if held >= MAX_PENDING_TIMERS as u64 {
                    return Err(TimerError::LimitReached(held as usize));
                }
                tx.put(&EVENT_OUTBOX, (due, pending.id.as_str()), pending)
                    .await?;
                tx.put(&APP_TIMERS, (app_id, pending.id.as_str()), &due)
                    .await?;
                tx.put(&APP_TIMER_COUNTS, app_id, &(held + 1)).await?;
                Ok(())
            })
            .await?;
        self.wake();
        Ok(pending.id.clone())
    }

    /// Cancels `app_id`'s timer `id`: `true` if it was pending, `false` if
    /// there is none (unknown, another app's, already delivered or given
    /// up). A timer whose delivery has begun may still arrive once.
    pub async fn cancel_timer(&self, app_id: &str, id: &str) -> Result<bool, StoreError> {
        self.db
            .transact(|tx| async move {
                let Some(due) = tx.get(&APP_TIMERS, (app_id, id)).await? else {
                    return Ok(false);
                };
                remove_entry(&tx, app_id, id).await?;
                tx.delete(&EVENT_OUTBOX, (due, id)).await?;
                Ok(true)
            })
            .await
    }

    /// How many timers `app_id` holds pending (at most
    /// [`MAX_PENDING_TIMERS`]).
    pub async fn pending_timers(&self, app_id: &str) -> Result<usize, StoreError> {
        let held = self
            .db
            .transact(|tx| async move { held(&tx, app_id).await })
            .await?;
        Ok(held as usize)
    }
}

/// How many timers `app_id` holds pending: its count, or (for timers set
/// before counts were kept) its entries counted.
async fn held(tx: &Tx, app_id: &str) -> Result<u64, StoreError> {
    if let Some(count) = tx.get(&APP_TIMER_COUNTS, app_id).await? {
        return Ok(count);
    }
    let entries = tx.scan(&APP_TIMERS, Scan::prefix((app_id,))).await?;
    Ok(entries.len() as u64)
}

/// Removes the entry of `app_id`'s timer `id` (present) and counts it out.
async fn remove_entry(tx: &Tx, app_id: &str, id: &str) -> Result<(), StoreError> {
    let held = held(tx, app_id).await?;
    tx.delete(&APP_TIMERS, (app_id, id)).await?;
    tx.put(&APP_TIMER_COUNTS, app_id, &held.saturating_sub(1))
        .await
}

/// Drops a timer's entry once its event is gone from the outbox (delivered
/// or given up); nothing for other events.
pub(super) async fn forget(tx: &Tx, event: &PendingEvent) -> Result<(), StoreError> {
    let (app_id, id) = (event.app_id.as_str(), event.id.as_str());
    if is_timer(event) && tx.contains(&APP_TIMERS, (app_id, id)).await? {
        remove_entry(tx, app_id, id).await?;
    }
    Ok(())
}

/// Records a timer's new due time after a claim or a failed attempt;
/// nothing for other events.
pub(super) async fn moved(tx: &Tx, event: &PendingEvent, due: u64) -> Result<(), StoreError> {
    if is_timer(event) {
        tx.put(
            &APP_TIMERS,
            (event.app_id.as_str(), event.id.as_str()),
            &due,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DueEvent;

    fn timer(name: &str, at_ms: u64) -> NewTimer<'_> {
        NewTimer {
            name,
            at_ms,
            payload: r#"{"slot":"2026-12-05T09:00"}"#.into(),
            citizen_id: Some("c1"),
        }
    }

    #[tokio::test]
    async fn a_timer_waits_for_its_time_and_can_be_cancelled_until_delivered() {
        let (_dir, db) = crate::testing::temp_db();
        let outbox = Outbox::new(db);
        let now = now_ms();
        let soon = outbox.set_timer("app", timer("remind", now)).await.unwrap();
        let later = outbox
            .set_timer("app", timer("remind", now + 3_600_000))
            .await
            .unwrap();
        assert_eq!(outbox.pending_timers("app").await.unwrap(), 2);
        let due = outbox.due(10).await.unwrap();
        assert_eq!(due.len(), 1, "only the timer whose time has come is due");
        assert_eq!(due[0].event.id, soon);
        assert_eq!(due[0].event.event, "timer.remind");
        assert_eq!(due[0].event.citizen_id.as_deref(), Some("c1"));
        outbox.delivered(&due[0]).await.unwrap();
        assert_eq!(outbox.pending_timers("app").await.unwrap(), 1);
        assert!(
            !outbox.cancel_timer("app", &soon).await.unwrap(),
            "delivered"
        );
        assert!(
            !outbox.cancel_timer("other-app", &later).await.unwrap(),
            "not its timer"
        );
        assert!(outbox.cancel_timer("app", &later).await.unwrap());
        assert!(!outbox.cancel_timer("app", &later).await.unwrap());
        assert_eq!(outbox.pending_timers("app").await.unwrap(), 0);
        assert!(outbox.pending().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_timer_cancelled_during_its_attempt_stays_cancelled() {
        let (_dir, db) = crate::testing::temp_db();
        let outbox = Outbox::new(db);
        let id = outbox.set_timer("app", timer("remind", 0)).await.unwrap();
        let due: DueEvent = outbox.due(1).await.unwrap().remove(0);
        assert!(outbox.cancel_timer("app", &id).await.unwrap());
        outbox.failed(due, "status 500".into()).await.unwrap();
        assert!(outbox.pending().await.unwrap().is_empty());
        assert_eq!(outbox.pending_timers("app").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn bad_timers_name_their_field_and_an_app_holds_at_most_the_cap() {
        let (_dir, db) = crate::testing::temp_db();
        let outbox = Outbox::new(db);
        let field = |e: TimerError| match e {
            TimerError::InvalidArgument { field, .. } => field,
            other => panic!("{other}"),
        };
        let bad_name = outbox
            .set_timer("app", timer("Remind", 0))
            .await
            .unwrap_err();
        assert_eq!(field(bad_name), "name");
        let mut not_json = timer("remind", 0);
        not_json.payload = "{".into();
        assert_eq!(
            field(outbox.set_timer("app", not_json).await.unwrap_err()),
            "payload"
        );
        let far = now_ms() + MAX_AHEAD_MS + 60_000;
        assert_eq!(
            field(
                outbox
                    .set_timer("app", timer("remind", far))
                    .await
                    .unwrap_err()
            ),
            "at"
        );
        for _ in 0..MAX_PENDING_TIMERS {
            outbox
                .set_timer("app", timer("remind", far / 2))
                .await
                .unwrap();
        }
        assert!(matches!(
            outbox.set_timer("app", timer("remind", far / 2)).await,
            Err(TimerError::LimitReached(MAX_PENDING_TIMERS))
        ));
        // Another app's timers are its own.
        outbox
            .set_timer("other", timer("remind", far / 2))
            .await
            .unwrap();
    }
}
