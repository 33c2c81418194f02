//! The publishing API.
//!
//! Department API (bearer department token with the `publish` scope), under
//! `/api/publish`:
//! - `GET  /department` — the caller's account;
//! - `POST /keys` `{public_key}` — register an Ed25519 signing key;
//! - `POST /packages` — upload a signed package (`PackageUpload` JSON, at most
//!   14 MiB; component at most 10 MiB) → 201 version record;
//! - `GET  /apps/{app}` — versions and release plan;
//! - `POST /apps/{app}/versions/{version}/submit` — submit for review;
//! - `PUT  /apps/{app}/versions/{version}/trial` `{testers: [openid]}`.
//!
//! Operator API (bearer operator token), under `/api/operator`:
//! departments (create, list, get, assign app, register key), tokens (issue,
//! list, revoke), the review queue, approve / reject, release percentage,
//! rollback, caps, and the operator action log. Every change is recorded in
//! the operator log.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use super::auth::{DepartmentAuth, OperatorAuth};
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use crate::platform::Platform;
use crate::publishing::departments::{DepartmentAccount, NewDepartment, SigningKeyRecord};
use crate::publishing::operators::OperatorAction;
use crate::publishing::package::{DecodeError, MAX_PACKAGE_BODY_BYTES, PackageUpload};
use crate::publishing::review_queue::ReviewItem;
use crate::publishing::rules::Decision;
use crate::publishing::tokens::{IssuedToken, TokenRecord, TokenScope};
use crate::publishing::versions::{ReleasePlan, VersionRecord};
use crate::publishing::{OperatorCaps, PublishError};
use crate::runtime::LoadError;

/// The publishing routes, to be nested under `/api`.
pub(super) fn routes() -> Router<Arc<Platform>> {
    Router::new()
        .route("/publish/department", get(own_department))
        .route("/publish/keys", post(own_key))
        .route("/publish/packages", post(upload))
        .route("/publish/apps/{app}", get(own_app))
        .route(
            "/publish/apps/{app}/versions/{version}/submit",
            post(submit),
        )
        .route("/publish/apps/{app}/versions/{version}/trial", put(trial))
        .route(
            "/operator/departments",
            get(list_departments).post(create_department),
        )
        .route("/operator/departments/{uscc}", get(get_department))
        .route("/operator/departments/{uscc}/name", put(rename_department))
        .route("/operator/departments/{uscc}/apps", post(assign_app))
        .route("/operator/departments/{uscc}/keys", post(add_key))
        .route(
            "/operator/departments/{uscc}/tokens",
            get(list_tokens).post(issue_token),
        )
        .route("/operator/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/operator/review", get(review_queue))
        .route("/operator/apps/{app}", get(operator_app))
        .route(
            "/operator/apps/{app}/versions/{version}/approve",
            post(approve),
        )
        .route(
            "/operator/apps/{app}/versions/{version}/reject",
            post(reject),
        )
        .route(
            "/operator/apps/{app}/versions/{version}/release",
            post(release),
        )
        .route("/operator/apps/{app}/rollback", post(rollback))
        .route("/operator/caps", get(get_caps).put(set_caps))
        .route("/operator/actions", get(actions))
}

impl From<PublishError> for ApiError {
    fn from(e: PublishError) -> Self {
        let message = e.to_string();
        let (status, code, field): (StatusCode, &'static str, String) = match e {
            PublishError::Decode(DecodeError::TooLarge(_)) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "package_too_large",
                "component".into(),
            ),
            PublishError::Decode(DecodeError::ManifestTooLarge) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "package_too_large",
                "manifest".into(),
            ),
            PublishError::Decode(DecodeError::Field { field, .. }) => {
                (StatusCode::BAD_REQUEST, "invalid_argument", field.into())
            }
            PublishError::Manifest(crate::manifest::ManifestError::Invalid { field, .. }) => (
                StatusCode::BAD_REQUEST,
                "invalid_manifest",
                format!("manifest.{field}"),
            ),
            PublishError::Manifest(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_manifest",
                "manifest".into(),
            ),
            PublishError::WrongDepartment(_) => (
                StatusCode::FORBIDDEN,
                "wrong_department",
                "manifest.id".into(),
            ),
            PublishError::OtherDepartment { .. } => (
                StatusCode::FORBIDDEN,
                "wrong_department",
                "manifest.department.uscc".into(),
            ),
            PublishError::DepartmentMismatch { field, .. } => (
                StatusCode::BAD_REQUEST,
                "department_mismatch",
                format!("manifest.{field}"),
            ),
            PublishError::BadSignature => {
                (StatusCode::BAD_REQUEST, "bad_signature", "signature".into())
            }
            PublishError::VersionNotIncreasing { .. } => (
                StatusCode::CONFLICT,
                "version_not_increasing",
                "manifest.version".into(),
            ),
            PublishError::Component(LoadError::UndeclaredImport { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "undeclared_import",
                "manifest.permissions".into(),
            ),
            PublishError::Component(LoadError::Invalid(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_component",
                "component".into(),
            ),
            PublishError::Component(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_miniapp",
                "component".into(),
            ),
            PublishError::OriginOverCap { index, .. } => (
                StatusCode::BAD_REQUEST,
                "over_cap",
                format!("manifest.http.allow[{index}]"),
            ),
            PublishError::OverCap { field, .. } => (
                StatusCode::BAD_REQUEST,
                "over_cap",
                format!("manifest.{field}"),
            ),
            PublishError::Service(e) => return e.into(),
        };
        ApiError {
            field: Some(field),
            ..ApiError::new(status, code, message)
        }
    }
}

// ---- department API ----------------------------------------------------

async fn own_department(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
) -> ApiResult<Json<DepartmentAccount>> {
    who.require(TokenScope::Publish)?;
    let departments = &platform.services.publishing.departments;
    let apps = departments.apps(&who.department.uscc).await?;
    Ok(Json(DepartmentAccount {
        department: who.department,
        apps,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyBody {
    public_key: String,
}

async fn own_key(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    JsonBody(body): JsonBody<KeyBody>,
) -> ApiResult<(StatusCode, Json<SigningKeyRecord>)> {
    who.require(TokenScope::Publish)?;
    let record = platform
        .services
        .publishing
        .departments
        .add_key(&who.department.uscc, &body.public_key)
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

async fn upload(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    request: Request,
) -> ApiResult<(StatusCode, Json<VersionRecord>)> {
    who.require(TokenScope::Publish)?;
    super::extract::require_json(request.headers(), "the package")?;
    let bytes = axum::body::to_bytes(request.into_body(), MAX_PACKAGE_BODY_BYTES)
        .await
        .map_err(|_| ApiError {
            code: "package_too_large",
            ..ApiError::body_too_large("14 MiB (a component of at most 10 MiB)")
        })?;
    let upload: PackageUpload = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid("body", format!("not a package: {e}")))?;
    let package = upload.decode().map_err(PublishError::from)?;
    let record = platform.upload_package(&who.department, &package).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// An app's versions and what citizens are shown.
#[derive(Serialize)]
pub(super) struct AppVersions {
    app_id: String,
    versions: Vec<VersionRecord>,
    plan: ReleasePlan,
}

async fn app_versions(platform: &Platform, app: &str) -> ApiResult<Json<AppVersions>> {
    let versions = &platform.services.publishing.versions;
    Ok(Json(AppVersions {
        app_id: app.to_string(),
        versions: versions.list(app).await?,
        plan: versions.plan(app).await?,
    }))
}

async fn own_app(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<AppVersions>> {
    who.require(TokenScope::Publish)?;
    let departments = &platform.services.publishing.departments;
    if !departments.owns(&who.department.uscc, &app).await? {
        return Err(ApiError::not_found("app"));
    }
    app_versions(&platform, &app).await
}

async fn submit(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path((app, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionRecord>> {
    who.require(TokenScope::Publish)?;
    Ok(Json(
        platform
            .services
            .publishing
            .submit_for_review(&who.department.uscc, &app, &version)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrialBody {
    testers: Vec<String>,
}

async fn trial(
    State(platform): State<Arc<Platform>>,
    who: DepartmentAuth,
    Path((app, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<TrialBody>,
) -> ApiResult<Json<ReleasePlan>> {
    who.require(TokenScope::Publish)?;
    Ok(Json(
        platform
            .set_trial(&who.department.uscc, &app, &version, body.testers)
            .await?,
    ))
}

// ---- operator API ------------------------------------------------------

async fn create_department(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    JsonBody(new): JsonBody<NewDepartment>,
) -> ApiResult<(StatusCode, Json<DepartmentAccount>)> {
    let publishing = &platform.services.publishing;
    let department = publishing
        .departments
        .create(new, &platform.services.directory)
        .await?;
    publishing
        .operators
        .record(
            &who.operator.name,
            "department.create",
            &department.department.uscc,
            &department.department.name,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(department)))
}

async fn list_departments(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
) -> ApiResult<Json<Vec<DepartmentAccount>>> {
    Ok(Json(platform.services.publishing.departments.list().await?))
}

async fn get_department(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    Path(uscc): Path<String>,
) -> ApiResult<Json<DepartmentAccount>> {
    platform
        .services
        .publishing
        .departments
        .account(&uscc)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("department"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NameBody {
    name: String,
}

/// `PUT /api/operator/departments/{uscc}/name` `{"name": "..."}`: renames
/// the department; its code, and so every unionid, merchant account and
/// token, stays. Answers the account.
async fn rename_department(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(uscc): Path<String>,
    JsonBody(body): JsonBody<NameBody>,
) -> ApiResult<Json<DepartmentAccount>> {
    let publishing = &platform.services.publishing;
    let department = publishing.departments.rename(&uscc, &body.name).await?;
    publishing
        .operators
        .record(&who.operator.name, "department.rename", &uscc, &body.name)
        .await?;
    let apps = publishing.departments.apps(&uscc).await?;
    Ok(Json(DepartmentAccount { department, apps }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AppBody {
    app_id: String,
}

async fn assign_app(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(uscc): Path<String>,
    JsonBody(body): JsonBody<AppBody>,
) -> ApiResult<Json<DepartmentAccount>> {
    let publishing = &platform.services.publishing;
    publishing
        .departments
        .assign_app(&uscc, &body.app_id)
        .await?;
    publishing
        .operators
        .record(
            &who.operator.name,
            "department.assign_app",
            &uscc,
            &body.app_id,
        )
        .await?;
    let department = publishing.departments.account(&uscc).await?;
    department
        .map(Json)
        .ok_or_else(|| ApiError::not_found("department"))
}

async fn add_key(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(uscc): Path<String>,
    JsonBody(body): JsonBody<KeyBody>,
) -> ApiResult<(StatusCode, Json<SigningKeyRecord>)> {
    let publishing = &platform.services.publishing;
    let record = publishing
        .departments
        .add_key(&uscc, &body.public_key)
        .await?;
    publishing
        .operators
        .record(&who.operator.name, "department.add_key", &uscc, &record.id)
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TokenBody {
    scopes: Vec<TokenScope>,
    lifetime_secs: Option<u64>,
}

async fn issue_token(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(uscc): Path<String>,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let publishing = &platform.services.publishing;
    if publishing.departments.get(&uscc).await?.is_none() {
        return Err(ApiError::not_found("department"));
    }
    let issued = publishing
        .tokens
        .issue(&uscc, &body.scopes, body.lifetime_secs)
        .await?;
    publishing
        .operators
        .record(&who.operator.name, "token.issue", &uscc, &issued.record.id)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

async fn list_tokens(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    Path(uscc): Path<String>,
) -> ApiResult<Json<Vec<TokenRecord>>> {
    Ok(Json(platform.services.publishing.tokens.list(&uscc).await?))
}

async fn revoke_token(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenRecord>> {
    let publishing = &platform.services.publishing;
    let record = publishing.tokens.revoke(&id).await?;
    publishing
        .operators
        .record(&who.operator.name, "token.revoke", &record.department, &id)
        .await?;
    Ok(Json(record))
}

/// `GET /api/operator/review`: the versions waiting, each with what the
/// reviewer weighs ([`ReviewItem`]).
async fn review_queue(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
) -> ApiResult<Json<Vec<ReviewItem>>> {
    Ok(Json(platform.services.publishing.review_items().await?))
}

async fn operator_app(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<AppVersions>> {
    app_versions(&platform, &app).await
}

async fn approve(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path((app, version)): Path<(String, String)>,
) -> ApiResult<Json<VersionRecord>> {
    Ok(Json(
        platform
            .services
            .publishing
            .review(&who.operator.name, &app, &version, Decision::Approve)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RejectBody {
    reason: String,
}

async fn reject(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path((app, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<RejectBody>,
) -> ApiResult<Json<VersionRecord>> {
    Ok(Json(
        platform
            .services
            .publishing
            .review(
                &who.operator.name,
                &app,
                &version,
                Decision::Reject(body.reason),
            )
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReleaseBody {
    percent: u8,
}

async fn release(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path((app, version)): Path<(String, String)>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> ApiResult<Json<ReleasePlan>> {
    Ok(Json(
        platform
            .release(&who.operator.name, &app, &version, body.percent)
            .await?,
    ))
}

async fn rollback(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    Path(app): Path<String>,
) -> ApiResult<Json<ReleasePlan>> {
    Ok(Json(platform.rollback(&who.operator.name, &app).await?))
}

async fn get_caps(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
) -> ApiResult<Json<OperatorCaps>> {
    Ok(Json(platform.services.publishing.caps().await?))
}

async fn set_caps(
    State(platform): State<Arc<Platform>>,
    who: OperatorAuth,
    JsonBody(caps): JsonBody<OperatorCaps>,
) -> ApiResult<Json<OperatorCaps>> {
    let publishing = &platform.services.publishing;
    let caps = publishing.set_caps(caps).await?;
    platform.outbound.set_domains(caps.http_domains.clone());
    platform.operator_settings_changed().await;
    publishing
        .operators
        .record(
            &who.operator.name,
            "caps.set",
            "",
            &serde_json::to_string(&caps).unwrap_or_default(),
        )
        .await?;
    Ok(Json(caps))
}

#[derive(Deserialize)]
pub(super) struct ActionsQuery {
    #[serde(default)]
    from: u64,
    to: Option<u64>,
    limit: Option<usize>,
}

async fn actions(
    State(platform): State<Arc<Platform>>,
    _who: OperatorAuth,
    query: Result<Query<ActionsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<OperatorAction>>> {
    let Query(q) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let to = q.to.unwrap_or_else(|| cityhost_store::now_ms() + 1);
    let limit = q.limit.unwrap_or(1000).min(1000);
    Ok(Json(
        platform
            .services
            .publishing
            .operators
            .actions(q.from, to, limit)
            .await?,
    ))
}
