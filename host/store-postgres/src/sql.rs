//! The SQL each seam call runs, by table.

use std::ops::Bound;

use cityhost_store::{RawScan, StoreError};
use tokio_postgres::types::ToSql;

/// The longest store table name (PostgreSQL identifiers hold 63 bytes;
/// `kv_` takes 3).
const MAX_TABLE_NAME: usize = 60;

/// The PostgreSQL table of store table `table`: `kv_{table}`. Errors: the
/// name is empty, longer than 60 bytes or not `[a-z0-9_]` (store table
/// names are constants in the code, so this is a programming error).
pub(crate) fn table_name(table: &str) -> Result<String, StoreError> {
    let plain = table
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if table.is_empty() || table.len() > MAX_TABLE_NAME || !plain {
        return Err(StoreError::Backend(format!(
            "table name `{table}` is not 1–60 characters of a-z, 0-9 and _"
        )));
    }
    Ok(format!("kv_{table}"))
}

/// One record by key: `$1` = key.
pub(crate) fn get(name: &str) -> String {
    format!("SELECT v FROM {name} WHERE k = $1")
}

/// Insert or replace: `$1` = key, `$2` = value.
pub(crate) fn put(name: &str) -> String {
    format!(
        "INSERT INTO {name} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v"
    )
}

/// Remove by key: `$1` = key.
pub(crate) fn delete(name: &str) -> String {
    format!("DELETE FROM {name} WHERE k = $1")
}

/// A scan's statement and its parameters (bound keys as `bytea`, the
/// limit as `bigint`).
pub(crate) struct ScanQuery {
    pub(crate) text: String,
    pub(crate) params: Vec<Box<dyn ToSql + Sync + Send>>,
}

/// The statement for `scan` (not empty) of table `name`: bounds as
/// parameters, key order (or reverse), the limit if any.
pub(crate) fn scan(name: &str, scan: &RawScan) -> ScanQuery {
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    for (bound, included, excluded) in [(&scan.start, ">=", ">"), (&scan.end, "<=", "<")] {
        let (op, key) = match bound {
            Bound::Included(k) => (included, k),
            Bound::Excluded(k) => (excluded, k),
            Bound::Unbounded => continue,
        };
        params.push(Box::new(key.clone()) as Box<dyn ToSql + Sync + Send>);
        conditions.push(format!("k {op} ${}", params.len()));
    }
    let mut text = format!("SELECT k, v FROM {name}");
    if !conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&conditions.join(" AND "));
    }
    text.push_str(if scan.reverse {
        " ORDER BY k DESC"
    } else {
        " ORDER BY k"
    });
    if let Some(limit) = scan.limit {
        params.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
        text.push_str(&format!(" LIMIT ${}", params.len()));
    }
    ScanQuery { text, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_plain_identifiers() {
        assert_eq!(table_name("app_timers").unwrap(), "kv_app_timers");
        for bad in ["", "Upper", "a-b", "a;drop", "é", &"x".repeat(61)] {
            assert!(table_name(bad).is_err(), "{bad}");
        }
        assert!(table_name(&"x".repeat(60)).is_ok());
    }

    #[test]
    fn a_scan_binds_its_bounds_and_limit() {
        let q = scan(
            "kv_t",
            &RawScan {
                start: Bound::Excluded(vec![1]),
                end: Bound::Included(vec![9]),
                reverse: true,
                limit: Some(5),
            },
        );
        assert_eq!(
            q.text,
            "SELECT k, v FROM kv_t WHERE k > $1 AND k <= $2 ORDER BY k DESC LIMIT $3"
        );
        assert_eq!(q.params.len(), 3);
        let all = scan(
            "kv_t",
            &RawScan {
                start: Bound::Unbounded,
                end: Bound::Unbounded,
                reverse: false,
                limit: None,
            },
        );
        assert_eq!(all.text, "SELECT k, v FROM kv_t ORDER BY k");
        assert!(all.params.is_empty());
    }
}
