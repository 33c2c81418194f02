//! Platform operators: a role in the host. Each operator has a name and a
//! bearer token (32 random bytes, hex) of which only the SHA-256 is stored
//! (tree `operators`: name → [`Operator`]). The first operator, `operator`,
//! is created at the host's first start with the token written to
//! `data_dir/operator-token`; more are added with `cityhost operator add`.
//!
//! Every operator action (creating departments, issuing and revoking
//! tokens, reviewing, releasing, rolling back) is appended to the operator
//! log (tree `operator_actions`: time (u64 BE, UTC ns) seq (u64 BE) →
//! [`OperatorAction`]), listed at `GET /api/operator/actions`.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ServiceError, ServiceResult};
use crate::store::{self, Store, now_ms, trees};

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

/// Operator accounts and their action log.
#[derive(Clone)]
pub struct Operators {
    store: Store,
    tree: sled::Tree,
    log: sled::Tree,
}

impl Operators {
    /// Opens the trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            store: store.clone(),
            tree: store.tree(trees::OPERATORS)?,
            log: store.tree(trees::OPERATOR_ACTIONS)?,
        })
    }

    /// Whether any operator exists.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// Creates operator `name` with a fresh token; returns the token (shown
    /// once). Errors: malformed name (`name`), name taken (conflict).
    pub fn add(&self, name: &str) -> ServiceResult<String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        self.add_with_token(name, &token)?;
        Ok(token)
    }

    /// Creates operator `name` with the given token (at least 32
    /// characters).
    pub fn add_with_token(&self, name: &str, token: &str) -> ServiceResult<()> {
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
        let inserted = self.tree.compare_and_swap(
            name,
            None as Option<&[u8]>,
            Some(serde_json::to_vec(&operator).map_err(store::StoreError::from)?),
        )?;
        if inserted.is_err() {
            return Err(ServiceError::Conflict {
                field: "name",
                reason: format!("operator `{name}` exists"),
            });
        }
        self.record("cli", "operator.add", name, "")?;
        Ok(())
    }

    /// The operator holding `token`. Digests are compared, so the time taken
    /// says nothing about the token.
    pub fn check(&self, token: &str) -> ServiceResult<Operator> {
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        for value in self.tree.iter().values() {
            let operator: Operator =
                serde_json::from_slice(&value?).map_err(store::StoreError::from)?;
            if operator.token_sha256 == digest {
                return Ok(operator);
            }
        }
        Err(ServiceError::Unauthenticated("operator token required"))
    }

    /// Appends an action to the operator log.
    pub fn record(
        &self,
        operator: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> ServiceResult<()> {
        let entry = OperatorAction {
            time: now_ms(),
            operator: operator.to_string(),
            action: action.to_string(),
            target: target.to_string(),
            detail: detail.to_string(),
        };
        let mut key = (entry.time * 1_000_000).to_be_bytes().to_vec();
        key.extend_from_slice(&self.store.next_id()?.to_be_bytes());
        store::put_json(&self.log, key, &entry)?;
        Ok(())
    }

    /// Logged actions with `from_ms <= time < to_ms`, oldest first, at most
    /// `limit`.
    pub fn actions(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> ServiceResult<Vec<OperatorAction>> {
        let start = from_ms.saturating_mul(1_000_000).to_be_bytes();
        let end = to_ms.saturating_mul(1_000_000).to_be_bytes();
        self.log
            .range(start..end)
            .values()
            .take(limit)
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(store::StoreError::from)?))
            .collect()
    }
}
