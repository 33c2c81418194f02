//! 小客车摇号 (licence-plate lottery): apply for Hangzhou's monthly
//! passenger-car quota draw, see one's application code and result, and
//! read the published draw.
//!
//! Periods, eligibility, applications and the draw are the quota office's:
//! the app reads and files them in its lottery system (package
//! `hz-quota-office` beside this crate) through the host's `http`
//! capability ([`office`]). The app's own storage holds only which
//! citizen (openid) applied with which code, so that it can show them
//! their applications and message them their result.
//!
//! - `GET /`: the period taking applications — its deadline, draw time,
//!   quota and the commitment published for its draw — and the draws held;
//! - `GET /apply` (real-name, L2): the office's eligibility checks for the
//!   citizen, with the full identity number given after their consent
//!   (`auth_id_number`, purpose in the manifest); `POST /apply` files the
//!   application and answers its code, with a button to subscribe to the
//!   result message. One application per person per period: a second
//!   answers the first's code (409);
//! - `GET /mine`: the citizen's applications and where each stands;
//! - `GET /draw?period=YYYY-MM`: a period's commitment and, once drawn, its
//!   seed, codes and winners, with how anyone recomputes them;
//! - app events `department.draw-published` (the office's system, payload
//!   `{"period"}`) and `cron.draw-results` (10:05 on the 26th, after the
//!   office's scheduled draw at 10:00) message each applicant their result
//!   (template `draw-result`), once.
//!
//! When the office's system cannot be reached, the citizen sees an alert
//! saying so (503) and an event is retried by the host.

mod office;

use cityhost_sdk::view::{Action, AlertLevel, ListItem, Table};
use cityhost_sdk::{
    AppEvent, Error, Request, Response, Result, Router, View, identity, log, notify, storage, time,
};
use office::{Applied, Check, Summary, Unreachable};
use serde::{Deserialize, Serialize};

const TITLE: &str = "小客车摇号";

/// The result message's template (cityhost.toml).
const RESULT_TEMPLATE: &str = "draw-result";

/// What the citizen is told when the office's system cannot be reached.
const UNREACHABLE_ALERT: &str = "小客车总量调控管理办公室的摇号系统暂时无法访问，请稍后再试。";

fn app() -> Router {
    Router::new()
        .get("/", |req: &Request| answer(index(req)))
        .get("/apply", |req: &Request| answer(eligibility(req)))
        .post("/apply", |req: &Request| answer(apply(req)))
        .get("/mine", |req: &Request| answer(mine(req)))
        .get("/draw", |req: &Request| answer(draw(req)))
        .on_event("department.draw-published", draw_published)
        .on_event("cron.draw-results", draw_results)
}

cityhost_sdk::export_app!(app());

/// Why a page could not be shown: an SDK error (its own status and view)
/// or the office's system out of reach.
enum Failure {
    Sdk(Error),
    Office(Unreachable),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
    }
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Self {
        Failure::Office(e)
    }
}

/// A page's response: the office's system out of reach is a view with an
/// alert, not an error page.
fn answer(result: std::result::Result<Response, Failure>) -> Result<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(Failure::Sdk(e)) => Err(e),
        Err(Failure::Office(Unreachable(reason))) => {
            let _ = log::write(
                log::Level::Warn,
                "quota office unreachable",
                &[("reason", &reason)],
            );
            let view = View::new(TITLE)
                .alert(AlertLevel::Warning, UNREACHABLE_ALERT)
                .link("返回首页", "/");
            Ok(Response::view(view).status(503))
        }
    }
}

type Page = std::result::Result<Response, Failure>;

fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "受理中",
        "closed" => "已截止，待摇号",
        "drawn" => "已摇号",
        "pending" => "待摇号",
        "won" => "中签",
        "lost" => "未中签",
        _ => "—",
    }
}

fn draw_path(period: &str) -> String {
    format!("/draw?period={period}")
}

/// `GET /`: the current period and the draws held.
fn index(_req: &Request) -> Page {
    let periods = office::periods()?;
    let mut view = View::new(TITLE).text(
        "杭州市小客车总量调控管理办公室每月摇号一次：每月 8 日 24 时前提交的申请参加当月摇号，之后提交的参加次月摇号；摇号于每月 26 日 10 时进行。",
    );
    if let Some(current) = periods.periods.iter().find(|p| p.period == periods.current) {
        view = view.heading(format!("{} 期", current.period)).kv([
            ("申请截止", time::format_beijing(current.closes_at)),
            ("摇号时间", time::format_beijing(current.draw_at)),
            ("本期指标", format!("{} 个", current.quota)),
            ("已受理申请", format!("{} 个", current.applications)),
            ("摇号承诺值", current.commitment.clone()),
        ]);
        view = view.text(
            "承诺值是本期随机种子的 SHA-256 摘要，在申请截止前公布；摇号后公布种子和全部申请编码，任何人都可以复算中签结果。",
        );
    }
    view = view
        .button("申请摇号", Action::open("/apply"))
        .link("我的申请", "/mine");
    let drawn: Vec<&Summary> = periods
        .periods
        .iter()
        .rev()
        .filter(|p| p.status == "drawn")
        .collect();
    if !drawn.is_empty() {
        view = view.heading("摇号公示");
        for p in drawn {
            view = view.link(format!("{} 期摇号结果", p.period), draw_path(&p.period));
        }
    }
    Ok(Response::view(view))
}

/// The checks as a list: each condition, its result at the side and the
/// office's explanation under it (a list wraps on a phone; a three-column
/// table cut the explanation off).
fn checks_list(checks: &[Check]) -> Vec<ListItem> {
    let mut rows = Vec::new();
    for c in checks {
        let label = match c.check.as_str() {
            "identity" => "身份核验",
            "licence" => "机动车驾驶证",
            "no-car" => "名下无本市小客车",
            "resident" => "本市户籍或居住证",
            "once-per-period" => "每人每期一次",
            _ => "其他",
        };
        let result = if c.passed { "符合" } else { "不符合" };
        rows.push(ListItem::new(label).meta(result).subtitle(c.detail.clone()));
    }
    rows
}

/// `GET /apply`: the office's checks for the citizen, and the apply button.
fn eligibility(_req: &Request) -> Page {
    let me = identity::real_identity()?;
    let answer = office::eligibility(&me.id_number, &me.name)?;
    let mut view = View::new("申请摇号")
        .kv([("申请期数", answer.period.clone())])
        .heading("资格核验")
        .list(checks_list(&answer.checks));
    view = if answer.eligible {
        view.alert(AlertLevel::Success, "您符合申请条件。").button(
            "提交申请",
            // No fields: the office files it for the period taking
            // applications when it arrives.
            Action::post("/apply", std::iter::empty::<(&str, &str)>()),
        )
    } else {
        view.alert(
            AlertLevel::Warning,
            "您暂不符合申请条件，详见上方。如有疑问请拨打 0571-12345 咨询。",
        )
    };
    Ok(Response::view(
        view.link("我的申请", "/mine").link("返回首页", "/"),
    ))
}

/// What the app keeps per applicant and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Applicant {
    code: String,
    /// Whether the result message was sent (or could not be: no
    /// subscription).
    notified: bool,
}

fn mine_key(openid: &str, period: &str) -> String {
    format!("mine:{openid}:{period}")
}

fn applicant_key(period: &str, openid: &str) -> String {
    format!("applicant:{period}:{openid}")
}

/// Remembers that `openid` applied for `period` with `code` (once).
fn remember(openid: &str, period: &str, code: &str) -> Result<()> {
    storage::set_json(&mine_key(openid, period), code)?;
    let key = applicant_key(period, openid);
    if storage::get_json::<Applicant>(&key)?.is_none() {
        let applicant = Applicant {
            code: code.to_string(),
            notified: false,
        };
        storage::set_json(&key, &applicant)?;
    }
    Ok(())
}

/// `POST /apply`: files the application.
fn apply(_req: &Request) -> Page {
    let me = identity::real_identity()?;
    let openid = identity::openid()?;
    match office::apply(&me.id_number, &me.name)? {
        Applied::Filed(application) => {
            remember(&openid, &application.period, &application.code)?;
            let mut view = View::new("申请已提交")
                .alert(
                    AlertLevel::Success,
                    format!("您已成功申请 {} 期小客车指标摇号。", application.period),
                )
                .kv([
                    ("申请编码", application.code.clone()),
                    ("申请期数", application.period.clone()),
                ]);
            if let Some(at) = application.draw_at {
                view = view.kv([("摇号时间", time::format_beijing(at))]);
            }
            let view = view
                .text("申请编码是您在摇号公示中的唯一标识，公示名单只列申请编码，不含个人信息。订阅结果通知，摇号后会在消息中告诉您结果。")
                .button("订阅摇号结果通知", notify::subscribe_action([RESULT_TEMPLATE]))
                .link("我的申请", "/mine");
            Ok(Response::view(view))
        }
        Applied::Already { code, period } => {
            remember(&openid, &period, &code)?;
            let view = View::new(TITLE)
                .alert(
                    AlertLevel::Info,
                    format!("您已申请 {period} 期摇号，每人每期只能申请一次。"),
                )
                .kv([("申请编码", code), ("申请期数", period)])
                .link("我的申请", "/mine");
            Ok(Response::view(view).status(409))
        }
        Applied::Ineligible(checks) => {
            let view = View::new(TITLE)
                .alert(AlertLevel::Warning, "您暂不符合申请条件，申请未提交。")
                .list(checks_list(&checks))
                .link("返回首页", "/");
            Ok(Response::view(view).status(422))
        }
    }
}

/// `GET /mine`: the citizen's applications, newest period first.
fn mine(_req: &Request) -> Page {
    let openid = identity::openid()?;
    let prefix = mine_key(&openid, "");
    let mut keys = storage::list_keys(&prefix, storage::MAX_LIST)?;
    keys.reverse();
    let mut view = View::new("我的申请");
    if keys.is_empty() {
        view = view
            .alert(AlertLevel::Info, "您还没有通过本服务提交过摇号申请。")
            .button("申请摇号", Action::open("/apply"));
        return Ok(Response::view(view.link("返回首页", "/")));
    }
    let mut table = Table::new(["期数", "申请编码", "结果"]);
    for key in keys {
        let Some(code) = storage::get_json::<String>(&key)? else {
            continue;
        };
        let period = key[prefix.len()..].to_string();
        let status = office::application(&code)?
            .map(|a| status_label(&a.status))
            .unwrap_or("—");
        table = table.row([period, code, status.to_string()]);
    }
    view = view
        .table(table)
        .text("摇号结果以小客车总量调控管理办公室公示为准。");
    Ok(Response::view(view.link("返回首页", "/")))
}

#[derive(Deserialize)]
struct PeriodQuery {
    period: String,
}

/// Whether `period` is `YYYY-MM` (2000-2099, month 01-12).
fn is_period(period: &str) -> bool {
    let b = period.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
        && &period[..2] == "20"
        && ("01"..="12").contains(&&period[5..])
}

/// `GET /draw?period=YYYY-MM`: the period's published draw.
fn draw(req: &Request) -> Page {
    let period = req.query_as::<PeriodQuery>()?.period;
    if !is_period(&period) {
        return Err(Error::bad_request("period", "应为年-月，如 2026-12").into());
    }
    let Some(summary) = office::period(&period)? else {
        return Err(Error::not_found(format!("{period} 期摇号")).into());
    };
    let mut view = View::new(format!("{period} 期摇号公示")).kv([
        ("状态", status_label(&summary.status).to_string()),
        ("本期指标", format!("{} 个", summary.quota)),
        ("申请截止", time::format_beijing(summary.closes_at)),
        ("摇号时间", time::format_beijing(summary.draw_at)),
        ("承诺值", summary.commitment.clone()),
    ]);
    match office::draw(&period)? {
        None => {
            view = view.alert(
                AlertLevel::Info,
                "尚未摇号：随机种子和全部申请编码在摇号后公布。",
            );
        }
        Some(drawn) => {
            if let Some(at) = summary.drawn_at {
                view = view.kv([("摇号完成", time::format_beijing(at))]);
            }
            view = view.kv([
                ("随机种子", drawn.seed.clone()),
                ("参与申请", format!("{} 个", drawn.codes.len())),
            ]);
            let mut table = Table::new(["顺序", "中签编码"]);
            for (i, code) in drawn.winners.iter().enumerate() {
                table = table.row([(i + 1).to_string(), code.clone()]);
            }
            view = view.heading("中签名单").table(table);
        }
    }
    let view = view
        .heading("如何核验")
        .text("中签结果由公开的算法决定：每个申请编码的签值为 SHA-256(种子 ‖ 申请编码)，签值最小的若干个编码中签。种子的 SHA-256 须等于申请截止前公布的承诺值。")
        .text(format!(
            "公示文件：{}/public/periods/{period}/commitment.json 和 draw.json；用 verify-lottery 程序（CityHost 源码 examples/verify-lottery）即可复算。",
            office::ORIGIN
        ))
        .link("返回首页", "/");
    Ok(Response::view(view))
}

/// Payload of `department.draw-published`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Published {
    period: String,
}

/// Event `department.draw-published`: the office's system says a period
/// is drawn; its applicants get their result. Retried until every one is
/// messaged.
fn draw_published(event: &AppEvent) -> Result<()> {
    let Published { period } = event.payload()?;
    if !is_period(&period) {
        return Err(Error::InvalidArgument("payload.period".into()));
    }
    let drawn = office::draw(&period)
        .map_err(|Unreachable(why)| Error::Unavailable(format!("quota office: {why}")))?
        .ok_or_else(|| Error::Unavailable(format!("{period} is not drawn yet")))?;
    notify_period(&period, &drawn)
}

/// Event `cron.draw-results`: after the scheduled draw, every drawn period
/// with applicants not yet messaged gets its results sent.
fn draw_results(_event: &AppEvent) -> Result<()> {
    let keys = storage::list_keys("applicant:", storage::MAX_LIST)?;
    let mut periods: Vec<String> = keys
        .iter()
        .filter_map(|k| k.strip_prefix("applicant:")?.split(':').next())
        .map(str::to_string)
        .collect();
    periods.dedup();
    for period in periods {
        let drawn = office::draw(&period)
            .map_err(|Unreachable(why)| Error::Unavailable(format!("quota office: {why}")))?;
        if let Some(drawn) = drawn {
            notify_period(&period, &drawn)?;
        }
    }
    Ok(())
}

/// The result message's parameters for `code`.
fn result_text(code: &str, drawn: &office::Draw) -> &'static str {
    if drawn.winners.iter().any(|w| w == code) {
        "中签"
    } else {
        "未中签"
    }
}

/// Messages each applicant of `period` not yet messaged their result.
/// Idempotent: an applicant is marked once messaged (or once found
/// without a subscription, who then reads the result under 我的申请).
fn notify_period(period: &str, drawn: &office::Draw) -> Result<()> {
    let prefix = applicant_key(period, "");
    for key in storage::list_keys(&prefix, storage::MAX_LIST)? {
        let Some(mut applicant) = storage::get_json::<Applicant>(&key)? else {
            continue;
        };
        if applicant.notified {
            continue;
        }
        let openid = &key[prefix.len()..];
        let message = notify::Message::template(RESULT_TEMPLATE)
            .param("period", period)
            .param("code", &applicant.code)
            .param("result", result_text(&applicant.code, drawn))
            .link("/mine");
        match notify::send_to(openid, &message) {
            Ok(_) | Err(Error::NotSubscribed(_)) => {}
            Err(e) => return Err(e),
        }
        applicant.notified = true;
        storage::set_json(&key, &applicant)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cityhost_sdk::Method;

    use super::*;

    #[test]
    fn periods_are_checked() {
        for good in ["2026-12", "2027-01"] {
            assert!(is_period(good), "{good}");
        }
        for bad in [
            "",
            "2026-13",
            "2026-00",
            "1999-12",
            "2026-1",
            "2026/12",
            "２０26-12",
            "2026-12 ",
        ] {
            assert!(!is_period(bad), "{bad}");
        }
    }

    #[test]
    fn a_malformed_period_is_a_400_naming_it() {
        let req = Request::new(Method::Get, "/draw").with_query("period", "2026-13");
        let res = app().handle(&req);
        assert_eq!(res.status_code(), 400);
        let body = String::from_utf8_lossy(res.body());
        assert!(body.contains("period"), "{body}");
        let res = app().handle(&Request::new(Method::Get, "/draw"));
        assert_eq!(res.status_code(), 400);
    }

    #[test]
    fn results_are_read_from_the_winners() {
        let drawn = office::Draw {
            seed: "00".repeat(32),
            codes: vec!["1000000000001".into(), "1000000000002".into()],
            winners: vec!["1000000000002".into()],
        };
        assert_eq!(result_text("1000000000002", &drawn), "中签");
        assert_eq!(result_text("1000000000001", &drawn), "未中签");
    }

    #[test]
    fn checks_are_shown_with_their_detail() {
        let checks = [Check {
            check: "no-car".into(),
            passed: false,
            detail: "名下已有本市登记的小客车：浙A12345".into(),
        }];
        let view = View::new("t").list(checks_list(&checks));
        let json = serde_json::to_string(&view).unwrap();
        assert!(
            json.contains("名下无本市小客车")
                && json.contains("不符合")
                && json.contains("浙A12345")
        );
    }
}
