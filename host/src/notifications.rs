//! Citizens' inboxes. A message is stored with app, rendered text, time and
//! read state, and survives restarts.
//!
//! Key layout (`inbox` tree): `citizen_id \0 seq (u64 BE)`, where `seq` is
//! sled's monotonic id, so a reverse scan is newest first.

use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, StoreError, key, now_ms, trees};

/// A message in a citizen's inbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// `msg_` + sequence number.
    pub id: String,
    /// The app that sent it.
    pub app_id: String,
    /// Title, 1-64 characters.
    pub title: String,
    /// Plain-text body, 1-1024 characters.
    pub body: String,
    /// App path the entry opens, if any.
    pub link_path: Option<String>,
    /// Time sent, UTC ms.
    pub created_at: u64,
    /// Whether the citizen has opened it.
    pub read: bool,
}

/// What an app sends.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Title, 1-64 characters.
    pub title: String,
    /// Body, 1-1024 characters.
    pub body: String,
    /// Optional app path starting with `/`.
    pub link_path: Option<String>,
}

/// The inboxes.
#[derive(Clone)]
pub struct Inbox {
    store: Store,
    tree: sled::Tree,
}

impl Inbox {
    /// Opens the inbox tree.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            store: store.clone(),
            tree: store.tree(trees::INBOX)?,
        })
    }

    /// Delivers a message to the citizen's inbox. Errors: `invalid-argument`
    /// naming `title`, `body` or `link-path`.
    pub fn deliver(
        &self,
        citizen_id: &str,
        app_id: &str,
        new: NewMessage,
    ) -> ServiceResult<Message> {
        check_text("title", &new.title, 64, false)?;
        check_text("body", &new.body, 1024, true)?;
        if let Some(path) = &new.link_path
            && (!path.starts_with('/') || path.starts_with("//") || path.len() > 512)
        {
            return Err(ServiceError::invalid(
                "link-path",
                "use an app path starting with a single '/'",
            ));
        }
        let seq = self.store.next_id()?;
        let message = Message {
            id: format!("msg_{seq}"),
            app_id: app_id.to_string(),
            title: new.title,
            body: new.body,
            link_path: new.link_path,
            created_at: now_ms(),
            read: false,
        };
        store::put_json(&self.tree, message_key(citizen_id, seq), &message)?;
        Ok(message)
    }

    /// The citizen's messages, newest first, at most `limit`.
    pub fn list(&self, citizen_id: &str, limit: usize) -> ServiceResult<Vec<Message>> {
        self.tree
            .scan_prefix(key(&[citizen_id.as_bytes(), b""]))
            .values()
            .rev()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(StoreError::from)?))
            .collect()
    }

    /// Number of unread messages.
    pub fn unread(&self, citizen_id: &str) -> ServiceResult<usize> {
        let mut count = 0;
        for value in self
            .tree
            .scan_prefix(key(&[citizen_id.as_bytes(), b""]))
            .values()
        {
            let message: Message = serde_json::from_slice(&value?).map_err(StoreError::from)?;
            count += usize::from(!message.read);
        }
        Ok(count)
    }

    /// Marks a message read. `NotFound` if it is not in this citizen's inbox.
    pub fn mark_read(&self, citizen_id: &str, message_id: &str) -> ServiceResult<Message> {
        let seq: u64 = message_id
            .strip_prefix("msg_")
            .and_then(|s| s.parse().ok())
            .ok_or(ServiceError::NotFound("message"))?;
        let k = message_key(citizen_id, seq);
        let mut message: Message =
            store::get_json(&self.tree, &k)?.ok_or(ServiceError::NotFound("message"))?;
        message.read = true;
        store::put_json(&self.tree, &k, &message)?;
        Ok(message)
    }
}

fn message_key(citizen_id: &str, seq: u64) -> Vec<u8> {
    key(&[citizen_id.as_bytes(), &seq.to_be_bytes()])
}

/// Checks a message's title or body: 1 to `max` characters, no control
/// characters (a body may hold line breaks) and no Unicode bidirectional
/// controls, which could make a message read differently from what was sent.
fn check_text(field: &'static str, text: &str, max: usize, multiline: bool) -> ServiceResult<()> {
    let len = text.chars().count();
    if len == 0 || len > max {
        return Err(ServiceError::invalid(
            field,
            format!("use 1-{max} characters"),
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|&c| (c.is_control() && !(multiline && c == '\n')) || is_bidi_control(c))
    {
        return Err(ServiceError::invalid(
            field,
            format!("character U+{:04X} is not allowed", u32::from(c)),
        ));
    }
    Ok(())
}

/// Unicode bidirectional formatting characters (UAX #9).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_control_and_bidi_characters() {
        assert!(check_text("body", "第一行\n第二行", 10, true).is_ok());
        assert!(check_text("title", "第一行\n第二行", 10, false).is_err());
        for bad in [
            "a\u{7}b",
            "a\u{1b}[31m",
            "a\rb",
            "line\u{202E}live",
            "\u{2066}x",
        ] {
            assert!(
                matches!(
                    check_text("body", bad, 100, true),
                    Err(ServiceError::InvalidArgument { field: "body", .. })
                ),
                "{bad:?}"
            );
        }
        assert!(check_text("body", "", 10, true).is_err());
    }
}
