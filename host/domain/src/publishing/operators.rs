//! Platform operators: a role in the host. Each operator has a name and a
//! bearer token (32 random bytes, hex) of which only the SHA-256 is stored
//! (table `operators`: name → [`Operator`]). The first operator, `operator`,
//! is created at the host's first start with the token written to
//! `data_dir/operator-token`; more are added with `cityhost operator add`.
//!
//! Every operator action (creating departments, issuing and revoking
//! tokens, reviewing, releasing, rolling back) is appended to the operator
//! log (table `operator_actions`: `(time UTC ms, seq)` →
//! [`OperatorAction`]), listed at `GET /api/operator/actions`. A step that
//! changes records and is logged writes both in one transaction
//! ([`Operators::log`]).

use cityhost_store::{Db, Scan, StoreError, Tx, now_ms};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::tables::{OPERATOR_ACTIONS, OPERATORS};
use crate::error::{ServiceError, ServiceResult};

/// Name of the operator created at first start.
pub const BOOTSTRAP_OPERATOR: &str = "operator";

/// An operator account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operator {
    /// Login name: 1-32 characters of `a-z`, `0-9`, `-`, `_`.
    pub name: String,
    /// SHA-256 of the bearer token, hex.
    token_sha256: String,
    /// Creation time, UTC ms.
    pub created_at: u64,
}

/// One audited operator action.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OperatorAction {
    /// Time, UTC ms.
    pub time: u64,
    /// The operator's name (`cli` for commands run on the host machine).
    pub operator: String,
    /// What was done, e.g. `release.approve`, `department.create`.
    pub action: String,
    /// What it was done to, e.g. `hello@1.1.0` or a department's code.
    pub target: String,
    /// Details (reason of a rejection, release percentage, ...).
    pub detail: String,
}

impl OperatorAction {
    /// An action done now.
    pub fn now(operator: &str, action: &str, target: &str, detail: &str) -> Self {
        Self {
            time: now_ms(),
            operator: operator.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.to_string(),
        }
    }
}

/// Operator accounts and their action log.
#[derive(Clone)]
pub struct Operators {
    db: Db,
}

impl Operators {
    /// The operators in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Whether no operator exists.
    pub async fn is_empty(&self) -> ServiceResult<bool> {
        let first = self.db.scan(&OPERATORS, Scan::all().limit(1)).await?;
        Ok(first.is_empty())
    }

    /// Creates operator `name` with a fresh token; returns the token (shown
    /// once). Errors: malformed name (`name`), name taken (conflict).
    pub async fn add(&self, name: &str) -> ServiceResult<String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        self.add_with_token(name, &token).await?;
        Ok(token)
    }

    /// Creates operator `name` with the given token (at least 32
    /// characters); the operator and the log entry `operator.add` are
    /// written together.
    pub async fn add_with_token(&self, name: &str, token: &str) -> ServiceResult<()> {
        if name.is_empty()
            || name.len() > 32
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(ServiceError::invalid(
                "name",
                "use 1-32 characters of a-z, 0-9, '-' and '_'",
            ));
        }
        if token.len() < 32 {
            return Err(ServiceError::invalid("token", "use at least 32 characters"));
        }
        let operator = Operator {
            name: name.to_string(),
            token_sha256: hex::encode(Sha256::digest(token.as_bytes())),
            created_at: now_ms(),
        };
        let entry = OperatorAction::now("cli", "operator.add", name, "");
        self.db
            .transact(|tx| {
                let (operator, entry) = (&operator, &entry);
                async move {
                    if tx.contains(&OPERATORS, name).await? {
                        return Err(ServiceError::Conflict {
                            field: "name",
                            reason: format!("operator `{name}` exists"),
                        });
                    }
                    tx.put(&OPERATORS, name, operator).await?;
                    self.log(&tx, entry).await?;
                    Ok(())
                }
            })
            .await
    }

    /// The operator holding `token`. Digests are compared, so the time taken
    /// says nothing about the token.
    pub async fn check(&self, token: &str) -> ServiceResult<Operator> {
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        self.db
            .scan(&OPERATORS, Scan::all())
            .await?
            .into_iter()
            .map(|(_, operator)| operator)
            .find(|operator| operator.token_sha256 == digest)
            .ok_or(ServiceError::Unauthenticated("operator token required"))
    }

    /// Appends an action to the operator log.
    pub async fn record(
        &self,
        operator: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> ServiceResult<()> {
        let entry = OperatorAction::now(operator, action, target, detail);
        self.db
            .transact(|tx| {
                let entry = &entry;
                async move { self.log(&tx, entry).await }
            })
            .await?;
        Ok(())
    }

    /// Appends `entry` to the operator log within `tx`, so that it is
    /// logged if and only if the transaction's change commits.
    pub(crate) async fn log(&self, tx: &Tx, entry: &OperatorAction) -> Result<(), StoreError> {
        let seq = self.db.next_id().await?;
        tx.put(&OPERATOR_ACTIONS, (entry.time, seq), entry).await
    }

    /// Logged actions with `from_ms <= time < to_ms`, oldest first, at most
    /// `limit`.
    pub async fn actions(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> ServiceResult<Vec<OperatorAction>> {
        if limit == 0 || from_ms >= to_ms {
            return Ok(Vec::new());
        }
        let range = Scan::range((from_ms, 0), (to_ms, 0)).limit(limit);
        let actions = self.db.scan(&OPERATOR_ACTIONS, range).await?;
        Ok(actions.into_iter().map(|(_, action)| action).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::temp_db;

    #[tokio::test]
    async fn operators_hold_a_token_and_their_actions_are_logged_in_order() {
        let (_dir, db) = temp_db();
        let operators = Operators::new(db);
        assert!(operators.is_empty().await.unwrap());
        let token = operators.add("alice").await.unwrap();
        assert!(!operators.is_empty().await.unwrap());
        assert_eq!(operators.check(&token).await.unwrap().name, "alice");
        assert!(operators.check("not the token").await.is_err());
        // A name is taken once; malformed names and short tokens are refused.
        assert!(matches!(
            operators.add_with_token("alice", &"t".repeat(32)).await,
            Err(ServiceError::Conflict { field: "name", .. })
        ));
        assert!(matches!(
            operators.add("Alice!").await,
            Err(ServiceError::InvalidArgument { field: "name", .. })
        ));
        assert!(matches!(
            operators.add_with_token("bob", "short").await,
            Err(ServiceError::InvalidArgument { field: "token", .. })
        ));
        for i in 0..5 {
            operators
                .record("alice", "token.issue", &format!("t{i}"), "")
                .await
                .unwrap();
        }
        let all = operators.actions(0, u64::MAX, 100).await.unwrap();
        let targets: Vec<_> = all.iter().map(|a| a.target.as_str()).collect();
        // Only the one operator that was created is logged, then the
        // records in the order they were made.
        assert_eq!(targets, ["alice", "t0", "t1", "t2", "t3", "t4"]);
        assert_eq!(all[0].action, "operator.add");
        assert_eq!(operators.actions(0, u64::MAX, 2).await.unwrap().len(), 2);
        let time = all[1].time;
        let later = operators.actions(time, u64::MAX, 100).await.unwrap();
        assert!(later.iter().all(|a| a.time >= time));
        assert_eq!(later.last().unwrap().target, "t4");
        assert!(operators.actions(time, time, 100).await.unwrap().is_empty());
        assert!(operators.actions(0, 1, 100).await.unwrap().is_empty());
    }
}
