//! Channels: the ways a stored message reaches a citizen. The inbox is the
//! record of every message; a [`Channel`] is handed each message once it is
//! stored and says what it did. The one built is [`InboxChannel`], which
//! pushes the message to the citizen's open shells.
//!
//! # Adding an SMS gateway
//!
//! An SMS channel would implement [`Channel`] with a queue in front of the
//! gateway's HTTP API: `deliver` enqueues (it must not block the sending
//! app's request) and answers [`Outcome::Queued`]; a worker sends with the
//! gateway's own idempotency key (the message id), retries on its
//! schedule, and records the gateway's delivery receipts beside the
//! message's status. The citizen's phone number is looked up by the channel
//! inside the host (apps never see it), the SMS text comes from a per-channel
//! variant of the template (SMS bodies are short and must carry the
//! department's registered signature), and the citizen chooses per app
//! whether a template may also reach them by SMS. The channel is registered
//! in [`Notifications::new`](super::Notifications::new) next to the inbox
//! channel; nothing else changes.

use std::sync::Arc;

use super::inbox::Message;
use super::live::{LiveEvent, LiveHub};

/// What a channel did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the citizen's device now (an open shell).
    Pushed,
    /// Accepted for later delivery (a gateway's queue).
    Queued,
    /// Not reachable this way now; the message waits in the inbox.
    NotReached,
}

/// A way of reaching citizens with stored messages.
pub trait Channel: Send + Sync {
    /// Short stable name, e.g. `inbox` or `sms`.
    fn name(&self) -> &'static str;

    /// Hands over a message just stored in `citizen_id`'s inbox, with the
    /// citizen's unread count after it. Must not block: slow work belongs
    /// in the channel's own queue.
    fn deliver(&self, citizen_id: &str, message: &Arc<Message>, unread: u64) -> Outcome;
}

/// The inbox channel: pushes each message to the citizen's open shells
/// over the live hub (server-sent events at `/api/inbox/stream`).
pub struct InboxChannel {
    hub: Arc<LiveHub>,
}

impl InboxChannel {
    /// The channel over `hub`.
    pub fn new(hub: Arc<LiveHub>) -> Self {
        Self { hub }
    }
}

impl Channel for InboxChannel {
    fn name(&self) -> &'static str {
        "inbox"
    }

    fn deliver(&self, citizen_id: &str, message: &Arc<Message>, unread: u64) -> Outcome {
        match self
            .hub
            .publish(citizen_id, LiveEvent::Message(message.clone(), unread))
        {
            0 => Outcome::NotReached,
            _ => Outcome::Pushed,
        }
    }
}
