//! The billing data: accounts and bills in one JSON file,
//! `{data dir}/billing.json`, created from the bundled seed on first start.
//!
//! Every change is serialised (one lock) and written atomically: the new
//! file is written beside the old one, synced, then renamed over it, so a
//! crash leaves either the old data or the new, never half a file.

use std::collections::BTreeMap;
use std::path::Path;

use cityhost_backend::data_file::DataFile;
use serde::{Deserialize, Serialize};

/// The seed: accounts 3301001 and 3301002 with paid and unpaid bills.
const SEED: &str = include_str!("../seed/billing.json");

/// The data file's name in the data directory.
pub const DATA_FILE: &str = "billing.json";

/// A utility account (户号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account number, 5-20 digits.
    pub account: String,
    /// The holder's full name (masked in answers).
    pub holder: String,
    /// The supply address.
    pub address: String,
}

/// What a bill is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// 水费.
    Water,
    /// 电费.
    Power,
    /// 燃气费.
    Gas,
}

/// Whether a bill is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not paid yet.
    Unpaid,
    /// Paid; the bill names the payment.
    Paid,
}

/// One bill of an account for one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// Unique id, ASCII (`3301001-water-202610`).
    pub id: String,
    /// The account it belongs to.
    pub account: String,
    /// Water, power or gas.
    pub kind: Kind,
    /// Billing month, `2026-10`.
    pub period: String,
    /// Amount due, fen.
    pub amount_fen: u64,
    /// Unpaid or paid.
    pub status: Status,
    /// The payment's order number at the payer (the mini-app), once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// When it was paid, UTC ms, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<u64>,
}

/// Everything the data file holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    /// Accounts by number.
    pub accounts: BTreeMap<String, Account>,
    /// Bills by id.
    pub bills: BTreeMap<String, Bill>,
}

/// A payment reported for a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The payer's order number: the idempotency key.
    pub out_trade_no: String,
    /// What was paid, fen; must equal the bill's amount.
    pub amount_fen: u64,
    /// When, UTC ms.
    pub paid_at: u64,
}

/// What recording a payment came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The bill is now paid by this payment.
    New(Bill),
    /// The same payment was recorded before: nothing changed.
    Again(Bill),
}

/// Why a payment was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// No bill has this id.
    #[error("no bill {0}")]
    NoBill(String),
    /// The bill is already paid by another order.
    #[error("bill {bill} is already paid by {paid_by}")]
    PaidByOther {
        /// The bill.
        bill: String,
        /// The order number that paid it.
        paid_by: String,
    },
    /// The amount is not the bill's.
    #[error("amount_fen {given} is not the bill's amount {due}")]
    AmountDiffers {
        /// What the payment says.
        given: u64,
        /// What the bill asks.
        due: u64,
    },
    /// The data file could not be written; nothing changed.
    #[error("saving the data: {0}")]
    Io(String),
}

/// The billing data, kept in memory and in its file.
pub struct Store {
    file: DataFile<Data>,
}

impl Store {
    /// Opens the data in `dir`, creating the directory and, on first start,
    /// the data file from the bundled seed. Errors: the directory cannot be
    /// made, or the file cannot be read or is not billing data (it is
    /// then left as it is).
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            file: DataFile::open(dir.join(DATA_FILE), SEED)?,
        })
    }

    /// The account, if it exists.
    pub fn account(&self, account: &str) -> Option<Account> {
        self.lock().accounts.get(account).cloned()
    }

    /// The account's bills, newest period first, if the account exists.
    pub fn bills(&self, account: &str) -> Option<Vec<Bill>> {
        let data = self.lock();
        data.accounts.get(account)?;
        let mut bills: Vec<Bill> = data
            .bills
            .values()
            .filter(|b| b.account == account)
            .cloned()
            .collect();
        bills.sort_by(|a, b| b.period.cmp(&a.period).then(a.kind.cmp(&b.kind)));
        Some(bills)
    }

    /// Records `payment` for bill `id`. Idempotent: the same order number
    /// again answers [`Recorded::Again`] and changes nothing.
    pub fn pay(&self, id: &str, payment: &Payment) -> Result<Recorded, PaymentError> {
        let mut data = self.lock();
        let bill = data
            .bills
            .get(id)
            .ok_or_else(|| PaymentError::NoBill(id.to_string()))?;
        match (&bill.status, &bill.out_trade_no) {
            (Status::Paid, Some(no)) if *no == payment.out_trade_no => {
                return Ok(Recorded::Again(bill.clone()));
            }
            (Status::Paid, paid_by) => {
                return Err(PaymentError::PaidByOther {
                    bill: id.to_string(),
                    paid_by: paid_by.clone().unwrap_or_default(),
                });
            }
            (Status::Unpaid, _) => {}
        }
        if bill.amount_fen != payment.amount_fen {
            return Err(PaymentError::AmountDiffers {
                given: payment.amount_fen,
                due: bill.amount_fen,
            });
        }
        let mut next = data.clone();
        let paid = next.bills.get_mut(id).expect("checked above");
        paid.status = Status::Paid;
        paid.out_trade_no = Some(payment.out_trade_no.clone());
        paid.paid_at = Some(payment.paid_at);
        let paid = paid.clone();
        self.file
            .commit(&mut data, next)
            .map_err(|e| PaymentError::Io(e.to_string()))?;
        Ok(Recorded::New(paid))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.file.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(no: &str, amount_fen: u64) -> Payment {
        Payment {
            out_trade_no: no.into(),
            amount_fen,
            paid_at: 1_790_000_000_000,
        }
    }

    #[test]
    fn the_seed_is_billing_data() {
        let data: Data = serde_json::from_str(SEED).unwrap();
        assert_eq!(data.accounts.len(), 2);
        assert!(
            data.bills
                .values()
                .all(|b| data.accounts.contains_key(&b.account))
        );
        assert!(data.bills.iter().all(|(id, b)| *id == b.id));
    }

    #[test]
    fn payments_are_idempotent_by_order_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = "3301001-gas-202610";
        let first = store.pay(id, &payment("ub-a", 3960)).unwrap();
        assert!(matches!(first, Recorded::New(ref b) if b.status == Status::Paid));
        assert!(matches!(
            store.pay(id, &payment("ub-a", 3960)),
            Ok(Recorded::Again(_))
        ));
        assert_eq!(
            store.pay(id, &payment("ub-b", 3960)),
            Err(PaymentError::PaidByOther {
                bill: id.into(),
                paid_by: "ub-a".into()
            })
        );
        assert_eq!(
            store.pay("3301001-water-202610", &payment("ub-c", 1)),
            Err(PaymentError::AmountDiffers {
                given: 1,
                due: 4210
            })
        );
        assert_eq!(
            store.pay("nope", &payment("ub-d", 1)),
            Err(PaymentError::NoBill("nope".into()))
        );
        // Reopened: the payment is there, no temporary file is left.
        let again = Store::open(dir.path()).unwrap();
        let bills = again.bills("3301001").unwrap();
        let gas = bills.iter().find(|b| b.id == id).unwrap();
        assert_eq!(gas.out_trade_no.as_deref(), Some("ub-a"));
        assert!(!dir.path().join("billing.json.tmp").exists());
    }

    #[test]
    fn a_damaged_data_file_is_an_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DATA_FILE), "{not json").unwrap();
        assert!(Store::open(dir.path()).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(DATA_FILE)).unwrap(),
            "{not json"
        );
    }
}
