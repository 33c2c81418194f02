//! `/api/orders`: the citizen's orders and the host's payment confirmation.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, SignedIn};
use crate::payments::{Order, OrderState};
use crate::platform::Platform;
use crate::store::now_ms;

/// Orders listed at once.
const ORDERS_PAGE: usize = 200;

/// An order as the shell shows it.
#[derive(Serialize)]
pub(super) struct OrderView {
    order_id: String,
    app_id: String,
    app_name: String,
    department: String,
    subject: String,
    amount_fen: u64,
    state: OrderState,
    created_at: u64,
    paid_at: Option<u64>,
    return_path: String,
}

impl OrderView {
    fn new(platform: &Platform, order: Order) -> Self {
        let (app_name, department) = platform.registry.display_names(&order.app_id);
        OrderView {
            state: order.state_at(now_ms()),
            order_id: order.order_id,
            app_id: order.app_id,
            app_name,
            department,
            subject: order.subject,
            amount_fen: order.amount_fen,
            created_at: order.created_at,
            paid_at: order.paid_at,
            return_path: order.return_path,
        }
    }
}

pub(super) async fn list(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Vec<OrderView>>> {
    let orders = platform
        .services
        .payments
        .for_citizen(&who.citizen.id, ORDERS_PAGE)?;
    Ok(Json(
        orders
            .into_iter()
            .map(|o| OrderView::new(&platform, o))
            .collect(),
    ))
}

pub(super) async fn get(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(order_id): Path<String>,
) -> ApiResult<Json<OrderView>> {
    let order = platform
        .services
        .payments
        .get(&order_id)?
        .filter(|o| o.citizen_id == who.citizen.id)
        .ok_or_else(|| ApiError::not_found("order"))?;
    Ok(Json(OrderView::new(&platform, order)))
}

/// Body of a confirmation: the order id again. Requiring a JSON body that
/// repeats the id means a form post (what a mini-app's view actions send)
/// can never confirm a payment, whatever path it names.
#[derive(Deserialize)]
pub(super) struct Confirmation {
    order_id: String,
}

/// The citizen confirms: the order becomes paid and the app is told.
pub(super) async fn confirm(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(order_id): Path<String>,
    JsonBody(body): JsonBody<Confirmation>,
) -> ApiResult<Json<OrderView>> {
    if body.order_id != order_id {
        return Err(ApiError::invalid(
            "order_id",
            "the body's order_id must match the path",
        ));
    }
    let order = platform
        .services
        .payments
        .confirm(&who.citizen.id, &order_id)?;
    tracing::info!(app = %order.app_id, order_id = %order.order_id, amount_fen = order.amount_fen, "order paid");
    crate::events::payment_succeeded(platform.clone(), order.clone());
    Ok(Json(OrderView::new(&platform, order)))
}
