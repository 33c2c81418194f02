//! Crash safety of payments: the real `cityhost` binary as a child process,
//! several concurrent citizens paying and refunding, SIGKILL at random
//! moments, restarts on the same data directory. After every restart the
//! ledger balances, no order was paid twice, and every payment and refund a
//! client saw succeed is there. On PostgreSQL, one of two hosts sharing the
//! database is killed again and again while the other carries on, and every
//! payment's event reaches the app.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cityhost_store_postgres::testing::fresh_database;
use rand::Rng;
use reqwest::Client;
use serde_json::{Value, json};

use crate::support::{TestHost, components, copy_keys, csrf_cookie, workspace};

pub(crate) const CLIENTS: usize = 4;
const KILLS: usize = 20;
const PIN: &str = "582046";
const AMOUNT: u64 = 100;
const REFUND: u64 = 30;

struct Host {
    child: Child,
    base: String,
}

/// `cityhost serve` of the probe app on `data` at `port`, with `args`
/// (e.g. `--store`).
fn start(data: &Path, port: u16, components: &Path, args: &[&str]) -> Host {
    let child = Command::new(env!("CARGO_BIN_EXE_cityhost"))
        .arg("serve")
        .args(args)
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
pub(crate) type Seen = Arc<Mutex<BTreeMap<String, u64>>>;

/// A citizen with a PIN and funds: its client, CSRF token and what it saw
/// succeed.
pub(crate) type Payer = (Client, String, Seen);

/// Registers citizens `{prefix}0`, `{prefix}1`, … on the host at `base`,
/// each with the PIN and ¥100,000 (an operator top-up with `token`).
pub(crate) async fn payers(base: &str, token: &str, prefix: &str, count: usize) -> Vec<Payer> {
    let mut payers = Vec::new();
    for i in 0..count {
        let http = client();
        let phone = format!("{prefix}{i}");
        let r = crate::support::register(&http, base, &phone, "a good password").await;
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
            .bearer_auth(token)
            .json(&json!({"phone": phone, "amount_fen": 10_000_000}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        payers.push((http, csrf, Seen::default()));
    }
    payers
}

/// Orders the payers saw paid.
pub(crate) fn paid(payers: &[Payer]) -> usize {
    payers.iter().map(|(_, _, s)| s.lock().unwrap().len()).sum()
}

/// Waits (up to 10 s) until the payers have seen more than `before`
/// orders paid.
pub(crate) async fn more_paid_than(payers: &[Payer], before: usize) {
    for _ in 0..500 {
        if paid(payers) > before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no payment went through within 10 s");
}

/// Pays and refunds until a request fails (the host was killed) or `stop`
/// is set.
pub(crate) async fn drive(
    (http, csrf, seen): Payer,
    base: String,
    name: String,
    round: usize,
    stop: Arc<AtomicBool>,
) {
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
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

pub(crate) async fn check(base: &str, token: &str, citizens: &[Payer]) {
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
    let port = free_port();
    let mut host = start(data.path(), port, components, &[]);
    let base = host.base.clone();
    wait_ready(&client(), &base).await;
    let token = std::fs::read_to_string(data.path().join("operator-token")).unwrap();
    let token = token.trim().to_string();
    let citizens = payers(&base, &token, "1390000010", CLIENTS).await;

    for round in 0..KILLS {
        let before = paid(&citizens);
        let tasks: Vec<_> = citizens
            .iter()
            .enumerate()
            .map(|(i, payer)| {
                let name = format!("c{i}");
                tokio::spawn(drive(payer.clone(), base.clone(), name, round, stop()))
            })
            .collect();
        // Kill at a random moment once payments are flowing in this life.
        more_paid_than(&citizens, before).await;
        let pause = rand::thread_rng().gen_range(0..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        host.child.kill().unwrap(); // SIGKILL
        host.child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        host = start(data.path(), port, components, &[]);
        wait_ready(&client(), &base).await;
        check(&base, &token, &citizens).await;
    }
    let paid = paid(&citizens);
    assert!(
        paid >= KILLS,
        "only {paid} payments were made across {KILLS} kills"
    );
    host.child.kill().unwrap();
    host.child.wait().unwrap();
}

/// A stop flag never set.
pub(crate) fn stop() -> Arc<AtomicBool> {
    Arc::default()
}

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Rounds of the two-host test: each kills the child host once.
const ROUNDS: usize = 4;

/// Two hosts on one PostgreSQL database, as behind a load balancer: one in
/// this process, one a child process killed with SIGKILL in each round
/// while citizens pay and refund through both, then started again. The
/// host that lives carries on paying through every kill; after each round
/// the ledger balances, no order was paid twice and every payment and
/// refund a client saw succeed is there; at the end every payment's event
/// has reached the app — those the killed host had claimed included, once
/// their claim lapsed.
#[tokio::test(flavor = "multi_thread")]
async fn one_of_two_hosts_killed_while_paying_leaves_the_other_paying() {
    let url = fresh_database().await;
    let steady = TestHost::start_sharing(&url, None).await;
    let token = steady.platform.operator_token.clone();
    let components = tokio::task::spawn_blocking(components).await.unwrap();
    let data = tempfile::tempdir().unwrap();
    copy_keys(steady.data_dir(), data.path());
    // Its compiled components too, so each start takes a second, not a
    // compile of every app.
    let cache = data.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    for entry in std::fs::read_dir(steady.data_dir().join("cache")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), cache.join(entry.file_name())).unwrap();
    }
    let port = free_port();
    let args = ["--store", url.as_str()];
    let mut doomed = start(data.path(), port, components, &args);
    wait_ready(&client(), &doomed.base).await;

    let on_steady = payers(&steady.base, &token, "1390000020", 2).await;
    let on_doomed = payers(&steady.base, &token, "1390000030", 2).await;
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let drivers = |payers: &[Payer], base: &str, side: &str| -> Vec<_> {
            payers
                .iter()
                .enumerate()
                .map(|(i, payer)| {
                    let name = format!("{side}{i}");
                    tokio::spawn(drive(
                        payer.clone(),
                        base.to_string(),
                        name,
                        round,
                        stop.clone(),
                    ))
                })
                .collect()
        };
        let before_steady = paid(&on_steady);
        let mut tasks = drivers(&on_steady, &steady.base, "s");
        tasks.extend(drivers(&on_doomed, &doomed.base, "d"));
        more_paid_than(&on_doomed, paid(&on_doomed)).await;
        more_paid_than(&on_steady, before_steady).await;
        let pause = rand::thread_rng().gen_range(0..300);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        doomed.child.kill().unwrap(); // SIGKILL
        doomed.child.wait().unwrap();
        // The other host carries on.
        let at_kill = paid(&on_steady);
        more_paid_than(&on_steady, at_kill + 3).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        check(&steady.base, &token, &on_steady).await;
        check(&steady.base, &token, &on_doomed).await;
        doomed = start(data.path(), port, components, &args);
        wait_ready(&client(), &doomed.base).await;
    }

    // Every payment's event reached the probe app, by one host or the
    // other: a claim of the killed host lapses after `CLAIM_LEASE`.
    let events = &steady.platform.services.events;
    let started = Instant::now();
    while !events.pending().await.unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "events still pending after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "two hosts, {ROUNDS} kills: {} payments through the steady host, {} through the \
         killed one; every event delivered {:?} after the last round",
        paid(&on_steady),
        paid(&on_doomed),
        started.elapsed()
    );
    for (http, _, seen) in on_steady.iter().chain(&on_doomed) {
        let orders: Vec<String> = seen.lock().unwrap().keys().cloned().collect();
        for id in orders {
            let get = async |path: String| -> Value {
                let r = http.get(format!("{}{path}", steady.base)).send().await;
                r.unwrap().json().await.unwrap()
            };
            let order = get(format!("/api/orders/{id}")).await;
            let otn = order["out_trade_no"].as_str().expect("out_trade_no");
            let seen_by_app = get(format!("/apps/probe/events?out_trade_no={otn}")).await;
            assert!(
                seen_by_app["deliveries"].as_u64().unwrap() >= 1,
                "the event of order {id} never reached the app: {seen_by_app}"
            );
        }
    }
    doomed.child.kill().unwrap();
    doomed.child.wait().unwrap();
}
