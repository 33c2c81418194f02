//! The payment service's rules, against a real sled store in a temp dir.

use std::sync::Arc;

use super::orders::{Owner, Payee};
use super::*;
use crate::error::ServiceError;
use crate::events::Outbox;
use crate::store::Store;

const DEPT: &str = "桐庐县实验小学";
const PIN: &str = "258036";

struct Fixture {
    _dir: tempfile::TempDir,
    payments: Payments,
    pins: PaymentPins,
    outbox: Outbox,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let outbox = Outbox::open(&store).unwrap();
    Fixture {
        payments: Payments::open(&store, outbox.clone()).unwrap(),
        pins: PaymentPins::open(&store).unwrap(),
        outbox,
        _dir: dir,
    }
}

fn payee(app: &str) -> Payee<'_> {
    Payee {
        app_id: app,
        department: DEPT,
        max_order_fen: 100_000,
    }
}

fn new(otn: &str, amount: u64) -> NewOrder {
    NewOrder {
        out_trade_no: otn.into(),
        amount_fen: amount,
        subject: "2026 学年第一学期学费".into(),
        return_path: "/fees".into(),
        expires_in_ms: None,
    }
}

impl Fixture {
    fn citizen_with(&self, id: &str, funds: u64) -> PinVerified {
        self.pins.set(id, PIN).unwrap();
        if funds > 0 {
            self.payments.ledger.top_up(id, funds).unwrap();
        }
        self.pins.verify(id, PIN).unwrap()
    }

    fn balance(&self, account: Account) -> i64 {
        self.payments.ledger.balance(&account).unwrap()
    }
}

#[test]
fn create_is_idempotent_on_out_trade_no() {
    let f = fixture();
    let a = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3210))
        .unwrap();
    assert_eq!(
        a,
        f.payments
            .create(payee("app"), "c1", new("t-1", 3210))
            .unwrap()
    );
    for (citizen, n) in [("c1", new("t-1", 3211)), ("c2", new("t-1", 3210))] {
        assert!(matches!(
            f.payments.create(payee("app"), citizen, n),
            Err(ServiceError::Conflict {
                field: "out-trade-no",
                ..
            })
        ));
    }
    let mut other_subject = new("t-1", 3210);
    other_subject.subject = "其他".into();
    assert!(
        f.payments
            .create(payee("app"), "c1", other_subject)
            .is_err()
    );
    // The same number in another app is another order.
    let b = f
        .payments
        .create(payee("other"), "c1", new("t-1", 5))
        .unwrap();
    assert_ne!(a.order_id, b.order_id);
    assert_eq!(f.payments.for_citizen("c1", 10).unwrap().len(), 2);
}

#[test]
fn invalid_fields_are_named() {
    let f = fixture();
    let field = |n: NewOrder| match f.payments.create(payee("app"), "c1", n) {
        Err(ServiceError::InvalidArgument { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(new("", 1)), "out-trade-no");
    assert_eq!(field(new(&"x".repeat(65), 1)), "out-trade-no");
    assert_eq!(field(new("a b", 1)), "out-trade-no");
    assert_eq!(field(new("ok", 0)), "amount-fen");
    assert_eq!(field(new("ok", 100_001)), "amount-fen");
    let mut n = new("ok", 1);
    n.subject = "字".repeat(129);
    assert_eq!(field(n), "subject");
    let mut n = new("ok", 1);
    n.expires_in_ms = Some(1000);
    assert_eq!(field(n), "expires-in-ms");
    let mut n = new("ok", 1);
    n.return_path = "https://evil.example".into();
    assert_eq!(field(n), "return-path");
    // 64 characters and a 128-character subject are fine.
    let mut n = new(&"x".repeat(64), 1);
    n.subject = "字".repeat(128);
    f.payments.create(payee("app"), "c1", n).unwrap();
}

#[test]
fn pay_moves_money_once_and_stages_the_event() {
    let f = fixture();
    let pin = f.citizen_with("c1", 10_000);
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3210))
        .unwrap();
    let paid = f.payments.pay(&pin, &order.order_id).unwrap();
    assert_eq!(paid.state, OrderState::Paid);
    assert_eq!(paid.history.last().unwrap().state, OrderState::Paid);
    assert!(matches!(
        f.payments.pay(&pin, &order.order_id),
        Err(ServiceError::Conflict { field: "state", .. })
    ));
    assert_eq!(f.balance(Account::Citizen("c1".into())), 10_000 - 3210);
    assert_eq!(f.balance(Account::Merchant(DEPT.into())), 3210);
    assert_eq!(f.balance(Account::Clearing), 0);
    assert!(f.payments.ledger.verify().unwrap().is_balanced());
    let pending = f.outbox.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.event, "payment.succeeded");
    assert!(pending[0].1.body.contains(&order.order_id));
    // Another citizen's proof cannot pay this citizen's order.
    let other = f.citizen_with("c2", 10_000);
    let second = f
        .payments
        .create(payee("app"), "c1", new("t-2", 1))
        .unwrap();
    assert!(matches!(
        f.payments.pay(&other, &second.order_id),
        Err(ServiceError::NotFound(_))
    ));
}

#[test]
fn insufficient_funds_writes_nothing() {
    let f = fixture();
    let pin = f.citizen_with("c1", 1000);
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3210))
        .unwrap();
    match f.payments.pay(&pin, &order.order_id) {
        Err(ServiceError::Payment(PaymentError::InsufficientFunds {
            balance_fen: 1000,
            amount_fen: 3210,
        })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.payments.get(&order.order_id).unwrap().unwrap().state,
        OrderState::Created
    );
    assert_eq!(f.balance(Account::Citizen("c1".into())), 1000);
    assert_eq!(f.balance(Account::Merchant(DEPT.into())), 0);
    assert_eq!(f.payments.ledger.verify().unwrap().transfers, 1);
    assert!(f.outbox.pending().unwrap().is_empty());
    // Topped up, the same order pays.
    f.payments.ledger.top_up("c1", 5000).unwrap();
    f.payments.pay(&pin, &order.order_id).unwrap();
}

#[test]
fn expired_and_cancelled_orders_cannot_be_paid() {
    let f = fixture();
    let pin = f.citizen_with("c1", 10_000);
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 100))
        .unwrap();
    assert_eq!(order.expires_at - order.created_at, orders::ORDER_TTL_MS);
    // Move its expiry into the past, as time would.
    let mut stale = order.clone();
    stale.expires_at = stale.created_at - 1;
    f.payments
        .orders
        .insert(
            stale.order_id.as_bytes(),
            serde_json::to_vec(&stale).unwrap(),
        )
        .unwrap();
    assert!(matches!(
        f.payments.pay(&pin, &order.order_id),
        Err(ServiceError::Conflict { field: "state", .. })
    ));
    let stored = f.payments.get(&order.order_id).unwrap().unwrap();
    assert_eq!(stored.state, OrderState::Expired);
    assert_eq!(stored.history[0].at, stale.expires_at);
    assert_eq!(f.balance(Account::Citizen("c1".into())), 10_000);

    // Cancelled by the app; again is the same; the citizen can cancel too.
    let a = f
        .payments
        .create(payee("app"), "c1", new("t-2", 100))
        .unwrap();
    assert!(matches!(
        f.payments.cancel(&a.order_id, Owner::App("other")),
        Err(ServiceError::NotFound(_))
    ));
    let cancelled = f.payments.cancel(&a.order_id, Owner::App("app")).unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    assert_eq!(
        f.payments.cancel(&a.order_id, Owner::App("app")).unwrap(),
        cancelled
    );
    assert!(f.payments.pay(&pin, &a.order_id).is_err());
    let b = f
        .payments
        .create(payee("app"), "c1", new("t-3", 100))
        .unwrap();
    assert!(
        f.payments
            .cancel(&b.order_id, Owner::Citizen("c2"))
            .is_err()
    );
    f.payments
        .cancel(&b.order_id, Owner::Citizen("c1"))
        .unwrap();
    // A paid order cannot be cancelled.
    let c = f
        .payments
        .create(payee("app"), "c1", new("t-4", 100))
        .unwrap();
    f.payments.pay(&pin, &c.order_id).unwrap();
    assert!(matches!(
        f.payments.cancel(&c.order_id, Owner::App("app")),
        Err(ServiceError::Conflict { field: "state", .. })
    ));
}

#[test]
fn wrong_pins_lock_payments() {
    let f = fixture();
    assert!(matches!(
        f.pins.verify("c1", PIN),
        Err(ServiceError::Payment(PaymentError::PinNotSet))
    ));
    for weak in ["123456", "000000", "654321", "12345", "abcdef"] {
        assert!(matches!(
            f.pins.set("c1", weak),
            Err(ServiceError::InvalidArgument { field: "pin", .. })
        ));
    }
    f.pins.set("c1", PIN).unwrap();
    assert!(matches!(
        f.pins.set("c1", "135790"),
        Err(ServiceError::Payment(PaymentError::PinAlreadySet))
    ));
    for left in (1..pin::MAX_WRONG_PINS).rev() {
        match f.pins.verify("c1", "111112") {
            Err(ServiceError::Payment(PaymentError::WrongPin { remaining_tries })) => {
                assert_eq!(remaining_tries, left)
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        f.pins.verify("c1", "111112"),
        Err(ServiceError::Payment(PaymentError::PinLocked { retry_after_ms })) if retry_after_ms == pin::PIN_LOCK_MS
    ));
    // Locked: even the right PIN is refused.
    assert!(matches!(
        f.pins.verify("c1", PIN),
        Err(ServiceError::Payment(PaymentError::PinLocked { .. }))
    ));
    let status = f.pins.status("c1").unwrap();
    assert!(status.set && status.locked_for_ms > 0);
}

#[test]
fn a_success_resets_the_wrong_pin_count() {
    let f = fixture();
    f.pins.set("c1", PIN).unwrap();
    for _ in 0..pin::MAX_WRONG_PINS - 1 {
        assert!(f.pins.verify("c1", "111112").is_err());
    }
    f.pins.verify("c1", PIN).unwrap();
    assert_eq!(
        f.pins.status("c1").unwrap().remaining_tries,
        pin::MAX_WRONG_PINS
    );
}

fn refund(otn: &str, no: &str, amount: u64) -> NewRefund {
    NewRefund {
        out_trade_no: otn.into(),
        out_request_no: no.into(),
        amount_fen: amount,
        reason: "退宿".into(),
    }
}

#[test]
fn refunds_are_idempotent_and_never_exceed_the_payment() {
    let f = fixture();
    let pin = f.citizen_with("c1", 10_000);
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3000))
        .unwrap();
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-0", 1)),
        Err(ServiceError::Conflict { field: "state", .. })
    ));
    f.payments.pay(&pin, &order.order_id).unwrap();
    let (r1, o) = f
        .payments
        .refund("app", refund("t-1", "r-1", 1000))
        .unwrap();
    assert_eq!(o.state, OrderState::PartiallyRefunded);
    assert_eq!(o.refunded_fen, 1000);
    // Same number, same amount: the same refund, no new money.
    let (again, _) = f
        .payments
        .refund("app", refund("t-1", "r-1", 1000))
        .unwrap();
    assert_eq!(again, r1);
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-1", 999)),
        Err(ServiceError::Conflict {
            field: "out-request-no",
            ..
        })
    ));
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-2", 2001)),
        Err(ServiceError::Payment(PaymentError::RefundExceeds {
            refundable_fen: 2000
        }))
    ));
    assert!(matches!(
        f.payments.refund("other", refund("t-1", "r-2", 1)),
        Err(ServiceError::NotFound("order"))
    ));
    let (_, o) = f
        .payments
        .refund("app", refund("t-1", "r-2", 2000))
        .unwrap();
    assert_eq!(o.state, OrderState::Refunded);
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-3", 1)),
        Err(ServiceError::Payment(PaymentError::RefundExceeds {
            refundable_fen: 0
        }))
    ));
    assert_eq!(f.balance(Account::Citizen("c1".into())), 10_000);
    assert_eq!(f.balance(Account::Merchant(DEPT.into())), 0);
    assert_eq!(f.payments.refunds_of(&o).unwrap().len(), 2);
    assert_eq!(
        f.payments.refund_by_request_no("app", "r-1").unwrap(),
        Some(r1)
    );
    let mut events: Vec<String> = f
        .outbox
        .pending()
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event)
        .collect();
    events.sort();
    assert_eq!(
        events,
        ["payment.succeeded", "refund.succeeded", "refund.succeeded"]
    );
    assert!(f.payments.ledger.verify().unwrap().is_balanced());
}

#[test]
fn the_statement_equals_the_merchant_movements_of_the_day() {
    let f = fixture();
    let pin = f.citizen_with("c1", 100_000);
    for (otn, amount) in [("t-1", 3000), ("t-2", 5000)] {
        let o = f
            .payments
            .create(payee("app"), "c1", new(otn, amount))
            .unwrap();
        f.payments.pay(&pin, &o.order_id).unwrap();
    }
    f.payments
        .refund("app", refund("t-1", "r-1", 1200))
        .unwrap();
    // Another department's payment is not on this statement.
    let other = Payee {
        department: "杭州市水务集团有限公司",
        ..payee("bills")
    };
    let o = f.payments.create(other, "c1", new("w-1", 700)).unwrap();
    f.payments.pay(&pin, &o.order_id).unwrap();

    let now = time::OffsetDateTime::now_utc().to_offset(settlement::CHINA_STANDARD_TIME);
    let s = f.payments.statement(DEPT, now.date()).unwrap();
    assert_eq!(s.rows.len(), 3);
    assert_eq!(s.total_paid_fen, 8000);
    assert_eq!(s.total_refunded_fen, 1200);
    assert_eq!(s.total_net_fen, 6800);
    assert_eq!(s.total_net_fen, f.balance(Account::Merchant(DEPT.into())));
    let csv = s.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("order_id,out_trade_no,kind,paid_fen"));
    assert!(lines[3].contains(",refund,0,1200,-1200,"));
    assert!(lines[4].starts_with("TOTAL,,,8000,1200,6800,"));
    // The day before is empty.
    let yesterday = f
        .payments
        .statement(DEPT, now.date().previous_day().unwrap())
        .unwrap();
    assert!(yesterday.rows.is_empty());
    assert_eq!(
        settlement::business_day_ms(settlement::parse_date("2026-11-29").unwrap()).0,
        1_795_881_600_000 // 2026-11-28T16:00:00Z
    );
}

#[test]
fn concurrent_payers_share_flushes() {
    let f = fixture();
    let payments = Arc::new(f.payments.clone());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let citizen = format!("c{t}");
            let pin = f.citizen_with(&citizen, 100_000);
            let payments = payments.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let o = payments
                        .create(payee("app"), &citizen, new(&format!("t-{t}-{i}"), 10))
                        .unwrap();
                    payments.pay(&pin, &o.order_id).unwrap();
                }
            })
        })
        .collect();
    let before = payments.commit.flushes();
    for t in threads {
        t.join().unwrap();
    }
    let flushes = payments.commit.flushes() - before;
    assert!(flushes <= 200, "{flushes} flushes for 200 payments");
    let v = payments.ledger.verify().unwrap();
    assert!(v.is_balanced(), "{v:?}");
    assert_eq!(f.balance(Account::Merchant(DEPT.into())), 2000);
}
