//! `cityhost:miniapp/schedule`: one-shot timers. Permission `schedule`.
//!
//! At the timer's time the host delivers the app event `timer.{name}` with
//! the timer's JSON payload to the handler set with
//! [`Router::on_event`](crate::Router::on_event), on behalf of the citizen
//! the timer names (by openid), if any. Timers survive restarts and are
//! delivered at least once (the event id is the timer id on every
//! attempt); an app holds at most 1000 pending timers, each at most 400
//! days ahead. Recurring work is a `[[schedule.cron]]` in the manifest
//! instead (event `cron.{name}`).
//!
//! ```no_run
//! # fn run(slot_start_ms: u64) -> cityhost_sdk::Result<()> {
//! use cityhost_sdk::{identity, schedule};
//!
//! // The day before the appointment, remind the citizen who booked it.
//! let id = schedule::Timer::new("day-before", slot_start_ms - 24 * 3_600_000)
//!     .payload(&serde_json::json!({ "slot": "2026-12-05T09:00" }))?
//!     .on_behalf_of(identity::openid()?)
//!     .set()?;
//! // If they cancel the booking:
//! schedule::cancel(&id)?;
//! # Ok(()) }
//! ```

use crate::bindings::cityhost::miniapp::schedule as wit;
use crate::error::{Error, Result};

/// A timer to set: event name, time, JSON payload, citizen.
#[derive(Debug, Clone)]
pub struct Timer {
    name: String,
    at_ms: u64,
    payload: String,
    on_behalf_of: Option<String>,
}

impl Timer {
    /// A timer that delivers `timer.{name}` at `at_ms` (UTC ms; a time
    /// already past fires at once) with the payload `{}` and no citizen.
    /// `name`: 1–64 characters of `a-z`, `0-9` and `-`, starting with a
    /// letter.
    pub fn new(name: impl Into<String>, at_ms: u64) -> Timer {
        Timer {
            name: name.into(),
            at_ms,
            payload: "{}".into(),
            on_behalf_of: None,
        }
    }

    /// Sets the payload, serialised as JSON (at most 16 KiB). Errors:
    /// [`Error::InvalidArgument`] (`payload`) if it does not serialise.
    pub fn payload(mut self, payload: &impl serde::Serialize) -> Result<Timer> {
        self.payload = serde_json::to_string(payload)
            .map_err(|e| Error::InvalidArgument(format!("payload: {e}")))?;
        Ok(self)
    }

    /// Delivers the event on behalf of the citizen with this openid (for
    /// this app).
    pub fn on_behalf_of(mut self, openid: impl Into<String>) -> Timer {
        self.on_behalf_of = Some(openid.into());
        self
    }

    /// Sets the timer; returns its id. Errors: [`Error::InvalidArgument`]
    /// naming the field (`name`, `payload`, `at`, `on-behalf-of`),
    /// [`Error::QuotaExceeded`] when the app holds 1000 pending timers,
    /// [`Error::NotPermitted`] without the `schedule` permission.
    pub fn set(self) -> Result<String> {
        Ok(wit::set_timer(&wit::Timer {
            name: self.name,
            at: self.at_ms,
            payload: self.payload,
            on_behalf_of: self.on_behalf_of,
        })?)
    }
}

/// Cancels the app's timer `id`: `true` if it was pending, `false` if
/// there is none (unknown, delivered or given up).
pub fn cancel(id: &str) -> Result<bool> {
    Ok(wit::cancel_timer(id)?)
}
