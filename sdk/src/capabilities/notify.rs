//! `cityhost:miniapp/notify`: messages to citizens' inboxes in the host.
//! Permission `notify`.

use crate::bindings::cityhost::miniapp::notify as wit;
use crate::error::Result;

/// A message as the citizen reads it in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Title, 1-64 characters.
    pub title: String,
    /// Body, 1-1024 characters of plain text.
    pub body: String,
    /// Path inside this app that the inbox entry opens, if any.
    pub link_path: Option<String>,
}

impl Message {
    /// A message without a link.
    pub fn new(title: impl Into<String>, body: impl Into<String>) -> Self {
        Message {
            title: title.into(),
            body: body.into(),
            link_path: None,
        }
    }

    /// Makes the inbox entry open `path` (an app path starting with `/`).
    pub fn link(mut self, path: impl Into<String>) -> Self {
        self.link_path = Some(path.into());
        self
    }

    fn to_wit(&self) -> wit::Message {
        wit::Message {
            title: self.title.clone(),
            body: self.body.clone(),
            link_path: self.link_path.clone(),
        }
    }
}

/// Sends `message` to the current citizen's inbox; returns the message id.
/// Errors: [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming
/// the field, [`Error::QuotaExceeded`](crate::Error::QuotaExceeded).
pub fn send(message: &Message) -> Result<String> {
    Ok(wit::send(&message.to_wit())?)
}

/// Sends `message` to the citizen behind `openid` (an openid of this app);
/// returns the message id. Neither side learns the other's phone number or
/// name. Errors: [`Error::InvalidArgument("openid")`](crate::Error::InvalidArgument)
/// for an openid this app has never seen.
pub fn send_to(openid: &str, message: &Message) -> Result<String> {
    Ok(wit::send_to(openid, &message.to_wit())?)
}
