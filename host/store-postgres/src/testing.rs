//! Fresh databases for tests, on the throwaway PostgreSQL cluster the test
//! command starts (`scripts/postgres.sh`, which exports
//! `CITYHOST_TEST_POSTGRES`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable holding the throwaway cluster's URL, ending in
/// a database name (`postgres://cityhost@127.0.0.1:PORT/postgres`, as
/// `scripts/postgres.sh start` prints it).
pub const CLUSTER_URL_VAR: &str = "CITYHOST_TEST_POSTGRES";

/// The cluster's URL. Panics, saying how to get one, when it is not set.
pub fn cluster_url() -> String {
    std::env::var(CLUSTER_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{CLUSTER_URL_VAR} is not set: run the tests with scripts/test.sh, which \
             starts a throwaway PostgreSQL cluster, or start one with \
             `scripts/postgres.sh start` and export the URL it prints"
        )
    })
}

/// The environment variable holding the throwaway cluster's directory
/// (its data directory is `data` inside), as `scripts/postgres.sh start`
/// prints it.
pub const CLUSTER_DIR_VAR: &str = "CITYHOST_TEST_POSTGRES_DIR";

/// The cluster's directory. Panics when it is not set (see [`cluster_url`]).
pub fn cluster_dir() -> std::path::PathBuf {
    std::env::var_os(CLUSTER_DIR_VAR)
        .unwrap_or_else(|| panic!("{CLUSTER_DIR_VAR} is not set: see {CLUSTER_URL_VAR}"))
        .into()
}

/// Makes an empty schema on the cluster and returns a URL whose sessions
/// work in it (`options=-c search_path=…`): each call gets its own (named by
/// process id, a counter and the time), so tests never see each other's
/// records, at the cost of a `CREATE SCHEMA` rather than a whole database.
/// Panics if the cluster refuses.
pub async fn fresh_database() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let url = cluster_url();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test cluster ({CLUSTER_URL_VAR}): {e}"));
    tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "t_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .await
        .unwrap_or_else(|e| panic!("creating test schema {name}: {e}"));
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{name}")
}
