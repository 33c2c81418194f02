//! Operators' per-app concurrency caps: how many requests of one app may
//! run at once, in place of the host's default (`--app-concurrency`). A
//! lower cap keeps a misbehaving or costly app to a small share of the
//! instance pool; a higher one gives a busy service (a month-end payment
//! rush) more of it. The host's admission (`cityhost::admission`) applies
//! them; this module keeps them, with each change in the operator log.

use std::collections::BTreeMap;

use cityhost_store::{Db, Scan};

use super::operators::{OperatorAction, Operators};
use super::tables::{APP_CONCURRENCY, APP_OWNERS};
use crate::error::{ServiceError, ServiceResult};

/// The largest cap an operator may set: the runtime's largest instance
/// pool (a cap above the pool's slots would never bind).
pub const MAX_APP_CONCURRENCY: u32 = 4096;

/// The per-app caps in the store.
#[derive(Clone)]
pub struct AppConcurrency {
    db: Db,
    operators: Operators,
}

impl AppConcurrency {
    /// The caps in `db`, changes logged through `operators`.
    pub fn new(db: Db, operators: Operators) -> Self {
        Self { db, operators }
    }

    /// Every app's cap, by app id (apps without one use the host default).
    pub async fn all(&self) -> ServiceResult<BTreeMap<String, u32>> {
        Ok(self
            .db
            .scan(&APP_CONCURRENCY, Scan::all())
            .await?
            .into_iter()
            .collect())
    }

    /// Sets (`Some`) or removes (`None`) `app`'s cap as `operator`.
    /// Errors: `InvalidArgument("max")` outside 1 to
    /// [`MAX_APP_CONCURRENCY`]; `NotFound("app")` for an app no department
    /// owns.
    pub async fn set(&self, operator: &str, app: &str, max: Option<u32>) -> ServiceResult<()> {
        if max.is_some_and(|m| m == 0 || m > MAX_APP_CONCURRENCY) {
            return Err(ServiceError::invalid(
                "max",
                format!("use 1-{MAX_APP_CONCURRENCY}, or null for the host's default"),
            ));
        }
        let detail = max.map_or("default".to_string(), |m| m.to_string());
        let entry = OperatorAction::now(operator, "app.concurrency", app, &detail);
        self.db
            .transact(|tx| {
                let entry = &entry;
                async move {
                    if !tx.contains(&APP_OWNERS, app).await? {
                        return Err(ServiceError::NotFound("app"));
                    }
                    match max {
                        Some(max) => tx.put(&APP_CONCURRENCY, app, &max).await?,
                        None => tx.delete(&APP_CONCURRENCY, app).await?,
                    }
                    self.operators.log(&tx, entry).await?;
                    Ok(())
                }
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    #[tokio::test]
    async fn caps_are_kept_per_known_app_and_logged() {
        let (_dir, db) = temp_db();
        let operators = Operators::new(db.clone());
        let caps = AppConcurrency::new(db.clone(), operators.clone());
        db.put(&APP_OWNERS, "probe", &"11330000002482146U".to_string())
            .await
            .unwrap();
        for bad in [0, MAX_APP_CONCURRENCY + 1] {
            assert!(matches!(
                caps.set("alice", "probe", Some(bad)).await,
                Err(ServiceError::InvalidArgument { field: "max", .. })
            ));
        }
        assert!(matches!(
            caps.set("alice", "nobody", Some(4)).await,
            Err(ServiceError::NotFound("app"))
        ));
        caps.set("alice", "probe", Some(4)).await.unwrap();
        assert_eq!(
            caps.all().await.unwrap(),
            BTreeMap::from([("probe".into(), 4)])
        );
        caps.set("alice", "probe", None).await.unwrap();
        assert!(caps.all().await.unwrap().is_empty());
        let log = operators.actions(0, u64::MAX, 10).await.unwrap();
        let details: Vec<_> = log.iter().map(|a| a.detail.as_str()).collect();
        assert_eq!(details, ["4", "default"]);
    }
}
