//! Citizens' inboxes: messages stored with app, template, rendered text,
//! time and read state, surviving restarts; newest first in pages; an
//! unread counter kept beside them (no scan); and each message's delivery
//! status for the app that sent it.
//!
//! Trees and keys:
//! - `inbox`: `citizen_id \0 seq (u64 BE)` → [`Message`] (JSON). `seq` is
//!   the citizen's own message counter, given out inside the storing
//!   transaction, so it grows in commit order; it is the live stream's
//!   event id. A reverse scan is newest first.
//! - `inbox_counters`: `citizen_id` → last `seq` and unread count (JSON).
//! - `inbox_unread`: `citizen_id \0 seq` → empty, one per unread message
//!   (for "mark all read" without a scan of read ones).
//! - `deliveries`: message number (u64 BE) → [`Delivery`] (JSON). The
//!   number is store-wide (the `msg_` id the app is given) and outlives a
//!   deleted message, so the app can still ask how far it got.
//!
//! Every change to a message and its counters is one sled transaction.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, StoreError, key, now_ms, trees};

/// Most messages one page holds.
pub const MAX_PAGE: usize = 100;

/// A message in a citizen's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `msg_` + the store-wide message number; what the app was given.
    pub id: String,
    /// The citizen's own sequence number: newest is highest; the live
    /// stream's event id.
    #[serde(default)]
    pub seq: u64,
    /// The app that sent it.
    pub app_id: String,
    /// The template it was made from.
    #[serde(default)]
    pub template: String,
    /// Title, 1-64 characters.
    pub title: String,
    /// The rendered body, 1-1024 characters.
    pub body: String,
    /// App path the entry opens, if any.
    pub link_path: Option<String>,
    /// Time stored, UTC ms.
    pub created_at: u64,
    /// Whether the citizen has read it.
    pub read: bool,
    /// When the citizen read it, UTC ms.
    #[serde(default)]
    pub read_at: Option<u64>,
}

impl Message {
    /// The store-wide message number (`msg_{number}`).
    pub fn number(&self) -> Option<u64> {
        parse_id(&self.id)
    }
}

/// How far a message got, as its sending app may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The sending app.
    pub app_id: String,
    /// The recipient (internal id; never given to an app).
    pub citizen_id: String,
    /// The message's `seq` in the recipient's inbox.
    pub seq: u64,
    /// Stored, UTC ms.
    pub stored_at: u64,
    /// First pushed to an open shell, UTC ms.
    pub pushed_at: Option<u64>,
    /// Read by the citizen, UTC ms.
    pub read_at: Option<u64>,
}

/// A message about to be stored.
#[derive(Debug, Clone)]
pub(super) struct NewMessage {
    pub(super) number: u64,
    pub(super) app_id: String,
    pub(super) template: String,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) link_path: Option<String>,
    pub(super) created_at: u64,
}

/// A citizen's counters.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Counters {
    last_seq: u64,
    unread: u64,
}

/// The four trees of the inbox, inside one transaction.
pub(super) type InboxTx<'a> = (
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
);

/// A page of messages, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The messages.
    pub messages: Vec<Message>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<u64>,
}

/// The inboxes.
#[derive(Clone)]
pub struct Inbox {
    messages: sled::Tree,
    counters: sled::Tree,
    unread: sled::Tree,
    deliveries: sled::Tree,
}

fn message_key(citizen_id: &str, seq: u64) -> Vec<u8> {
    key(&[citizen_id.as_bytes(), &seq.to_be_bytes()])
}

fn parse_id(message_id: &str) -> Option<u64> {
    message_id.strip_prefix("msg_")?.parse().ok()
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    Ok(serde_json::from_slice(bytes)?)
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("inbox records serialise")
}

/// A transaction's error as a service error.
pub(super) fn tx_error(e: TransactionError<ServiceError>) -> ServiceError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    }
}

/// An undecodable record inside a transaction aborts it.
fn abort_decode(e: StoreError) -> ConflictableTransactionError<ServiceError> {
    ConflictableTransactionError::Abort(ServiceError::Store(e))
}

impl Inbox {
    /// Opens the inbox trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            messages: store.tree(trees::INBOX)?,
            counters: store.tree(trees::INBOX_COUNTERS)?,
            unread: store.tree(trees::INBOX_UNREAD)?,
            deliveries: store.tree(trees::DELIVERIES)?,
        })
    }

    /// The trees a send's transaction writes.
    pub(super) fn trees(&self) -> (&sled::Tree, &sled::Tree, &sled::Tree, &sled::Tree) {
        (
            &self.messages,
            &self.counters,
            &self.unread,
            &self.deliveries,
        )
    }

    /// The citizen's newest `seq` (0 when the inbox has never held a
    /// message).
    pub fn latest_seq(&self, citizen_id: &str) -> ServiceResult<u64> {
        Ok(self.counters_of(citizen_id)?.last_seq)
    }

    /// Number of unread messages (a stored counter, not a scan).
    pub fn unread(&self, citizen_id: &str) -> ServiceResult<u64> {
        Ok(self.counters_of(citizen_id)?.unread)
    }

    fn counters_of(&self, citizen_id: &str) -> ServiceResult<Counters> {
        Ok(store::get_json(&self.counters, citizen_id)?.unwrap_or_default())
    }

    /// The citizen's messages older than `before` (a `seq`; `None` for the
    /// newest), newest first, at most `limit` (1-[`MAX_PAGE`]).
    pub fn page(&self, citizen_id: &str, before: Option<u64>, limit: usize) -> ServiceResult<Page> {
        let limit = limit.clamp(1, MAX_PAGE);
        let start = message_key(citizen_id, 0);
        let end = message_key(citizen_id, before.unwrap_or(u64::MAX));
        let mut messages = Vec::with_capacity(limit);
        let mut more = false;
        for entry in self.messages.range(start..end).rev() {
            let (_, value) = entry?;
            if messages.len() == limit {
                more = true;
                break;
            }
            messages.push(decode::<Message>(&value)?);
        }
        let next_cursor = if more {
            messages.last().map(|m| m.seq)
        } else {
            None
        };
        Ok(Page {
            messages,
            next_cursor,
        })
    }

    /// The citizen's messages with `seq` greater than `after`, oldest first,
    /// at most `limit` (what a reconnecting live stream missed).
    pub fn since(&self, citizen_id: &str, after: u64, limit: usize) -> ServiceResult<Vec<Message>> {
        let start = message_key(citizen_id, after.saturating_add(1));
        let end = message_key(citizen_id, u64::MAX);
        self.messages
            .range(start..end)
            .values()
            .take(limit)
            .map(|v| Ok(decode(&v?)?))
            .collect()
    }

    /// Stores a message inside a send's transaction: next `seq`, unread
    /// counter and index, delivery record. Returns the message and the
    /// unread count after it.
    pub(super) fn insert(
        (messages, counters, unread, deliveries): InboxTx<'_>,
        citizen_id: &str,
        new: &NewMessage,
    ) -> Result<(Message, u64), UnabortableTransactionError> {
        let mut c: Counters = counters
            .get(citizen_id)?
            .and_then(|v| serde_json::from_slice(&v).ok())
            .unwrap_or_default();
        c.last_seq += 1;
        c.unread += 1;
        let message = Message {
            id: format!("msg_{}", new.number),
            seq: c.last_seq,
            app_id: new.app_id.clone(),
            template: new.template.clone(),
            title: new.title.clone(),
            body: new.body.clone(),
            link_path: new.link_path.clone(),
            created_at: new.created_at,
            read: false,
            read_at: None,
        };
        let delivery = Delivery {
            app_id: new.app_id.clone(),
            citizen_id: citizen_id.to_string(),
            seq: c.last_seq,
            stored_at: new.created_at,
            pushed_at: None,
            read_at: None,
        };
        counters.insert(citizen_id.as_bytes(), json(&c))?;
        messages.insert(message_key(citizen_id, c.last_seq), json(&message))?;
        unread.insert(message_key(citizen_id, c.last_seq), &[][..])?;
        deliveries.insert(&new.number.to_be_bytes(), json(&delivery))?;
        Ok((message, c.unread))
    }

    /// The `seq` of the citizen's message `message_id`, or `NotFound`.
    fn seq_of(&self, citizen_id: &str, message_id: &str) -> ServiceResult<u64> {
        let number = parse_id(message_id).ok_or(ServiceError::NotFound("message"))?;
        match store::get_json::<Delivery>(&self.deliveries, number.to_be_bytes())? {
            Some(d) if d.citizen_id == citizen_id => Ok(d.seq),
            _ => Err(ServiceError::NotFound("message")),
        }
    }

    /// Marks a message read; returns it and the unread count. `NotFound`
    /// if it is not in this citizen's inbox.
    pub fn mark_read(&self, citizen_id: &str, message_id: &str) -> ServiceResult<(Message, u64)> {
        let seq = self.seq_of(citizen_id, message_id)?;
        let now = now_ms();
        self.tx(|t| {
            let message = read_one(t, citizen_id, seq, now)?.ok_or(
                ConflictableTransactionError::Abort(ServiceError::NotFound("message")),
            )?;
            Ok((message, counters_in(t.1, citizen_id)?.unread))
        })
    }

    /// Marks every message read; returns how many were unread.
    pub fn mark_all_read(&self, citizen_id: &str) -> ServiceResult<u64> {
        let seqs: Vec<u64> = self
            .unread
            .scan_prefix(key(&[citizen_id.as_bytes(), b""]))
            .keys()
            .filter_map(|k| {
                let k = k.ok()?;
                Some(u64::from_be_bytes(k[k.len() - 8..].try_into().ok()?))
            })
            .collect();
        let now = now_ms();
        self.tx(|t| {
            let mut marked = 0;
            for &seq in &seqs {
                if read_one(t, citizen_id, seq, now)?.is_some_and(|m| m.read_at == Some(now)) {
                    marked += 1;
                }
            }
            Ok(marked)
        })
    }

    /// Deletes a message from the citizen's inbox; returns the unread
    /// count. The app still sees the delivery status it reached.
    pub fn delete(&self, citizen_id: &str, message_id: &str) -> ServiceResult<u64> {
        let seq = self.seq_of(citizen_id, message_id)?;
        self.tx(|(messages, counters, unread, _)| {
            let k = message_key(citizen_id, seq);
            if messages.remove(k.clone())?.is_none() {
                return Err(ConflictableTransactionError::Abort(ServiceError::NotFound(
                    "message",
                )));
            }
            let mut c = counters_in(counters, citizen_id)?;
            if unread.remove(k)?.is_some() {
                c.unread = c.unread.saturating_sub(1);
                counters.insert(citizen_id.as_bytes(), json(&c))?;
            }
            Ok(c.unread)
        })
    }

    /// The delivery status of message `message_id` if `app_id` sent it.
    pub fn delivery(&self, app_id: &str, message_id: &str) -> ServiceResult<Option<Delivery>> {
        let Some(number) = parse_id(message_id) else {
            return Ok(None);
        };
        Ok(
            store::get_json::<Delivery>(&self.deliveries, number.to_be_bytes())?
                .filter(|d| d.app_id == app_id),
        )
    }

    /// Records that message `number` reached an open shell (first time only).
    pub fn mark_pushed(&self, number: u64) -> ServiceResult<()> {
        let now = now_ms();
        self.deliveries
            .fetch_and_update(number.to_be_bytes(), |old| {
                let bytes = old?;
                let mut d: Delivery = serde_json::from_slice(bytes).ok()?;
                if d.pushed_at.is_some() {
                    return Some(bytes.to_vec());
                }
                d.pushed_at = Some(now);
                Some(json(&d))
            })?;
        Ok(())
    }

    fn tx<T>(
        &self,
        f: impl Fn(InboxTx<'_>) -> Result<T, ConflictableTransactionError<ServiceError>>,
    ) -> ServiceResult<T> {
        (
            &self.messages,
            &self.counters,
            &self.unread,
            &self.deliveries,
        )
            .transaction(|(a, b, c, d)| f((a, b, c, d)))
            .map_err(tx_error)
    }
}

fn counters_in(
    counters: &TransactionalTree,
    citizen_id: &str,
) -> Result<Counters, ConflictableTransactionError<ServiceError>> {
    match counters.get(citizen_id)? {
        Some(v) => decode(&v).map_err(abort_decode),
        None => Ok(Counters::default()),
    }
}

/// Marks one message read inside a transaction (a no-op if it already
/// is); `None` if it does not exist.
fn read_one(
    (messages, counters, unread, deliveries): InboxTx<'_>,
    citizen_id: &str,
    seq: u64,
    now: u64,
) -> Result<Option<Message>, ConflictableTransactionError<ServiceError>> {
    let k = message_key(citizen_id, seq);
    let Some(bytes) = messages.get(&k)? else {
        return Ok(None);
    };
    let mut message: Message = decode(&bytes).map_err(abort_decode)?;
    if message.read {
        return Ok(Some(message));
    }
    message.read = true;
    message.read_at = Some(now);
    messages.insert(k.clone(), json(&message))?;
    if unread.remove(k)?.is_some() {
        let mut c = counters_in(counters, citizen_id)?;
        c.unread = c.unread.saturating_sub(1);
        counters.insert(citizen_id.as_bytes(), json(&c))?;
    }
    if let Some(number) = message.number()
        && let Some(v) = deliveries.get(number.to_be_bytes())?
    {
        let mut d: Delivery = decode(&v).map_err(abort_decode)?;
        d.read_at = Some(now);
        deliveries.insert(&number.to_be_bytes(), json(&d))?;
    }
    Ok(Some(message))
}
