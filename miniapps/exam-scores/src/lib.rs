//! 高考查分 (exam scores): a citizen looks up their own scores in
//! Zhejiang's college-entrance exam (普通高校招生考试) and the batch lines,
//! and can be told when the scores are released.
//!
//! The exam, its release time, the batch lines and the candidates' records
//! are the examinations authority's (浙江省教育考试院): the app reads them
//! in its score system (package `zj-exam-authority` beside this crate)
//! through the host's `http` capability ([`authority`]). The authority
//! answers scores only from the release time on, only to the person the
//! exam number was registered with, and limits how often anyone looks up.
//! The app's own storage holds only who subscribed to the release message
//! and the timer set for it.
//!
//! - `GET /`: the exam, its release time (Beijing time) or, once released,
//!   the batch lines;
//! - `GET /lookup` (real-name, L2): the lookup form, after the citizen's
//!   consent to the identity number (`auth_id_number`, purpose in the
//!   manifest); `POST /lookup` (form `exam_number`, 14 digits, see
//!   [`is_exam_number`]) answers the citizen's scores: each subject, the
//!   total and which batch lines it reaches. Before the release it says
//!   when (409); an exam number that is unknown or not the citizen's is
//!   one answer (404); too many lookups a 429 saying when to try again;
//! - `GET /remind`: before the release, the button to subscribe to the
//!   release message (template `scores-released`); once subscribed the
//!   citizen is remembered;
//! - the timer `timer.scores-released`, set at the authority's release
//!   time (and set again whenever the app sees that the authority moved
//!   it), messages every subscriber once.
//!
//! When the authority's system cannot be reached the citizen sees an alert
//! saying so (503), and the timer's event is retried by the host.

mod authority;

use authority::{Exam, Limit, Looked, Scores, Unreachable};
use cityhost_sdk::view::{Action, AlertLevel, Field, Form, Table};
use cityhost_sdk::{
    AppEvent, Error, Request, Response, Result, Router, View, identity, log, notify, schedule,
    storage, time,
};
use serde::{Deserialize, Serialize};

const TITLE: &str = "高考查分";

/// The release message's template (cityhost.toml).
const RELEASE_TEMPLATE: &str = "scores-released";

/// The timer's name: the event is `timer.scores-released`.
const RELEASE_TIMER: &str = "scores-released";

/// The app storage key of the timer set for the release.
const TIMER_KEY: &str = "release-timer";

/// What the citizen is told when the authority's system cannot be reached.
const UNREACHABLE_ALERT: &str = "浙江省教育考试院的成绩系统暂时无法访问，请稍后再试。";

/// What a 考生号 is, as the citizen is told.
const EXAM_NUMBER_RULE: &str = "考生号为 14 位数字：年份后两位、报名所在县（市、区）代码（以 33 开头）和 6 位顺序号，如 26330106000123。";

/// What a malformed 考生号 is told (after 「exam_number」).
const EXAM_NUMBER_REFUSED: &str = "应为 14 位数字：年份后两位、报名所在县（市、区）代码（以 33 开头）和 6 位顺序号，如 26330106000123";

fn app() -> Router {
    Router::new()
        .get("/", |req: &Request| answer(index(req)))
        .get("/lookup", |req: &Request| answer(lookup_form(req)))
        .post("/lookup", |req: &Request| answer(lookup(req)))
        .get("/remind", |req: &Request| answer(remind(req)))
        .on_event("timer.scores-released", released)
}

cityhost_sdk::export_app!(app());

/// Why a page could not be shown: an SDK error (its own status and view)
/// or the authority's system out of reach.
enum Failure {
    Sdk(Error),
    Authority(Unreachable),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
    }
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Self {
        Failure::Authority(e)
    }
}

type Page = std::result::Result<Response, Failure>;

/// A page's response: the authority's system out of reach is a view with
/// an alert, not an error page.
fn answer(result: Page) -> Result<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(Failure::Sdk(e)) => Err(e),
        Err(Failure::Authority(Unreachable(reason))) => {
            let _ = log::write(
                log::Level::Warn,
                "exam authority unreachable",
                &[("reason", &reason)],
            );
            let view = View::new(TITLE)
                .alert(AlertLevel::Warning, UNREACHABLE_ALERT)
                .link("返回首页", "/");
            Ok(Response::view(view).status(503))
        }
    }
}

/// In the event handler the authority out of reach is an error: the host
/// retries.
fn retry(e: Unreachable) -> Error {
    Error::Unavailable(format!("exam authority: {}", e.0))
}

/// Whether `number` is a 考生号: 14 ASCII digits — the exam year's last two,
/// the six-digit division code of the Zhejiang county (`33….`) where the
/// candidate registered, a six-digit sequence number.
pub fn is_exam_number(number: &str) -> bool {
    number.len() == 14 && number.bytes().all(|b| b.is_ascii_digit()) && &number[2..4] == "33"
}

/// `2026-06-25 12:00（北京时间）`.
fn beijing(ms: u64) -> String {
    format!("{}（北京时间）", time::format_beijing(ms))
}

/// The timer set for the release: its time and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReleaseTimer {
    release_at: u64,
    id: String,
}

/// The timer's payload: the release time it was set for (UTC ms).
#[derive(Serialize)]
struct ReleasePayload {
    release_at: u64,
}

/// Sets the release timer at the authority's release time unless it is set
/// for that time already; a timer for an earlier release time is
/// cancelled. A time already past fires at once.
fn arm(exam: &Exam) -> Result<()> {
    let current = storage::get_json::<ReleaseTimer>(TIMER_KEY)?;
    if current
        .as_ref()
        .is_some_and(|t| t.release_at == exam.release_at)
    {
        return Ok(());
    }
    set_timer(exam.release_at, current)
}

fn set_timer(at: u64, current: Option<ReleaseTimer>) -> Result<()> {
    if let Some(old) = current {
        schedule::cancel(&old.id)?;
    }
    let id = schedule::Timer::new(RELEASE_TIMER, at)
        .payload(&ReleasePayload { release_at: at })?
        .set()?;
    storage::set_json(TIMER_KEY, &ReleaseTimer { release_at: at, id })
}

/// Arms the timer from a page; a failure is logged, the page still shown.
fn arm_quietly(exam: &Exam) {
    if let Err(e) = arm(exam) {
        let _ = log::write(
            log::Level::Warn,
            "release timer not set",
            &[("error", &format!("{e:?}"))],
        );
    }
}

fn lines_table(lines: &[authority::Line]) -> Table {
    let mut table = Table::new(["批次线", "分数线"]);
    for l in lines {
        table = table.row([l.name.clone(), format!("{} 分", l.score)]);
    }
    table
}

/// `GET /`: the exam and its release, or its batch lines.
fn index(_req: &Request) -> Page {
    let exam = authority::exam()?;
    arm_quietly(&exam);
    let mut view = View::new(TITLE).heading(exam.name.clone());
    if exam.released {
        view = view
            .alert(
                AlertLevel::Success,
                format!("成绩已于 {} 发布。", beijing(exam.release_at)),
            )
            .button("查询成绩", Action::open("/lookup"));
        if let Some(lines) = &exam.lines {
            view = view.heading("批次线").table(lines_table(lines));
        }
    } else {
        view = view
            .alert(
                AlertLevel::Info,
                format!(
                    "成绩将于 {} 发布，发布前无法查询。",
                    beijing(exam.release_at)
                ),
            )
            .kv([("成绩发布时间", beijing(exam.release_at))])
            .button("发布时提醒我", Action::open("/remind"))
            .link("查询成绩", "/lookup");
    }
    Ok(Response::view(
        view.text("查询成绩须实名认证，并以您本人的身份证号核对考生号：只能查询本人成绩。")
            .text(EXAM_NUMBER_RULE),
    ))
}

/// The lookup form, its field holding `typed`.
fn exam_number_form(typed: &str) -> Form {
    Form::post("/lookup", "查询成绩").field(
        Field::text("exam_number", "考生号")
            .required()
            .value(typed)
            .placeholder("14 位数字，如 26330106000123"),
    )
}

/// `GET /lookup`: the form, for the verified citizen who consented.
fn lookup_form(_req: &Request) -> Page {
    let me = identity::real_identity()?;
    let view = View::new("查询成绩")
        .kv([("考生姓名", me.name)])
        .text("请输入您本人的考生号，将以您实名认证的身份证号核对。")
        .form(exam_number_form(""))
        .text(EXAM_NUMBER_RULE)
        .link("返回首页", "/");
    Ok(Response::view(view))
}

#[derive(Deserialize)]
struct LookupForm {
    exam_number: String,
}

/// The exam number of the form, checked; a malformed one is answered with
/// a 400 view naming `exam_number` and the form again, holding what was
/// typed.
fn checked_exam_number(req: &Request) -> std::result::Result<String, Response> {
    let typed = req
        .form::<LookupForm>()
        .map_err(Error::into_response)?
        .exam_number;
    let number = typed.trim();
    if is_exam_number(number) {
        return Ok(number.to_string());
    }
    let shown: String = typed.chars().take(32).collect();
    let view = View::new("查询成绩")
        .alert(
            AlertLevel::Error,
            format!("「考生号」（exam_number）{EXAM_NUMBER_REFUSED}。"),
        )
        .form(exam_number_form(&shown))
        .link("返回首页", "/");
    Err(Response::view(view).status(400))
}

/// The highest batch line the total reaches, in words.
fn standing(scores: &Scores) -> (AlertLevel, String) {
    match scores.lines.iter().find(|l| l.reached) {
        Some(line) => (
            AlertLevel::Success,
            format!(
                "您的总分 {} 分，已达到{}（{} 分）。",
                scores.total, line.name, line.score
            ),
        ),
        None => (
            AlertLevel::Info,
            format!("您的总分 {} 分，未达到批次线。", scores.total),
        ),
    }
}

fn scores_view(scores: &Scores) -> View {
    let mut subjects = Table::new(["科目", "成绩", "满分"]);
    for s in &scores.subjects {
        subjects = subjects.row([s.subject.clone(), s.score.to_string(), s.full.to_string()]);
    }
    subjects = subjects.row([
        "总分".to_string(),
        scores.total.to_string(),
        scores.full_total.to_string(),
    ]);
    let mut lines = Table::new(["批次线", "分数线", "是否上线"]);
    for l in &scores.lines {
        let reached = if l.reached { "已上线" } else { "未上线" };
        lines = lines.row([l.name.clone(), l.score.to_string(), reached.to_string()]);
    }
    let (level, said) = standing(scores);
    View::new(format!("{} 年高考成绩", scores.year))
        .kv([
            ("考生号", scores.exam_number.clone()),
            ("姓名", scores.name.clone()),
        ])
        .alert(level, said)
        .heading("各科成绩")
        .table(subjects)
        .text("语文、数学、外语满分各 150 分；三门选考科目为赋分，满分各 100 分。")
        .heading("批次线")
        .table(lines)
        .text("成绩以浙江省教育考试院公布为准。如对成绩有疑问，可在规定时间内向报名所在地考试机构申请复核。")
        .link("返回首页", "/")
}

/// `POST /lookup`: the citizen's scores.
fn lookup(req: &Request) -> Page {
    let exam_number = match checked_exam_number(req) {
        Ok(number) => number,
        Err(refused) => return Ok(refused),
    };
    let me = identity::real_identity()?;
    let looked = authority::lookup(&exam_number, &me.id_number)?;
    let again = || {
        View::new(TITLE)
            .form(exam_number_form(""))
            .link("返回首页", "/")
    };
    Ok(match looked {
        Looked::Found(scores) => Response::view(scores_view(&scores)),
        Looked::NotReleased(at) => {
            let view = View::new(TITLE)
                .alert(
                    AlertLevel::Info,
                    format!("成绩尚未发布，将于 {} 发布。", beijing(at)),
                )
                .kv([("成绩发布时间", beijing(at))])
                .button("发布时提醒我", Action::open("/remind"))
                .link("返回首页", "/");
            Response::view(view).status(409)
        }
        Looked::NotFound => {
            let view = View::new(TITLE)
                .alert(
                    AlertLevel::Warning,
                    "未查询到您本人的成绩：请核对考生号。只能查询以您本人身份证号报名的考生号。",
                )
                .form(exam_number_form(""))
                .link("返回首页", "/");
            Response::view(view).status(404)
        }
        Looked::TooMany(limit, per_hour, retry_at) => {
            let whose = match limit {
                Limit::Citizen => "您每小时最多查询",
                Limit::ExamNumber => "该考生号每小时最多被查询",
            };
            let view = again().alert(
                AlertLevel::Warning,
                format!(
                    "查询过于频繁：{whose} {per_hour} 次，请于 {} 后再试。",
                    beijing(retry_at)
                ),
            );
            Response::view(view).status(429)
        }
        Looked::BadInput(field) => {
            return Err(Error::bad_request(field, "不符合要求，请核对后重试").into());
        }
    })
}

/// A citizen waiting for the release message of a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Subscriber {
    /// Whether the message was sent (or could not be: the subscription
    /// was withdrawn).
    notified: bool,
}

fn subscriber_key(year: u16, openid: &str) -> String {
    format!("subscriber:{year}:{openid}")
}

/// `GET /remind`: subscribe to the release message; once the citizen has,
/// they are remembered for the timer.
fn remind(_req: &Request) -> Page {
    let exam = authority::exam()?;
    let view = View::new("成绩发布提醒");
    if exam.released {
        let view = view
            .alert(AlertLevel::Success, "成绩已发布，可以查询了。")
            .button("查询成绩", Action::open("/lookup"))
            .link("返回首页", "/");
        return Ok(Response::view(view));
    }
    let openid = identity::openid()?;
    let view = if notify::subscribed(RELEASE_TEMPLATE)? {
        let key = subscriber_key(exam.year, &openid);
        if storage::get_json::<Subscriber>(&key)?.is_none() {
            storage::set_json(&key, &Subscriber { notified: false })?;
        }
        arm_quietly(&exam);
        view.alert(
            AlertLevel::Success,
            format!(
                "已订阅：成绩于 {} 发布时，会发消息通知您。",
                beijing(exam.release_at)
            ),
        )
    } else {
        view.kv([("成绩发布时间", beijing(exam.release_at))])
            .text("订阅后，成绩发布时会发一条消息通知您（只通知一次）。")
            .button(
                "订阅成绩发布通知",
                notify::subscribe_action([RELEASE_TEMPLATE]),
            )
    };
    Ok(Response::view(view.link("返回首页", "/")))
}

/// Event `timer.scores-released`: at the release time every subscriber of
/// the year not yet messaged gets the release message, once. If the
/// authority moved the release later meanwhile, the timer is set again for
/// the new time.
fn released(_event: &AppEvent) -> Result<()> {
    let exam = authority::exam().map_err(retry)?;
    if !exam.released {
        // Not yet by the authority's clock: again at its time, and at least
        // a minute on.
        let at = exam.release_at.max(time::now_ms() + 60_000);
        return set_timer(at, storage::get_json::<ReleaseTimer>(TIMER_KEY)?);
    }
    let prefix = subscriber_key(exam.year, "");
    let year = exam.year.to_string();
    for key in storage::list_keys(&prefix, storage::MAX_LIST)? {
        let Some(mut subscriber) = storage::get_json::<Subscriber>(&key)? else {
            continue;
        };
        if subscriber.notified {
            continue;
        }
        let openid = &key[prefix.len()..];
        let message = notify::Message::template(RELEASE_TEMPLATE)
            .param("year", &year)
            .link("/lookup");
        match notify::send_to(openid, &message) {
            Ok(_) | Err(Error::NotSubscribed(_)) => {}
            Err(e) => return Err(e),
        }
        subscriber.notified = true;
        storage::set_json(&key, &subscriber)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cityhost_sdk::Method;

    use super::*;

    #[test]
    fn exam_numbers_are_checked() {
        assert!(is_exam_number("26330106000118"));
        for bad in [
            "",
            "2633010600011",
            "263301060001181",
            "26320106000118",
            "2633010600011X",
            "２6330106000118",
        ] {
            assert!(!is_exam_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_malformed_exam_number_is_a_400_naming_it() {
        for bad in ["123", "26330106-00118", ""] {
            let req = Request::new(Method::Post, "/lookup").with_form(&[("exam_number", bad)]);
            let res = app().handle(&req);
            assert_eq!(res.status_code(), 400, "{bad}");
            let body = String::from_utf8_lossy(res.body());
            assert!(body.contains("exam_number"), "{body}");
        }
        let res = app().handle(&Request::new(Method::Post, "/lookup").with_form(&[("x", "1")]));
        assert_eq!(res.status_code(), 400);
    }

    fn scores(total: u32, reached: [bool; 3]) -> Scores {
        let line = |name: &str, score, reached| authority::Line {
            name: name.into(),
            score,
            reached,
        };
        Scores {
            exam_number: "26330106000118".into(),
            name: "张三".into(),
            year: 2026,
            subjects: vec![authority::Subject {
                subject: "语文".into(),
                score: 118,
                full: 150,
            }],
            total,
            full_total: 750,
            lines: vec![
                line("特殊类型招生控制线", 590, reached[0]),
                line("普通类一段线", 490, reached[1]),
                line("普通类二段线", 278, reached[2]),
            ],
        }
    }

    #[test]
    fn the_highest_line_reached_is_said() {
        let (_, said) = standing(&scores(552, [false, true, true]));
        assert_eq!(said, "您的总分 552 分，已达到普通类一段线（490 分）。");
        let (_, said) = standing(&scores(267, [false, false, false]));
        assert!(said.contains("未达到"), "{said}");
        let json = serde_json::to_string(&scores_view(&scores(639, [true; 3]))).unwrap();
        assert!(json.contains("总分") && json.contains("已上线") && json.contains("语文"));
    }
}
