//! The payment service's rules, against a real database in a temp dir.

use super::orders::{Owner, Payee};
use super::*;
use crate::error::ServiceError;
use crate::events::Outbox;
use crate::testing::Flushes;

/// The school's Unified Social Credit Code: its merchant account.
const DEPT: &str = "1233012247085123X1";
const PIN: &str = "258036";

fn dept() -> crate::uscc::Uscc {
    crate::uscc::Uscc::parse(DEPT).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    flushes: Flushes,
    payments: Payments,
    pins: PaymentPins,
    outbox: Outbox,
}

fn fixture() -> Fixture {
    let (dir, db, flushes) = crate::testing::temp_db_counting_flushes();
    let outbox = Outbox::new(db.clone());
    Fixture {
        flushes,
        payments: Payments::new(db.clone(), outbox.clone()),
        pins: PaymentPins::new(db),
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
    async fn citizen_with(&self, id: &str, funds: u64) -> PinVerified {
        self.pins.set(id, PIN).await.unwrap();
        if funds > 0 {
            self.payments.ledger.top_up(id, funds).await.unwrap();
        }
        self.pins.verify(id, PIN).await.unwrap()
    }

    async fn balance(&self, account: Account) -> i64 {
        self.payments.ledger.balance(&account).await.unwrap()
    }
}

#[tokio::test]
async fn create_is_idempotent_on_out_trade_no() {
    let f = fixture();
    let a = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3210))
        .await
        .unwrap();
    assert_eq!(
        a,
        f.payments
            .create(payee("app"), "c1", new("t-1", 3210))
            .await
            .unwrap()
    );
    for (citizen, n) in [("c1", new("t-1", 3211)), ("c2", new("t-1", 3210))] {
        assert!(matches!(
            f.payments.create(payee("app"), citizen, n).await,
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
            .await
            .is_err()
    );
    // The same number in another app is another order.
    let b = f
        .payments
        .create(payee("other"), "c1", new("t-1", 5))
        .await
        .unwrap();
    assert_ne!(a.order_id, b.order_id);
    assert_eq!(f.payments.for_citizen("c1", 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let f = fixture();
    async fn field(f: &Fixture, n: NewOrder) -> &'static str {
        match f.payments.create(payee("app"), "c1", n).await {
            Err(ServiceError::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(field(&f, new("", 1)).await, "out-trade-no");
    assert_eq!(field(&f, new(&"x".repeat(65), 1)).await, "out-trade-no");
    assert_eq!(field(&f, new("a b", 1)).await, "out-trade-no");
    assert_eq!(field(&f, new("ok", 0)).await, "amount-fen");
    assert_eq!(field(&f, new("ok", 100_001)).await, "amount-fen");
    let mut n = new("ok", 1);
    n.subject = "字".repeat(129);
    assert_eq!(field(&f, n).await, "subject");
    let mut n = new("ok", 1);
    n.expires_in_ms = Some(1000);
    assert_eq!(field(&f, n).await, "expires-in-ms");
    let mut n = new("ok", 1);
    n.return_path = "https://evil.example".into();
    assert_eq!(field(&f, n).await, "return-path");
    // 64 characters and a 128-character subject are fine.
    let mut n = new(&"x".repeat(64), 1);
    n.subject = "字".repeat(128);
    f.payments.create(payee("app"), "c1", n).await.unwrap();
}

#[tokio::test]
async fn pay_moves_money_once_and_stages_the_event() {
    let f = fixture();
    let pin = f.citizen_with("c1", 10_000).await;
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3210))
        .await
        .unwrap();
    let paid = f.payments.pay(&pin, &order.order_id).await.unwrap();
    assert_eq!(paid.state, OrderState::Paid);
    assert_eq!(paid.history.last().unwrap().state, OrderState::Paid);
    assert!(matches!(
        f.payments.pay(&pin, &order.order_id).await,
        Err(ServiceError::Conflict { field: "state", .. })
    ));
    assert_eq!(
        f.balance(Account::Citizen("c1".into())).await,
        10_000 - 3210
    );
    assert_eq!(f.balance(Account::Merchant(DEPT.into())).await, 3210);
    assert_eq!(f.balance(Account::Clearing).await, 0);
    assert!(f.payments.ledger.verify().await.unwrap().is_balanced());
    let pending = f.outbox.pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.event, "payment.succeeded");
    assert!(pending[0].1.body.contains(&order.order_id));
    // Another citizen's proof cannot pay this citizen's order.
    let other = f.citizen_with("c2", 10_000).await;
    let second = f
        .payments
        .create(payee("app"), "c1", new("t-2", 1))
        .await
        .unwrap();
    assert!(matches!(
        f.payments.pay(&other, &second.order_id).await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn insufficient_funds_writes_nothing() {
    let f = fixture();
    let pin = f.citizen_with("c1", 1000).await;
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3210))
        .await
        .unwrap();
    match f.payments.pay(&pin, &order.order_id).await {
        Err(ServiceError::Payment(PaymentError::InsufficientFunds {
            balance_fen: 1000,
            amount_fen: 3210,
        })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f.payments
            .get(&order.order_id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OrderState::Created
    );
    assert_eq!(f.balance(Account::Citizen("c1".into())).await, 1000);
    assert_eq!(f.balance(Account::Merchant(DEPT.into())).await, 0);
    assert_eq!(f.payments.ledger.verify().await.unwrap().transfers, 1);
    assert!(f.outbox.pending().await.unwrap().is_empty());
    // Topped up, the same order pays.
    f.payments.ledger.top_up("c1", 5000).await.unwrap();
    f.payments.pay(&pin, &order.order_id).await.unwrap();
}

#[tokio::test]
async fn expired_and_cancelled_orders_cannot_be_paid() {
    let f = fixture();
    let pin = f.citizen_with("c1", 10_000).await;
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 100))
        .await
        .unwrap();
    assert_eq!(order.expires_at - order.created_at, orders::ORDER_TTL_MS);
    // Move its expiry into the past, as time would.
    let mut stale = order.clone();
    stale.expires_at = stale.created_at - 1;
    f.payments
        .db
        .put(&tables::ORDERS, &stale.order_id, &stale)
        .await
        .unwrap();
    assert!(matches!(
        f.payments.pay(&pin, &order.order_id).await,
        Err(ServiceError::Conflict { field: "state", .. })
    ));
    let stored = f.payments.get(&order.order_id).await.unwrap().unwrap();
    assert_eq!(stored.state, OrderState::Expired);
    assert_eq!(stored.history[0].at, stale.expires_at);
    assert_eq!(f.balance(Account::Citizen("c1".into())).await, 10_000);

    // Cancelled by the app; again is the same; the citizen can cancel too.
    let a = f
        .payments
        .create(payee("app"), "c1", new("t-2", 100))
        .await
        .unwrap();
    assert!(matches!(
        f.payments.cancel(&a.order_id, Owner::App("other")).await,
        Err(ServiceError::NotFound(_))
    ));
    let cancelled = f
        .payments
        .cancel(&a.order_id, Owner::App("app"))
        .await
        .unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    assert_eq!(
        f.payments
            .cancel(&a.order_id, Owner::App("app"))
            .await
            .unwrap(),
        cancelled
    );
    assert!(f.payments.pay(&pin, &a.order_id).await.is_err());
    let b = f
        .payments
        .create(payee("app"), "c1", new("t-3", 100))
        .await
        .unwrap();
    assert!(
        f.payments
            .cancel(&b.order_id, Owner::Citizen("c2"))
            .await
            .is_err()
    );
    f.payments
        .cancel(&b.order_id, Owner::Citizen("c1"))
        .await
        .unwrap();
    // A paid order cannot be cancelled.
    let c = f
        .payments
        .create(payee("app"), "c1", new("t-4", 100))
        .await
        .unwrap();
    f.payments.pay(&pin, &c.order_id).await.unwrap();
    assert!(matches!(
        f.payments.cancel(&c.order_id, Owner::App("app")).await,
        Err(ServiceError::Conflict { field: "state", .. })
    ));
}

#[tokio::test]
async fn wrong_pins_lock_payments() {
    let f = fixture();
    assert!(matches!(
        f.pins.verify("c1", PIN).await,
        Err(ServiceError::Payment(PaymentError::PinNotSet))
    ));
    for weak in ["123456", "000000", "654321", "12345", "abcdef"] {
        assert!(matches!(
            f.pins.set("c1", weak).await,
            Err(ServiceError::InvalidArgument { field: "pin", .. })
        ));
    }
    f.pins.set("c1", PIN).await.unwrap();
    assert!(matches!(
        f.pins.set("c1", "135790").await,
        Err(ServiceError::Payment(PaymentError::PinAlreadySet))
    ));
    for left in (1..pin::MAX_WRONG_PINS).rev() {
        match f.pins.verify("c1", "111112").await {
            Err(ServiceError::Payment(PaymentError::WrongPin { remaining_tries })) => {
                assert_eq!(remaining_tries, left)
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        f.pins.verify("c1", "111112").await,
        Err(ServiceError::Payment(PaymentError::PinLocked { retry_after_ms })) if retry_after_ms == pin::PIN_LOCK_MS
    ));
    // Locked: even the right PIN is refused.
    assert!(matches!(
        f.pins.verify("c1", PIN).await,
        Err(ServiceError::Payment(PaymentError::PinLocked { .. }))
    ));
    let status = f.pins.status("c1").await.unwrap();
    assert!(status.set && status.locked_for_ms > 0);
}

#[tokio::test]
async fn a_success_resets_the_wrong_pin_count() {
    let f = fixture();
    f.pins.set("c1", PIN).await.unwrap();
    for _ in 0..pin::MAX_WRONG_PINS - 1 {
        assert!(f.pins.verify("c1", "111112").await.is_err());
    }
    f.pins.verify("c1", PIN).await.unwrap();
    assert_eq!(
        f.pins.status("c1").await.unwrap().remaining_tries,
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

#[tokio::test]
async fn refunds_are_idempotent_and_never_exceed_the_payment() {
    let f = fixture();
    let pin = f.citizen_with("c1", 10_000).await;
    let order = f
        .payments
        .create(payee("app"), "c1", new("t-1", 3000))
        .await
        .unwrap();
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-0", 1)).await,
        Err(ServiceError::Conflict { field: "state", .. })
    ));
    f.payments.pay(&pin, &order.order_id).await.unwrap();
    let (r1, o) = f
        .payments
        .refund("app", refund("t-1", "r-1", 1000))
        .await
        .unwrap();
    assert_eq!(o.state, OrderState::PartiallyRefunded);
    assert_eq!(o.refunded_fen, 1000);
    // Same number, same amount: the same refund, no new money.
    let (again, _) = f
        .payments
        .refund("app", refund("t-1", "r-1", 1000))
        .await
        .unwrap();
    assert_eq!(again, r1);
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-1", 999)).await,
        Err(ServiceError::Conflict {
            field: "out-request-no",
            ..
        })
    ));
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-2", 2001)).await,
        Err(ServiceError::Payment(PaymentError::RefundExceeds {
            refundable_fen: 2000
        }))
    ));
    assert!(matches!(
        f.payments.refund("other", refund("t-1", "r-2", 1)).await,
        Err(ServiceError::NotFound("order"))
    ));
    let (_, o) = f
        .payments
        .refund("app", refund("t-1", "r-2", 2000))
        .await
        .unwrap();
    assert_eq!(o.state, OrderState::Refunded);
    assert!(matches!(
        f.payments.refund("app", refund("t-1", "r-3", 1)).await,
        Err(ServiceError::Payment(PaymentError::RefundExceeds {
            refundable_fen: 0
        }))
    ));
    assert_eq!(f.balance(Account::Citizen("c1".into())).await, 10_000);
    assert_eq!(f.balance(Account::Merchant(DEPT.into())).await, 0);
    assert_eq!(f.payments.refunds_of(&o).await.unwrap().len(), 2);
    assert_eq!(
        f.payments.refund_by_request_no("app", "r-1").await.unwrap(),
        Some(r1)
    );
    let mut events: Vec<String> = f
        .outbox
        .pending()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.event)
        .collect();
    events.sort();
    assert_eq!(
        events,
        ["payment.succeeded", "refund.succeeded", "refund.succeeded"]
    );
    assert!(f.payments.ledger.verify().await.unwrap().is_balanced());
}

#[tokio::test]
async fn the_statement_equals_the_merchant_movements_of_the_day() {
    let f = fixture();
    let pin = f.citizen_with("c1", 100_000).await;
    for (otn, amount) in [("t-1", 3000), ("t-2", 5000)] {
        let o = f
            .payments
            .create(payee("app"), "c1", new(otn, amount))
            .await
            .unwrap();
        f.payments.pay(&pin, &o.order_id).await.unwrap();
    }
    f.payments
        .refund("app", refund("t-1", "r-1", 1200))
        .await
        .unwrap();
    // Another department's payment is not on this statement.
    let other = Payee {
        department: "91330100143044481D",
        ..payee("bills")
    };
    let o = f
        .payments
        .create(other, "c1", new("w-1", 700))
        .await
        .unwrap();
    f.payments.pay(&pin, &o.order_id).await.unwrap();

    let now = time::OffsetDateTime::now_utc().to_offset(settlement::CHINA_STANDARD_TIME);
    let s = f.payments.statement(&dept(), now.date()).await.unwrap();
    assert_eq!(s.rows.len(), 3);
    assert_eq!(s.total_paid_fen, 8000);
    assert_eq!(s.total_refunded_fen, 1200);
    assert_eq!(s.total_net_fen, 6800);
    assert_eq!(
        s.total_net_fen,
        f.balance(Account::Merchant(DEPT.into())).await
    );
    let csv = s.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("order_id,out_trade_no,kind,paid_fen"));
    assert!(lines[3].contains(",refund,0,1200,-1200,"));
    assert!(lines[4].starts_with("TOTAL,,,8000,1200,6800,"));
    // The day before is empty.
    let yesterday = f
        .payments
        .statement(&dept(), now.date().previous_day().unwrap())
        .await
        .unwrap();
    assert!(yesterday.rows.is_empty());
    assert_eq!(
        settlement::business_day_ms(settlement::parse_date("2026-11-29").unwrap()).0,
        1_795_881_600_000 // 2026-11-28T16:00:00Z
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payers_share_flushes() {
    let f = fixture();
    let mut payers = Vec::new();
    for t in 0..8 {
        let citizen = format!("c{t}");
        let pin = f.citizen_with(&citizen, 100_000).await;
        payers.push((citizen, pin));
    }
    let before = f.flushes.count();
    let tasks: Vec<_> = payers
        .into_iter()
        .enumerate()
        .map(|(t, (citizen, pin))| {
            let payments = f.payments.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let o = payments
                        .create(payee("app"), &citizen, new(&format!("t-{t}-{i}"), 10))
                        .await
                        .unwrap();
                    payments.pay(&pin, &o.order_id).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let flushes = f.flushes.count() - before;
    // Payers that sync at the same time share one flush.
    assert!(flushes < 200, "{flushes} flushes for 200 payments");
    let v = f.payments.ledger.verify().await.unwrap();
    assert!(v.is_balanced(), "{v:?}");
    assert_eq!(f.balance(Account::Merchant(DEPT.into())).await, 2000);
}
