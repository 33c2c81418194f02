//! The seam's own tests: the key encoding's order and the transaction
//! rules, over the in-memory backend.

use crate::mem::MemBackend;
use crate::{Db, Key, KeyError, Raw, Scan, StoreError, Table};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Short byte strings over an alphabet that includes the escape bytes.
    fn bytes(&mut self) -> Vec<u8> {
        const ALPHABET: &[u8] = &[0x00, 0x01, 0x02, b'a', b'b', 0xFE, 0xFF];
        let len = self.below(5) as usize;
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    fn string(&mut self) -> String {
        const ALPHABET: &[&str] = &["\0", "\u{1}", "a", "b", "é", "\u{10FFFF}"];
        let len = self.below(4) as usize;
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize])
            .collect()
    }

    fn u64(&mut self) -> u64 {
        [0, 1, 255, 256, u64::MAX - 1, u64::MAX, self.next()][self.below(7) as usize]
    }

    fn i64(&mut self) -> i64 {
        [i64::MIN, -1, 0, 1, i64::MAX, self.next() as i64][self.below(6) as usize]
    }
}

fn enc<K: Key>(k: &K) -> Vec<u8> {
    let mut out = Vec::new();
    Key::encode_key(k, &mut out);
    out
}

/// Sorting by encoded bytes gives the typed order, and every key decodes
/// back to itself.
fn check_order<K: Key + Ord + Clone + std::fmt::Debug>(keys: Vec<K>) {
    let mut typed = keys.clone();
    typed.sort();
    let mut by_bytes = keys;
    by_bytes.sort_by_key(|k| enc(k));
    assert_eq!(typed, by_bytes);
    for k in &typed {
        assert_eq!(&crate::key::decode::<K>(&enc(k)).unwrap(), k);
    }
}

#[test]
fn encoded_order_is_typed_order() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    check_order((0..500).map(|_| rng.u64()).collect::<Vec<_>>());
    check_order((0..500).map(|_| rng.i64()).collect::<Vec<_>>());
    check_order((0..500).map(|_| rng.string()).collect::<Vec<_>>());
    check_order((0..500).map(|_| rng.bytes()).collect::<Vec<_>>());
    check_order(
        (0..1000)
            .map(|_| (rng.string(), rng.string()))
            .collect::<Vec<_>>(),
    );
    check_order(
        (0..1000)
            .map(|_| (rng.string(), rng.u64(), rng.bytes()))
            .collect::<Vec<_>>(),
    );
    check_order(
        (0..1000)
            .map(|_| (rng.bytes(), rng.i64(), rng.string(), rng.u64()))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn a_prefix_never_collides() {
    // A string that ends in NUL must not make two tuples share bytes.
    let a = enc(&("a".to_string(), "b".to_string()));
    let b = enc(&("a\0".to_string(), "b".to_string()));
    assert_ne!(a, b);
    assert!(!b.starts_with(&enc(&"a".to_string())[..]));
    // No string's encoding is a prefix of another's.
    let mut rng = Rng(7);
    let strings: Vec<String> = (0..300).map(|_| rng.string()).collect();
    for x in &strings {
        for y in &strings {
            if x != y {
                assert!(!enc(y).starts_with(&enc(x)), "{x:?} is a prefix of {y:?}");
            }
        }
    }
}

#[test]
fn bad_key_bytes_are_errors() {
    let decode = |b: &[u8]| crate::key::decode::<String>(b);
    assert_eq!(decode(b"ab"), Err(KeyError::Truncated));
    assert_eq!(decode(b"a\0\x07"), Err(KeyError::BadEscape));
    assert_eq!(decode(b"\xC3\0\x01"), Err(KeyError::NotUtf8));
    assert_eq!(decode(b"a\0\x01z"), Err(KeyError::TrailingBytes(1)));
    assert_eq!(crate::key::decode::<u64>(&[1, 2]), Err(KeyError::Truncated));
}

const PAIRS: Table<(String, String), u64> = Table::new("pairs");
const TRIPLES: Table<(String, u64, String), String> = Table::new("triples");
const BLOBS: Table<Vec<u8>, Vec<u8>, Raw> = Table::new("blobs");
const COUNTER: Table<String, u64> = Table::new("counter");

fn db() -> (MemBackend, Db) {
    let backend = MemBackend::default();
    (backend.clone(), Db::new(backend))
}

#[tokio::test]
async fn scans_follow_typed_order() {
    let (_, db) = db();
    for (i, (a, b)) in [("a", "b"), ("a\0", "b"), ("a", ""), ("ab", "x"), ("", "z")]
        .into_iter()
        .enumerate()
    {
        db.put(&PAIRS, (a, b), &(i as u64)).await.unwrap();
    }
    let keys: Vec<_> = db
        .scan(&PAIRS, Scan::all())
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // `("a",)` matches exactly the keys whose first part is "a".
    let a: Vec<_> = db.scan(&PAIRS, Scan::prefix(("a",))).await.unwrap();
    assert_eq!(
        a,
        vec![(("a".into(), "".into()), 2), (("a".into(), "b".into()), 0)]
    );
}

#[tokio::test]
async fn every_scan_shape() {
    let (_, db) = db();
    for c in ["c1", "c2"] {
        for t in 1..=5u64 {
            db.put(&TRIPLES, (c, t, "o"), &format!("{c}-{t}"))
                .await
                .unwrap();
        }
    }
    let values = |rows: Vec<((String, u64, String), String)>| -> Vec<String> {
        rows.into_iter().map(|(_, v)| v).collect()
    };
    let scan = |s| {
        let db = db.clone();
        async move { values(db.scan(&TRIPLES, s).await.unwrap()) }
    };
    assert_eq!(scan(Scan::all().limit(2)).await, ["c1-1", "c1-2"]);
    assert_eq!(scan(Scan::all().rev().limit(2)).await, ["c2-5", "c2-4"]);
    assert_eq!(
        scan(Scan::prefix(("c1",)).rev().limit(2)).await,
        ["c1-5", "c1-4"]
    );
    assert_eq!(scan(Scan::prefix(("c2", 3u64))).await, ["c2-3"]);
    assert_eq!(
        scan(Scan::range(("c1", 4u64, ""), ("c2", 2u64, ""))).await,
        ["c1-4", "c1-5", "c2-1"]
    );
    assert_eq!(scan(Scan::from(("c2", 4u64, "o"))).await, ["c2-4", "c2-5"]);
    assert_eq!(scan(Scan::after(("c2", 4u64, "o"))).await, ["c2-5"]);
    assert_eq!(
        scan(Scan::prefix_after(("c1",), ("c1", 3u64, "o"))).await,
        ["c1-4", "c1-5"]
    );
    // An `after` before the prefix starts at the prefix.
    assert_eq!(
        scan(Scan::prefix_after(("c2",), ("c1", 3u64, "o")).limit(1)).await,
        ["c2-1"]
    );
    assert_eq!(
        scan(Scan::prefix_before(("c2",), ("c2", 3u64, "o")).rev()).await,
        ["c2-2", "c2-1"]
    );
    // A `before` past the prefix ends at the prefix.
    assert_eq!(
        scan(
            Scan::prefix_before(("c1",), ("c9", 0u64, ""))
                .rev()
                .limit(1)
        )
        .await,
        ["c1-5"]
    );
    // Empty and inverted ranges are empty, not errors.
    assert!(
        scan(Scan::range(("c2", 1u64, ""), ("c1", 1u64, "")))
            .await
            .is_empty()
    );
    assert!(scan(Scan::all().limit(0)).await.is_empty());
}

#[tokio::test]
async fn raw_values_and_byte_keys() {
    let (_, db) = db();
    db.put(&BLOBS, b"\0\xFF", &vec![0, 1, 2]).await.unwrap();
    assert_eq!(
        db.get(&BLOBS, &b"\0\xFF"[..]).await.unwrap(),
        Some(vec![0, 1, 2])
    );
    assert!(db.contains(&BLOBS, b"\0\xFF").await.unwrap());
    db.delete(&BLOBS, b"\0\xFF").await.unwrap();
    assert!(!db.contains(&BLOBS, b"\0\xFF").await.unwrap());
}

#[tokio::test]
async fn undecodable_values_name_the_table() {
    let (_, db) = db();
    const WRONG: Table<String, String> = Table::new("counter");
    db.put(&COUNTER, "n", &5).await.unwrap();
    match db.get(&WRONG, "n").await {
        Err(StoreError::Undecodable {
            table: "counter", ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

/// What a domain area's error looks like: it wraps the store's.
#[derive(Debug, PartialEq)]
enum DomainError {
    Store(StoreError),
    Refused,
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        DomainError::Store(e)
    }
}

async fn bump(db: &Db, runs: &std::sync::atomic::AtomicUsize) -> Result<u64, StoreError> {
    db.transact(|tx| async move {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let n = tx.get(&COUNTER, "n").await?.unwrap_or(0) + 1;
        tx.put(&COUNTER, "n", &n).await?;
        Ok(n)
    })
    .await
}

#[tokio::test]
async fn commit_conflicts_are_retried() {
    let (backend, db) = db();
    let runs = std::sync::atomic::AtomicUsize::new(0);
    backend.fail_commits(7);
    assert_eq!(bump(&db, &runs).await, Ok(1));
    assert_eq!(runs.into_inner(), 8);
}

#[tokio::test]
async fn conflicts_in_calls_are_retried_even_when_converted() {
    let (backend, db) = db();
    backend.fail_reads(3);
    let n = db
        .transact(|tx| async move {
            let n = tx.get(&COUNTER, "n").await?.unwrap_or(0) + 1;
            tx.put(&COUNTER, "n", &n).await?;
            Ok::<_, DomainError>(n)
        })
        .await;
    assert_eq!(n, Ok(1));
    assert_eq!(backend.begun(), 4);
}

#[tokio::test]
async fn persistent_conflicts_give_up_after_eight_attempts() {
    let (backend, db) = db();
    let runs = std::sync::atomic::AtomicUsize::new(0);
    backend.fail_commits(100);
    assert_eq!(bump(&db, &runs).await, Err(StoreError::Conflict));
    assert_eq!(runs.into_inner(), crate::MAX_ATTEMPTS);
    assert_eq!(backend.len(), 0);
}

#[tokio::test]
async fn err_aborts_and_is_returned_as_is() {
    let (backend, db) = db();
    let result: Result<(), DomainError> = db
        .transact(|tx| async move {
            tx.put(&COUNTER, "n", &1).await?;
            assert_eq!(tx.get(&COUNTER, "n").await, Ok(Some(1)));
            Err(DomainError::Refused)
        })
        .await;
    assert_eq!(result, Err(DomainError::Refused));
    assert_eq!(backend.len(), 0);
    assert_eq!(backend.begun(), 1);
}

#[tokio::test]
async fn a_kept_tx_is_finished() {
    let (_, db) = db();
    let kept = db
        .transact(|tx| async move { Ok::<_, StoreError>(tx.clone()) })
        .await
        .unwrap();
    assert_eq!(kept.get(&COUNTER, "n").await, Err(StoreError::Finished));
    assert_eq!(kept.put(&COUNTER, "n", &1).await, Err(StoreError::Finished));
}

#[tokio::test]
#[should_panic(expected = "inside a transaction closure")]
async fn a_nested_write_panics_instead_of_hanging() {
    let (_, db) = db();
    let inner = db.clone();
    let _ = db
        .transact(|_tx| {
            let inner = inner.clone();
            async move { inner.put(&COUNTER, "n", &1).await }
        })
        .await;
}

#[test]
fn now_ms_is_after_2024() {
    assert!(crate::now_ms() > 1_700_000_000_000);
}
