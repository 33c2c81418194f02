//! The earlier contract, `cityhost:miniapp@0.1.0` (frozen in
//! `host/wit/0.1.0`): components built against it keep loading and
//! running unchanged (test: `host/tests/all/contract.rs`).
//!
//! Its interfaces have the same functions and records as today's; they
//! differ in the error type (one shared `types.error` instead of one per
//! interface) and in how host events arrive (a `POST` to
//! `/_cityhost/events/{name}`, see [`crate::gateway::EVENT_PATH_PREFIX`],
//! instead of the `events` export). So each 0.1.0 host function forwards to
//! the current one, converting records between the two bindings (they are
//! distinct Rust types of the same shape) and turning the
//! [`CapabilityError`] into the shared variant, which has every case.

#![allow(missing_docs, unreachable_pub)]

use wasmtime::component::{HasSelf, Linker};

use super::CapabilityError;
use super::RequestState;
use super::bindings::cityhost::miniapp as current;
use super::bindings::{Method, Request, Response};

wasmtime::component::bindgen!({
    world: "miniapp",
    path: "wit/0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
    trappable_error_type: {
        "cityhost:miniapp/types.error" => CapabilityError,
    },
});

use self::cityhost::miniapp as old;
use self::exports::cityhost::miniapp::handler as old_handler;

/// Registers the 0.1.0 interfaces (forwarding to the current host
/// functions) in `linker`.
pub fn add_to_linker(linker: &mut Linker<RequestState>) -> wasmtime::Result<()> {
    old::types::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    old::identity::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    old::payment::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    old::notify::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    old::storage::add_to_linker::<_, HasSelf<_>>(linker, |state| state)?;
    old::log::add_to_linker::<_, HasSelf<_>>(linker, |state| state)
}

/// The request in the 0.1.0 handler's type.
pub fn request(r: Request) -> old_handler::Request {
    old_handler::Request {
        method: match r.method {
            Method::Get => old_handler::Method::Get,
            Method::Post => old_handler::Method::Post,
            Method::Put => old_handler::Method::Put,
            Method::Patch => old_handler::Method::Patch,
            Method::Delete => old_handler::Method::Delete,
            Method::Head => old_handler::Method::Head,
            Method::Options => old_handler::Method::Options,
        },
        path: r.path,
        query: r.query,
        headers: r.headers,
        body: r.body,
    }
}

/// The 0.1.0 handler's response in the current type.
pub fn response(r: old_handler::Response) -> Response {
    Response {
        status: r.status,
        headers: r.headers,
        body: r.body,
    }
}

impl old::types::Host for RequestState {
    /// Each [`CapabilityError`] case is the 0.1.0 shared error's case of
    /// the same name; the outbound cases, which no 0.1.0 interface
    /// returns, are `unavailable`.
    fn convert_error(&mut self, err: CapabilityError) -> wasmtime::Result<old::types::Error> {
        use old::types::Error as E;
        Ok(match err {
            CapabilityError::NotPermitted(s) => E::NotPermitted(s),
            CapabilityError::ConsentRequired(s) => E::ConsentRequired(s),
            CapabilityError::InvalidArgument(s) => E::InvalidArgument(s),
            CapabilityError::QuotaExceeded(s) => E::QuotaExceeded(s),
            CapabilityError::Conflict(s) => E::Conflict(s),
            CapabilityError::Unavailable(s) => E::Unavailable(s),
            CapabilityError::RefundExceeds(fen) => E::RefundExceeds(fen),
            CapabilityError::NotSubscribed(s) => E::NotSubscribed(s),
            CapabilityError::RateLimited(ms) => E::RateLimited(ms),
            // No 0.1.0 interface makes outbound calls.
            other @ (CapabilityError::TooLarge(_) | CapabilityError::Timeout(_)) => {
                E::Unavailable(other.not_in("0.1.0"))
            }
        })
    }
}

/// `From` between two bindings' enums of the same cases.
macro_rules! same_enum {
    ($from:path => $to:path { $($case:ident),* $(,)? }) => {
        impl From<$from> for $to {
            fn from(value: $from) -> Self {
                use $from as F;
                use $to as T;
                match value { $(F::$case => T::$case,)* }
            }
        }
    };
}

/// `From` between two bindings' records of the same fields (each field
/// converted with `Into`).
macro_rules! same_record {
    ($from:path => $to:path { $($field:ident),* $(,)? }) => {
        impl From<$from> for $to {
            fn from(r: $from) -> Self {
                Self { $($field: r.$field.into(),)* }
            }
        }
    };
}

same_enum!(current::identity::Gender => old::identity::Gender { Male, Female });
same_record!(current::identity::VerifiedIdentity => old::identity::VerifiedIdentity { name, id_number });
same_enum!(current::payment::OrderState => old::payment::OrderState {
    Created, Paid, Cancelled, Expired, PartiallyRefunded, Refunded,
});
same_record!(old::payment::OrderRequest => current::payment::OrderRequest {
    out_trade_no, amount_fen, subject, return_path, expires_in_ms,
});
same_record!(current::payment::Order => old::payment::Order {
    order_id, out_trade_no, amount_fen, refunded_fen, subject, state, created_at, paid_at,
    expires_at, pay_url,
});
same_record!(old::payment::RefundRequest => current::payment::RefundRequest {
    out_trade_no, out_request_no, amount_fen, reason,
});
same_record!(current::payment::Refund => old::payment::Refund {
    refund_id, out_trade_no, out_request_no, amount_fen, reason, refunded_at,
});
same_record!(old::notify::Message => current::notify::Message { template, params, link_path });
same_enum!(current::notify::DeliveryState => old::notify::DeliveryState { Stored, Pushed, Read });
same_record!(current::notify::DeliveryStatus => old::notify::DeliveryStatus {
    message_id, state, stored_at, pushed_at, read_at,
});
same_enum!(old::log::Level => current::log::Level { Trace, Debug, Info, Warn, Error });

impl From<current::identity::CitizenProfile> for old::identity::CitizenProfile {
    fn from(p: current::identity::CitizenProfile) -> Self {
        Self {
            name_masked: p.name_masked,
            id_number_masked: p.id_number_masked,
            assurance_level: p.assurance_level,
            gender: p.gender.map(Into::into),
            birth_year: p.birth_year,
        }
    }
}

type Result<T> = std::result::Result<T, CapabilityError>;

impl old::identity::Host for RequestState {
    async fn openid(&mut self) -> Result<String> {
        current::identity::Host::openid(self).await
    }

    async fn unionid(&mut self) -> Result<String> {
        current::identity::Host::unionid(self).await
    }

    async fn profile(&mut self) -> Result<old::identity::CitizenProfile> {
        current::identity::Host::profile(self).await.map(Into::into)
    }

    async fn real_identity(&mut self) -> Result<old::identity::VerifiedIdentity> {
        current::identity::Host::real_identity(self)
            .await
            .map(Into::into)
    }

    async fn id_token(&mut self) -> Result<String> {
        current::identity::Host::id_token(self).await
    }
}

impl old::payment::Host for RequestState {
    async fn create_order(
        &mut self,
        request: old::payment::OrderRequest,
    ) -> Result<old::payment::Order> {
        current::payment::Host::create_order(self, request.into())
            .await
            .map(Into::into)
    }

    async fn query_order(&mut self, out_trade_no: String) -> Result<Option<old::payment::Order>> {
        current::payment::Host::query_order(self, out_trade_no)
            .await
            .map(|order| order.map(Into::into))
    }

    async fn cancel_order(&mut self, out_trade_no: String) -> Result<old::payment::Order> {
        current::payment::Host::cancel_order(self, out_trade_no)
            .await
            .map(Into::into)
    }

    async fn refund_order(
        &mut self,
        request: old::payment::RefundRequest,
    ) -> Result<old::payment::Refund> {
        current::payment::Host::refund_order(self, request.into())
            .await
            .map(Into::into)
    }

    async fn query_refund(
        &mut self,
        out_request_no: String,
    ) -> Result<Option<old::payment::Refund>> {
        current::payment::Host::query_refund(self, out_request_no)
            .await
            .map(|refund| refund.map(Into::into))
    }
}

impl old::notify::Host for RequestState {
    async fn send(&mut self, message: old::notify::Message) -> Result<String> {
        current::notify::Host::send(self, message.into()).await
    }

    async fn send_to(&mut self, openid: String, message: old::notify::Message) -> Result<String> {
        current::notify::Host::send_to(self, openid, message.into()).await
    }

    async fn subscribed(&mut self, template: String) -> Result<bool> {
        current::notify::Host::subscribed(self, template).await
    }

    async fn status(&mut self, message_id: String) -> Result<Option<old::notify::DeliveryStatus>> {
        current::notify::Host::status(self, message_id)
            .await
            .map(|status| status.map(Into::into))
    }
}

impl old::storage::Host for RequestState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>> {
        current::storage::Host::get(self, key).await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<()> {
        current::storage::Host::set(self, key, value).await
    }

    async fn delete(&mut self, key: String) -> Result<bool> {
        current::storage::Host::delete(self, key).await
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>> {
        current::storage::Host::list_keys(self, prefix, limit).await
    }
}

impl old::log::Host for RequestState {
    async fn write(
        &mut self,
        level: old::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> Result<()> {
        current::log::Host::write(self, level.into(), message, fields).await
    }
}
