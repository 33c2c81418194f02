//! The quota office's lottery system, reached through the host's `http`
//! capability at [`ORIGIN`] (the manifest's `[http] allow`). Its API is
//! documented in `quota-office/` (package `hz-quota-office`).
//!
//! Every failure to get an answer the service documents — no connection,
//! a timeout, a 5xx, a body that is not what the API says — is one
//! [`Unreachable`]: the citizen is told the system cannot be reached now,
//! and an event is retried by the host.

use cityhost_sdk::http;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Where the office's system is, as the manifest allows it.
pub(crate) const ORIGIN: &str = "http://lottery.hzxkctk.internal";

/// The office's system gave no usable answer; says what happened (for the
/// log, not for the citizen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable(pub(crate) String);

/// A period as the office publishes it (times UTC ms).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Summary {
    pub(crate) period: String,
    /// `open`, `closed` or `drawn`.
    pub(crate) status: String,
    pub(crate) quota: u64,
    pub(crate) applications: u64,
    pub(crate) commitment: String,
    pub(crate) closes_at: u64,
    pub(crate) draw_at: u64,
    pub(crate) drawn_at: Option<u64>,
}

/// `GET /public/periods`.
#[derive(Debug, Deserialize)]
pub(crate) struct Periods {
    pub(crate) current: String,
    pub(crate) periods: Vec<Summary>,
}

/// The published draw of a period.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Draw {
    pub(crate) seed: String,
    pub(crate) codes: Vec<String>,
    pub(crate) winners: Vec<String>,
}

/// One eligibility check.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Check {
    pub(crate) check: String,
    pub(crate) passed: bool,
    pub(crate) detail: String,
}

/// `POST /eligibility`.
#[derive(Debug, Deserialize)]
pub(crate) struct Eligibility {
    pub(crate) period: String,
    pub(crate) eligible: bool,
    pub(crate) checks: Vec<Check>,
}

/// An application (no personal data).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Application {
    pub(crate) code: String,
    pub(crate) period: String,
    /// `pending`, `won` or `lost`.
    pub(crate) status: String,
    pub(crate) draw_at: Option<u64>,
}

/// What applying came to.
#[derive(Debug)]
pub(crate) enum Applied {
    /// Filed now.
    Filed(Application),
    /// The person applied for the period before: its code and period.
    Already { code: String, period: String },
    /// Not eligible: the checks.
    Ineligible(Vec<Check>),
}

#[derive(Serialize)]
struct Applicant<'a> {
    id_number: &'a str,
    name: &'a str,
}

fn get(path: &str) -> Result<http::Response, Unreachable> {
    http::get(&format!("{ORIGIN}{path}")).map_err(|e| Unreachable(format!("GET: {e:?}")))
}

fn post(path: &str, body: &impl Serialize) -> Result<http::Response, Unreachable> {
    http::post_json(&format!("{ORIGIN}{path}"), body)
        .map_err(|e| Unreachable(format!("POST: {e:?}")))
}

fn json<T: DeserializeOwned>(response: &http::Response) -> Result<T, Unreachable> {
    response
        .json()
        .map_err(|e| Unreachable(format!("unexpected answer: {e:?}")))
}

fn unexpected(response: &http::Response) -> Unreachable {
    Unreachable(format!("status {}", response.status))
}

/// The period taking applications and every period opened.
pub(crate) fn periods() -> Result<Periods, Unreachable> {
    let response = get("/public/periods")?;
    match response.status {
        200 => json(&response),
        _ => Err(unexpected(&response)),
    }
}

/// Period `period` (checked `YYYY-MM` by the caller), if opened.
pub(crate) fn period(period: &str) -> Result<Option<Summary>, Unreachable> {
    let response = get(&format!("/public/periods/{period}"))?;
    match response.status {
        200 => json(&response).map(Some),
        404 => Ok(None),
        _ => Err(unexpected(&response)),
    }
}

/// The published draw of `period` (checked), once drawn.
pub(crate) fn draw(period: &str) -> Result<Option<Draw>, Unreachable> {
    let response = get(&format!("/public/periods/{period}/draw.json"))?;
    match response.status {
        200 => json(&response).map(Some),
        404 | 409 => Ok(None),
        _ => Err(unexpected(&response)),
    }
}

/// Application `code` (13 digits, checked by the caller), if known.
pub(crate) fn application(code: &str) -> Result<Option<Application>, Unreachable> {
    let response = get(&format!("/applications/{code}"))?;
    match response.status {
        200 => json(&response).map(Some),
        404 => Ok(None),
        _ => Err(unexpected(&response)),
    }
}

/// The office's eligibility checks for this person now.
pub(crate) fn eligibility(id_number: &str, name: &str) -> Result<Eligibility, Unreachable> {
    let response = post("/eligibility", &Applicant { id_number, name })?;
    match response.status {
        200 => json(&response),
        _ => Err(unexpected(&response)),
    }
}

#[derive(Deserialize)]
struct Refusal {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    checks: Vec<Check>,
}

/// Files this person's application for the period taking applications.
pub(crate) fn apply(id_number: &str, name: &str) -> Result<Applied, Unreachable> {
    let response = post("/applications", &Applicant { id_number, name })?;
    match response.status {
        201 => json(&response).map(Applied::Filed),
        409 => {
            let refusal: Refusal = json(&response)?;
            match (refusal.code, refusal.period) {
                (Some(code), Some(period)) => Ok(Applied::Already { code, period }),
                _ => Err(unexpected(&response)),
            }
        }
        422 => json::<Refusal>(&response).map(|r| Applied::Ineligible(r.checks)),
        _ => Err(unexpected(&response)),
    }
}
