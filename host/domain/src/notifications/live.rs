//! Live push: the citizens' open shells, each listening on a
//! [`LiveSubscription`], hear of new messages and unread counts the moment
//! they are stored.
//!
//! The hub keeps one `tokio::sync::broadcast` channel per citizen with at
//! least one open stream, dropped when the last stream closes. It only
//! carries news: the store is the record, and a stream that lags or
//! reconnects reads what it missed from the inbox (by `seq`).
//!
//! A citizen's shells may be open on other hosts sharing the store: the hub
//! relays each event to them as a store signal ([`LIVE_SIGNAL`]), and the
//! host's signal task hands the other hosts' events to
//! [`LiveHub::relayed`]. A message too large for a signal goes as "catch
//! up from the store", as does everything when signals may have been
//! missed ([`LiveHub::all_stale`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cityhost_store::Db;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::inbox::Message;

/// The store signal carrying live events to the other hosts; its payload
/// is a [`Relayed`] in JSON.
pub const LIVE_SIGNAL: &str = "inbox.live";

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

/// What a citizen's channel carries: news, or word that news was lost on
/// the way from another host (streams hear it as [`Heard::Lagged`] and
/// catch up from the store).
#[derive(Debug, Clone)]
enum Sent {
    Event(LiveEvent),
    Stale,
}

/// A live event as relayed to the other hosts.
#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    /// Internal citizen id.
    citizen: String,
    /// The new message, if the event is one and it fits in a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
    /// The unread count after the event; absent when the news did not fit
    /// ("catch up from the store").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unread: Option<u64>,
}

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Sent>>>>;

/// The open streams, by citizen.
pub struct LiveHub {
    channels: Channels,
    closing: watch::Sender<bool>,
    /// The store other hosts share, when they do: events are relayed there.
    relay: Option<Db>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self {
            channels: Arc::default(),
            closing: watch::Sender::new(false),
            relay: None,
        }
    }
}

impl LiveHub {
    /// A hub that relays its events to the other hosts sharing `db` (if
    /// any do).
    pub fn relaying_to(db: &Db) -> Self {
        Self {
            relay: db.shared().then(|| db.clone()),
            ..Self::default()
        }
    }

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

    /// Sends `event` to the citizen's open streams on this host (returns
    /// how many there are) and, in the background, to the other hosts
    /// sharing the store.
    pub fn publish(&self, citizen_id: &str, event: LiveEvent) -> usize {
        if let Some(db) = &self.relay {
            relay(db, citizen_id, &event);
        }
        self.publish_here(citizen_id, Sent::Event(event))
    }

    /// Sends `event` to the citizen's open streams on this host only.
    fn publish_here(&self, citizen_id: &str, sent: Sent) -> usize {
        let channels = self.channels.lock().expect("live hub lock");
        channels
            .get(citizen_id)
            .and_then(|sender| sender.send(sent).ok())
            .unwrap_or(0)
    }

    /// Hands an event another host relayed ([`LIVE_SIGNAL`]'s payload) to
    /// the citizen's open streams here. A payload that does not decode is
    /// logged and ignored.
    pub fn relayed(&self, payload: &str) {
        let relayed: Relayed = match serde_json::from_str(payload) {
            Ok(relayed) => relayed,
            Err(e) => {
                tracing::warn!(error = %e, "undecodable live event from another host");
                return;
            }
        };
        let event = match (relayed.message, relayed.unread) {
            (Some(message), Some(unread)) => {
                Sent::Event(LiveEvent::Message(Arc::new(message), unread))
            }
            (None, Some(unread)) => Sent::Event(LiveEvent::Unread(unread)),
            _ => Sent::Stale,
        };
        self.publish_here(&relayed.citizen, event);
    }

    /// Tells every open stream here to catch up from the store (events
    /// from other hosts may have been missed).
    pub fn all_stale(&self) {
        let channels = self.channels.lock().expect("live hub lock");
        for sender in channels.values() {
            let _ = sender.send(Sent::Stale);
        }
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
    receiver: broadcast::Receiver<Sent>,
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
                Ok(Sent::Event(event)) => Heard::Event(event),
                Ok(Sent::Stale) => Heard::Lagged,
                Err(broadcast::error::RecvError::Lagged(_)) => Heard::Lagged,
                Err(broadcast::error::RecvError::Closed) => Heard::Closing,
            },
        }
    }
}

/// Sends `event` to the other hosts sharing `db`, in the background (a
/// stream that misses it catches up from the store). A message too large
/// for a signal goes as "catch up from the store".
fn relay(db: &Db, citizen_id: &str, event: &LiveEvent) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let mut relayed = Relayed {
        citizen: citizen_id.to_string(),
        message: None,
        unread: None,
    };
    match event {
        LiveEvent::Message(message, unread) => {
            relayed.message = Some(Message::clone(message));
            relayed.unread = Some(*unread);
        }
        LiveEvent::Unread(unread) => relayed.unread = Some(*unread),
    }
    let mut payload = serde_json::to_string(&relayed).unwrap_or_default();
    if !cityhost_store::signal_fits(LIVE_SIGNAL, &payload) {
        relayed.message = None;
        relayed.unread = None;
        payload = serde_json::to_string(&relayed).unwrap_or_default();
    }
    let db = db.clone();
    runtime.spawn(async move {
        if let Err(e) = db.signal(LIVE_SIGNAL, &payload).await {
            tracing::warn!(error = %e, "a live event was not relayed to the other hosts");
        }
    });
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
