//! Events the host sends to mini-apps: POST requests to reserved paths of
//! the same component (`/_cityhost/events/{type}`), on behalf of the citizen
//! concerned, with a JSON body.
//!
//! Delivery is retried with growing pauses until the app answers 2xx
//! ([`RETRY_DELAYS`]). This schedule lives in memory: a restart drops
//! pending retries (the app can still query the order).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::gateway::{AppRequest, EVENT_PATH_PREFIX};
use crate::payments::{Order, OrderState};
use crate::platform::Platform;
use crate::runtime::bindings::Method;

/// Pauses before each retry after the first attempt.
pub const RETRY_DELAYS: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
];

/// The body of `payment.succeeded`: the order as the app sees it (no
/// citizen id). Times are UTC ms; amounts fen.
#[derive(Debug, Serialize)]
pub struct OrderEvent<'a> {
    /// Event type, `payment.succeeded`.
    pub event: &'static str,
    /// Host order id.
    pub order_id: &'a str,
    /// The app's order number.
    pub out_trade_no: &'a str,
    /// Amount, fen.
    pub amount_fen: u64,
    /// What was paid for.
    pub subject: &'a str,
    /// Order state.
    pub state: OrderState,
    /// Creation time, UTC ms.
    pub created_at: u64,
    /// Payment time, UTC ms.
    pub paid_at: Option<u64>,
    /// Host payment page.
    pub pay_url: String,
}

/// Sends `payment.succeeded` for a paid order to its app, in the background.
pub fn payment_succeeded(platform: Arc<Platform>, order: Order) {
    tokio::spawn(async move {
        let body = serde_json::to_vec(&OrderEvent {
            event: "payment.succeeded",
            order_id: &order.order_id,
            out_trade_no: &order.out_trade_no,
            amount_fen: order.amount_fen,
            subject: &order.subject,
            state: order.state,
            created_at: order.created_at,
            paid_at: order.paid_at,
            pay_url: order.pay_url(),
        })
        .expect("event serialises");
        deliver(
            &platform,
            &order.app_id,
            &order.citizen_id,
            "payment.succeeded",
            body,
        )
        .await;
    });
}

/// Delivers one event with retries; returns whether the app accepted it.
pub async fn deliver(
    platform: &Platform,
    app_id: &str,
    citizen_id: &str,
    event: &str,
    body: Vec<u8>,
) -> bool {
    let mut delays = RETRY_DELAYS.iter();
    for attempt in 1.. {
        // Look the app up on every try: a new release takes the retry.
        let outcome = match platform.registry.get(app_id) {
            Some(app) => {
                let request = AppRequest {
                    method: Method::Post,
                    path: format!("{EVENT_PATH_PREFIX}events/{event}"),
                    query: Vec::new(),
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-cityhost-event".into(), event.into()),
                    ],
                    body: body.clone(),
                };
                match platform.call_app(&app, Some(citizen_id), request).await {
                    Ok(response) if (200..300).contains(&response.status) => return true,
                    Ok(response) => format!("status {}", response.status),
                    Err(e) => e.to_string(),
                }
            }
            None => "app not loaded".to_string(),
        };
        let Some(delay) = delays.next() else {
            tracing::error!(
                app = app_id,
                event,
                attempt,
                outcome,
                "event not delivered; giving up"
            );
            return false;
        };
        tracing::warn!(app = app_id, event, attempt, outcome, retry_in = ?delay, "event not accepted; will retry");
        tokio::time::sleep(*delay).await;
    }
    unreachable!("the loop returns")
}
