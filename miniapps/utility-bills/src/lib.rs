//! 水电煤缴费 (utility bills): look up an account's water, power and gas
//! bills and pay them in the host's payment sheet.
//!
//! The accounts and bills are the water company's: the app reads them from
//! its billing service (package `hzwater-billing` beside this crate) through
//! the host's `http` capability ([`billing`]) and reports each payment back
//! to it. The app's own storage holds only its order state: which order
//! number is current for a bill, and whether an order's receipt was sent
//! ([`bill`]). `cityhost demo` and the host's tests start the billing
//! service from the manifest's `[dev.backend]`.
//!
//! - `GET /` asks for the account number (户号);
//! - `GET /bills?account=N` lists the bills, reporting to the billing
//!   service any whose order the host reports paid, with a pay button per
//!   unpaid bill;
//! - `POST /pay` (form `account`, `bill`) creates the bill's order for the
//!   current citizen and answers a button that opens the payment sheet —
//!   only for an order `create_order` returned to this request, never one
//!   found by a query (it may be another citizen's). Someone else's unpaid
//!   order for the bill holds nothing up: the bill gets a new order number
//!   (a citizen cannot hold another's bill by opening it and walking away);
//!   only after [`MAX_ATTEMPTS`] numbers all held by others does it answer
//!   an alert instead;
//! - event `payment.succeeded` reports the payment to the billing service
//!   (idempotent by order number) and sends the citizen a receipt; a
//!   payment the billing service does not take — the bill was paid by
//!   another order first (two citizens paying at once), or its amount
//!   changed — is refunded in full (refund number `dup-{order}`).
//!
//! When the billing service cannot be reached, the citizen sees an alert
//! saying so (503) and the payment event is retried by the host until the
//! payment is recorded.

mod bill;
mod billing;

use bill::{Attempt, Bill, BillOrder, Status};
use billing::{Reported, Unreachable};
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

/// What the citizen is told when the billing service cannot be reached.
const UNREACHABLE_ALERT: &str =
    "水务集团账单系统暂时无法访问，请稍后再试。已完成的缴费不受影响，系统恢复后会自动入账。";

fn app() -> Router {
    Router::new()
        .get("/", index)
        .get("/bills", |req: &Request| answer(bills(req)))
        .post("/pay", |req: &Request| answer(pay(req)))
        // The only refunds are of payments the billing service did not
        // take, made by the app itself: nothing to record, so refund events
        // are accepted as they come.
        .on_payment_succeeded(payment_succeeded)
}

cityhost_sdk::export_app!(app());

/// Why a page could not be shown: an SDK error (its own status and view)
/// or the billing service out of reach.
enum Failure {
    Sdk(Error),
    Billing(Unreachable),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
    }
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Self {
        Failure::Billing(e)
    }
}

/// A page's response: the billing service out of reach is a view with an
/// alert, not an error page.
fn answer(result: std::result::Result<Response, Failure>) -> Result<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(Failure::Sdk(e)) => Err(e),
        Err(Failure::Billing(Unreachable(reason))) => {
            let _ = log::write(
                log::Level::Warn,
                "billing service unreachable",
                &[("reason", &reason)],
            );
            Ok(unreachable_view())
        }
    }
}

/// The billing service cannot be reached: say so, offer to try again.
fn unreachable_view() -> Response {
    let view = View::new(TITLE)
        .alert(AlertLevel::Warning, UNREACHABLE_ALERT)
        .link("返回首页", "/");
    Response::view(view).status(503)
}

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
fn bills(req: &Request) -> std::result::Result<Response, Failure> {
    let account = checked_account(&req.query_as::<AccountQuery>()?.account)?;
    let found = match billing::account(&account)? {
        Some(info) => billing::bills(&account)?.map(|bills| (info, bills)),
        None => None,
    };
    let Some((info, mut bills)) = found else {
        let view = View::new(TITLE)
            .alert(
                AlertLevel::Warning,
                format!("未找到户号 {account}，请核对账单上的户号。"),
            )
            .form(account_form())
            .text(format!("演示户号：{DEMO_ACCOUNTS}"));
        return Ok(Response::view(view).status(404));
    };
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

/// Reports `b` paid to the billing service if its current order is paid
/// (the citizen may come back before the host's event arrives), and shows
/// it paid. A payment the service does not take is left to the event,
/// which refunds it.
fn settle_if_paid(b: &mut Bill) -> std::result::Result<(), Failure> {
    if b.status == Status::Paid {
        return Ok(());
    }
    let Some(no) = bill::bill_order(&b.bill_id)?.out_trade_no else {
        return Ok(());
    };
    if let Some(order) = payment::query_order(&no)?.filter(Order::is_paid) {
        match billing::report_payment(&b.bill_id, &order)? {
            Reported::Recorded(recorded) => *b = recorded,
            Reported::PaidByOther(_) => b.status = Status::Paid,
            Reported::AmountDiffers(_) | Reported::NoBill => {}
        }
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
/// turn ([`BillOrder::trade_no`]); a new one is issued when the order
/// under the current one is cancelled, expired or someone else's unpaid
/// one, so nobody can hold a bill for others. Two citizens may then both
/// pay: the `payment.succeeded` handler refunds the later payment.
fn pay(req: &Request) -> std::result::Result<Response, Failure> {
    let form: PayForm = req.form()?;
    let account = checked_account(&form.account)?;
    if !bill::is_bill_id(&form.bill) {
        return Err(Error::not_found("该账单").into());
    }
    let mut b = billing::bill(&account, &form.bill)?.ok_or_else(|| Error::not_found("该账单"))?;
    let back = bills_path(&account);
    if b.status == Status::Paid {
        return Ok(paid_view(&b, &back));
    }
    let mut state: BillOrder = bill::bill_order(&b.bill_id)?;
    for attempt in 0..MAX_ATTEMPTS {
        let no = state.trade_no(&b.bill_id);
        if state.out_trade_no.as_deref() != Some(no.as_str()) {
            // Remember the number before creating the order, so that an
            // order can always be traced back to its bill.
            state.out_trade_no = Some(no.clone());
            bill::save_bill_order(&b.bill_id, &state)?;
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
                if let Reported::Recorded(recorded) = billing::report_payment(&b.bill_id, &order)? {
                    b = recorded;
                } else {
                    b.mark_paid(&order);
                }
                return Ok(paid_view(&b, &back));
            }
            // Someone else's unpaid order: it does not hold the bill; a
            // second payment, should both be paid, is refunded.
            Attempt::PendingElsewhere if attempt + 1 == MAX_ATTEMPTS => {
                return Ok(pending_view(&b, &back));
            }
            Attempt::PendingElsewhere => state.retries += 1,
            // A dead order cannot be paid: number a new one.
            Attempt::Reissue => state.retries += 1,
        }
    }
    Err(Error::Conflict("out-trade-no".into()).into())
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

/// Event `payment.succeeded`: report the payment to the billing service
/// and send the receipt, or refund a payment it does not take.
/// Idempotent: the host retries until it gets a 2xx, also while the
/// billing service cannot be reached.
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
    let Some(trade) = bill::trade(&no)? else {
        log::warn("payment.succeeded for an order without a bill");
        return Ok(());
    };
    let reported = billing::report_payment(&trade.bill_id, &order)
        .map_err(|Unreachable(reason)| Error::Unavailable(format!("billing service: {reason}")))?;
    let recorded = match reported {
        Reported::Recorded(recorded) => recorded,
        not_taken => {
            // Two citizens paid the same bill at once (or the bill changed
            // under the order): the payment goes back in full (idempotent
            // under its refund number).
            let (why, detail) = match not_taken {
                Reported::PaidByOther(paid_by) => ("重复缴费退款", format!("paid by {paid_by}")),
                Reported::AmountDiffers(due) => ("账单已变更，退款", format!("{due} fen due")),
                _ => ("账单已变更，退款", "no such bill".to_string()),
            };
            let _ = log::write(
                log::Level::Warn,
                "payment not taken by the billing service; refunding",
                &[
                    ("bill", &trade.bill_id),
                    ("out_trade_no", &no),
                    ("detail", &detail),
                ],
            );
            payment::refund(&payment::RefundRequest {
                out_trade_no: no.clone(),
                out_request_no: format!("dup-{no}"),
                amount_fen: order.amount_fen,
                reason: format!("{} {why}", trade.title),
            })?;
            return Ok(());
        }
    };
    let _ = log::write(
        log::Level::Info,
        "bill paid",
        &[("bill", &recorded.bill_id), ("out_trade_no", &no)],
    );
    if !trade.receipt_sent {
        let paid_at = recorded
            .paid_at
            .or(order.paid_at)
            .map(time::format_beijing)
            .unwrap_or_default();
        // The `receipt` template (cityhost.toml) needs no subscription: it
        // is sent to the paying citizen while handling their own payment.
        let receipt = notify::Message::template("receipt")
            .param("account", &recorded.account)
            .param("bill", recorded.title())
            .param("amount", money::format_fen(order.amount_fen))
            .param("order", &no)
            .param("paid_at", paid_at)
            .link(bills_path(&recorded.account));
        notify::send(&receipt)?;
        bill::set_receipt_sent(&no, &trade)?;
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
            r#"{"id":"3301002-water-202610","account":"3301002","kind":"water",
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
