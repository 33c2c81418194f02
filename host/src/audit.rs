//! The audit log: one record per capability call (time, app, release,
//! openid, capability, outcome, duration), in its own tree, listable by app
//! and time range. Records hold no personal data: citizens appear only by
//! their per-app openid, and arguments are never recorded.
//!
//! Key layout (`audit` tree): `app_id \0 time (u64 BE, UTC ns) seq (u64 BE)`.
//!
//! Records are written by one writer thread in batches (one sled batch per
//! burst of records), so a request or capability call pays for encoding
//! its record and a channel send, not for a tree insert. The channel is
//! bounded ([`QUEUE`]): when the writer falls behind, appends wait rather
//! than drop records. Reads ([`AuditLog::list`]) and [`AuditLog::flush`]
//! first wait for every record appended before them to be in the tree.
//! Durability is sled's: records reach disk with its next flush, as every
//! other tree's writes do.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::error::ServiceResult;
use crate::store::{Store, StoreError, key, trees};

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Time of the call, UTC ms.
    pub time: u64,
    /// App id.
    pub app: String,
    /// Release (the app's version) that made the call.
    pub release: String,
    /// The citizen's openid for this app, when a citizen was present.
    pub openid: Option<String>,
    /// Interface and function, e.g. `payment.create-order`.
    pub capability: String,
    /// `ok`, or the WIT error variant (`not-permitted`, `consent-required`, ...).
    pub outcome: String,
    /// Host time spent in the call, µs.
    pub duration_us: u64,
}

/// Records queued for the writer before appends wait.
pub const QUEUE: usize = 4096;
/// Most records the writer puts in one sled batch.
const BATCH: usize = 1024;

/// The audit log.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    tree: sled::Tree,
    /// Declared before `_writer`: the last log drops its sender first, which
    /// closes the queue, and then joins the thread.
    queue: SyncSender<Message>,
    _writer: Arc<Writer>,
}

/// What the writer thread is sent.
enum Message {
    /// A record: its key and encoded value.
    Record(Vec<u8>, Vec<u8>),
    /// Answer once everything sent before is in the tree.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The writer thread; dropping the last [`AuditLog`] closes its queue, so
/// the thread writes what is queued and ends, and joins it.
struct Writer {
    thread: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens the audit tree and starts its writer thread.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        let tree = store.tree(trees::AUDIT)?;
        let (queue, received) = sync_channel(QUEUE);
        let writer_tree = tree.clone();
        let thread = std::thread::Builder::new()
            .name("cityhost-audit".into())
            .spawn(move || write_batches(&writer_tree, &received))
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        Ok(Self {
            store: store.clone(),
            tree,
            queue,
            _writer: Arc::new(Writer {
                thread: Some(thread),
            }),
        })
    }

    /// Appends a record (queued for the writer; see the module docs).
    pub fn append(&self, record: &AuditRecord) -> ServiceResult<()> {
        let seq = self.store.next_id()?;
        let mut suffix = (record.time * 1_000_000).to_be_bytes().to_vec();
        suffix.extend_from_slice(&seq.to_be_bytes());
        let k = key(&[record.app.as_bytes(), &suffix]);
        let value = serde_json::to_vec(record).map_err(StoreError::from)?;
        self.send(Message::Record(k, value))
    }

    /// Waits until every record appended before this call is in the tree.
    pub fn flush(&self) -> ServiceResult<()> {
        let (done, wait) = std::sync::mpsc::channel();
        self.send(Message::Flush(done))?;
        wait.recv().map_err(|_| writer_gone())?;
        Ok(())
    }

    fn send(&self, message: Message) -> ServiceResult<()> {
        self.queue.send(message).map_err(|_| writer_gone())?;
        Ok(())
    }

    /// Records of `app` with `from_ms <= time < to_ms`, oldest first, at most
    /// `limit`.
    pub fn list(
        &self,
        app: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> ServiceResult<Vec<AuditRecord>> {
        self.flush()?;
        let start = key(&[
            app.as_bytes(),
            &from_ms.saturating_mul(1_000_000).to_be_bytes(),
        ]);
        let end = key(&[
            app.as_bytes(),
            &to_ms.saturating_mul(1_000_000).to_be_bytes(),
        ]);
        self.tree
            .range(start..end)
            .values()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(StoreError::from)?))
            .collect()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn writer_gone() -> crate::error::ServiceError {
    StoreError::Sled(sled::Error::Io(std::io::Error::other(
        "the audit writer has stopped",
    )))
    .into()
}

/// The writer thread: takes what is queued (up to [`BATCH`] records),
/// applies it as one sled batch, answers flushes, until the queue closes.
fn write_batches(tree: &sled::Tree, received: &Receiver<Message>) {
    while let Ok(first) = received.recv() {
        let mut batch = sled::Batch::default();
        let mut flushes = Vec::new();
        let mut records = 0;
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Record(k, v) => {
                    batch.insert(k, v);
                    records += 1;
                }
                Message::Flush(done) => flushes.push(done),
            }
            next = if records < BATCH {
                received.try_recv().ok()
            } else {
                None
            };
        }
        if records > 0
            && let Err(e) = tree.apply_batch(batch)
        {
            tracing::error!(error = %e, records, "audit records not written");
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
