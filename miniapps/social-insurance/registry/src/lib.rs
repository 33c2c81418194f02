//! 浙江省社会保险和就业服务中心的参保缴费记录系统: the provincial social
//! insurance records, the department system behind the `social-insurance`
//! mini-app (社保查询). The mini-app reaches it only through the host's
//! `http` capability, at the origin `http://si.zjhrss.internal` that its
//! manifest lists.
//!
//! It keeps its own data ([`store`]) in `{data dir}/insurance.json`,
//! created from a bundled seed on first start: the contribution rates, the
//! paying units, and each insured person's spells of insurance, keyed by
//! identity number. A month's contribution is computed from the spell's
//! base and the rates in force (see [`store`]).
//!
//! # API
//!
//! JSON out; money integer fen, months `YYYY-MM` (Asia/Shanghai). An error
//! is `{"error": "...", "code": "...", "field": "..."}` (`field` names what
//! is wrong, or is `null`).
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /rates` | `200 {"rates": {insurance: [{from, employer_bp, personal_bp}]}}` |
//! | `GET /persons/{id_number}/summary` | `200` the summary: `{name, status, as_of, first_month, last_month, paid_months, gaps: [{from, to, months}], current_unit: {uscc, name}?, insurances: [{insurance, name, status, first_month, last_month, months}], accounts: {pension_personal_fen, pension_interest_fen, medical_fen}, benefits: [{from, to, monthly_fen}]}` |
//! | `GET /persons/{id_number}/contributions?from=YYYY-MM&to=YYYY-MM&page=N&per_page=N` | `200 {from, to, page, per_page, total, pages, months: [{month, unit: {uscc, name}, base_fen, parts: [{insurance, employer_fen, personal_fen}], employer_fen, personal_fen}], employer_fen, personal_fen}`, newest month first |
//!
//! `insurance` is `pension`, `medical`, `unemployment`, `work_injury` or
//! `maternity`; an insurance's `status` is `paying` (paid for `as_of`, the
//! last month levied: the month before this one), `suspended` (paid
//! before, not for `as_of`) or `never`. `from` defaults to the first month
//! paid, `to` to `as_of`, `page` to 1, `per_page` to 12 (at most 60); the
//! totals cover the whole range.
//!
//! Refusals: `404 no_record` (field `id_number`) for an identity number
//! with no record (无参保记录); `400 invalid` naming the field:
//! `id_number` (not a GB 11643-1999 number: structure, province, birth
//! date, check character), `from` or `to` (not `YYYY-MM`, or `from` after
//! `to`), `page` or `per_page` (not 1-9999 or 1-60), or any other query
//! parameter by name, also one given twice. Any other path is a `404`,
//! another method a `405`, both in the same JSON. The service never panics
//! on input.
//!
//! **Who may call it.** No route checks a credential: whoever reaches the
//! port reads the records of any identity number they know. The service is
//! meant to sit behind the department's gateway, which lets only the host
//! through (mutual TLS on the government network, or the host's ID token
//! checked as `examples/verify-id-token` does) — see
//! `docs/services/social-insurance.md`.
//!
//! # Running it
//!
//! ```text
//! zj-social-insurance --bind 127.0.0.1:0 --data data/backends/social-insurance
//! ```
//!
//! prints exactly one line on standard output, `listening on
//! http://127.0.0.1:PORT`; logs go to standard error (never a path: they
//! hold identity numbers). With `--exit-with-stdin` it also stops when its
//! standard input closes.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let store = zj_social_insurance::store::Store::open("data".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, zj_social_insurance::router(store)).await?;
//! # Ok(()) }
//! ```

pub mod idcard;
pub mod month;
pub mod store;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use month::Month;
use store::{Contributions, RecordError, Store, Summary};

pub use cityhost_backend::api::ApiError;

type Shared = State<Arc<Store>>;

/// Months a page holds unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: u32 = 12;

/// The service's routes over `store`.
pub fn router(store: Store) -> Router {
    cityhost_backend::api::with_fallbacks(
        Router::new()
            .route("/rates", get(rates))
            .route("/persons/{id_number}/summary", get(summary))
            .route("/persons/{id_number}/contributions", get(contributions)),
    )
    .with_state(Arc::new(store))
}

/// An error answer with the service's machine-readable `code`.
fn error(status: StatusCode, code: &str, message: &str, field: Option<&str>) -> ApiError {
    ApiError::new(status, message, field).with("code", code)
}

/// A 400 naming `field`.
fn invalid(field: &str, message: &str) -> ApiError {
    error(StatusCode::BAD_REQUEST, "invalid", message, Some(field))
}

impl From<RecordError> for ApiError {
    fn from(e: RecordError) -> Self {
        let message = e.to_string();
        match e {
            RecordError::NoRecord => error(
                StatusCode::NOT_FOUND,
                "no_record",
                &message,
                Some("id_number"),
            ),
            RecordError::Backwards { .. } => invalid("from", &message),
        }
    }
}

/// The identity number from the path, checked and with `X` upper-case, or
/// a 400 naming `id_number`.
fn checked_id(id_number: &str) -> Result<String, ApiError> {
    let today = month::shanghai_date(month::now_ms()).replace('-', "");
    idcard::validate(id_number, &today).map_err(|e| invalid("id_number", &e.to_string()))
}

/// `GET /rates`.
async fn rates(State(store): Shared) -> Json<Value> {
    Json(json!({"rates": store.rates()}))
}

/// `GET /persons/{id_number}/summary`.
async fn summary(
    State(store): Shared,
    UrlPath(id_number): UrlPath<String>,
) -> Result<Json<Summary>, ApiError> {
    let id_number = checked_id(&id_number)?;
    Ok(Json(store.summary(&id_number, month::now_ms())?))
}

/// The query of `GET /persons/{id}/contributions`, each parameter checked.
#[derive(Debug, Default, PartialEq, Eq)]
struct Range {
    from: Option<Month>,
    to: Option<Month>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// Reads the query: each known parameter at most once and well-formed; any
/// other is a 400 naming it.
fn range(query: Option<&str>) -> Result<Range, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| invalid("query", "not a URL-encoded query"))?;
    let mut range = Range::default();
    for (name, value) in pairs {
        let month = |field: &str| {
            Month::parse(&value)
                .ok_or_else(|| invalid(field, "a month YYYY-MM, 1990-01 to 2099-12"))
        };
        let number = |field: &str, max: u32| {
            value
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| invalid(field, &format!("a whole number from 1 to {max}")))
        };
        let twice = |field: &str| invalid(field, "given more than once");
        match name.as_str() {
            "from" if range.from.is_some() => return Err(twice("from")),
            "from" => range.from = Some(month("from")?),
            "to" if range.to.is_some() => return Err(twice("to")),
            "to" => range.to = Some(month("to")?),
            "page" if range.page.is_some() => return Err(twice("page")),
            "page" => range.page = Some(number("page", 9_999)?),
            "per_page" if range.per_page.is_some() => return Err(twice("per_page")),
            "per_page" => range.per_page = Some(number("per_page", store::MAX_PER_PAGE)?),
            other => return Err(invalid(other, "not a parameter of this route")),
        }
    }
    Ok(range)
}

/// `GET /persons/{id_number}/contributions`.
async fn contributions(
    State(store): Shared,
    UrlPath(id_number): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Contributions>, ApiError> {
    let id_number = checked_id(&id_number)?;
    let r = range(query.as_deref())?;
    Ok(Json(store.contributions(
        &id_number,
        r.from,
        r.to,
        r.page.unwrap_or(1),
        r.per_page.unwrap_or(DEFAULT_PER_PAGE),
        month::now_ms(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str) -> String {
        range(Some(query)).unwrap_err().body()["field"]
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn each_bad_parameter_is_named() {
        assert_eq!(
            range(Some("from=2020-01&to=2021-12&page=2&per_page=5")).unwrap(),
            Range {
                from: Month::parse("2020-01"),
                to: Month::parse("2021-12"),
                page: Some(2),
                per_page: Some(5),
            }
        );
        assert_eq!(range(None).unwrap(), Range::default());
        assert_eq!(field("from=2020-13"), "from");
        assert_eq!(field("to=2020"), "to");
        assert_eq!(field("page=0"), "page");
        assert_eq!(field("per_page=61"), "per_page");
        assert_eq!(field("page=-1"), "page");
        assert_eq!(field("from=2020-01&from=2020-02"), "from");
        assert_eq!(field("size=3"), "size");
    }

    #[test]
    fn identity_numbers_are_checked() {
        assert_eq!(
            checked_id("33010619900101123x").unwrap(),
            "33010619900101123X"
        );
        for bad in ["", "330106199001011231", "abc", "33010619900101123X0"] {
            assert_eq!(
                checked_id(bad).unwrap_err().body()["field"],
                "id_number",
                "{bad}"
            );
        }
    }
}
