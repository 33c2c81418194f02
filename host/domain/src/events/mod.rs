//! Events the host sends to mini-apps, each with a JSON body and on behalf
//! of the citizen concerned (if any): the host's own (`payment.succeeded`,
//! `refund.succeeded`, typed values for a component of the current
//! contract) and app events (`timer.{name}` from the app's own timers,
//! [`timers`]; `cron.{name}` from its manifest's schedules, [`cron`];
//! `department.{name}` from its department's system, [`stage_app_event`]),
//! which reach every component as `POST /_cityhost/events/{type}`.
//!
//! Events are written to a persisted outbox (`event_outbox` table) in the
//! same transaction as the change they announce, so an event exists if
//! and only if the change does, and pending deliveries survive a restart.
//! The host's delivery task (`cityhost::event_delivery`) sends them and retries with backoff ([`RETRY_DELAYS`], after
//! Alipay's notification schedule) until the app answers 2xx. Delivery is
//! at least once: an app may see the same event twice and must treat it as
//! idempotent (the order id says which order).
//!
//! Several hosts sharing a store each run a delivery task; before an
//! attempt, a host claims the event ([`Outbox::claim`]): one transaction
//! moves it to [`CLAIM_LEASE`] from now, so exactly one host attempts it at
//! a time, and if that host dies mid-attempt the event falls due again
//! when the lease ends, for any host.

pub mod cron;
pub(crate) mod tables;
pub mod timers;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use cityhost_store::{Codec, Db, Json, Scan, StoreError, Tx, now_ms};
use serde::{Deserialize, Serialize};

use crate::error::ServiceResult;
use tables::{EVENT_OUTBOX, EVENT_OUTBOX_RAW};

/// Event type sent when an order is paid.
pub const PAYMENT_SUCCEEDED: &str = "payment.succeeded";
/// Event type sent when a refund is done.
pub const REFUND_SUCCEEDED: &str = "refund.succeeded";

/// Where an app event comes from: its type is `{source}.{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// One of the app's own timers ([`timers`]).
    Timer,
    /// A `[[schedule.cron]]` schedule of its manifest ([`cron`]).
    Cron,
    /// Its department's own system (`[events] from-department`).
    Department,
}

impl Source {
    /// The type prefix, e.g. `timer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Timer => "timer",
            Source::Cron => "cron",
            Source::Department => "department",
        }
    }
}

/// How long a claimed event is left to the host that claimed it
/// ([`Outbox::claim`]), unless set otherwise
/// ([`Outbox::set_claim_lease`]): far longer than an attempt may run (an
/// app's deadline is capped at seconds). A host that dies mid-attempt
/// delays the event by this much.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);

/// Largest JSON payload of an app event, bytes: 16 KiB.
pub const MAX_APP_EVENT_BYTES: usize = 16 * 1024;

/// Whether the event type is one of the host's own (payment, refund),
/// delivered as a typed value; app events go to every component as a
/// request.
pub fn is_host_event(event: &str) -> bool {
    matches!(event, PAYMENT_SUCCEEDED | REFUND_SUCCEEDED)
}

/// Pauses before each retry after a failed attempt: 4 m, 10 m, 10 m, 1 h,
/// 2 h, 6 h, 15 h — 8 attempts in all over about 24 h 24 m (Alipay's
/// asynchronous-notification schedule).
pub const RETRY_DELAYS: [Duration; 7] = [
    Duration::from_secs(4 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(6 * 60 * 60),
    Duration::from_secs(15 * 60 * 60),
];

/// An event waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingEvent {
    /// Event id (`evt_` + 32 hex), also sent as `x-cityhost-event-id`.
    pub id: String,
    /// The app it goes to.
    pub app_id: String,
    /// The citizen it is on behalf of (internal id); none for an app event
    /// that concerns no one citizen.
    pub citizen_id: Option<String>,
    /// Event type (`payment.succeeded`, `timer.{name}`, …).
    pub event: String,
    /// JSON body.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was written, UTC ms.
    pub created_at: u64,
    /// Outcome of the last failed attempt.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Set when every attempt failed; the event is kept for the operator.
    #[serde(default)]
    pub gave_up: bool,
}

/// The persisted event outbox. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    pub(crate) db: Db,
    wake: Arc<tokio::sync::Notify>,
    delays: Arc<RwLock<Vec<Duration>>>,
    lease_ms: Arc<std::sync::atomic::AtomicU64>,
}

/// Due time of events that gave up: never due.
const GAVE_UP: u64 = u64::MAX;

/// An event that is due, with its due time (its place in the outbox).
#[derive(Debug, Clone)]
pub struct DueEvent {
    /// When it became due, UTC ms.
    pub due: u64,
    /// The event.
    pub event: PendingEvent,
}

/// What became of an event whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It is due again after this pause.
    After(Duration),
    /// No attempt is left; it is kept, marked `gave_up`, for the operator.
    GaveUp,
}

impl Outbox {
    /// The outbox over `db`, with the default [`RETRY_DELAYS`].
    pub fn new(db: Db) -> Self {
        Self {
            db,
            wake: Arc::new(tokio::sync::Notify::new()),
            delays: Arc::new(RwLock::new(RETRY_DELAYS.to_vec())),
            lease_ms: Arc::new(
                CLAIM_LEASE
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX)
                    .into(),
            ),
        }
    }

    /// Replaces [`CLAIM_LEASE`]: how long a claimed event waits before
    /// another host may attempt it. For operators whose apps' deadlines
    /// are longer, and for tests.
    pub fn set_claim_lease(&self, lease: Duration) {
        let ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        self.lease_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Replaces the pauses between attempts (the number of attempts is
    /// one more than the pauses). For operators who need another schedule,
    /// and for tests.
    pub fn set_retry_delays(&self, delays: Vec<Duration>) {
        *self.delays.write().unwrap_or_else(|e| e.into_inner()) = delays;
    }

    /// The pause after failed attempt number `attempts` (1-based), or
    /// `None` when no attempt is left.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        let delays = self.delays.read().unwrap_or_else(|e| e.into_inner());
        delays.get(attempts.checked_sub(1)? as usize).copied()
    }

    /// Tells the delivery task that an event was written.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until [`Outbox::wake`] is called (by a new event).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// How long until the earliest pending event is due (zero if one is
    /// due now); `None` if none is pending or the outbox cannot be read.
    pub async fn next_due_in(&self) -> Option<Duration> {
        let first = self
            .db
            .scan(&EVENT_OUTBOX_RAW, Scan::all().limit(1))
            .await
            .ok()?;
        let ((due, _), _) = first.into_iter().next()?;
        Some(Duration::from_millis(due.saturating_sub(now_ms())))
    }

    /// Up to `limit` events due now, earliest first. A record that no
    /// longer decodes is logged and removed, so it cannot block the rest.
    pub async fn due(&self, limit: usize) -> Result<Vec<DueEvent>, StoreError> {
        let now = now_ms();
        let due_now = Scan::range((0, ""), (now + 1, "")).limit(limit);
        let rows = self.db.scan(&EVENT_OUTBOX_RAW, due_now).await?;
        let mut events = Vec::with_capacity(rows.len());
        for ((due, id), bytes) in rows {
            match Json::decode(EVENT_OUTBOX.name(), &bytes) {
                Ok(event) => events.push(DueEvent { due, event }),
                Err(_) => {
                    tracing::error!("undecodable event in the outbox; dropped");
                    self.db.delete(&EVENT_OUTBOX, (due, id.as_str())).await?;
                }
            }
        }
        Ok(events)
    }

    /// Claims a due event for one attempt by this host: moves it to the
    /// claim lease ([`CLAIM_LEASE`]) from now in one transaction, so no other host
    /// attempts it meanwhile. Returns the claimed event (its new due time
    /// is what [`Outbox::delivered`] and [`Outbox::failed`] expect), or
    /// `None` if it is no longer where `due` saw it (another host claimed
    /// it, or a timer was cancelled).
    pub async fn claim(&self, due: &DueEvent) -> Result<Option<DueEvent>, StoreError> {
        let (at, event) = (due.due, &due.event);
        let lease = self.lease_ms.load(std::sync::atomic::Ordering::Relaxed);
        let until = now_ms().saturating_add(lease);
        let claimed = self
            .db
            .transact(|tx| async move {
                let key = (at, event.id.as_str());
                let Some(current) = tx.get(&EVENT_OUTBOX, key).await? else {
                    return Ok(None);
                };
                tx.delete(&EVENT_OUTBOX, key).await?;
                tx.put(&EVENT_OUTBOX, (until, event.id.as_str()), &current)
                    .await?;
                timers::moved(&tx, &current, until).await?;
                Ok::<_, StoreError>(Some(current))
            })
            .await?;
        Ok(claimed.map(|event| DueEvent { due: until, event }))
    }

    /// Removes an event its app accepted (and a timer's entry).
    pub async fn delivered(&self, due: &DueEvent) -> Result<(), StoreError> {
        let (at, event) = (due.due, &due.event);
        self.db
            .transact(|tx| async move {
                tx.delete(&EVENT_OUTBOX, (at, event.id.as_str())).await?;
                timers::forget(&tx, event).await
            })
            .await
    }

    /// Records a failed attempt (`why`, the outcome shown to the operator)
    /// and moves the event to its next due time, or marks it `gave_up`
    /// after the last attempt ([`Outbox::delay_after`]), in one
    /// transaction. Returns the event as stored and what happens next.
    pub async fn failed(
        &self,
        due: DueEvent,
        why: String,
    ) -> Result<(PendingEvent, Retry), StoreError> {
        let DueEvent { due, mut event } = due;
        event.attempts += 1;
        let (next_due, retry) = match self.delay_after(event.attempts) {
            Some(delay) => (now_ms() + delay.as_millis() as u64, Retry::After(delay)),
            None => (GAVE_UP, Retry::GaveUp),
        };
        event.gave_up = retry == Retry::GaveUp;
        event.last_error = Some(why);
        let stored = &event;
        self.db
            .transact(|tx| async move {
                // A timer cancelled while its attempt ran stays cancelled.
                if !tx
                    .contains(&EVENT_OUTBOX, (due, stored.id.as_str()))
                    .await?
                {
                    return Ok(());
                }
                tx.delete(&EVENT_OUTBOX, (due, stored.id.as_str())).await?;
                tx.put(&EVENT_OUTBOX, (next_due, stored.id.as_str()), stored)
                    .await?;
                if retry == Retry::GaveUp {
                    timers::forget(&tx, stored).await
                } else {
                    timers::moved(&tx, stored, next_due).await
                }
            })
            .await?;
        Ok((event, retry))
    }

    /// Every event in the outbox with its due time (UTC ms; `u64::MAX` for
    /// events that gave up), in due order.
    pub async fn pending(&self) -> ServiceResult<Vec<(u64, PendingEvent)>> {
        let rows = self.db.scan(&EVENT_OUTBOX, Scan::all()).await?;
        Ok(rows.into_iter().map(|((due, _), e)| (due, e)).collect())
    }
}

/// Writes a host event into the outbox inside the caller's transaction, due
/// at `now`.
pub(crate) async fn stage(
    tx: &Tx,
    app_id: &str,
    citizen_id: &str,
    event: &'static str,
    body: &impl Serialize,
    now: u64,
) -> Result<(), StoreError> {
    let body = serde_json::to_string(body).map_err(|e| StoreError::Encode(e.to_string()))?;
    let pending = PendingEvent::new(new_event_id(), app_id, Some(citizen_id), event, body, now);
    tx.put(&EVENT_OUTBOX, (now, pending.id.as_str()), &pending)
        .await
}

/// A fresh event id: `evt_` + 32 hex.
pub(crate) fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

impl PendingEvent {
    /// An event not yet attempted.
    pub(crate) fn new(
        id: String,
        app_id: &str,
        citizen_id: Option<&str>,
        event: &str,
        body: String,
        now: u64,
    ) -> PendingEvent {
        PendingEvent {
            id,
            app_id: app_id.into(),
            citizen_id: citizen_id.map(str::to_string),
            event: event.into(),
            body,
            attempts: 0,
            created_at: now,
            last_error: None,
            gave_up: false,
        }
    }
}

/// Checks an app event's name and JSON payload (at most
/// [`MAX_APP_EVENT_BYTES`]). Errors: `(field, reason)` with the field
/// `name` or `payload`.
pub fn check_app_event(name: &str, payload: &str) -> Result<(), (&'static str, String)> {
    if !crate::manifest::schedule::is_event_name(name) {
        return Err((
            "name",
            "use 1-64 characters of a-z, 0-9 and '-', starting with a letter".into(),
        ));
    }
    if payload.len() > MAX_APP_EVENT_BYTES {
        return Err((
            "payload",
            format!("at most {MAX_APP_EVENT_BYTES} bytes of JSON"),
        ));
    }
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(payload) {
        return Err(("payload", format!("not JSON: {e}")));
    }
    Ok(())
}

impl Outbox {
    /// Writes app event `{source}.{name}` with JSON `payload` for `app_id`,
    /// due now, on behalf of `citizen_id` if given; returns its id. The
    /// caller checked the name and payload ([`check_app_event`]) and that
    /// the app accepts the event.
    pub async fn stage_app_event(
        &self,
        app_id: &str,
        source: Source,
        name: &str,
        payload: String,
        citizen_id: Option<&str>,
    ) -> Result<String, StoreError> {
        let now = now_ms();
        let event = format!("{}.{name}", source.as_str());
        let pending = PendingEvent::new(new_event_id(), app_id, citizen_id, &event, payload, now);
        self.db
            .put(&EVENT_OUTBOX, (now, pending.id.as_str()), &pending)
            .await?;
        self.wake();
        Ok(pending.id)
    }
}
