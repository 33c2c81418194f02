//! The hospital's appointment system (HIS, package `hzhospital-his`
//! beside this crate), reached through the host's `http` capability at
//! [`ORIGIN`] (the manifest's `[http] allow`). Its API is documented in
//! `his/src/lib.rs`.
//!
//! Every failure to get an answer the HIS documents — no connection, a
//! timeout, a 5xx, a body that is not what the API says — is one
//! [`Unreachable`]; a documented refusal (a full slot, a suspension, …) is
//! a [`Refusal`] the app explains to the citizen.

use cityhost_sdk::http;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Where the HIS is, as the manifest allows it.
pub(crate) const ORIGIN: &str = "http://his.hzhospital.internal";

/// The HIS gave no usable answer; says what happened (for the log, not for
/// the citizen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unreachable(pub(crate) String);

/// A refusal the HIS documents: its status, `code` and the whole body
/// (`field` and details such as `suspended_until`).
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) body: Value,
}

/// An answer: the value, or a documented refusal.
pub(crate) type Answer<T> = Result<Result<T, Refusal>, Unreachable>;

/// A clinical department.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Department {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) intro: String,
}

/// A doctor.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Doctor {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) department: String,
    pub(crate) specialty: String,
    /// The registration fee, fen.
    pub(crate) fee_fen: u64,
}

/// A slot with its places.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Slot {
    pub(crate) id: String,
    /// UTC ms.
    pub(crate) start_at: u64,
    /// UTC ms.
    pub(crate) end_at: u64,
    pub(crate) remaining: u32,
}

/// A booking as the HIS answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Booking {
    pub(crate) id: String,
    pub(crate) slot: String,
    pub(crate) doctor_name: String,
    pub(crate) department_name: String,
    /// UTC ms.
    pub(crate) start_at: u64,
    /// The registration fee, fen.
    pub(crate) fee_fen: u64,
    /// `pending`, `expired`, `booked`, `cancelled`, `attended`, `no_show`.
    pub(crate) status: String,
    /// Until when an unpaid booking holds its place, UTC ms.
    pub(crate) hold_until: u64,
    /// Until when it may be cancelled, UTC ms.
    pub(crate) cancel_until: u64,
    #[serde(default)]
    pub(crate) out_trade_no: Option<String>,
}

/// The no-show rule.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Rule {
    pub(crate) no_shows: u32,
    pub(crate) window_days: u32,
    pub(crate) suspension_days: u32,
}

/// A patient's no-shows and suspension.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Standing {
    pub(crate) no_shows: u32,
    /// UTC ms.
    pub(crate) suspended_until: Option<u64>,
    pub(crate) rule: Rule,
}

fn unreachable(what: &str, e: impl std::fmt::Debug) -> Unreachable {
    Unreachable(format!("{what}: {e:?}"))
}

/// Reads an answer: `ok` statuses decode as `T`, 4xx as a [`Refusal`],
/// anything else is [`Unreachable`].
fn read<T: DeserializeOwned>(response: http::Response, ok: &[u16]) -> Answer<T> {
    if ok.contains(&response.status) {
        return response
            .json()
            .map(Ok)
            .map_err(|e| unreachable("unexpected answer", e));
    }
    if (400..500).contains(&response.status) {
        let body: Value = response
            .json()
            .map_err(|e| unreachable("unexpected refusal", e))?;
        let code = body["code"].as_str().unwrap_or_default().to_string();
        return Ok(Err(Refusal {
            status: response.status,
            code,
            body,
        }));
    }
    Err(Unreachable(format!("status {}", response.status)))
}

fn get<T: DeserializeOwned>(path: &str) -> Answer<T> {
    let response = http::get(&format!("{ORIGIN}{path}")).map_err(|e| unreachable("GET", e))?;
    read(response, &[200])
}

fn post<T: DeserializeOwned>(path: &str, body: &Value) -> Answer<T> {
    let response =
        http::post_json(&format!("{ORIGIN}{path}"), body).map_err(|e| unreachable("POST", e))?;
    read(response, &[200, 201])
}

/// A refusal where none is documented: the HIS is not answering as it
/// should.
fn surely<T>(answer: Answer<T>) -> Result<T, Unreachable> {
    answer?.map_err(|r| Unreachable(format!("refused: {} {}", r.status, r.body)))
}

#[derive(Deserialize)]
struct Departments {
    departments: Vec<Department>,
}

/// Every department.
pub(crate) fn departments() -> Result<Vec<Department>, Unreachable> {
    surely(get::<Departments>("/departments")).map(|d| d.departments)
}

#[derive(Deserialize)]
struct Doctors {
    doctors: Vec<Doctor>,
}

/// The doctors of `department` (an id the caller checked), or a 404
/// refusal.
pub(crate) fn doctors(department: &str) -> Answer<Vec<Doctor>> {
    Ok(get::<Doctors>(&format!("/departments/{department}/doctors"))?.map(|d| d.doctors))
}

/// The doctor `id` (checked by the caller), or a 404 refusal.
pub(crate) fn doctor(id: &str) -> Answer<Doctor> {
    get(&format!("/doctors/{id}"))
}

#[derive(Deserialize)]
struct Slots {
    slots: Vec<Slot>,
}

/// The doctor's open slots, by start.
pub(crate) fn slots(doctor: &str) -> Answer<Vec<Slot>> {
    Ok(get::<Slots>(&format!("/doctors/{doctor}/slots"))?.map(|s| s.slots))
}

/// The patient's no-shows and suspension.
pub(crate) fn standing(patient: &str) -> Result<Standing, Unreachable> {
    surely(get(&format!("/patients/{patient}/standing")))
}

#[derive(Deserialize)]
struct Bookings {
    bookings: Vec<Booking>,
}

/// The patient's bookings, newest slot first.
pub(crate) fn bookings(patient: &str) -> Result<Vec<Booking>, Unreachable> {
    surely(get::<Bookings>(&format!("/patients/{patient}/bookings"))).map(|b| b.bookings)
}

/// The patient's booking `id` (checked by the caller).
pub(crate) fn booking(id: &str, patient: &str) -> Answer<Booking> {
    get(&format!("/bookings/{id}?patient={patient}"))
}

/// Books `slot` (checked by the caller) for `patient`.
pub(crate) fn book(slot: &str, patient: &str) -> Answer<Booking> {
    post("/bookings", &json!({"slot": slot, "patient": patient}))
}

/// Reports that order `out_trade_no` paid `amount_fen` for booking `id`
/// at `paid_at` (UTC ms). Idempotent by the order number.
pub(crate) fn report_payment(
    id: &str,
    out_trade_no: &str,
    amount_fen: u64,
    paid_at: u64,
) -> Answer<Booking> {
    post(
        &format!("/bookings/{id}/payment"),
        &json!({"out_trade_no": out_trade_no, "amount_fen": amount_fen, "paid_at": paid_at}),
    )
}

/// Cancels the patient's booking `id`. Idempotent.
pub(crate) fn cancel(id: &str, patient: &str) -> Answer<Booking> {
    post(
        &format!("/bookings/{id}/cancel"),
        &json!({"patient": patient}),
    )
}
