//! [`Error`]: the one error type of the SDK, and how each error becomes a
//! response for the citizen.
//!
//! Capability calls fail with their interface's WIT `error` variant, whose
//! cases are mirrored here by name;
//! reading a request fails with [`Error::BadRequest`] naming the field. A
//! handler returns `Result<Response, Error>`, so `?` turns any of them into
//! the right status and an explanatory view (see [`Error::into_response`]).

use std::fmt;

use crate::response::Response;
use crate::view::{Action, AlertLevel, View};

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a capability call or a request failed.
///
/// The first six variants, [`Error::NotSubscribed`], [`Error::RateLimited`]
/// and [`Error::RefundExceeds`] mirror the cases of the same name of the
/// capability interfaces' WIT `error` variants (each interface has only the
/// cases its calls can return); their string is what the host put there (a
/// scope, a field, a quota, a key or a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The manifest does not declare the capability, or the call needs a
    /// signed-in citizen and there is none. Becomes `403`.
    NotPermitted(String),
    /// The citizen has not granted the scope (e.g. `auth_user`). Becomes
    /// `403` with a button that opens the host's consent sheet.
    ConsentRequired(String),
    /// An argument of a capability call is malformed or out of range; names
    /// the field (e.g. `amount-fen`). Becomes `400`.
    InvalidArgument(String),
    /// A per-app quota is used up; names it (e.g. `storage`). Becomes `429`.
    QuotaExceeded(String),
    /// An idempotency key was reused with different fields; names it (e.g.
    /// `out-trade-no`). Becomes `409`.
    Conflict(String),
    /// The host cannot serve the call now. Becomes `503`.
    Unavailable(String),
    /// The citizen has no live subscription to the notification template
    /// named here. Becomes `403` with a button that opens the host's
    /// subscription sheet for it.
    NotSubscribed(String),
    /// A rate limit is reached (messages per citizen per day or per
    /// minute). Becomes `429`.
    RateLimited {
        /// How long until the next attempt can succeed, ms.
        retry_after_ms: u64,
    },
    /// The request's query, form or body has a missing or malformed field.
    /// Becomes `400` naming the field.
    BadRequest {
        /// The parameter name, e.g. `account` (`body` for the body as a whole).
        field: String,
        /// What is wrong, in Chinese for the citizen, e.g. `为必填项`.
        reason: String,
    },
    /// What the request asks for does not exist. Becomes `404`.
    NotFound(String),
    /// A refund asked for more than the order still has; the payload is
    /// what is still refundable, in fen. Becomes `409`.
    RefundExceeds(u64),
    /// A body of an outbound call (`http`) exceeds its limit; says which
    /// and the limit. Becomes `502`.
    TooLarge(String),
    /// An outbound call (`http`) got no answer in time. Becomes `504`.
    Timeout(String),
    /// A value the app reads is not the JSON it expects: a storage key, or
    /// `body` of an outbound response. Becomes `500`.
    InvalidData {
        /// The storage key.
        key: String,
        /// The decoding error.
        reason: String,
    },
}

impl Error {
    /// A `400` naming `field`, for an app's own validation, e.g.
    /// `Error::bad_request("plate", "不是有效的车牌号")`.
    pub fn bad_request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::BadRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A `404`; `what` completes "未找到…", e.g. `该账单`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }

    /// The HTTP status the error becomes.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotPermitted(_) | Error::ConsentRequired(_) | Error::NotSubscribed(_) => 403,
            Error::RateLimited { .. } => 429,
            Error::InvalidArgument(_) | Error::BadRequest { .. } => 400,
            Error::QuotaExceeded(_) => 429,
            Error::Conflict(_) => 409,
            Error::Unavailable(_) => 503,
            Error::RefundExceeds(_) => 409,
            Error::NotFound(_) => 404,
            Error::InvalidData { .. } => 500,
            Error::TooLarge(_) => 502,
            Error::Timeout(_) => 504,
        }
    }

    /// The response for the citizen: [`Error::status`] and a view that says
    /// what happened, naming the field, scope or quota — never the host's
    /// reason for a refusal or an outage (it may name the department's
    /// internal systems; the host's audit record of the call has it). Consent errors carry
    /// a button with action `{"kind": "consent", "scope": ...}`.
    pub fn into_response(self) -> Response {
        let status = self.status();
        let view = match self {
            Error::ConsentRequired(scope) => View::new("需要您的授权")
                .alert(
                    AlertLevel::Warning,
                    format!(
                        "此服务需要您授权{}（授权范围 {scope}）后才能继续。",
                        scope_description(&scope)
                    ),
                )
                .text("授权页由平台提供，会说明共享哪些信息、共享给谁；您可以拒绝，拒绝后仍可使用不需要该授权的功能。")
                .button("去授权", Action::consent(scope)),
            Error::NotSubscribed(template) => View::new("需要您订阅通知")
                .alert(
                    AlertLevel::Warning,
                    "此服务需要先征得您的同意，才能向您发送这类消息。",
                )
                .text("订阅页由平台提供，会说明消息的标题和类型；您可以拒绝，也可以随时在消息页取消订阅。")
                .button("订阅通知", Action::subscribe([template])),
            Error::RateLimited { retry_after_ms } => View::new("请稍后再试").alert(
                AlertLevel::Warning,
                format!(
                    "此服务发送消息过于频繁，请在 {} 后再试。",
                    wait_text(retry_after_ms)
                ),
            ),
            // The reason (an origin, a host name) is for the developer, who
            // finds it in the host's audit record of the call.
            Error::NotPermitted(_) => View::new("无法完成操作")
                .alert(AlertLevel::Error, "此服务没有完成该操作所需的权限，或您尚未登录。"),
            Error::InvalidArgument(field) => View::new("请求有误").alert(
                AlertLevel::Error,
                format!("参数「{field}」不符合要求，请检查后重试。"),
            ),
            Error::QuotaExceeded(quota) => View::new("请稍后再试").alert(
                AlertLevel::Warning,
                format!("此服务的「{quota}」额度已用完，请稍后再试。"),
            ),
            Error::Conflict(key) => View::new("请求冲突").alert(
                AlertLevel::Error,
                format!("「{key}」与之前的请求不一致，请刷新页面后重试。"),
            ),
            Error::Unavailable(_) => View::new("服务暂不可用")
                .alert(AlertLevel::Warning, "平台暂时无法完成该操作，请稍后再试。"),
            Error::BadRequest { field, reason } => View::new("请求有误")
                .alert(AlertLevel::Error, format!("「{field}」{reason}。")),
            Error::NotFound(what) => {
                View::new("未找到").alert(AlertLevel::Info, format!("未找到{what}。"))
            }
            Error::RefundExceeds(fen) => View::new("退款金额超出").alert(
                AlertLevel::Error,
                format!("退款金额超过可退金额，最多还可退 ¥{}.{:02}。", fen / 100, fen % 100),
            ),
            Error::TooLarge(_) | Error::Timeout(_) => View::new("服务暂不可用")
                .alert(AlertLevel::Warning, "提供服务的部门系统暂时没有正常应答，请稍后再试。"),
            Error::InvalidData { key, .. } => View::new("服务出错").alert(
                AlertLevel::Error,
                format!("此服务保存的数据「{key}」无法读取，请联系提供服务的部门。"),
            ),
        };
        Response::view(view.link("返回首页", "/")).status(status)
    }
}

/// A wait in ms as Chinese text: seconds, minutes or hours.
fn wait_text(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    match s {
        0..=59 => format!("{s} 秒"),
        60..=3599 => format!("{} 分钟", s.div_ceil(60)),
        _ => format!("{} 小时", s.div_ceil(3600)),
    }
}

/// What a scope shares, for the consent explanation.
fn scope_description(scope: &str) -> &'static str {
    match scope {
        "auth_user" => "获取您的脱敏姓名、脱敏身份证号和实名认证等级",
        "auth_id_number" => "获取您的姓名和完整身份证号",
        _ => "",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotPermitted(s) => write!(f, "not permitted: {s}"),
            Error::ConsentRequired(scope) => write!(f, "consent required for scope `{scope}`"),
            Error::InvalidArgument(field) => write!(f, "invalid argument `{field}`"),
            Error::QuotaExceeded(quota) => write!(f, "quota `{quota}` exceeded"),
            Error::Conflict(key) => write!(f, "conflict on `{key}`"),
            Error::Unavailable(s) => write!(f, "unavailable: {s}"),
            Error::NotSubscribed(t) => write!(f, "not subscribed to template `{t}`"),
            Error::RateLimited { retry_after_ms } => {
                write!(f, "rate limited; retry in {retry_after_ms} ms")
            }
            Error::BadRequest { field, reason } => write!(f, "bad request: `{field}` {reason}"),
            Error::NotFound(what) => write!(f, "not found: {what}"),
            Error::RefundExceeds(fen) => {
                write!(f, "refund exceeds what is refundable ({fen} fen left)")
            }
            Error::InvalidData { key, reason } => {
                write!(f, "value `{key}` is not valid: {reason}")
            }
            Error::TooLarge(s) => write!(f, "too large: {s}"),
            Error::Timeout(s) => write!(f, "timed out: {s}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for Response {
    fn from(error: Error) -> Self {
        error.into_response()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view_json(error: Error) -> (u16, serde_json::Value) {
        let response = error.into_response();
        let view = response.as_view().expect("error responses are views");
        (response.status_code(), serde_json::to_value(view).unwrap())
    }

    #[test]
    fn refusals_and_outages_do_not_show_the_citizen_the_hosts_reason() {
        for error in [
            Error::NotPermitted("origin http://slots.dept.internal is not allowed".into()),
            Error::Unavailable("resolve slots.dept.internal: failed to lookup".into()),
        ] {
            let (_, view) = view_json(error);
            assert!(!view.to_string().contains("dept.internal"), "{view}");
        }
    }

    #[test]
    fn consent_required_becomes_403_with_a_consent_button() {
        let (status, view) = view_json(Error::ConsentRequired("auth_user".into()));
        assert_eq!(status, 403);
        let blocks = view["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "alert");
        assert!(blocks[0]["text"].as_str().unwrap().contains("auth_user"));
        assert!(blocks.contains(&json!({
            "type": "button",
            "label": "去授权",
            "action": {"kind": "consent", "scope": "auth_user"},
            "style": "primary",
        })));
    }

    #[test]
    fn each_variant_has_its_status_and_names_its_subject() {
        let cases = [
            (Error::NotPermitted("no citizen".into()), 403, "权限"),
            (
                Error::InvalidArgument("amount-fen".into()),
                400,
                "amount-fen",
            ),
            (Error::QuotaExceeded("storage".into()), 429, "storage"),
            (Error::Conflict("out-trade-no".into()), 409, "out-trade-no"),
            (Error::Unavailable("down".into()), 503, "稍后再试"),
            (Error::bad_request("account", "为必填项"), 400, "account"),
            (Error::NotSubscribed("receipt".into()), 403, "receipt"),
            (
                Error::RateLimited {
                    retry_after_ms: 90_000,
                },
                429,
                "2 分钟",
            ),
            (Error::not_found("该账单"), 404, "该账单"),
            (
                Error::InvalidData {
                    key: "k".into(),
                    reason: "eof".into(),
                },
                500,
                "k",
            ),
        ];
        for (error, expected_status, subject) in cases {
            let (status, view) = view_json(error);
            assert_eq!(status, expected_status);
            assert!(view.to_string().contains(subject), "{view}");
        }
    }
}
