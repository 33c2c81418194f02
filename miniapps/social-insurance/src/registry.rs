//! The provincial social-insurance records service (package
//! `zj-social-insurance`, in `registry/` beside this crate), reached
//! through the host's `http` capability at [`ORIGIN`] (the manifest's
//! `[http] allow`). Its API is documented in `registry/src/lib.rs`.
//!
//! An identity number the service has no record of is `None`; every other
//! failure to get a documented answer — no connection, a timeout, a 5xx,
//! a refusal the app's own checks should have prevented, a body that is
//! not what the API says — is one [`Unreachable`].

use cityhost_sdk::http;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Where the records service is, as the manifest allows it.
pub(crate) const ORIGIN: &str = "http://si.zjhrss.internal";

/// The service gave no usable answer; says what happened (for the log,
/// not for the citizen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable(pub(crate) String);

/// A paying unit (参保单位).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Unit {
    pub(crate) uscc: String,
    pub(crate) name: String,
}

/// Where one insurance stands.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Standing {
    /// `pension`, `medical`, `unemployment`, `work_injury`, `maternity`.
    pub(crate) insurance: String,
    pub(crate) name: String,
    /// `paying`, `suspended` or `never`.
    pub(crate) status: String,
    /// `YYYY-MM`.
    pub(crate) first_month: Option<String>,
    pub(crate) months: u32,
}

/// Account balances, fen.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Accounts {
    pub(crate) pension_personal_fen: u64,
    pub(crate) pension_interest_fen: u64,
    pub(crate) medical_fen: u64,
}

/// Months with no contribution.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Gap {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) months: u32,
}

/// Unemployment benefit paid.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Benefit {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) monthly_fen: u64,
}

/// `GET /persons/{id}/summary`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Summary {
    pub(crate) name: String,
    /// `paying` or `suspended`.
    pub(crate) status: String,
    /// The last month levied, `YYYY-MM`.
    pub(crate) as_of: String,
    pub(crate) first_month: Option<String>,
    pub(crate) last_month: Option<String>,
    pub(crate) paid_months: u32,
    pub(crate) gaps: Vec<Gap>,
    pub(crate) current_unit: Option<Unit>,
    pub(crate) insurances: Vec<Standing>,
    pub(crate) accounts: Accounts,
    pub(crate) benefits: Vec<Benefit>,
}

/// One insurance's part of a month.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Part {
    pub(crate) insurance: String,
    pub(crate) employer_fen: u64,
    pub(crate) personal_fen: u64,
}

/// One month's contribution.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MonthRecord {
    pub(crate) month: String,
    pub(crate) unit: Unit,
    pub(crate) base_fen: u64,
    pub(crate) parts: Vec<Part>,
    pub(crate) employer_fen: u64,
    pub(crate) personal_fen: u64,
}

/// `GET /persons/{id}/contributions`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Contributions {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) page: u32,
    pub(crate) total: u32,
    pub(crate) pages: u32,
    pub(crate) months: Vec<MonthRecord>,
    pub(crate) employer_fen: u64,
    pub(crate) personal_fen: u64,
}

/// GETs `path`: 200 as `T`, 404 `no_record` as `None`.
fn get<T: DeserializeOwned>(path: &str) -> Result<Option<T>, Unreachable> {
    let response =
        http::get(&format!("{ORIGIN}{path}")).map_err(|e| Unreachable(format!("GET: {e:?}")))?;
    match response.status {
        200 => response
            .json()
            .map(Some)
            .map_err(|e| Unreachable(format!("unexpected answer: {e:?}"))),
        404 => {
            let body: serde_json::Value = response
                .json()
                .map_err(|e| Unreachable(format!("unexpected refusal: {e:?}")))?;
            if body["code"] == "no_record" {
                Ok(None)
            } else {
                Err(Unreachable(format!("404 {body}")))
            }
        }
        status => Err(Unreachable(format!("status {status}"))),
    }
}

/// The summary of `id_number` (a checked identity number), or `None`: no
/// record.
pub(crate) fn summary(id_number: &str) -> Result<Option<Summary>, Unreachable> {
    get(&format!("/persons/{id_number}/summary"))
}

/// Page `page` of `per_page` months of `id_number` within `from`..=`to`
/// (checked `YYYY-MM`, or the service's defaults), newest first; `None`:
/// no record.
pub(crate) fn contributions(
    id_number: &str,
    from: Option<&str>,
    to: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Option<Contributions>, Unreachable> {
    let mut path = format!("/persons/{id_number}/contributions?page={page}&per_page={per_page}");
    if let Some(from) = from {
        path.push_str(&format!("&from={from}"));
    }
    if let Some(to) = to {
        path.push_str(&format!("&to={to}"));
    }
    get(&path)
}
