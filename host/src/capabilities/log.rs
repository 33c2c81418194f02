//! `cityhost:miniapp/log`: structured lines in the host's log, tagged with
//! app, release and request id; at most [`MAX_LINES`] per request.

use wasmtime::component::{HasSelf, Linker};

use super::{Capability, RequestState};
use crate::manifest::Permission;
use crate::capabilities::CapabilityError;
use crate::capabilities::bindings::cityhost::miniapp::log::{Error, Host, Level};

/// The `log` capability: structured log lines.
pub(crate) struct Log;

impl Capability for Log {
    const PERMISSION: Permission = Permission::Log;
    type State = State;

    fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
        crate::capabilities::bindings::cityhost::miniapp::log::add_to_linker::<_, HasSelf<_>>(
            linker,
            |state| state,
        )
    }
}

/// Per-request state: lines written so far.
#[derive(Default)]
pub(crate) struct State {
    lines: u32,
}


/// Lines one request may write.
pub(crate) const MAX_LINES: u32 = 100;
/// Longest message kept, bytes (longer ones are cut).
const MAX_MESSAGE: usize = 4096;

impl Host for RequestState {
    /// This interface's WIT error for a [`CapabilityError`]: the case of
    /// the same name.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<Error> {
        Ok(match err {
            CapabilityError::NotPermitted(s) => Error::NotPermitted(s),
            CapabilityError::QuotaExceeded(s) => Error::QuotaExceeded(s),
            other => Error::QuotaExceeded(other.not_in("log")),
        })
    }

    async fn write(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> Result<(), CapabilityError> {
        self.call(Permission::Log, "log.write", |s| {
            Box::pin(async move {
                if s.units.log.lines >= MAX_LINES {
                    return Err(CapabilityError::QuotaExceeded("log-lines".into()));
                }
                s.units.log.lines += 1;
                let mut message = message;
                if message.len() > MAX_MESSAGE {
                    let mut cut = MAX_MESSAGE;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                }
                let fields = serde_json::to_string(
                    &fields
                        .into_iter()
                        .collect::<std::collections::BTreeMap<_, _>>(),
                )
                .unwrap_or_default();
                let app = s.context.manifest.id.as_str();
                let request_id = s.context.request_id.as_str();
                macro_rules! emit {
                    ($lvl:ident) => {
                        tracing::$lvl!(target: "cityhost::app", app, request_id, fields, "{message}")
                    };
                }
                match level {
                    Level::Trace => emit!(trace),
                    Level::Debug => emit!(debug),
                    Level::Info => emit!(info),
                    Level::Warn => emit!(warn),
                    Level::Error => emit!(error),
                }
                Ok(())
            })
        })
        .await
    }
}
