//! The notification service over a real sled store in a temporary
//! directory: subscriptions, the receipt exception, rate limits, inbox
//! pages, read state, delivery status and persistence.

use super::*;
use crate::store::Store;

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
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    Fixture {
        n: Notifications::open(&store).unwrap(),
        app: Manifest::parse(MANIFEST).unwrap(),
        _dir: dir,
    }
}

fn params(n: u32) -> Vec<(String, String)> {
    vec![("n".to_string(), n.to_string())]
}

impl Fixture {
    fn send(&self, citizen: &str, template: &str, n: u32) -> Result<Arc<Message>, SendError> {
        self.send_as(citizen, template, n, Basis::Subscription)
    }

    fn send_as(
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
            .map(|(m, _)| m)
    }

    fn accept(&self, citizen: &str, template: &str) {
        let kind = self.app.notify.template(template).unwrap().kind;
        self.n
            .subscriptions
            .accept(citizen, "test-app", template, kind)
            .unwrap();
    }
}

#[test]
fn sending_needs_a_live_subscription() {
    let f = fixture();
    assert!(matches!(f.send("c1", "once", 1), Err(SendError::NotSubscribed(t)) if t == "once"));
    assert_eq!(f.n.inbox.unread("c1").unwrap(), 0, "nothing was stored");

    // One-time: one message, then used up.
    f.accept("c1", "once");
    f.accept("c1", "once"); // accepting again does not add up
    f.send("c1", "once", 1).unwrap();
    assert!(matches!(
        f.send("c1", "once", 2),
        Err(SendError::NotSubscribed(_))
    ));

    // Long-term: until cancelled.
    f.accept("c1", "always");
    for n in 0..3 {
        f.send("c1", "always", n).unwrap();
    }
    assert_eq!(f.n.subscriptions.list("c1").unwrap().len(), 1);
    f.n.subscriptions
        .cancel("c1", "test-app", "always")
        .unwrap();
    assert!(matches!(
        f.send("c1", "always", 9),
        Err(SendError::NotSubscribed(_))
    ));
    assert!(matches!(
        f.n.subscriptions.cancel("c1", "test-app", "always"),
        Err(ServiceError::NotFound(_))
    ));
    // Another citizen's subscription is theirs alone.
    f.accept("c2", "always");
    assert!(matches!(
        f.send("c1", "always", 9),
        Err(SendError::NotSubscribed(_))
    ));
    assert_eq!(f.n.inbox.unread("c1").unwrap(), 4);
}

#[test]
fn receipts_need_the_citizens_own_payment_and_nothing_else() {
    let f = fixture();
    assert!(matches!(
        f.send("c1", "receipt", 0),
        Err(SendError::NotPermitted(_))
    ));
    let receipt = f.send_as("c1", "receipt", 0, Basis::OwnPayment).unwrap();
    assert_eq!(receipt.body, "已收到");
    assert!(
        f.n.subscriptions
            .accept("c1", "test-app", "receipt", TemplateKind::Receipt)
            .is_err()
    );
    // The basis does not stand in for a subscription to other templates.
    assert!(matches!(
        f.send_as("c1", "always", 1, Basis::OwnPayment),
        Err(SendError::NotSubscribed(_))
    ));
}

#[test]
fn bad_parameters_name_the_field_and_send_nothing() {
    let f = fixture();
    f.accept("c1", "once");
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
        .unwrap_err();
    assert!(matches!(err, SendError::InvalidArgument { ref field, .. } if field == "params.n"));
    assert!(matches!(
        f.send("c1", "nope", 1),
        Err(SendError::InvalidArgument { ref field, .. }) if field == "template"
    ));
    // The subscription was not used up by the refused sends.
    f.send("c1", "once", 1).unwrap();
}

#[test]
fn rate_limits_per_citizen_per_day_and_per_app_per_minute() {
    let f = fixture();
    f.accept("c1", "always");
    for n in 0..4 {
        f.send("c1", "always", n).unwrap();
    }
    match f.send("c1", "always", 5) {
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
    f.accept("c2", "always");
    f.send("c2", "always", 1).unwrap();
    f.send("c2", "always", 2).unwrap();
    match f.send("c2", "always", 3) {
        Err(SendError::RateLimited {
            limit,
            retry_after_ms,
        }) => {
            assert_eq!(limit, Exceeded::PerAppPerMinute);
            assert!(retry_after_ms > 0 && retry_after_ms <= 60_000);
        }
        other => panic!("expected the minute limit, got {other:?}"),
    }
    assert_eq!(f.n.inbox.unread("c2").unwrap(), 2);
}

#[test]
fn operator_caps_bound_what_the_manifest_declares() {
    let mut f = fixture();
    f.n.set_caps(RateCaps {
        per_citizen_per_day: 2,
        per_app_per_minute: 100,
    });
    f.accept("c1", "always");
    f.send("c1", "always", 1).unwrap();
    f.send("c1", "always", 2).unwrap();
    assert!(matches!(
        f.send("c1", "always", 3),
        Err(SendError::RateLimited {
            limit: Exceeded::PerCitizenPerDay,
            ..
        })
    ));
}

#[test]
fn inbox_pages_newest_first_with_read_state_and_delivery_status() {
    let mut f = fixture();
    f.n.set_caps(RateCaps {
        per_citizen_per_day: 100,
        per_app_per_minute: 100,
    });
    f.app.notify.per_citizen_per_day = None;
    f.app.notify.per_app_per_minute = None;
    f.accept("c1", "always");
    let sent: Vec<Arc<Message>> = (1..=7)
        .map(|n| f.send("c1", "always", n).unwrap())
        .collect();
    let seqs: Vec<u64> = sent.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>(), "seq grows per citizen");
    assert_eq!(sent[0].body, "编号 1");
    assert_eq!(sent[0].template, "always");

    let inbox = &f.n.inbox;
    let first = inbox.page("c1", None, 3).unwrap();
    let bodies = |p: &inbox::Page| {
        p.messages
            .iter()
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(bodies(&first), ["编号 7", "编号 6", "编号 5"]);
    let second = inbox.page("c1", first.next_cursor, 3).unwrap();
    assert_eq!(bodies(&second), ["编号 4", "编号 3", "编号 2"]);
    let last = inbox.page("c1", second.next_cursor, 3).unwrap();
    assert_eq!(bodies(&last), ["编号 1"]);
    assert_eq!(last.next_cursor, None);
    assert_eq!(inbox.since("c1", 5, 10).unwrap().len(), 2);

    // Status as the sending app sees it; another app sees nothing.
    let id = &sent[2].id;
    let d = f.n.delivery("test-app", id).unwrap().unwrap();
    assert!(d.pushed_at.is_none() && d.read_at.is_none());
    assert!(f.n.delivery("other-app", id).unwrap().is_none());
    inbox.mark_pushed(sent[2].number().unwrap()).unwrap();
    assert!(
        f.n.delivery("test-app", id)
            .unwrap()
            .unwrap()
            .pushed_at
            .is_some()
    );

    assert_eq!(inbox.unread("c1").unwrap(), 7);
    let read = f.n.mark_read("c1", id).unwrap();
    assert!(read.read && read.read_at.is_some());
    f.n.mark_read("c1", id).unwrap(); // twice counts once
    assert_eq!(inbox.unread("c1").unwrap(), 6);
    assert!(
        f.n.delivery("test-app", id)
            .unwrap()
            .unwrap()
            .read_at
            .is_some()
    );
    assert!(matches!(
        f.n.mark_read("c2", id),
        Err(ServiceError::NotFound(_))
    ));

    assert_eq!(f.n.delete("c1", &sent[6].id).unwrap(), 5);
    assert!(matches!(
        f.n.delete("c1", &sent[6].id),
        Err(ServiceError::NotFound(_))
    ));
    assert_eq!(f.n.delete("c1", id).unwrap(), 5, "deleting a read one");
    assert_eq!(f.n.mark_all_read("c1").unwrap(), 5);
    assert_eq!(inbox.unread("c1").unwrap(), 0);
    assert_eq!(inbox.page("c1", None, 100).unwrap().messages.len(), 5);
    assert!(
        inbox
            .page("c1", None, 100)
            .unwrap()
            .messages
            .iter()
            .all(|m| m.read)
    );
}

#[test]
fn messages_and_subscriptions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = Manifest::parse(MANIFEST).unwrap();
    let id = {
        let store = Store::open(dir.path()).unwrap();
        let n = Notifications::open(&store).unwrap();
        n.subscriptions
            .accept("c1", "test-app", "always", TemplateKind::LongTerm)
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
            .unwrap();
        store.flush().unwrap();
        m.id.clone()
    };
    let store = Store::open(dir.path()).unwrap();
    let n = Notifications::open(&store).unwrap();
    assert_eq!(n.inbox.unread("c1").unwrap(), 1);
    assert_eq!(n.inbox.page("c1", None, 10).unwrap().messages[0].id, id);
    assert!(
        n.subscriptions
            .get("c1", "test-app", "always")
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn open_streams_hear_new_messages_and_unread_counts() {
    let f = fixture();
    f.accept("c1", "always");
    let mut live = f.n.live().subscribe("c1");
    assert_eq!(f.n.live().citizens_listening(), 1);
    let sent = f.send("c1", "always", 1).unwrap();
    match live.next().await {
        live::Heard::Event(LiveEvent::Message(m, unread)) => {
            assert_eq!(m.id, sent.id);
            assert_eq!(unread, 1);
        }
        other => panic!("expected the message, got {other:?}"),
    }
    f.n.mark_read("c1", &sent.id).unwrap();
    assert!(matches!(
        live.next().await,
        live::Heard::Event(LiveEvent::Unread(0))
    ));
    f.n.live().close();
    assert!(matches!(live.next().await, live::Heard::Closing));
    drop(live);
    assert_eq!(f.n.live().citizens_listening(), 0);
}
