//! The way into a mini-app: from a citizen's request (or a host event) to a
//! fresh instance of the app's component and back.
//!
//! The gateway builds the request's [`CallContext`] (request id, the app's
//! manifest, the citizen and their openid for this app), applies the app's
//! limits, runs the component through the runtime and turns a guest failure
//! into a [`CallFailure`] carrying an error id that is both logged (with the
//! cause and the guest's stderr) and shown to the citizen. Every request is
//! audited (capability `request`, outcome the status or the failure).

use std::sync::Arc;
use std::time::Duration;

use crate::admission::Busy;
use crate::capabilities::bindings::{Event, Method, Request, Response};
use crate::capabilities::{CallContext, RequestState};
use crate::platform::Platform;
use crate::registry::App;
use crate::runtime::MAX_RESPONSE_BYTES;
use crate::runtime::{Answer, Call, DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT, GuestFailure};

/// Largest request body passed to an app: 1 MiB.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Header prefix reserved for the host; stripped from incoming requests.
pub const HOST_HEADER_PREFIX: &str = "x-cityhost-";
/// Path prefix reserved for the host; citizens cannot reach it. Components
/// built against contract 0.1.0 (and `wasi:http` ones) receive host events
/// as `POST {EVENT_PATH_PREFIX}events/{event}`; current ones through their
/// `events` export ([`Platform::send_event`]).
pub const EVENT_PATH_PREFIX: &str = "/_cityhost/";

/// A request for an app, before the host adds its own headers.
#[derive(Debug, Clone)]
pub struct AppRequest {
    /// Method.
    pub method: Method,
    /// App path, starting with `/`.
    pub path: String,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Headers already filtered by the caller (see `http::apps`).
    pub headers: Vec<(String, String)>,
    /// Body, at most [`MAX_REQUEST_BYTES`].
    pub body: Vec<u8>,
}

/// A request that did not produce a usable response.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    /// The guest failed; `error_id` is in the host log with the cause.
    #[error("{failure} (error id {error_id})")]
    Guest {
        /// The request id, logged with the cause.
        error_id: String,
        /// What went wrong.
        failure: GuestFailure,
    },
    /// The guest answered with more than [`MAX_RESPONSE_BYTES`].
    #[error("the mini-app's response exceeds 4 MiB (error id {error_id})")]
    ResponseTooLarge {
        /// The request id.
        error_id: String,
    },
    /// The request waited for its turn past the admission wait
    /// ([`crate::admission`]); nothing ran.
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The citizen's openid could not be derived (store failure).
    #[error(transparent)]
    Service(#[from] crate::error::ServiceError),
}

impl Platform {
    /// Runs `request` on a fresh instance of `app`, as `citizen_id` if given.
    pub async fn call_app(
        &self,
        app: &Arc<App>,
        citizen_id: Option<&str>,
        request: AppRequest,
    ) -> Result<Response, CallFailure> {
        // A request under the reserved path is a host event for a 0.1.0 or
        // `wasi:http` component (citizens cannot reach it).
        let event = request
            .path
            .strip_prefix(EVENT_PATH_PREFIX)
            .and_then(|rest| rest.strip_prefix("events/"))
            .map(str::to_string);
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut headers = request.headers;
        headers.push(("x-cityhost-request-id".into(), request_id.clone()));
        let call = Call::Request(Request {
            method: request.method,
            path: request.path,
            query: request.query,
            headers,
            body: request.body,
        });
        match self.call(app, citizen_id, event, request_id, call).await? {
            Answer::Response(response) => Ok(response),
            Answer::Event(_) => unreachable!("a request is answered with a response"),
        }
    }

    /// Delivers the host event `event` (named `name` in the outbox, e.g.
    /// `payment.succeeded`; id `event_id`) to `app`'s `events` export, on
    /// behalf of `citizen_id` (if any): `Ok(Ok(()))` if the app accepted it,
    /// `Ok(Err(why))` if it asked for a retry. For a component without the
    /// export ([`crate::runtime::EntryPoint::takes_typed_events`]) send
    /// the event as a request to [`EVENT_PATH_PREFIX`] instead.
    pub async fn send_event(
        &self,
        app: &Arc<App>,
        citizen_id: Option<&str>,
        name: &str,
        event_id: &str,
        event: Event,
    ) -> Result<Result<(), String>, CallFailure> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let call = Call::Event {
            id: event_id.to_string(),
            event,
        };
        match self
            .call(app, citizen_id, Some(name.to_string()), request_id, call)
            .await?
        {
            Answer::Event(verdict) => Ok(verdict),
            Answer::Response(_) => unreachable!("an event is answered with a verdict"),
        }
    }

    /// Runs `call` on a fresh instance of `app`: the call context, limits,
    /// admission, audit and the log line of a failure.
    async fn call(
        &self,
        app: &Arc<App>,
        citizen_id: Option<&str>,
        event: Option<String>,
        request_id: String,
        call: Call,
    ) -> Result<Answer, CallFailure> {
        let manifest = app.manifest.clone();
        let openid = match citizen_id {
            Some(id) => Some(self.services.openids.openid(&manifest.id, id).await?),
            None => None,
        };
        let context = CallContext {
            request_id: request_id.clone(),
            manifest: manifest.clone(),
            citizen_id: citizen_id.map(str::to_string),
            openid: openid.clone(),
            event,
        };
        let timeout = manifest
            .limits
            .timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
            .min(DEFAULT_TIMEOUT);
        let memory = manifest
            .limits
            .memory_mib
            .map_or(DEFAULT_MEMORY_BYTES, |mib| (mib as usize) << 20)
            .min(DEFAULT_MEMORY_BYTES);
        let state = RequestState::new(
            context,
            self.services.clone(),
            self.outbound.clone(),
            memory,
        );
        let started = std::time::Instant::now();
        // Appended when the request ends, or as `abandoned` if this future
        // is dropped first (the citizen went away).
        let audit = self
            .services
            .audit
            .begin(&manifest.id, &manifest.version, openid, "request");
        // Held until the instance is gone.
        let admitted = self.admission.admit(&manifest.id, citizen_id).await;
        self.metrics.admission_waited(started.elapsed());
        let _admitted = match admitted {
            Ok(admitted) => admitted,
            Err(busy) => {
                tracing::warn!(app = %manifest.id, request_id, waiting = self.admission.waiting(), "{busy}");
                audit.finish("host-busy");
                return Err(busy.into());
            }
        };
        let (result, state) = self
            .runtime
            .invoke(&app.component, state, call, timeout)
            .await;
        audit.finish(match &result {
            Ok(Answer::Response(response)) if response.body.len() > MAX_RESPONSE_BYTES => {
                "response-too-large".into()
            }
            Ok(Answer::Response(response)) => response.status.to_string(),
            Ok(Answer::Event(Ok(()))) => "accepted".into(),
            Ok(Answer::Event(Err(_))) => "retry".into(),
            Err(failure) => failure_outcome(failure).to_string(),
        });
        match result {
            Ok(Answer::Response(response)) if response.body.len() > MAX_RESPONSE_BYTES => {
                tracing::error!(app = %manifest.id, request_id, bytes = response.body.len(), "response too large");
                Err(CallFailure::ResponseTooLarge {
                    error_id: request_id,
                })
            }
            Ok(answer) => {
                let micros = started.elapsed().as_micros() as u64;
                match &answer {
                    Answer::Response(response) => {
                        tracing::debug!(app = %manifest.id, request_id, status = response.status, micros, "app answered");
                    }
                    Answer::Event(verdict) => {
                        tracing::debug!(app = %manifest.id, request_id, verdict = ?verdict, micros, "app took an event");
                    }
                }
                Ok(answer)
            }
            Err(failure) => {
                // The trap's backtrace and the guest's stderr are fields,
                // written escaped on the one log line (`?`): a guest cannot
                // start a line of the host's log.
                let detail = match &failure {
                    GuestFailure::Trapped(trap) => Some(trap.as_str()),
                    _ => None,
                };
                tracing::error!(
                    app = %manifest.id,
                    release = %manifest.version,
                    request_id,
                    cause = %failure,
                    detail = ?detail.unwrap_or(""),
                    stderr = ?state.stderr(),
                    "mini-app request failed"
                );
                Err(CallFailure::Guest {
                    error_id: request_id,
                    failure,
                })
            }
        }
    }
}

/// The audit outcome of a failed request.
fn failure_outcome(failure: &GuestFailure) -> &'static str {
    match failure {
        GuestFailure::DeadlineExceeded(_) => "deadline-exceeded",
        GuestFailure::MemoryExceeded(_) => "memory-exceeded",
        GuestFailure::Trapped(_) => "trapped",
        GuestFailure::Busy => "host-busy",
    }
}
