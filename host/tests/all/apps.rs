//! The bundled mini-apps' journeys, as a citizen does them in the shell.

use serde_json::{Value, json};

use cityhost::cli::demo;

use crate::support::{TestHost, actions, eventually};

const VIEW: &str = "application/vnd.cityhost.view+json";

async fn view(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with(VIEW),
        "content type {content_type}"
    );
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn utility_bill_is_paid_only_when_the_citizen_confirms() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;

    let bills = view(
        c.get("/apps/utility-bills/bills?account=3301001").await,
        200,
    )
    .await;
    let pay_buttons: Vec<&Value> = actions(&bills, "post")
        .into_iter()
        .filter(|a| a["path"] == "/pay")
        .collect();
    assert!(!pay_buttons.is_empty(), "no unpaid bill to pay: {bills}");
    let body = pay_buttons[0]["body"].as_object().unwrap();
    let form: Vec<(&str, &str)> = body
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let bill_id = body["bill"].as_str().unwrap().to_string();

    let checkout = view(c.post_form("/apps/utility-bills/pay", &form).await, 200).await;
    let pay = actions(&checkout, "pay");
    assert_eq!(pay.len(), 1, "{checkout}");
    let order_id = pay[0]["order_id"].as_str().unwrap().to_string();
    // Paying the same bill again reuses the same order (same out_trade_no).
    let again = view(c.post_form("/apps/utility-bills/pay", &form).await, 200).await;
    assert_eq!(actions(&again, "pay")[0]["order_id"], order_id.as_str());

    // Created, not paid, until the citizen confirms in the host.
    let order = c.get_json(&format!("/api/orders/{order_id}"), 200).await;
    assert_eq!(order["state"], "created");
    assert_eq!(order["app_id"], "utility-bills");
    assert!(order["amount_fen"].as_u64().unwrap() > 0);
    let still_unpaid = view(
        c.get("/apps/utility-bills/bills?account=3301001").await,
        200,
    )
    .await;
    assert!(
        actions(&still_unpaid, "post")
            .iter()
            .any(|a| a["body"]["bill"] == bill_id.as_str())
    );

    // Another citizen cannot see or confirm it; a form post cannot confirm it.
    let other = host.demo_citizen("13800000002").await;
    assert_eq!(
        other.get(&format!("/api/orders/{order_id}")).await.status(),
        404
    );
    let confirm = format!("/api/orders/{order_id}/confirm");
    assert_eq!(
        other
            .post_json(
                &confirm,
                &json!({"order_id": order_id, "pin": demo::DEMO_PIN})
            )
            .await
            .status(),
        404
    );
    assert_eq!(
        c.post_form(&confirm, &[("order_id", &order_id)])
            .await
            .status(),
        415
    );

    let paid = c
        .post_json(
            &confirm,
            &json!({"order_id": order_id, "pin": demo::DEMO_PIN}),
        )
        .await;
    assert_eq!(paid.status(), 200);
    assert_eq!(paid.json::<Value>().await.unwrap()["state"], "paid");
    assert_eq!(
        c.post_json(
            &confirm,
            &json!({"order_id": order_id, "pin": demo::DEMO_PIN})
        )
        .await
        .status(),
        409
    );

    // The app hears of it (event) and sends a receipt to the inbox.
    eventually("the receipt in the inbox", || async {
        let inbox = c.get_json("/api/inbox", 200).await;
        inbox["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["app_id"] == "utility-bills")
    })
    .await;
    let inbox = c.get_json("/api/inbox", 200).await;
    assert!(inbox["unread"].as_u64().unwrap() >= 1);
    let receipt = &inbox["messages"][0];
    assert_eq!(receipt["app_name"], "水电煤缴费");
    let id = receipt["id"].as_str().unwrap();
    assert_eq!(
        c.post_json(&format!("/api/inbox/{id}/read"), &json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        c.get_json("/api/inbox", 200).await["unread"]
            .as_u64()
            .unwrap(),
        inbox["unread"].as_u64().unwrap() - 1
    );

    // The bill now reads as paid: no pay button for it any more.
    let after = view(
        c.get("/apps/utility-bills/bills?account=3301001").await,
        200,
    )
    .await;
    assert!(
        !actions(&after, "post")
            .iter()
            .any(|a| a["body"]["bill"] == bill_id.as_str()),
        "{after}"
    );
    let orders = c.get_json("/api/orders", 200).await;
    assert_eq!(orders[0]["state"], "paid");
}

/// The bills are the water company's: a payment made in the host reaches
/// its billing service (started for the test host from utility-bills'
/// `[dev.backend]`), which then has the bill paid under the app's order
/// number.
#[tokio::test(flavor = "multi_thread")]
async fn a_utility_payment_is_recorded_by_the_billing_service() {
    let host = TestHost::start().await;
    let billing = host.backend_url("utility-bills");
    let backend_bill = |id: String| {
        let url = format!("{billing}/accounts/3301001/bills");
        async move {
            let bills: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            bills["bills"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["id"] == id.as_str())
                .cloned()
                .unwrap_or_else(|| panic!("no bill {id} in {bills}"))
        }
    };
    let c = host.demo_citizen("13800000001").await;
    let bills = view(
        c.get("/apps/utility-bills/bills?account=3301001").await,
        200,
    )
    .await;
    let button = actions(&bills, "post")
        .into_iter()
        .find(|a| a["path"] == "/pay")
        .expect("an unpaid bill")
        .clone();
    let bill_id = button["body"]["bill"].as_str().unwrap().to_string();
    assert_eq!(backend_bill(bill_id.clone()).await["status"], "unpaid");
    let form = [("account", "3301001"), ("bill", bill_id.as_str())];
    let checkout = view(c.post_form("/apps/utility-bills/pay", &form).await, 200).await;
    let order_id = actions(&checkout, "pay")[0]["order_id"]
        .as_str()
        .unwrap()
        .to_string();
    let paid = c
        .post_json(
            &format!("/api/orders/{order_id}/confirm"),
            &json!({"order_id": order_id, "pin": demo::DEMO_PIN}),
        )
        .await;
    assert_eq!(paid.status(), 200);
    let order = c.get_json(&format!("/api/orders/{order_id}"), 200).await;
    host.events_delivered().await;

    let recorded = backend_bill(bill_id.clone()).await;
    assert_eq!(recorded["status"], "paid", "{recorded}");
    assert_eq!(recorded["out_trade_no"], format!("ub-{bill_id}"));
    assert_eq!(recorded["amount_fen"], order["amount_fen"]);
    assert!(recorded["paid_at"].as_u64().unwrap() > 0);
    // The app shows what the billing service holds.
    let after = view(
        c.get("/apps/utility-bills/bills?account=3301001").await,
        200,
    )
    .await;
    assert!(
        !actions(&after, "post")
            .iter()
            .any(|a| a["body"]["bill"] == bill_id.as_str()),
        "{after}"
    );
    // Its data is its own, beside the host's.
    assert!(
        host.data_dir()
            .join("backends/utility-bills/billing.json")
            .is_file()
    );
}

/// With the billing service down, the citizen is told so in the app's own
/// view (not an error page), and nothing is paid against a bill the app
/// cannot see.
#[tokio::test(flavor = "multi_thread")]
async fn utility_bills_says_so_when_the_billing_service_is_down() {
    let mut host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    assert_eq!(
        c.get("/apps/utility-bills/bills?account=3301001")
            .await
            .status(),
        200
    );
    host.backends
        .of("utility-bills")
        .expect("the billing service")
        .stop()
        .await;
    for response in [
        c.get("/apps/utility-bills/bills?account=3301001").await,
        c.post_form(
            "/apps/utility-bills/pay",
            &[("account", "3301001"), ("bill", "3301001-gas-202610")],
        )
        .await,
    ] {
        let down = view(response, 503).await;
        let text = down.to_string();
        assert!(text.contains("账单系统暂时无法访问"), "{text}");
        assert!(actions(&down, "pay").is_empty(), "{text}");
    }
    let orders = c.get_json("/api/orders", 200).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(0), "{orders}");
}

#[tokio::test(flavor = "multi_thread")]
async fn housing_fund_shows_the_balance_after_consent() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;

    let asking = view(c.get("/apps/housing-fund/").await, 403).await;
    let consent = actions(&asking, "consent");
    assert_eq!(consent.len(), 1, "{asking}");
    assert_eq!(consent[0]["scope"], "auth_id_number");

    let sheet = c
        .get_json("/api/consents/housing-fund/auth_id_number", 200)
        .await;
    assert_eq!(sheet["granted"], false);
    assert_eq!(sheet["app_name"], "公积金查询");
    assert_eq!(sheet["department"], "杭州住房公积金管理中心");
    assert_eq!(sheet["division"], "杭州市");
    assert_eq!(sheet["purpose"], "按您的身份证号查询您本人的住房公积金账户");
    assert_eq!(sheet["fields"], json!(["姓名", "身份证号（完整）"]));
    let r = c
        .post_json(
            "/api/consents",
            &json!({"app_id": "housing-fund", "scope": "auth_id_number", "decision": "grant"}),
        )
        .await;
    assert_eq!(r.status(), 204);

    let balance = view(c.get("/apps/housing-fund/").await, 200).await;
    let text = balance.to_string();
    assert!(text.contains("\"kv\""), "{text}");
    assert!(
        text.contains("330100123456"),
        "found by the real number: {text}"
    );
    assert!(text.contains('¥'), "{text}");
    // The page shows the number masked.
    assert!(!text.contains("33010619900101123X"));
    assert!(text.contains("3****************X"), "{text}");

    // A service without a declared purpose cannot ask at all.
    let r = c.get("/api/consents/hello/auth_user").await;
    assert_eq!(r.status(), 403);
    let r = c
        .post_json(
            "/api/consents",
            &json!({"app_id": "hello", "scope": "auth_user", "decision": "grant"}),
        )
        .await;
    assert_eq!(r.status(), 403);

    // Withdrawing the grant closes the door again.
    let grants = c.get_json("/api/consents", 200).await;
    assert_eq!(grants[0]["app_id"], "housing-fund");
    assert_eq!(
        grants[0]["purpose"],
        "按您的身份证号查询您本人的住房公积金账户"
    );
    assert_eq!(
        c.delete("/api/consents/housing-fund/auth_id_number")
            .await
            .status(),
        204
    );
    view(c.get("/apps/housing-fund/").await, 403).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn move_my_car_reaches_the_owner_without_revealing_anyone() {
    let host = TestHost::start().await;
    let requester = host.demo_citizen("13800000001").await;
    let r = requester
        .post_form(
            "/apps/move-my-car/requests",
            &[("plate", "浙A 12345"), ("location", "西湖文化广场东门")],
        )
        .await;
    let answer = view(r, 200).await.to_string();
    assert!(
        !answer.contains("13800000002") && !answer.contains("李四"),
        "{answer}"
    );

    let owner = host.demo_citizen("13800000002").await;
    let inbox = owner.get_json("/api/inbox", 200).await;
    let messages = inbox["messages"].as_array().unwrap();
    let request = messages
        .iter()
        .find(|m| m["app_id"] == "move-my-car")
        .unwrap_or_else(|| panic!("no request in the owner's inbox: {inbox}"));
    let text = request.to_string();
    assert!(text.contains("浙A12345"), "{text}");
    assert!(text.contains("西湖文化广场东门"), "{text}");
    for personal in ["13800000001", "张三"] {
        assert!(!text.contains(personal), "the owner learns {personal}");
    }
    // Control and bidi characters never reach the owner's inbox.
    let r = requester
        .post_form(
            "/apps/move-my-car/requests",
            &[("plate", "浙A12345"), ("note", "line1\u{202E}evil")],
        )
        .await;
    let refused = view(r, 400).await.to_string();
    assert!(refused.contains("留言"), "{refused}");
    let after = owner.get_json("/api/inbox", 200).await;
    assert_eq!(after["messages"].as_array().unwrap().len(), messages.len());

    // The requester's own inbox got nothing from this.
    let mine = requester.get_json("/api/inbox", 200).await;
    assert!(
        !mine["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["app_id"] == "move-my-car")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn service_list_names_departments_and_divisions() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    let apps = c.get_json("/api/apps", 200).await;
    let ids: Vec<&str> = apps
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for id in ["utility-bills", "housing-fund", "move-my-car", "hello"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let bills = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "utility-bills")
        .unwrap();
    assert_eq!(
        bills["department"]["division_path"],
        json!(["浙江省", "杭州市"])
    );
    // The shell itself is served.
    let page = c.get("/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/shell/js/main.js"));
}

/// The relative module paths a shell script imports (`from './x.js'`).
fn imports(script: &str) -> Vec<String> {
    script
        .split("from '")
        .skip(1)
        .filter_map(|rest| rest.split_once('\'').map(|(path, _)| path.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shell_serves_every_module_it_imports_and_nothing_else() {
    let host = TestHost::start().await;
    let c = host.client();
    let page = c.get("/").await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(page.text().await.unwrap().contains("type=\"module\""));

    // Walk the module graph from main.js: every import is served as a script.
    let mut todo = vec!["js/main.js".to_string()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let r = c.get(&format!("/shell/{path}")).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "text/javascript; charset=utf-8",
            "{path}"
        );
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        for import in imports(&r.text().await.unwrap()) {
            let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
            for segment in import.split('/') {
                match segment {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    s => parts.push(s),
                }
            }
            todo.push(parts.join("/"));
        }
    }
    assert!(seen.len() > 10, "{seen:?}");

    let css = c.get("/shell/style.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // Unknown paths, other file types and empty segments are JSON 404s
    // (dot segments are checked in the host's unit tests: clients remove them).
    for path in [
        "/shell/js/nope.js",
        "/shell/index.html",
        "/shell/js//main.js",
        "/shell/js/main.js.map",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_citizens_language_reaches_the_app_as_accept_language() {
    let host = TestHost::start().await;
    let c = host.demo_citizen("13800000001").await;
    for (language, title) in [
        ("en", "Hello"),
        ("zh-CN", "你好"),
        ("en-GB,zh;q=0.5", "Hello"),
    ] {
        let r = c
            .http
            .get(format!("{}/apps/hello/", host.base))
            .header("accept", VIEW)
            .header("accept-language", language)
            .send()
            .await
            .unwrap();
        assert_eq!(view(r, 200).await["title"], title, "{language}");
    }
}

/// A citizen who opens a bill and walks away does not hold it for 15
/// minutes: another citizen gets an order of their own and pays; had the
/// first paid too, the app gives that payment back in full.
#[tokio::test(flavor = "multi_thread")]
async fn an_unpaid_utility_order_holds_nobody_up() {
    let host = TestHost::start().await;
    let first = host.demo_citizen("13800000001").await;
    let second = host.demo_citizen("13800000002").await;
    let bills = view(
        first.get("/apps/utility-bills/bills?account=3301001").await,
        200,
    )
    .await;
    let body = actions(&bills, "post")
        .into_iter()
        .find(|a| a["path"] == "/pay")
        .expect("an unpaid bill")["body"]
        .as_object()
        .unwrap()
        .clone();
    let form: Vec<(&str, &str)> = body
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let order_of = |checkout: &Value| {
        actions(checkout, "pay")
            .first()
            .unwrap_or_else(|| panic!("a pay button: {checkout}"))["order_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let held = order_of(&view(first.post_form("/apps/utility-bills/pay", &form).await, 200).await);
    let own = order_of(
        &view(
            second.post_form("/apps/utility-bills/pay", &form).await,
            200,
        )
        .await,
    );
    assert_ne!(held, own);
    for (citizen, order) in [(&second, &own), (&first, &held)] {
        let r = citizen
            .post_json(
                &format!("/api/orders/{order}/confirm"),
                &json!({"order_id": order, "pin": demo::DEMO_PIN}),
            )
            .await;
        assert_eq!(r.status(), 200);
        // Each payment's event is handled before the next payment.
        host.events_delivered().await;
    }
    eventually("the duplicate payment refunded", || async {
        let receipt = first.get_json(&format!("/api/orders/{held}"), 200).await;
        receipt["state"] == "refunded"
    })
    .await;
    let kept = second.get_json(&format!("/api/orders/{own}"), 200).await;
    assert_eq!(kept["state"], "paid");
}
