//! CityHost's state seam ([`cityhost_store`]) over PostgreSQL, for
//! deployments where several hosts share one database.
//!
//! * One PostgreSQL table per store table, `kv_{name}` with `k bytea`
//!   (primary key) and `v bytea`, created on first use (under an advisory
//!   lock, so hosts starting together do not race) and listed in
//!   `cityhost_tables`. `bytea` orders bytewise, as the seam's key encoding
//!   needs, so scans are index range scans.
//! * The seam's own schema (the id sequence, the table list) is created and
//!   upgraded by versioned migrations ([`schema`]) when a backend connects;
//!   a database written by a newer CityHost is refused.
//! * Transactions run at `SERIALIZABLE`, several at once: up to half the
//!   backend's connections ([`PgBackend::connect_with`]), so the other half
//!   stays free for reads, and concurrent commits share PostgreSQL's WAL
//!   flushes. Serialization and deadlock failures become
//!   [`StoreError::Conflict`], which
//!   [`Db::transact`](cityhost_store::Db::transact) retries, first alone on
//!   this host (it waits for the host's other transactions to end, and
//!   holds back new ones), then alone among all hosts: every transaction
//!   holds a shared advisory lock of the schema's ([`turn`]), and such a
//!   retry holds it exclusively, so nothing can conflict with it. Reads
//!   outside a transaction are single statements (each sees one committed
//!   state) and never wait for a turn.
//! * A commit is durable when it returns (PostgreSQL's default
//!   `synchronous_commit`), so [`Backend::sync`] has nothing left to do.
//! * Ids come from the sequence `cityhost_ids`: unique and increasing across
//!   every host and restart.
//! * Signals to the other hosts ([`cityhost_store::Signal`]) travel by
//!   `NOTIFY` / `LISTEN` on a connection of their own (`signals`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), cityhost_store::StoreError> {
//! use cityhost_store::Db;
//! use cityhost_store_postgres::PgBackend;
//! let db = Db::new(PgBackend::connect("postgres://cityhost@127.0.0.1:5432/cityhost").await?);
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cityhost_store::{Backend, BackendTx, RawRows, RawScan, StoreError, Turn};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;

mod error;
pub mod schema;
mod signals;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
mod turn;
mod tx;

use error::{pg_error, pool_error};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Connections a backend opens at most, unless told otherwise
/// ([`PgBackend::connect_with`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// How long a caller waits for a free connection, or for a new one to
/// open, before the call fails with [`StoreError::Backend`].
pub const CONNECTION_WAIT: Duration = Duration::from_secs(10);

/// The PostgreSQL backend. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct PgBackend {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Connections for reads and transactions.
    pool: Pool,
    /// A few connections of their own for what a transaction may need
    /// while it holds a connection of `pool` (creating a table, taking an
    /// id), so a full `pool` can never wait for itself.
    side: Pool,
    /// Store tables known to exist (created by this or another host).
    tables: Mutex<HashSet<&'static str>>,
    /// Turns to run a transaction: a shared one takes one permit, one
    /// alone takes all [`Inner::writers`] of them.
    turns: Arc<tokio::sync::Semaphore>,
    /// How many transactions run at once at most.
    writers: u32,
    /// The schema's advisory lock key for turns across hosts ([`turn`]).
    turn_key: i32,
    /// Signals to and from the other hosts.
    signals: signals::Signals,
}

impl Inner {
    /// A pooled connection. Errors: none free within [`CONNECTION_WAIT`],
    /// or the server refused a new one.
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// A connection of the side pool (see [`Inner::side`]).
    async fn side_client(&self) -> Result<Object, StoreError> {
        self.side.get().await.map_err(pool_error)
    }

    /// Makes sure the PostgreSQL table of `table` exists; returns its name.
    /// The first use in this process asks the server (one short
    /// transaction on its own connection); later ones only check a set.
    pub(crate) async fn table(&self, table: &'static str) -> Result<String, StoreError> {
        let name = sql::table_name(table)?;
        if self.known(table) {
            return Ok(name);
        }
        let mut client = self.side_client().await?;
        schema::create_table(&mut client, table, &name).await?;
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(table);
        Ok(name)
    }

    fn known(&self, table: &'static str) -> bool {
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(table)
    }
}

impl PgBackend {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`
    /// or libpq's `key=value` form; plain TCP or a Unix socket, or TLS with
    /// `sslmode` and `sslrootcert` as [`tls`] describes) with
    /// at most [`DEFAULT_MAX_CONNECTIONS`] connections, and brings the
    /// seam's schema up to date. Errors: [`StoreError::Backend`] — the URL
    /// does not parse, the server cannot be reached or refuses the login, or
    /// the database was written by a newer CityHost. The message never
    /// contains the password.
    pub async fn connect(url: &str) -> Result<PgBackend, StoreError> {
        Self::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// [`connect`](Self::connect) with at most `max_connections` for reads
    /// and transactions (at least 1), and 2 more for creating tables and
    /// taking ids. At most half of them (at least 1) run transactions at
    /// once.
    pub async fn connect_with(url: &str, max_connections: usize) -> Result<PgBackend, StoreError> {
        let (url, tls) = tls::split(url)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("the PostgreSQL URL does not parse: {e}")))?;
        if config.get_application_name().is_none() {
            config.application_name("cityhost");
        }
        config.ssl_mode(tls.mode);
        // A session of a host that vanished mid-transaction (a partition:
        // no FIN reaches the server) would hold its locks, the turn lock
        // too, until TCP gave up, hours later; the server ends it sooner.
        let options = format!(
            "{} -c idle_in_transaction_session_timeout={}",
            config.get_options().unwrap_or_default(),
            IDLE_IN_TRANSACTION.as_millis()
        );
        config.options(options.trim_start());
        let tls = tls.connector()?;
        let side = pool(config.clone(), tls.clone(), SIDE_CONNECTIONS)?;
        let mut client = side.get().await.map_err(pool_error)?;
        schema::migrate(&mut client).await?;
        let row = client
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(pg_error)?;
        let schema: String = row.get(0);
        drop(client);
        let max_connections = max_connections.max(1);
        let writers = u32::try_from(max_connections / 2)
            .unwrap_or(u32::MAX)
            .clamp(1, MAX_WRITERS);
        let inner = Arc::new(Inner {
            pool: pool(config.clone(), tls.clone(), max_connections)?,
            side,
            tables: Mutex::new(HashSet::new()),
            turns: Arc::new(tokio::sync::Semaphore::new(writers as usize)),
            writers,
            turn_key: turn::key(&schema),
            signals: signals::Signals::start(config, tls, &schema).await?,
        });
        Ok(PgBackend { inner })
    }

    /// The store tables that exist in the database, sorted (for tools).
    /// Errors: the database cannot be read.
    pub async fn table_names(&self) -> Result<Vec<String>, StoreError> {
        let client = self.inner.client().await?;
        let rows = client
            .query("SELECT name FROM cityhost_tables ORDER BY name", &[])
            .await
            .map_err(pg_error)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }
}

/// How long a session may sit idle inside a transaction before the server
/// ends it (PostgreSQL's `idle_in_transaction_session_timeout`): far longer
/// than any transaction of the host waits between two statements.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(60);

/// Transactions that run at once at most, whatever the pool's size (a
/// bound for the semaphore's permits).
const MAX_WRITERS: u32 = 1024;

/// Connections of the side pool (see [`Inner::side`]).
const SIDE_CONNECTIONS: usize = 2;

/// A pool of at most `size` connections to the server `config` names,
/// through `tls` when its TLS mode asks for it.
fn pool(
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    size: usize,
) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config,
        tls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(CONNECTION_WAIT))
        .create_timeout(Some(CONNECTION_WAIT))
        .build()
        .map_err(|e| StoreError::Backend(format!("PostgreSQL pool: {e}")))
}

impl PgBackend {
    /// Moves the id sequence so the next id is greater than `id` (ids
    /// taken from another store before a migration stay unique). Never
    /// moves it back. Errors: the database cannot be written.
    pub async fn raise_ids(&self, id: u64) -> Result<(), StoreError> {
        let id = i64::try_from(id)
            .map_err(|_| StoreError::Backend(format!("id {id} is beyond PostgreSQL's bigint")))?;
        let client = self.inner.side_client().await?;
        client
            .execute(
                "SELECT setval('cityhost_ids', greatest($1, (SELECT last_value FROM cityhost_ids)))",
                &[&id],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend").finish_non_exhaustive()
    }
}

/// Runs a read of `table` on `client`: the committed state when `client`
/// is outside a transaction, the transaction's view inside one.
pub(crate) async fn get_on(
    client: &Object,
    name: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let statement = client
        .prepare_cached(&sql::get(name))
        .await
        .map_err(pg_error)?;
    let row = client
        .query_opt(&statement, &[&key])
        .await
        .map_err(pg_error)?;
    Ok(row.map(|row| row.get(0)))
}

/// Runs `scan` of `table` on `client` (see [`get_on`]).
pub(crate) async fn scan_on(
    client: &Object,
    name: &str,
    scan: &RawScan,
) -> Result<RawRows, StoreError> {
    if scan.is_empty() {
        return Ok(Vec::new());
    }
    let query = sql::scan(name, scan);
    let statement = client.prepare_cached(&query.text).await.map_err(pg_error)?;
    let params: Vec<&(dyn ToSql + Sync)> = query
        .params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = client.query(&statement, &params).await.map_err(pg_error)?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

#[cityhost_store::async_trait]
impl Backend for PgBackend {
    async fn get(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let name = self.inner.table(table).await?;
        let client = self.inner.client().await?;
        get_on(&client, &name, key).await
    }

    async fn scan(&self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError> {
        let name = self.inner.table(table).await?;
        let client = self.inner.client().await?;
        scan_on(&client, &name, scan).await
    }

    async fn begin(&self, turn: Turn) -> Result<Box<dyn BackendTx>, StoreError> {
        let permits = match turn {
            Turn::Shared => 1,
            Turn::AloneHere | Turn::AloneEverywhere => self.inner.writers,
        };
        let permit = Arc::clone(&self.inner.turns)
            .acquire_many_owned(permits)
            .await
            .map_err(|_| StoreError::Backend("the backend is closed".into()))?;
        let client = self.inner.client().await?;
        let begin = turn::begin(self.inner.turn_key, turn == Turn::AloneEverywhere);
        Ok(Box::new(
            tx::PgTx::begin(Arc::clone(&self.inner), client, &begin, permit).await?,
        ))
    }

    async fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn next_id(&self) -> Result<u64, StoreError> {
        let client = self.inner.side_client().await?;
        let row = client
            .query_one("SELECT nextval('cityhost_ids')", &[])
            .await
            .map_err(pg_error)?;
        let id: i64 = row.get(0);
        u64::try_from(id).map_err(|_| StoreError::Backend(format!("negative id {id}")))
    }

    async fn signal(&self, channel: &'static str, payload: &str) -> Result<(), StoreError> {
        let signals = &self.inner.signals;
        let client = self.inner.side_client().await?;
        client
            .execute(
                "SELECT pg_notify($1, $2)",
                &[&signals.channel, &signals.frame(channel, payload)],
            )
            .await
            .map_err(pg_error)?;
        Ok(())
    }

    fn listen(&self) -> Option<tokio::sync::broadcast::Receiver<cityhost_store::Heard>> {
        Some(self.inner.signals.subscribe())
    }
}
