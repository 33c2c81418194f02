//! Accounts and bills as the water company's billing service gives them
//! ([`crate::billing`]), and the app's own order state kept in its storage.
//!
//! Keys: `order:{bill_id}` → [`BillOrder`] (which order number is current
//! for a bill); `trade:{out_trade_no}` → [`TradeRef`] (which bill an order
//! pays and whether its receipt was sent, for the `payment.succeeded`
//! event). The bills themselves, paid or not, are the billing service's.

use cityhost_sdk::money::format_fen;
use cityhost_sdk::payment::{Order, OrderState};
use cityhost_sdk::{Error, Result, storage};
use serde::{Deserialize, Serialize};

/// A utility account (户号), as the billing service answers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    /// The account number, digits.
    pub(crate) account: String,
    /// The holder's name, masked by the billing service (`张*`).
    pub(crate) holder: String,
    /// The supply address (masked here before it is shown, [`mask_address`]).
    pub(crate) address: String,
}

/// What a bill is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Water,
    Power,
    Gas,
}

impl Kind {
    /// The name on the citizen's screen.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Water => "水费",
            Kind::Power => "电费",
            Kind::Gas => "燃气费",
        }
    }
}

/// Whether a bill is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Unpaid,
    Paid,
}

/// One bill of an account for one period, as the billing service answers
/// it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Bill {
    /// Unique id, ASCII (`3301001-water-202610`).
    #[serde(rename = "id")]
    pub(crate) bill_id: String,
    /// The account it belongs to.
    pub(crate) account: String,
    /// Water, power or gas.
    pub(crate) kind: Kind,
    /// Billing month, `2026-10`.
    pub(crate) period: String,
    /// Amount due, fen.
    pub(crate) amount_fen: u64,
    /// Unpaid or paid.
    pub(crate) status: Status,
    /// The order that paid it, once paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) out_trade_no: Option<String>,
    /// When it was paid, UTC ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) paid_at: Option<u64>,
}

impl Bill {
    /// `2026-10 水费`.
    pub(crate) fn title(&self) -> String {
        format!("{} {}", self.period, self.kind.label())
    }

    /// What the payment sheet shows.
    pub(crate) fn subject(&self) -> String {
        format!("{}（户号 {}）", self.title(), self.account)
    }

    /// `¥42.10`.
    pub(crate) fn amount(&self) -> String {
        format_fen(self.amount_fen)
    }

    /// Shows the bill paid by `order` (what the billing service now
    /// records, without asking it again).
    pub(crate) fn mark_paid(&mut self, order: &Order) {
        self.status = Status::Paid;
        self.out_trade_no = Some(order.out_trade_no.clone());
        self.paid_at = order.paid_at.or(Some(order.created_at));
    }
}

/// The app's own state of a bill's payment: which order number is
/// current. Key `order:{bill_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BillOrder {
    /// The current order's number, once payment started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) out_trade_no: Option<String>,
    /// How many earlier orders were cancelled, expired or left unpaid by
    /// others (numbers the next).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) retries: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl BillOrder {
    /// The order number for the current attempt at `bill_id`:
    /// `ub-{bill_id}`, then `ub-{bill_id}-r1`, ... after cancelled or
    /// expired orders and orders of other citizens left unpaid. The same
    /// citizen paying twice gets the same order back.
    pub(crate) fn trade_no(&self, bill_id: &str) -> String {
        match self.retries {
            0 => format!("ub-{bill_id}"),
            n => format!("ub-{bill_id}-r{n}"),
        }
    }
}

/// The order state of `bill_id` (the default before any payment).
pub(crate) fn bill_order(bill_id: &str) -> Result<BillOrder> {
    Ok(storage::get_json(&format!("order:{bill_id}"))?.unwrap_or_default())
}

/// Saves the order state of `bill_id`.
pub(crate) fn save_bill_order(bill_id: &str, state: &BillOrder) -> Result<()> {
    storage::set_json(&format!("order:{bill_id}"), state)
}

/// What one attempt to create a bill's order came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// `create_order` returned this order to the current request and it can
    /// be paid: the only case that may show a pay button.
    Payable(Order),
    /// The order under the number is paid.
    Paid(Order),
    /// The number belongs to someone else's order that can still be paid:
    /// no pay button until it is paid or expires.
    PendingElsewhere,
    /// The order under the number is cancelled or expired: number a new one.
    Reissue,
}

/// Decides what an attempt came to from `created`, the result of
/// `create_order`. Only after a `conflict` (the number was used by another
/// citizen or with other fields) does it call `query` for the order under
/// the number, and then only to learn its state: an order found that way
/// is never handed out, since it may be another citizen's.
pub(crate) fn attempt_outcome(
    created: Result<Order>,
    query: impl FnOnce() -> Result<Option<Order>>,
) -> Result<Attempt> {
    match created {
        Ok(order) => Ok(match order.state {
            OrderState::Created => Attempt::Payable(order),
            OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded => {
                Attempt::Paid(order)
            }
            OrderState::Cancelled | OrderState::Expired => Attempt::Reissue,
        }),
        Err(Error::Conflict(key)) => match query()? {
            Some(order) => Ok(match order.state {
                OrderState::Created => Attempt::PendingElsewhere,
                OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded => {
                    Attempt::Paid(order)
                }
                OrderState::Cancelled | OrderState::Expired => Attempt::Reissue,
            }),
            // A conflict without an order: nothing to learn, report it.
            None => Err(Error::Conflict(key)),
        },
        Err(e) => Err(e),
    }
}

/// Which bill an order pays, and whether its receipt was sent. Key
/// `trade:{out_trade_no}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TradeRef {
    pub(crate) account: String,
    pub(crate) bill_id: String,
    /// The bill's title (`2026-10 水费`), for the receipt and a refund.
    #[serde(default)]
    pub(crate) title: String,
    /// Whether the citizen got the receipt message for this order.
    #[serde(default)]
    pub(crate) receipt_sent: bool,
}

/// Remembers that order `out_trade_no` pays `bill`.
pub(crate) fn save_trade(out_trade_no: &str, bill: &Bill) -> Result<()> {
    let trade = TradeRef {
        account: bill.account.clone(),
        bill_id: bill.bill_id.clone(),
        title: bill.title(),
        receipt_sent: false,
    };
    storage::set_json(&format!("trade:{out_trade_no}"), &trade)
}

/// Which bill order `out_trade_no` pays, if it is one of ours.
pub(crate) fn trade(out_trade_no: &str) -> Result<Option<TradeRef>> {
    storage::get_json(&format!("trade:{out_trade_no}"))
}

/// Records that the receipt of order `out_trade_no` was sent.
pub(crate) fn set_receipt_sent(out_trade_no: &str, trade: &TradeRef) -> Result<()> {
    let sent = TradeRef {
        receipt_sent: true,
        ..trade.clone()
    };
    storage::set_json(&format!("trade:{out_trade_no}"), &sent)
}

/// Whether `id` may be a bill id: 1-64 of `a-z 0-9 -` (it goes into the
/// billing service's URLs).
pub(crate) fn is_bill_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An account number as typed, normalised: surrounding spaces removed and
/// full-width characters (`！` to `～`, so `３３０１００１`) made ASCII.
pub(crate) fn normalise_account(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Whether `account` looks like an account number: 5-20 digits.
pub(crate) fn is_account_number(account: &str) -> bool {
    (5..=20).contains(&account.len()) && account.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bill() -> Bill {
        serde_json::from_str(
            r#"{"id":"3301001-gas-202610","account":"3301001","kind":"gas",
                "period":"2026-10","amount_fen":3960,"status":"unpaid"}"#,
        )
        .unwrap()
    }

    #[test]
    fn trade_numbers_are_stable_per_attempt() {
        let b = bill();
        let mut state = BillOrder::default();
        assert_eq!(state.trade_no(&b.bill_id), "ub-3301001-gas-202610");
        assert_eq!(state.trade_no(&b.bill_id), "ub-3301001-gas-202610");
        state.retries = 2;
        assert_eq!(state.trade_no(&b.bill_id), "ub-3301001-gas-202610-r2");
    }

    #[test]
    fn bill_ids_are_checked_before_they_go_into_a_url() {
        assert!(is_bill_id("3301001-gas-202610"));
        assert!(!is_bill_id(""));
        assert!(!is_bill_id("../accounts"));
        assert!(!is_bill_id("a?b"));
        assert!(!is_bill_id(&"a".repeat(65)));
    }

    fn order(state: OrderState) -> Order {
        Order {
            order_id: "ord_1".into(),
            out_trade_no: "ub-3301001-gas-202610".into(),
            amount_fen: 3960,
            refunded_fen: 0,
            subject: "2026-10 燃气费（户号 3301001）".into(),
            state,
            created_at: 1,
            paid_at: (state == OrderState::Paid).then_some(2),
            expires_at: 900_001,
            pay_url: "/#/pay/ord_1".into(),
        }
    }

    fn no_query() -> Result<Option<Order>> {
        panic!("the order must not be looked up when create_order answered")
    }

    #[test]
    fn only_the_order_created_for_this_request_is_payable() {
        let created = order(OrderState::Created);
        assert_eq!(
            attempt_outcome(Ok(created.clone()), no_query).unwrap(),
            Attempt::Payable(created)
        );
        // Someone else's pending order under the number: no order handed out.
        let conflict = || Err(Error::Conflict("out-trade-no".into()));
        assert_eq!(
            attempt_outcome(conflict(), || Ok(Some(order(OrderState::Created)))).unwrap(),
            Attempt::PendingElsewhere
        );
    }

    #[test]
    fn dead_orders_are_reissued_and_paid_ones_settle() {
        let conflict = || Err(Error::Conflict("out-trade-no".into()));
        for state in [OrderState::Expired, OrderState::Cancelled] {
            assert_eq!(
                attempt_outcome(Ok(order(state)), no_query).unwrap(),
                Attempt::Reissue
            );
            assert_eq!(
                attempt_outcome(conflict(), || Ok(Some(order(state)))).unwrap(),
                Attempt::Reissue
            );
        }
        let paid = order(OrderState::Paid);
        assert_eq!(
            attempt_outcome(Ok(paid.clone()), no_query).unwrap(),
            Attempt::Paid(paid.clone())
        );
        assert_eq!(
            attempt_outcome(conflict(), || Ok(Some(paid.clone()))).unwrap(),
            Attempt::Paid(paid)
        );
    }

    #[test]
    fn other_errors_pass_through() {
        assert_eq!(
            attempt_outcome(Err(Error::Conflict("out-trade-no".into())), || Ok(None)),
            Err(Error::Conflict("out-trade-no".into()))
        );
        assert_eq!(
            attempt_outcome(Err(Error::NotPermitted("no citizen".into())), no_query),
            Err(Error::NotPermitted("no citizen".into()))
        );
    }

    #[test]
    fn full_width_account_numbers_are_normalised() {
        assert_eq!(normalise_account(" ３３０１００１ "), "3301001");
        assert_eq!(normalise_account("\u{3000}3301002\u{3000}"), "3301002");
        assert!(is_account_number(&normalise_account("３３０１００２")));
        assert!(!is_account_number(&normalise_account("３３０１ａ０２")));
    }

    #[test]
    fn texts() {
        let b = bill();
        assert_eq!(b.amount(), "¥39.60");
        assert_eq!(b.subject(), "2026-10 燃气费（户号 3301001）");
        assert!(is_account_number("3301001"));
        assert!(!is_account_number("33010a1"));
        assert!(!is_account_number("1234"));
    }
}

/// The supply address as shown to whoever looks up the account number:
/// up to the road, then `***` (anyone may pay any account's bill, so the
/// house number and flat stay private). Cut after the first `路`, `街`,
/// `道` or `巷`; an address without one keeps its first 6 characters.
pub(crate) fn mask_address(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    let keep = chars
        .iter()
        .position(|c| matches!(c, '路' | '街' | '道' | '巷'))
        .map_or(chars.len().min(6), |i| i + 1);
    if keep >= chars.len() {
        return address.to_string();
    }
    chars[..keep].iter().collect::<String>() + "***"
}

#[cfg(test)]
mod mask_tests {
    use super::mask_address;

    #[test]
    fn addresses_are_cut_after_the_road() {
        assert_eq!(
            mask_address("杭州市上城区解放路 138 号 1 单元 302 室"),
            "杭州市上城区解放路***"
        );
        assert_eq!(mask_address("某地某某小区 3 幢"), "某地某某小区***");
    }
}
