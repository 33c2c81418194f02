//! Notifications end to end: the subscription sheet, move-my-car's
//! request / read / reply journey, the inbox API, and the live stream
//! (`/api/inbox/stream`) read over real HTTP streaming, with resume after a
//! dropped connection and a graceful shutdown with streams open.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Citizen, TestHost};

/// One server-sent event.
#[derive(Debug, Default)]
pub(crate) struct SseEvent {
    pub(crate) event: String,
    pub(crate) id: Option<String>,
    pub(crate) data: String,
}

/// Reads events from a streaming response.
pub(crate) struct EventStream {
    response: reqwest::Response,
    buf: Vec<u8>,
}

impl EventStream {
    pub(crate) async fn open(c: &Citizen, base: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = c.http.get(format!("{base}/api/inbox/stream"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        EventStream {
            response,
            buf: Vec::new(),
        }
    }

    /// The next event (comments skipped); `None` when the stream ends.
    pub(crate) async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(block).unwrap();
                let mut event = SseEvent {
                    event: "message".into(),
                    ..Default::default()
                };
                let mut any = false;
                for line in text.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => event.event = value.into(),
                        "id" => event.id = Some(value.into()),
                        "data" => {
                            event.data.push_str(value);
                            any = true;
                        }
                        _ => {}
                    }
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buf.extend_from_slice(&chunk),
                _ => return None,
            }
        }
    }

    /// The next event within `limit`, which must be of `kind`.
    pub(crate) async fn expect(&mut self, kind: &str, limit: Duration) -> SseEvent {
        let event = tokio::time::timeout(limit, self.next())
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` event within {limit:?}"))
            .expect("the stream ended");
        assert_eq!(event.event, kind, "{event:?}");
        event
    }
}

pub(crate) fn data(event: &SseEvent) -> Value {
    serde_json::from_str(&event.data).unwrap()
}

async fn status(r: reqwest::Response) -> (u16, Value) {
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

/// Registers and signs in a new citizen.
async fn new_citizen(host: &TestHost, phone: &str) -> Citizen {
    let c = host.client();
    let r = c.register(phone, "a good password").await;
    assert!(r.status().is_success(), "register {phone}: {}", r.status());
    let r = c
        .post_json(
            "/api/login",
            &json!({"phone": phone, "password": "a good password"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    c
}

pub(crate) async fn ask_to_move(c: &Citizen, plate: &str) -> String {
    let r = c
        .post_form("/apps/move-my-car/requests", &[("plate", plate)])
        .await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn subscription_sheet_decides_each_template() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;

    let sheet = c
        .get_json(
            "/api/subscriptions/move-my-car?templates=move-request,move-reply",
            200,
        )
        .await;
    assert_eq!(sheet["app_name"], "挪车");
    assert_eq!(sheet["department"], "杭州市公安局交通警察支队");
    assert_eq!(sheet["templates"][0]["title"], "请挪车");
    assert_eq!(sheet["templates"][0]["kind"], "long-term");
    assert_eq!(sheet["templates"][1]["kind"], "one-time");
    assert_eq!(sheet["templates"][1]["subscribed"], false);

    for (query, why) in [
        ("templates=a,b,c,d", "more than three"),
        ("templates=nope", "unknown"),
        ("templates=move-reply,move-reply", "twice"),
        ("", "none"),
    ] {
        let (code, body) = status(
            c.get(&format!("/api/subscriptions/move-my-car?{query}"))
                .await,
        )
        .await;
        assert_eq!(code, 400, "{why}");
        assert_eq!(body["error"]["field"], "templates", "{why}");
    }
    // A receipt is not subscribable.
    let (code, _) = status(
        c.get("/api/subscriptions/utility-bills?templates=receipt")
            .await,
    )
    .await;
    assert_eq!(code, 400);

    // Accept one, reject the other: only the accepted one is recorded.
    let r = c
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": "move-my-car", "decisions": [
                {"template": "move-request", "decision": "accept"},
                {"template": "move-reply", "decision": "reject"},
            ]}),
        )
        .await;
    let (code, decided) = status(r).await;
    assert_eq!(code, 200);
    assert_eq!(decided["accepted"], json!(["move-request"]));
    assert_eq!(decided["rejected"], json!(["move-reply"]));
    let list = c.get_json("/api/subscriptions", 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["title"], "请挪车");
    assert_eq!(list[0]["kind"], "long-term");

    let r = c
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": "move-my-car", "decisions": [
                {"template": "move-reply", "decision": "maybe"}]}),
        )
        .await;
    assert_eq!(status(r).await.0, 400);

    // Cancel.
    let url = "/api/subscriptions/move-my-car/move-request";
    assert_eq!(c.delete(url).await.status(), 204);
    assert_eq!(c.delete(url).await.status(), 404);
    assert!(
        c.get_json("/api/subscriptions", 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn move_my_car_request_read_and_reply_without_revealing_anyone() {
    let host = TestHost::start().await;
    let requester = host.demo_citizen("13800000001").await;
    let owner = host.demo_citizen("13800000002").await;

    // The owner cancels move requests: the requester is told, nothing is sent.
    let url = "/api/subscriptions/move-my-car/move-request";
    assert_eq!(owner.delete(url).await.status(), 204);
    let answer = ask_to_move(&requester, "浙A12345").await;
    assert!(answer.contains("没有开启挪车通知"), "{answer}");
    assert_eq!(owner.get_json("/api/inbox", 200).await["unread"], 0);
    // The owner's own page offers the subscription again.
    let index = owner.get("/apps/move-my-car/").await.text().await.unwrap();
    assert!(index.contains("\"kind\":\"subscribe\""), "{index}");
    let r = owner
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": "move-my-car", "decisions": [
                {"template": "move-request", "decision": "accept"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);

    // Now the request reaches the owner; the requester is offered the reply.
    let answer = ask_to_move(&requester, "浙A12345").await;
    assert!(answer.contains("已通知车主"), "{answer}");
    assert!(answer.contains("move-reply"), "{answer}");
    let inbox = owner.get_json("/api/inbox", 200).await;
    let message = &inbox["messages"][0];
    assert_eq!(message["template"], "move-request");
    assert_eq!(message["title"], "请挪车");
    let link = message["link_path"].as_str().unwrap().to_string();
    assert!(link.starts_with("/request?id="), "{link}");
    for personal in ["13800000001", "张三"] {
        assert!(!inbox.to_string().contains(personal));
    }

    // The requester sees it delivered, then read once the owner opens it.
    let status_page = || async {
        requester
            .get("/apps/move-my-car/")
            .await
            .text()
            .await
            .unwrap()
    };
    assert!(status_page().await.contains("尚未查看"));
    let id = message["id"].as_str().unwrap();
    let r = owner
        .post_json(&format!("/api/inbox/{id}/read"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert!(status_page().await.contains("车主已读"));

    // The requester accepts the one-time reply; the owner answers.
    let r = requester
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": "move-my-car", "decisions": [
                {"template": "move-reply", "decision": "accept"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let request_id = link.trim_start_matches("/request?id=").to_string();
    let page = owner
        .get(&format!("/apps/move-my-car{link}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("我这就去挪车"), "{page}");
    // Nobody else can see or answer it.
    let stranger = new_citizen(&host, "13900000009").await;
    assert_eq!(
        stranger
            .get(&format!("/apps/move-my-car{link}"))
            .await
            .status(),
        404
    );
    let r = owner
        .post_form("/apps/move-my-car/reply", &[("id", &request_id)])
        .await;
    assert_eq!(r.status(), 200);
    let mine = requester.get_json("/api/inbox", 200).await;
    let reply = &mine["messages"][0];
    assert_eq!(reply["template"], "move-reply");
    assert!(reply["body"].as_str().unwrap().contains("浙A12345"));
    for personal in ["13800000002", "李四"] {
        assert!(!mine.to_string().contains(personal));
    }
    assert!(status_page().await.contains("正在赶来"));

    // The one-time subscription is used up.
    assert!(
        requester
            .get_json("/api/subscriptions", 200)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn inbox_pages_and_read_state_over_http() {
    let host = TestHost::start().await;
    let owner = host.demo_citizen("13800000002").await;
    // Three requesters, three messages.
    for (i, phone) in ["13900000011", "13900000012", "13900000013"]
        .iter()
        .enumerate()
    {
        let c = new_citizen(&host, phone).await;
        let answer = ask_to_move(&c, "浙A12345").await;
        assert!(answer.contains("已通知车主"), "{i}: {answer}");
    }
    let first = owner.get_json("/api/inbox?limit=2", 200).await;
    assert_eq!(first["unread"], 3);
    assert_eq!(first["messages"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_u64().unwrap();
    let second = owner
        .get_json(&format!("/api/inbox?limit=2&before={cursor}"), 200)
        .await;
    assert_eq!(second["messages"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none());
    let seqs: Vec<u64> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["messages"].as_array().unwrap())
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [3, 2, 1], "newest first");

    for bad in ["limit=0", "limit=101", "before=x"] {
        let (code, body) = status(owner.get(&format!("/api/inbox?{bad}")).await).await;
        assert_eq!(code, 400, "{bad}");
        assert_eq!(body["error"]["field"], bad.split('=').next().unwrap());
    }

    let newest = first["messages"][0]["id"].as_str().unwrap().to_string();
    let r = owner.delete(&format!("/api/inbox/{newest}")).await;
    assert_eq!(r.status(), 204);
    assert_eq!(owner.get_json("/api/inbox/unread", 200).await["unread"], 2);
    // Another citizen cannot touch it.
    let other = host.demo_citizen("13800000001").await;
    let oldest = second["messages"][0]["id"].as_str().unwrap();
    let r = other
        .post_json(&format!("/api/inbox/{oldest}/read"), &json!({}))
        .await;
    assert_eq!(r.status(), 404);
    let r = owner.post_json("/api/inbox/read-all", &json!({})).await;
    let (code, marked) = status(r).await;
    assert_eq!(code, 200);
    assert_eq!(marked["marked"], 2);
    assert_eq!(marked["unread"], 0);
    let all = owner.get_json("/api/inbox", 200).await;
    assert_eq!(all["messages"].as_array().unwrap().len(), 2);
    assert!(
        all["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["read"] == true)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn live_stream_delivers_within_a_second_and_resumes_after_a_drop() {
    let host = TestHost::start().await;
    let owner = host.demo_citizen("13800000002").await;
    let first_requester = host.demo_citizen("13800000001").await;

    let mut stream = EventStream::open(&owner, &host.base, None).await;
    let ready = stream.expect("ready", Duration::from_secs(5)).await;
    assert_eq!(ready.id.as_deref(), Some("0"));
    assert_eq!(data(&ready)["unread"], 0);

    // A mini-app sends (move-my-car, as the requester asks); the owner's
    // open stream has it within one second of the request's answer.
    ask_to_move(&first_requester, "浙A12345").await;
    let pushed = stream.expect("message", Duration::from_secs(1)).await;
    assert_eq!(pushed.id.as_deref(), Some("1"));
    let body = data(&pushed);
    assert_eq!(body["unread"], 1);
    assert_eq!(body["message"]["app_name"], "挪车");
    assert_eq!(body["message"]["template"], "move-request");
    let message_id = body["message"]["id"].as_str().unwrap().to_string();

    // Reading it elsewhere updates the count on the stream.
    let r = owner
        .post_json(&format!("/api/inbox/{message_id}/read"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let unread = stream.expect("unread", Duration::from_secs(1)).await;
    assert_eq!(data(&unread)["unread"], 0);

    // The connection drops; two messages are sent meanwhile.
    drop(stream);
    for phone in ["13900000021", "13900000022"] {
        let c = new_citizen(&host, phone).await;
        ask_to_move(&c, "浙A12345").await;
    }
    // Resuming from the last id received replays exactly what was missed.
    let mut resumed = EventStream::open(&owner, &host.base, Some("1")).await;
    let ready = resumed.expect("ready", Duration::from_secs(5)).await;
    assert_eq!(ready.id.as_deref(), Some("1"));
    assert_eq!(data(&ready)["unread"], 2);
    let second = resumed.expect("message", Duration::from_secs(1)).await;
    let third = resumed.expect("message", Duration::from_secs(1)).await;
    assert_eq!(second.id.as_deref(), Some("2"));
    assert_eq!(third.id.as_deref(), Some("3"));
    // Then live again.
    let c = new_citizen(&host, "13900000023").await;
    ask_to_move(&c, "浙A12345").await;
    let fourth = resumed.expect("message", Duration::from_secs(1)).await;
    assert_eq!(fourth.id.as_deref(), Some("4"));

    // The app sees the messages as pushed.
    let delivery = host
        .platform
        .services
        .notifications
        .delivery("move-my-car", &message_id)
        .await
        .unwrap()
        .unwrap();
    assert!(delivery.pushed_at.is_some() && delivery.read_at.is_some());

    // A malformed Last-Event-ID is a 400 naming the header.
    let r = owner
        .http
        .get(format!("{}/api/inbox/stream", host.base))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    let (code, body) = status(r).await;
    assert_eq!(code, 400);
    assert_eq!(body["error"]["field"], "Last-Event-ID");
    // Signed-out clients get no stream.
    assert_eq!(host.client().get("/api/inbox/stream").await.status(), 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_ends_open_streams_promptly() {
    let host = TestHost::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cityhost::http::serve_until(
        listener,
        host.platform.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    let owner = host.demo_citizen("13800000002").await;
    let mut stream = EventStream::open(&owner, &base, None).await;
    stream.expect("ready", Duration::from_secs(5)).await;
    stop.send(()).unwrap();
    // The stream ends and the server returns well inside its 10 s grace.
    let ended = tokio::time::timeout(Duration::from_secs(3), stream.next())
        .await
        .expect("the stream did not end");
    assert!(ended.is_none());
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_departments_system_messages_a_subscribed_citizen_by_openid() {
    const POLICE: &str = "11330100002497866N"; // move-my-car's department
    const WATER: &str = "91330100143044481D"; // utility-bills' department
    let host = TestHost::start().await;
    let c = new_citizen(&host, "13900000081").await;
    let openid = host.openid("13900000081", "move-my-car").await;
    let token = host.department_token(POLICE, &["messages"]).await;
    let send = |uscc: &str, app: &str, token: &str, body: Value| {
        let request = reqwest::Client::new()
            .post(format!(
                "{}/api/departments/{uscc}/apps/{app}/messages",
                host.base
            ))
            .bearer_auth(token)
            .json(&body);
        async move { status(request.send().await.unwrap()).await }
    };
    let message = json!({
        "openid": openid,
        "template": "move-request",
        "params": {"plate": "浙A12345", "location": "文三路 90 号", "note": "请挪车"},
        "link_path": "/",
    });

    // Not subscribed yet: refused, nothing in the inbox.
    let (code, body) = send(POLICE, "move-my-car", &token, message.clone()).await;
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (403, Some("not_subscribed")),
        "{body}"
    );
    let r = c
        .post_json(
            "/api/subscriptions",
            &json!({"app_id": "move-my-car", "decisions": [
                {"template": "move-request", "decision": "accept"}]}),
        )
        .await;
    assert_eq!(status(r).await.0, 200);
    let (code, body) = send(POLICE, "move-my-car", &token, message.clone()).await;
    assert_eq!(code, 201, "{body}");
    assert!(body["message_id"].as_str().is_some_and(|id| !id.is_empty()));
    let inbox = c.get_json("/api/inbox", 200).await;
    assert!(inbox.to_string().contains("浙A12345"), "{inbox}");

    // Bad input names the field; another department, a token without the
    // scope and someone else's app are refused.
    let mut bad = message.clone();
    bad["openid"] = json!("o".repeat(28));
    let (code, body) = send(POLICE, "move-my-car", &token, bad).await;
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (400, Some("openid")),
        "{body}"
    );
    let mut bad = message.clone();
    bad["params"]["plate"] = json!("浙A123456789012");
    let (code, body) = send(POLICE, "move-my-car", &token, bad).await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("params.plate"),
        "{body}"
    );
    let (code, body) = send(POLICE, "move-my-car", &token, json!({"openid": openid})).await;
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (400, Some("template")),
        "{body}"
    );
    let (code, _) = send("not-a-code", "move-my-car", &token, message.clone()).await;
    assert_eq!(code, 400);
    let water = host.department_token(WATER, &["messages"]).await;
    assert_eq!(
        send(POLICE, "move-my-car", &water, message.clone()).await.0,
        403
    );
    assert_eq!(
        send(WATER, "move-my-car", &water, message.clone()).await.0,
        404
    );
    let statements = host.department_token(POLICE, &["statements"]).await;
    assert_eq!(
        send(POLICE, "move-my-car", &statements, message.clone())
            .await
            .0,
        403
    );

    // Audited as the department's call, with the citizen's openid.
    let records = host
        .operator_json("/api/operator/audit?app=move-my-car")
        .await;
    let sent: Vec<&Value> = records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["capability"] == "department.send-message")
        .collect();
    assert!(
        sent.iter()
            .any(|r| r["outcome"] == "ok" && r["openid"] == openid),
        "{records}"
    );
}
