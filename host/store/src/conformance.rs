//! The behaviour every [`Backend`](crate::Backend) must show through
//! [`Db`], as functions each backend's tests call on a fresh, empty
//! database (feature `conformance`). Each panics on a failure.

use crate::{Db, Raw, Scan, StoreError, Table};

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

/// Writes every key (in a scrambled order, half in one transaction, half
/// one by one) and checks a scan returns them in typed order, decoded.
async fn round_trip<K, V>(db: &Db, table: &Table<K, V>, mut keys: Vec<K>, value: V)
where
    K: crate::Key + Ord + Clone + std::fmt::Debug,
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

/// Every key type, with the encoding's escape bytes, round-trips and
/// scans in typed order (forward and reverse).
pub async fn every_key_type_round_trips_in_order(db: &Db) {
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
    round_trip(db, &STRINGS, strings.iter().map(|x| s(x)).collect(), 1).await;
    let numbers = [0, 1, 255, 256, 1 << 32, u64::MAX - 1, u64::MAX];
    round_trip(db, &NUMBERS, numbers.to_vec(), s("n")).await;
    let signed = [i64::MIN, -256, -1, 0, 1, 255, i64::MAX];
    round_trip(db, &SIGNED, signed.to_vec(), s("i")).await;
    let mut pairs = Vec::new();
    for a in ["", "a", "a\0", "ab", "b"] {
        for b in ["", "\0", "b", "c"] {
            pairs.push((s(a), s(b)));
        }
    }
    round_trip(db, &PAIRS, pairs, 2).await;
    let mut triples = Vec::new();
    for a in ["a", "a\0"] {
        for t in [0, 1, u64::MAX] {
            for b in [vec![], vec![0], vec![0, 0xFF], vec![0xFF]] {
                triples.push((s(a), t, b));
            }
        }
    }
    round_trip(db, &TRIPLES, triples, 3).await;
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
    round_trip(db, &QUADS, quads, 4).await;

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

/// A prefix scan over `("a",)` never matches `("a\0", …)` or `("ab", …)`.
pub async fn a_prefix_scan_never_matches_a_longer_component(db: &Db) {
    db.put(&PAIRS, ("a", "b"), &1).await.unwrap();
    db.put(&PAIRS, ("a\0", "b"), &2).await.unwrap();
    db.put(&PAIRS, ("ab", "b"), &3).await.unwrap();
    let a = db.scan(&PAIRS, Scan::prefix(("a",))).await.unwrap();
    assert_eq!(a, vec![((s("a"), s("b")), 1)]);
    let a0 = db.scan(&PAIRS, Scan::prefix(("a\0",))).await.unwrap();
    assert_eq!(a0, vec![((s("a\0"), s("b")), 2)]);
}

/// Reads and scans inside a transaction see its own writes and deletes;
/// outside it nothing changes until it commits.
pub async fn a_transaction_reads_its_own_writes(db: &Db) {
    for t in 1..=6u64 {
        db.put(&TRIPLES, ("c", t, vec![]), &t).await.unwrap();
    }
    let outside = db;
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

/// A closure's `Err` rolls every write back, and the next transaction
/// goes through.
pub async fn an_aborted_transaction_leaves_nothing(db: &Db) {
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

/// Fifty concurrent read-modify-write transactions on one key count
/// fifty (each retried as the backend needs). Needs a multi-thread runtime.
pub async fn fifty_concurrent_increments_count_fifty(db: &Db) {
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

/// Readers outside a transaction see a two-table commit whole or not at
/// all. Needs a multi-thread runtime.
pub async fn readers_never_see_half_a_commit(db: &Db) {
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

/// A commit over several tables is visible whole: every record at once.
pub async fn a_commit_over_several_tables_is_atomic(db: &Db) {
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
    assert_eq!(db.get(&ORDERS, "o-1").await.unwrap(), Some(order));
    assert_eq!(
        db.get(&ORDER_KEYS, ("app", "trade-1")).await.unwrap(),
        Some(s("o-1"))
    );
    assert_eq!(db.get(&COUNTER, "orders").await.unwrap(), Some(1));
}

/// Sixteen transactions that each read an absent key and write it if still
/// absent: exactly one wins, every round (insert-if-absent, the pattern of
/// idempotency keys). Needs a multi-thread runtime.
pub async fn one_of_many_inserts_of_an_absent_key_wins(db: &Db) {
    for round in 0..10u64 {
        let key = format!("slot-{round}");
        let tasks: Vec<_> = (0..16u64)
            .map(|who| {
                let (db, key) = (db.clone(), key.clone());
                tokio::spawn(async move {
                    db.transact(|tx| {
                        let key = key.clone();
                        async move {
                            if tx.get(&COUNTER, &key).await?.is_some() {
                                return Ok::<_, StoreError>(false);
                            }
                            tokio::task::yield_now().await;
                            tx.put(&COUNTER, &key, &who).await?;
                            Ok(true)
                        }
                    })
                    .await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for (who, task) in tasks.into_iter().enumerate() {
            if task.await.unwrap().unwrap() {
                winners.push(who as u64);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        assert_eq!(db.get(&COUNTER, &key).await.unwrap(), Some(winners[0]));
    }
}

/// Two transactions that each scan a prefix, find it empty and write a
/// different key under it cannot both commit (no write skew): the check
/// "no booking yet for this citizen" holds. Needs a multi-thread runtime.
pub async fn a_scan_then_write_race_leaves_one_record(db: &Db) {
    for round in 0..10u64 {
        let citizen = format!("c-{round}");
        let tasks: Vec<_> = (0..8u64)
            .map(|slot| {
                let (db, citizen) = (db.clone(), citizen.clone());
                tokio::spawn(async move {
                    db.transact(|tx| {
                        let citizen = citizen.clone();
                        async move {
                            let held = tx.scan(&PAIRS, Scan::prefix((&citizen,))).await?;
                            if !held.is_empty() {
                                return Ok::<_, StoreError>(());
                            }
                            tokio::task::yield_now().await;
                            tx.put(&PAIRS, (&citizen, &slot.to_string()), &slot).await
                        }
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let held = db.scan(&PAIRS, Scan::prefix((&citizen,))).await.unwrap();
        assert_eq!(held.len(), 1, "round {round}: {held:?}");
    }
}

/// Ids only grow, also when many are taken concurrently.
pub async fn ids_are_unique_and_grow(db: &Db) {
    let first = db.next_id().await.unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db.next_id().await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    assert!(ids.iter().all(|id| *id > first), "{first} {ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 32);
    assert!(db.next_id().await.unwrap() > ids[31]);
}

/// One `#[tokio::test]` (multi-thread runtime) per check above, in the
/// calling test crate. `$open` names an `async fn() -> (G, Db)` that gives
/// a fresh, empty database and a guard `G` kept alive for the test (a
/// temporary directory, a throwaway database).
///
/// ```ignore
/// async fn open() -> (tempfile::TempDir, Db) { … }
/// cityhost_store::conformance_tests!(open);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($open:path) => {
        $crate::conformance_tests!(@each $open,
            every_key_type_round_trips_in_order,
            a_prefix_scan_never_matches_a_longer_component,
            a_transaction_reads_its_own_writes,
            an_aborted_transaction_leaves_nothing,
            a_commit_over_several_tables_is_atomic,
            fifty_concurrent_increments_count_fifty,
            readers_never_see_half_a_commit,
            one_of_many_inserts_of_an_absent_key_wins,
            a_scan_then_write_race_leaves_one_record,
            ids_are_unique_and_grow);
    };
    (@each $open:path, $($name:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_guard, db) = $open().await;
                $crate::conformance::$name(&db).await;
            }
        )+
    };
}
