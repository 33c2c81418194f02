//! `/api/orders`: the citizen's orders and receipts, the confirmation with
//! the payment PIN, and cancellation.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use cityhost_store::now_ms;
use serde::{Deserialize, Serialize};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{JsonBody, SignedIn};
use crate::payments::orders::Owner;
use crate::payments::{Order, OrderState, Refund, StateChange};
use crate::platform::Platform;

/// Orders listed at once.
const ORDERS_PAGE: usize = 200;

/// An order as the shell shows it (list and receipt).
#[derive(Serialize)]
pub(super) struct OrderView {
    order_id: String,
    out_trade_no: String,
    app_id: String,
    app_name: String,
    department: String,
    subject: String,
    amount_fen: u64,
    refunded_fen: u64,
    state: OrderState,
    created_at: u64,
    paid_at: Option<u64>,
    expires_at: u64,
    return_path: String,
    history: Vec<StateChange>,
    /// Only on the single-order view (the receipt).
    #[serde(skip_serializing_if = "Option::is_none")]
    refunds: Option<Vec<Refund>>,
}

impl OrderView {
    fn new(platform: &Platform, order: Order) -> Self {
        let (app_name, department) = platform.registry.display_names(&order.app_id);
        OrderView {
            state: order.state_at(now_ms()),
            // The payee's name as the app's manifest gives it now; the
            // order itself keeps the department's code (its merchant
            // account), shown when the app is gone.
            department: if department.is_empty() {
                order.department
            } else {
                department
            },
            order_id: order.order_id,
            out_trade_no: order.out_trade_no,
            app_id: order.app_id,
            app_name,
            subject: order.subject,
            amount_fen: order.amount_fen,
            refunded_fen: order.refunded_fen,
            created_at: order.created_at,
            paid_at: order.paid_at,
            expires_at: order.expires_at,
            return_path: order.return_path,
            history: order.history,
            refunds: None,
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
        .for_citizen(&who.citizen.id, ORDERS_PAGE)
        .await?;
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
    let payments = &platform.services.payments;
    let order = payments
        .get(&order_id)
        .await?
        .filter(|o| o.citizen_id == who.citizen.id)
        .ok_or_else(|| ApiError::not_found("order"))?;
    let refunds = payments.refunds_of(&order).await?;
    let mut view = OrderView::new(&platform, order);
    view.refunds = Some(refunds);
    Ok(Json(view))
}

/// Body of a confirmation: the order id again and the payment PIN.
/// Requiring a JSON body that repeats the id means a form post (what a
/// mini-app's view actions send) can never confirm a payment, whatever path
/// it names; the PIN means only the citizen can.
#[derive(Deserialize)]
pub(super) struct Confirmation {
    order_id: String,
    pin: String,
}

/// The citizen confirms with their PIN: the order becomes paid (durably)
/// and the app is told by event.
pub(super) async fn confirm(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(order_id): Path<String>,
    JsonBody(body): JsonBody<Confirmation>,
) -> ApiResult<Json<OrderView>> {
    same_order(&body.order_id, &order_id)?;
    let services = &platform.services;
    let citizen_id = &who.citizen.id;
    let payments = &services.payments;
    // Answer "not yours" and "not payable" before asking for the PIN.
    let order = payments
        .get(&order_id)
        .await?
        .filter(|o| &o.citizen_id == citizen_id)
        .ok_or_else(|| ApiError::not_found("order"))?;
    let state = order.state_at(now_ms());
    if state != OrderState::Created {
        return Err(crate::error::ServiceError::Conflict {
            field: "state",
            reason: format!("the order is {}, not payable", state.name()),
        }
        .into());
    }
    let verified = services.pins.verify(citizen_id, &body.pin).await?;
    let order = payments.pay(&verified, &order_id).await?;
    tracing::info!(app = %order.app_id, order_id = %order.order_id, amount_fen = order.amount_fen, "order paid");
    Ok(Json(OrderView::new(&platform, order)))
}

/// The body must repeat the path's order id.
fn same_order(body: &str, path: &str) -> ApiResult<()> {
    if body == path {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "order_id",
            "the body's order_id must match the path",
        ))
    }
}

/// Body of a cancellation: the order id again.
#[derive(Deserialize)]
pub(super) struct Cancellation {
    order_id: String,
}

/// The citizen cancels a created order.
pub(super) async fn cancel(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(order_id): Path<String>,
    JsonBody(body): JsonBody<Cancellation>,
) -> ApiResult<Json<OrderView>> {
    same_order(&body.order_id, &order_id)?;
    let order = platform
        .services
        .payments
        .cancel(&order_id, Owner::Citizen(&who.citizen.id))
        .await?;
    Ok(Json(OrderView::new(&platform, order)))
}
