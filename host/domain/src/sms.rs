//! Text messages to phones: the channel through which the host proves that
//! a citizen holds a phone number (one-time codes,
//! [`crate::identity::phone_codes`]).
//!
//! Two implementations of [`SmsChannel`]:
//! - [`DevSms`]: for development and tests. Writes each message to the log
//!   and keeps the last [`DevSms::KEPT`] for the host's dev-only page
//!   (`/dev/sms`); it sends nothing to any phone.
//! - the host's `SmsGateway` (crate `cityhost`): the operator's SMS gateway,
//!   one JSON POST per message (request in `docs/identity.md`).
//!
//! A host with neither sends no messages, and whatever needs one answers
//! `Unavailable` (HTTP 503).

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde::Serialize;

/// One message to one phone.
#[derive(Debug, Clone, Serialize)]
pub struct SmsMessage {
    /// Mainland mobile number, 11 digits.
    pub phone: String,
    /// Which message this is (`register-code`, `register-notice`), for a
    /// gateway that sends through its provider's approved templates.
    pub template: &'static str,
    /// The template's parameters (`code`); empty for a notice.
    pub params: Vec<(&'static str, String)>,
    /// The whole text, rendered, for a gateway that sends free text.
    pub text: String,
}

/// The channel could not take the message.
#[derive(Debug, thiserror::Error)]
#[error("the SMS gateway is unavailable: {0}")]
pub struct SmsError(pub String);

/// A boxed future, so that channels can be used as trait objects.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

/// Sends text messages.
pub trait SmsChannel: Send + Sync {
    /// A short name for logs (`dev`, `gateway`).
    fn kind(&self) -> &'static str;
    /// Hands `message` to the channel; `Ok` once it has taken it.
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a>;
}

/// A message [`DevSms`] has "sent".
#[derive(Debug, Clone, Serialize)]
pub struct DevSmsEntry {
    /// The number it was for, 11 digits.
    pub phone: String,
    /// Its template.
    pub template: &'static str,
    /// Its parameters (`code`).
    pub params: BTreeMap<&'static str, String>,
    /// Its text.
    pub text: String,
    /// When, UTC ms.
    pub sent_at: u64,
}

/// The development channel: logs each message and keeps the last
/// [`DevSms::KEPT`] in memory for the dev-only page. Never for a host that
/// real citizens use: anyone who can read the page can register any number.
#[derive(Default)]
pub struct DevSms {
    recent: Mutex<VecDeque<DevSmsEntry>>,
}

impl DevSms {
    /// Messages kept for the dev page.
    pub const KEPT: usize = 100;

    /// The kept messages, newest first.
    pub fn recent(&self) -> Vec<DevSmsEntry> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().rev().cloned().collect()
    }
}

impl SmsChannel for DevSms {
    fn kind(&self) -> &'static str {
        "dev"
    }

    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            tracing::info!(
                phone = %message.phone,
                template = message.template,
                text = %message.text,
                "development SMS (not sent to any phone; see /dev/sms)"
            );
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if recent.len() == Self::KEPT {
                recent.pop_front();
            }
            recent.push_back(DevSmsEntry {
                phone: message.phone.clone(),
                template: message.template,
                params: message.params.iter().cloned().collect(),
                text: message.text.clone(),
                sent_at: cityhost_store::now_ms(),
            });
            Ok(())
        })
    }
}
