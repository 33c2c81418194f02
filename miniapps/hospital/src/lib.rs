//! 预约挂号 (hospital appointments) of 杭州市城东人民医院: a real-name
//! verified citizen picks a department, a doctor and a slot, pays the
//! registration fee in the host's payment sheet, may cancel before the
//! cutoff with the fee refunded, and is reminded the day before.
//!
//! The departments, doctors, slots and bookings are the hospital's: the
//! app reads and changes them in its appointment system (HIS, package
//! `hzhospital-his` beside this crate) through the host's `http`
//! capability ([`his`]), which alone decides capacity, the one booking per
//! doctor per day and the no-show suspension, atomically. The patient is
//! known to the HIS by their openid in this app; no identity number leaves
//! the host. The app's own storage holds only which reminder timer belongs
//! to a booking and which receipts were sent.
//!
//! - `GET /` lists the departments, with the no-show rule and the
//!   citizen's count (or their suspension);
//! - `GET /doctors?department=ID` the department's doctors and fees;
//! - `GET /doctor?id=ID` the doctor's open slots (places left), a button
//!   per slot with room, the rule and count again;
//! - `POST /book` (form `slot`) books it in the HIS — a pending booking
//!   holds the place for 15 minutes — and answers a button that opens the
//!   payment sheet for the fee (order `reg-{booking}`);
//! - `GET /bookings` the citizen's bookings, with pay or cancel buttons;
//! - `POST /cancel` (form `booking`) cancels in the HIS (until two hours
//!   before the slot) and refunds a paid fee in full (refund
//!   `rf-{booking}`) or cancels the unpaid order, and the reminder;
//! - event `payment.succeeded` reports the payment to the HIS, sends the
//!   `booked` receipt and sets the reminder timer for 24 hours before the
//!   slot; a payment the HIS does not take (the hold ran out and the slot
//!   filled, the booking was cancelled) is refunded in full;
//! - event `refund.succeeded` sends the `refunded` receipt;
//! - event `timer.reminder` sends the `reminder` message (long-term
//!   subscription) if the booking still stands.
//!
//! Every route needs real-name verification (L2, the manifest's
//! `[identity.min-level]`). Times are UTC ms, shown in Beijing time.

mod his;
mod text;

use cityhost_sdk::payment::{self, Order, OrderRequest, RefundEvent, RefundRequest};
use cityhost_sdk::view::{Action, AlertLevel, Table};
use cityhost_sdk::{
    AppEvent, Error, Request, Response, Result, Router, View, identity, log, money, notify,
    schedule, storage, time,
};
use serde::{Deserialize, Serialize};

use his::{Booking, Refusal, Unreachable};
use text::{is_id, slot_time};

const TITLE: &str = "预约挂号";

/// The reminder goes this long before the slot: 24 hours.
const REMIND_BEFORE_MS: u64 = 24 * 3_600_000;

/// An order's shortest lifetime the host accepts: one minute.
const MIN_ORDER_MS: u64 = 60_000;

/// What the citizen is told when the HIS cannot be reached.
const UNREACHABLE_ALERT: &str =
    "医院预约系统暂时无法访问，请稍后再试。已支付的挂号费不受影响，系统恢复后会自动确认或退回。";

fn app() -> Router {
    Router::new()
        .get("/", |req: &Request| answer(index(req)))
        .get("/doctors", |req: &Request| answer(doctors(req)))
        .get("/doctor", |req: &Request| answer(doctor(req)))
        .post("/book", |req: &Request| answer(book(req)))
        .get("/bookings", |req: &Request| answer(bookings(req)))
        .post("/cancel", |req: &Request| answer(cancel(req)))
        .on_payment_succeeded(payment_succeeded)
        .on_refund_succeeded(refund_succeeded)
        .on_event("timer.reminder", reminder)
}

cityhost_sdk::export_app!(app());

/// Why a page could not be shown: an SDK error (its own status and view)
/// or the HIS out of reach.
enum Failure {
    Sdk(Error),
    His(Unreachable),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
    }
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Self {
        Failure::His(e)
    }
}

type Page = std::result::Result<Response, Failure>;

/// A page's response: the HIS out of reach is a view with an alert, not
/// an error page.
fn answer(result: Page) -> Result<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(Failure::Sdk(e)) => Err(e),
        Err(Failure::His(Unreachable(reason))) => {
            let _ = log::write(log::Level::Warn, "HIS unreachable", &[("reason", &reason)]);
            let view = View::new(TITLE)
                .alert(AlertLevel::Warning, UNREACHABLE_ALERT)
                .link("返回首页", "/");
            Ok(Response::view(view).status(503))
        }
    }
}

/// In event handlers the HIS out of reach is an error: the host retries.
fn retry(e: Unreachable) -> Error {
    Error::Unavailable(format!("HIS: {}", e.0))
}

/// The no-show rule and the citizen's count, said before they book.
fn standing_alert(view: View, standing: &his::Standing) -> View {
    match standing.suspended_until {
        Some(until) => view.alert(AlertLevel::Error, text::suspended(standing, until)),
        None => view.alert(AlertLevel::Info, text::rule(standing)),
    }
}

/// `GET /`: the departments.
fn index(_req: &Request) -> Page {
    let openid = identity::openid()?;
    let standing = his::standing(&openid)?;
    let mut view = View::new(TITLE)
        .text("杭州市城东人民医院 · 门诊预约。选择科室和医生，预约就诊时段，在线支付挂号费。")
        .heading("选择科室");
    for d in his::departments()? {
        view = view.button(
            format!("{} · {}", d.name, d.intro),
            Action::open(format!("/doctors?department={}", d.id)),
        );
    }
    view = standing_alert(view, &standing);
    Ok(Response::view(view.link("我的预约", "/bookings")))
}

#[derive(Deserialize)]
struct DepartmentQuery {
    department: String,
}

/// `GET /doctors?department=ID`: the department's doctors.
fn doctors(req: &Request) -> Page {
    let q: DepartmentQuery = req.query_as()?;
    if !is_id(&q.department) {
        return Err(Error::bad_request("department", "不是有效的科室").into());
    }
    let doctors = match his::doctors(&q.department)? {
        Ok(doctors) => doctors,
        Err(_) => return Err(Error::not_found("该科室").into()),
    };
    let mut view = View::new(TITLE).heading("选择医生");
    for d in &doctors {
        view = view
            .kv([
                ("医生", format!("{} {}", d.name, d.title)),
                ("擅长", d.specialty.clone()),
                ("挂号费", money::format_fen(d.fee_fen)),
            ])
            .button(
                format!("预约 {} {}", d.name, d.title),
                Action::open(format!("/doctor?id={}", d.id)),
            );
    }
    Ok(Response::view(view.link("返回科室", "/")))
}

#[derive(Deserialize)]
struct DoctorQuery {
    id: String,
}

/// `GET /doctor?id=ID`: the doctor's open slots.
fn doctor(req: &Request) -> Page {
    let q: DoctorQuery = req.query_as()?;
    if !is_id(&q.id) {
        return Err(Error::bad_request("id", "不是有效的医生").into());
    }
    let d = match his::doctor(&q.id)? {
        Ok(d) => d,
        Err(_) => return Err(Error::not_found("该医生").into()),
    };
    let slots = his::slots(&d.id)?.unwrap_or_default();
    let openid = identity::openid()?;
    let standing = his::standing(&openid)?;
    let mut view = View::new(TITLE).kv([
        ("医生", format!("{} {}", d.name, d.title)),
        ("擅长", d.specialty.clone()),
        ("挂号费", money::format_fen(d.fee_fen)),
    ]);
    view = standing_alert(view, &standing);
    if slots.is_empty() {
        view = view.alert(AlertLevel::Info, "未来 7 天暂无可预约号源。");
    } else {
        view = view.heading("号源");
        if standing.suspended_until.is_none() {
            // One button per slot with room; full ones are only listed.
            for s in slots.iter().filter(|s| s.remaining > 0) {
                view = view.button(
                    format!(
                        "预约 {} · 余 {}",
                        slot_time(s.start_at, s.end_at),
                        s.remaining
                    ),
                    Action::post("/book", [("slot", s.id.as_str())]),
                );
            }
        }
        let shown = |s: &&his::Slot| standing.suspended_until.is_some() || s.remaining == 0;
        let mut table = Table::new(["就诊时间", "余号"]);
        for s in slots.iter().filter(shown) {
            let left = if s.remaining == 0 {
                "约满".to_string()
            } else {
                s.remaining.to_string()
            };
            table = table.row([slot_time(s.start_at, s.end_at), left]);
        }
        if !table.is_empty() {
            view = view.table(table);
        }
    }
    let back = format!("/doctors?department={}", d.department);
    Ok(Response::view(view.link("返回医生列表", back)))
}

#[derive(Deserialize)]
struct BookForm {
    slot: String,
}

/// The order number of booking `id`.
fn trade_no(id: &str) -> String {
    format!("reg-{id}")
}

/// The booking of order number `no`, if it is one of ours.
fn booking_of(no: &str) -> Option<&str> {
    no.strip_prefix("reg-").filter(|id| is_id(id))
}

/// The refund number of booking `id`: one per booking, whichever path
/// refunds it (cancel, or a payment the HIS did not take), so the fee is
/// never refunded twice.
fn refund_no(id: &str) -> String {
    format!("rf-{id}")
}

/// `POST /book`: a pending booking in the HIS and a button that opens the
/// payment sheet for its fee.
fn book(req: &Request) -> Page {
    let form: BookForm = req.form()?;
    if !is_id(&form.slot) {
        return Err(Error::bad_request("slot", "不是有效的号源").into());
    }
    let openid = identity::openid()?;
    let booking = match his::book(&form.slot, &openid)? {
        Ok(booking) => booking,
        Err(refusal) => return Ok(refused_view(&refusal)),
    };
    if booking.status == "booked" {
        let view = View::new(TITLE)
            .alert(AlertLevel::Success, "您已预约该时段，挂号费已支付。")
            .kv(booking_kv(&booking))
            .link("我的预约", "/bookings");
        return Ok(Response::view(view));
    }
    let now = time::now_ms();
    let order = payment::create_order(&OrderRequest {
        out_trade_no: trade_no(&booking.id),
        amount_fen: booking.fee_fen,
        subject: format!(
            "挂号费 {} {} {}",
            booking.department_name,
            booking.doctor_name,
            time::format_beijing(booking.start_at)
        ),
        return_path: "/bookings".into(),
        expires_in_ms: Some(booking.hold_until.saturating_sub(now).max(MIN_ORDER_MS)),
    })?;
    if order.is_paid() {
        // Paid before the event reached us: confirm it now.
        return settle(&booking, &order).map(|_| Response::redirect("/bookings"));
    }
    let view = View::new("确认挂号")
        .kv(booking_kv(&booking))
        .button(
            format!("支付挂号费 {}", money::format_fen(booking.fee_fen)),
            order.pay_action(),
        )
        .text(format!(
            "号源为您保留至 {}，逾时未支付将自动释放。支付在平台的收银台完成，成功后在消息中心收到挂号凭证。",
            time::format_beijing(booking.hold_until)
        ))
        .link("我的预约", "/bookings");
    Ok(Response::view(view))
}

/// What the HIS's refusal means for the citizen.
fn refused_view(refusal: &Refusal) -> Response {
    let message = match refusal.code.as_str() {
        "full" => "该时段已约满，请选择其他时段。".to_string(),
        "same_doctor_same_day" => {
            "您当天已预约该医生：每位患者每天同一医生只能预约一个号。".to_string()
        }
        "suspended" => {
            let until = refusal.body["suspended_until"].as_u64().unwrap_or_default();
            let count = refusal.body["no_shows"].as_u64().unwrap_or_default();
            format!(
                "您近期爽约 {count} 次，预约功能暂停至 {}。",
                time::format_beijing(until)
            )
        }
        "slot_closed" => "该时段已停止预约。".to_string(),
        "not_found" => "未找到该号源。".to_string(),
        _ => "预约未成功，请稍后再试。".to_string(),
    };
    let view = View::new(TITLE)
        .alert(AlertLevel::Warning, message)
        .link("我的预约", "/bookings")
        .link("返回科室", "/");
    Response::view(view).status(refusal.status)
}

fn booking_kv(b: &Booking) -> Vec<(&'static str, String)> {
    vec![
        ("科室", b.department_name.clone()),
        ("医生", b.doctor_name.clone()),
        ("就诊时间", time::format_beijing(b.start_at)),
        ("挂号费", money::format_fen(b.fee_fen)),
        ("预约号", b.id.clone()),
    ]
}

/// `GET /bookings`: the citizen's bookings.
fn bookings(_req: &Request) -> Page {
    let openid = identity::openid()?;
    let mut list = his::bookings(&openid)?;
    // A fee paid before its event reached us: confirm it now.
    for b in list.iter_mut().filter(|b| b.status == "pending") {
        if let Some(order) = payment::query_order(&trade_no(&b.id))?.filter(Order::is_paid) {
            *b = settle(b, &order)?;
        }
    }
    let now = time::now_ms();
    let mut view = View::new("我的预约");
    if !notify::subscribed("reminder")? {
        view = view
            .alert(AlertLevel::Info, "订阅就诊提醒，就诊前一天通过消息提醒您。")
            .button("订阅就诊提醒", notify::subscribe_action(["reminder"]));
    }
    if list.is_empty() {
        view = view.text("您还没有预约。");
    }
    for b in &list {
        view = view
            .heading(format!(
                "{} {} · {}",
                b.department_name,
                b.doctor_name,
                text::status(&b.status)
            ))
            .kv(booking_kv(b));
        match b.status.as_str() {
            "pending" => {
                view = view.button(
                    format!("支付挂号费 {}", money::format_fen(b.fee_fen)),
                    Action::post("/book", [("slot", b.slot.as_str())]),
                );
            }
            "booked" if now < b.cancel_until => {
                view = view
                    .text(format!(
                        "可在 {} 前取消预约，挂号费原路退回。",
                        time::format_beijing(b.cancel_until)
                    ))
                    .button(
                        "取消预约",
                        Action::post("/cancel", [("booking", b.id.as_str())]),
                    );
            }
            "booked" => view = view.text("已过退号时间，请按时就诊。"),
            _ => {}
        }
    }
    Ok(Response::view(view.link("预约挂号", "/")))
}

#[derive(Deserialize)]
struct CancelForm {
    booking: String,
}

/// `POST /cancel`: cancels in the HIS, then refunds a paid fee (or cancels
/// the unpaid order) and the reminder. Idempotent: cancelling again
/// repeats the refund under the same number.
fn cancel(req: &Request) -> Page {
    let form: CancelForm = req.form()?;
    if !is_id(&form.booking) {
        return Err(Error::bad_request("booking", "不是有效的预约号").into());
    }
    let openid = identity::openid()?;
    let booking = match his::cancel(&form.booking, &openid)? {
        Ok(booking) => booking,
        Err(refusal) if refusal.code == "past_cutoff" => {
            let until = refusal.body["cancel_until"].as_u64().unwrap_or_default();
            let view = View::new(TITLE)
                .alert(
                    AlertLevel::Warning,
                    format!(
                        "已过退号截止时间（{}），无法取消，请按时就诊。",
                        time::format_beijing(until)
                    ),
                )
                .link("我的预约", "/bookings");
            return Ok(Response::view(view).status(refusal.status));
        }
        Err(refusal) if refusal.status == 404 => return Err(Error::not_found("该预约").into()),
        Err(refusal) => return Ok(refused_view(&refusal)),
    };
    let refunded = give_back(&booking)?;
    cancel_reminder(&booking.id)?;
    let message = match refunded {
        Some(fen) => format!("已取消预约，挂号费 {} 将原路退回。", money::format_fen(fen)),
        None => "已取消预约。".to_string(),
    };
    let view = View::new(TITLE)
        .alert(AlertLevel::Success, message)
        .kv(booking_kv(&booking))
        .link("我的预约", "/bookings");
    Ok(Response::view(view))
}

/// The fee of a booking that no longer stands goes back: a paid order is
/// refunded in full under the booking's one refund number; an unpaid one
/// is cancelled. Answers the fen refunded, if any.
fn give_back(booking: &Booking) -> Result<Option<u64>> {
    let no = trade_no(&booking.id);
    let Some(order) = payment::query_order(&no)? else {
        return Ok(None);
    };
    if order.is_paid() || order.refunded_fen > 0 {
        let refund = payment::refund(&RefundRequest {
            out_trade_no: no,
            out_request_no: refund_no(&booking.id),
            amount_fen: order.amount_fen,
            reason: format!("预约挂号退费 {}", booking.id),
        })?;
        return Ok(Some(refund.amount_fen));
    }
    if order.state == payment::OrderState::Created {
        // Paid meanwhile? Then the refund comes with its event.
        let _ = payment::cancel_order(&no);
    }
    Ok(None)
}

/// The booking's reminder timer, cancelled and forgotten.
fn cancel_reminder(booking: &str) -> Result<()> {
    let key = timer_key(booking);
    if let Some(id) = storage::get(&key)? {
        schedule::cancel(&String::from_utf8_lossy(&id))?;
        storage::delete(&key)?;
    }
    Ok(())
}

fn timer_key(booking: &str) -> String {
    format!("timer:{booking}")
}

/// Reports the paid `order` of pending `booking` to the HIS: the booking
/// as it is now (booked), or — the HIS did not take the payment — the
/// booking with its fee refunded.
fn settle(booking: &Booking, order: &Order) -> std::result::Result<Booking, Failure> {
    let paid_at = order.paid_at.unwrap_or(order.created_at);
    match his::report_payment(&booking.id, &order.out_trade_no, order.amount_fen, paid_at)? {
        Ok(booked) => Ok(booked),
        Err(refusal) => {
            refund_untaken(&booking.id, &refusal)?;
            Ok(booking.clone())
        }
    }
}

/// A payment the HIS refused (the hold ran out and the slot filled, the
/// booking was cancelled, …) goes back in full.
fn refund_untaken(booking: &str, refusal: &Refusal) -> Result<()> {
    let no = trade_no(booking);
    let _ = log::write(
        log::Level::Warn,
        "payment not taken by the HIS; refunding",
        &[("booking", booking), ("code", &refusal.code)],
    );
    let Some(order) = payment::query_order(&no)?.filter(|o| o.amount_fen > 0) else {
        return Ok(());
    };
    match payment::refund(&RefundRequest {
        out_trade_no: no,
        out_request_no: refund_no(booking),
        amount_fen: order.amount_fen,
        reason: format!("预约挂号退费 {booking}"),
    }) {
        Ok(_) | Err(Error::RefundExceeds(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The reminder timer's payload.
#[derive(Serialize, Deserialize)]
struct ReminderPayload {
    booking: String,
}

/// Event `payment.succeeded`: the fee of a booking is paid. Idempotent:
/// the host retries until it gets `Ok`, also while the HIS is unreachable.
fn payment_succeeded(event: &Order) -> Result<()> {
    let no = event.out_trade_no.clone();
    let Some(id) = booking_of(&no) else {
        log::warn("payment.succeeded for an order that is no booking's");
        return Ok(());
    };
    // Trust the host's order record, not the event body alone.
    let order = match payment::query_order(&no)? {
        Some(order) if order.is_paid() => order,
        Some(_) => return Ok(()),
        None => return Ok(()),
    };
    let paid_at = order.paid_at.unwrap_or(order.created_at);
    let booked = match his::report_payment(id, &no, order.amount_fen, paid_at).map_err(retry)? {
        Ok(booked) => booked,
        Err(refusal) => return refund_untaken(id, &refusal),
    };
    if booked.status != "booked" {
        // Cancelled since (and refunded by the cancel): nothing to send.
        return Ok(());
    }
    if storage::insert(&format!("receipt:{id}"), b"1", None)?.is_some() {
        // The `booked` template is a receipt: no subscription needed
        // while handling the citizen's own payment.
        let receipt = notify::Message::template("booked")
            .param("department", &booked.department_name)
            .param("doctor", &booked.doctor_name)
            .param("time", time::format_beijing(booked.start_at))
            .param("amount", money::format_fen(order.amount_fen))
            .param("booking", &booked.id)
            .param("cancel_until", time::format_beijing(booked.cancel_until))
            .link("/bookings");
        notify::send(&receipt)?;
    }
    set_reminder(&booked)?;
    Ok(())
}

/// Sets the reminder 24 hours before the slot, once per booking; none when
/// that time has passed (the booking is for within a day).
fn set_reminder(booked: &Booking) -> Result<()> {
    let at = booked.start_at.saturating_sub(REMIND_BEFORE_MS);
    let key = timer_key(&booked.id);
    if at <= time::now_ms() || storage::get(&key)?.is_some() {
        return Ok(());
    }
    let id = schedule::Timer::new("reminder", at)
        .payload(&ReminderPayload {
            booking: booked.id.clone(),
        })?
        .on_behalf_of(identity::openid()?)
        .set()?;
    storage::set(&key, id.as_bytes())?;
    Ok(())
}

/// Event `refund.succeeded`: the `refunded` receipt, once per booking.
fn refund_succeeded(event: &RefundEvent) -> Result<()> {
    let Some(id) = booking_of(&event.order.out_trade_no) else {
        return Ok(());
    };
    if storage::insert(&format!("refund-receipt:{id}"), b"1", None)?.is_none() {
        return Ok(());
    }
    let receipt = notify::Message::template("refunded")
        .param("booking", id)
        .param("amount", money::format_fen(event.refund.amount_fen))
        .param("subject", &event.order.subject)
        .link("/bookings");
    notify::send(&receipt)?;
    Ok(())
}

/// Event `timer.reminder`, on behalf of the citizen who booked: the
/// reminder, if the booking still stands and they subscribed.
fn reminder(event: &AppEvent) -> Result<()> {
    let payload: ReminderPayload = event.payload()?;
    if !is_id(&payload.booking) {
        return Ok(());
    }
    let openid = identity::openid()?;
    let booking = match his::booking(&payload.booking, &openid).map_err(retry)? {
        Ok(b) if b.status == "booked" => b,
        _ => return Ok(()),
    };
    let message = notify::Message::template("reminder")
        .param("department", &booking.department_name)
        .param("doctor", &booking.doctor_name)
        .param("time", time::format_beijing(booking.start_at))
        .param("booking", &booking.id)
        .link("/bookings");
    match notify::send(&message) {
        Ok(_) => Ok(()),
        Err(Error::NotSubscribed(_)) => {
            log::info("reminder not sent: the citizen has not subscribed");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use cityhost_sdk::Method;

    use super::*;

    #[test]
    fn order_numbers_name_their_booking() {
        assert_eq!(trade_no("bk000042"), "reg-bk000042");
        assert_eq!(booking_of("reg-bk000042"), Some("bk000042"));
        assert_eq!(booking_of("ub-3301001"), None);
        assert_eq!(booking_of("reg-"), None);
        assert_eq!(refund_no("bk000042"), "rf-bk000042");
    }

    #[test]
    fn malformed_fields_are_400s_naming_them() {
        let cases = [
            Request::new(Method::Get, "/doctors").with_query("department", "a b"),
            Request::new(Method::Get, "/doctors"),
            Request::new(Method::Get, "/doctor").with_query("id", "../x"),
            Request::new(Method::Post, "/book").with_form(&[("slot", "医生")]),
            Request::new(Method::Post, "/cancel").with_form(&[("nope", "1")]),
        ];
        for (req, field) in
            cases
                .into_iter()
                .zip(["department", "department", "id", "slot", "booking"])
        {
            let res = app().handle(&req);
            assert_eq!(res.status_code(), 400, "{}", req.path());
            let body = String::from_utf8_lossy(res.body());
            assert!(body.contains(field), "{field}: {body}");
        }
    }

    #[test]
    fn a_refusal_is_explained_with_its_status() {
        let refusal = Refusal {
            status: 403,
            code: "suspended".into(),
            body: serde_json::json!({"suspended_until": 1_796_598_000_000u64, "no_shows": 3}),
        };
        let res = refused_view(&refusal);
        assert_eq!(res.status_code(), 403);
        let body = String::from_utf8_lossy(res.body());
        assert!(
            body.contains("爽约 3 次") && body.contains("2026-12-07 07:00"),
            "{body}"
        );
        let full = Refusal {
            status: 409,
            code: "full".into(),
            body: serde_json::json!({}),
        };
        assert!(String::from_utf8_lossy(refused_view(&full).body()).contains("已约满"));
    }
}
