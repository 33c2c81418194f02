//! The sled backend through the seam, in real temporary directories.

use std::time::{Duration, Instant};

use cityhost_store::{Db, Raw, Scan, StoreError, Table};
use cityhost_store_sled::SledBackend;

const STRINGS: Table<String, u64> = Table::new("strings");
const BYTES: Table<Vec<u8>, Vec<u8>, Raw> = Table::new("bytes");
const NUMBERS: Table<u64, String> = Table::new("numbers");
const SIGNED: Table<i64, String> = Table::new("signed");
const PAIRS: Table<(String, String), u64> = Table::new("pairs");
const TRIPLES: Table<(String, u64, Vec<u8>), u64> = Table::new("triples");
const QUADS: Table<(String, i64, u64, String), u64> = Table::new("quads");
const ORDERS: Table<String, Order> = Table::new("orders");
const ORDER_KEYS: Table<(String, String), String> = Table::new("order_keys");
const COUNTER: Table<String, u64> = Table::new("counter");

/// Scanned rows of [`TRIPLES`].
type Rows = Vec<((String, u64, Vec<u8>), u64)>;

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

/// Writes every key (in a scrambled order, half in one transaction, half
/// one by one) and checks a scan returns them in typed order, decoded.
async fn round_trip<K, V>(db: &Db, table: &Table<K, V>, mut keys: Vec<K>, value: V)
where
    K: cityhost_store::Key + Ord + Clone + std::fmt::Debug,
    V: serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + PartialEq
        + std::fmt::Debug
        + Send
        + Sync,
{
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    keys.reverse();
    let third = keys.len() / 3;
    keys.rotate_left(third);
    let (first, rest) = keys.split_at(keys.len() / 2);
    db.transact(|tx| {
        let value = value.clone();
        async move {
            for k in first {
                tx.put(table, k, &value).await?;
            }
            Ok::<_, StoreError>(())
        }
    })
    .await
    .unwrap();
    for k in rest {
        db.put(table, k, &value).await.unwrap();
    }
    let scanned: Vec<K> = db
        .scan(table, Scan::all())
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            assert_eq!(v, value);
            k
        })
        .collect();
    assert_eq!(scanned, sorted);
    let mut reversed = sorted.clone();
    reversed.reverse();
    let back: Vec<K> = db
        .scan(table, Scan::all().rev())
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(back, reversed);
    for k in &sorted {
        assert_eq!(db.get(table, k).await.unwrap(), Some(value.clone()));
    }
}

fn s(x: &str) -> String {
    x.to_string()
}

#[tokio::test]
async fn every_key_type_round_trips_in_order() {
    let (_dir, _, db) = open();
    let strings = [
        "",
        "\0",
        "\0\0",
        "\u{1}",
        "a",
        "a\0",
        "a\0b",
        "a\u{1}",
        "ab",
        "b",
        "é",
        "\u{10FFFF}",
    ];
    round_trip(&db, &STRINGS, strings.iter().map(|x| s(x)).collect(), 1).await;
    let numbers = [0, 1, 255, 256, 1 << 32, u64::MAX - 1, u64::MAX];
    round_trip(&db, &NUMBERS, numbers.to_vec(), s("n")).await;
    let signed = [i64::MIN, -256, -1, 0, 1, 255, i64::MAX];
    round_trip(&db, &SIGNED, signed.to_vec(), s("i")).await;
    let mut pairs = Vec::new();
    for a in ["", "a", "a\0", "ab", "b"] {
        for b in ["", "\0", "b", "c"] {
            pairs.push((s(a), s(b)));
        }
    }
    round_trip(&db, &PAIRS, pairs, 2).await;
    let mut triples = Vec::new();
    for a in ["a", "a\0"] {
        for t in [0, 1, u64::MAX] {
            for b in [vec![], vec![0], vec![0, 0xFF], vec![0xFF]] {
                triples.push((s(a), t, b));
            }
        }
    }
    round_trip(&db, &TRIPLES, triples, 3).await;
    let mut quads = Vec::new();
    for a in ["x", "x\0"] {
        for i in [-5, 0, 5] {
            for t in [3, 300] {
                for d in ["", "z"] {
                    quads.push((s(a), i, t, s(d)));
                }
            }
        }
    }
    round_trip(&db, &QUADS, quads, 4).await;

    // Byte keys with the escape bytes, raw values.
    for k in [vec![], vec![0], vec![0, 0], vec![0, 1], vec![0xFF], vec![1]] {
        db.put(&BYTES, &k, &k).await.unwrap();
    }
    let bytes: Vec<Vec<u8>> = db
        .scan(&BYTES, Scan::all())
        .await
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            assert_eq!(k, v);
            k
        })
        .collect();
    assert_eq!(
        bytes,
        [vec![], vec![0], vec![0, 0], vec![0, 1], vec![1], vec![0xFF]]
    );
}

#[tokio::test]
async fn a_prefix_scan_never_matches_a_longer_component() {
    let (_dir, _, db) = open();
    db.put(&PAIRS, ("a", "b"), &1).await.unwrap();
    db.put(&PAIRS, ("a\0", "b"), &2).await.unwrap();
    db.put(&PAIRS, ("ab", "b"), &3).await.unwrap();
    let a = db.scan(&PAIRS, Scan::prefix(("a",))).await.unwrap();
    assert_eq!(a, vec![((s("a"), s("b")), 1)]);
    let a0 = db.scan(&PAIRS, Scan::prefix(("a\0",))).await.unwrap();
    assert_eq!(a0, vec![((s("a\0"), s("b")), 2)]);
}

#[tokio::test]
async fn a_transaction_reads_its_own_writes() {
    let (_dir, _, db) = open();
    for t in 1..=6u64 {
        db.put(&TRIPLES, ("c", t, vec![]), &t).await.unwrap();
    }
    let outside = &db;
    let seen = db
        .transact(|tx| async move {
            // Outside the transaction nothing changes until it commits.
            let committed = outside.scan(&TRIPLES, Scan::all()).await?;
            tx.put(&TRIPLES, ("c", 2u64, vec![]), &20).await?;
            tx.delete(&TRIPLES, ("c", 3u64, vec![])).await?;
            tx.put(&TRIPLES, ("c", 7u64, vec![]), &7).await?;
            tx.put(&TRIPLES, ("c", 0u64, vec![]), &0).await?;
            tx.put(&TRIPLES, ("d", 1u64, vec![]), &100).await?;
            assert_eq!(tx.get(&TRIPLES, ("c", 2u64, vec![])).await?, Some(20));
            assert!(!tx.contains(&TRIPLES, ("c", 3u64, vec![])).await?);
            let values = |rows: Rows| -> Vec<u64> { rows.into_iter().map(|(_, v)| v).collect() };
            let forward = values(tx.scan(&TRIPLES, Scan::prefix(("c",))).await?);
            let backward = values(
                tx.scan(&TRIPLES, Scan::prefix(("c",)).rev().limit(3))
                    .await?,
            );
            let page = values(
                tx.scan(
                    &TRIPLES,
                    Scan::prefix_after(("c",), ("c", 1u64, vec![])).limit(3),
                )
                .await?,
            );
            assert_eq!(
                values(outside.scan(&TRIPLES, Scan::all()).await?),
                values(committed)
            );
            Ok::<_, StoreError>((forward, backward, page))
        })
        .await
        .unwrap();
    assert_eq!(seen.0, [0, 1, 20, 4, 5, 6, 7]);
    assert_eq!(seen.1, [7, 6, 5]);
    assert_eq!(seen.2, [20, 4, 5]);
    let committed: Vec<u64> = db
        .scan(&TRIPLES, Scan::all())
        .await
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(committed, [0, 1, 20, 4, 5, 6, 7, 100]);
}

#[tokio::test]
async fn an_aborted_transaction_leaves_nothing() {
    let (_dir, _, db) = open();
    db.put(&COUNTER, "kept", &1).await.unwrap();
    let result: Result<(), StoreError> = db
        .transact(|tx| async move {
            tx.put(&COUNTER, "new", &2).await?;
            tx.delete(&COUNTER, "kept").await?;
            tx.put(&ORDERS, "o-1", &Order { amount_fen: 5 }).await?;
            Err(StoreError::Encode("refused".into()))
        })
        .await;
    assert!(result.is_err());
    assert_eq!(db.get(&COUNTER, "kept").await.unwrap(), Some(1));
    assert_eq!(db.get(&COUNTER, "new").await.unwrap(), None);
    assert!(db.scan(&ORDERS, Scan::all()).await.unwrap().is_empty());
    // The write lock was released: the next transaction goes through.
    db.put(&COUNTER, "after", &3).await.unwrap();
}

#[tokio::test]
async fn a_commit_over_several_tables_is_atomic_and_visible_at_once() {
    let (dir, backend, db) = open();
    let order = Order { amount_fen: 1_250 };
    db.transact(|tx| {
        let order = order.clone();
        async move {
            tx.put(&ORDERS, "o-1", &order).await?;
            tx.put(&ORDER_KEYS, ("app", "trade-1"), &s("o-1")).await?;
            tx.put(&COUNTER, "orders", &1).await?;
            Ok::<_, StoreError>(())
        }
    })
    .await
    .unwrap();
    assert_eq!(db.get(&ORDERS, "o-1").await.unwrap(), Some(order.clone()));
    assert_eq!(
        db.get(&ORDER_KEYS, ("app", "trade-1")).await.unwrap(),
        Some(s("o-1"))
    );
    assert_eq!(backend.table_names(), ["counter", "order_keys", "orders"]);
    db.sync().await.unwrap();
    drop((db, backend));
    let db = Db::new(SledBackend::open(dir.path()).unwrap());
    assert_eq!(db.get(&ORDERS, "o-1").await.unwrap(), Some(order));
    assert_eq!(db.get(&COUNTER, "orders").await.unwrap(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_increments_count_fifty() {
    let (_dir, _, db) = open();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                db.transact(|tx| async move {
                    let n = tx.get(&COUNTER, "n").await?.unwrap_or(0);
                    tokio::task::yield_now().await;
                    tx.put(&COUNTER, "n", &(n + 1)).await?;
                    Ok::<_, StoreError>(())
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(db.get(&COUNTER, "n").await.unwrap(), Some(50));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_half_a_commit() {
    let (_dir, _, db) = open();
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..300u64 {
                db.transact(|tx| async move {
                    tx.put(&ORDERS, i.to_string(), &Order { amount_fen: i })
                        .await?;
                    tx.put(&ORDER_KEYS, ("app", i.to_string()), &i.to_string())
                        .await?;
                    Ok::<_, StoreError>(())
                })
                .await
                .unwrap();
            }
        })
    };
    let mut checked = 0;
    while !writer.is_finished() {
        for i in (0..300u64).step_by(7) {
            let id = i.to_string();
            // One table first, then the other, both ways round.
            if db.contains(&ORDERS, &id).await.unwrap() {
                assert!(db.contains(&ORDER_KEYS, ("app", &id)).await.unwrap());
            }
            if db.contains(&ORDER_KEYS, ("app", &id)).await.unwrap() {
                assert!(db.contains(&ORDERS, &id).await.unwrap());
            }
            checked += 1;
        }
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    assert!(checked > 0);
    assert_eq!(
        db.scan(&ORDER_KEYS, Scan::prefix(("app",)))
            .await
            .unwrap()
            .len(),
        300
    );
}
