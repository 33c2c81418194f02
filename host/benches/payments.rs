//! Load run: durable payments per second through the payment service (the
//! host's database in a temp dir, every payment on disk before `pay`
//! returns).
//!
//! Run with: `cargo bench -p cityhost --bench payments`
//! (optional arguments: concurrent payers, payments per payer; default 64 200).
//! With `CITYHOST_BENCH_STORE=postgres://…` the same run goes to that
//! PostgreSQL database (it must be empty of CityHost tables, e.g. a fresh
//! schema) instead of sled in a temporary directory; a third argument then
//! names how many hosts share it (default 1): each has its own connection
//! pool and payment service, as separate `cityhost serve` processes would,
//! and the payers are dealt out among them.
//!
//! Each payer is a task that has entered its PIN once (argon2 is
//! deliberately slow and is not what is measured) and pays its own created
//! orders one after another; `pay` runs one transaction (order state, four
//! ledger entries, balances, event) and then waits for `Db::sync`, the
//! backend's group commit. Concurrent payers share flushes: the run counts
//! them through the backend.

use std::time::Instant;

use cityhost::events::Outbox;
use cityhost::payments::orders::Payee;
use cityhost::payments::{NewOrder, PaymentPins, Payments};
use cityhost_store::Db;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let payers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let per_payer: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let hosts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let dir = tempfile::tempdir().unwrap();
    // sled's flush counter shows the group commit; PostgreSQL commits
    // durably without a separate flush.
    let (dbs, sled) = match std::env::var("CITYHOST_BENCH_STORE") {
        Ok(url) => {
            let mut dbs = Vec::new();
            for _ in 0..hosts {
                let backend = cityhost_store_postgres::PgBackend::connect(&url)
                    .await
                    .unwrap();
                dbs.push(Db::new(backend));
            }
            (dbs, None)
        }
        Err(_) => {
            assert_eq!(hosts, 1, "several hosts share a PostgreSQL store only");
            let backend = cityhost_store_sled::SledBackend::open(dir.path()).unwrap();
            (vec![Db::new(backend.clone())], Some(backend))
        }
    };
    let flushes = || sled.as_ref().map_or(0, |b| b.flushes());
    let services: Vec<Payments> = dbs
        .iter()
        .map(|db| Payments::new(db.clone(), Outbox::new(db.clone())))
        .collect();
    let (db, payments) = (&dbs[0], &services[0]);
    let pins = PaymentPins::new(db.clone());
    let payee = Payee {
        app_id: "bench",
        department: "杭州市水务集团有限公司",
        max_order_fen: 1_000_000,
    };
    let mut work = Vec::new();
    for p in 0..payers {
        let citizen = format!("citizen-{p}");
        pins.set(&citizen, "258036").await.unwrap();
        payments.ledger.top_up(&citizen, 100_000_000).await.unwrap();
        let mut orders = Vec::with_capacity(per_payer);
        for i in 0..per_payer {
            let order = payments
                .create(
                    payee,
                    &citizen,
                    NewOrder {
                        out_trade_no: format!("b-{p}-{i}"),
                        amount_fen: 100 + i as u64,
                        subject: "2026年10月水费".into(),
                        return_path: "/".into(),
                        expires_in_ms: None,
                    },
                )
                .await
                .unwrap();
            orders.push(order.order_id);
        }
        work.push((pins.verify(&citizen, "258036").await.unwrap(), orders));
    }
    db.sync().await.unwrap();
    let flushes_before = flushes();
    let started = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .enumerate()
        .map(|(p, (pin, orders))| {
            let payments = services[p % hosts].clone();
            tokio::spawn(async move {
                for id in orders {
                    payments.pay(&pin, &id).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let total = payers * per_payer;
    let flushes = flushes() - flushes_before;
    let v = payments.ledger.verify().await.unwrap();
    assert!(v.is_balanced(), "{v:?}");
    let group_commit = match sled {
        Some(_) => format!(
            "{flushes} fsyncs, {:.1} payments per fsync",
            total as f64 / flushes.max(1) as f64
        ),
        None if hosts == 1 => "PostgreSQL, 1 host".to_string(),
        None => format!("PostgreSQL, {hosts} hosts"),
    };
    println!(
        "durable payments: {total} by {payers} payers in {:.2} s = {:.0} payments/s ({group_commit}); ledger balanced over {} transfers",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        v.transfers
    );
}
