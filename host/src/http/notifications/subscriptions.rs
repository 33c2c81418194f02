//! `/api/subscriptions`: the host's subscription sheet (what the app asks
//! to send, said by the host from the manifest), the citizen's decisions,
//! their subscriptions and cancelling one.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{JsonBody, SignedIn};
use crate::manifest::notify::{Template, TemplateKind};
use crate::notifications::subscriptions::MAX_PER_SHEET;
use crate::platform::Platform;
use crate::registry::App;

/// A template as the sheet shows it.
#[derive(Serialize)]
pub(super) struct TemplateView {
    id: String,
    title: String,
    kind: TemplateKind,
    /// Whether the citizen already has a live subscription to it.
    subscribed: bool,
}

/// The subscription sheet.
#[derive(Serialize)]
pub(super) struct Sheet {
    app_id: String,
    app_name: String,
    department: String,
    templates: Vec<TemplateView>,
}

/// `?templates=a,b,c`.
#[derive(Deserialize)]
pub(super) struct SheetQuery {
    templates: Option<String>,
}

/// The app and the templates asked for: 1-3 distinct, declared,
/// subscribable ones.
fn asked<'a>(app: &'a App, ids: &[&str]) -> ApiResult<Vec<&'a Template>> {
    if ids.is_empty() || ids.len() > MAX_PER_SHEET {
        return Err(ApiError::invalid(
            "templates",
            format!("ask for 1-{MAX_PER_SHEET} templates at once"),
        ));
    }
    let mut out: Vec<&Template> = Vec::with_capacity(ids.len());
    for id in ids {
        let template = app.manifest.notify.template(id).ok_or_else(|| {
            ApiError::invalid(
                "templates",
                format!("the service declares no template `{id}`"),
            )
        })?;
        if template.kind == TemplateKind::Receipt {
            return Err(ApiError::invalid(
                "templates",
                format!("`{id}` is a receipt and needs no subscription"),
            ));
        }
        if out.iter().any(|t| t.id == template.id) {
            return Err(ApiError::invalid(
                "templates",
                format!("`{id}` is listed twice"),
            ));
        }
        out.push(template);
    }
    Ok(out)
}

fn app(platform: &Platform, app_id: &str) -> ApiResult<Arc<App>> {
    platform
        .registry
        .get(app_id)
        .ok_or_else(|| ApiError::not_found("app"))
}

pub(super) async fn sheet(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path(app_id): Path<String>,
    Query(query): Query<SheetQuery>,
) -> ApiResult<Json<Sheet>> {
    let app = app(&platform, &app_id)?;
    let list = query.templates.unwrap_or_default();
    let ids: Vec<&str> = list.split(',').filter(|s| !s.is_empty()).collect();
    let subscriptions = &platform.services.notifications.subscriptions;
    let mut templates = Vec::new();
    for t in asked(&app, &ids)? {
        templates.push(TemplateView {
            subscribed: subscriptions
                .get(&who.citizen.id, &app_id, &t.id)
                .await?
                .is_some(),
            id: t.id.clone(),
            title: t.title.clone(),
            kind: t.kind,
        });
    }
    Ok(Json(Sheet {
        app_name: app.manifest.name.clone(),
        department: app.manifest.department.name.clone(),
        app_id,
        templates,
    }))
}

/// One answer on the sheet.
#[derive(Deserialize)]
pub(super) struct Decision {
    template: String,
    /// `accept` or `reject`.
    decision: String,
}

/// The citizen's answers.
#[derive(Deserialize)]
pub(super) struct Decisions {
    app_id: String,
    decisions: Vec<Decision>,
}

/// What was recorded.
#[derive(Serialize)]
pub(super) struct Decided {
    accepted: Vec<String>,
    rejected: Vec<String>,
}

pub(super) async fn decide(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    JsonBody(body): JsonBody<Decisions>,
) -> ApiResult<Json<Decided>> {
    let app = app(&platform, &body.app_id)?;
    let ids: Vec<&str> = body.decisions.iter().map(|d| d.template.as_str()).collect();
    let templates = asked(&app, &ids).map_err(|mut e| {
        e.field = Some("decisions".into());
        e
    })?;
    if let Some(bad) = body
        .decisions
        .iter()
        .find(|d| !matches!(d.decision.as_str(), "accept" | "reject"))
    {
        return Err(ApiError::invalid(
            "decisions",
            format!("`{}`: use \"accept\" or \"reject\"", bad.decision),
        ));
    }
    let subscriptions = &platform.services.notifications.subscriptions;
    let mut decided = Decided {
        accepted: Vec::new(),
        rejected: Vec::new(),
    };
    for (decision, template) in body.decisions.iter().zip(templates) {
        if decision.decision == "accept" {
            subscriptions
                .accept(&who.citizen.id, &body.app_id, &template.id, template.kind)
                .await?;
            decided.accepted.push(template.id.clone());
        } else {
            // A rejection records nothing; the app keeps working without it.
            decided.rejected.push(template.id.clone());
        }
    }
    Ok(Json(decided))
}

/// A subscription as the citizen's list shows it.
#[derive(Serialize)]
pub(super) struct SubscriptionView {
    app_id: String,
    app_name: String,
    department: String,
    template: String,
    /// The template's title, or its id if the app no longer declares it.
    title: String,
    kind: TemplateKind,
    accepted_at: u64,
}

pub(super) async fn list(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
) -> ApiResult<Json<Vec<SubscriptionView>>> {
    let subscriptions = platform
        .services
        .notifications
        .subscriptions
        .list(&who.citizen.id)
        .await?;
    Ok(Json(
        subscriptions
            .into_iter()
            .map(|s| {
                let (app_name, department) = platform.registry.display_names(&s.app_id);
                let title = platform
                    .registry
                    .get(&s.app_id)
                    .and_then(|app| {
                        app.manifest
                            .notify
                            .template(&s.template)
                            .map(|t| t.title.clone())
                    })
                    .unwrap_or_else(|| s.template.clone());
                SubscriptionView {
                    app_name,
                    department,
                    title,
                    app_id: s.app_id,
                    template: s.template,
                    kind: s.kind,
                    accepted_at: s.accepted_at,
                }
            })
            .collect(),
    ))
}

pub(super) async fn cancel(
    State(platform): State<Arc<Platform>>,
    who: SignedIn,
    Path((app_id, template)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    platform
        .services
        .notifications
        .subscriptions
        .cancel(&who.citizen.id, &app_id, &template)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
