//! Identity over HTTP: real-name verification of the signed-in citizen
//! (`POST /api/me/verification`), the ID-token public keys
//! (`GET /.well-known/jwks.json`) and the operator's key rotation and
//! population import (`POST /api/operator/id-keys/rotate`,
//! `POST /api/operator/population`).
//!
//! Verification errors, each its own answer, in the order the checks run:
//!
//! | status | code | field | reason |
//! | --- | --- | --- | --- |
//! | 400 | `invalid_argument` | `name` | `length`, `characters` |
//! | 400 | `invalid_argument` | `id_number` | `format`, `birth_date`, `province`, `check_character` |
//! | 422 | `identity_mismatch` | `name` | — |
//! | 429 | `rate_limited` | — | mismatch limits (`identity::verify_throttle`), with `Retry-After` |
//! | 422 | `identity_mismatch` | `name` | — |
//! | 409 | `conflict` | `id_number` | `already_verified` (this account, another identity) |
//! | 409 | `identity_held` | `id_number` | `held_by_another_account`: appeal (`http::appeals`) |
//! | 503 | `unavailable` | — | `identity_authority` |

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use serde::Serialize;

use super::auth::OperatorAuth;
use super::client_addr::ClientAddr;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, SignedIn};
use crate::identity::accounts::Citizen;
use crate::identity::authority::ImportReport;
use crate::identity::id_tokens::Rotation;
use crate::identity::verification::VerifyError;
use crate::platform::Platform;

/// Routes under `/api`.
pub(super) fn api_routes() -> axum::Router<Arc<Platform>> {
    axum::Router::new()
        .route("/me/verification", post(verify))
        .route("/operator/id-keys/rotate", post(rotate))
        .route("/operator/population", post(import_population))
}

/// A string field of the verification body. The body is read as loose
/// JSON and each field taken by hand, so that a wrongly typed value (an
/// identity number sent as a JSON number) is refused without serde quoting
/// it in the error message.
pub(super) fn text_field<'a>(
    body: &'a serde_json::Value,
    field: &'static str,
) -> ApiResult<&'a str> {
    match body.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError {
            reason: Some("format"),
            ..ApiError::invalid(field, "send this field as a JSON string")
        }),
        None => Err(ApiError::invalid(field, format!("missing field `{field}`"))),
    }
}

/// The answer to a successful verification (masked).
#[derive(Serialize)]
pub(super) struct Verified {
    name_masked: Option<String>,
    id_number_masked: String,
    assurance_level: u8,
}

impl Verified {
    /// The masked answer for a verified `citizen`.
    pub(super) fn of(platform: &Platform, citizen: &Citizen) -> ApiResult<Self> {
        let number = platform
            .services
            .accounts
            .id_number(citizen)?
            .unwrap_or_default();
        Ok(Self {
            name_masked: citizen.masked_name(),
            id_number_masked: crate::identity::idcard::mask(&number),
            assurance_level: citizen.assurance_level,
        })
    }
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        let message = e.to_string();
        match e {
            VerifyError::Name(e) => ApiError {
                reason: Some(e.reason()),
                ..ApiError::invalid("name", e.to_string())
            },
            VerifyError::IdNumber(e) => ApiError {
                reason: Some(e.reason()),
                ..ApiError::invalid("id_number", e.to_string())
            },
            VerifyError::Mismatch => ApiError {
                field: Some("name".into()),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "identity_mismatch",
                    message,
                )
            },
            VerifyError::AlreadyVerified => ApiError {
                field: Some("id_number".into()),
                reason: Some("already_verified"),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", message)
            },
            VerifyError::HeldByAnother => ApiError {
                field: Some("id_number".into()),
                reason: Some("held_by_another_account"),
                ..ApiError::new(StatusCode::CONFLICT, "identity_held", message)
            },
            VerifyError::Authority(e) => {
                tracing::warn!(error = %e, "identity authority");
                ApiError {
                    reason: Some("identity_authority"),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the identity authority cannot answer now; try again later",
                    )
                }
            }
            VerifyError::Service(e) => e.into(),
        }
    }
}

async fn verify(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    ClientAddr(client): ClientAddr,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Json<Verified>> {
    let (name, id_number) = (text_field(&body, "name")?, text_field(&body, "id_number")?);
    let citizen = platform
        .services
        .real_name
        .verify(&who.citizen, name, id_number, &client.to_string())
        .await?;
    Ok(Json(Verified::of(&platform, &citizen)?))
}

/// `GET /.well-known/jwks.json`: the ID-token public keys (RFC 7517),
/// cacheable for a minute.
pub(super) async fn jwks(State(platform): State<Arc<Platform>>) -> ApiResult<impl IntoResponse> {
    let jwks = platform.services.id_tokens.jwks()?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=60")], Json(jwks)))
}

async fn rotate(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
) -> ApiResult<Json<Rotation>> {
    let rotation = platform.services.id_tokens.rotate().map_err(|e| {
        tracing::error!(error = %e, "rotating the ID-token key");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the ID-token key file cannot be written",
        )
    })?;
    tracing::info!(new_kid = %rotation.new_kid, retired_kid = ?rotation.retired_kid, "rotated the ID-token signing key");
    who.record(&platform, "id-key.rotate", &rotation.new_kid, "")
        .await?;
    Ok(Json(rotation))
}

/// `POST /api/operator/population` with a `text/csv` body of
/// `name,id_number` rows (at most 2 MiB, axum's body limit; import larger
/// files with `cityhost import-population`): imports them into the host's
/// population registry; the report lists refused rows by line.
async fn import_population(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportReport>> {
    who.record(
        &platform,
        "population.import",
        "population",
        &format!("{} bytes", body.len()),
    )
    .await?;
    let report = platform
        .services
        .population
        .import_csv(std::io::Cursor::new(body), crate::directory::is_province)
        .await?;
    Ok(Json(report))
}
