//! The sled backend through the seam, in real temporary directories: the
//! checks every backend passes (`cityhost_store::conformance`), then what is
//! sled's own (durability across a reopen, group commit, the file lock).

use std::time::{Duration, Instant};

use cityhost_store::{Db, StoreError, Table};
use cityhost_store_sled::SledBackend;

const STRINGS: Table<String, u64> = Table::new("strings");
const NUMBERS: Table<u64, String> = Table::new("numbers");
const ORDERS: Table<String, Order> = Table::new("orders");
const ORDER_KEYS: Table<(String, String), String> = Table::new("order_keys");
const COUNTER: Table<String, u64> = Table::new("counter");

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Order {
    amount_fen: u64,
}

fn open() -> (tempfile::TempDir, SledBackend, Db) {
    let dir = tempfile::tempdir().unwrap();
    let backend = SledBackend::open(dir.path()).unwrap();
    let db = Db::new(backend.clone());
    (dir, backend, db)
}

fn s(x: &str) -> String {
    x.to_string()
}

async fn fresh() -> (tempfile::TempDir, Db) {
    let (dir, _, db) = open();
    (dir, db)
}

cityhost_store::conformance_tests!(fresh);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_multi_table_commit_names_its_trees_and_survives_a_reopen() {
    let (dir, backend, db) = open();
    cityhost_store::conformance::a_commit_over_several_tables_is_atomic(&db).await;
    assert_eq!(backend.table_names(), ["counter", "order_keys", "orders"]);
    db.sync().await.unwrap();
    drop((db, backend));
    let db = Db::new(SledBackend::open(dir.path()).unwrap());
    let order = Order { amount_fen: 1_250 };
    assert_eq!(db.get(&ORDERS, "o-1").await.unwrap(), Some(order));
    assert_eq!(
        db.get(&ORDER_KEYS, ("app", "trade-1")).await.unwrap(),
        Some(s("o-1"))
    );
    assert_eq!(db.get(&COUNTER, "orders").await.unwrap(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_syncs_all_return_and_a_later_one_still_flushes() {
    let (_dir, backend, db) = open();
    let tasks: Vec<_> = (0..64u64)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.put(&NUMBERS, i, &s("x")).await?;
                db.sync().await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // How many flushes the crowd shares depends on the scheduling (the
    // group's own tests pin the sharing down); never more than one each.
    let flushes = backend.flushes();
    assert!(
        (1..=64).contains(&flushes),
        "{flushes} flushes for 64 syncs"
    );
    // A sync after the crowd still flushes.
    db.sync().await.unwrap();
    assert_eq!(backend.flushes(), flushes + 1);
}

#[tokio::test]
async fn writes_persist_across_a_reopen_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let first_id = {
        let db = Db::new(SledBackend::open(dir.path()).unwrap());
        db.put(&STRINGS, "kept", &42).await.unwrap();
        let id = db.next_id().await.unwrap();
        db.sync().await.unwrap();
        id
    };
    let db = Db::new(SledBackend::open(dir.path()).unwrap());
    assert_eq!(db.get(&STRINGS, "kept").await.unwrap(), Some(42));
    assert!(db.next_id().await.unwrap() > first_id);
}

#[test]
fn the_lock_is_retried_until_the_previous_owner_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let first = SledBackend::open(dir.path()).unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(first);
    });
    let started = Instant::now();
    let second = SledBackend::open(dir.path());
    assert!(second.is_ok(), "{:?}", second.err());
    assert!(started.elapsed() >= Duration::from_millis(200));
    release.join().unwrap();
}

#[test]
fn a_lock_held_on_gives_an_error_after_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let _held = SledBackend::open(dir.path()).unwrap();
    let started = Instant::now();
    match SledBackend::open(dir.path()) {
        Err(StoreError::Backend(message)) => assert!(message.contains("lock"), "{message}"),
        other => panic!("{other:?}"),
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}
