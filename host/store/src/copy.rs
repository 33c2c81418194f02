//! Copying a table from one backend to another and checking the copy,
//! record for record: how a deployment moves from the embedded database to
//! PostgreSQL (`cityhost migrate-store`).

use std::ops::Bound;

use crate::backend::{Backend, Turn};
use crate::error::StoreError;
use crate::scan::RawScan;

/// Records read and written per transaction of a copy.
pub const PAGE: usize = 1000;

/// The page of `table` after `after` (from the start if `None`).
async fn page(
    backend: &dyn Backend,
    table: &'static str,
    after: &Option<Vec<u8>>,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
    let scan = RawScan {
        start: after.clone().map_or(Bound::Unbounded, Bound::Excluded),
        end: Bound::Unbounded,
        reverse: false,
        limit: Some(PAGE),
    };
    backend.scan(table, &scan).await
}

/// Writes every committed record of `table` in `from` into `to`, [`PAGE`]
/// records per transaction of `to`; returns how many. Records written to
/// `from` meanwhile may be missed: copy from a store no host is using.
/// Errors: either backend failed.
pub async fn copy_table(
    from: &dyn Backend,
    to: &dyn Backend,
    table: &'static str,
) -> Result<u64, StoreError> {
    let mut after = None;
    let mut copied = 0u64;
    loop {
        let rows = page(from, table, &after).await?;
        let Some((last, _)) = rows.last() else {
            return Ok(copied);
        };
        after = Some(last.clone());
        let count = rows.len();
        let mut tx = to.begin(Turn::Shared).await?;
        for (key, value) in rows {
            tx.put(table, key, value).await?;
        }
        tx.commit().await?;
        copied += count as u64;
    }
}

/// Whether `table` holds the same records in `a` and `b`; `Ok(n)` with
/// their number if so. Error [`StoreError::Backend`] naming the table and
/// the first key that differs (hex), or a backend failure.
pub async fn same_table(
    a: &dyn Backend,
    b: &dyn Backend,
    table: &'static str,
) -> Result<u64, StoreError> {
    let mut after = None;
    let mut checked = 0u64;
    loop {
        let (left, right) = (page(a, table, &after).await?, page(b, table, &after).await?);
        if left != right {
            let differs = left
                .iter()
                .zip(&right)
                .find(|(l, r)| l != r)
                .map(|(l, _)| &l.0)
                .or_else(|| left.get(right.len()).map(|(k, _)| k))
                .or_else(|| right.get(left.len()).map(|(k, _)| k))
                .map(|k| k.iter().map(|b| format!("{b:02x}")).collect::<String>())
                .unwrap_or_default();
            return Err(StoreError::Backend(format!(
                "table `{table}` differs at key {differs} (hex)"
            )));
        }
        let Some((last, _)) = left.last() else {
            return Ok(checked);
        };
        after = Some(last.clone());
        checked += left.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::MemBackend;

    async fn fill(backend: &MemBackend, table: &'static str, n: u32) {
        let mut tx = backend.begin(Turn::Shared).await.unwrap();
        for i in 0..n {
            tx.put(table, i.to_be_bytes().to_vec(), vec![i as u8])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_copy_over_several_pages_is_the_same_table() {
        let (from, to) = (MemBackend::default(), MemBackend::default());
        fill(&from, "t", 2 * PAGE as u32 + 7).await;
        assert_eq!(
            copy_table(&from, &to, "t").await.unwrap(),
            2 * PAGE as u64 + 7
        );
        assert_eq!(
            same_table(&from, &to, "t").await.unwrap(),
            2 * PAGE as u64 + 7
        );
        assert_eq!(copy_table(&from, &to, "empty").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_changed_missing_or_extra_record_is_named() {
        let (from, to) = (MemBackend::default(), MemBackend::default());
        fill(&from, "t", 10).await;
        copy_table(&from, &to, "t").await.unwrap();
        let mut tx = to.begin(Turn::Shared).await.unwrap();
        tx.put("t", 4u32.to_be_bytes().to_vec(), vec![99])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let e = same_table(&from, &to, "t").await.unwrap_err().to_string();
        assert!(e.contains("00000004"), "{e}");
        let mut tx = from.begin(Turn::Shared).await.unwrap();
        tx.put("t", 4u32.to_be_bytes().to_vec(), vec![99])
            .await
            .unwrap();
        tx.put("t", 11u32.to_be_bytes().to_vec(), vec![1])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let e = same_table(&from, &to, "t").await.unwrap_err().to_string();
        assert!(e.contains("0000000b"), "{e}");
    }
}
