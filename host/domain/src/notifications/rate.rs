//! Per-app rate limits on messages: per citizen per UTC day and per app per
//! minute (fixed windows), declared in the manifest's `[notify]` section
//! within the operator's caps ([`RateCaps`], host configuration).
//!
//! Counters live in the store, so every host node sharing the store counts
//! the same messages: `tables::NOTIFY_RATE_MINUTE` holds the current
//! minute's window per app, `tables::NOTIFY_RATE_DAY` the current UTC day's
//! per (app, citizen). One record per app and per (app, citizen): an old window is
//! overwritten.

use cityhost_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

use super::tables::{NOTIFY_RATE_DAY, NOTIFY_RATE_MINUTE};
use crate::manifest::Manifest;

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;

/// The operator's caps on every app's message rates. They are also the
/// defaults: a manifest may only lower them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateCaps {
    /// Messages one app may send one citizen per UTC day. Default 20: a
    /// service that needs more is better served by a page the citizen
    /// opens.
    pub per_citizen_per_day: u32,
    /// Messages one app may send per minute in all. Default 3,000 (GOV.UK
    /// Notify's per-key rate).
    pub per_app_per_minute: u32,
}

impl Default for RateCaps {
    fn default() -> Self {
        Self {
            per_citizen_per_day: 20,
            per_app_per_minute: 3_000,
        }
    }
}

/// The limits that apply to one app: its declared ones within the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages per citizen per UTC day.
    pub per_citizen_per_day: u32,
    /// Messages per minute.
    pub per_app_per_minute: u32,
}

impl Limits {
    /// The smaller of what `manifest` declares and `caps`.
    pub fn of(manifest: &Manifest, caps: RateCaps) -> Self {
        let n = &manifest.notify;
        Self {
            per_citizen_per_day: n.per_citizen_per_day.map_or(caps.per_citizen_per_day, |v| {
                v.min(caps.per_citizen_per_day)
            }),
            per_app_per_minute: n
                .per_app_per_minute
                .map_or(caps.per_app_per_minute, |v| v.min(caps.per_app_per_minute)),
        }
    }
}

/// A counter for one fixed window.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Window {
    /// Start of the window, UTC ms.
    start: u64,
    /// Messages counted in it.
    count: u32,
}

impl Window {
    /// The stored window if it starts at `start`, else an empty one. An
    /// undecodable record counts as empty (it is overwritten).
    fn current(
        stored: Result<Option<Window>, StoreError>,
        start: u64,
    ) -> Result<Window, StoreError> {
        let stored = match stored {
            Ok(w) => w,
            Err(StoreError::Undecodable { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(stored
            .filter(|w| w.start == start)
            .unwrap_or(Window { start, count: 0 }))
    }

    fn plus_one(self) -> Window {
        Window {
            start: self.start,
            count: self.count + 1,
        }
    }
}

/// Which limit stopped a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// `per-citizen-per-day`.
    PerCitizenPerDay,
    /// `per-app-per-minute`.
    PerAppPerMinute,
}

impl Exceeded {
    /// The manifest key of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Exceeded::PerCitizenPerDay => "per-citizen-per-day",
            Exceeded::PerAppPerMinute => "per-app-per-minute",
        }
    }
}

/// Inside a send's transaction: counts one message of `app_id` to
/// `citizen_id` at `now` (UTC ms), or says which limit it would exceed and
/// how many ms until the window ends. A refused message counts nothing.
pub(super) async fn charge(
    tx: &Tx,
    app_id: &str,
    citizen_id: &str,
    limits: Limits,
    now: u64,
) -> Result<Result<(), (Exceeded, u64)>, StoreError> {
    let day = Window::current(
        tx.get(&NOTIFY_RATE_DAY, (app_id, citizen_id)).await,
        now - now % DAY_MS,
    )?;
    if day.count >= limits.per_citizen_per_day {
        return Ok(Err((Exceeded::PerCitizenPerDay, day.start + DAY_MS - now)));
    }
    let minute = Window::current(
        tx.get(&NOTIFY_RATE_MINUTE, app_id).await,
        now - now % MINUTE_MS,
    )?;
    if minute.count >= limits.per_app_per_minute {
        return Ok(Err((
            Exceeded::PerAppPerMinute,
            minute.start + MINUTE_MS - now,
        )));
    }
    tx.put(&NOTIFY_RATE_DAY, (app_id, citizen_id), &day.plus_one())
        .await?;
    tx.put(&NOTIFY_RATE_MINUTE, app_id, &minute.plus_one())
        .await?;
    Ok(Ok(()))
}
