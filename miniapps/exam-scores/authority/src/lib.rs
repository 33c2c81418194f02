//! 浙江省教育考试院的高考成绩系统: the Zhejiang education examinations
//! authority's score service, the department system behind the
//! `exam-scores` mini-app. The mini-app reaches it only through the host's
//! `http` capability, at the origin `http://scores.zjzs.internal` that its
//! manifest lists.
//!
//! It keeps its own data ([`store`]) in `{data dir}/authority.json`,
//! created from a bundled seed on first start (the 2026 exam, its batch
//! lines and the candidates' records), and the authority's bearer token in
//! `{data dir}/authority-token`. Scores are answered only from the exam's
//! release time on, and only to the person the exam number was registered
//! with; lookups are rate-limited ([`limits`]).
//!
//! # Exam numbers
//!
//! A 考生号 is 14 digits: the exam year's last two digits, the six-digit
//! division code (GB/T 2260) of the county where the candidate registered,
//! which in Zhejiang starts with `33`, and a six-digit sequence number —
//! `26330106000118` is a 2026 candidate registered in 西湖区 (330106).
//!
//! # API
//!
//! JSON in, JSON out. An error is `{"error": "...", "field": "..."}`
//! (`field` names what is wrong, or is `null`). Times are UTC ms.
//!
//! Public, no sign-in:
//!
//! - `GET /exam` → `{"year", "name", "release_at", "released", "lines"}`:
//!   `released` whether the scores are out now; `lines` the batch lines
//!   `[{"line", "name", "score"}]` once released, `null` before.
//!
//! For the mini-app (the citizen's identity number, given with their
//! consent; the service trusts it, see below):
//!
//! - `POST /lookups` `{"exam_number", "id_number"}` → `200 {"exam_number",
//!   "name", "year", "subjects": [{"subject", "score", "full"}], "total",
//!   "full_total", "lines": [{"line", "name", "score", "reached"}]}`.
//!   Refusals, in this order: `400` naming `exam_number` (14 digits as
//!   above) or `id_number` (GB 11643) or any other field of a malformed
//!   body; `429` (field `id_number` for the citizen's limit, `exam_number`
//!   for the number's; with `"scope": "citizen"|"exam_number"`, `"limit"`,
//!   `"retry_at"` and `"retry_after_s"`, and a `Retry-After` header);
//!   `409` (field `null`, `"code": "not_released"`, with `"release_at"`)
//!   before the release time; `404` (field `exam_number`) when the number
//!   is unknown or was registered with another identity number — one
//!   answer for both, so the service tells no one which numbers exist.
//!
//! For the authority (bearer token of `{data dir}/authority-token`; `401`
//! without it):
//!
//! - `PUT /authority/release` `{"release_at"}` → the exam as in `GET
//!   /exam`: sets when the scores are released (a time in the past
//!   releases them now).
//!
//! Any other path is a `404`, another method a `405`, both in the same
//! JSON. The service never panics on input.
//!
//! # Running it
//!
//! ```text
//! zj-exam-authority --bind 127.0.0.1:0 --data data/backends/exam-scores
//! ```
//!
//! prints exactly one line on standard output, `listening on
//! http://127.0.0.1:PORT`, so that a parent process (`cityhost demo`, the
//! host's tests) learns the port; logs go to standard error. With
//! `--exit-with-stdin` it also stops when its standard input closes.

pub mod limits;
pub mod store;

use cityhost_backend::bearer::BearerToken;
use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use limits::{Limits, Refused, Scope};
use store::{BatchLine, Exam, Store, SubjectScore};

pub use cityhost_backend::api::ApiError;
use cityhost_backend::api::json_body;

/// The token file's name in the data directory.
pub const TOKEN_FILE: &str = "authority-token";

/// The running service: its data, the lookup counts and the authority's
/// bearer token.
pub struct Authority {
    /// The data.
    pub store: Store,
    /// The lookup counts.
    pub limits: Limits,
    token: BearerToken,
}

impl Authority {
    /// Opens the data in `dir` ([`Store::open`]) and reads the authority's
    /// token from `{dir}/authority-token`, making one (32 random bytes,
    /// hex) on first start.
    pub fn open(dir: &Path) -> anyhow::Result<Authority> {
        let store = Store::open(dir)?;
        let token = BearerToken::load_or_create(dir, TOKEN_FILE)?;
        Ok(Authority {
            store,
            limits: Limits::default(),
            token,
        })
    }

    /// Whether `headers` carry the authority's bearer token (compared in
    /// constant time).
    fn is_authority(&self, headers: &HeaderMap) -> bool {
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

/// The service's routes over `authority`.
pub fn router(authority: Arc<Authority>) -> Router {
    cityhost_backend::api::with_fallbacks(
        Router::new()
            .route("/exam", get(exam))
            .route("/lookups", post(lookup))
            .route("/authority/release", put(set_release)),
    )
    .with_state(authority)
}

/// Whether `number` is an exam number: 14 ASCII digits, the year's two,
/// a Zhejiang county's division code (`33….`) and a sequence number.
pub fn is_exam_number(number: &str) -> bool {
    number.len() == 14 && number.bytes().all(|b| b.is_ascii_digit()) && &number[2..4] == "33"
}

/// Whether `id` is a resident identity number (GB 11643-1999): 17 digits
/// and a check character (ISO 7064 MOD 11-2), a province code 11-82 and a
/// real birth date from 1900 on.
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
    let birth = chrono::NaiveDate::parse_from_str(&id[6..14], "%Y%m%d");
    if !birth.is_ok_and(|d| chrono::Datelike::year(&d) >= 1900) {
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

/// `YYYY-MM-DD HH:MM` in Beijing time (UTC+8) of `ms` (UTC ms).
pub fn beijing(ms: u64) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms as i64 + 8 * 3_600_000)
        .unwrap_or_default()
        .naive_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// The exam as answered.
#[derive(Debug, Serialize)]
struct ExamView {
    year: u16,
    name: String,
    release_at: u64,
    released: bool,
    lines: Option<Vec<BatchLine>>,
}

fn exam_view(authority: &Authority, exam: Exam, now: u64) -> ExamView {
    let released = now >= exam.release_at;
    ExamView {
        year: exam.year,
        name: exam.name,
        release_at: exam.release_at,
        released,
        lines: released.then(|| authority.store.lines()),
    }
}

/// `GET /exam`.
async fn exam(State(authority): State<Arc<Authority>>) -> Json<ExamView> {
    let exam = authority.store.exam();
    Json(exam_view(&authority, exam, now_ms()))
}

/// The body of `POST /lookups`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lookup {
    exam_number: String,
    id_number: String,
}

/// The body of a lookup, checked: the exam number as [`is_exam_number`],
/// the identity number upper-cased and valid per GB 11643.
fn lookup_body(body: &[u8]) -> Result<Lookup, ApiError> {
    let mut l: Lookup = json_body(body)?;
    l.exam_number = l.exam_number.trim().to_string();
    if !is_exam_number(&l.exam_number) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an exam number is 14 digits: the year's two, the county's division code 33xxxx and a six-digit sequence number",
            Some("exam_number"),
        ));
    }
    l.id_number = l.id_number.trim().to_ascii_uppercase();
    if !is_id_number(&l.id_number) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "an identity number is 18 characters per GB 11643 (birth date and check character)",
            Some("id_number"),
        ));
    }
    Ok(l)
}

/// A batch line and whether the total reaches it.
#[derive(Debug, Serialize)]
struct LineReached {
    line: String,
    name: String,
    score: u32,
    reached: bool,
}

/// A candidate's scores as answered.
#[derive(Debug, Serialize)]
struct Scores {
    exam_number: String,
    name: String,
    year: u16,
    subjects: Vec<SubjectScore>,
    total: u32,
    full_total: u32,
    lines: Vec<LineReached>,
}

/// The 429 of a refused lookup, in Chinese for the citizen.
fn too_many(refused: Refused, now: u64) -> Response {
    let (scope, field, whose) = match refused.scope {
        Scope::Citizen => ("citizen", "id_number", "每位考生"),
        Scope::ExamNumber => ("exam_number", "exam_number", "每个考生号"),
    };
    let after_s = refused.retry_at.saturating_sub(now).div_ceil(1000).max(1);
    let message = format!(
        "查询过于频繁：{whose}每小时最多查询 {} 次，请于 {}（北京时间）后再试。",
        refused.limit,
        beijing(refused.retry_at)
    );
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, &message, Some(field))
        .with("scope", scope)
        .with("limit", refused.limit)
        .with("retry_at", refused.retry_at)
        .with("retry_after_s", after_s)
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&after_s.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `POST /lookups`.
async fn lookup(State(authority): State<Arc<Authority>>, body: Bytes) -> Response {
    let l = match lookup_body(&body) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let now = now_ms();
    if let Err(refused) = authority.limits.count(&l.id_number, &l.exam_number, now) {
        tracing::info!(scope = ?refused.scope, "lookup refused: rate limit");
        return too_many(refused, now);
    }
    let exam = authority.store.exam();
    if now < exam.release_at {
        return ApiError::new(
            StatusCode::CONFLICT,
            &format!(
                "成绩尚未发布，将于 {}（北京时间）发布。",
                beijing(exam.release_at)
            ),
            None,
        )
        .with("code", "not_released")
        .with("release_at", exam.release_at)
        .into_response();
    }
    let Some(candidate) = authority.store.candidate(&l.exam_number, &l.id_number) else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "no record of this exam number for this identity number",
            Some("exam_number"),
        )
        .into_response();
    };
    let total = candidate.total();
    let lines = authority
        .store
        .lines()
        .into_iter()
        .map(|l| LineReached {
            reached: total >= l.score,
            line: l.line,
            name: l.name,
            score: l.score,
        })
        .collect();
    Json(Scores {
        full_total: candidate.subjects.iter().map(|s| s.full).sum(),
        exam_number: candidate.exam_number,
        name: candidate.name,
        year: exam.year,
        subjects: candidate.subjects,
        total,
        lines,
    })
    .into_response()
}

/// The body of `PUT /authority/release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Release {
    release_at: u64,
}

/// `PUT /authority/release`.
async fn set_release(
    State(authority): State<Arc<Authority>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ExamView>, ApiError> {
    if !authority.is_authority(&headers) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the authority's bearer token is required",
            Some("authorization"),
        ));
    }
    let Release { release_at } = json_body(&body)?;
    // Before 2000 or after 2100 is a mistake, not a release time.
    if !(946_684_800_000..=4_102_444_800_000).contains(&release_at) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "release_at is UTC milliseconds between 2000 and 2100",
            Some("release_at"),
        ));
    }
    let exam = authority.store.set_release(release_at).map_err(|e| {
        tracing::error!(error = %e, "release time not saved");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the change could not be saved; try again",
            None,
        )
    })?;
    tracing::info!(release_at, "release time set");
    Ok(Json(exam_view(&authority, exam, now_ms())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exam_numbers_are_fourteen_digits_of_a_zhejiang_county() {
        for good in ["26330106000118", "25330183000412"] {
            assert!(is_exam_number(good), "{good}");
        }
        for bad in [
            "",
            "2633010600011",
            "263301060001180",
            "26310106000118", // Shanghai
            "2633010600011A",
            "２6330106000118",
            "26330106 00118",
        ] {
            assert!(!is_exam_number(bad), "{bad}");
        }
    }

    #[test]
    fn identity_numbers_are_checked_per_gb_11643() {
        for good in ["33010619900101123X", "330106200805120023"] {
            assert!(is_id_number(good), "{good}");
        }
        for bad in [
            "33010619900101123Y",
            "330106200805120024",
            "3301062008051200",
        ] {
            assert!(!is_id_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_bad_lookup_body_names_its_field() {
        let field = |body: &str| lookup_body(body.as_bytes()).unwrap_err().body()["field"].clone();
        assert_eq!(
            field(r#"{"id_number":"33010619900101123X"}"#),
            "exam_number"
        );
        assert_eq!(
            field(r#"{"exam_number":"123","id_number":"33010619900101123X"}"#),
            "exam_number"
        );
        assert_eq!(
            field(r#"{"exam_number":"26330106000118","id_number":"1"}"#),
            "id_number"
        );
        assert_eq!(
            field(r#"{"exam_number":"26330106000118","id_number":"33010619900101123X","x":1}"#),
            "x"
        );
        assert_eq!(field("[]"), "body");
        let ok = lookup_body(
            r#"{"exam_number":" 26330106000118 ","id_number":"33010619900101123x"}"#.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (ok.exam_number.as_str(), ok.id_number.as_str()),
            ("26330106000118", "33010619900101123X")
        );
    }

    #[test]
    fn times_are_shown_in_beijing_time() {
        // 2026-06-25 04:00 UTC.
        assert_eq!(beijing(1_782_360_000_000), "2026-06-25 12:00");
    }
}
