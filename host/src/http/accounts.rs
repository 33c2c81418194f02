//! `/api/register/code`, `/api/register`, `/api/login`, `/api/logout`,
//! `/api/me`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::client_addr::ClientAddr;
use super::cookies;
use super::error::ApiResult;
use super::extract::{JsonBody, SignedIn};
use crate::identity::accounts::Citizen;
use crate::platform::Platform;
use cityhost_store::now_ms;

/// Body of login.
#[derive(Deserialize)]
pub(super) struct Credentials {
    phone: String,
    password: String,
}

/// Body of register: the number, the one-time code sent to it, and the
/// password chosen.
#[derive(Deserialize)]
pub(super) struct Registration {
    phone: String,
    code: String,
    password: String,
}

/// Body of a code request.
#[derive(Deserialize)]
pub(super) struct CodeRequest {
    phone: String,
}

/// What the shell shows about the signed-in citizen (masked).
#[derive(Serialize)]
pub(super) struct Me {
    phone_masked: String,
    name_masked: Option<String>,
    /// `1****************X` once verified.
    id_number_masked: Option<String>,
    assurance_level: u8,
}

impl Me {
    fn of(platform: &Platform, c: &Citizen) -> ApiResult<Self> {
        let number = platform.services.accounts.id_number(c)?;
        Ok(Me {
            phone_masked: c.masked_phone(),
            name_masked: c.masked_name(),
            id_number_masked: number.as_deref().map(crate::identity::idcard::mask),
            assurance_level: c.assurance_level,
        })
    }
}

/// `POST /api/register/code {phone}` → `202 {expires_in_s, resend_after_s}`:
/// a one-time code to the number (a notice if it is registered; the answer
/// is the same). Errors: 400 `phone`, 429 with `Retry-After`, 503 when the
/// host sends no SMS.
pub(super) async fn send_code(
    State(platform): State<Arc<Platform>>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<CodeRequest>,
) -> ApiResult<Response> {
    let sent = platform
        .services
        .phone_codes
        .send_registration_code(&body.phone, &client.to_string(), now_ms())
        .await?;
    Ok((StatusCode::ACCEPTED, Json(sent)).into_response())
}

/// `POST /api/register {phone, code, password}` → `201` and the session
/// cookies. Errors: 400 `phone` / `password` / `code` (any code that does
/// not prove the number, whether or not it has an account), 409 `phone`
/// to the holder of a valid code whose number was registered since.
pub(super) async fn register(
    State(platform): State<Arc<Platform>>,
    JsonBody(body): JsonBody<Registration>,
) -> ApiResult<Response> {
    let services = &platform.services;
    let citizen = services
        .accounts
        .register_with_code(
            &services.phone_codes,
            &body.phone,
            &body.code,
            &body.password,
        )
        .await?;
    signed_in(&platform, &citizen, StatusCode::CREATED).await
}

pub(super) async fn login(
    State(platform): State<Arc<Platform>>,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<Response> {
    let citizen = platform
        .services
        .accounts
        .login(&body.phone, &body.password, &client.to_string())
        .await?;
    signed_in(&platform, &citizen, StatusCode::OK).await
}

pub(super) async fn logout(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Response> {
    platform.services.sessions.revoke(&who.session.id).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    cookies::append(response.headers_mut(), cookies::signed_out(&platform));
    Ok(response)
}

pub(super) async fn me(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Me>> {
    Ok(Json(Me::of(&platform, &who.citizen)?))
}

async fn signed_in(
    platform: &Platform,
    citizen: &Citizen,
    status: StatusCode,
) -> ApiResult<Response> {
    let issued = platform.services.sessions.issue(&citizen.id).await?;
    let mut response = (status, Json(Me::of(platform, citizen)?)).into_response();
    cookies::append(
        response.headers_mut(),
        cookies::signed_in(platform, &issued),
    );
    Ok(response)
}
