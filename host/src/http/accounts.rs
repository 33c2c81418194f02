//! `/api/register`, `/api/login`, `/api/logout`, `/api/me`.

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

/// Body of register and login.
#[derive(Deserialize)]
pub(super) struct Credentials {
    phone: String,
    password: String,
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

pub(super) async fn register(
    State(platform): State<Arc<Platform>>,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<Response> {
    let citizen = platform
        .services
        .accounts
        .register(&body.phone, &body.password)
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
