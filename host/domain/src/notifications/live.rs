//! Live push: the citizens' open shells, each listening on a
//! [`LiveSubscription`], hear of new messages and unread counts the moment
//! they are stored.
//!
//! The hub keeps one `tokio::sync::broadcast` channel per citizen with at
//! least one open stream, dropped when the last stream closes. It only
//! carries news: the store is the record, and a stream that lags or
//! reconnects reads what it missed from the inbox (by `seq`). The hub is
//! per process; several host nodes sharing one store would forward these
//! events to each other (a pub/sub on the shared database), which the
//! streams already tolerate since they fill any gap from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use super::inbox::Message;

/// Events kept per citizen for a slow stream before it must catch up from
/// the store.
const CHANNEL_CAPACITY: usize = 64;

/// News for a citizen's open shells.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// A new message and the unread count after it.
    Message(Arc<Message>, u64),
    /// The unread count changed (read, all read, deleted).
    Unread(u64),
}

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<LiveEvent>>>>;

/// The open streams, by citizen.
pub struct LiveHub {
    channels: Channels,
    closing: watch::Sender<bool>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self {
            channels: Arc::default(),
            closing: watch::Sender::new(false),
        }
    }
}

impl LiveHub {
    /// Starts listening for `citizen_id`'s news.
    pub fn subscribe(&self, citizen_id: &str) -> LiveSubscription {
        let mut channels = self.channels.lock().expect("live hub lock");
        let receiver = channels
            .entry(citizen_id.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        LiveSubscription {
            receiver,
            citizen_id: citizen_id.to_string(),
            channels: self.channels.clone(),
            closing: self.closing.subscribe(),
        }
    }

    /// Sends `event` to the citizen's open streams; how many there are.
    pub fn publish(&self, citizen_id: &str, event: LiveEvent) -> usize {
        let channels = self.channels.lock().expect("live hub lock");
        channels
            .get(citizen_id)
            .and_then(|sender| sender.send(event).ok())
            .unwrap_or(0)
    }

    /// Number of citizens with at least one open stream.
    pub fn citizens_listening(&self) -> usize {
        self.channels.lock().expect("live hub lock").len()
    }

    /// Ends every stream (the host is shutting down): open responses then
    /// finish, so a graceful shutdown does not wait for them.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// One open stream's view of the hub.
pub struct LiveSubscription {
    receiver: broadcast::Receiver<LiveEvent>,
    citizen_id: String,
    channels: Channels,
    closing: watch::Receiver<bool>,
}

/// What a stream hears next.
#[derive(Debug)]
pub enum Heard {
    /// News.
    Event(LiveEvent),
    /// Events were dropped because the stream was slow: catch up from the
    /// store.
    Lagged,
    /// The host is shutting down: end the stream.
    Closing,
}

impl LiveSubscription {
    /// Waits for the next event.
    pub async fn next(&mut self) -> Heard {
        if *self.closing.borrow() {
            return Heard::Closing;
        }
        tokio::select! {
            _ = self.closing.wait_for(|closing| *closing) => Heard::Closing,
            received = self.receiver.recv() => match received {
                Ok(event) => Heard::Event(event),
                Err(broadcast::error::RecvError::Lagged(_)) => Heard::Lagged,
                Err(broadcast::error::RecvError::Closed) => Heard::Closing,
            },
        }
    }
}

impl Drop for LiveSubscription {
    fn drop(&mut self) {
        let mut channels = self.channels.lock().expect("live hub lock");
        // This subscription's receiver is still alive here, hence `<= 1`.
        if channels
            .get(&self.citizen_id)
            .is_some_and(|sender| sender.receiver_count() <= 1)
        {
            channels.remove(&self.citizen_id);
        }
    }
}
