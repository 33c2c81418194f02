//! One transaction on one pooled connection, at `SERIALIZABLE`.

use std::sync::Arc;

use cityhost_store::{BackendTx, RawRows, RawScan, StoreError};
use deadpool_postgres::Object;
use tokio::sync::OwnedSemaphorePermit;
use tokio_postgres::types::ToSql;

use crate::error::pg_error;
use crate::{Inner, get_on, scan_on, sql};

/// A transaction. After a failed statement PostgreSQL refuses every further
/// one until the end, so the first error is kept and answered again (a
/// conflict stays a conflict; a commit after it rolls back). Dropped
/// without commit or rollback, it is rolled back before its connection
/// returns to the pool.
pub(crate) struct PgTx {
    inner: Arc<Inner>,
    /// `None` once the transaction ended.
    client: Option<Object>,
    failed: Option<StoreError>,
    /// The backend's turn (see [`Inner::turns`]), held until the end.
    _turn: OwnedSemaphorePermit,
}

impl PgTx {
    /// Starts a transaction on `client` with the statements `begin`
    /// ([`crate::turn::begin`]), holding this host's `turn`.
    pub(crate) async fn begin(
        inner: Arc<Inner>,
        client: Object,
        begin: &str,
        turn: OwnedSemaphorePermit,
    ) -> Result<PgTx, StoreError> {
        if let Err(e) = client.batch_execute(begin).await {
            // Whatever part ran is ended before the connection is reused.
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(pg_error(e));
        }
        Ok(PgTx {
            inner,
            client: Some(client),
            failed: None,
            _turn: turn,
        })
    }

    /// The connection, unless the transaction failed or ended.
    fn live(&self) -> Result<&Object, StoreError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.client.as_ref().ok_or(StoreError::Finished)
    }

    /// Keeps the first error.
    fn note<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            self.failed.get_or_insert_with(|| e.clone());
        }
        result
    }

    async fn write(
        &mut self,
        table: &'static str,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let name = self.inner.table(table).await?;
        let result = async {
            let client = self.live()?;
            let (text, params): (String, Vec<&(dyn ToSql + Sync)>) = match &value {
                Some(value) => (sql::put(&name), vec![&key, value]),
                None => (sql::delete(&name), vec![&key]),
            };
            let statement = client.prepare_cached(&text).await.map_err(pg_error)?;
            client
                .execute(&statement, &params)
                .await
                .map_err(pg_error)?;
            Ok(())
        }
        .await;
        self.note(result)
    }

    /// Ends the transaction with `statement` (`COMMIT` or `ROLLBACK`).
    async fn end(&mut self, statement: &str) -> Result<(), StoreError> {
        let client = self.client.take().ok_or(StoreError::Finished)?;
        client.batch_execute(statement).await.map_err(pg_error)
    }
}

#[cityhost_store::async_trait]
impl BackendTx for PgTx {
    async fn get(
        &mut self,
        table: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let name = self.inner.table(table).await?;
        let result = match self.live() {
            Ok(client) => get_on(client, &name, key).await,
            Err(e) => Err(e),
        };
        self.note(result)
    }

    async fn scan(&mut self, table: &'static str, scan: &RawScan) -> Result<RawRows, StoreError> {
        let name = self.inner.table(table).await?;
        let result = match self.live() {
            Ok(client) => scan_on(client, &name, scan).await,
            Err(e) => Err(e),
        };
        self.note(result)
    }

    async fn put(
        &mut self,
        table: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.write(table, key, Some(value)).await
    }

    async fn delete(&mut self, table: &'static str, key: Vec<u8>) -> Result<(), StoreError> {
        self.write(table, key, None).await
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Some(e) = self.failed.clone() {
            let _ = self.end("ROLLBACK").await;
            return Err(e);
        }
        self.end("COMMIT").await
    }

    async fn rollback(mut self: Box<Self>) {
        let _ = self.end("ROLLBACK").await;
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Still open (the future owning it was dropped): roll it back before
        // the connection serves anyone else; without a runtime, close the
        // connection instead (the server then rolls back).
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}
