//! `/dev/sms` and `/dev/sms.json`: the messages the development SMS channel
//! ([`crate::sms::DevSms`]) would have sent, newest first — how a developer
//! or a test reads a one-time code. Routed only when the host uses that
//! channel (`cityhost demo`, `cityhost dev`, `cityhost serve --dev-sms`);
//! a host with an SMS gateway has no such page.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;

use crate::platform::Platform;
use crate::sms::{DevSms, DevSmsEntry};

/// The page's routes, when `platform` sends through the development
/// channel; none otherwise.
pub(super) fn routes(platform: &Platform) -> Router<Arc<Platform>> {
    match &platform.dev_sms {
        Some(_) => Router::new()
            .route("/dev/sms", get(page))
            .route("/dev/sms.json", get(list)),
        None => Router::new(),
    }
}

fn recent(platform: &Platform) -> Vec<DevSmsEntry> {
    platform
        .dev_sms
        .as_deref()
        .map(DevSms::recent)
        .unwrap_or_default()
}

async fn list(State(platform): State<Arc<Platform>>) -> Json<Vec<DevSmsEntry>> {
    Json(recent(&platform))
}

async fn page(State(platform): State<Arc<Platform>>) -> Html<String> {
    let mut rows = String::new();
    for m in recent(&platform) {
        let at = utc(m.sent_at);
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&at),
            escape(&m.phone),
            escape(m.template),
            escape(&m.text)
        ));
    }
    Html(format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>Development SMS</title></head><body>\
         <h1>Development SMS</h1>\
         <p>Messages this development host would have sent (newest first, the last {}). \
         Nothing here reached a phone.</p>\
         <table border=\"1\" cellpadding=\"4\"><thead><tr><th>UTC</th><th>phone</th>\
         <th>template</th><th>text</th></tr></thead><tbody>\n{rows}</tbody></table>\
         </body></html>",
        DevSms::KEPT
    ))
}

/// RFC 3339 UTC time from UTC ms.
fn utc(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
