//! 医院信息系统 (HIS): the hospital's appointment system, the department
//! system behind the `hospital-booking` mini-app (预约挂号). The mini-app
//! reaches it only through the host's `http` capability, at the origin
//! `http://his.hzhospital.internal` that its manifest lists.
//!
//! It keeps its own data ([`store`]): departments, doctors and their
//! weekly rota, slots staff add, and bookings, in `{data dir}/his.json`,
//! created from a bundled seed on first start. Patients are known by their
//! openid in the mini-app: stable, and no identity number ever reaches the
//! HIS. The rules — capacity per slot, one active booking per doctor per
//! day, the 15-minute hold of an unpaid booking, the cancel cutoff two hours
//! before the slot, booking suspended 30 days after 3 no-shows in 90 days —
//! are the HIS's, each checked under one lock with the write
//! ([`store::Store`]).
//!
//! # API
//!
//! JSON in, JSON out; times UTC ms, money integer fen. An error is
//! `{"error": "...", "code": "...", "field": "..."}` (`field` names what
//! is wrong, or is `null`), plus details named below.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /departments` | `200 {"departments": [{id, name, intro}]}` |
//! | `GET /departments/{id}/doctors` | `200 {"department", "doctors": [{id, name, title, department, specialty, fee_fen}]}` |
//! | `GET /doctors/{id}` | `200` the doctor |
//! | `GET /doctors/{id}/slots` | `200 {"doctor", "slots": [{id, doctor, start_at, end_at, capacity, taken, remaining}]}`: open slots, by start |
//! | `GET /patients/{openid}/standing` | `200 {"no_shows", "suspended_until", "rule": {no_shows, window_days, suspension_days}}` |
//! | `GET /patients/{openid}/bookings` | `200 {"bookings": [...]}`, newest slot first |
//! | `POST /bookings` `{slot, patient}` | `201` a pending booking (`200` the same one again) |
//! | `GET /bookings/{id}?patient=OPENID` | `200` the booking |
//! | `POST /bookings/{id}/payment` `{out_trade_no, amount_fen, paid_at}` | `200` the booking, now `booked` (idempotent) |
//! | `POST /bookings/{id}/cancel` `{patient}` | `200` the booking, now `cancelled` (idempotent) |
//! | `POST /staff/slots` `{doctor, start_at, minutes, capacity}` | `201` the slot (加号); staff token |
//! | `POST /staff/bookings/{id}/attendance` `{attended: bool}` | `200` the booking, `attended` or `no_show`; staff token |
//!
//! A booking is `{id, slot, doctor, doctor_name, department_name,
//! start_at, end_at, fee_fen, patient, status, created_at, hold_until,
//! cancel_until}` plus `out_trade_no`, `paid_at`, `cancelled_at`,
//! `marked_at` once set; `status` is `pending`, `expired`, `booked`,
//! `cancelled`, `attended` or `no_show`.
//!
//! Refusals: `409 full` (field `slot`), `409 same_doctor_same_day` (field
//! `slot`, with `booking`), `403 suspended` (field `patient`, with
//! `suspended_until` and `no_shows`), `422 slot_closed` (field `slot`),
//! `422 past_cutoff` (field `booking`, with `cancel_until`), `409
//! wrong_status` (field `booking`, with `status`), `409 hold_lost` (field
//! `booking`), `409 paid_by_other` (field `out_trade_no`, with
//! `paid_by`), `422 amount_differs` (field `amount_fen`, with
//! `fee_fen`), `404 not_found` naming `department`, `doctor`, `slot` or
//! `booking` (another patient's booking is not found), `400 invalid`
//! naming the field for a malformed path or body, `401 unauthorized` for a
//! staff call without the staff token (`Authorization: Bearer`, kept in
//! `{data dir}/staff-token`). Any other path is a `404`, another method a
//! `405`, both in the same JSON. The service never panics on input.
//!
//! # Running it
//!
//! ```text
//! hzhospital-his --bind 127.0.0.1:0 --data data/backends/hospital-booking
//! ```
//!
//! prints exactly one line on standard output, `listening on
//! http://127.0.0.1:PORT`; logs go to standard error. With
//! `--exit-with-stdin` it also stops when its standard input closes.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let dir = std::path::Path::new("data");
//! let store = hzhospital_his::store::Store::open(dir)?;
//! let staff_token = hzhospital_his::staff_token(dir)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, hzhospital_his::router(store, staff_token)).await?;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod store;

use cityhost_backend::bearer::BearerToken;
use std::path::Path;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use store::{Booking, ExtraSlot, HisError, Payment, Recorded, Store};

/// The name of the staff token's file in the data directory.
pub const STAFF_TOKEN_FILE: &str = "staff-token";

/// What the handlers share.
struct His {
    store: Store,
    staff_token: BearerToken,
}

type Shared = State<Arc<His>>;

/// The staff token in `dir/staff-token`, made on first start
/// ([`BearerToken::load_or_create`]). Staff tools and tests read it from
/// there.
pub fn staff_token(dir: &Path) -> anyhow::Result<BearerToken> {
    BearerToken::load_or_create(dir, STAFF_TOKEN_FILE)
}

/// The service's routes over `store`; staff calls need `staff_token`.
pub fn router(store: Store, staff_token: BearerToken) -> Router {
    let his = Arc::new(His { store, staff_token });
    cityhost_backend::api::with_fallbacks(
        Router::new()
            .route("/departments", get(departments))
            .route("/departments/{id}/doctors", get(doctors))
            .route("/doctors/{id}", get(doctor))
            .route("/doctors/{id}/slots", get(slots))
            .route("/patients/{openid}/standing", get(standing))
            .route("/patients/{openid}/bookings", get(bookings))
            .route("/bookings", post(book))
            .route("/bookings/{id}", get(booking))
            .route("/bookings/{id}/payment", post(pay))
            .route("/bookings/{id}/cancel", post(cancel))
            .route("/staff/slots", post(add_slot))
            .route("/staff/bookings/{id}/attendance", post(attendance)),
    )
    .with_state(his)
}

pub use cityhost_backend::api::ApiError;

/// An error answer with the HIS's machine-readable `code` beside the
/// message and field.
fn error(status: StatusCode, code: &str, message: &str, field: Option<&str>) -> ApiError {
    ApiError::new(status, message, field).with("code", code)
}

/// A 400 naming `field`.
fn invalid(field: &str, message: &str) -> ApiError {
    error(StatusCode::BAD_REQUEST, "invalid", message, Some(field))
}

impl From<HisError> for ApiError {
    fn from(e: HisError) -> Self {
        let message = e.to_string();
        let err = |status, code, field| error(status, code, &message, Some(field));
        match e {
            HisError::NoDepartment(_) => err(StatusCode::NOT_FOUND, "not_found", "department"),
            HisError::NoDoctor(_) => err(StatusCode::NOT_FOUND, "not_found", "doctor"),
            HisError::NoSlot(_) => err(StatusCode::NOT_FOUND, "not_found", "slot"),
            HisError::NoBooking(_) => err(StatusCode::NOT_FOUND, "not_found", "booking"),
            HisError::SlotClosed(_) => err(StatusCode::UNPROCESSABLE_ENTITY, "slot_closed", "slot"),
            HisError::Full(_) => err(StatusCode::CONFLICT, "full", "slot"),
            HisError::SameDoctorSameDay(ref other) => {
                err(StatusCode::CONFLICT, "same_doctor_same_day", "slot").with("booking", other)
            }
            HisError::Suspended { until, no_shows } => {
                err(StatusCode::FORBIDDEN, "suspended", "patient")
                    .with("suspended_until", until)
                    .with("no_shows", no_shows)
            }
            HisError::WrongStatus(status) => {
                err(StatusCode::CONFLICT, "wrong_status", "booking").with("status", status)
            }
            HisError::HoldLost => err(StatusCode::CONFLICT, "hold_lost", "booking"),
            HisError::PaidByOther(ref no) => {
                err(StatusCode::CONFLICT, "paid_by_other", "out_trade_no").with("paid_by", no)
            }
            HisError::AmountDiffers { due, .. } => err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "amount_differs",
                "amount_fen",
            )
            .with("fee_fen", due),
            HisError::PastCutoff(until) => {
                err(StatusCode::UNPROCESSABLE_ENTITY, "past_cutoff", "booking")
                    .with("cancel_until", until)
            }
            HisError::Invalid { field, .. } => err(StatusCode::BAD_REQUEST, "invalid", field),
            HisError::Io(ref why) => {
                tracing::error!(error = %why, "not saved");
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unavailable",
                    "the change could not be saved; try again",
                    None,
                )
            }
        }
    }
}

/// An id from the path (department, doctor, booking, slot, openid): 1-64
/// of `A-Z a-z 0-9 - _`, or a 400 naming `field`.
fn checked_id<'a>(id: &'a str, field: &str) -> Result<&'a str, ApiError> {
    if !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(id)
    } else {
        Err(invalid(field, "1-64 of A-Z a-z 0-9 - _"))
    }
}

/// A JSON body of type `T`, or a 400 naming the field at fault (`body`
/// for JSON that is not an object).
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    cityhost_backend::api::json_body(bytes).map_err(|e| e.with("code", "invalid"))
}

fn staff(his: &His, headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = his.staff_token.admits(headers);
    if ok {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the staff token is missing or wrong",
            Some("authorization"),
        ))
    }
}

/// `GET /departments`.
async fn departments(State(his): Shared) -> Json<Value> {
    Json(json!({"departments": his.store.departments()}))
}

/// A doctor as patients see them: no rota.
#[derive(Serialize)]
struct DoctorView {
    id: String,
    name: String,
    title: String,
    department: String,
    specialty: String,
    fee_fen: u64,
}

impl From<store::Doctor> for DoctorView {
    fn from(d: store::Doctor) -> Self {
        Self {
            id: d.id,
            name: d.name,
            title: d.title,
            department: d.department,
            specialty: d.specialty,
            fee_fen: d.fee_fen,
        }
    }
}

/// `GET /departments/{id}/doctors`.
async fn doctors(
    State(his): Shared,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = checked_id(&id, "department")?;
    let doctors: Vec<DoctorView> = his.store.doctors(id)?.into_iter().map(Into::into).collect();
    Ok(Json(json!({"department": id, "doctors": doctors})))
}

/// `GET /doctors/{id}`.
async fn doctor(
    State(his): Shared,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<DoctorView>, ApiError> {
    let id = checked_id(&id, "doctor")?;
    Ok(Json(his.store.doctor(id)?.into()))
}

/// `GET /doctors/{id}/slots`.
async fn slots(State(his): Shared, UrlPath(id): UrlPath<String>) -> Result<Json<Value>, ApiError> {
    let id = checked_id(&id, "doctor")?;
    let slots = his.store.slots(id, clock::now_ms())?;
    Ok(Json(json!({"doctor": id, "slots": slots})))
}

/// `GET /patients/{openid}/standing`.
async fn standing(
    State(his): Shared,
    UrlPath(openid): UrlPath<String>,
) -> Result<Json<store::Standing>, ApiError> {
    let openid = checked_id(&openid, "patient")?;
    Ok(Json(his.store.standing(openid, clock::now_ms())))
}

/// `GET /patients/{openid}/bookings`.
async fn bookings(
    State(his): Shared,
    UrlPath(openid): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let openid = checked_id(&openid, "patient")?;
    Ok(Json(
        json!({"bookings": his.store.bookings_of(openid, clock::now_ms())}),
    ))
}

/// The body of `POST /bookings`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookBody {
    slot: String,
    patient: String,
}

/// `POST /bookings`.
async fn book(State(his): Shared, bytes: Bytes) -> Result<(StatusCode, Json<Booking>), ApiError> {
    let b: BookBody = body(&bytes)?;
    checked_id(&b.slot, "slot")?;
    checked_id(&b.patient, "patient")?;
    match his.store.book(&b.slot, &b.patient, clock::now_ms())? {
        Recorded::New(booking) => {
            tracing::info!(booking = %booking.id, slot = %booking.slot, "booked");
            Ok((StatusCode::CREATED, Json(booking)))
        }
        Recorded::Again(booking) => Ok((StatusCode::OK, Json(booking))),
    }
}

#[derive(Deserialize)]
struct PatientQuery {
    patient: Option<String>,
}

/// `GET /bookings/{id}?patient=OPENID`.
async fn booking(
    State(his): Shared,
    UrlPath(id): UrlPath<String>,
    query: Result<Query<PatientQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Booking>, ApiError> {
    let id = checked_id(&id, "booking")?;
    let Ok(Query(PatientQuery {
        patient: Some(patient),
    })) = query
    else {
        return Err(invalid("patient", "the patient's openid is required"));
    };
    let patient = checked_id(&patient, "patient")?;
    Ok(Json(his.store.booking(
        id,
        Some(patient),
        clock::now_ms(),
    )?))
}

/// The body of `POST /bookings/{id}/payment`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentBody {
    out_trade_no: String,
    amount_fen: u64,
    paid_at: u64,
}

/// `POST /bookings/{id}/payment`.
async fn pay(
    State(his): Shared,
    UrlPath(id): UrlPath<String>,
    bytes: Bytes,
) -> Result<Json<Booking>, ApiError> {
    let id = checked_id(&id, "booking")?;
    let p: PaymentBody = body(&bytes)?;
    checked_id(&p.out_trade_no, "out_trade_no")?;
    if p.amount_fen == 0 {
        return Err(invalid("amount_fen", "at least 1 fen"));
    }
    let payment = Payment {
        out_trade_no: p.out_trade_no,
        amount_fen: p.amount_fen,
        paid_at: p.paid_at,
    };
    let booking = match his.store.pay(id, &payment, clock::now_ms())? {
        Recorded::New(b) => {
            tracing::info!(booking = %b.id, "fee paid");
            b
        }
        Recorded::Again(b) => b,
    };
    Ok(Json(booking))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    patient: String,
}

/// `POST /bookings/{id}/cancel`.
async fn cancel(
    State(his): Shared,
    UrlPath(id): UrlPath<String>,
    bytes: Bytes,
) -> Result<Json<Booking>, ApiError> {
    let id = checked_id(&id, "booking")?;
    let c: CancelBody = body(&bytes)?;
    checked_id(&c.patient, "patient")?;
    let booking = match his.store.cancel(id, &c.patient, clock::now_ms())? {
        Recorded::New(b) => {
            tracing::info!(booking = %b.id, "cancelled");
            b
        }
        Recorded::Again(b) => b,
    };
    Ok(Json(booking))
}

/// `POST /staff/slots`.
async fn add_slot(
    State(his): Shared,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<(StatusCode, Json<store::Slot>), ApiError> {
    staff(&his, &headers)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AddSlot {
        doctor: String,
        start_at: u64,
        minutes: u32,
        capacity: u32,
    }
    let a: AddSlot = body(&bytes)?;
    checked_id(&a.doctor, "doctor")?;
    let slot = his.store.add_slot(
        ExtraSlot {
            doctor: a.doctor,
            start_at: a.start_at,
            minutes: a.minutes,
            capacity: a.capacity,
        },
        clock::now_ms(),
    )?;
    Ok((StatusCode::CREATED, Json(slot)))
}

/// `POST /staff/bookings/{id}/attendance`.
async fn attendance(
    State(his): Shared,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    bytes: Bytes,
) -> Result<Json<Booking>, ApiError> {
    staff(&his, &headers)?;
    let id = checked_id(&id, "booking")?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Attendance {
        attended: bool,
    }
    let a: Attendance = body(&bytes)?;
    Ok(Json(his.store.mark(id, a.attended, clock::now_ms())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_body_names_its_field() {
        let field =
            |text: &str| body::<PaymentBody>(text.as_bytes()).unwrap_err().body()["field"].clone();
        assert_eq!(field(r#"{"amount_fen":1,"paid_at":1}"#), "out_trade_no");
        assert_eq!(
            field(r#"{"out_trade_no":"a","amount_fen":-1,"paid_at":1}"#),
            "amount_fen"
        );
        assert_eq!(
            field(r#"{"out_trade_no":"a","amount_fen":1,"paid_at":1,"x":1}"#),
            "x"
        );
        assert_eq!(field("[]"), "body");
        assert_eq!(field("not json"), "body");
    }

    #[test]
    fn ids_are_checked() {
        assert!(checked_id("d101-20261207-0800", "slot").is_ok());
        for bad in ["", "a b", "../x", &"a".repeat(65), "医生"] {
            assert_eq!(checked_id(bad, "slot").unwrap_err().body()["field"], "slot");
        }
    }
}
