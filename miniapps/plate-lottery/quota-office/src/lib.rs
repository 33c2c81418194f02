//! 杭州市小客车总量调控管理办公室的摇号系统: the quota office's
//! licence-plate lottery, the department system behind the `plate-lottery`
//! mini-app. The mini-app reaches it only through the host's `http`
//! capability, at the origin `http://lottery.hzxkctk.internal` that its
//! manifest lists. The draw is documented in `docs/services/lottery.md` and
//! computed by the `verify-lottery` library, the same code anyone runs to
//! check it.
//!
//! It keeps its own data ([`store`]) in `{data dir}/office.json`, created
//! from a bundled seed (the driver registry it checks eligibility against)
//! on first start, and the office's bearer token in `{data dir}/office-token`.
//! The calendar ([`calendar`]): applications up to the 8th join the
//! month's draw, held on the 26th at 10:00 Beijing time; the service draws
//! each period at that time by itself.
//!
//! # API
//!
//! JSON in, JSON out. An error is `{"error": "...", "field": "..."}`
//! (`field` names what is wrong, or is `null`). Times are UTC ms.
//!
//! Public, no sign-in (what the office publishes):
//!
//! - `GET /public/periods` → `{"current": "2026-12", "periods": [summary]}`,
//!   `current` being the period taking applications now (opened, with
//!   its commitment, on first asking); a summary is `{"period", "status":
//!   "open"|"closed"|"drawn", "quota", "applications", "commitment",
//!   "closes_at", "draw_at", "drawn_at"}`.
//! - `GET /public/periods/{period}` → the summary; `400` (field
//!   `period`) unless `YYYY-MM`, `404` if never opened.
//! - `GET /public/periods/{period}/commitment.json` →
//!   [`verify_lottery::CommitmentFile`], from the period's opening.
//! - `GET /public/periods/{period}/draw.json` → [`verify_lottery::DrawFile`]
//!   (seed, sorted codes, winners); `409` (field `period`) before the draw.
//! - `GET /public/periods/{period}/codes.txt`, `…/winners.txt` → the same
//!   lists as text, one code a line (`409` before the draw).
//! - `GET /applications/{code}` → `{"code", "period", "status":
//!   "pending"|"won"|"lost", "submitted_at", "draw_at"}` (no personal data);
//!   `400` (field `code`) unless 13 digits, `404` if unknown.
//!
//! For the mini-app (the citizen's identity, given with their consent):
//!
//! - `POST /eligibility` `{"id_number", "name"}` → `200 {"period",
//!   "eligible", "checks": [{"check", "passed", "detail"}]}`.
//! - `POST /applications` `{"id_number", "name"}` → `201` and the
//!   application as above; `409` (field `id_number`, with `"code"` and
//!   `"period"`) if the person already applied for the period; `422`
//!   (field `id_number`, with `"checks"`) if not eligible. `400` naming
//!   `id_number` (GB 11643 structure, date and check character) or `name`
//!   (1-32 characters) for a malformed body.
//!
//! For the office (bearer token of `{data dir}/office-token`; `401`
//! without it):
//!
//! - `POST /office/periods/{period}/close` closes applications now;
//! - `POST /office/periods/{period}/draw` draws a closed period now (the
//!   scheduled draw does so by itself at `draw_at`); `409` (field
//!   `period`) while applications are open. Both answer the summary and
//!   are idempotent.
//!
//! Any other path is a `404`, another method a `405`, both in the same
//! JSON. The service never panics on input.
//!
//! # Running it
//!
//! ```text
//! hz-quota-office --bind 127.0.0.1:0 --data data/backends/plate-lottery
//! ```
//!
//! prints exactly one line on standard output, `listening on
//! http://127.0.0.1:PORT`, so that a parent process (`cityhost demo`, the
//! host's tests) learns the port; logs go to standard error. With
//! `--exit-with-stdin` it also stops when its standard input closes.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let office = hz_quota_office::Office::open("data".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, hz_quota_office::router(std::sync::Arc::new(office))).await?;
//! # Ok(()) }
//! ```

pub mod calendar;
pub mod store;

use cityhost_backend::bearer::BearerToken;
use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use calendar::Period;
use store::{Application, ApplyError, OfficeError, PeriodRecord, PeriodStatus, Store};

/// The token file's name in the data directory.
pub const TOKEN_FILE: &str = "office-token";

/// The running office: its data and its staff's bearer token.
pub struct Office {
    /// The data.
    pub store: Store,
    token: BearerToken,
}

impl Office {
    /// Opens the data in `dir` ([`Store::open`]) and reads the office's
    /// token from `{dir}/office-token`, making one (32 random bytes, hex)
    /// on first start.
    pub fn open(dir: &Path) -> anyhow::Result<Office> {
        let store = Store::open(dir)?;
        let token = BearerToken::load_or_create(dir, TOKEN_FILE)?;
        Ok(Office { store, token })
    }

    /// Whether `headers` carry the office's bearer token.
    fn is_office(&self, headers: &HeaderMap) -> bool {
        self.token.admits(headers)
    }
}

/// Now, UTC ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// The service's routes over `office`.
pub fn router(office: Arc<Office>) -> Router {
    cityhost_backend::api::with_fallbacks(
        Router::new()
            .route("/public/periods", get(periods))
            .route("/public/periods/{period}", get(period))
            .route("/public/periods/{period}/{file}", get(published))
            .route("/applications/{code}", get(application))
            .route("/eligibility", post(eligibility))
            .route("/applications", post(apply))
            .route("/office/periods/{period}/{action}", post(office_action)),
    )
    .with_state(office)
}

/// Draws every period whose time has come, now and then every `every`,
/// until the process ends: the scheduled draw.
pub async fn draw_on_schedule(office: Arc<Office>, every: std::time::Duration) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        match office.store.draw_due(now_ms()) {
            Ok(drawn) if !drawn.is_empty() => tracing::info!(?drawn, "scheduled draw held"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "scheduled draw failed; retrying"),
        }
    }
}

pub use cityhost_backend::api::ApiError;
use cityhost_backend::api::json_body;

impl From<OfficeError> for ApiError {
    fn from(e: OfficeError) -> Self {
        match e {
            OfficeError::NoPeriod(_) => {
                ApiError::new(StatusCode::NOT_FOUND, &e.to_string(), Some("period"))
            }
            OfficeError::StillOpen(_) => {
                ApiError::new(StatusCode::CONFLICT, &e.to_string(), Some("period"))
            }
            OfficeError::Io(_) => {
                tracing::error!(error = %e, "not saved");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the change could not be saved; try again",
                    None,
                )
            }
        }
    }
}

/// A period's public summary.
#[derive(Debug, Serialize)]
struct Summary {
    period: String,
    status: PeriodStatus,
    quota: usize,
    applications: usize,
    commitment: String,
    closes_at: u64,
    draw_at: u64,
    drawn_at: Option<u64>,
}

fn summary(office: &Office, record: &PeriodRecord) -> Summary {
    Summary {
        period: record.period.clone(),
        status: record.status(now_ms()),
        quota: record.quota,
        applications: office.store.count(&record.period),
        commitment: record.commitment.clone(),
        closes_at: record.closed_at(),
        draw_at: record.draw_at,
        drawn_at: record.drawn_at,
    }
}

/// A period name from the path, or a 400 naming it.
fn checked_period(period: &str) -> Result<String, ApiError> {
    Period::parse(period).map(|p| p.to_string()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "a period is YYYY-MM",
            Some("period"),
        )
    })
}

fn known_period(office: &Office, period: &str) -> Result<PeriodRecord, ApiError> {
    let period = checked_period(period)?;
    office
        .store
        .period(&period)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such period", Some("period")))
}

/// `GET /public/periods`.
async fn periods(State(office): State<Arc<Office>>) -> Result<Json<Value>, ApiError> {
    let current = office.store.open_period(now_ms())?;
    let periods: Vec<Summary> = office
        .store
        .periods()
        .iter()
        .map(|p| summary(&office, p))
        .collect();
    Ok(Json(json!({"current": current.period, "periods": periods})))
}

/// `GET /public/periods/{period}`.
async fn period(
    State(office): State<Arc<Office>>,
    UrlPath(period): UrlPath<String>,
) -> Result<Json<Summary>, ApiError> {
    let record = known_period(&office, &period)?;
    Ok(Json(summary(&office, &record)))
}

/// `GET /public/periods/{period}/{file}`.
async fn published(
    State(office): State<Arc<Office>>,
    UrlPath((period, file)): UrlPath<(String, String)>,
) -> Result<Response, ApiError> {
    let record = known_period(&office, &period)?;
    if file == "commitment.json" {
        return Ok(Json(record.commitment_file()).into_response());
    }
    if !["draw.json", "codes.txt", "winners.txt"].contains(&file.as_str()) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "published files: commitment.json, draw.json, codes.txt, winners.txt",
            Some("file"),
        ));
    }
    let draw = office.store.draw_file(&record.period).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "not drawn yet: the seed and the codes are published after the draw",
            Some("period"),
        )
        .with("draw_at", record.draw_at)
    })?;
    let lines = |codes: &[String]| {
        let mut text = codes.join("\n");
        text.push('\n');
        ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
    };
    Ok(match file.as_str() {
        "codes.txt" => lines(&draw.codes),
        "winners.txt" => lines(&draw.winners),
        _ => Json(draw).into_response(),
    })
}

/// An application as answered: no personal data.
#[derive(Debug, Serialize)]
struct ApplicationView {
    code: String,
    period: String,
    status: store::Outcome,
    submitted_at: u64,
    draw_at: Option<u64>,
}

fn application_view(office: &Office, a: Application, status: store::Outcome) -> ApplicationView {
    let draw_at = office.store.period(&a.period).map(|p| p.draw_at);
    ApplicationView {
        code: a.code,
        period: a.period,
        status,
        submitted_at: a.submitted_at,
        draw_at,
    }
}

/// `GET /applications/{code}`.
async fn application(
    State(office): State<Arc<Office>>,
    UrlPath(code): UrlPath<String>,
) -> Result<Json<ApplicationView>, ApiError> {
    if !verify_lottery::is_code(&code) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an application code is 13 digits",
            Some("code"),
        ));
    }
    let (a, status) = office
        .store
        .application(&code)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such application", Some("code")))?;
    Ok(Json(application_view(&office, a, status)))
}

/// The body of `POST /eligibility` and `POST /applications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Applicant {
    id_number: String,
    name: String,
}

/// The applicant of a body, checked: the identity number upper-cased and
/// valid per GB 11643, the name 1-32 characters without control characters.
fn applicant(body: &[u8]) -> Result<Applicant, ApiError> {
    let mut a: Applicant = json_body(body)?;
    a.id_number = a.id_number.trim().to_ascii_uppercase();
    if !is_id_number(&a.id_number) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an identity number is 18 characters per GB 11643 (birth date and check character)",
            Some("id_number"),
        ));
    }
    a.name = a.name.trim().to_string();
    let chars = a.name.chars().count();
    if !(1..=32).contains(&chars) || a.name.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "a name is 1-32 characters",
            Some("name"),
        ));
    }
    Ok(a)
}

/// Whether `id` is a resident identity number (GB 11643-1999): 17 digits
/// and a check character (ISO 7064 MOD 11-2), a province code 11-82 and a
/// real birth date from 1900 to today.
pub fn is_id_number(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18
        || !b[..17].iter().all(u8::is_ascii_digit)
        || !(b[17].is_ascii_digit() || b[17] == b'X')
    {
        return false;
    }
    let province = (b[0] - b'0') * 10 + (b[1] - b'0');
    if !(11..=82).contains(&province) {
        return false;
    }
    let today = chrono::DateTime::from_timestamp_millis(now_ms() as i64)
        .unwrap_or_default()
        .date_naive();
    let birth = chrono::NaiveDate::parse_from_str(&id[6..14], "%Y%m%d");
    if !birth.is_ok_and(|d| chrono::Datelike::year(&d) >= 1900 && d <= today) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize] == b[17]
}

/// `POST /eligibility`.
async fn eligibility(
    State(office): State<Arc<Office>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let a = applicant(&body)?;
    let (period, checks) = office.store.eligibility(&a.id_number, &a.name, now_ms())?;
    let eligible = checks.iter().all(|c| c.passed);
    Ok(Json(json!({
        "period": period.period,
        "draw_at": period.draw_at,
        "closes_at": period.closed_at(),
        "eligible": eligible,
        "checks": checks,
    })))
}

/// `POST /applications`.
async fn apply(
    State(office): State<Arc<Office>>,
    body: Bytes,
) -> Result<(StatusCode, Json<ApplicationView>), ApiError> {
    let a = applicant(&body)?;
    match office.store.apply(&a.id_number, &a.name, now_ms()) {
        Ok(filed) => Ok((
            StatusCode::CREATED,
            Json(application_view(&office, filed, store::Outcome::Pending)),
        )),
        Err(ApplyError::Already(existing)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "one application per person per period",
            Some("id_number"),
        )
        .with("code", &existing.code)
        .with("period", &existing.period)),
        Err(ApplyError::Ineligible(checks)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not eligible",
            Some("id_number"),
        )
        .with("checks", checks)),
        Err(e @ ApplyError::Io(_)) => {
            tracing::error!(error = %e, "application not saved");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the application could not be saved; try again",
                None,
            ))
        }
    }
}

/// `POST /office/periods/{period}/{close|draw}`.
async fn office_action(
    State(office): State<Arc<Office>>,
    headers: HeaderMap,
    UrlPath((period, action)): UrlPath<(String, String)>,
) -> Result<Json<Summary>, ApiError> {
    if !office.is_office(&headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the office's bearer token is required",
            Some("authorization"),
        ));
    }
    let period = checked_period(&period)?;
    let record = match action.as_str() {
        "close" => office.store.close(&period, now_ms())?,
        "draw" => office.store.draw(&period, now_ms())?,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "office actions: close, draw",
                Some("action"),
            ));
        }
    };
    Ok(Json(summary(&office, &record)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_numbers_are_checked_per_gb_11643() {
        for good in [
            "11010519491231002X",
            "33010619900101123X",
            "330102198506152345",
        ] {
            assert!(is_id_number(good), "{good}");
        }
        for bad in [
            "11010519491231002x", // upper-cased by the caller, not here
            "110105194912310021", // check character
            "11010519491331002X", // month 13
            "00010519491231002X", // no province 00
            "1101051949123100",
            "１１0105194912310021",
        ] {
            assert!(!is_id_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_bad_applicant_body_names_its_field() {
        let field = |body: &str| applicant(body.as_bytes()).unwrap_err().body()["field"].clone();
        assert_eq!(field(r#"{"name":"张三"}"#), "id_number");
        assert_eq!(field(r#"{"id_number":"123","name":"张三"}"#), "id_number");
        assert_eq!(field(r#"{"id_number":"33010619900101123X"}"#), "name");
        assert_eq!(
            field(r#"{"id_number":"33010619900101123X","name":""}"#),
            "name"
        );
        assert_eq!(
            field(r#"{"id_number":"33010619900101123X","name":"张三","x":1}"#),
            "x"
        );
        assert_eq!(field("[]"), "body");
        assert_eq!(field("not json"), "body");
        let ok =
            applicant(r#"{"id_number":" 33010619900101123x ","name":"张三"}"#.as_bytes()).unwrap();
        assert_eq!(ok.id_number, "33010619900101123X");
    }
}
