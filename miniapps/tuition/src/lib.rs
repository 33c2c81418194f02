//! 学费缴纳 (school fees) of 桐庐县实验小学, a primary school under the
//! Tonglu county education bureau: parents look up a pupil's fees, pay them
//! in the host's payment sheet, and get money back when the pupil leaves
//! boarding or returns unused books.
//!
//! - `GET /` asks for the pupil number (学号);
//! - `GET /fees?pupil=N` lists the fees with their state, a pay button per
//!   unpaid fee and a refund button per paid fee that allows one;
//! - `POST /pay` (form `pupil`, `item`) creates the fee's order (order
//!   number `tu-{pupil}-{item}`, then `tu-{pupil}-{item}-r{n}` for later
//!   attempts; the idempotency key) and answers a button that opens the
//!   payment sheet. An order nobody can pay any more (cancelled, expired)
//!   or another parent's unpaid one moves the fee to a new attempt, so no
//!   citizen can block a fee for others by opening and abandoning it;
//! - `POST /refund` (form `pupil`, `item`) refunds the fee's refundable part
//!   (the whole boarding fee; the unused-books part of the book fee) of the
//!   order that paid it, with refund number `rf-{pupil}-{item}`, so asking
//!   twice refunds once;
//! - events `payment.succeeded` and `refund.succeeded` update the fee and
//!   send the citizen a receipt. Both are idempotent: the host may deliver
//!   an event more than once. A second order paid for a fee already paid
//!   (two parents paying at once) is refunded in full (`dup-{order}`).

use cityhost_sdk::payment::{self, Order, OrderRequest, RefundEvent, RefundRequest};
use cityhost_sdk::view::{Action, AlertLevel, Field, Form, Table};
use cityhost_sdk::{Error, Request, Response, Result, Router, View, money, notify, storage};
use serde::{Deserialize, Serialize};

const TITLE: &str = "学费缴纳";
const PUPIL_LABEL: &str = "学号";

fn app() -> Router {
    Router::new()
        .get("/", index)
        .get("/fees", fees)
        .post("/pay", pay)
        .post("/refund", refund)
        .on_payment_succeeded(payment_succeeded)
        .on_refund_succeeded(refund_succeeded)
}

cityhost_sdk::export_app!(app());

/// A fee as the school lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Fee {
    /// `tuition`, `boarding`, `books`.
    item: String,
    /// What it is, e.g. `2026 学年第一学期学费`.
    label: String,
    /// Fen.
    amount_fen: u64,
    /// What is refunded on request, fen (0 = not refundable).
    refund_fen: u64,
    /// Paid (per the host's order or event).
    #[serde(default)]
    paid: bool,
    /// Refunded so far, fen.
    #[serde(default)]
    refunded_fen: u64,
    /// Receipt for the payment sent.
    #[serde(default)]
    receipt_sent: bool,
    /// Receipt for the refund sent.
    #[serde(default)]
    refund_receipt_sent: bool,
    /// The current order attempt (0 = `tu-{pupil}-{item}`, see
    /// [`trade_no`]).
    #[serde(default)]
    attempt: u32,
    /// The order number that paid the fee (`None` before this was kept:
    /// attempt 0's).
    #[serde(default)]
    paid_no: Option<String>,
}

impl Fee {
    /// The order number that paid this fee.
    fn paid_no(&self, pupil: &str) -> String {
        self.paid_no
            .clone()
            .unwrap_or_else(|| trade_no(pupil, &self.item, 0))
    }
}

/// A pupil and their fees (`pupil:{number}` in storage).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pupil {
    pupil: String,
    /// Masked name.
    name: String,
    class: String,
    fees: Vec<Fee>,
}

fn load(pupil: &str) -> Result<Option<Pupil>> {
    storage::get_json(&format!("pupil:{pupil}"))
}

fn save(p: &Pupil) -> Result<()> {
    storage::set_json(&format!("pupil:{}", p.pupil), p)
}

fn checked_pupil(pupil: &str) -> Result<String> {
    let pupil = pupil.trim();
    if (4..=12).contains(&pupil.len()) && pupil.bytes().all(|b| b.is_ascii_digit()) {
        Ok(pupil.to_string())
    } else {
        Err(Error::bad_request(PUPIL_LABEL, "应为 4-12 位数字"))
    }
}

/// Order number of a fee's `attempt`: `tu-{pupil}-{item}`, then
/// `tu-{pupil}-{item}-r{attempt}`.
fn trade_no(pupil: &str, item: &str, attempt: u32) -> String {
    match attempt {
        0 => format!("tu-{pupil}-{item}"),
        n => format!("tu-{pupil}-{item}-r{n}"),
    }
}

fn request_no(pupil: &str, item: &str) -> String {
    format!("rf-{pupil}-{item}")
}

/// `tu-{pupil}-{item}[-r{n}]` / `rf-...` back to (pupil, item).
fn parse_no(no: &str) -> Option<(&str, &str)> {
    let rest = no.strip_prefix("tu-").or_else(|| no.strip_prefix("rf-"))?;
    let (pupil, item) = rest.split_once('-')?;
    Some((pupil, item.split_once("-r").map_or(item, |(item, _)| item)))
}

fn fees_path(pupil: &str) -> String {
    format!("/fees?pupil={pupil}")
}

fn pupil_form() -> Form {
    Form::get("/fees", "查询费用").field(
        Field::text("pupil", PUPIL_LABEL)
            .required()
            .placeholder("请输入学号，如 2026001"),
    )
}

/// `GET /`: the pupil form.
fn index(_req: &Request) -> Result<View> {
    Ok(View::new(TITLE)
        .heading("桐庐县实验小学")
        .text("输入学号，查询并缴纳学费、住宿费、教材费。")
        .form(pupil_form())
        .alert(AlertLevel::Info, "演示学号：2026001、2026002"))
}

#[derive(Deserialize)]
struct PupilQuery {
    pupil: String,
}

/// Brings a fee up to date with the host's order (in case an event is
/// still on its way).
fn settle(pupil: &str, fee: &mut Fee) -> Result<bool> {
    if fee.paid && fee.refunded_fen >= fee.refund_fen {
        return Ok(false);
    }
    if fee.paid {
        let Some(order) = payment::query_order(&fee.paid_no(pupil))? else {
            return Ok(false);
        };
        let changed = order.refunded_fen != fee.refunded_fen;
        fee.refunded_fen = order.refunded_fen;
        return Ok(changed);
    }
    // Any attempt may have been paid (its event still on its way).
    for attempt in 0..=fee.attempt {
        let no = trade_no(pupil, &fee.item, attempt);
        if let Some(order) = payment::query_order(&no)?.filter(Order::is_paid) {
            fee.paid = true;
            fee.paid_no = Some(no);
            fee.refunded_fen = order.refunded_fen;
            return Ok(true);
        }
    }
    Ok(false)
}

fn status(fee: &Fee) -> String {
    match (fee.paid, fee.refunded_fen) {
        (false, _) => "待缴".into(),
        (true, 0) => "已缴".into(),
        (true, r) if r >= fee.amount_fen => "已全额退费".into(),
        (true, r) => format!("已缴，已退 {}", money::format_fen(r)),
    }
}

fn fees(req: &Request) -> Result<Response> {
    let pupil = checked_pupil(&req.query_as::<PupilQuery>()?.pupil)?;
    let Some(mut p) = load(&pupil)? else {
        let view = View::new(TITLE)
            .alert(AlertLevel::Warning, format!("未找到学号 {pupil}，请核对。"))
            .form(pupil_form());
        return Ok(Response::view(view).status(404));
    };
    let mut changed = false;
    for fee in p.fees.iter_mut() {
        changed |= settle(&pupil, fee)?;
    }
    if changed {
        save(&p)?;
    }
    let mut table = Table::new(["费用", "金额", "状态"]);
    for fee in &p.fees {
        table = table.row([
            fee.label.clone(),
            money::format_fen(fee.amount_fen),
            status(fee),
        ]);
    }
    let mut view = View::new(TITLE)
        .kv([
            ("学号", p.pupil.clone()),
            ("姓名", p.name.clone()),
            ("班级", p.class.clone()),
        ])
        .table(table);
    for fee in &p.fees {
        let body = [("pupil", p.pupil.as_str()), ("item", fee.item.as_str())];
        if !fee.paid {
            view = view.button(
                format!("缴纳{} {}", fee.label, money::format_fen(fee.amount_fen)),
                Action::post("/pay", body),
            );
        } else if fee.refund_fen > 0 && fee.refunded_fen == 0 {
            view = view.button(
                format!("申请退费 {}", money::format_fen(fee.refund_fen)),
                Action::post("/refund", body),
            );
        }
    }
    Ok(Response::view(view.link("查询其他学号", "/")))
}

#[derive(Deserialize)]
struct FeeForm {
    pupil: String,
    item: String,
}

fn fee_of(form: &FeeForm) -> Result<(Pupil, usize)> {
    let pupil = checked_pupil(&form.pupil)?;
    let p = load(&pupil)?.ok_or_else(|| Error::not_found("该学号"))?;
    let i = p
        .fees
        .iter()
        .position(|f| f.item == form.item)
        .ok_or_else(|| Error::not_found("该费用"))?;
    Ok((p, i))
}

/// Most new attempts one `/pay` makes before telling the citizen to try
/// again later (each is one order another parent just opened).
const MAX_NEW_ATTEMPTS: u32 = 3;

fn pay(req: &Request) -> Result<Response> {
    let form: FeeForm = req.form()?;
    let (mut p, i) = fee_of(&form)?;
    let back = fees_path(&p.pupil);
    // Paid meanwhile (under any attempt): no new order.
    let pupil = p.pupil.clone();
    if settle(&pupil, &mut p.fees[i])? {
        save(&p)?;
    }
    if p.fees[i].paid {
        let view = View::new(TITLE)
            .alert(AlertLevel::Success, format!("{}已缴清。", p.fees[i].label))
            .link("返回", back);
        return Ok(Response::view(view));
    }
    let mut new_attempts = 0;
    let order = loop {
        let fee = &p.fees[i];
        let no = trade_no(&p.pupil, &fee.item, fee.attempt);
        let created = payment::create_order(&OrderRequest {
            out_trade_no: no.clone(),
            amount_fen: fee.amount_fen,
            subject: format!("{} {}", p.class, fee.label),
            return_path: back.clone(),
            expires_in_ms: None,
        });
        // The order under this number, if this citizen can still use it;
        // otherwise (another parent's, or cancelled or expired) `None`.
        let usable = match created {
            Ok(order) if order.is_paid() || is_open(&order) => Some(order),
            Ok(_) => None,
            // Another parent's order under this number: paid, the fee is
            // paid; unpaid, it holds nothing up.
            Err(Error::Conflict(_)) => payment::query_order(&no)?.filter(Order::is_paid),
            Err(e) => return Err(e),
        };
        if let Some(order) = usable {
            break order;
        }
        if new_attempts == MAX_NEW_ATTEMPTS {
            let view = View::new(TITLE)
                .alert(
                    AlertLevel::Warning,
                    "该费用已有他人发起的支付，请稍后查询。",
                )
                .link("返回", back);
            return Ok(Response::view(view).status(409));
        }
        new_attempts += 1;
        p.fees[i].attempt += 1;
        save(&p)?;
    };
    let fee = &p.fees[i];
    if order.is_paid() {
        let view = View::new(TITLE)
            .alert(AlertLevel::Success, format!("{}已缴清。", fee.label))
            .link("返回", back);
        return Ok(Response::view(view));
    }
    let view = View::new("确认缴费")
        .kv([
            ("学号", p.pupil.clone()),
            ("费用", fee.label.clone()),
            ("金额", money::format_fen(fee.amount_fen)),
            ("订单号", order.out_trade_no.clone()),
        ])
        .button(
            format!("去支付 {}", money::format_fen(fee.amount_fen)),
            order.pay_action(),
        )
        .text("支付在平台的收银台完成，支付成功后将在消息中心收到缴费凭证。")
        .link("返回", back);
    Ok(Response::view(view))
}

/// Whether `order` can still be paid: created and not past its expiry.
fn is_open(order: &Order) -> bool {
    order.state == payment::OrderState::Created && order.expires_at > cityhost_sdk::time::now_ms()
}

fn refund(req: &Request) -> Result<Response> {
    let form: FeeForm = req.form()?;
    let (p, i) = fee_of(&form)?;
    let fee = &p.fees[i];
    let back = fees_path(&p.pupil);
    if fee.refund_fen == 0 {
        return Err(Error::bad_request("费用", "不可退费"));
    }
    let done = payment::refund(&RefundRequest {
        out_trade_no: fee.paid_no(&p.pupil),
        out_request_no: request_no(&p.pupil, &fee.item),
        amount_fen: fee.refund_fen,
        reason: format!("{}退费", fee.label),
    });
    let view = match done {
        Ok(r) => View::new(TITLE).alert(
            AlertLevel::Success,
            format!(
                "已退费 {}，款项已原路退回。",
                money::format_fen(r.amount_fen)
            ),
        ),
        Err(Error::RefundExceeds(left)) => View::new(TITLE).alert(
            AlertLevel::Warning,
            format!(
                "退费金额超出可退金额，最多可退 {}。",
                money::format_fen(left)
            ),
        ),
        Err(Error::Conflict(_)) => {
            View::new(TITLE).alert(AlertLevel::Warning, "该费用尚未缴纳，无法退费。")
        }
        Err(e) => return Err(e),
    };
    Ok(Response::view(view.link("返回", back)))
}

fn payment_succeeded(event: &Order) -> Result<()> {
    let Some((pupil, item)) = parse_no(&event.out_trade_no) else {
        return Ok(());
    };
    // Trust the host's record, not the event body alone.
    let order = payment::query_order(&event.out_trade_no)?
        .filter(Order::is_paid)
        .ok_or_else(|| Error::Unavailable("order not paid yet".into()))?;
    let Some(mut p) = load(pupil)? else {
        return Ok(());
    };
    let Some(fee) = p.fees.iter_mut().find(|f| f.item == item) else {
        return Ok(());
    };
    if fee.paid && fee.paid_no(&p.pupil) != order.out_trade_no {
        // Two parents paid the same fee at once: the later payment goes
        // back in full.
        payment::refund(&RefundRequest {
            out_trade_no: order.out_trade_no.clone(),
            out_request_no: format!("dup-{}", order.out_trade_no),
            amount_fen: order.amount_fen,
            reason: format!("{}重复缴费退款", fee.label),
        })?;
        return Ok(());
    }
    fee.paid = true;
    fee.paid_no = Some(order.out_trade_no.clone());
    if !fee.receipt_sent {
        // The `paid` receipt template (cityhost.toml) needs no subscription.
        let receipt = notify::Message::template("paid")
            .param("pupil", &p.pupil)
            .param("fee", &fee.label)
            .param("amount", money::format_fen(order.amount_fen))
            .param("order", &order.out_trade_no)
            .link(fees_path(&p.pupil));
        notify::send(&receipt)?;
        fee.receipt_sent = true;
    }
    save(&p)?;
    Ok(())
}

fn refund_succeeded(event: &RefundEvent) -> Result<()> {
    let Some((pupil, item)) = parse_no(&event.order.out_trade_no) else {
        return Ok(());
    };
    let Some(mut p) = load(pupil)? else {
        return Ok(());
    };
    let Some(fee) = p.fees.iter_mut().find(|f| f.item == item) else {
        return Ok(());
    };
    if fee.paid_no(&p.pupil) != event.order.out_trade_no {
        // The refund of a duplicate payment: not the fee's.
        return Ok(());
    }
    fee.refunded_fen = fee.refunded_fen.max(event.order.refunded_fen);
    if !fee.refund_receipt_sent {
        // The `refunded` receipt template needs no subscription either.
        let receipt = notify::Message::template("refunded")
            .param("pupil", &p.pupil)
            .param("fee", &fee.label)
            .param("amount", money::format_fen(event.refund.amount_fen))
            .param("refund", &event.refund.out_request_no)
            .link(fees_path(&p.pupil));
        notify::send(&receipt)?;
        fee.refund_receipt_sent = true;
    }
    save(&p)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use cityhost_sdk::Method;

    use super::*;

    #[test]
    fn numbers_round_trip() {
        assert_eq!(
            parse_no(&trade_no("2026001", "books", 0)),
            Some(("2026001", "books"))
        );
        assert_eq!(
            parse_no(&trade_no("2026001", "boarding", 3)),
            Some(("2026001", "boarding"))
        );
        assert_eq!(
            parse_no(&request_no("2026001", "boarding")),
            Some(("2026001", "boarding"))
        );
        assert_eq!(parse_no("other"), None);
    }

    #[test]
    fn a_malformed_pupil_number_is_a_400_naming_it() {
        let req = Request::new(Method::Get, "/fees").with_query("pupil", "abc");
        let res = app().handle(&req);
        assert_eq!(res.status_code(), 400);
        assert!(String::from_utf8_lossy(res.body()).contains("学号"));
    }

    #[test]
    fn status_reads_refunds() {
        let mut fee = Fee {
            item: "books".into(),
            label: "教材费".into(),
            amount_fen: 32000,
            refund_fen: 8000,
            paid: false,
            refunded_fen: 0,
            receipt_sent: false,
            refund_receipt_sent: false,
            attempt: 0,
            paid_no: None,
        };
        assert_eq!(status(&fee), "待缴");
        fee.paid = true;
        assert_eq!(status(&fee), "已缴");
        fee.refunded_fen = 8000;
        assert!(status(&fee).contains("已退"));
        fee.refunded_fen = 32000;
        assert_eq!(status(&fee), "已全额退费");
    }
}
