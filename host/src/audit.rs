//! The audit log: one record per capability call (time, app, release,
//! openid, capability, outcome, duration), in its own tree, listable by app
//! and time range. Records hold no personal data: citizens appear only by
//! their per-app openid, and arguments are never recorded.
//!
//! Every call and request leaves its record, and recording never makes it
//! wait: a [`Pending`] record ([`AuditLog::begin`]) is appended however
//! its call ends, as [`ABANDONED`] if its future is dropped while it
//! awaits; an append is one send on an unbounded queue whose backlog is
//! counted ([`AuditLog::backlog`]; a warning is logged past each
//! [`BACKLOG_WARN`] records).
//!
//! Records are written by one writer thread in blocks: it gathers what is
//! appended over [`GATHER`], groups it by app, and writes each app's records
//! as one tree value (a JSON array, oldest first) of at most
//! [`BLOCK_RECORDS`] records whose times differ by less than
//! [`BLOCK_SPAN_MS`]. A request or capability call pays for a channel send;
//! the tree sees one insert per app per gathering instead of one per
//! record, which is what keeps a busy host's audit cost (and sled's log
//! writes) small.
//!
//! Key layout (`audit` tree): `app_id \0 time (u64 BE, UTC ns) seq (u64 BE)`,
//! where time is that of the block's oldest record and seq a store-wide id.
//! A value is a block (JSON array of records) or, in data directories
//! written before blocks, a single record (JSON object); both are read.
//!
//! Appending never waits: the channel is unbounded, so a request (on a
//! tokio worker) never blocks on the writer and no record is dropped; when
//! the writer falls behind, the backlog is memory (about 200 bytes a
//! record) and the writer takes at most [`BATCH`] records per round. Reads ([`AuditLog::list`]) and
//! [`AuditLog::flush`] first wait for every record appended before them to
//! be in the tree. Durability is sled's: records reach disk with its next
//! flush, as every other tree's writes do, [`GATHER`] later at most than if
//! they were inserted at once.

mod pending;
mod queue;

pub use pending::{ABANDONED, Pending};
pub use queue::BACKLOG_WARN;
use queue::{Receiver, Sender, channel};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

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

/// Most messages the writer takes from the channel per round.
pub const BATCH: usize = 16_384;
/// How long the writer gathers records after the first one arrives before
/// it writes them (a flush request cuts it short).
pub const GATHER: Duration = Duration::from_millis(20);
/// Most records in one block.
pub const BLOCK_RECORDS: usize = 512;
/// The times of one block's records differ by less than this, ms; a list
/// of records from time `t` starts at the blocks keyed from
/// `t - BLOCK_SPAN_MS`.
pub const BLOCK_SPAN_MS: u64 = 1_000;

/// The audit log.
#[derive(Clone)]
pub struct AuditLog {
    tree: sled::Tree,
    /// Declared before `_writer`: the last log drops its sender first, which
    /// closes the queue, and then joins the thread.
    queue: Sender<Message>,
    _writer: Arc<Writer>,
}

/// What the writer thread is sent.
enum Message {
    /// A record to write.
    Record(AuditRecord),
    /// Answer once everything sent before is in the tree.
    Flush(std::sync::mpsc::Sender<()>),
}

/// A stored value: a block, or a lone record from before blocks.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Block(Vec<AuditRecord>),
    Record(AuditRecord),
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
        let (queue, received) = channel();
        let (writer_store, writer_tree) = (store.clone(), tree.clone());
        let thread = std::thread::Builder::new()
            .name("cityhost-audit".into())
            .spawn(move || write_blocks(&writer_store, &writer_tree, &received))
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        Ok(Self {
            tree,
            queue,
            _writer: Arc::new(Writer {
                thread: Some(thread),
            }),
        })
    }

    /// Appends a record: queued for the writer, never waiting (see the
    /// module docs).
    pub fn append(&self, record: AuditRecord) -> ServiceResult<()> {
        self.send(Message::Record(record))
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

    /// Records appended and not yet taken by the writer: the memory the
    /// log holds while its writer is behind (see `audit::queue`).
    pub fn backlog(&self) -> usize {
        self.queue.backlog()
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
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = block_key(app, from_ms.saturating_sub(BLOCK_SPAN_MS), 0);
        let end = block_key(app, to_ms, 0);
        let mut out: Vec<AuditRecord> = Vec::new();
        for value in self.tree.range(start..end).values() {
            let block = match serde_json::from_slice(&value?).map_err(StoreError::from)? {
                Stored::Block(records) => records,
                Stored::Record(record) => vec![record],
            };
            // Blocks come in order of their oldest record: once `limit`
            // records are held, a block whose oldest is newer than the
            // newest held cannot contribute.
            if out.len() >= limit
                && let (Some(oldest), Some(newest)) = (block.first(), out.last())
                && oldest.time > newest.time
            {
                break;
            }
            out.extend(
                block
                    .into_iter()
                    .filter(|r| from_ms <= r.time && r.time < to_ms),
            );
            if out.len() >= limit {
                out.sort_by_key(|r| r.time);
                out.truncate(limit);
            }
        }
        out.sort_by_key(|r| r.time);
        out.truncate(limit);
        Ok(out)
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

/// The key of a block of `app` whose oldest record is at `time_ms`.
fn block_key(app: &str, time_ms: u64, seq: u64) -> Vec<u8> {
    let mut suffix = time_ms.saturating_mul(1_000_000).to_be_bytes().to_vec();
    suffix.extend_from_slice(&seq.to_be_bytes());
    key(&[app.as_bytes(), &suffix])
}

/// The writer thread: after the first record of a quiet spell it sleeps
/// [`GATHER`] (not when asked to flush), takes everything queued, writes it
/// as blocks and answers flushes; until the queue closes.
fn write_blocks(store: &Store, tree: &sled::Tree, received: &Receiver<Message>) {
    while let Ok(first) = received.recv() {
        let mut records: BTreeMap<String, Vec<AuditRecord>> = BTreeMap::new();
        let mut flushes = Vec::new();
        let mut take = |message| match message {
            Message::Record(record) => records.entry(record.app.clone()).or_default().push(record),
            Message::Flush(done) => flushes.push(done),
        };
        let flush_asked = matches!(first, Message::Flush(_));
        take(first);
        if !flush_asked {
            std::thread::sleep(GATHER);
        }
        for message in received.try_iter().take(BATCH) {
            take(message);
        }
        for (app, mut app_records) in records {
            app_records.sort_by_key(|r| r.time);
            for block in blocks(&app_records) {
                if let Err(e) = write_block(store, tree, &app, block) {
                    tracing::error!(error = %e, app, records = block.len(), "audit records not written");
                }
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Splits records sorted by time into blocks of at most [`BLOCK_RECORDS`]
/// whose times differ by less than [`BLOCK_SPAN_MS`].
fn blocks(records: &[AuditRecord]) -> Vec<&[AuditRecord]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, record) in records.iter().enumerate() {
        if i - start == BLOCK_RECORDS || record.time >= records[start].time + BLOCK_SPAN_MS {
            out.push(&records[start..i]);
            start = i;
        }
    }
    if start < records.len() {
        out.push(&records[start..]);
    }
    out
}

fn write_block(
    store: &Store,
    tree: &sled::Tree,
    app: &str,
    block: &[AuditRecord],
) -> Result<(), StoreError> {
    let key = block_key(app, block[0].time, store.next_id()?);
    tree.insert(key, serde_json::to_vec(block)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(app: &str, time: u64) -> AuditRecord {
        AuditRecord {
            time,
            app: app.into(),
            release: "1.0.0".into(),
            openid: None,
            capability: "request".into(),
            outcome: "200".into(),
            duration_us: 1,
        }
    }

    #[test]
    fn blocks_hold_a_bounded_count_and_time_span() {
        let records: Vec<_> = (0..1_200).map(|i| record("a", 10_000 + i)).collect();
        let sizes: Vec<_> = blocks(&records).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [512, 512, 176]);
        let spread = [record("a", 0), record("a", 999), record("a", 1_000)];
        let sizes: Vec<_> = blocks(&spread).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 1]);
    }

    #[test]
    fn list_filters_by_app_and_time_oldest_first_across_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = AuditLog::open(&store).unwrap();
        // Out of order, two apps, spread over several blocks and flushes.
        for i in (0..3_000u64).rev() {
            log.append(record("a", 1_000_000 + i * 3)).unwrap();
            if i % 1_000 == 0 {
                log.flush().unwrap();
            }
        }
        log.append(record("b", 1_000_500)).unwrap();
        let all = log.list("a", 0, u64::MAX, usize::MAX).unwrap();
        assert_eq!(all.len(), 3_000);
        assert!(all.windows(2).all(|w| w[0].time <= w[1].time));
        let window = log.list("a", 1_000_300, 1_000_600, 1_000).unwrap();
        assert_eq!(window.len(), 100);
        assert_eq!(window[0].time, 1_000_300);
        assert_eq!(window[99].time, 1_000_597);
        let first = log.list("a", 1_000_000, u64::MAX, 10).unwrap();
        let times: Vec<_> = first.iter().map(|r| r.time).collect();
        assert_eq!(
            times,
            (0..10).map(|i| 1_000_000 + i * 3).collect::<Vec<_>>()
        );
        assert_eq!(log.list("b", 0, u64::MAX, 10).unwrap().len(), 1);
        assert!(log.list("a", 0, u64::MAX, 0).unwrap().is_empty());
    }

    #[test]
    fn records_written_one_per_value_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tree = store.tree(trees::AUDIT).unwrap();
        let old = record("a", 5_000);
        tree.insert(block_key("a", 5_000, 1), serde_json::to_vec(&old).unwrap())
            .unwrap();
        let log = AuditLog::open(&store).unwrap();
        log.append(record("a", 5_001)).unwrap();
        let listed = log.list("a", 0, u64::MAX, 10).unwrap();
        assert_eq!(listed, [old, record("a", 5_001)]);
    }

    #[test]
    fn records_queued_at_shutdown_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = AuditLog::open(&store).unwrap();
        for i in 0..100 {
            log.append(record("a", 7_000 + i)).unwrap();
        }
        drop(log);
        let log = AuditLog::open(&store).unwrap();
        assert_eq!(log.list("a", 0, u64::MAX, 1_000).unwrap().len(), 100);
    }
}
