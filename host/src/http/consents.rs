//! `/api/consents`: the host's consent sheet and the citizen's grants.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, SignedIn};
use crate::identity::consent::Scope;
use crate::manifest::Permission;
use crate::platform::Platform;
use crate::registry::App;

/// What the consent sheet shows: the host, not the app, says what is shared.
#[derive(Serialize)]
pub(super) struct ConsentSheet {
    app_id: String,
    app_name: String,
    department: String,
    /// The department's division, e.g. `杭州市`.
    division: String,
    /// Names from province down to the department's division.
    division_path: Vec<String>,
    scope: Scope,
    fields: Vec<&'static str>,
    /// Codes of `fields`, same order ([`Scope::field_keys`]).
    field_keys: Vec<&'static str>,
    purpose: Option<String>,
    granted: bool,
}

/// A grant as the "me" page lists it.
#[derive(Serialize)]
pub(super) struct GrantView {
    app_id: String,
    app_name: String,
    department: String,
    scope: Scope,
    granted_at: u64,
    purpose: String,
}

/// The citizen's answer on the sheet.
#[derive(Deserialize)]
pub(super) struct Decision {
    app_id: String,
    scope: String,
    decision: String,
}

fn app_and_scope(platform: &Platform, app_id: &str, scope: &str) -> ApiResult<(Arc<App>, Scope)> {
    let app = platform
        .registry
        .get(app_id)
        .ok_or_else(|| ApiError::not_found("app"))?;
    if !app.manifest.permits(Permission::Identity) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this service does not declare the identity permission and cannot ask for consent",
        ));
    }
    let scope = Scope::parse(scope).ok_or_else(|| ApiError::invalid("scope", "unknown scope"))?;
    if scope.needs_consent() && app.manifest.purpose(scope.name()).is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this service declares no purpose for `{}` and cannot ask for it",
                scope.name()
            ),
        ));
    }
    Ok((app, scope))
}

pub(super) async fn sheet(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path((app_id, scope)): Path<(String, String)>,
) -> ApiResult<Json<ConsentSheet>> {
    let (app, scope) = app_and_scope(&platform, &app_id, &scope)?;
    let granted = platform
        .services
        .consents
        .is_granted(&who.citizen.id, &app_id, scope)
        .await?;
    Ok(Json(ConsentSheet {
        app_id,
        app_name: app.manifest.name.clone(),
        department: app.manifest.department.name.clone(),
        division: app
            .division_path
            .last()
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        division_path: app.division_path.iter().map(|d| d.name.clone()).collect(),
        fields: scope.fields(&app.manifest.identity.user_fields),
        field_keys: scope.field_keys(&app.manifest.identity.user_fields),
        purpose: app.manifest.purpose(scope.name()).map(str::to_string),
        scope,
        granted,
    }))
}

pub(super) async fn decide(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    JsonBody(body): JsonBody<Decision>,
) -> ApiResult<StatusCode> {
    let (app, scope) = app_and_scope(&platform, &body.app_id, &body.scope)?;
    match body.decision.as_str() {
        "grant" => {
            let purpose = app.manifest.purpose(scope.name()).unwrap_or_default();
            platform
                .services
                .consents
                .grant(&who.citizen.id, &body.app_id, scope, purpose)
                .await?;
        }
        // A refusal records nothing: the app keeps working without the data.
        "deny" => {}
        _ => return Err(ApiError::invalid("decision", "use \"grant\" or \"deny\"")),
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn revoke(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path((app_id, scope)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let scope = Scope::parse(&scope).ok_or_else(|| ApiError::invalid("scope", "unknown scope"))?;
    platform
        .services
        .consents
        .revoke(&who.citizen.id, &app_id, scope)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Vec<GrantView>>> {
    let grants = platform.services.consents.list(&who.citizen.id).await?;
    Ok(Json(
        grants
            .into_iter()
            .map(|g| {
                let (app_name, department) = platform.registry.display_names(&g.app_id);
                GrantView {
                    app_name,
                    department,
                    app_id: g.app_id,
                    scope: g.scope,
                    granted_at: g.granted_at,
                    purpose: g.purpose,
                }
            })
            .collect(),
    ))
}
