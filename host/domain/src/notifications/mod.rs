//! Notifications: apps reach citizens only with what the citizens agreed
//! to receive, and a message arrives in the open shell the moment it is
//! sent.
//!
//! - the templates are the manifest's `[notify]` section
//!   ([`crate::manifest::notify`]: declared, checked at load, filled at send);
//! - [`subscriptions`]: the citizen's one-time and long-term subscriptions;
//! - [`rate`]: per-app limits per citizen per day and per minute;
//! - [`inbox`]: stored messages, pages, unread counter, read state, delivery
//!   status;
//! - [`live`]: the hub that pushes news to open shells;
//! - [`channel`]: the [`Channel`](channel::Channel) trait and the inbox
//!   channel.
//!
//! - `tables`: where all of it is stored.
//!
//! [`Notifications::send`] ties them together: the template and parameters
//! are checked, then one transaction uses up a one-time subscription,
//! counts the message against the rate limits and stores it with its
//! unread counter and delivery record — all or nothing — and only once it
//! has committed is the message handed to the channels (the live push).

pub mod channel;
pub mod inbox;
pub mod live;
pub mod rate;
pub mod subscriptions;
pub(crate) mod tables;

use std::sync::Arc;

use cityhost_store::{Db, StoreError, now_ms};

use crate::error::{ServiceError, ServiceResult};
use crate::manifest::Manifest;
use crate::manifest::notify::TemplateKind;
use channel::{Channel, InboxChannel, Outcome};
use inbox::{Delivery, Inbox, Message, NewMessage};
use live::{LiveEvent, LiveHub};
use rate::{Exceeded, Limits, RateCaps};
use subscriptions::Subscriptions;

/// Why a message was not sent. Nothing was stored or counted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// A malformed argument; `field` is `template`, `params.{name}` or
    /// `link-path`.
    #[error("{field}: {reason}")]
    InvalidArgument {
        /// The field at fault.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The citizen has no live subscription to the template.
    #[error("the citizen has not subscribed to template `{0}`")]
    NotSubscribed(String),
    /// A `receipt` template outside the citizen's own payment event.
    #[error("{0}")]
    NotPermitted(String),
    /// A rate limit is reached.
    #[error("rate limit `{}` reached; retry in {} s", limit.name(), retry_after_ms.div_ceil(1000))]
    RateLimited {
        /// Which limit.
        limit: Exceeded,
        /// How long until it allows the next message, ms.
        retry_after_ms: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        SendError::Service(e.into())
    }
}

/// Why a message may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The citizen's subscription to the template (checked, and a one-time
    /// one used up).
    Subscription,
    /// The citizen's own order in this moment: the app is handling this
    /// citizen's `payment.succeeded` or `refund.succeeded` event and sends
    /// to them. Only
    /// `receipt` templates are sent on this basis; the capability layer
    /// allows one per event.
    OwnPayment,
}

/// A message to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The sending app's manifest (its templates and rate limits).
    pub app: &'a Manifest,
    /// The recipient.
    pub citizen_id: &'a str,
    /// Template id.
    pub template: &'a str,
    /// One value per placeholder.
    pub params: &'a [(String, String)],
    /// App path the inbox entry opens.
    pub link_path: Option<&'a str>,
    /// Why it may be sent.
    pub basis: Basis,
}

/// The notification service.
pub struct Notifications {
    db: Db,
    /// The inboxes.
    pub inbox: Inbox,
    /// The subscriptions.
    pub subscriptions: Subscriptions,
    live: Arc<LiveHub>,
    channels: Vec<Box<dyn Channel>>,
    caps: RateCaps,
}

impl Notifications {
    /// The service over `db`, with the inbox channel and the default rate
    /// caps.
    pub fn new(db: Db) -> Self {
        let live = Arc::new(LiveHub::relaying_to(&db));
        Self {
            inbox: Inbox::new(db.clone()),
            subscriptions: Subscriptions::new(db.clone()),
            db,
            channels: vec![Box::new(InboxChannel::new(live.clone()))],
            live,
            caps: RateCaps::default(),
        }
    }

    /// Sets the operator's rate caps (host configuration).
    pub fn set_caps(&mut self, caps: RateCaps) {
        self.caps = caps;
    }

    /// The operator's rate caps.
    pub fn caps(&self) -> RateCaps {
        self.caps
    }

    /// The live hub (open shells).
    pub fn live(&self) -> &LiveHub {
        &self.live
    }

    /// Sends a message (see the module docs). Returns the stored message
    /// and what each channel did with it.
    pub async fn send(&self, out: Outgoing<'_>) -> Result<(Arc<Message>, Vec<Outcome>), SendError> {
        let template =
            out.app
                .notify
                .template(out.template)
                .ok_or_else(|| SendError::InvalidArgument {
                    field: "template".into(),
                    reason: format!("the manifest declares no template `{}`", out.template),
                })?;
        match (template.kind, out.basis) {
            (TemplateKind::Receipt, Basis::OwnPayment) => {}
            (TemplateKind::Receipt, Basis::Subscription) => {
                return Err(SendError::NotPermitted(format!(
                    "`{}` is a receipt template: send it only to the current citizen while handling their payment.succeeded or refund.succeeded event",
                    template.id
                )));
            }
            (_, _) => {}
        }
        let body = template
            .render(out.params)
            .map_err(|e| SendError::InvalidArgument {
                field: e.field,
                reason: e.reason,
            })?;
        if let Some(path) = out.link_path
            && (!path.starts_with('/') || path.starts_with("//") || path.len() > 512)
        {
            return Err(SendError::InvalidArgument {
                field: "link-path".into(),
                reason: "use an app path starting with a single '/', at most 512 bytes".into(),
            });
        }
        let needs_subscription = template.kind != TemplateKind::Receipt;
        let limits = Limits::of(out.app, self.caps);
        let app_id = out.app.id.as_str();
        let new = NewMessage {
            number: self.db.next_id().await?,
            app_id: app_id.to_string(),
            template: template.id.clone(),
            title: template.title.clone(),
            body,
            link_path: out.link_path.map(str::to_string),
            created_at: now_ms(),
        };
        let (citizen_id, template_id, new) = (out.citizen_id, template.id.as_str(), &new);
        let (message, unread) = self
            .db
            .transact(|tx| async move {
                if needs_subscription
                    && !subscriptions::take(&tx, citizen_id, app_id, template_id).await?
                {
                    return Err(SendError::NotSubscribed(template_id.to_string()));
                }
                if let Err((limit, retry_after_ms)) =
                    rate::charge(&tx, app_id, citizen_id, limits, new.created_at).await?
                {
                    return Err(SendError::RateLimited {
                        limit,
                        retry_after_ms,
                    });
                }
                Ok(Inbox::insert(&tx, citizen_id, new).await?)
            })
            .await?;
        // Committed: only now may the shells hear of it.
        let message = Arc::new(message);
        let outcomes = self
            .channels
            .iter()
            .map(|channel| {
                let outcome = channel.deliver(out.citizen_id, &message, unread);
                tracing::debug!(channel = channel.name(), ?outcome, id = %message.id, "message handed to channel");
                outcome
            })
            .collect();
        Ok((message, outcomes))
    }

    /// Marks a message read and tells the citizen's open shells the new
    /// unread count.
    pub async fn mark_read(&self, citizen_id: &str, message_id: &str) -> ServiceResult<Message> {
        let (message, unread) = self.inbox.mark_read(citizen_id, message_id).await?;
        self.live.publish(citizen_id, LiveEvent::Unread(unread));
        Ok(message)
    }

    /// Marks every message read; returns how many were unread.
    pub async fn mark_all_read(&self, citizen_id: &str) -> ServiceResult<u64> {
        let marked = self.inbox.mark_all_read(citizen_id).await?;
        let unread = self.inbox.unread(citizen_id).await?;
        self.live.publish(citizen_id, LiveEvent::Unread(unread));
        Ok(marked)
    }

    /// Deletes a message; returns the unread count.
    pub async fn delete(&self, citizen_id: &str, message_id: &str) -> ServiceResult<u64> {
        let unread = self.inbox.delete(citizen_id, message_id).await?;
        self.live.publish(citizen_id, LiveEvent::Unread(unread));
        Ok(unread)
    }

    /// The delivery status of `message_id` if `app_id` sent it.
    pub async fn delivery(
        &self,
        app_id: &str,
        message_id: &str,
    ) -> ServiceResult<Option<Delivery>> {
        self.inbox.delivery(app_id, message_id).await
    }
}

#[cfg(test)]
mod tests;
