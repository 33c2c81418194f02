//! Citizens' inboxes: messages stored with app, template, rendered text,
//! time and read state, surviving restarts; newest first in pages; an
//! unread counter kept beside them (no scan); and each message's delivery
//! status for the app that sent it.
//!
//! Tables (see `tables`):
//! - `INBOX`: `(citizen_id, seq)` → [`Message`]. `seq` is the citizen's own
//!   message counter, given out inside the storing transaction, so it grows
//!   in commit order without gaps; it is the live stream's event id.
//! - `INBOX_COUNTERS`: `citizen_id` → last `seq` and unread count.
//! - `INBOX_UNREAD`: `(citizen_id, seq)` → `()`, one per unread message
//!   (for "mark all read" without a scan of read ones).
//! - `DELIVERIES`: message number → [`Delivery`]. The number is store-wide
//!   (the `msg_` id the app is given) and outlives a deleted message, so the
//!   app can still ask how far it got.
//!
//! Every change to a message and its counters is one transaction.

use cityhost_store::{Db, Scan, StoreError, Tx, now_ms};
use serde::{Deserialize, Serialize};

use super::tables::{DELIVERIES, INBOX, INBOX_COUNTERS, INBOX_UNREAD};
use crate::error::{ServiceError, ServiceResult};

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
pub(crate) struct Counters {
    /// The last `seq` given out (0: none yet).
    last_seq: u64,
    /// Unread messages.
    unread: u64,
}

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
    db: Db,
}

fn parse_id(message_id: &str) -> Option<u64> {
    message_id.strip_prefix("msg_")?.parse().ok()
}

impl Inbox {
    /// The inboxes in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The citizen's newest `seq` (0 when the inbox has never held a
    /// message).
    pub async fn latest_seq(&self, citizen_id: &str) -> ServiceResult<u64> {
        Ok(self.counters_of(citizen_id).await?.last_seq)
    }

    /// Number of unread messages (a stored counter, not a scan).
    pub async fn unread(&self, citizen_id: &str) -> ServiceResult<u64> {
        Ok(self.counters_of(citizen_id).await?.unread)
    }

    async fn counters_of(&self, citizen_id: &str) -> ServiceResult<Counters> {
        Ok(self
            .db
            .get(&INBOX_COUNTERS, citizen_id)
            .await?
            .unwrap_or_default())
    }

    /// The citizen's messages older than `before` (a `seq`; `None` for the
    /// newest), newest first, at most `limit` (1-[`MAX_PAGE`]).
    pub async fn page(
        &self,
        citizen_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> ServiceResult<Page> {
        let limit = limit.clamp(1, MAX_PAGE);
        let scan = match before {
            None => Scan::prefix((citizen_id,)),
            Some(before) => Scan::prefix_before((citizen_id,), (citizen_id, before)),
        };
        // One more than asked, to know whether an older page follows.
        let mut messages: Vec<Message> = self
            .db
            .scan(&INBOX, scan.rev().limit(limit + 1))
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        let more = messages.len() > limit;
        messages.truncate(limit);
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
    pub async fn since(
        &self,
        citizen_id: &str,
        after: u64,
        limit: usize,
    ) -> ServiceResult<Vec<Message>> {
        let scan = Scan::prefix_after((citizen_id,), (citizen_id, after)).limit(limit);
        Ok(self
            .db
            .scan(&INBOX, scan)
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }

    /// Stores a message inside a send's transaction: next `seq`, unread
    /// counter and index, delivery record. Returns the message and the
    /// unread count after it.
    pub(super) async fn insert(
        tx: &Tx,
        citizen_id: &str,
        new: &NewMessage,
    ) -> Result<(Message, u64), StoreError> {
        let mut c = counters_in(tx, citizen_id).await?;
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
        let key = (citizen_id, c.last_seq);
        tx.put(&INBOX_COUNTERS, citizen_id, &c).await?;
        tx.put(&INBOX, key, &message).await?;
        tx.put(&INBOX_UNREAD, key, &()).await?;
        tx.put(&DELIVERIES, new.number, &delivery).await?;
        Ok((message, c.unread))
    }

    /// The `seq` of the citizen's message `message_id`, or `NotFound`.
    async fn seq_of(&self, citizen_id: &str, message_id: &str) -> ServiceResult<u64> {
        let number = parse_id(message_id).ok_or(ServiceError::NotFound("message"))?;
        match self.db.get(&DELIVERIES, number).await? {
            Some(d) if d.citizen_id == citizen_id => Ok(d.seq),
            _ => Err(ServiceError::NotFound("message")),
        }
    }

    /// Marks a message read; returns it and the unread count. `NotFound`
    /// if it is not in this citizen's inbox.
    pub async fn mark_read(
        &self,
        citizen_id: &str,
        message_id: &str,
    ) -> ServiceResult<(Message, u64)> {
        let seq = self.seq_of(citizen_id, message_id).await?;
        let now = now_ms();
        self.db
            .transact(|tx| async move {
                let (message, _) = read_one(&tx, citizen_id, seq, now)
                    .await?
                    .ok_or(ServiceError::NotFound("message"))?;
                Ok((message, counters_in(&tx, citizen_id).await?.unread))
            })
            .await
    }

    /// Marks every message read; returns how many were unread.
    pub async fn mark_all_read(&self, citizen_id: &str) -> ServiceResult<u64> {
        let now = now_ms();
        self.db
            .transact(|tx| async move {
                let unread = tx.scan(&INBOX_UNREAD, Scan::prefix((citizen_id,))).await?;
                let mut marked = 0;
                for ((_, seq), ()) in unread {
                    if let Some((_, true)) = read_one(&tx, citizen_id, seq, now).await? {
                        marked += 1;
                    }
                }
                Ok::<_, ServiceError>(marked)
            })
            .await
    }

    /// Deletes a message from the citizen's inbox; returns the unread
    /// count. The app still sees the delivery status it reached.
    pub async fn delete(&self, citizen_id: &str, message_id: &str) -> ServiceResult<u64> {
        let seq = self.seq_of(citizen_id, message_id).await?;
        self.db
            .transact(|tx| async move {
                let key = (citizen_id, seq);
                if !tx.contains(&INBOX, key).await? {
                    return Err(ServiceError::NotFound("message"));
                }
                tx.delete(&INBOX, key).await?;
                let mut c = counters_in(&tx, citizen_id).await?;
                if tx.contains(&INBOX_UNREAD, key).await? {
                    tx.delete(&INBOX_UNREAD, key).await?;
                    c.unread = c.unread.saturating_sub(1);
                    tx.put(&INBOX_COUNTERS, citizen_id, &c).await?;
                }
                Ok(c.unread)
            })
            .await
    }

    /// The delivery status of message `message_id` if `app_id` sent it.
    pub async fn delivery(
        &self,
        app_id: &str,
        message_id: &str,
    ) -> ServiceResult<Option<Delivery>> {
        let Some(number) = parse_id(message_id) else {
            return Ok(None);
        };
        Ok(self
            .db
            .get(&DELIVERIES, number)
            .await?
            .filter(|d| d.app_id == app_id))
    }

    /// Records that message `number` reached an open shell (first time only).
    pub async fn mark_pushed(&self, number: u64) -> ServiceResult<()> {
        // Every open stream of the citizen reports the same message: only
        // the first one writes.
        match self.db.get(&DELIVERIES, number).await? {
            Some(d) if d.pushed_at.is_none() => {}
            _ => return Ok(()),
        }
        let now = now_ms();
        self.db
            .transact(|tx| async move {
                if let Some(mut d) = tx.get(&DELIVERIES, number).await?
                    && d.pushed_at.is_none()
                {
                    d.pushed_at = Some(now);
                    tx.put(&DELIVERIES, number, &d).await?;
                }
                Ok::<_, ServiceError>(())
            })
            .await
    }
}

/// The citizen's counters inside a transaction.
async fn counters_in(tx: &Tx, citizen_id: &str) -> Result<Counters, StoreError> {
    Ok(tx
        .get(&INBOX_COUNTERS, citizen_id)
        .await?
        .unwrap_or_default())
}

/// Marks one message read inside a transaction (a no-op if it already
/// is); `None` if it does not exist, else the message and whether this
/// call marked it.
async fn read_one(
    tx: &Tx,
    citizen_id: &str,
    seq: u64,
    now: u64,
) -> Result<Option<(Message, bool)>, StoreError> {
    let key = (citizen_id, seq);
    let Some(mut message) = tx.get(&INBOX, key).await? else {
        return Ok(None);
    };
    if message.read {
        return Ok(Some((message, false)));
    }
    message.read = true;
    message.read_at = Some(now);
    tx.put(&INBOX, key, &message).await?;
    if tx.contains(&INBOX_UNREAD, key).await? {
        tx.delete(&INBOX_UNREAD, key).await?;
        let mut c = counters_in(tx, citizen_id).await?;
        c.unread = c.unread.saturating_sub(1);
        tx.put(&INBOX_COUNTERS, citizen_id, &c).await?;
    }
    if let Some(number) = message.number()
        && let Some(mut d) = tx.get(&DELIVERIES, number).await?
    {
        d.read_at = Some(now);
        tx.put(&DELIVERIES, number, &d).await?;
    }
    Ok(Some((message, true)))
}
