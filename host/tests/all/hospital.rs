//! 预约挂号 (`miniapps/hospital`) through real parts: the host, the
//! mini-app component and the hospital's HIS (`hzhospital-his`, started
//! for each test host from the app's `[dev.backend]`), driven over HTTP as
//! citizens, the hospital's staff (the HIS's staff token) and the host's
//! background tasks (payment events, timers) do.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cityhost::cli::demo;
use serde_json::{Value, json};

use crate::support::{Citizen, TestHost, actions, eventually};

const APP: &str = "hospital-booking";
const ZHANG: &str = "13800000001";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The HIS as the hospital's staff reach it: its base URL and token.
struct Staff {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Staff {
    fn of(host: &TestHost) -> Staff {
        let path = host
            .data_dir()
            .join("backends")
            .join(APP)
            .join("staff-token");
        Staff {
            base: host.backend_url(APP),
            token: std::fs::read_to_string(path).unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// Adds a slot (加号) for `doctor` starting `in_ms` from now.
    async fn slot(&self, doctor: &str, in_ms: u64, capacity: u32) -> Value {
        let body = json!({"doctor": doctor, "start_at": now_ms() + in_ms, "minutes": 30, "capacity": capacity});
        let (status, slot) = self.post("/staff/slots", &body).await;
        assert_eq!(status, 201, "{slot}");
        slot
    }

    /// The slot `id` as the doctor's list shows it.
    async fn find_slot(&self, doctor: &str, id: &str) -> Value {
        let slots = self.get(&format!("/doctors/{doctor}/slots")).await;
        slots["slots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {slots}"))
            .clone()
    }

    async fn bookings(&self, openid: &str) -> Vec<Value> {
        let list = self.get(&format!("/patients/{openid}/bookings")).await;
        list["bookings"].as_array().unwrap().clone()
    }
}

async fn view(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// Books `slot` as `c`: the status and the view.
async fn book(c: &Citizen, slot: &str) -> (u16, Value) {
    view(
        c.post_form(&format!("/apps/{APP}/book"), &[("slot", slot)])
            .await,
    )
    .await
}

/// Pays the order behind the view's pay button with the demo PIN.
async fn pay(c: &Citizen, checkout: &Value) -> String {
    let pay = actions(checkout, "pay");
    assert_eq!(pay.len(), 1, "{checkout}");
    let order_id = pay[0]["order_id"].as_str().unwrap().to_string();
    let r = c
        .post_json(
            &format!("/api/orders/{order_id}/confirm"),
            &json!({"order_id": order_id, "pin": demo::DEMO_PIN}),
        )
        .await;
    assert_eq!(r.status(), 200);
    order_id
}

/// The citizen's inbox messages of this app with `title`.
async fn messages(c: &Citizen, title: &str) -> Vec<Value> {
    let inbox = c.get_json("/api/inbox", 200).await;
    inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["app_id"] == APP && m["title"] == title)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_citizen_books_pays_is_reminded_and_cancels_with_the_fee_refunded() {
    let host = TestHost::start().await;
    let staff = Staff::of(&host);
    let c = host.demo_citizen(ZHANG).await;
    let openid = host.openid(ZHANG, APP).await;

    // The home page lists the departments and tells the no-show rule.
    let (status, home) = view(c.get(&format!("/apps/{APP}/")).await).await;
    assert_eq!(status, 200, "{home}");
    let text = home.to_string();
    assert!(text.contains("内科") && text.contains("儿科"), "{home}");
    assert!(
        text.contains("90 天内爽约累计 3 次") && text.contains("爽约 0 次"),
        "{home}"
    );

    // Reminders need the citizen's subscription (the sheet's accept).
    let r = c
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": APP, "decisions": [{"template": "reminder", "decision": "accept"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);

    // A slot whose day-before reminder falls a few seconds from now.
    let slot = staff.slot("d102", 24 * 3_600_000 + 10_000, 2).await;
    let slot_id = slot["id"].as_str().unwrap();
    let (status, page) = view(c.get(&format!("/apps/{APP}/doctor?id=d102")).await).await;
    assert_eq!(status, 200);
    assert!(
        actions(&page, "post")
            .iter()
            .any(|a| a["path"] == "/book" && a["body"]["slot"] == slot_id),
        "a button for the new slot: {page}"
    );

    let (status, checkout) = book(&c, slot_id).await;
    assert_eq!(status, 200, "{checkout}");
    assert!(
        checkout.to_string().contains("¥20.00"),
        "the fee: {checkout}"
    );
    // Held, not yet booked: the place is taken while the fee is unpaid.
    assert_eq!(staff.find_slot("d102", slot_id).await["taken"], 1);
    let booking = staff.bookings(&openid).await.remove(0);
    assert_eq!(booking["status"], "pending");
    let booking_id = booking["id"].as_str().unwrap().to_string();
    let order_id = pay(&c, &checkout).await;
    let (_, again) = book(&c, slot_id).await;
    assert!(
        actions(&again, "pay").is_empty(),
        "paid: no second pay button {again}"
    );

    // The payment event confirms the booking in the HIS, with a receipt.
    host.events_delivered().await;
    let booking = staff.bookings(&openid).await.remove(0);
    assert_eq!(booking["status"], "booked", "{booking}");
    assert_eq!(booking["out_trade_no"], format!("reg-{booking_id}"));
    let receipts = messages(&c, "挂号成功").await;
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0]["body"].as_str().unwrap().contains(&booking_id));

    // The reminder timer fires 24 hours before the slot, for this citizen.
    for _ in 0..300 {
        if !messages(&c, "就诊提醒").await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reminders = messages(&c, "就诊提醒").await;
    assert_eq!(reminders.len(), 1, "the reminder arrived");
    assert!(reminders[0]["body"].as_str().unwrap().contains("周敏"));

    // 我的预约 offers to cancel; cancelling refunds the fee in full.
    let (_, mine) = view(c.get(&format!("/apps/{APP}/bookings")).await).await;
    assert!(
        actions(&mine, "post")
            .iter()
            .any(|a| a["path"] == "/cancel" && a["body"]["booking"] == booking_id.as_str()),
        "{mine}"
    );
    for _ in 0..2 {
        let r = c
            .post_form(&format!("/apps/{APP}/cancel"), &[("booking", &booking_id)])
            .await;
        let (status, done) = view(r).await;
        assert_eq!(status, 200, "{done}");
        assert!(done.to_string().contains("¥20.00 将原路退回"), "{done}");
    }
    let order = c.get_json(&format!("/api/orders/{order_id}"), 200).await;
    assert_eq!(order["state"], "refunded", "{order}");
    assert_eq!(order["refunded_fen"], 2000, "refunded once, in full");
    assert_eq!(staff.bookings(&openid).await[0]["status"], "cancelled");
    assert_eq!(staff.find_slot("d102", slot_id).await["taken"], 0);
    eventually("the refund receipt", || async {
        messages(&c, "退号退费").await.len() == 1
    })
    .await;
}

/// A valid GB 11643-1999 identity number from its first 17 digits.
fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    format!("{first17}{}", CHECK[(sum % 11) as usize] as char)
}

#[tokio::test(flavor = "multi_thread")]
async fn many_citizens_booking_one_slot_at_once_get_exactly_its_places() {
    let host = TestHost::start().await;
    let staff = Staff::of(&host);
    const CITIZENS: usize = 12;
    const PLACES: u32 = 3;

    // Twelve residents (钱甲 … 钱丑) in the population registry, each registered and
    // real-name verified (L2).
    let people: Vec<(String, String)> = (0..CITIZENS)
        .zip("甲乙丙丁戊己庚辛壬癸子丑".chars())
        .map(|(n, c)| {
            (
                format!("钱{c}"),
                id_number(&format!("33010619900101{n:03}")),
            )
        })
        .collect();
    let mut csv = String::from("name,id_number\n");
    for (name, number) in &people {
        csv.push_str(&format!("{name},{number}\n"));
    }
    let r = reqwest::Client::new()
        .post(format!("{}/api/operator/population", host.base))
        .bearer_auth(&host.platform.operator_token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["imported"], CITIZENS, "{report}");
    let mut citizens = Vec::new();
    for (n, (name, number)) in people.iter().enumerate() {
        let c = host.new_citizen(&format!("139000071{n:02}")).await;
        if n == 0 {
            // Before verification: the service is refused by the host.
            let r = c.get(&format!("/apps/{APP}/")).await;
            let (status, e) = view(r).await;
            assert_eq!(
                (status, e["error"]["code"].as_str()),
                (403, Some("assurance_required"))
            );
        }
        let r = c
            .post_json(
                "/api/me/verification",
                &json!({"name": name, "id_number": number}),
            )
            .await;
        assert_eq!(r.status(), 200, "verify {name}");
        citizens.push(c);
    }

    let slot = staff.slot("d301", 3 * 24 * 3_600_000, PLACES).await;
    let slot_id = slot["id"].as_str().unwrap().to_string();
    let answers = futures_util::future::join_all(citizens.iter().map(|c| book(c, &slot_id))).await;
    let booked = answers
        .iter()
        .filter(|(s, v)| *s == 200 && actions(v, "pay").len() == 1)
        .count();
    let full = answers
        .iter()
        .filter(|(s, v)| *s == 409 && v.to_string().contains("已约满"))
        .count();
    assert_eq!(
        (booked, full),
        (PLACES as usize, CITIZENS - PLACES as usize),
        "{answers:?}"
    );
    let after = staff.find_slot("d301", &slot_id).await;
    assert_eq!(
        (after["taken"].as_u64(), after["remaining"].as_u64()),
        (Some(3), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cutoff_one_a_day_and_no_show_suspension_are_the_hospitals_rules() {
    let host = TestHost::start().await;
    let staff = Staff::of(&host);
    let c = host.demo_citizen(ZHANG).await;
    let openid = host.openid(ZHANG, APP).await;

    // It sits with Hangzhou's city-level services, in every district.
    let apps = c.get_json("/api/apps?division=330102", 200).await;
    let listed = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == APP)
        .unwrap_or_else(|| panic!("{APP} under 330102: {apps}"))
        .clone();
    assert_eq!(listed["department"]["level"], "city");
    assert_eq!(listed["name"], "预约挂号");

    // Within two hours of the slot a paid booking is not cancelled.
    let soon = staff.slot("d201", 3_600_000, 2).await;
    let (status, checkout) = book(&c, soon["id"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{checkout}");
    let order_id = pay(&c, &checkout).await;
    host.events_delivered().await;
    let booking = staff.bookings(&openid).await.remove(0);
    assert_eq!(booking["status"], "booked");
    let id = booking["id"].as_str().unwrap();
    let r = c
        .post_form(&format!("/apps/{APP}/cancel"), &[("booking", id)])
        .await;
    let (status, refused) = view(r).await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused.to_string().contains("已过退号截止时间"),
        "{refused}"
    );
    let order = c.get_json(&format!("/api/orders/{order_id}"), 200).await;
    assert_eq!(order["state"], "paid", "no refund");

    // One active booking per doctor per day.
    let same_day = staff.slot("d201", 3_600_000 + 60_000, 2).await;
    let (status, refused) = book(&c, same_day["id"].as_str().unwrap()).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused.to_string().contains("当天已预约该医生"),
        "{refused}"
    );
    // Someone else's booking cannot be cancelled through the app.
    let li = host.demo_citizen("13800000002").await;
    let r = li
        .post_form(&format!("/apps/{APP}/cancel"), &[("booking", id)])
        .await;
    assert_eq!(r.status(), 404);
    // Malformed fields are 400s naming them.
    let (status, bad) = book(&c, "../x").await;
    assert_eq!(status, 400);
    assert!(bad.to_string().contains("slot"), "{bad}");

    // Three no-shows marked by staff: told on the pages, then suspended.
    for n in 0..3u64 {
        let slot = staff.slot("d101", (n + 2) * 24 * 3_600_000, 2).await;
        let (status, b) = staff
            .post("/bookings", &json!({"slot": slot["id"], "patient": openid}))
            .await;
        assert_eq!(status, 201, "{b}");
        let bid = b["id"].as_str().unwrap();
        staff
            .post(
                &format!("/bookings/{bid}/payment"),
                &json!({"out_trade_no": format!("desk-{n}"), "amount_fen": 5000, "paid_at": now_ms()}),
            )
            .await;
        let (status, marked) = staff
            .post(
                &format!("/staff/bookings/{bid}/attendance"),
                &json!({"attended": false}),
            )
            .await;
        assert_eq!((status, marked["status"].as_str()), (200, Some("no_show")));
        if n == 1 {
            let (_, page) = view(c.get(&format!("/apps/{APP}/doctor?id=d202")).await).await;
            assert!(page.to_string().contains("您近 90 天爽约 2 次"), "{page}");
        }
    }
    let (_, page) = view(c.get(&format!("/apps/{APP}/doctor?id=d202")).await).await;
    let text = page.to_string();
    assert!(
        text.contains("爽约 3 次") && text.contains("暂停至"),
        "{page}"
    );
    assert!(
        actions(&page, "post").is_empty(),
        "no booking buttons while suspended: {page}"
    );
    let slot = staff.slot("d202", 2 * 24 * 3_600_000, 2).await;
    let (status, refused) = book(&c, slot["id"].as_str().unwrap()).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused.to_string().contains("暂停至"), "{refused}");
}
