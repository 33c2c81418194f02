//! `cityhost:miniapp/notify`: messages to citizens' inboxes, by template.
//! Permission `notify`.
//!
//! Declare each template in the manifest (`docs/manifest.md`):
//!
//! ```toml
//! [[notify.templates]]
//! id = "bill-due"
//! title = "账单待缴"
//! kind = "one-time"                  # one-time | long-term | receipt
//! body = "户号 {{account}} 有一笔 ¥{{amount}} 的账单待缴。"
//! params.account = { type = "text", max-len = 16 }
//! params.amount = { type = "number", max-len = 12 }
//! ```
//!
//! then send by id with one value per placeholder:
//!
//! ```no_run
//! use cityhost_sdk::notify::{self, Message};
//! # fn f() -> cityhost_sdk::Result<()> {
//! let id = notify::send(
//!     &Message::template("bill-due")
//!         .param("account", "3301001")
//!         .param("amount", "45.60")
//!         .link("/bills?account=3301001"),
//! )?;
//! # Ok(()) }
//! ```
//!
//! The citizen must have subscribed first: answer a view with a button
//! whose action is [`subscribe_action`] (the host shows its own sheet, up
//! to three templates at once); without a live subscription `send` fails
//! with [`Error::NotSubscribed`](crate::Error::NotSubscribed), which `?` in
//! a handler turns into exactly such a view. A `one-time` subscription
//! allows one message; a `long-term` one lasts until the citizen cancels
//! it. A `receipt` template needs none but is sent only with [`send`] while
//! handling the citizen's own `payment.succeeded` event, once per event.

use crate::bindings::cityhost::miniapp::notify as wit;
use crate::error::Result;
use crate::view::Action;

/// A message to send: template id, parameters and the app path the inbox
/// entry opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Template id from the manifest.
    pub template: String,
    /// One value per placeholder, by name.
    pub params: Vec<(String, String)>,
    /// Path inside this app that the inbox entry opens, if any.
    pub link_path: Option<String>,
}

impl Message {
    /// A message from template `id`, without parameters yet.
    pub fn template(id: impl Into<String>) -> Self {
        Message {
            template: id.into(),
            params: Vec::new(),
            link_path: None,
        }
    }

    /// Sets the value of placeholder `{{name}}`.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Makes the inbox entry open `path` (an app path starting with `/`).
    pub fn link(mut self, path: impl Into<String>) -> Self {
        self.link_path = Some(path.into());
        self
    }

    fn to_wit(&self) -> wit::Message {
        wit::Message {
            template: self.template.clone(),
            params: self.params.clone(),
            link_path: self.link_path.clone(),
        }
    }
}

/// How far a message has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryState {
    /// Stored in the citizen's inbox.
    Stored,
    /// Also pushed live to an open shell of the citizen's.
    Pushed,
    /// Read by the citizen.
    Read,
}

/// Delivery status of a message this app sent. Times are UTC ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// The message id.
    pub message_id: String,
    /// The furthest state reached.
    pub state: DeliveryState,
    /// When it was stored.
    pub stored_at: u64,
    /// When it was first pushed live.
    pub pushed_at: Option<u64>,
    /// When the citizen read it.
    pub read_at: Option<u64>,
}

/// Sends `message` to the current citizen; returns the message id. Errors:
/// [`Error::NotSubscribed`](crate::Error::NotSubscribed) naming the
/// template, [`Error::InvalidArgument`](crate::Error::InvalidArgument)
/// naming `template`, `params.{name}` or `link-path`,
/// [`Error::RateLimited`](crate::Error::RateLimited) with the wait.
pub fn send(message: &Message) -> Result<String> {
    Ok(wit::send(&message.to_wit())?)
}

/// Sends `message` to the citizen behind `openid` (an openid of this app);
/// returns the message id. Neither side learns the other's phone number or
/// name. Errors as [`send`], and
/// [`Error::InvalidArgument("openid")`](crate::Error::InvalidArgument) for
/// an openid this app has never seen.
pub fn send_to(openid: &str, message: &Message) -> Result<String> {
    Ok(wit::send_to(openid, &message.to_wit())?)
}

/// Whether the current citizen has a live subscription to `template`.
pub fn subscribed(template: &str) -> Result<bool> {
    Ok(wit::subscribed(template)?)
}

/// The delivery status of a message this app sent; `None` for an unknown id.
pub fn status(message_id: &str) -> Result<Option<DeliveryStatus>> {
    Ok(wit::status(message_id)?.map(|s| DeliveryStatus {
        message_id: s.message_id,
        state: match s.state {
            wit::DeliveryState::Stored => DeliveryState::Stored,
            wit::DeliveryState::Pushed => DeliveryState::Pushed,
            wit::DeliveryState::Read => DeliveryState::Read,
        },
        stored_at: s.stored_at,
        pushed_at: s.pushed_at,
        read_at: s.read_at,
    }))
}

/// The view action that opens the host's subscription sheet for up to
/// three `templates` (the same as [`Action::subscribe`]).
pub fn subscribe_action<T: Into<String>>(templates: impl IntoIterator<Item = T>) -> Action {
    Action::subscribe(templates)
}
