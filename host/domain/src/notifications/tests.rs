//! The notification service over a real store in a temporary directory:
//! subscriptions, the receipt exception, rate limits, inbox pages, read
//! state, delivery status, sequence numbers under concurrent sends and
//! persistence.

use super::*;
use crate::testing::temp_db;

const MANIFEST: &str = r#"
id = "test-app"
name = "测试"
version = "1.0.0"
category = "utilities"
permissions = ["notify"]
[department]
name = "测试部门"
division = "3301"
[notify]
per-citizen-per-day = 4
per-app-per-minute = 6

[[notify.templates]]
id = "once"
title = "一次"
kind = "one-time"
body = "编号 {{n}}"
params.n = { type = "number", max-len = 6 }

[[notify.templates]]
id = "always"
title = "长期"
kind = "long-term"
body = "编号 {{n}}"
params.n = { type = "number", max-len = 6 }

[[notify.templates]]
id = "receipt"
title = "回执"
kind = "receipt"
body = "已收到"
"#;

struct Fixture {
    _dir: tempfile::TempDir,
    n: Notifications,
    app: Manifest,
}

fn fixture() -> Fixture {
    let (dir, db) = temp_db();
    Fixture {
        n: Notifications::new(db),
        app: Manifest::parse(MANIFEST).unwrap(),
        _dir: dir,
    }
}

fn params(n: u32) -> Vec<(String, String)> {
    vec![("n".to_string(), n.to_string())]
}

impl Fixture {
    async fn send(&self, citizen: &str, template: &str, n: u32) -> Result<Arc<Message>, SendError> {
        self.send_as(citizen, template, n, Basis::Subscription)
            .await
    }

    async fn send_as(
        &self,
        citizen: &str,
        template: &str,
        n: u32,
        basis: Basis,
    ) -> Result<Arc<Message>, SendError> {
        let params = if template == "receipt" {
            Vec::new()
        } else {
            params(n)
        };
        self.n
            .send(Outgoing {
                app: &self.app,
                citizen_id: citizen,
                template,
                params: &params,
                link_path: Some("/x"),
                basis,
            })
            .await
            .map(|(m, _)| m)
    }

    async fn accept(&self, citizen: &str, template: &str) {
        let kind = self.app.notify.template(template).unwrap().kind;
        self.n
            .subscriptions
            .accept(citizen, "test-app", template, kind)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn sending_needs_a_live_subscription() {
    let f = fixture();
    assert!(
        matches!(f.send("c1", "once", 1).await, Err(SendError::NotSubscribed(t)) if t == "once")
    );
    assert_eq!(
        f.n.inbox.unread("c1").await.unwrap(),
        0,
        "nothing was stored"
    );

    // One-time: one message, then used up.
    f.accept("c1", "once").await;
    f.accept("c1", "once").await; // accepting again does not add up
    f.send("c1", "once", 1).await.unwrap();
    assert!(matches!(
        f.send("c1", "once", 2).await,
        Err(SendError::NotSubscribed(_))
    ));

    // Long-term: until cancelled.
    f.accept("c1", "always").await;
    for n in 0..3 {
        f.send("c1", "always", n).await.unwrap();
    }
    assert_eq!(f.n.subscriptions.list("c1").await.unwrap().len(), 1);
    f.n.subscriptions
        .cancel("c1", "test-app", "always")
        .await
        .unwrap();
    assert!(matches!(
        f.send("c1", "always", 9).await,
        Err(SendError::NotSubscribed(_))
    ));
    assert!(matches!(
        f.n.subscriptions.cancel("c1", "test-app", "always").await,
        Err(ServiceError::NotFound(_))
    ));
    // Another citizen's subscription is theirs alone.
    f.accept("c2", "always").await;
    assert!(matches!(
        f.send("c1", "always", 9).await,
        Err(SendError::NotSubscribed(_))
    ));
    assert_eq!(f.n.inbox.unread("c1").await.unwrap(), 4);
}

#[tokio::test]
async fn receipts_need_the_citizens_own_payment_and_nothing_else() {
    let f = fixture();
    assert!(matches!(
        f.send("c1", "receipt", 0).await,
        Err(SendError::NotPermitted(_))
    ));
    let receipt = f
        .send_as("c1", "receipt", 0, Basis::OwnPayment)
        .await
        .unwrap();
    assert_eq!(receipt.body, "已收到");
    assert!(
        f.n.subscriptions
            .accept("c1", "test-app", "receipt", TemplateKind::Receipt)
            .await
            .is_err()
    );
    // The basis does not stand in for a subscription to other templates.
    assert!(matches!(
        f.send_as("c1", "always", 1, Basis::OwnPayment).await,
        Err(SendError::NotSubscribed(_))
    ));
}

#[tokio::test]
async fn bad_parameters_name_the_field_and_send_nothing() {
    let f = fixture();
    f.accept("c1", "once").await;
    let bad = vec![("n".to_string(), "1234567".to_string())];
    let err =
        f.n.send(Outgoing {
            app: &f.app,
            citizen_id: "c1",
            template: "once",
            params: &bad,
            link_path: None,
            basis: Basis::Subscription,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::InvalidArgument { ref field, .. } if field == "params.n"));
    assert!(matches!(
        f.send("c1", "nope", 1).await,
        Err(SendError::InvalidArgument { ref field, .. }) if field == "template"
    ));
    // The subscription was not used up by the refused sends.
    f.send("c1", "once", 1).await.unwrap();
}

#[tokio::test]
async fn rate_limits_per_citizen_per_day_and_per_app_per_minute() {
    let f = fixture();
    f.accept("c1", "always").await;
    for n in 0..4 {
        f.send("c1", "always", n).await.unwrap();
    }
    match f.send("c1", "always", 5).await {
        Err(SendError::RateLimited {
            limit,
            retry_after_ms,
        }) => {
            assert_eq!(limit, Exceeded::PerCitizenPerDay);
            assert!(retry_after_ms > 0 && retry_after_ms <= 86_400_000);
        }
        other => panic!("expected the daily limit, got {other:?}"),
    }
    // Two more to another citizen reach the app's 6 per minute.
    f.accept("c2", "always").await;
    f.send("c2", "always", 1).await.unwrap();
    f.send("c2", "always", 2).await.unwrap();
    match f.send("c2", "always", 3).await {
        Err(SendError::RateLimited {
            limit,
            retry_after_ms,
        }) => {
            assert_eq!(limit, Exceeded::PerAppPerMinute);
            assert!(retry_after_ms > 0 && retry_after_ms <= 60_000);
        }
        other => panic!("expected the minute limit, got {other:?}"),
    }
    assert_eq!(f.n.inbox.unread("c2").await.unwrap(), 2);
}

#[tokio::test]
async fn operator_caps_bound_what_the_manifest_declares() {
    let mut f = fixture();
    f.n.set_caps(RateCaps {
        per_citizen_per_day: 2,
        per_app_per_minute: 100,
    });
    f.accept("c1", "always").await;
    f.send("c1", "always", 1).await.unwrap();
    f.send("c1", "always", 2).await.unwrap();
    assert!(matches!(
        f.send("c1", "always", 3).await,
        Err(SendError::RateLimited {
            limit: Exceeded::PerCitizenPerDay,
            ..
        })
    ));
}

#[tokio::test]
async fn inbox_pages_newest_first_with_read_state_and_delivery_status() {
    let mut f = fixture();
    f.n.set_caps(RateCaps {
        per_citizen_per_day: 100,
        per_app_per_minute: 100,
    });
    f.app.notify.per_citizen_per_day = None;
    f.app.notify.per_app_per_minute = None;
    f.accept("c1", "always").await;
    let mut sent: Vec<Arc<Message>> = Vec::new();
    for n in 1..=7 {
        sent.push(f.send("c1", "always", n).await.unwrap());
    }
    let seqs: Vec<u64> = sent.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>(), "seq grows per citizen");
    assert_eq!(sent[0].body, "编号 1");
    assert_eq!(sent[0].template, "always");

    let inbox = &f.n.inbox;
    let first = inbox.page("c1", None, 3).await.unwrap();
    let bodies = |p: &inbox::Page| {
        p.messages
            .iter()
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(bodies(&first), ["编号 7", "编号 6", "编号 5"]);
    let second = inbox.page("c1", first.next_cursor, 3).await.unwrap();
    assert_eq!(bodies(&second), ["编号 4", "编号 3", "编号 2"]);
    let last = inbox.page("c1", second.next_cursor, 3).await.unwrap();
    assert_eq!(bodies(&last), ["编号 1"]);
    assert_eq!(last.next_cursor, None);
    assert_eq!(inbox.since("c1", 5, 10).await.unwrap().len(), 2);

    // Status as the sending app sees it; another app sees nothing.
    let id = &sent[2].id;
    let d = f.n.delivery("test-app", id).await.unwrap().unwrap();
    assert!(d.pushed_at.is_none() && d.read_at.is_none());
    assert!(f.n.delivery("other-app", id).await.unwrap().is_none());
    inbox.mark_pushed(sent[2].number().unwrap()).await.unwrap();
    assert!(
        f.n.delivery("test-app", id)
            .await
            .unwrap()
            .unwrap()
            .pushed_at
            .is_some()
    );

    assert_eq!(inbox.unread("c1").await.unwrap(), 7);
    let read = f.n.mark_read("c1", id).await.unwrap();
    assert!(read.read && read.read_at.is_some());
    f.n.mark_read("c1", id).await.unwrap(); // twice counts once
    assert_eq!(inbox.unread("c1").await.unwrap(), 6);
    assert!(
        f.n.delivery("test-app", id)
            .await
            .unwrap()
            .unwrap()
            .read_at
            .is_some()
    );
    assert!(matches!(
        f.n.mark_read("c2", id).await,
        Err(ServiceError::NotFound(_))
    ));

    assert_eq!(f.n.delete("c1", &sent[6].id).await.unwrap(), 5);
    assert!(matches!(
        f.n.delete("c1", &sent[6].id).await,
        Err(ServiceError::NotFound(_))
    ));
    assert_eq!(
        f.n.delete("c1", id).await.unwrap(),
        5,
        "deleting a read one"
    );
    assert_eq!(f.n.mark_all_read("c1").await.unwrap(), 5);
    assert_eq!(inbox.unread("c1").await.unwrap(), 0);
    let all = inbox.page("c1", None, 100).await.unwrap();
    assert_eq!(all.messages.len(), 5);
    assert!(all.messages.iter().all(|m| m.read));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_number_each_citizens_messages_without_gaps() {
    let mut f = fixture();
    f.n.set_caps(RateCaps {
        per_citizen_per_day: 1_000,
        per_app_per_minute: 1_000,
    });
    f.app.notify.per_citizen_per_day = None;
    f.app.notify.per_app_per_minute = None;
    f.accept("c1", "always").await;
    f.accept("c2", "always").await;
    let f = Arc::new(f);
    let mut live = f.n.live().subscribe("c1");
    let sends: Vec<_> = (0..40)
        .map(|n| {
            let f = f.clone();
            tokio::spawn(async move {
                let citizen = if n % 2 == 0 { "c1" } else { "c2" };
                f.send(citizen, "always", n).await.unwrap()
            })
        })
        .collect();
    for send in sends {
        send.await.unwrap();
    }
    for citizen in ["c1", "c2"] {
        let mut seqs: Vec<u64> =
            f.n.inbox
                .since(citizen, 0, 100)
                .await
                .unwrap()
                .iter()
                .map(|m| m.seq)
                .collect();
        assert_eq!(
            seqs,
            (1..=20).collect::<Vec<_>>(),
            "{citizen}: in order, no gaps"
        );
        seqs.dedup();
        assert_eq!(seqs.len(), 20);
        assert_eq!(f.n.inbox.latest_seq(citizen).await.unwrap(), 20);
        assert_eq!(f.n.inbox.unread(citizen).await.unwrap(), 20);
    }
    // Every committed message was pushed to the open stream, each once.
    let mut heard = Vec::new();
    while heard.len() < 20 {
        match live.next().await {
            live::Heard::Event(LiveEvent::Message(m, _)) => heard.push(m.seq),
            other => panic!("expected a message, got {other:?}"),
        }
    }
    heard.sort_unstable();
    assert_eq!(heard, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_refused_send_changes_nothing() {
    let f = fixture();
    f.accept("c1", "always").await;
    for n in 0..4 {
        f.send("c1", "always", n).await.unwrap();
    }
    // The daily limit refuses a one-time message after its subscription
    // was taken inside the transaction: the abort puts it back.
    f.accept("c1", "once").await;
    assert!(matches!(
        f.send("c1", "once", 1).await,
        Err(SendError::RateLimited {
            limit: Exceeded::PerCitizenPerDay,
            ..
        })
    ));
    let kept =
        f.n.subscriptions
            .get("c1", "test-app", "once")
            .await
            .unwrap();
    assert_eq!(kept.map(|s| s.kind), Some(TemplateKind::OneTime));
    // Nothing was stored or counted: no seq was given out, and the app's
    // minute window still has room for exactly two more (6 per minute).
    assert_eq!(f.n.inbox.latest_seq("c1").await.unwrap(), 4);
    assert_eq!(f.n.inbox.unread("c1").await.unwrap(), 4);
    f.accept("c2", "always").await;
    f.send("c2", "always", 1).await.unwrap();
    f.send("c2", "always", 2).await.unwrap();
    assert!(matches!(
        f.send("c2", "always", 3).await,
        Err(SendError::RateLimited {
            limit: Exceeded::PerAppPerMinute,
            ..
        })
    ));
    // A refused send gave out no seq: c2's messages are 1 and 2.
    let seqs: Vec<u64> =
        f.n.inbox
            .since("c2", 0, 10)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
    assert_eq!(seqs, [1, 2]);
}

#[tokio::test]
async fn messages_and_subscriptions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::testing::open_db(dir.path());
    let app = Manifest::parse(MANIFEST).unwrap();
    let id = {
        let n = Notifications::new(db.clone());
        n.subscriptions
            .accept("c1", "test-app", "always", TemplateKind::LongTerm)
            .await
            .unwrap();
        let (m, _) = n
            .send(Outgoing {
                app: &app,
                citizen_id: "c1",
                template: "always",
                params: &params(1),
                link_path: None,
                basis: Basis::Subscription,
            })
            .await
            .unwrap();
        db.sync().await.unwrap();
        m.id.clone()
    };
    drop(db);
    let db = crate::testing::open_db(dir.path());
    let n = Notifications::new(db);
    assert_eq!(n.inbox.unread("c1").await.unwrap(), 1);
    assert_eq!(
        n.inbox.page("c1", None, 10).await.unwrap().messages[0].id,
        id
    );
    assert!(
        n.subscriptions
            .get("c1", "test-app", "always")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn open_streams_hear_new_messages_and_unread_counts() {
    let f = fixture();
    f.accept("c1", "always").await;
    let mut live = f.n.live().subscribe("c1");
    assert_eq!(f.n.live().citizens_listening(), 1);
    let sent = f.send("c1", "always", 1).await.unwrap();
    match live.next().await {
        live::Heard::Event(LiveEvent::Message(m, unread)) => {
            assert_eq!(m.id, sent.id);
            assert_eq!(unread, 1);
        }
        other => panic!("expected the message, got {other:?}"),
    }
    f.n.mark_read("c1", &sent.id).await.unwrap();
    assert!(matches!(
        live.next().await,
        live::Heard::Event(LiveEvent::Unread(0))
    ));
    f.n.live().close();
    assert!(matches!(live.next().await, live::Heard::Closing));
    drop(live);
    assert_eq!(f.n.live().citizens_listening(), 0);
}
