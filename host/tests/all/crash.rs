//! Crash safety of payments: the real `cityhost` binary as a child process,
//! several concurrent citizens paying and refunding, SIGKILL at random
//! moments, restarts on the same data directory. After every restart the
//! ledger balances, no order was paid twice, and every payment and refund a
//! client saw succeed is there.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use reqwest::Client;
use serde_json::{Value, json};

use crate::support::{components, csrf_cookie, workspace};

const CLIENTS: usize = 4;
const KILLS: usize = 20;
const PIN: &str = "582046";
const AMOUNT: u64 = 100;
const REFUND: u64 = 30;

struct Host {
    child: Child,
    base: String,
}

fn start(data: &std::path::Path, port: u16, components: &std::path::Path) -> Host {
    let child = Command::new(env!("CARGO_BIN_EXE_cityhost"))
        .arg("serve")
        .arg("--dev-sms")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data")
        .arg(data)
        .arg("--apps")
        .arg(workspace().join("host/tests/fixtures/probe"))
        .arg("--components")
        .arg(components)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting cityhost");
    Host {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(http: &Client, base: &str) {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the host did not come up");
}

fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// What one client saw succeed: order id → refunds (fen) seen done.
type Seen = Arc<Mutex<BTreeMap<String, u64>>>;

/// Pays and refunds until a request fails (the host was killed).
async fn drive(http: Client, csrf: String, base: String, name: String, round: usize, seen: Seen) {
    for n in 0.. {
        let otn = format!("{name}-{round}-{n}");
        let Ok(r) = http
            .get(format!(
                "{base}/apps/probe/pay?out_trade_no={otn}&amount_fen={AMOUNT}"
            ))
            .send()
            .await
        else {
            return;
        };
        let Ok(order) = r.json::<Value>().await else {
            return;
        };
        let Some(id) = order["order_id"].as_str().map(str::to_string) else {
            return;
        };
        let Ok(r) = http
            .post(format!("{base}/api/orders/{id}/confirm"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"order_id": id, "pin": PIN}))
            .send()
            .await
        else {
            return;
        };
        if r.status() != 200 {
            return;
        }
        seen.lock().unwrap().insert(id.clone(), 0);
        if n % 2 == 0 {
            let Ok(r) = http
                .get(format!(
                    "{base}/apps/probe/refund?out_trade_no={otn}&out_request_no=r-{otn}&amount_fen={REFUND}"
                ))
                .send()
                .await
            else {
                return;
            };
            if r.status() != 200 {
                return;
            }
            seen.lock().unwrap().insert(id, REFUND);
        }
    }
}

async fn check(base: &str, token: &str, citizens: &[(Client, String, Seen)]) {
    let verify: Value = client()
        .get(format!("{base}/api/operator/ledger/verify"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verify["balanced"], true, "{verify}");
    for (http, _, seen) in citizens {
        let seen = seen.lock().unwrap().clone();
        for (id, refunded) in seen {
            let o: Value = http
                .get(format!("{base}/api/orders/{id}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let state = o["state"].as_str().unwrap_or("");
            assert!(
                ["paid", "partially_refunded", "refunded"].contains(&state),
                "order {id} seen paid is {state}"
            );
            assert!(
                o["refunded_fen"].as_u64().unwrap() >= refunded,
                "refund of {id} lost"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn payments_survive_sigkill() {
    let components = tokio::task::spawn_blocking(components).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut host = start(data.path(), port, components);
    let base = host.base.clone();
    wait_ready(&client(), &base).await;
    let token = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    let token = token.trim().to_string();

    let mut citizens = Vec::new();
    for i in 0..CLIENTS {
        let http = client();
        let phone = format!("1390000010{i}");
        let r = crate::support::register(&http, &base, &phone, "a good password").await;
        assert_eq!(r.status(), 201);
        let csrf = csrf_cookie(&r).expect("the CSRF cookie");
        let r = http
            .post(format!("{base}/api/payment/pin"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"pin": PIN}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = http
            .post(format!("{base}/api/operator/topups"))
            .bearer_auth(&token)
            .json(&json!({"phone": phone, "amount_fen": 10_000_000}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        citizens.push((http, csrf, Seen::default()));
    }

    for round in 0..KILLS {
        let tasks: Vec<_> = citizens
            .iter()
            .enumerate()
            .map(|(i, (http, csrf, seen))| {
                tokio::spawn(drive(
                    http.clone(),
                    csrf.clone(),
                    base.clone(),
                    format!("c{i}"),
                    round,
                    seen.clone(),
                ))
            })
            .collect();
        // Kill at a random moment once payments are flowing in this life.
        let before: usize = citizens
            .iter()
            .map(|(_, _, s)| s.lock().unwrap().len())
            .sum();
        for _ in 0..500 {
            let now: usize = citizens
                .iter()
                .map(|(_, _, s)| s.lock().unwrap().len())
                .sum();
            if now > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let pause = rand::thread_rng().gen_range(0..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        host.child.kill().unwrap(); // SIGKILL
        host.child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        host = start(data.path(), port, components);
        wait_ready(&client(), &base).await;
        check(&base, &token, &citizens).await;
    }
    let paid: usize = citizens
        .iter()
        .map(|(_, _, s)| s.lock().unwrap().len())
        .sum();
    assert!(
        paid >= KILLS,
        "only {paid} payments were made across {KILLS} kills"
    );
    host.child.kill().unwrap();
    host.child.wait().unwrap();
}
