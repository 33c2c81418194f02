//! The double-entry ledger.
//!
//! Accounts (each a signed balance in fen, `ledger_balances` table):
//! - `citizen:{citizen_id}`: the citizen's funding account, a simulated
//!   bank card; positive = money the citizen can spend;
//! - `merchant:{uscc}`: what a department has received, net of refunds,
//!   keyed by its Unified Social Credit Code (GB 32100-2015) so a rename
//!   keeps the account;
//! - `clearing`: the platform's clearing account, through which every
//!   payment and refund passes (it nets to zero per transfer);
//! - `issuer`: the simulated card issuer, the outside world from which
//!   top-ups come (its balance is minus everything ever topped up).
//!
//! Every movement is a [`Transfer`]: legs whose amounts sum to zero,
//! written with the balance changes in the caller's transaction
//! (`ledger_transfers` table, keyed by time then transfer id). So the sum
//! of all balances is zero at every moment; [`Ledger::verify`] proves it.
//!
//! A citizen's balance is one record, read and checked by every payment
//! from it. Every payment to a department credits its merchant account
//! (and every top-up debits the issuer), so those balances are spread over
//! [`BALANCE_SLOTS`] records (`ledger_balance_slots`) and each change goes
//! to one slot picked at random: concurrent payments to one department —
//! on one host or several sharing PostgreSQL — rarely write the same
//! record, so they do not serialise on it. Their balance is the sum of the
//! slots (and of the `ledger_balances` record written before slots).

use std::collections::BTreeMap;

use cityhost_store::{Db, Scan, Tx, now_ms};
use serde::{Deserialize, Serialize};

use super::tables::{LEDGER_BALANCE_SLOTS, LEDGER_BALANCES, LEDGER_TRANSFERS};
use crate::error::{ServiceError, ServiceResult};
use crate::payments::PaymentError;

/// A ledger account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Account {
    /// A citizen's funding account (simulated bank card), by internal id.
    Citizen(String),
    /// A department's merchant account, by its Unified Social Credit Code.
    Merchant(String),
    /// The platform's clearing account.
    Clearing,
    /// The simulated card issuer (source of top-ups).
    Issuer,
}

impl Account {
    /// The account's key: `citizen:{id}`, `merchant:{uscc}`,
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

impl Account {
    /// Whether the balance is spread over slots (see the module docs):
    /// every account but a citizen's, whose balance is checked at each
    /// payment.
    fn spread(&self) -> bool {
        !matches!(self, Account::Citizen(_))
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

/// The ledger: balances and transfers. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    db: Db,
}

impl Ledger {
    /// The ledger over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The account's balance, fen (0 for an account never used).
    pub async fn balance(&self, account: &Account) -> ServiceResult<i64> {
        let key = account.key();
        let mut balance = self.db.get(&LEDGER_BALANCES, &key).await?.unwrap_or(0);
        if account.spread() {
            let slots = self
                .db
                .scan(&LEDGER_BALANCE_SLOTS, Scan::prefix((key.as_str(),)))
                .await?;
            balance += slots.into_iter().map(|(_, part)| part).sum::<i64>();
        }
        Ok(balance)
    }

    /// The keys of merchant accounts not named by a valid Unified Social
    /// Credit Code: accounts a host before USCC keys wrote by department
    /// name (`merchant:杭州市水务集团有限公司`). Empty on a data directory
    /// this host wrote.
    pub async fn merchants_keyed_by_name(&self) -> ServiceResult<Vec<String>> {
        // Keys sort as their bytes, so `merchant:…` lies in [`merchant:`, `merchant;`).
        let merchants = self
            .db
            .scan(&LEDGER_BALANCES, Scan::range("merchant:", "merchant;"))
            .await?;
        Ok(merchants
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| {
                key.strip_prefix("merchant:")
                    .is_some_and(|code| crate::uscc::Uscc::parse(code).is_err())
            })
            .collect())
    }

    /// Puts `amount_fen` onto the citizen's simulated card (issuer →
    /// citizen), atomically and durably. Errors:
    /// `invalid-argument("amount_fen")` unless 1 ≤ amount ≤ 100,000,000 fen
    /// (¥1,000,000).
    pub async fn top_up(&self, citizen_id: &str, amount_fen: u64) -> ServiceResult<Transfer> {
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
        let t = &transfer;
        self.db
            .transact(|tx| async move { post(&tx, t).await })
            .await?;
        self.db.sync().await?;
        Ok(transfer)
    }

    /// Transfers in `[from_ms, to_ms)`, in time order.
    pub async fn transfers_between(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> ServiceResult<Vec<Transfer>> {
        let span = Scan::range((from_ms, ""), (to_ms, ""));
        let rows = self.db.scan(&LEDGER_TRANSFERS, span).await?;
        Ok(rows.into_iter().map(|(_, t)| t).collect())
    }

    /// Checks the whole ledger (see [`Verification::is_balanced`]). Reads
    /// every transfer and balance; meant for the operator (`cityhost
    /// ledger verify`, with the host stopped or idle), not for the request
    /// path: payments committed while it reads may show as differences.
    pub async fn verify(&self) -> ServiceResult<Verification> {
        let mut problems = Vec::new();
        let mut replay: BTreeMap<String, i64> = BTreeMap::new();
        let mut payments: BTreeMap<String, usize> = BTreeMap::new();
        let list = self.db.scan(&LEDGER_TRANSFERS, Scan::all()).await?;
        let mut balances: BTreeMap<String, i64> = self
            .db
            .scan(&LEDGER_BALANCES, Scan::all())
            .await?
            .into_iter()
            .collect();
        for ((key, _slot), part) in self.db.scan(&LEDGER_BALANCE_SLOTS, Scan::all()).await? {
            *balances.entry(key).or_default() += part;
        }
        let transfers = list.len();
        for (_, t) in list {
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
        let accounts = balances.len();
        for (k, balance) in balances {
            sum += balance;
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

/// How many records the balance of a merchant, the clearing account or the
/// issuer is spread over (see the module docs). With `n` payments to one
/// department in flight, one of them shares its slot with another with a
/// chance of about `(n - 1) / 64`; the loser is retried.
pub const BALANCE_SLOTS: u64 = 64;

/// Writes `transfer` and its balance changes inside the caller's
/// transaction (an account whose legs net to zero, as the clearing account
/// in a payment, is not written). A citizen's funding account never goes
/// below zero: that is [`PaymentError::InsufficientFunds`], and the
/// transaction aborts with nothing written.
pub(crate) async fn post(tx: &Tx, transfer: &Transfer) -> ServiceResult<()> {
    debug_assert_eq!(transfer.legs.iter().map(|l| l.amount_fen).sum::<i64>(), 0);
    let mut changes: BTreeMap<&Account, i64> = BTreeMap::new();
    for leg in &transfer.legs {
        *changes.entry(&leg.account).or_default() += leg.amount_fen;
    }
    for (account, change) in changes {
        if change == 0 {
            continue;
        }
        let key = account.key();
        if account.spread() {
            let slot = (key, rand::random::<u64>() % BALANCE_SLOTS);
            let old = tx.get(&LEDGER_BALANCE_SLOTS, &slot).await?.unwrap_or(0);
            tx.put(&LEDGER_BALANCE_SLOTS, &slot, &(old + change))
                .await?;
            continue;
        }
        let old = tx.get(&LEDGER_BALANCES, &key).await?.unwrap_or(0);
        let new = old + change;
        if new < 0 {
            return Err(PaymentError::InsufficientFunds {
                balance_fen: old,
                amount_fen: change.unsigned_abs(),
            }
            .into());
        }
        tx.put(&LEDGER_BALANCES, &key, &new).await?;
    }
    let key = (transfer.at, transfer.id.as_str());
    tx.put(&LEDGER_TRANSFERS, key, transfer).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn top_ups_balance_against_the_issuer() {
        let (_dir, db) = crate::testing::temp_db();
        let ledger = Ledger::new(db.clone());
        ledger.top_up("c1", 5000).await.unwrap();
        ledger.top_up("c1", 100).await.unwrap();
        assert_eq!(
            ledger
                .balance(&Account::Citizen("c1".into()))
                .await
                .unwrap(),
            5100
        );
        assert_eq!(ledger.balance(&Account::Issuer).await.unwrap(), -5100);
        assert!(matches!(
            ledger.top_up("c1", 0).await,
            Err(ServiceError::InvalidArgument {
                field: "amount_fen",
                ..
            })
        ));
        let v = ledger.verify().await.unwrap();
        assert!(v.is_balanced(), "{v:?}");
        assert_eq!(v.transfers, 2);
        // A balance changed behind the ledger's back is caught.
        db.put(&LEDGER_BALANCES, "citizen:c1", &5000i64)
            .await
            .unwrap();
        let v = ledger.verify().await.unwrap();
        assert!(!v.is_balanced());
        assert_eq!(v.balance_sum_fen, -100);
    }

    /// A merchant's balance is spread over slots, and a balance a host
    /// wrote before slots (one `ledger_balances` record) still counts.
    #[tokio::test]
    async fn a_merchant_balance_is_its_record_from_before_slots_plus_its_slots() {
        const M: &str = "91330100MA2CFQ1X5B";
        let (_dir, db) = crate::testing::temp_db();
        let ledger = Ledger::new(db.clone());
        ledger.top_up("c1", 1000).await.unwrap();
        // A payment as a host before slots wrote it: each balance one record.
        let old = Transfer::through_clearing(
            "ord_old".into(),
            TransferKind::Payment,
            now_ms(),
            Some(("ord_old", "t-1")),
            Account::Citizen("c1".into()),
            Account::Merchant(M.into()),
            300,
        );
        db.put(&LEDGER_TRANSFERS, (old.at, old.id.as_str()), &old)
            .await
            .unwrap();
        for (key, balance) in [
            ("citizen:c1", 700i64),
            (&format!("merchant:{M}"), 300),
            ("clearing", 0),
        ] {
            db.put(&LEDGER_BALANCES, key, &balance).await.unwrap();
        }
        for i in 0..100 {
            let t = Transfer::through_clearing(
                format!("ord_{i}"),
                TransferKind::Payment,
                now_ms(),
                Some((&format!("ord_{i}"), &format!("t{i}"))),
                Account::Citizen("c1".into()),
                Account::Merchant(M.into()),
                1,
            );
            db.transact(|tx| {
                let t = t.clone();
                async move { post(&tx, &t).await }
            })
            .await
            .unwrap();
        }
        let merchant = Account::Merchant(M.into());
        assert_eq!(ledger.balance(&merchant).await.unwrap(), 400);
        assert_eq!(
            ledger
                .balance(&Account::Citizen("c1".into()))
                .await
                .unwrap(),
            600
        );
        assert_eq!(ledger.balance(&Account::Clearing).await.unwrap(), 0);
        let slots = db
            .scan(
                &LEDGER_BALANCE_SLOTS,
                Scan::prefix((merchant.key().as_str(),)),
            )
            .await
            .unwrap();
        assert!(
            slots.len() > 10,
            "100 credits went to {} slots",
            slots.len()
        );
        assert!(slots.iter().all(|((_, slot), _)| *slot < BALANCE_SLOTS));
        let v = ledger.verify().await.unwrap();
        assert!(v.is_balanced(), "{v:?}");
        assert_eq!(v.transfers, 102);
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
