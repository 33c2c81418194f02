//! The double-entry ledger.
//!
//! Accounts (each a signed balance in fen, `ledger_balances` tree):
//! - `citizen:{citizen_id}`: the citizen's funding account, a simulated
//!   bank card; positive = money the citizen can spend;
//! - `merchant:{department}`: what a department has received, net of
//!   refunds;
//! - `clearing`: the platform's clearing account, through which every
//!   payment and refund passes (it nets to zero per transfer);
//! - `issuer`: the simulated card issuer, the outside world from which
//!   top-ups come (its balance is minus everything ever topped up).
//!
//! Every movement is a [`Transfer`]: legs whose amounts sum to zero,
//! written with the balance changes in the caller's sled transaction
//! (`ledger_transfers` tree, keyed by time then transfer id). So the sum of
//! all balances is zero at every moment; [`Ledger::verify`] proves it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::TransactionalTree;

use super::{TxResult, abort, codec, tx_error};
use crate::error::{ServiceError, ServiceResult};
use crate::payments::PaymentError;
use crate::store::{Store, key, now_ms, trees};

/// A ledger account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Account {
    /// A citizen's funding account (simulated bank card), by internal id.
    Citizen(String),
    /// A department's merchant account, by department name.
    Merchant(String),
    /// The platform's clearing account.
    Clearing,
    /// The simulated card issuer (source of top-ups).
    Issuer,
}

impl Account {
    /// The account's key: `citizen:{id}`, `merchant:{department}`,
    /// `clearing` or `issuer`.
    pub fn key(&self) -> String {
        match self {
            Account::Citizen(id) => format!("citizen:{id}"),
            Account::Merchant(d) => format!("merchant:{d}"),
            Account::Clearing => "clearing".into(),
            Account::Issuer => "issuer".into(),
        }
    }

    /// Parses [`Account::key`].
    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "clearing" => Some(Account::Clearing),
            "issuer" => Some(Account::Issuer),
            _ => {
                if let Some(id) = key.strip_prefix("citizen:") {
                    Some(Account::Citizen(id.into()))
                } else {
                    key.strip_prefix("merchant:")
                        .map(|d| Account::Merchant(d.into()))
                }
            }
        }
    }
}

impl From<Account> for String {
    fn from(a: Account) -> Self {
        a.key()
    }
}

impl TryFrom<String> for Account {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Account::parse(&s).ok_or_else(|| format!("unknown ledger account `{s}`"))
    }
}

/// What a transfer records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Issuer → citizen: money onto the simulated card.
    TopUp,
    /// Citizen → clearing → merchant: an order paid.
    Payment,
    /// Merchant → clearing → citizen: (part of) an order refunded.
    Refund,
}

/// One leg: an account and its change, fen (negative = out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    /// The account.
    pub account: Account,
    /// Change of its balance, fen.
    pub amount_fen: i64,
}

/// A balanced set of ledger entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Transfer id: the order id for a payment, the refund id for a
    /// refund, `top_` + 32 hex for a top-up.
    pub id: String,
    /// What it records.
    pub kind: TransferKind,
    /// When, UTC ms.
    pub at: u64,
    /// The order concerned (payments and refunds).
    pub order_id: Option<String>,
    /// The app's order number (payments and refunds).
    pub out_trade_no: Option<String>,
    /// The legs; their amounts sum to zero.
    pub legs: Vec<Leg>,
}

impl Transfer {
    /// Money from `from` to `to` through the clearing account: four legs.
    pub(crate) fn through_clearing(
        id: String,
        kind: TransferKind,
        at: u64,
        order: Option<(&str, &str)>,
        from: Account,
        to: Account,
        amount_fen: u64,
    ) -> Self {
        let a = amount_fen as i64;
        Transfer {
            id,
            kind,
            at,
            order_id: order.map(|o| o.0.to_string()),
            out_trade_no: order.map(|o| o.1.to_string()),
            legs: vec![
                Leg {
                    account: from,
                    amount_fen: -a,
                },
                Leg {
                    account: Account::Clearing,
                    amount_fen: a,
                },
                Leg {
                    account: Account::Clearing,
                    amount_fen: -a,
                },
                Leg {
                    account: to,
                    amount_fen: a,
                },
            ],
        }
    }

    /// Key in `ledger_transfers`: time then id, so a range is a time span.
    fn tree_key(&self) -> Vec<u8> {
        key(&[&self.at.to_be_bytes(), self.id.as_bytes()])
    }
}

/// The result of [`Ledger::verify`].
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Sum of all balances, fen (must be 0).
    pub balance_sum_fen: i64,
    /// Accounts with a balance.
    pub accounts: usize,
    /// Transfers read.
    pub transfers: usize,
    /// Every problem found; empty when the ledger is sound.
    pub problems: Vec<String>,
}

impl Verification {
    /// Whether the ledger is sound: balances sum to zero, every transfer is
    /// balanced, balances equal the replay of all transfers and no order was
    /// paid twice.
    pub fn is_balanced(&self) -> bool {
        self.balance_sum_fen == 0 && self.problems.is_empty()
    }
}

/// The ledger's trees.
#[derive(Clone)]
pub struct Ledger {
    pub(crate) balances: sled::Tree,
    pub(crate) transfers: sled::Tree,
}

impl Ledger {
    /// Opens the ledger trees.
    pub fn open(store: &Store) -> ServiceResult<Self> {
        Ok(Self {
            balances: store.tree(trees::LEDGER_BALANCES)?,
            transfers: store.tree(trees::LEDGER_TRANSFERS)?,
        })
    }

    /// The account's balance, fen (0 for an account never used).
    pub fn balance(&self, account: &Account) -> ServiceResult<i64> {
        Ok(self
            .balances
            .get(account.key())?
            .map(|v| decode_balance(&v))
            .unwrap_or(0))
    }

    /// Puts `amount_fen` onto the citizen's simulated card (issuer →
    /// citizen), atomically. Not yet durable: call
    /// [`Payments::make_durable`](super::Payments::make_durable) before
    /// reporting success. Errors: `invalid-argument("amount_fen")` unless
    /// 1 ≤ amount ≤ 100,000,000 fen (¥1,000,000).
    pub fn top_up(&self, citizen_id: &str, amount_fen: u64) -> ServiceResult<Transfer> {
        if amount_fen == 0 || amount_fen > MAX_TOP_UP_FEN {
            return Err(ServiceError::invalid(
                "amount_fen",
                format!("use 1 to {MAX_TOP_UP_FEN} fen"),
            ));
        }
        let a = amount_fen as i64;
        let transfer = Transfer {
            id: format!("top_{}", uuid::Uuid::new_v4().simple()),
            kind: TransferKind::TopUp,
            at: now_ms(),
            order_id: None,
            out_trade_no: None,
            legs: vec![
                Leg {
                    account: Account::Issuer,
                    amount_fen: -a,
                },
                Leg {
                    account: Account::Citizen(citizen_id.into()),
                    amount_fen: a,
                },
            ],
        };
        (&self.balances, &self.transfers)
            .transaction(|(balances, transfers)| post(balances, transfers, &transfer))
            .map_err(tx_error)?;
        Ok(transfer)
    }

    /// Transfers in `[from_ms, to_ms)`, in time order.
    pub fn transfers_between(&self, from_ms: u64, to_ms: u64) -> ServiceResult<Vec<Transfer>> {
        let mut out = Vec::new();
        for item in self
            .transfers
            .range(from_ms.to_be_bytes().to_vec()..to_ms.to_be_bytes().to_vec())
        {
            let (_, value) = item?;
            out.push(serde_json::from_slice(&value).map_err(crate::store::StoreError::from)?);
        }
        Ok(out)
    }

    /// Checks the whole ledger (see [`Verification::is_balanced`]). Reads
    /// every transfer and balance; meant for the operator (`cityhost
    /// ledger verify`, with the host stopped or idle), not for the request
    /// path: payments committed while it reads may show as differences.
    pub fn verify(&self) -> ServiceResult<Verification> {
        let mut problems = Vec::new();
        let mut replay: BTreeMap<String, i64> = BTreeMap::new();
        let mut payments: BTreeMap<String, usize> = BTreeMap::new();
        let mut transfers = 0;
        let list: Vec<_> = self.transfers.iter().collect();
        let balances: Vec<_> = self.balances.iter().collect();
        for item in list {
            let (_, value) = item?;
            let t: Transfer =
                serde_json::from_slice(&value).map_err(crate::store::StoreError::from)?;
            transfers += 1;
            let sum: i64 = t.legs.iter().map(|l| l.amount_fen).sum();
            if sum != 0 {
                problems.push(format!("transfer {} is unbalanced by {sum} fen", t.id));
            }
            for leg in &t.legs {
                *replay.entry(leg.account.key()).or_default() += leg.amount_fen;
            }
            if t.kind == TransferKind::Payment
                && let Some(order) = &t.order_id
            {
                *payments.entry(order.clone()).or_default() += 1;
            }
        }
        for (order, n) in payments {
            if n > 1 {
                problems.push(format!("order {order} was paid {n} times"));
            }
        }
        let mut sum = 0i64;
        let mut accounts = 0;
        for item in balances {
            let (k, v) = item?;
            let k = String::from_utf8_lossy(&k).into_owned();
            let balance = decode_balance(&v);
            sum += balance;
            accounts += 1;
            let replayed = replay.remove(&k).unwrap_or(0);
            if replayed != balance {
                problems.push(format!(
                    "account {k}: balance {balance} fen, transfers add up to {replayed} fen"
                ));
            }
        }
        for (k, replayed) in replay {
            if replayed != 0 {
                problems.push(format!(
                    "account {k}: no balance, transfers add up to {replayed} fen"
                ));
            }
        }
        Ok(Verification {
            balance_sum_fen: sum,
            accounts,
            transfers,
            problems,
        })
    }
}

/// Largest single top-up: ¥1,000,000, in fen.
pub const MAX_TOP_UP_FEN: u64 = 100_000_000;

fn decode_balance(v: &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    if v.len() == 8 {
        bytes.copy_from_slice(v);
    }
    i64::from_be_bytes(bytes)
}

/// Balance of `account` inside a transaction.
pub(crate) fn balance_in(balances: &TransactionalTree, account: &Account) -> TxResult<i64> {
    Ok(balances
        .get(account.key())?
        .map(|v| decode_balance(&v))
        .unwrap_or(0))
}

/// Writes `transfer` and its balance changes inside the caller's
/// transaction. A citizen's funding account never goes below zero: that is
/// [`PaymentError::InsufficientFunds`], and the transaction aborts with
/// nothing written.
pub(crate) fn post(
    balances: &TransactionalTree,
    transfers: &TransactionalTree,
    transfer: &Transfer,
) -> TxResult<()> {
    debug_assert_eq!(transfer.legs.iter().map(|l| l.amount_fen).sum::<i64>(), 0);
    let mut changes: BTreeMap<&Account, i64> = BTreeMap::new();
    for leg in &transfer.legs {
        *changes.entry(&leg.account).or_default() += leg.amount_fen;
    }
    for (account, change) in changes {
        let old = balance_in(balances, account)?;
        let new = old + change;
        if matches!(account, Account::Citizen(_)) && new < 0 {
            return abort(PaymentError::InsufficientFunds {
                balance_fen: old,
                amount_fen: change.unsigned_abs(),
            });
        }
        balances.insert(account.key().as_bytes(), &new.to_be_bytes())?;
    }
    let encoded = serde_json::to_vec(transfer).map_err(codec)?;
    transfers.insert(transfer.tree_key(), encoded)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_ups_balance_against_the_issuer() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&Store::open(dir.path()).unwrap()).unwrap();
        ledger.top_up("c1", 5000).unwrap();
        ledger.top_up("c1", 100).unwrap();
        assert_eq!(
            ledger.balance(&Account::Citizen("c1".into())).unwrap(),
            5100
        );
        assert_eq!(ledger.balance(&Account::Issuer).unwrap(), -5100);
        assert!(matches!(
            ledger.top_up("c1", 0),
            Err(ServiceError::InvalidArgument {
                field: "amount_fen",
                ..
            })
        ));
        let v = ledger.verify().unwrap();
        assert!(v.is_balanced(), "{v:?}");
        assert_eq!(v.transfers, 2);
        // A balance changed behind the ledger's back is caught.
        ledger
            .balances
            .insert("citizen:c1", &5000i64.to_be_bytes())
            .unwrap();
        let v = ledger.verify().unwrap();
        assert!(!v.is_balanced());
        assert_eq!(v.balance_sum_fen, -100);
    }

    #[test]
    fn accounts_round_trip() {
        for a in [
            Account::Citizen("x".into()),
            Account::Merchant("杭州市水务集团有限公司".into()),
            Account::Clearing,
            Account::Issuer,
        ] {
            assert_eq!(Account::parse(&a.key()), Some(a));
        }
        assert_eq!(Account::parse("nobody"), None);
    }
}
