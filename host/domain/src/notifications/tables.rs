//! The notification tables. Every change that touches more than one of them
//! is one transaction (see [`Notifications::send`](super::Notifications::send)
//! and the [`inbox`](super::inbox) methods).

use cityhost_store::Table;

use super::inbox::{Counters, Delivery, Message};
use super::rate::Window;
use super::subscriptions::Subscription;

/// `(citizen_id, seq)` → [`Message`]: the citizen's inbox. `seq` is the
/// citizen's own counter, so a reverse scan of one citizen is newest first.
pub(crate) const INBOX: Table<(String, u64), Message> = Table::new("inbox");

/// `citizen_id` → [`Counters`]: the last `seq` given out and the unread count.
pub(crate) const INBOX_COUNTERS: Table<String, Counters> = Table::new("inbox_counters");

/// `(citizen_id, seq)` → `()`: one entry per unread message.
pub(crate) const INBOX_UNREAD: Table<(String, u64), ()> = Table::new("inbox_unread");

/// message number → [`Delivery`]: how far a message got. The number is
/// store-wide (the `msg_` id the app is given) and outlives a deleted message.
pub(crate) const DELIVERIES: Table<u64, Delivery> = Table::new("deliveries");

/// `(citizen_id, app_id, template_id)` → [`Subscription`]: live subscriptions only.
pub(crate) const SUBSCRIPTIONS: Table<(String, String, String), Subscription> =
    Table::new("subscriptions");

/// `(app_id, citizen_id)` → [`Window`]: messages of the app to the citizen in
/// the current UTC day.
pub(crate) const NOTIFY_RATE_DAY: Table<(String, String), Window> = Table::new("notify_rate_day");

/// `app_id` → [`Window`]: messages of the app in the current minute.
pub(crate) const NOTIFY_RATE_MINUTE: Table<String, Window> = Table::new("notify_rate_minute");
