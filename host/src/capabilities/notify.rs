//! `cityhost:miniapp/notify`: messages by template to the current citizen
//! or to a citizen the app knows only by openid, subscription checks and
//! delivery status.
//!
//! The one exception to "subscribed first" is decided here, because only
//! the request knows it: a `receipt` template may be sent with `send` (to
//! the current citizen, never `send-to`) while the request is the host's
//! `payment.succeeded` or `refund.succeeded` event for that citizen's own
//! order, and at most once per request.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::events::{PAYMENT_SUCCEEDED, REFUND_SUCCEEDED};
use crate::manifest::Permission;
use crate::manifest::notify::TemplateKind;
use crate::notifications::{Basis, Outgoing, SendError};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::notify::{
    DeliveryState, DeliveryStatus, Error, Host, Message,
};

/// The `notify` capability: messages to citizens' inboxes by template.
pub(crate) struct Notify;

impl Capability for Notify {
    const PERMISSION: Permission = Permission::Notify;
    type State = State;

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::notify::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}

/// Per-request state: whether this request has sent its one receipt.
#[derive(Default)]
pub(crate) struct State {
    receipt_sent: bool,
}


/// The host events whose handling may send a receipt: the citizen's own
/// payment, and a refund of it.
const RECEIPT_EVENTS: [&str; 2] = [PAYMENT_SUCCEEDED, REFUND_SUCCEEDED];

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::InvalidArgument(s) => Error::InvalidArgument(s),
            CapabilityError::NotSubscribed(s) => Error::NotSubscribed(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            CapabilityError::RateLimited(ms) => Error::RateLimited(ms),
            other => Error::Unavailable(other.not_in("notify")),
        })
    }

    async fn send(&mut self, message: Message) -> Result<String, CapabilityError> {
        self.call(Permission::Notify, "notify.send", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                let basis = s.basis(&message.template, true)?;
                let id = s.send_message(&citizen_id, &message, basis).await?;
                if basis == Basis::OwnPayment {
                    s.units.notify.receipt_sent = true;
                }
                Ok(id)
            })
        })
        .await
    }

    async fn send_to(&mut self, openid: String, message: Message) -> Result<String, CapabilityError> {
        self.call(Permission::Notify, "notify.send-to", |s| {
            Box::pin(async move {
                let citizen_id = s
                    .services
                    .openids
                    .resolve(&s.context.manifest.id, &openid)
                    .await?
                    .ok_or_else(|| CapabilityError::InvalidArgument("openid".into()))?;
                let basis = s.basis(&message.template, false)?;
                s.send_message(&citizen_id, &message, basis).await
            })
        })
        .await
    }

    async fn subscribed(&mut self, template: String) -> Result<bool, CapabilityError> {
        self.call(Permission::Notify, "notify.subscribed", |s| {
            Box::pin(async move {
                let citizen_id = s.citizen()?;
                if s.context.manifest.notify.template(&template).is_none() {
                    return Err(CapabilityError::InvalidArgument("template".into()));
                }
                Ok(s.services
                    .notifications
                    .subscriptions
                    .get(&citizen_id, &s.context.manifest.id, &template)
                    .await?
                    .is_some())
            })
        })
        .await
    }

    async fn status(&mut self, message_id: String) -> Result<Option<DeliveryStatus>, CapabilityError> {
        self.call(Permission::Notify, "notify.status", |s| {
            Box::pin(async move {
                let delivery = s
                    .services
                    .notifications
                    .delivery(&s.context.manifest.id, &message_id)
                    .await?;
                Ok(delivery.map(|d| DeliveryStatus {
                    message_id: message_id.clone(),
                    state: if d.read_at.is_some() {
                        DeliveryState::Read
                    } else if d.pushed_at.is_some() {
                        DeliveryState::Pushed
                    } else {
                        DeliveryState::Stored
                    },
                    stored_at: d.stored_at,
                    pushed_at: d.pushed_at,
                    read_at: d.read_at,
                }))
            })
        })
        .await
    }
}

impl RequestState {
    /// Why this message may be sent: a receipt only to the current citizen
    /// (`to_current`) during their `payment.succeeded` or
    /// `refund.succeeded` event, once;
    /// anything else by subscription.
    fn basis(&self, template: &str, to_current: bool) -> Result<Basis, CapabilityError> {
        let is_receipt = self
            .context
            .manifest
            .notify
            .template(template)
            .is_some_and(|t| t.kind == TemplateKind::Receipt);
        if !is_receipt {
            return Ok(Basis::Subscription);
        }
        let in_payment_event = self
            .context
            .event
            .as_deref()
            .is_some_and(|e| RECEIPT_EVENTS.contains(&e));
        if !(to_current && in_payment_event) {
            return Err(CapabilityError::NotPermitted(format!(
                "`{template}` is a receipt template: send it with `send` while handling the citizen's payment.succeeded or refund.succeeded event"
            )));
        }
        if self.units.notify.receipt_sent {
            return Err(CapabilityError::NotPermitted(
                "one receipt per payment or refund event has already been sent".into(),
            ));
        }
        Ok(Basis::OwnPayment)
    }

    /// Sends `message` as this app. Borrows only the fields it needs, so
    /// the future stays `Send` (the request state itself is not `Sync`).
    fn send_message<'a>(
        &'a self,
        citizen_id: &'a str,
        message: &'a Message,
        basis: Basis,
    ) -> impl Future<Output = Result<String, CapabilityError>> + Send + 'a {
        let (services, manifest) = (&self.services, &self.context.manifest);
        async move {
            let out = Outgoing {
                app: manifest,
                citizen_id,
                template: &message.template,
                params: &message.params,
                link_path: message.link_path.as_deref(),
                basis,
            };
            let (sent, _) = services.notifications.send(out).await?;
            Ok(sent.id.clone())
        }
    }
}

impl From<SendError> for CapabilityError {
    fn from(e: SendError) -> Self {
        match e {
            SendError::InvalidArgument { field, .. } => CapabilityError::InvalidArgument(field),
            SendError::NotSubscribed(template) => CapabilityError::NotSubscribed(template),
            SendError::NotPermitted(why) => CapabilityError::NotPermitted(why),
            SendError::RateLimited { retry_after_ms, .. } => CapabilityError::RateLimited(retry_after_ms),
            SendError::Service(e) => e.into(),
        }
    }
}
