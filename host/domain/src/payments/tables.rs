//! The payment service's tables. Money is fen, times UTC ms.

use cityhost_store::Table;

use super::ledger::Transfer;
use super::orders::Order;
use super::pin::PinRecord;
use super::refunds::Refund;

/// `order_id` → order.
pub(crate) const ORDERS: Table<String, Order> = Table::new("orders");
/// (`app_id`, `out_trade_no`) → `order_id`: creation is idempotent on it.
pub(crate) const ORDER_KEYS: Table<(String, String), String> = Table::new("order_keys");
/// (`citizen_id`, `created_at` ms, `order_id`) → nothing: the citizen's orders in time order.
pub(crate) const CITIZEN_ORDERS: Table<(String, u64, String), ()> = Table::new("citizen_orders");
/// ledger account key (`citizen:{id}`, `merchant:{uscc}`, `clearing`, `issuer`) → balance, fen
/// (for the accounts spread over slots, the part written before slots).
pub(crate) const LEDGER_BALANCES: Table<String, i64> = Table::new("ledger_balances");
/// (ledger account key, slot `0..BALANCE_SLOTS`) → part of the balance, fen: the balance of
/// an account many payments credit at once (a merchant, the clearing account, the issuer)
/// is its `ledger_balances` row plus these.
pub(crate) const LEDGER_BALANCE_SLOTS: Table<(String, u64), i64> =
    Table::new("ledger_balance_slots");
/// (time ms, transfer id) → ledger transfer: a key range is a time span.
pub(crate) const LEDGER_TRANSFERS: Table<(u64, String), Transfer> = Table::new("ledger_transfers");
/// `citizen_id` → payment PIN hash, wrong tries in a row and lock.
pub(crate) const PAYMENT_PINS: Table<String, PinRecord> = Table::new("payment_pins");
/// `refund_id` → refund.
pub(crate) const REFUNDS: Table<String, Refund> = Table::new("refunds");
/// (`app_id`, `out_request_no`) → `refund_id`: refunds are idempotent on it.
pub(crate) const REFUND_KEYS: Table<(String, String), String> = Table::new("refund_keys");
