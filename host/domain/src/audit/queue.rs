//! The queue from appenders to the audit writer: an unbounded channel whose
//! backlog is counted.
//!
//! A send never waits and never fails while the writer runs, so no request
//! waits on the writer and no record is dropped. The price of "unbounded"
//! is memory while the writer is behind, so it is accounted:
//! [`Sender::backlog`] is the number of messages sent and not yet taken by
//! the writer (a record is a few hundred bytes; the writer holds at most
//! one more round, `BATCH` messages, while it writes), and a warning is
//! logged each time the backlog grows past a multiple of [`BACKLOG_WARN`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// A warning is logged each time the audit writer's backlog grows past a
/// multiple of this many records (about 30 MB of memory each; at 100,000
/// records a second, a second behind).
pub const BACKLOG_WARN: usize = 100_000;

/// A counted, unbounded channel.
pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (sender, receiver) = mpsc::channel();
    let backlog = Arc::new(AtomicUsize::new(0));
    (
        Sender {
            inner: sender,
            backlog: backlog.clone(),
        },
        Receiver {
            inner: receiver,
            backlog,
        },
    )
}

/// The sending side; clones share the count.
pub(super) struct Sender<T> {
    inner: mpsc::Sender<T>,
    backlog: Arc<AtomicUsize>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            backlog: self.backlog.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Queues `message`, never waiting. Errors: the receiver is gone (the
    /// message is given back).
    pub(super) fn send(&self, message: T) -> Result<(), mpsc::SendError<T>> {
        let backlog = self.backlog.fetch_add(1, Ordering::Relaxed) + 1;
        if backlog.is_multiple_of(BACKLOG_WARN) {
            tracing::warn!(backlog, "the audit writer is behind");
        }
        self.inner.send(message).inspect_err(|_| {
            self.backlog.fetch_sub(1, Ordering::Relaxed);
        })
    }

    /// Messages sent and not yet taken by the receiver.
    pub(super) fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }
}

/// The receiving side: each message taken leaves the backlog.
pub(super) struct Receiver<T> {
    inner: mpsc::Receiver<T>,
    backlog: Arc<AtomicUsize>,
}

impl<T> Receiver<T> {
    /// Waits for the next message. Errors: every sender is gone and the
    /// queue is empty.
    pub(super) fn recv(&self) -> Result<T, mpsc::RecvError> {
        self.inner.recv().inspect(|_| self.taken())
    }

    /// The messages queued now, without waiting.
    pub(super) fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        self.inner.try_iter().inspect(|_| self.taken())
    }

    fn taken(&self) {
        self.backlog.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_counts_what_is_sent_and_not_taken() {
        let (sender, receiver) = channel();
        let other = sender.clone();
        for i in 0..1_000 {
            sender.send(i).unwrap();
        }
        other.send(1_000).unwrap();
        assert_eq!(sender.backlog(), 1_001);
        assert_eq!(receiver.recv().unwrap(), 0);
        let taken: Vec<_> = receiver.try_iter().take(500).collect();
        assert_eq!(taken, (1..501).collect::<Vec<_>>());
        assert_eq!(other.backlog(), 500);
        assert_eq!(receiver.try_iter().count(), 500);
        assert_eq!(sender.backlog(), 0);
    }

    #[test]
    fn a_send_to_a_closed_queue_is_not_counted() {
        let (sender, receiver) = channel();
        drop(receiver);
        assert_eq!(sender.send("record").unwrap_err().0, "record");
        assert_eq!(sender.backlog(), 0);
    }
}
