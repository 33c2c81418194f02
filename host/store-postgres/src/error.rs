//! PostgreSQL's and the pool's errors as the seam's error.

use cityhost_store::StoreError;
use tokio_postgres::error::SqlState;

/// A PostgreSQL error as the seam's: serialization failures and deadlocks
/// (a concurrent transaction won) are [`StoreError::Conflict`]; anything
/// else is [`StoreError::Backend`] with the server's message and SQLSTATE.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE => StoreError::Conflict,
        Some(code) if *code == SqlState::T_R_DEADLOCK_DETECTED => StoreError::Conflict,
        _ => match e.as_db_error() {
            Some(db) => StoreError::Backend(format!(
                "PostgreSQL: {} (SQLSTATE {})",
                db.message(),
                db.code().code()
            )),
            None => StoreError::Backend(format!("PostgreSQL: {}", with_causes(&e))),
        },
    }
}

/// `e` and each error beneath it, `: `-separated ("error performing TLS
/// handshake: invalid peer certificate: UnknownIssuer"), so the operator
/// reads why, not only what failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// A failure to get a pooled connection.
pub(crate) fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_error(e),
        e => StoreError::Backend(format!("PostgreSQL connection: {e}")),
    }
}
