//! The audit log: one record per capability call (time, app, release,
//! openid, capability, outcome, duration), in its own table, listable by app
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
//! as one value (a JSON array, oldest first) of at most [`BLOCK_RECORDS`]
//! records whose times differ by less than [`BLOCK_SPAN_MS`], all blocks of
//! one gathering in one transaction. A request or capability call pays for
//! a channel send; the store sees one transaction per gathering instead of
//! one write per record, which is what keeps a busy host's audit cost
//! small.
//!
//! Table `audit`: `(app_id, time UTC ms, seq)` → block, where time is that
//! of the block's oldest record and seq a store-wide id.
//!
//! Each app's records form a hash chain ([`chain`]): the writer gives each
//! record its place and hash as it writes it, and keeps the app's head in
//! table `audit_heads` in the same transaction; [`chain::verify`] (and
//! `cityhost audit verify`) finds a record changed, deleted or moved.
//!
//! Appending never waits: the channel is unbounded, so a request (on a
//! tokio worker) never blocks on the writer and no record is dropped; when
//! the writer falls behind, the backlog is memory (about 200 bytes a
//! record) and the writer takes at most [`BATCH`] records per round. Reads
//! ([`AuditLog::list`]) and [`AuditLog::flush`] first wait for every record appended before them to
//! be in the table. Durability is the store's: records reach disk with its
//! next flush, as every other table's writes do, [`GATHER`] later at most
//! than if they were written at once.

pub mod chain;
mod pending;
mod queue;

pub use pending::{ABANDONED, Pending};
pub use queue::BACKLOG_WARN;
use queue::{Receiver, Sender, channel};

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use cityhost_store::{Db, Scan, StoreError};
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use crate::error::{ServiceError, ServiceResult};
use chain::ChainHead;
use tables::{AUDIT, AUDIT_HEADS};

/// The audit table.
pub(crate) mod tables {
    use cityhost_store::Table;

    use super::AuditRecord;
    use super::chain::ChainHead;

    /// `(app_id, time of the block's oldest record UTC ms, seq)` → block of
    /// records, oldest first.
    pub(crate) const AUDIT: Table<(String, u64, u64), Vec<AuditRecord>> = Table::new("audit");
    /// `app_id` → the head of the app's hash chain (`audit::chain`).
    pub(crate) const AUDIT_HEADS: Table<String, ChainHead> = Table::new("audit_heads");
}

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
    /// What a call adds to its record, as `(name, value)` pairs: for
    /// `http.send` the origin, method, status and byte counts. Never
    /// bodies, query strings or personal data; empty for most calls (and
    /// then absent from the JSON and from the chain's hash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<(String, String)>,
    /// Place in the app's hash chain, from 1; set by the writer (0 until
    /// written, and in records written before the chain).
    #[serde(default)]
    pub seq: u64,
    /// SHA-256 (hex) linking this record to the one before in the chain
    /// ([`chain::link`]); set by the writer.
    #[serde(default)]
    pub hash: String,
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

/// Blocks read per scan of a listing (at most 8,192 records).
const LIST_PAGE_BLOCKS: usize = 16;

/// The audit log.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
    /// Declared before `_writer`: the last log drops its sender first, which
    /// closes the queue, and then joins the thread.
    queue: Sender<Message>,
    _writer: Arc<Writer>,
    /// Told of each record as it is appended ([`AuditLog::tap`]).
    tap: Arc<OnceLock<Tap>>,
}

/// What [`AuditLog::tap`] calls with each appended record, on the
/// appending thread: it must be quick and never block (count, not write).
pub type Tap = Box<dyn Fn(&AuditRecord) + Send + Sync>;

/// What the writer thread is sent.
enum Message {
    /// A record to write.
    Record(AuditRecord),
    /// Answer once everything sent before is in the table.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The writer thread; dropping the last [`AuditLog`] closes its queue, so
/// the thread writes what is queued and ends, and waits for it (bounded,
/// see the `Drop` impl).
struct Writer {
    thread: Option<JoinHandle<()>>,
    /// Disconnected when the thread ends (it holds the sender).
    exited: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}

/// How long dropping the last [`AuditLog`] waits for its writer thread.
pub const WRITER_EXIT_WAIT: Duration = Duration::from_secs(5);

impl AuditLog {
    /// Starts the log over `db`: its writer thread writes through the
    /// seam, on the Tokio runtime this is called from. Errors: called
    /// outside a Tokio runtime, or the thread cannot be started.
    pub fn open(db: Db) -> ServiceResult<Self> {
        let runtime = Handle::try_current()
            .map_err(|e| ServiceError::Unavailable(format!("audit writer: {e}")))?;
        let (queue, received) = channel();
        let writer_db = db.clone();
        let (running, exited) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("cityhost-audit".into())
            .spawn(move || {
                let _running = running;
                write_blocks(&runtime, &writer_db, &received)
            })
            .map_err(|e| ServiceError::Unavailable(format!("audit writer: {e}")))?;
        Ok(Self {
            db,
            queue,
            _writer: Arc::new(Writer {
                thread: Some(thread),
                exited: std::sync::Mutex::new(exited),
            }),
            tap: Arc::default(),
        })
    }

    /// Has `tap` told of every record appended from now on, by this log
    /// and its clones (the host's metrics count calls and requests from
    /// the same records the audit keeps). One tap per log: `false`, and
    /// `tap` dropped, if one is set already.
    pub fn tap(&self, tap: Tap) -> bool {
        self.tap.set(tap).is_ok()
    }

    /// Appends a record: queued for the writer, never waiting (see the
    /// module docs).
    pub fn append(&self, record: AuditRecord) -> ServiceResult<()> {
        if let Some(tap) = self.tap.get() {
            tap(&record);
        }
        self.send(Message::Record(record))
    }

    /// Waits until every record appended before this call is in the table.
    pub async fn flush(&self) -> ServiceResult<()> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.send(Message::Flush(done))?;
        wait.await.map_err(|_| writer_gone())?;
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

    /// The head of `app`'s chain once every record appended before this call
    /// is written (seq 0 and the genesis hash for an app without records).
    pub async fn head(&self, app: &str) -> ServiceResult<ChainHead> {
        self.flush().await?;
        Ok(self.db.get(&AUDIT_HEADS, app).await?.unwrap_or_default())
    }

    /// Records of `app` with `from_ms <= time < to_ms`, oldest first, at most
    /// `limit`.
    pub async fn list(
        &self,
        app: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> ServiceResult<Vec<AuditRecord>> {
        self.flush().await?;
        if limit == 0 || from_ms >= to_ms {
            return Ok(Vec::new());
        }
        let end = (app, to_ms, 0);
        let mut next = (app.to_string(), from_ms.saturating_sub(BLOCK_SPAN_MS), 0);
        let mut out: Vec<AuditRecord> = Vec::new();
        'pages: loop {
            let page = Scan::range(&next, end).limit(LIST_PAGE_BLOCKS);
            let blocks = self.db.scan(&AUDIT, page).await?;
            let last_page = blocks.len() < LIST_PAGE_BLOCKS;
            for ((_, time, seq), block) in blocks {
                // Blocks come in order of their oldest record: once `limit`
                // records are held, a block whose oldest is newer than the
                // newest held cannot contribute.
                if out.len() >= limit
                    && let (Some(oldest), Some(newest)) = (block.first(), out.last())
                    && oldest.time > newest.time
                {
                    break 'pages;
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
                next = match seq.checked_add(1) {
                    Some(seq) => (app.to_string(), time, seq),
                    None => (app.to_string(), time.saturating_add(1), 0),
                };
            }
            if last_page {
                break;
            }
        }
        out.sort_by_key(|r| r.time);
        out.truncate(limit);
        Ok(out)
    }
}

impl Drop for Writer {
    /// Waits up to [`WRITER_EXIT_WAIT`] for the thread to write what is
    /// queued and end. It writes through the runtime the log was opened on
    /// (a PostgreSQL store's connections are that runtime's tasks), so a
    /// worker of that runtime dropping the last log while the runtime
    /// shuts down would otherwise wait forever; past the wait the thread is
    /// left to finish on its own and the host goes on stopping (callers
    /// that need every record written call [`AuditLog::flush`] first).
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let exited = self.exited.lock().unwrap_or_else(|e| e.into_inner());
        match exited.recv_timeout(WRITER_EXIT_WAIT) {
            Err(RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
            }
            _ => tracing::warn!("the audit writer is still writing; not waiting for it"),
        }
    }
}

fn writer_gone() -> ServiceError {
    StoreError::Backend("the audit writer has stopped".into()).into()
}

/// The writer thread: after the first record of a quiet spell it sleeps
/// [`GATHER`] (not when asked to flush), takes everything queued, writes it
/// as blocks in one transaction through `runtime` (the thread is outside
/// the runtime, so it may wait for it) and answers flushes; until the queue
/// closes.
fn write_blocks(runtime: &Handle, db: &Db, received: &Receiver<Message>) {
    // Each app's chain head as last written (loaded on first use).
    let mut heads: HashMap<String, ChainHead> = HashMap::new();
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
        for app_records in records.values_mut() {
            app_records.sort_by_key(|r| r.time);
        }
        match runtime.block_on(write(db, &mut heads, &mut records)) {
            Ok(()) => {}
            Err(e) => {
                // The heads may have moved past what was written: read
                // them again before the next write.
                heads.clear();
                let count: usize = records.values().map(Vec::len).sum();
                tracing::error!(error = %e, records = count, "audit records not written");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Chains each app's records (sorted by time) onto its head and writes
/// them as [`blocks`], with the new heads, all in one transaction.
async fn write(
    db: &Db,
    heads: &mut HashMap<String, ChainHead>,
    records: &mut BTreeMap<String, Vec<AuditRecord>>,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    for (app, app_records) in records.iter_mut() {
        if !heads.contains_key(app) {
            let head = db.get(&AUDIT_HEADS, app).await?.unwrap_or_default();
            heads.insert(app.clone(), head);
        }
        let head = heads.get_mut(app).expect("just inserted");
        for record in app_records.iter_mut() {
            head.extend(record);
        }
    }
    let records = &*records;
    let new_heads: Vec<(&String, &ChainHead)> =
        records.keys().map(|app| (app, &heads[app])).collect();
    // Ids are taken before the transaction: a retried transaction writes
    // the same keys.
    let mut keyed = Vec::new();
    for (app, app_records) in records {
        for block in blocks(app_records) {
            keyed.push(((app.as_str(), block[0].time, db.next_id().await?), block));
        }
    }
    db.transact(|tx| {
        let (keyed, new_heads) = (&keyed, &new_heads);
        async move {
            for (key, block) in keyed {
                tx.put(&AUDIT, key, &block.to_vec()).await?;
            }
            for (app, head) in new_heads {
                tx.put(&AUDIT_HEADS, *app, *head).await?;
            }
            Ok(())
        }
    })
    .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    fn record(app: &str, time: u64) -> AuditRecord {
        AuditRecord {
            time,
            app: app.into(),
            release: "1.0.0".into(),
            openid: None,
            capability: "request".into(),
            outcome: "200".into(),
            duration_us: 1,
            detail: Vec::new(),
            seq: 0,
            hash: String::new(),
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn list_filters_by_app_and_time_oldest_first_across_blocks() {
        let (_dir, db) = temp_db();
        let log = AuditLog::open(db).unwrap();
        // Out of order, two apps, spread over several blocks and flushes.
        for i in (0..3_000u64).rev() {
            log.append(record("a", 1_000_000 + i * 3)).unwrap();
            if i % 1_000 == 0 {
                log.flush().await.unwrap();
            }
        }
        log.append(record("b", 1_000_500)).unwrap();
        let all = log.list("a", 0, u64::MAX, usize::MAX).await.unwrap();
        assert_eq!(all.len(), 3_000);
        assert!(all.windows(2).all(|w| w[0].time <= w[1].time));
        let window = log.list("a", 1_000_300, 1_000_600, 1_000).await.unwrap();
        assert_eq!(window.len(), 100);
        assert_eq!(window[0].time, 1_000_300);
        assert_eq!(window[99].time, 1_000_597);
        let first = log.list("a", 1_000_000, u64::MAX, 10).await.unwrap();
        let times: Vec<_> = first.iter().map(|r| r.time).collect();
        assert_eq!(
            times,
            (0..10).map(|i| 1_000_000 + i * 3).collect::<Vec<_>>()
        );
        let last = log.list("a", 1_008_990, u64::MAX, 1_000).await.unwrap();
        let times: Vec<_> = last.iter().map(|r| r.time).collect();
        assert_eq!(times, [1_008_991, 1_008_994, 1_008_997]);
        assert_eq!(log.list("b", 0, u64::MAX, 10).await.unwrap().len(), 1);
        assert!(log.list("a", 0, u64::MAX, 0).await.unwrap().is_empty());
        assert!(log.list("a", 5, 5, 10).await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_listing_reads_page_after_page_of_blocks() {
        let (_dir, db) = temp_db();
        let log = AuditLog::open(db.clone()).unwrap();
        // Records 2 s apart: one block each, three pages and more.
        let count = 3 * LIST_PAGE_BLOCKS as u64 + 5;
        for i in 0..count {
            log.append(record("a", 100_000 + i * 2_000)).unwrap();
        }
        log.append(record("b", 100_000)).unwrap();
        log.flush().await.unwrap();
        let blocks = db.scan(&AUDIT, Scan::prefix(("a",))).await.unwrap();
        assert_eq!(blocks.len() as u64, count);
        let times = async |from: u64, to: u64, limit: usize| -> Vec<u64> {
            let records = log.list("a", from, to, limit).await.unwrap();
            records.iter().map(|r| r.time).collect()
        };
        let all: Vec<u64> = (0..count).map(|i| 100_000 + i * 2_000).collect();
        assert_eq!(times(0, u64::MAX, usize::MAX).await, all);
        assert_eq!(times(0, u64::MAX, 3).await, all[..3]);
        // A window that starts and ends in later pages.
        let (from, to) = (all[20], all[40]);
        assert_eq!(times(from, to, 1_000).await, all[20..40]);
        assert_eq!(times(from + 1, to + 1, 5).await, all[21..26]);
        assert!(
            times(all[count as usize - 1] + 1, u64::MAX, 10)
                .await
                .is_empty()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tap_hears_every_record_its_log_and_clones_append_and_only_one_tap_is_set() {
        let (_dir, db) = temp_db();
        let log = AuditLog::open(db).unwrap();
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = Arc::clone(&heard);
        assert!(log.tap(Box::new(move |r| {
            into.lock().unwrap().push(r.time);
        })));
        assert!(!log.tap(Box::new(|_| panic!("a second tap"))));
        log.append(record("a", 1)).unwrap();
        log.clone().append(record("b", 2)).unwrap();
        assert_eq!(*heard.lock().unwrap(), [1, 2]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_queued_at_shutdown_are_written() {
        let (_dir, db) = temp_db();
        let log = AuditLog::open(db.clone()).unwrap();
        for i in 0..100 {
            log.append(record("a", 7_000 + i)).unwrap();
        }
        // Dropping the last log joins its writer: off the runtime's own
        // threads, as a host that stops does.
        tokio::task::spawn_blocking(move || drop(log))
            .await
            .unwrap();
        let log = AuditLog::open(db).unwrap();
        assert_eq!(log.list("a", 0, u64::MAX, 1_000).await.unwrap().len(), 100);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_apps_records_chain_across_writes_and_restarts_and_tampering_shows() {
        let (_dir, db) = temp_db();
        let log = AuditLog::open(db.clone()).unwrap();
        for i in 0..700 {
            log.append(record("a", 50_000 + i)).unwrap();
            log.append(record("b", 50_000 + i)).unwrap();
            if i % 300 == 0 {
                log.flush().await.unwrap();
            }
        }
        log.flush().await.unwrap();
        tokio::task::spawn_blocking(move || drop(log))
            .await
            .unwrap();
        // A restarted writer carries on from the stored head.
        let log = AuditLog::open(db.clone()).unwrap();
        log.append(record("a", 60_000)).unwrap();
        let all = log.list("a", 0, u64::MAX, usize::MAX).await.unwrap();
        let verified = chain::verify(all).unwrap();
        assert_eq!((verified.first, verified.last), (1, 701));
        let head = db.get(&AUDIT_HEADS, "a").await.unwrap().unwrap();
        assert_eq!((head.seq, &head.hash), (701, &verified.head));
        assert_eq!(
            chain::verify(log.list("b", 0, u64::MAX, usize::MAX).await.unwrap())
                .unwrap()
                .last,
            700
        );

        // Someone with the store changes one record's outcome.
        let blocks = db.scan(&AUDIT, Scan::prefix(("a",))).await.unwrap();
        let (key, mut block) = blocks[1].clone();
        block[3].outcome = "ok".into();
        db.put(&AUDIT, &key, &block).await.unwrap();
        let all = log.list("a", 0, u64::MAX, usize::MAX).await.unwrap();
        assert!(matches!(
            chain::verify(all),
            Err(chain::ChainBreak::Changed(_))
        ));
    }
}
