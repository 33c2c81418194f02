//! Load run: durable payments per second through the payment service (real
//! sled store in a temp dir, every payment on disk before `pay` returns).
//!
//! Run with: `cargo bench -p cityhost --bench payments`
//! (optional arguments: payer threads, payments per payer; default 64 200).
//!
//! Each payer is a thread that has entered its PIN once (argon2 is
//! deliberately slow and is not what is measured) and pays its own created
//! orders one after another; `pay` runs the sled transaction (order state,
//! four ledger entries, balances, event) and then waits for the group
//! commit's `fsync`. Concurrent payers share flushes.

use std::sync::Arc;
use std::time::Instant;

use cityhost::events::Outbox;
use cityhost::payments::orders::Payee;
use cityhost::payments::{NewOrder, PaymentPins, Payments};
use cityhost::store::Store;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let payers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let per_payer: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let payments = Arc::new(Payments::open(&store, Outbox::open(&store).unwrap()).unwrap());
    let pins = PaymentPins::open(&store).unwrap();
    let payee = Payee {
        app_id: "bench",
        department: "杭州市水务集团有限公司",
        max_order_fen: 1_000_000,
    };
    let mut work = Vec::new();
    for p in 0..payers {
        let citizen = format!("citizen-{p}");
        pins.set(&citizen, "258036").unwrap();
        payments.ledger.top_up(&citizen, 100_000_000).unwrap();
        let orders: Vec<String> = (0..per_payer)
            .map(|i| {
                payments
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
                    .unwrap()
                    .order_id
            })
            .collect();
        work.push((pins.verify(&citizen, "258036").unwrap(), orders));
    }
    payments.make_durable().unwrap();
    let flushes_before = payments_flushes(&payments);
    let started = Instant::now();
    let threads: Vec<_> = work
        .into_iter()
        .map(|(pin, orders)| {
            let payments = payments.clone();
            std::thread::spawn(move || {
                for id in orders {
                    payments.pay(&pin, &id).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed();
    let total = payers * per_payer;
    let flushes = payments_flushes(&payments) - flushes_before;
    let v = payments.ledger.verify().unwrap();
    assert!(v.is_balanced(), "{v:?}");
    println!(
        "durable payments: {total} by {payers} payers in {:.2} s = {:.0} payments/s ({flushes} fsyncs, {:.1} payments per fsync); ledger balanced over {} transfers",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        total as f64 / flushes.max(1) as f64,
        v.transfers
    );
}

fn payments_flushes(payments: &Payments) -> u64 {
    payments.flushes()
}
