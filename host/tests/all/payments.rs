//! Payments end to end: the PIN sheet, funds, lockout, refunds through the
//! payment interface of real components, events, settlement statements.

use std::time::Duration;

use cityhost::cli::demo;
use cityhost::payments::NewOrder;
use cityhost::payments::orders::Payee;
use cityhost::platform::{HostConfig, Platform};
use serde_json::{Value, json};

use crate::support::{TestHost, actions, app_dirs, components, eventually, test_store};

const SCHOOL: &str = "桐庐县实验小学";
/// The school's Unified Social Credit Code (tuition's `[department] uscc`):
/// its merchant account and the key of its statements.
const SCHOOL_USCC: &str = "1233012247085123X1";

async fn status_and_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn operator(host: &TestHost) -> String {
    format!("Bearer {}", host.platform.operator_token)
}

fn today_in_china() -> String {
    let now = time::OffsetDateTime::now_utc()
        .to_offset(cityhost::payments::settlement::CHINA_STANDARD_TIME);
    let d = now.date();
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

#[tokio::test(flavor = "multi_thread")]
async fn tuition_is_paid_with_the_pin_refunded_and_settled() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let account = c.get_json("/api/payment/account", 200).await;
    assert_eq!(account["balance_fen"], demo::DEMO_FUNDS_FEN);
    assert_eq!(account["pin"]["set"], true);

    let fees = c.get_json("/apps/tuition/fees?pupil=2026001", 200).await;
    let boarding = actions(&fees, "post")
        .into_iter()
        .find(|a| a["path"] == "/pay" && a["body"]["item"] == "boarding")
        .expect("a pay button for the boarding fee")
        .clone();
    let checkout = c
        .post_form(
            "/apps/tuition/pay",
            &[("pupil", "2026001"), ("item", "boarding")],
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(boarding["body"]["pupil"], "2026001");
    let order_id = actions(&checkout, "pay")[0]["order_id"]
        .as_str()
        .unwrap()
        .to_string();
    let confirm = format!("/api/orders/{order_id}/confirm");

    // A wrong PIN is refused on the sheet with the tries left; nothing paid.
    let (status, body) = status_and_json(
        c.post_json(&confirm, &json!({"order_id": order_id, "pin": "111112"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("wrong_pin"))
    );
    assert_eq!(
        c.get_json("/api/payment/account", 200).await["pin"]["remaining_tries"],
        4
    );
    let (status, order) = status_and_json(
        c.post_json(
            &confirm,
            &json!({"order_id": order_id, "pin": demo::DEMO_PIN}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["state"], "paid");
    assert_eq!(order["department"], SCHOOL);
    assert_eq!(
        c.get_json("/api/payment/account", 200).await["balance_fen"],
        demo::DEMO_FUNDS_FEN - 80_000
    );

    // The school hears of it and sends a receipt.
    eventually("the payment receipt", || async {
        let inbox = c.get_json("/api/inbox", 200).await;
        inbox["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["title"] == "缴费成功")
    })
    .await;

    // Another citizen cannot refund this family's payment through the app:
    // in a citizen's request the host lets an app refund only that
    // citizen's own orders.
    let stranger = host.demo_citizen("13800000002").await;
    let r = stranger
        .post_form(
            "/apps/tuition/refund",
            &[("pupil", "2026001"), ("item", "boarding")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let receipt = c.get_json(&format!("/api/orders/{order_id}"), 200).await;
    assert_eq!(receipt["refunded_fen"], 0);

    // The boarding fee is refunded through the payment interface; asking
    // twice refunds once.
    for _ in 0..2 {
        let r = c
            .post_form(
                "/apps/tuition/refund",
                &[("pupil", "2026001"), ("item", "boarding")],
            )
            .await;
        assert_eq!(r.status(), 200);
    }
    let receipt = c.get_json(&format!("/api/orders/{order_id}"), 200).await;
    assert_eq!(receipt["state"], "refunded");
    assert_eq!(receipt["refunded_fen"], 80_000);
    assert_eq!(receipt["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(
        c.get_json("/api/payment/account", 200).await["balance_fen"],
        demo::DEMO_FUNDS_FEN
    );
    eventually("the refund receipt", || async {
        let inbox = c.get_json("/api/inbox", 200).await;
        inbox["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["title"] == "退费成功")
    })
    .await;
    let orders = c.get_json("/api/orders", 200).await;
    assert_eq!(orders[0]["order_id"], order_id.as_str());
    assert_eq!(orders[0]["state"], "refunded");

    // The school's statement: one payment, one refund, net zero; only with
    // a token.
    let path = format!(
        "/api/departments/{SCHOOL_USCC}/statements/{}.csv",
        today_in_china()
    );
    assert_eq!(c.get(&path).await.status(), 401);
    let r = c
        .http
        .get(format!("{}{path}", host.base))
        .header("authorization", operator(&host))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].contains(&order_id) && lines[1].contains(",payment,80000,0,80000,"));
    assert!(lines[2].contains(",refund,0,80000,-80000,"));
    assert!(lines[3].starts_with("TOTAL,,,80000,80000,0,"));
    let bad = c
        .http
        .get(format!(
            "{}/api/departments/x/statements/2026-13-01.csv",
            host.base
        ))
        .header("authorization", operator(&host))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let verify = c
        .http
        .get(format!("{}/api/operator/ledger/verify", host.base))
        .header("authorization", operator(&host))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(verify["balanced"], true, "{verify}");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// A bearer token of the department `uscc` with the `statements` scope,
/// issued by the operator.
async fn statements_token(host: &TestHost, uscc: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/operator/departments/{uscc}/tokens",
            host.base
        ))
        .header("authorization", operator(host))
        .json(&json!({"scopes": ["statements"], "lifetime_secs": 3600}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(r).await;
    assert_eq!(status, 201, "{body}");
    format!("Bearer {}", body["token"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_are_keyed_by_the_departments_uscc() {
    let host = TestHost::start().await;
    let school = statements_token(&host, SCHOOL_USCC).await;
    // hello's department, the city's data bureau.
    let bureau = statements_token(&host, "11330100002501175E").await;
    let get = |department: String, token: String| {
        let url = format!(
            "{}/api/departments/{department}/statements/{}.csv",
            host.base,
            today_in_china()
        );
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .header("authorization", token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, text)
        }
    };
    // By its code: the statement (no payments today: the header only).
    let (status, csv) = get(SCHOOL_USCC.into(), school.clone()).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.starts_with("order_id,out_trade_no,kind"), "{csv}");
    // By its name, or a code with a wrong check character: 400 naming
    // `uscc`, for the department and for an operator alike.
    for (department, token) in [
        (urlencode(SCHOOL), school.clone()),
        (urlencode(SCHOOL), operator(&host)),
        ("1233012247085123X2".to_string(), operator(&host)),
    ] {
        let (status, body) = get(department.clone(), token).await;
        assert_eq!(status, 400, "{department}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["field"], "uscc", "{body}");
    }
    // Another department's code: 403 to a department's token.
    let (status, body) = get(SCHOOL_USCC.into(), bureau.clone()).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = get("11330100002501175E".into(), bureau).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn pin_funds_lockout_cancel_and_over_refund() {
    let host = TestHost::start().await;
    let c = host.client();
    let phone = "13900000011";
    let r = c.register(phone, "a good password").await;
    assert_eq!(r.status(), 201);
    let order = |otn: &str, amount: u64| {
        let c = &c;
        let url = format!("/apps/probe/pay?out_trade_no={otn}&amount_fen={amount}");
        async move {
            c.get_json(&url, 200).await["order_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let confirm = |id: String, pin: &'static str| {
        let c = &c;
        async move {
            status_and_json(
                c.post_json(
                    &format!("/api/orders/{id}/confirm"),
                    &json!({"order_id": id, "pin": pin}),
                )
                .await,
            )
            .await
        }
    };
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or("").to_string();

    let p1 = order("p-1", 500).await;
    let (s, e) = confirm(p1.clone(), "582046").await;
    assert_eq!((s, code(&e)), (409, "pin_not_set".into()));
    // The PIN is set once, and must not be trivial.
    let (s, e) = status_and_json(
        c.post_json("/api/payment/pin", &json!({"pin": "123456"}))
            .await,
    )
    .await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("pin")));
    assert_eq!(
        c.post_json("/api/payment/pin", &json!({"pin": "582046"}))
            .await
            .status(),
        201
    );
    let (s, e) = status_and_json(
        c.post_json("/api/payment/pin", &json!({"pin": "582047"}))
            .await,
    )
    .await;
    assert_eq!((s, code(&e)), (409, "pin_already_set".into()));

    // No money yet: refused, nothing written.
    let (s, e) = confirm(p1.clone(), "582046").await;
    assert_eq!((s, code(&e)), (402, "insufficient_funds".into()));
    assert_eq!(
        c.get_json(&format!("/api/orders/{p1}"), 200).await["state"],
        "created"
    );
    assert_eq!(
        c.get_json("/api/payment/account", 200).await["balance_fen"],
        0
    );

    // The operator tops the card up.
    let topup = json!({"phone": phone, "amount_fen": 1000});
    assert_eq!(
        c.post_json("/api/operator/topups", &topup).await.status(),
        401
    );
    let r = c
        .http
        .post(format!("{}/api/operator/topups", host.base))
        .header("authorization", operator(&host))
        .json(&topup)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["balance_fen"], 1000);
    let (s, paid) = confirm(p1.clone(), "582046").await;
    assert_eq!((s, paid["state"].as_str()), (200, Some("paid")));

    // Partial, partial, then over the rest: refused with what is left.
    for (no, amount, status) in [
        ("r-1", 200, 200),
        ("r-1", 200, 200),
        ("r-2", 100, 200),
        ("r-3", 201, 409),
    ] {
        let r = c
            .get(&format!(
                "/apps/probe/refund?out_trade_no=p-1&out_request_no={no}&amount_fen={amount}"
            ))
            .await;
        assert_eq!(r.status(), status, "refund {no}");
        if status == 409 {
            assert_eq!(r.text().await.unwrap(), "refundable 200");
        }
    }
    let o = c.get_json(&format!("/api/orders/{p1}"), 200).await;
    assert_eq!(
        (o["state"].as_str(), o["refunded_fen"].as_u64()),
        (Some("partially_refunded"), Some(300))
    );
    assert_eq!(
        c.get_json("/api/payment/account", 200).await["balance_fen"],
        800
    );

    // Cancelled by the citizen: no longer payable.
    let p2 = order("p-2", 100).await;
    let r = c
        .post_json(
            &format!("/api/orders/{p2}/cancel"),
            &json!({"order_id": p2}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (s, _) = confirm(p2.clone(), "582046").await;
    assert_eq!(s, 409);
    // Cancelled by the app.
    let p3 = order("p-3", 100).await;
    assert_eq!(
        c.get_json("/apps/probe/cancel?out_trade_no=p-3", 200).await["state"],
        "cancelled"
    );
    assert_eq!(confirm(p3, "582046").await.0, 409);
    // An expiry outside 1 minute..7 days is refused by the host.
    assert_eq!(
        c.get("/apps/probe/pay?out_trade_no=p-x&expires_in_ms=10")
            .await
            .status(),
        400
    );

    // Five wrong PINs lock payments, even with the right PIN.
    let p4 = order("p-4", 100).await;
    for left in (1..5).rev() {
        let (s, e) = confirm(p4.clone(), "111112").await;
        assert_eq!((s, code(&e)), (403, "wrong_pin".into()));
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{left} tries"))
        );
    }
    let (s, e) = confirm(p4.clone(), "111112").await;
    assert_eq!((s, code(&e)), (429, "payment_locked".into()));
    let (s, e) = confirm(p4.clone(), "582046").await;
    assert_eq!((s, code(&e)), (429, "payment_locked".into()));
    assert!(
        c.get_json("/api/payment/account", 200).await["pin"]["locked_for_ms"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        c.get_json(&format!("/api/orders/{p4}"), 200).await["state"],
        "created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn event_retries_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let config = HostConfig {
        store: test_store().await,
        ..HostConfig::new(data.path())
    };
    let components = tokio::task::spawn_blocking(components).await.unwrap();

    // First life: the tuition app is not loaded, so every attempt fails.
    let (citizen, order_id) = {
        let platform = Platform::open(&config).await.unwrap();
        let s = &platform.services;
        let citizen = s
            .accounts
            .register("13900000022", "a good password")
            .await
            .unwrap()
            .id;
        s.pins.set(&citizen, "582046").await.unwrap();
        s.payments.ledger.top_up(&citizen, 100_000).await.unwrap();
        let payee = Payee {
            app_id: "tuition",
            department: SCHOOL_USCC,
            max_order_fen: 500_000,
        };
        let order = s
            .payments
            .create(
                payee,
                &citizen,
                NewOrder {
                    out_trade_no: "tu-2026002-books".into(),
                    amount_fen: 35_000,
                    subject: "五年级（1）班 教材费".into(),
                    return_path: "/fees?pupil=2026002".into(),
                    expires_in_ms: None,
                },
            )
            .await
            .unwrap();
        let pin = s.pins.verify(&citizen, "582046").await.unwrap();
        s.payments.pay(&pin, &order.order_id).await.unwrap();
        s.events
            .set_retry_delays(vec![Duration::from_millis(100); 20]);
        let delivery = cityhost::event_delivery::spawn_delivery(platform.clone());
        let events = s.events.clone();
        eventually("two failed attempts", || {
            let events = events.clone();
            async move {
                events
                    .pending()
                    .await
                    .unwrap()
                    .first()
                    .is_some_and(|(_, e)| e.attempts >= 2)
            }
        })
        .await;
        delivery.abort();
        let _ = delivery.await;
        let (_, pending) = &s.events.pending().await.unwrap()[0];
        assert_eq!(pending.last_error.as_deref(), Some("app not loaded"));
        assert!(!pending.gave_up);
        (citizen, order.order_id)
    };

    // Second life on the same data: the app is there and takes the event.
    let platform = Platform::open(&config).await.unwrap();
    let failures = platform.load_apps(&app_dirs(), components).await;
    assert!(failures.is_empty(), "{failures:?}");
    demo::seed(&platform).await.unwrap();
    let (_, pending) = &platform.services.events.pending().await.unwrap()[0];
    assert!(pending.attempts >= 2, "the attempts survived the restart");
    assert!(pending.body.contains(&order_id));
    platform
        .services
        .events
        .set_retry_delays(vec![Duration::from_millis(100); 20]);
    let _delivery = cityhost::event_delivery::spawn_delivery(platform.clone());
    let inbox = platform.services.notifications.inbox.clone();
    eventually("the receipt after the restart", || {
        let inbox = inbox.clone();
        let citizen = citizen.clone();
        async move {
            inbox
                .page(&citizen, None, 10)
                .await
                .unwrap()
                .messages
                .iter()
                .any(|m| m.title == "缴费成功")
        }
    })
    .await;
    let events = platform.services.events.clone();
    eventually("the outbox to empty", || {
        let events = events.clone();
        async move { events.pending().await.unwrap().is_empty() }
    })
    .await;
}

/// `payment.cancel-order` in a citizen's request cancels only that
/// citizen's orders: another citizen cannot make an order unpayable through
/// the app (403, the order stays payable); its own citizen still can.
#[tokio::test(flavor = "multi_thread")]
async fn a_citizen_cannot_cancel_another_citizens_order_through_an_app() {
    let host = TestHost::start().await;
    let owner = host.demo_citizen("13800000001").await;
    let other = host.demo_citizen("13800000002").await;
    let order = owner
        .get_json("/apps/probe/pay?out_trade_no=mine-1", 200)
        .await;
    assert_eq!(order["state"], "created");
    let r = other.get("/apps/probe/cancel?out_trade_no=mine-1").await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        owner
            .get_json("/apps/probe/order?out_trade_no=mine-1", 200)
            .await["state"],
        "created"
    );
    assert_eq!(
        owner
            .get_json("/apps/probe/cancel?out_trade_no=mine-1", 200)
            .await["state"],
        "cancelled"
    );
}

/// A fee a parent opened and abandoned (cancelled in the payment sheet, or
/// left unpaid) does not block it: another parent gets an order of their
/// own and pays it, and the first can start again.
#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_tuition_order_blocks_nobody() {
    let host = TestHost::start().await;
    let first = host.demo_citizen("13800000001").await;
    let second = host.demo_citizen("13800000002").await;
    let fee = [("pupil", "2026002"), ("item", "tuition")];
    let order_of = |checkout: Value| {
        actions(&checkout, "pay")
            .first()
            .unwrap_or_else(|| panic!("a pay button: {checkout}"))["order_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let pay = |c: &'static str| {
        let (first, second) = (&first, &second);
        async move {
            let citizen = if c == "first" { first } else { second };
            let r = citizen.post_form("/apps/tuition/pay", &fee).await;
            assert_eq!(r.status(), 200, "{c} pays");
            r.json::<Value>().await.unwrap()
        }
    };
    // The first parent opens the fee and leaves it unpaid: the second is
    // not held up.
    let held = order_of(pay("first").await);
    let own = order_of(pay("second").await);
    assert_ne!(held, own);
    // The first cancels theirs in the sheet, and can start again.
    let r = first
        .post_json(
            &format!("/api/orders/{held}/cancel"),
            &json!({"order_id": held}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let again = order_of(pay("first").await);
    assert_ne!(again, held);
    // The second parent pays their own order.
    let r = second
        .post_json(
            &format!("/api/orders/{own}/confirm"),
            &json!({"order_id": own, "pin": demo::DEMO_PIN}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The fee is paid for everyone.
    let fees = first
        .get_json("/apps/tuition/fees?pupil=2026002", 200)
        .await;
    assert!(
        !actions(&fees, "post")
            .iter()
            .any(|a| a["path"] == "/pay" && a["body"]["item"] == "tuition"),
        "{fees}"
    );
    // Had the first parent paid their open order too, the school gives the
    // second payment back in full.
    let r = first
        .post_json(
            &format!("/api/orders/{again}/confirm"),
            &json!({"order_id": again, "pin": demo::DEMO_PIN}),
        )
        .await;
    assert_eq!(r.status(), 200);
    eventually("the duplicate payment refunded", || async {
        let receipt = first.get_json(&format!("/api/orders/{again}"), 200).await;
        receipt["state"] == "refunded"
    })
    .await;
    let kept = second.get_json(&format!("/api/orders/{own}"), 200).await;
    assert_eq!(kept["state"], "paid");
}
