//! The billing service as its callers see it: the binary started on a free
//! port with a temporary data directory, spoken to over real HTTP.

use std::path::Path;

use cityhost_backend::testing::Running;
use serde_json::{Value, json};

/// A running `hzwater-billing`, killed when dropped.
struct Service {
    _running: Running,
    base: String,
}

impl Service {
    /// Starts the binary on `127.0.0.1:0` with `data` and reads the port
    /// from its one line on standard output.
    fn start(data: &Path) -> Service {
        let running = Running::start(env!("CARGO_BIN_EXE_hzwater-billing"), data);
        let base = running.base.clone();
        Service {
            _running: running,
            base,
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn pay(&self, bill: &str, payment: &Value) -> (u16, Value) {
        self.post(&format!("/bills/{bill}/payments"), &payment.to_string())
            .await
    }
}

const GAS: &str = "3301001-gas-202610";

#[tokio::test]
async fn accounts_and_bills_come_from_the_seed() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    let (status, account) = service.get("/accounts/3301001").await;
    assert_eq!(status, 200);
    assert_eq!(account["account"], "3301001");
    assert_eq!(account["holder"], "张*", "masked: {account}");
    assert!(account["address"].as_str().unwrap().contains("文三路"));

    let (status, bills) = service.get("/accounts/3301001/bills").await;
    assert_eq!(status, 200);
    let bills = bills["bills"].as_array().unwrap();
    assert_eq!(bills.len(), 5);
    assert_eq!(bills[0]["period"], "2026-10", "newest first");
    let paid = bills.iter().find(|b| b["status"] == "paid").unwrap();
    assert!(paid["out_trade_no"].is_string() && paid["paid_at"].is_u64());
    let unpaid = bills.iter().find(|b| b["id"] == GAS).unwrap();
    assert_eq!(unpaid["status"], "unpaid");
    assert_eq!(unpaid["amount_fen"], 3960);
    assert!(unpaid.get("out_trade_no").is_none());
    assert!(data.path().join("billing.json").is_file());
}

#[tokio::test]
async fn a_payment_is_recorded_once_and_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let payment = json!({"out_trade_no": "ub-3301001-gas-202610", "amount_fen": 3960, "paid_at": 1_790_000_000_000u64});
    {
        let service = Service::start(data.path());
        let (status, bill) = service.pay(GAS, &payment).await;
        assert_eq!(status, 201, "{bill}");
        assert_eq!(bill["status"], "paid");
        assert_eq!(bill["out_trade_no"], "ub-3301001-gas-202610");
        // The same payment again: the same answer, nothing changed.
        let (status, again) = service.pay(GAS, &payment).await;
        assert_eq!((status, &again), (200, &bill));
        // Another order for the paid bill: a conflict naming the payer.
        let other =
            json!({"out_trade_no": "ub-3301001-gas-202610-r1", "amount_fen": 3960, "paid_at": 1});
        let (status, error) = service.pay(GAS, &other).await;
        assert_eq!(status, 409, "{error}");
        assert_eq!(error["field"], "out_trade_no");
        assert_eq!(error["paid_by"], "ub-3301001-gas-202610");
    }
    let service = Service::start(data.path());
    let (_, bills) = service.get("/accounts/3301001/bills").await;
    let gas = bills["bills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == GAS)
        .unwrap()
        .clone();
    assert_eq!(gas["status"], "paid", "{gas}");
    assert_eq!(gas["paid_at"], 1_790_000_000_000u64);
    assert_eq!(service.pay(GAS, &payment).await.0, 200);
}

#[tokio::test]
async fn bad_input_is_a_4xx_naming_the_field() {
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(data.path());
    for (path, status, field) in [
        ("/accounts/abc", 400, "account"),
        ("/accounts/12", 400, "account"),
        ("/accounts/9999999", 404, "account"),
        ("/accounts/9999999/bills", 404, "account"),
        ("/accounts/3301001%2F..%2Fx/bills", 400, "account"),
    ] {
        let (got, error) = service.get(path).await;
        assert_eq!(
            (got, error["field"].as_str()),
            (status, Some(field)),
            "{path}: {error}"
        );
        assert!(error["error"].is_string());
    }
    let (got, error) = service.get("/nowhere").await;
    assert_eq!(got, 404);
    assert!(error["error"].is_string());

    let water = "/bills/3301001-water-202610/payments";
    for (body, status, field) in [
        ("", 400, "body"),
        ("{", 400, "body"),
        (r#"{"amount_fen": 4210, "paid_at": 1}"#, 400, "out_trade_no"),
        (
            r#"{"out_trade_no": "a/b", "amount_fen": 4210, "paid_at": 1}"#,
            400,
            "out_trade_no",
        ),
        (
            r#"{"out_trade_no": "ub-x", "amount_fen": "4210", "paid_at": 1}"#,
            400,
            "amount_fen",
        ),
        (
            r#"{"out_trade_no": "ub-x", "amount_fen": 0, "paid_at": 1}"#,
            400,
            "amount_fen",
        ),
        (
            r#"{"out_trade_no": "ub-x", "amount_fen": 4210}"#,
            400,
            "paid_at",
        ),
        (
            r#"{"out_trade_no": "ub-x", "amount_fen": 4211, "paid_at": 1}"#,
            422,
            "amount_fen",
        ),
    ] {
        let (got, error) = service.post(water, body).await;
        assert_eq!(
            (got, error["field"].as_str()),
            (status, Some(field)),
            "{body}: {error}"
        );
    }
    let (got, error) = service
        .post(
            "/bills/no-such-bill/payments",
            r#"{"out_trade_no": "ub-x", "amount_fen": 1, "paid_at": 1}"#,
        )
        .await;
    assert_eq!((got, error["field"].as_str()), (404, Some("bill_id")));
    // None of it paid the bill.
    let (_, bills) = service.get("/accounts/3301001/bills").await;
    assert!(
        bills["bills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"] == "3301001-water-202610" && b["status"] == "unpaid")
    );
}

#[test]
fn it_stops_when_its_standard_input_closes() {
    let data = tempfile::tempdir().unwrap();
    cityhost_backend::testing::assert_stops_when_stdin_closes(
        env!("CARGO_BIN_EXE_hzwater-billing"),
        data.path(),
    );
}
