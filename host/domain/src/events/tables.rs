//! The event outbox's table.

use cityhost_store::{Raw, Table};

use super::PendingEvent;

/// (due time ms, `event_id`) → pending event: a scan from the start reads
/// the events in due order; those that gave up are due at `u64::MAX`.
pub(crate) const EVENT_OUTBOX: Table<(u64, String), PendingEvent> = Table::new("event_outbox");
/// The same rows as [`EVENT_OUTBOX`], undecoded: the delivery task reads
/// these so that one record that no longer decodes is dropped instead of
/// stopping every delivery.
pub(crate) const EVENT_OUTBOX_RAW: Table<(u64, String), Vec<u8>, Raw> = Table::new("event_outbox");

/// (app id, timer id) → the timer's due time ms (its outbox key), for each
/// pending timer (`timers`).
pub(crate) const APP_TIMERS: Table<(String, String), u64> = Table::new("app_timers");
/// App id → how many timers it holds pending (the [`APP_TIMERS`] entries
/// under it), kept with them so the cap is checked without counting them.
pub(crate) const APP_TIMER_COUNTS: Table<String, u64> = Table::new("app_timer_counts");
/// (app id, schedule name) → the last fire time staged, ms (`cron`).
pub(crate) const CRON_CURSORS: Table<(String, String), u64> = Table::new("cron_cursors");
