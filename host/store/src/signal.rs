//! Signals between the hosts sharing one store: short notes such as "this
//! session was ended" or "this app's release changed", so each host can
//! drop what it holds in memory. A signal is news, never the record: the
//! change it announces is committed in the store first, and a host that
//! may have missed signals (its listening connection dropped, or it fell
//! behind) hears [`Heard::Missed`] and must treat everything it holds in
//! memory as stale.
//!
//! An embedded store has one host, so nobody hears its signals; on
//! PostgreSQL they travel by `NOTIFY` / `LISTEN` (no second server).

use tokio::sync::broadcast;

/// Largest signal, bytes of channel and payload together (PostgreSQL's
/// `NOTIFY` payload limit is 8,000 bytes; some is kept for framing).
pub const MAX_SIGNAL_BYTES: usize = 7_000;

/// Whether a signal on `channel` with `payload` is within
/// [`MAX_SIGNAL_BYTES`].
pub fn signal_fits(channel: &str, payload: &str) -> bool {
    channel.len() + payload.len() <= MAX_SIGNAL_BYTES
}

/// A signal from another host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// What it is about, e.g. `session.ended` (named by the sender's
    /// module).
    pub channel: String,
    /// Its text, e.g. a session id.
    pub payload: String,
}

/// What a [`Listener`] hears next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A signal from another host.
    Signal(Signal),
    /// Signals may have been lost (the listening connection was
    /// re-established, or this listener fell behind): whatever the host
    /// keeps in memory about shared state may be stale.
    Missed,
}

/// Signals from the other hosts sharing the store, in the order they were
/// committed. Each listener hears every signal.
pub struct Listener {
    receiver: Option<broadcast::Receiver<Heard>>,
}

impl Listener {
    /// A listener on `receiver`; `None` for a store no other host shares
    /// (it never hears anything).
    pub fn new(receiver: Option<broadcast::Receiver<Heard>>) -> Listener {
        Listener { receiver }
    }

    /// Waits for the next signal. Never returns for a store no other host
    /// shares.
    pub async fn next(&mut self) -> Heard {
        let Some(receiver) = &mut self.receiver else {
            return std::future::pending().await;
        };
        match receiver.recv().await {
            Ok(heard) => heard,
            Err(broadcast::error::RecvError::Lagged(_)) => Heard::Missed,
            // The backend is gone: nothing more will come.
            Err(broadcast::error::RecvError::Closed) => {
                self.receiver = None;
                std::future::pending().await
            }
        }
    }
}
