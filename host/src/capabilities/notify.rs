//! `cityhost:miniapp/notify`: messages to the current citizen or to a
//! citizen the app knows only by openid.

use super::RequestState;
use crate::manifest::Permission;
use crate::notifications::NewMessage;
use crate::runtime::bindings::WitError;
use crate::runtime::bindings::cityhost::miniapp::notify::{Host, Message};

impl Host for RequestState {
    fn send(&mut self, message: Message) -> Result<String, WitError> {
        self.call(Permission::Notify, "notify.send", |s| {
            let citizen_id = s.citizen()?;
            s.deliver(&citizen_id, message)
        })
    }

    fn send_to(&mut self, openid: String, message: Message) -> Result<String, WitError> {
        self.call(Permission::Notify, "notify.send-to", |s| {
            let citizen_id = s
                .services
                .openids
                .resolve(&s.ctx.manifest.id, &openid)?
                .ok_or_else(|| WitError::InvalidArgument("openid".into()))?;
            s.deliver(&citizen_id, message)
        })
    }
}

impl RequestState {
    fn deliver(&self, citizen_id: &str, message: Message) -> Result<String, WitError> {
        let new = NewMessage {
            title: message.title,
            body: message.body,
            link_path: message.link_path,
        };
        let delivered = self
            .services
            .inbox
            .deliver(citizen_id, &self.ctx.manifest.id, new)?;
        Ok(delivered.id)
    }
}
