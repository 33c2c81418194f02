//! Signals between hosts ([`cityhost_store::Signal`]) over PostgreSQL's
//! `NOTIFY` / `LISTEN`.
//!
//! Every backend keeps one connection of its own that `LISTEN`s on the
//! store's channel, `cityhost.{schema}` (a channel is database-wide, so two
//! stores in two schemas of one database do not hear each other). A signal
//! is sent with `pg_notify` as `{origin}\n{channel}\n{payload}`, where
//! `origin` names the sending backend: a backend ignores its own signals.
//! When the listening connection fails, the backend opens another (every
//! [`RECONNECT_PAUSE`]) and its listeners hear [`Heard::Missed`], since
//! signals sent meanwhile are lost.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use cityhost_store::{Heard, Signal, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::pg_error;

/// Pause before opening a new listening connection after one failed.
pub(crate) const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Signals a listener may fall behind by before it hears
/// [`Heard::Missed`].
const BACKLOG: usize = 1024;

/// A backend's signalling: its channel, its origin and the listening task.
pub(crate) struct Signals {
    /// The PostgreSQL channel of the store.
    pub(crate) channel: String,
    /// This backend's name in the signals it sends.
    origin: String,
    sender: broadcast::Sender<Heard>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Signals {
    /// Starts listening on the channel of `schema`; returns once the first
    /// `LISTEN` took effect. Errors: the server cannot be reached.
    pub(crate) async fn start(
        config: tokio_postgres::Config,
        tls: MakeRustlsConnect,
        schema: &str,
    ) -> Result<Signals, StoreError> {
        let channel = channel_of(schema);
        let origin = new_origin();
        let (sender, _) = broadcast::channel(BACKLOG);
        let (ready, listening) = oneshot::channel();
        let task = tokio::spawn(listen_forever(
            config,
            tls,
            channel.clone(),
            origin.clone(),
            sender.clone(),
            ready,
        ));
        match listening.await {
            Ok(Ok(())) => Ok(Signals {
                channel,
                origin,
                sender,
                task,
            }),
            Ok(Err(e)) => {
                task.abort();
                Err(e)
            }
            Err(_) => Err(StoreError::Backend(
                "PostgreSQL: the listening task ended".into(),
            )),
        }
    }

    /// The `pg_notify` payload of a signal from this backend.
    pub(crate) fn frame(&self, channel: &str, payload: &str) -> String {
        format!("{}\n{channel}\n{payload}", self.origin)
    }

    /// A new receiver of the other backends' signals.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.sender.subscribe()
    }
}

/// The channel of the store in `schema`: `cityhost.{schema}`, cut to
/// PostgreSQL's 63-byte identifiers.
fn channel_of(schema: &str) -> String {
    let mut channel = format!("cityhost.{schema}");
    while channel.len() > 63 {
        channel.pop();
    }
    channel
}

/// A random name for this backend (128 bits from the standard library's
/// randomly seeded hasher).
fn new_origin() -> String {
    let random = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    format!("{:016x}{:016x}", random(), random())
}

/// Listens until aborted, reconnecting after failures. `ready` hears how
/// the first attempt went.
async fn listen_forever(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    channel: String,
    origin: String,
    sender: broadcast::Sender<Heard>,
    ready: oneshot::Sender<Result<(), StoreError>>,
) {
    let mut ready = Some(ready);
    loop {
        let outcome = listen_once(&config, &tls, &channel, &origin, &sender, &mut ready).await;
        if let Some(ready) = ready.take() {
            // The first connection failed: the backend is not made.
            let _ = ready.send(outcome);
            return;
        }
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "PostgreSQL signal connection lost; reconnecting");
        }
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

/// One listening connection, until it fails. After a reconnection (no
/// `ready` left) the listeners first hear [`Heard::Missed`].
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    channel: &str,
    origin: &str,
    sender: &broadcast::Sender<Heard>,
    ready: &mut Option<oneshot::Sender<Result<(), StoreError>>>,
) -> Result<(), StoreError> {
    let (client, mut connection) = config.connect(tls.clone()).await.map_err(pg_error)?;
    let (notes, mut heard) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(note))) => {
                    if notes.send(note).is_err() {
                        return Ok(());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    let listen = format!("LISTEN \"{}\"", channel.replace('"', "\"\""));
    if let Err(e) = client.batch_execute(&listen).await {
        driver.abort();
        return Err(pg_error(e));
    }
    match ready.take() {
        Some(ready) => {
            let _ = ready.send(Ok(()));
        }
        None => {
            let _ = sender.send(Heard::Missed);
        }
    }
    while let Some(note) = heard.recv().await {
        let mut parts = note.payload().splitn(3, '\n');
        let (Some(from), Some(name), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if from != origin {
            let _ = sender.send(Heard::Signal(Signal {
                channel: name.to_string(),
                payload: payload.to_string(),
            }));
        }
    }
    drop(client);
    match driver.await {
        Ok(Err(e)) => Err(pg_error(e)),
        _ => Err(StoreError::Backend(
            "PostgreSQL: the signal connection closed".into(),
        )),
    }
}
