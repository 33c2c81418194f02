//! `cityhost:miniapp/schedule`: the app's one-shot timers, persisted in
//! the event outbox ([`crate::events::timers`]) and delivered as the app
//! event `timer.{name}`. A timer on behalf of a citizen names them by
//! their openid for this app; the host keeps the citizen, never the
//! openid. The audit record holds the timer's name and id, never its
//! payload.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::schedule::{Error, Host, Timer};
use crate::events::timers::{NewTimer, TimerError};
use crate::manifest::Permission;

/// The `schedule` capability: one-shot timers.
pub(crate) struct Schedule;

impl Capability for Schedule {
    const PERMISSION: Permission = Permission::Schedule;
    type State = ();

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::schedule::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}

impl From<TimerError> for CapabilityError {
    fn from(e: TimerError) -> Self {
        match e {
            TimerError::InvalidArgument { field, reason } => {
                CapabilityError::InvalidArgument(format!("{field}: {reason}"))
            }
            TimerError::LimitReached(held) => CapabilityError::QuotaExceeded(format!(
                "pending timers: the app holds {held}, the most it may"
            )),
            TimerError::Store(e) => CapabilityError::Unavailable(e.to_string()),
        }
    }
}

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::InvalidArgument(s) => Error::InvalidArgument(s),
            CapabilityError::QuotaExceeded(s) => Error::QuotaExceeded(s),
            CapabilityError::Unavailable(s) => Error::Unavailable(s),
            other => Error::Unavailable(other.not_in("schedule")),
        })
    }

    async fn set_timer(&mut self, timer: Timer) -> Result<String, CapabilityError> {
        self.call(Permission::Schedule, "schedule.set-timer", |s| {
            Box::pin(async move {
                let app_id = s.context.manifest.id.clone();
                let citizen_id = match &timer.on_behalf_of {
                    Some(openid) => Some(
                        s.services
                            .openids
                            .resolve(&app_id, openid)
                            .await?
                            .ok_or_else(|| {
                                CapabilityError::InvalidArgument(
                                    "on-behalf-of: no citizen has this openid for the app".into(),
                                )
                            })?,
                    ),
                    None => None,
                };
                let id = s
                    .services
                    .events
                    .set_timer(
                        &app_id,
                        NewTimer {
                            name: &timer.name,
                            at_ms: timer.at,
                            payload: timer.payload,
                            citizen_id: citizen_id.as_deref(),
                        },
                    )
                    .await?;
                s.audit_detail.push(("timer".into(), timer.name.clone()));
                s.audit_detail.push(("id".into(), id.clone()));
                Ok(id)
            })
        })
        .await
    }

    async fn cancel_timer(&mut self, id: String) -> Result<bool, CapabilityError> {
        self.call(Permission::Schedule, "schedule.cancel-timer", |s| {
            Box::pin(async move {
                s.audit_detail.push(("id".into(), id.clone()));
                s.services
                    .events
                    .cancel_timer(&s.context.manifest.id, &id)
                    .await
                    .map_err(|e| CapabilityError::Unavailable(e.to_string()))
            })
        })
        .await
    }
}
