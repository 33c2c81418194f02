//! 水电煤缴费 (utility bills): look up an account's water, power and gas
//! bills and pay them in the host's payment sheet.
//!
//! - `GET /` asks for the account number (户号);
//! - `GET /bills?account=N` lists the bills, settling any whose order the
//!   host reports paid, with a pay button per unpaid bill;
//! - `POST /pay` (form `account`, `bill`) creates the bill's order for the
//!   current citizen and answers a button that opens the payment sheet —
//!   only for an order `create_order` returned to this request, never one
//!   found by a query (it may be another citizen's). Someone else's unpaid
//!   order for the bill holds nothing up: the bill gets a new order number
//!   (a citizen cannot hold another's bill by opening it and walking away);
//!   only after [`MAX_ATTEMPTS`] numbers all held by others does it answer
//!   an alert instead;
//! - event `payment.succeeded` marks the bill paid and sends the citizen a
//!   receipt; a second order paid for a bill already paid (two citizens
//!   paying at once) is refunded in full (refund number `dup-{order}`).

mod bill;

use bill::{Attempt, Bill, Status};
use cityhost_sdk::payment::{self, Order, OrderRequest};
use cityhost_sdk::view::{Action, AlertLevel, Field, Form, Table};
use cityhost_sdk::{Error, Request, Response, Result, Router, View, log, money, notify, time};
use serde::Deserialize;

const TITLE: &str = "水电煤缴费";

/// The demo accounts, shown as a hint.
const DEMO_ACCOUNTS: &str = "3301001、3301002";

/// The account field's label, also used when reporting it.
const ACCOUNT_LABEL: &str = "户号";

/// How many order numbers one `POST /pay` tries: the bill's current one and,
/// if that order died or is someone else's unpaid one, fresh ones.
const MAX_ATTEMPTS: u32 = 3;

fn app() -> Router {
    Router::new()
        .get("/", index)
        .get("/bills", bills)
        .post("/pay", pay)
        // The only refunds are of duplicate payments, made by the app
        // itself: nothing to record, so refund events are accepted as they
        // come.
        .on_payment_succeeded(payment_succeeded)
}

cityhost_sdk::export_app!(app());

fn account_form() -> Form {
    Form::get("/bills", "查询账单").field(
        Field::text("account", ACCOUNT_LABEL)
            .required()
            .placeholder("请输入户号，如 3301001"),
    )
}

/// `GET /`: the account form.
fn index(_req: &Request) -> Result<View> {
    Ok(View::new(TITLE)
        .heading("查询账单")
        .text("输入水、电、燃气账单上的户号，查询并缴纳待缴账单。")
        .form(account_form())
        .alert(AlertLevel::Info, format!("演示户号：{DEMO_ACCOUNTS}")))
}

#[derive(Deserialize)]
struct AccountQuery {
    account: String,
}

/// The normalised account number of a form field, or a 400 naming it.
fn checked_account(account: &str) -> Result<String> {
    let account = bill::normalise_account(account);
    if bill::is_account_number(&account) {
        Ok(account)
    } else {
        Err(Error::bad_request(ACCOUNT_LABEL, "应为 5-20 位数字"))
    }
}

fn bills_path(account: &str) -> String {
    format!("/bills?account={account}")
}

/// `GET /bills?account=N`: the account's bills.
fn bills(req: &Request) -> Result<Response> {
    let account = checked_account(&req.query_as::<AccountQuery>()?.account)?;
    let Some(info) = bill::account(&account)? else {
        let view = View::new(TITLE)
            .alert(
                AlertLevel::Warning,
                format!("未找到户号 {account}，请核对账单上的户号。"),
            )
            .form(account_form())
            .text(format!("演示户号：{DEMO_ACCOUNTS}"));
        return Ok(Response::view(view).status(404));
    };
    let mut bills = bill::bills(&account)?;
    for b in bills.iter_mut() {
        settle_if_paid(b)?;
    }
    let due: u64 = bills
        .iter()
        .filter(|b| b.status == Status::Unpaid)
        .map(|b| b.amount_fen)
        .sum();
    let mut table = Table::new(["账期", "类型", "金额", "状态"]);
    for b in &bills {
        let status = match (b.status, b.paid_at) {
            (Status::Unpaid, _) => "待缴".to_string(),
            (Status::Paid, Some(at)) => format!("已缴 {}", time::format_beijing_date(at)),
            (Status::Paid, None) => "已缴".to_string(),
        };
        table = table.row([b.period.clone(), b.kind.label().into(), b.amount(), status]);
    }
    let mut view = View::new(TITLE)
        .kv([
            ("户号", info.account.clone()),
            ("户名", info.holder.clone()),
            ("地址", bill::mask_address(&info.address)),
            ("待缴合计", money::format_fen(due)),
        ])
        .heading("账单")
        .table(table);
    if due == 0 {
        view = view.alert(AlertLevel::Success, "该户号的账单已全部缴清。");
    } else {
        view = view.heading("待缴账单");
        for b in bills.iter().filter(|b| b.status == Status::Unpaid) {
            let action = Action::post(
                "/pay",
                [("account", account.as_str()), ("bill", b.bill_id.as_str())],
            );
            view = view.button(format!("缴纳 {} {}", b.title(), b.amount()), action);
        }
    }
    Ok(Response::view(view.link("查询其他户号", "/")))
}

/// Marks `b` paid if its pending order is paid (the citizen may come back
/// before the host's event arrives).
fn settle_if_paid(b: &mut Bill) -> Result<()> {
    if b.status == Status::Paid {
        return Ok(());
    }
    let Some(no) = b.out_trade_no.clone() else {
        return Ok(());
    };
    if let Some(order) = payment::query_order(&no)?.filter(Order::is_paid) {
        b.mark_paid(&order);
        bill::save(b)?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct PayForm {
    account: String,
    bill: String,
}

/// `POST /pay`: the bill's order for the current citizen and a button to
/// pay it.
///
/// The button is only ever for the order `create_order` returns to this
/// request: it is idempotent for the same citizen and fields, so a citizen
/// paying twice gets their own order back. A bill's numbers are tried in
/// turn ([`Bill::trade_no`]); a new one is issued when the order under the
/// current one is cancelled, expired or someone else's unpaid one, so
/// nobody can hold a bill for others. Two citizens may then both pay: the
/// `payment.succeeded` handler refunds the later payment.
fn pay(req: &Request) -> Result<Response> {
    let form: PayForm = req.form()?;
    let account = checked_account(&form.account)?;
    let mut b = bill::bill(&account, &form.bill)?.ok_or_else(|| Error::not_found("该账单"))?;
    let back = bills_path(&account);
    if b.status == Status::Paid {
        return Ok(paid_view(&b, &back));
    }
    for attempt in 0..MAX_ATTEMPTS {
        let no = b.trade_no();
        if b.out_trade_no.as_deref() != Some(no.as_str()) {
            // Remember the number before creating the order, so that an
            // order can always be traced back to its bill. (Only when it
            // changes: rewriting an unchanged bill could undo a concurrent
            // payment.)
            b.out_trade_no = Some(no.clone());
            bill::save(&b)?;
            bill::save_trade(&no, &b)?;
        }
        let created = payment::create_order(&OrderRequest {
            out_trade_no: no.clone(),
            amount_fen: b.amount_fen,
            subject: b.subject(),
            return_path: back.clone(),
            expires_in_ms: None,
        });
        match bill::attempt_outcome(created, || payment::query_order(&no))? {
            Attempt::Payable(order) => return Ok(pay_view(&b, &order, &back)),
            Attempt::Paid(order) => {
                b.mark_paid(&order);
                bill::save(&b)?;
                return Ok(paid_view(&b, &back));
            }
            // Someone else's unpaid order: it does not hold the bill; a
            // second payment, should both be paid, is refunded.
            Attempt::PendingElsewhere if attempt + 1 == MAX_ATTEMPTS => {
                return Ok(pending_view(&b, &back));
            }
            Attempt::PendingElsewhere => b.retries += 1,
            // A dead order cannot be paid: number a new one.
            Attempt::Reissue => b.retries += 1,
        }
    }
    Err(Error::Conflict("out-trade-no".into()))
}

fn pay_view(b: &Bill, order: &Order, back: &str) -> Response {
    let view = View::new("确认缴费")
        .kv([
            ("户号", b.account.clone()),
            ("账单", b.title()),
            ("金额", b.amount()),
            ("订单号", order.out_trade_no.clone()),
        ])
        .button(format!("去支付 {}", b.amount()), order.pay_action())
        .text("支付在平台的收银台完成，支付成功后将返回账单页，并在消息中心收到缴费凭证。")
        .link("返回账单", back);
    Response::view(view)
}

/// Others hold every order number tried: no pay button this time.
fn pending_view(b: &Bill, back: &str) -> Response {
    let view = View::new(TITLE)
        .alert(AlertLevel::Warning, PENDING_ALERT)
        .kv([
            ("户号", b.account.clone()),
            ("账单", b.title()),
            ("金额", b.amount()),
        ])
        .link("返回账单", back);
    Response::view(view).status(409)
}

/// What [`pending_view`] tells the citizen.
const PENDING_ALERT: &str = "该账单已有一笔待支付订单，请 15 分钟后再试。";

fn paid_view(b: &Bill, back: &str) -> Response {
    let view = View::new(TITLE)
        .alert(
            AlertLevel::Success,
            format!("{} {} 已缴清，无需重复缴纳。", b.title(), b.amount()),
        )
        .link("返回账单", back);
    Response::view(view)
}

/// Event `payment.succeeded`: mark the bill paid and send the receipt.
/// Idempotent: the host retries until it gets a 2xx.
fn payment_succeeded(event: &Order) -> Result<()> {
    let no = event.out_trade_no.clone();
    // Trust the host's order record, not the event body alone.
    let order = match payment::query_order(&no)? {
        Some(order) if order.is_paid() => order,
        Some(_) => return Err(Error::Unavailable(format!("order {no} is not paid yet"))),
        None => {
            log::warn("payment.succeeded for an unknown order");
            return Ok(());
        }
    };
    let Some(mut b) = bill::by_trade(&no)? else {
        log::warn("payment.succeeded for an order without a bill");
        return Ok(());
    };
    if b.status == Status::Paid && b.out_trade_no.as_deref() != Some(no.as_str()) {
        // Two citizens paid the same bill at once: the later payment goes
        // back in full (idempotent under its refund number).
        payment::refund(&payment::RefundRequest {
            out_trade_no: no.clone(),
            out_request_no: format!("dup-{no}"),
            amount_fen: order.amount_fen,
            reason: format!("{} 重复缴费退款", b.title()),
        })?;
        return Ok(());
    }
    if b.status == Status::Unpaid {
        b.mark_paid(&order);
        bill::save(&b)?;
    }
    let _ = log::write(
        log::Level::Info,
        "bill paid",
        &[("bill", &b.bill_id), ("out_trade_no", &no)],
    );
    if !b.receipt_sent {
        let paid_at = b.paid_at.map(time::format_beijing).unwrap_or_default();
        // The `receipt` template (cityhost.toml) needs no subscription: it
        // is sent to the paying citizen while handling their own payment.
        let receipt = notify::Message::template("receipt")
            .param("account", &b.account)
            .param("bill", b.title())
            .param("amount", money::format_fen(order.amount_fen))
            .param("order", &no)
            .param("paid_at", paid_at)
            .link(bills_path(&b.account));
        notify::send(&receipt)?;
        b.receipt_sent = true;
        bill::save(&b)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cityhost_sdk::Method;

    use super::*;

    #[test]
    fn index_offers_the_account_form_and_demo_accounts() {
        let res = app().handle(&Request::new(Method::Get, "/"));
        let json = String::from_utf8(res.body().to_vec()).unwrap();
        assert!(json.contains(r#""action":"/bills""#));
        assert!(json.contains("3301001"));
    }

    #[test]
    fn a_malformed_account_is_a_400_naming_it() {
        let req = Request::new(Method::Get, "/bills").with_query("account", "abc");
        let res = app().handle(&req);
        assert_eq!(res.status_code(), 400);
        let body = String::from_utf8_lossy(res.body());
        assert!(body.contains("「户号」"), "{body}");
        assert!(!body.contains("account"), "{body}");
    }

    #[test]
    fn accounts_may_be_typed_full_width() {
        assert_eq!(checked_account("３３０１００１").unwrap(), "3301001");
        assert_eq!(checked_account(" 3301002 ").unwrap(), "3301002");
    }

    #[test]
    fn the_pending_view_has_no_pay_button() {
        let b: Bill = serde_json::from_str(
            r#"{"bill_id":"3301002-water-202610","account":"3301002","kind":"water",
                "period":"2026-10","amount_fen":4560,"status":"unpaid",
                "out_trade_no":"ub-3301002-water-202610"}"#,
        )
        .unwrap();
        let res = pending_view(&b, "/bills?account=3301002");
        assert_eq!(res.status_code(), 409);
        let body = String::from_utf8_lossy(res.body());
        assert!(body.contains(PENDING_ALERT));
        assert!(!body.contains(r#""kind":"pay""#), "{body}");
        assert!(!body.contains("ub-3301002"), "no order number: {body}");
    }
}
