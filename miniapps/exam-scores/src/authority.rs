//! The examinations authority's score system, reached through the host's
//! `http` capability at [`ORIGIN`] (the manifest's `[http] allow`). Its
//! API is documented in `authority/` (package `zj-exam-authority`).
//!
//! Every failure to get an answer the service documents — no connection,
//! a timeout, a 5xx, a body that is not what the API says — is one
//! [`Unreachable`]: the citizen is told the system cannot be reached now,
//! and an event is retried by the host.

use cityhost_sdk::http;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Where the authority's system is, as the manifest allows it.
pub(crate) const ORIGIN: &str = "http://scores.zjzs.internal";

/// The authority's system gave no usable answer; says what happened (for
/// the log, not for the citizen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable(pub(crate) String);

/// A batch line.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) score: u32,
    /// In a lookup's answer: whether the candidate's total reaches it.
    #[serde(default)]
    pub(crate) reached: bool,
}

/// `GET /exam`: the year's exam and, once released, its batch lines.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Exam {
    pub(crate) year: u16,
    pub(crate) name: String,
    /// UTC ms.
    pub(crate) release_at: u64,
    pub(crate) released: bool,
    pub(crate) lines: Option<Vec<Line>>,
}

/// One subject's score.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Subject {
    pub(crate) subject: String,
    pub(crate) score: u32,
    pub(crate) full: u32,
}

/// A candidate's scores.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Scores {
    pub(crate) exam_number: String,
    pub(crate) name: String,
    pub(crate) year: u16,
    pub(crate) subjects: Vec<Subject>,
    pub(crate) total: u32,
    pub(crate) full_total: u32,
    pub(crate) lines: Vec<Line>,
}

/// Which lookup limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The citizen's lookups per hour.
    Citizen,
    /// The exam number's lookups per hour.
    ExamNumber,
}

/// What a lookup came to.
#[derive(Debug)]
pub(crate) enum Looked {
    /// The citizen's own scores.
    Found(Scores),
    /// Not released yet: when it will be (UTC ms).
    NotReleased(u64),
    /// No record of this exam number for this person (unknown, or
    /// someone else's: one answer).
    NotFound,
    /// Too many lookups: which limit, how many an hour, retry at (UTC ms).
    TooMany(Limit, u64, u64),
    /// The authority refused the input, naming the field.
    BadInput(String),
}

fn get(path: &str) -> Result<http::Response, Unreachable> {
    http::get(&format!("{ORIGIN}{path}")).map_err(|e| Unreachable(format!("GET: {e:?}")))
}

fn json<T: DeserializeOwned>(response: &http::Response) -> Result<T, Unreachable> {
    response
        .json()
        .map_err(|e| Unreachable(format!("unexpected answer: {e:?}")))
}

fn unexpected(response: &http::Response) -> Unreachable {
    Unreachable(format!("status {}", response.status))
}

/// The year's exam.
pub(crate) fn exam() -> Result<Exam, Unreachable> {
    let response = get("/exam")?;
    match response.status {
        200 => json(&response),
        _ => Err(unexpected(&response)),
    }
}

#[derive(Serialize)]
struct Lookup<'a> {
    exam_number: &'a str,
    id_number: &'a str,
}

/// A refusal's body.
#[derive(Deserialize)]
struct Refusal {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    retry_at: Option<u64>,
    #[serde(default)]
    release_at: Option<u64>,
}

/// Looks up the scores of `exam_number` (checked by the caller) for the
/// person with `id_number`.
pub(crate) fn lookup(exam_number: &str, id_number: &str) -> Result<Looked, Unreachable> {
    let response = http::post_json(
        &format!("{ORIGIN}/lookups"),
        &Lookup {
            exam_number,
            id_number,
        },
    )
    .map_err(|e| Unreachable(format!("POST: {e:?}")))?;
    if response.status == 200 {
        return json(&response).map(Looked::Found);
    }
    if ![400, 404, 409, 429].contains(&response.status) {
        return Err(unexpected(&response));
    }
    let refusal: Refusal = json(&response)?;
    match (response.status, refusal) {
        (404, _) => Ok(Looked::NotFound),
        (
            409,
            Refusal {
                release_at: Some(at),
                ..
            },
        ) => Ok(Looked::NotReleased(at)),
        (
            429,
            Refusal {
                scope: Some(scope),
                limit: Some(limit),
                retry_at: Some(at),
                ..
            },
        ) => {
            let limit_kind = if scope == "exam_number" {
                Limit::ExamNumber
            } else {
                Limit::Citizen
            };
            Ok(Looked::TooMany(limit_kind, limit, at))
        }
        (
            400,
            Refusal {
                field: Some(field), ..
            },
        ) => Ok(Looked::BadInput(field)),
        _ => Err(unexpected(&response)),
    }
}
