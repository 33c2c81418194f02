//! The HIS as its callers see it: the binary started on a free port with a
//! temporary data directory, spoken to over real HTTP.

use std::path::Path;

use cityhost_backend::testing::Running;
use serde_json::{Value, json};

/// A running `hzhospital-his`, killed when dropped.
struct Service {
    _running: Running,
    base: String,
    staff_token: String,
}

impl Service {
    /// Starts the binary on `127.0.0.1:0` with `data` and reads the port
    /// from its one line on standard output.
    fn start(data: &Path) -> Service {
        let running = Running::start(env!("CARGO_BIN_EXE_hzhospital-his"), data);
        let base = running.base.clone();
        let staff_token = std::fs::read_to_string(data.join("staff-token")).unwrap();
        Service {
            _running: running,
            base,
            staff_token,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, &body.to_string(), None).await
    }

    async fn staff(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, &body.to_string(), Some(&self.staff_token))
            .await
    }

    async fn post_raw(&self, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            r = r.bearer_auth(token);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// A slot of `capacity` for doctor `d101`, `in_ms` from now (staff).
    async fn extra_slot(&self, in_ms: u64, capacity: u32) -> Value {
        let start_at = (now_ms() + in_ms) / 60_000 * 60_000 + 60_000;
        self.slot_at(start_at, capacity).await
    }

    /// A staff slot of d101 at `start_at`, UTC ms.
    async fn slot_at(&self, start_at: u64, capacity: u32) -> Value {
        let (status, slot) = self
            .staff(
                "/staff/slots",
                &json!({"doctor": "d101", "start_at": start_at, "minutes": 30, "capacity": capacity}),
            )
            .await;
        assert_eq!(status, 201, "{slot}");
        slot
    }
}

const DAY_MS: u64 = 86_400_000;
/// Shanghai's offset from UTC (UTC+8, no daylight saving), ms.
const SHANGHAI_MS: u64 = 8 * 3_600_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// 10:00 Shanghai time, `days` days after today's Shanghai date, UTC ms:
/// a slot whose day does not depend on when the test runs.
fn ten_oclock_in(days: u64) -> u64 {
    let day = (now_ms() + SHANGHAI_MS) / DAY_MS + days;
    day * DAY_MS + 10 * 3_600_000 - SHANGHAI_MS
}

#[tokio::test]
async fn departments_doctors_and_slots_come_from_the_seed() {
    let data = tempfile::tempdir().unwrap();
    let his = Service::start(data.path());
    let (status, deps) = his.get("/departments").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = deps["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"内科") && names.contains(&"儿科"),
        "{names:?}"
    );
    let (status, doctors) = his.get("/departments/internal/doctors").await;
    assert_eq!(status, 200);
    let first = &doctors["doctors"][0];
    assert_eq!(first["id"], "d101");
    assert_eq!(first["fee_fen"], 5000);
    assert!(first.get("rota").is_none(), "{first}");
    let (status, slots) = his.get("/doctors/d101/slots").await;
    assert_eq!(status, 200);
    let slots = slots["slots"].as_array().unwrap();
    assert!(!slots.is_empty(), "d101 sees patients four times a week");
    for s in slots {
        assert!(s["id"].as_str().unwrap().starts_with("d101-"));
        assert_eq!(s["remaining"], s["capacity"]);
    }
    assert_eq!(his.get("/departments/nope/doctors").await.0, 404);
    let (status, e) = his.get("/doctors/a%20b/slots").await;
    assert_eq!((status, e["field"].as_str()), (400, Some("doctor")));
    assert_eq!(his.get("/nowhere").await.0, 404);
}

#[tokio::test]
async fn many_patients_on_one_slot_get_exactly_its_capacity() {
    let data = tempfile::tempdir().unwrap();
    let his = Service::start(data.path());
    let slot = his.extra_slot(2 * DAY_MS, 5).await;
    let id = slot["id"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let tries = (0..64).map(|n| {
        let client = client.clone();
        let url = format!("{}/bookings", his.base);
        let body = json!({"slot": id, "patient": format!("patient{n:02}")});
        async move {
            let r = client.post(url).json(&body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    });
    let answers = futures::future::join_all(tries).await;
    let booked = answers.iter().filter(|(s, _)| *s == 201).count();
    let full = answers
        .iter()
        .filter(|(s, e)| *s == 409 && e["code"] == "full")
        .count();
    assert_eq!((booked, full), (5, 59), "{answers:?}");
    let (_, after) = his.get("/doctors/d101/slots").await;
    let after = after["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (after["taken"].as_u64(), after["remaining"].as_u64()),
        (Some(5), Some(0))
    );
    // The file agrees after a restart.
    drop(his);
    let his = Service::start(data.path());
    let (_, slots) = his.get("/doctors/d101/slots").await;
    let again = slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(again["taken"], 5);
}

#[tokio::test]
async fn a_booking_is_paid_cancelled_and_its_rules_hold() {
    let data = tempfile::tempdir().unwrap();
    let his = Service::start(data.path());
    let slot = his.slot_at(ten_oclock_in(2), 3).await;
    let id = slot["id"].as_str().unwrap();
    let (status, booking) = his
        .post("/bookings", &json!({"slot": id, "patient": "alice"}))
        .await;
    assert_eq!(status, 201, "{booking}");
    assert_eq!(booking["status"], "pending");
    assert_eq!(booking["fee_fen"], 5000);
    assert_eq!(booking["doctor_name"], "王建国");
    assert_eq!(
        booking["hold_until"].as_u64().unwrap() - booking["created_at"].as_u64().unwrap(),
        15 * 60_000
    );
    let bid = booking["id"].as_str().unwrap();
    // Again: the same booking.
    let (status, again) = his
        .post("/bookings", &json!({"slot": id, "patient": "alice"}))
        .await;
    assert_eq!((status, &again["id"]), (200, &booking["id"]));
    // Someone else cannot read or cancel it.
    assert_eq!(
        his.get(&format!("/bookings/{bid}?patient=bob")).await.0,
        404
    );
    let (status, e) = his.get(&format!("/bookings/{bid}")).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("patient")));
    let (status, _) = his
        .post(
            &format!("/bookings/{bid}/cancel"),
            &json!({"patient": "bob"}),
        )
        .await;
    assert_eq!(status, 404);

    // Paid: booked, idempotent by order number, a wrong amount refused.
    let pay =
        |no: &str, amount: u64| json!({"out_trade_no": no, "amount_fen": amount, "paid_at": 1});
    let (status, e) = his
        .post(&format!("/bookings/{bid}/payment"), &pay("reg-1", 1))
        .await;
    assert_eq!(
        (status, e["code"].as_str(), e["fee_fen"].as_u64()),
        (422, Some("amount_differs"), Some(5000))
    );
    for _ in 0..2 {
        let (status, paid) = his
            .post(&format!("/bookings/{bid}/payment"), &pay("reg-1", 5000))
            .await;
        assert_eq!((status, paid["status"].as_str()), (200, Some("booked")));
    }
    let (status, e) = his
        .post(&format!("/bookings/{bid}/payment"), &pay("reg-2", 5000))
        .await;
    assert_eq!((status, e["paid_by"].as_str()), (409, Some("reg-1")));

    // One active booking per doctor per day: another slot that day is refused.
    let start = slot["start_at"].as_u64().unwrap();
    let (_, other) = his
        .staff(
            "/staff/slots",
            &json!({"doctor": "d101", "start_at": start + 3_600_000, "minutes": 30, "capacity": 3}),
        )
        .await;
    let (status, e) = his
        .post(
            "/bookings",
            &json!({"slot": other["id"], "patient": "alice"}),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str(), &e["booking"]),
        (409, Some("same_doctor_same_day"), &booking["id"])
    );

    // Cancelled before the cutoff: the place is free again.
    let (status, cancelled) = his
        .post(
            &format!("/bookings/{bid}/cancel"),
            &json!({"patient": "alice"}),
        )
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );
    let (status, _) = his
        .post(
            "/bookings",
            &json!({"slot": other["id"], "patient": "alice"}),
        )
        .await;
    assert_eq!(status, 201, "the cancelled booking no longer counts");

    // Within two hours of its slot a paid booking cannot be cancelled.
    let soon = his.extra_slot(3_600_000, 1).await;
    let (_, b) = his
        .post(
            "/bookings",
            &json!({"slot": soon["id"], "patient": "carol"}),
        )
        .await;
    let bid = b["id"].as_str().unwrap();
    his.post(&format!("/bookings/{bid}/payment"), &pay("reg-3", 5000))
        .await;
    let (status, e) = his
        .post(
            &format!("/bookings/{bid}/cancel"),
            &json!({"patient": "carol"}),
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (422, Some("past_cutoff")));
    assert_eq!(e["cancel_until"], b["cancel_until"]);
    let (_, mine) = his.get("/patients/carol/bookings").await;
    assert_eq!(mine["bookings"][0]["status"], "booked");
}

#[tokio::test]
async fn three_no_shows_suspend_booking_and_staff_calls_need_the_token() {
    let data = tempfile::tempdir().unwrap();
    let his = Service::start(data.path());
    let (status, e) = his.post_raw("/staff/slots", "{}", Some("wrong")).await;
    assert_eq!((status, e["code"].as_str()), (401, Some("unauthorized")));
    let (status, e) = his
        .post(
            "/staff/bookings/bk000001/attendance",
            &json!({"attended": false}),
        )
        .await;
    assert_eq!(status, 401, "{e}");
    let (status, e) = his.staff("/staff/slots", &json!({"doctor": "d101"})).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("start_at")));

    for n in 0..3u64 {
        let (_, standing) = his.get("/patients/dave/standing").await;
        assert_eq!(standing["no_shows"], n);
        assert_eq!(standing["suspended_until"], Value::Null);
        assert_eq!(
            standing["rule"],
            json!({"no_shows": 3, "window_days": 90, "suspension_days": 30})
        );
        let slot = his.extra_slot((n + 1) * DAY_MS, 2).await;
        let (_, b) = his
            .post("/bookings", &json!({"slot": slot["id"], "patient": "dave"}))
            .await;
        let bid = b["id"].as_str().unwrap();
        let path = format!("/bookings/{bid}/attendance");
        // Only a paid booking can be a no-show.
        let (status, _) = his
            .staff(&format!("/staff{path}"), &json!({"attended": false}))
            .await;
        assert_eq!(status, 409);
        his.post(
            &format!("/bookings/{bid}/payment"),
            &json!({"out_trade_no": format!("reg-{n}"), "amount_fen": 5000, "paid_at": 1}),
        )
        .await;
        let (status, marked) = his
            .staff(&format!("/staff{path}"), &json!({"attended": false}))
            .await;
        assert_eq!((status, marked["status"].as_str()), (200, Some("no_show")));
    }
    let (_, standing) = his.get("/patients/dave/standing").await;
    assert_eq!(standing["no_shows"], 3);
    let until = standing["suspended_until"].as_u64().unwrap();
    let slot = his.extra_slot(5 * DAY_MS, 2).await;
    let (status, e) = his
        .post("/bookings", &json!({"slot": slot["id"], "patient": "dave"}))
        .await;
    assert_eq!(
        (status, e["code"].as_str(), e["suspended_until"].as_u64()),
        (403, Some("suspended"), Some(until))
    );
    let (status, _) = his
        .post("/bookings", &json!({"slot": slot["id"], "patient": "erin"}))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn malformed_requests_name_their_field() {
    let data = tempfile::tempdir().unwrap();
    let his = Service::start(data.path());
    for (body, field) in [
        ("{}", "slot"),
        (r#"{"slot": "d101-20261207-0800"}"#, "patient"),
        (r#"{"slot": "a b", "patient": "p"}"#, "slot"),
        (r#"{"slot": "x", "patient": "p", "more": 1}"#, "more"),
        ("[]", "body"),
        ("nope", "body"),
    ] {
        let (status, e) = his.post_raw("/bookings", body, None).await;
        assert_eq!(
            (status, e["field"].as_str()),
            (400, Some(field)),
            "{body}: {e}"
        );
    }
    let (status, e) = his
        .post(
            "/bookings",
            &json!({"slot": "d101-20260230-0800", "patient": "p"}),
        )
        .await;
    assert_eq!((status, e["field"].as_str()), (404, Some("slot")));
    let (status, e) = his
        .post(
            "/bookings/bk1/payment",
            &json!({"out_trade_no": "r", "amount_fen": 0, "paid_at": 1}),
        )
        .await;
    assert_eq!((status, e["field"].as_str()), (400, Some("amount_fen")));
    let r = reqwest::Client::new()
        .delete(format!("{}/departments", his.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
}

#[test]
fn it_stops_when_its_standard_input_closes() {
    let data = tempfile::tempdir().unwrap();
    cityhost_backend::testing::assert_stops_when_stdin_closes(
        env!("CARGO_BIN_EXE_hzhospital-his"),
        data.path(),
    );
}
