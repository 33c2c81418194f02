//! The seam's own schema in PostgreSQL, created and upgraded by versioned
//! migrations, and the tables of the store's tables.
//!
//! `cityhost_schema` records each applied migration (version, time). A
//! host applies the missing ones when it connects, inside one transaction
//! under an advisory lock, so hosts starting together apply each once; a
//! database whose schema is newer than this host knows is refused.

use cityhost_store::StoreError;
use deadpool_postgres::Object;

use crate::error::pg_error;

/// The advisory lock key under which the schema changes (migrations, new
/// store tables): "cityhost" in ASCII.
const SCHEMA_LOCK: i64 = 0x6369_7479_686f_7374;

/// The migrations, in order; version `i + 1` is `MIGRATIONS[i]`. Append
/// only: a released migration never changes.
pub const MIGRATIONS: &[&str] = &[
    // 1: the id sequence and the list of store tables.
    "CREATE SEQUENCE cityhost_ids AS bigint START 1;
     CREATE TABLE cityhost_tables (
         name text PRIMARY KEY,
         created_at timestamptz NOT NULL DEFAULT now()
     );",
];

/// The schema version this host writes: the number of [`MIGRATIONS`].
pub fn current_version() -> i32 {
    MIGRATIONS.len() as i32
}

/// Brings the schema up to [`current_version`]; returns the version the
/// database had before. Errors: a migration failed (nothing of it is
/// applied) or the database is newer than this host.
pub async fn migrate(client: &mut Object) -> Result<i32, StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS cityhost_schema (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg_error)?;
    let row = tx
        .query_one("SELECT coalesce(max(version), 0) FROM cityhost_schema", &[])
        .await
        .map_err(pg_error)?;
    let before: i32 = row.get(0);
    if before > current_version() {
        return Err(StoreError::Backend(format!(
            "the database's schema is version {before}, written by a newer CityHost; \
             this host knows versions up to {}",
            current_version()
        )));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(before as usize) {
        let version = i as i32 + 1;
        tx.batch_execute(migration).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO cityhost_schema (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)?;
    Ok(before)
}

/// Creates table `name` for store table `table` if it does not exist yet,
/// and lists it in `cityhost_tables`.
pub(crate) async fn create_table(
    client: &mut Object,
    table: &str,
    name: &str,
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(pg_error)?;
    // Another host may have created it: no "already exists" notice.
    tx.batch_execute(&format!(
        "SET LOCAL client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS {name} (k bytea PRIMARY KEY, v bytea NOT NULL)"
    ))
    .await
    .map_err(pg_error)?;
    tx.execute(
        "INSERT INTO cityhost_tables (name) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&table],
    )
    .await
    .map_err(pg_error)?;
    tx.commit().await.map_err(pg_error)
}
