//! 社保查询 (social insurance) of 浙江省社会保险和就业服务中心: a
//! real-name verified citizen sees their own social-insurance record in
//! Zhejiang and takes a certificate of participation (参保证明) that anyone
//! can check offline.
//!
//! The records are the department's: the app reads them from the
//! provincial records service (package `zj-social-insurance` beside this
//! crate) through the host's `http` capability ([`registry`]), which keys
//! them by identity number. The app obtains the citizen's identity number
//! from the host with their consent (`auth_id_number`, with the purpose in
//! the manifest) on each request, asks only for that number's records, and
//! shows them only when the registered name is the verified one. It keeps
//! nothing: no storage.
//!
//! - `GET /`: the record — status, first month, years paid (累计缴费年限),
//!   the paying unit, each of the five insurances (养老、医疗、失业、工伤、
//!   生育) with its status and months, the personal pension and medical
//!   accounts, gaps and unemployment benefit; or 无参保记录;
//! - `GET /contributions?from=YYYY-MM&to=YYYY-MM&page=N`: the monthly
//!   contributions, newest first, 12 a page — unit, base, the unit's and
//!   the citizen's parts, with totals over the range;
//! - `GET /month?month=YYYY-MM`: one month, each insurance's parts;
//! - `GET /certificate`: the certificate — what it certifies in words,
//!   a QR code of the same claims signed with the app's key (`sign`), valid
//!   [`CERTIFICATE_DAYS`] days, and how to check it.
//!
//! Every route needs real-name verification (L2, the manifest's
//! `[identity.min-level]`); a malformed query is a 400 naming the field;
//! the records service out of reach is a 503 view saying so.

mod registry;
mod text;

use cityhost_sdk::view::{Action, AlertLevel, Field, Form, ListItem, Table};
use cityhost_sdk::{
    Error, Request, Response, Result, Router, View, identity, log, money, sign, time,
};
use registry::{Summary, Unreachable};
use serde::{Deserialize, Serialize};

const TITLE: &str = "社保查询";

/// How long a certificate is valid: 90 days.
pub const CERTIFICATE_DAYS: u64 = 90;

/// The `doc` claim of a certificate: what kind of document it is.
pub const CERTIFICATE_DOC: &str = "zj-si-participation";

/// Months a page of contributions lists.
const PER_PAGE: u32 = 12;

/// Who answers questions about the records.
const HOTLINE: &str =
    "以上信息以浙江省社会保险和就业服务中心核定为准，如有疑问请咨询单位经办人或拨打 12333。";

/// What the citizen is told when the records service cannot be reached.
const UNREACHABLE_ALERT: &str = "社会保险信息系统暂时无法访问，请稍后再试。";

/// What a citizen without real-name verification is told.
const UNVERIFIED: &str = "您尚未完成实名认证，暂无法查询社保。请先在「我的」中完成实名认证。";

fn app() -> Router {
    Router::new()
        .get("/", |req: &Request| answer(index(req)))
        .get("/contributions", |req: &Request| answer(contributions(req)))
        .get("/month", |req: &Request| answer(month(req)))
        .get("/certificate", |req: &Request| answer(certificate(req)))
}

cityhost_sdk::export_app!(app());

/// Why a page could not be shown: an SDK error (its own status and view)
/// or the records service out of reach.
enum Failure {
    Sdk(Error),
    Registry(Unreachable),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sdk(e)
    }
}

impl From<Unreachable> for Failure {
    fn from(e: Unreachable) -> Self {
        Failure::Registry(e)
    }
}

type Page = std::result::Result<Response, Failure>;

/// A page's response: the records service out of reach is a view with an
/// alert, not an error page.
fn answer(result: Page) -> Result<Response> {
    match result {
        Ok(response) => Ok(response),
        Err(Failure::Sdk(e)) => Err(e),
        Err(Failure::Registry(Unreachable(reason))) => {
            let _ = log::write(
                log::Level::Warn,
                "social insurance records unreachable",
                &[("reason", &reason)],
            );
            let view = View::new(TITLE)
                .alert(AlertLevel::Warning, UNREACHABLE_ALERT)
                .link("返回首页", "/");
            Ok(Response::view(view).status(503))
        }
    }
}

/// The citizen as the host verified them: name and full identity number
/// (`auth_id_number`; without the grant `?` answers the consent view).
/// `None` when the host has no verified identity for them.
fn me() -> Result<Option<identity::RealIdentity>> {
    match identity::real_identity() {
        Ok(me) => Ok(Some(me)),
        // Unavailable exactly when real-name verification is not complete.
        Err(Error::Unavailable(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn unverified_view() -> Response {
    Response::view(View::new(TITLE).alert(AlertLevel::Warning, UNVERIFIED)).status(403)
}

/// The page for a citizen the records service knows nothing of (or knows
/// under another name): 无参保记录, with what to do. Not an error.
fn no_record_view(me: &identity::RealIdentity) -> Response {
    let view = View::new(TITLE)
        .kv([
            ("姓名", me.name.clone()),
            ("证件号码", text::mask(&me.id_number)),
        ])
        .alert(AlertLevel::Info, "无参保记录")
        .text("浙江省社会保险信息系统中没有您的参保记录。如您在浙江省工作并已参保，请联系单位经办人核实参保登记；在外省参保的，请向参保地社保经办机构查询。咨询电话 12333。");
    Response::view(view)
}

/// The citizen's summary: `Ok(Err(response))` is the page to answer
/// instead (unverified, or no record).
fn my_summary()
-> std::result::Result<std::result::Result<(identity::RealIdentity, Summary), Response>, Failure> {
    let Some(me) = me()? else {
        return Ok(Err(unverified_view()));
    };
    match registry::summary(&me.id_number)? {
        Some(summary) if summary.name == me.name => Ok(Ok((me, summary))),
        _ => Ok(Err(no_record_view(&me))),
    }
}

/// `GET /`: the record.
fn index(_req: &Request) -> Page {
    let (me, s) = match my_summary()? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let mut basics = vec![
        ("姓名", me.name.clone()),
        ("证件号码", text::mask(&me.id_number)),
        (
            "参保状态",
            if s.status == "paying" {
                "正常参保缴费"
            } else {
                "暂停缴费"
            }
            .to_string(),
        ),
    ];
    if let Some(first) = &s.first_month {
        basics.push(("首次参保", first.clone()));
    }
    basics.push((
        "累计缴费",
        format!("{}（{} 个月）", text::years(s.paid_months), s.paid_months),
    ));
    basics.push((
        "参保单位",
        s.current_unit
            .as_ref()
            .map_or_else(|| "无（暂停缴费）".to_string(), |u| u.name.clone()),
    ));
    basics.push(("数据截至", s.as_of.clone()));
    let mut view = View::new(TITLE).kv(basics).heading("参保险种");
    let items = s.insurances.iter().map(|i| {
        let detail = match &i.first_month {
            Some(first) => format!("{first} 起 · 累计缴费 {} 个月", i.months),
            None => "未参保".to_string(),
        };
        ListItem::new(i.name.clone())
            .meta(text::status(&i.status))
            .subtitle(detail)
    });
    view = view.list(items).heading("个人账户").kv([
        (
            "养老保险个人账户",
            money::format_fen(s.accounts.pension_personal_fen),
        ),
        (
            "其中记账利息",
            money::format_fen(s.accounts.pension_interest_fen),
        ),
        ("医保个人账户", money::format_fen(s.accounts.medical_fen)),
    ]);
    for gap in &s.gaps {
        let mut note = format!("{} 至 {} 断缴 {} 个月", gap.from, gap.to, gap.months);
        if let Some(b) = s
            .benefits
            .iter()
            .find(|b| b.from <= gap.to && b.to >= gap.from)
        {
            note.push_str(&format!(
                "；{} 至 {} 领取失业保险金，每月 {}",
                b.from,
                b.to,
                money::format_fen(b.monthly_fen)
            ));
        }
        view = view.alert(
            AlertLevel::Info,
            format!("{note}。断缴月份不计入累计缴费年限。"),
        );
    }
    let view = view
        .button("缴费明细", Action::open("/contributions"))
        .button("开具参保证明", Action::open("/certificate"))
        .text(HOTLINE);
    Ok(Response::view(view))
}

/// The query of `GET /contributions`; empty fields are absent (a form
/// sends them so).
#[derive(Deserialize)]
struct RangeQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

/// A month field: absent or empty is `None`, else `YYYY-MM` or a 400
/// naming it.
fn month_field(value: Option<String>, field: &str) -> Result<Option<String>> {
    match value.filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) if text::is_month(v.trim()) => Ok(Some(v.trim().to_string())),
        Some(_) => Err(Error::bad_request(field, "应为年-月，如 2025-01")),
    }
}

/// The path of a page of contributions.
fn range_path(from: &str, to: &str, page: u32) -> String {
    format!("/contributions?from={from}&to={to}&page={page}")
}

/// `GET /contributions`: the monthly contributions.
fn contributions(req: &Request) -> Page {
    let q: RangeQuery = req.query_as()?;
    let from = month_field(q.from, "from")?;
    let to = month_field(q.to, "to")?;
    if let (Some(f), Some(t)) = (&from, &to)
        && f > t
    {
        return Err(Error::bad_request("from", "起始月份不能晚于截止月份").into());
    }
    let page = match q.page.filter(|p| !p.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=9_999).contains(n))
            .ok_or_else(|| Error::bad_request("page", "应为 1 到 9999 的整数"))?,
    };
    let Some(me) = me()? else {
        return Ok(unverified_view());
    };
    // Only the verified name's own record: the same check as the summary.
    match registry::summary(&me.id_number)? {
        Some(s) if s.name == me.name => {}
        _ => return Ok(no_record_view(&me)),
    }
    let Some(c) = registry::contributions(
        &me.id_number,
        from.as_deref(),
        to.as_deref(),
        page,
        PER_PAGE,
    )?
    else {
        return Ok(no_record_view(&me));
    };
    let form = Form::get("/contributions", "查询")
        .field(
            Field::text("from", "起始月份")
                .value(c.from.clone())
                .placeholder("2025-01"),
        )
        .field(
            Field::text("to", "截止月份")
                .value(c.to.clone())
                .placeholder("2026-11"),
        );
    let mut view = View::new("缴费明细").form(form).kv([
        ("查询区间", format!("{} 至 {}", c.from, c.to)),
        ("缴费月数", format!("{} 个月", c.total)),
        ("单位缴纳合计", money::format_fen(c.employer_fen)),
        ("个人缴纳合计", money::format_fen(c.personal_fen)),
    ]);
    if c.months.is_empty() {
        view = view.alert(AlertLevel::Info, "该区间内没有缴费记录。");
    } else {
        let items = c.months.iter().map(|m| {
            ListItem::new(m.month.clone())
                .meta(format!("个人 {}", money::format_fen(m.personal_fen)))
                .subtitle(format!(
                    "{} · 基数 {} · 单位 {}",
                    m.unit.name,
                    money::format_fen(m.base_fen),
                    money::format_fen(m.employer_fen)
                ))
                .action("各险种", Action::open(format!("/month?month={}", m.month)))
        });
        view = view
            .heading(format!("第 {} / {} 页", c.page, c.pages.max(1)))
            .list(items);
    }
    if c.page > 1 {
        view = view.link("上一页", range_path(&c.from, &c.to, c.page - 1));
    }
    if c.page < c.pages {
        view = view.link("下一页", range_path(&c.from, &c.to, c.page + 1));
    }
    Ok(Response::view(view.link("返回社保查询", "/")))
}

#[derive(Deserialize)]
struct MonthQuery {
    month: String,
}

/// `GET /month?month=YYYY-MM`: one month, each insurance's parts.
fn month(req: &Request) -> Page {
    let q: MonthQuery = req.query_as()?;
    if !text::is_month(&q.month) {
        return Err(Error::bad_request("month", "应为年-月，如 2025-01").into());
    }
    let (me, _) = match my_summary()? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let records = registry::contributions(&me.id_number, Some(&q.month), Some(&q.month), 1, 1)?;
    let Some(m) = records.and_then(|c| c.months.into_iter().next()) else {
        let view = View::new(format!("{} 缴费", q.month))
            .alert(AlertLevel::Info, format!("{} 没有缴费记录。", q.month))
            .link("缴费明细", "/contributions");
        return Ok(Response::view(view));
    };
    let mut table = Table::new(["险种", "单位缴纳", "个人缴纳"]);
    for p in &m.parts {
        table = table.row([
            text::short_name(&p.insurance).to_string(),
            money::format_fen(p.employer_fen),
            money::format_fen(p.personal_fen),
        ]);
    }
    table = table.row([
        "合计".to_string(),
        money::format_fen(m.employer_fen),
        money::format_fen(m.personal_fen),
    ]);
    let view = View::new(format!("{} 缴费", m.month))
        .kv([
            ("缴费单位", m.unit.name.clone()),
            ("单位统一社会信用代码", m.unit.uscc.clone()),
            ("缴费基数", money::format_fen(m.base_fen)),
        ])
        .table(table)
        .link("缴费明细", "/contributions");
    Ok(Response::view(view))
}

/// One insurance on a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedInsurance {
    /// `pension`, `medical`, `unemployment`, `work_injury`, `maternity`.
    pub insurance: String,
    /// `paying`, `suspended` or `never`.
    pub status: String,
    /// Months paid.
    pub months: u32,
}

/// The claims of a certificate of participation (参保证明), as signed.
/// The host adds `iss` (the app id) and `iat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Always [`CERTIFICATE_DOC`].
    pub doc: String,
    /// The certificate's number.
    pub sub: String,
    /// The insured's name.
    pub name: String,
    /// The identity number, first and last four characters.
    pub id_number_masked: String,
    /// The certifying department.
    pub issuer_name: String,
    /// Each insurance.
    pub insurances: Vec<CertifiedInsurance>,
    /// The paying unit now; none while contributions are suspended.
    pub unit: Option<String>,
    /// First month paid, `YYYY-MM`.
    pub first_month: Option<String>,
    /// Last month paid.
    pub last_month: Option<String>,
    /// Months of pension paid (累计缴费月数).
    pub paid_months: u32,
    /// The records are as of this month (the last levied).
    pub as_of: String,
    /// The day it was issued, Beijing time, `YYYY-MM-DD`.
    pub issued_on: String,
    /// Valid until, UTC seconds.
    pub exp: u64,
}

/// The certificate of `summary` for `me`, issued at `now_ms`.
fn certificate_claims(
    me: &identity::RealIdentity,
    s: &Summary,
    openid: &str,
    now_ms: u64,
) -> Certificate {
    let issued_on = time::format_beijing_date(now_ms);
    let compact: String = issued_on.chars().filter(char::is_ascii_digit).collect();
    let short: String = openid.chars().take(8).collect();
    Certificate {
        doc: CERTIFICATE_DOC.to_string(),
        sub: format!("ZJSB{compact}{}", short.to_ascii_uppercase()),
        name: me.name.clone(),
        id_number_masked: text::mask(&me.id_number),
        issuer_name: "浙江省社会保险和就业服务中心".to_string(),
        insurances: s
            .insurances
            .iter()
            .map(|i| CertifiedInsurance {
                insurance: i.insurance.clone(),
                status: i.status.clone(),
                months: i.months,
            })
            .collect(),
        unit: s.current_unit.as_ref().map(|u| u.name.clone()),
        first_month: s.first_month.clone(),
        last_month: s.last_month.clone(),
        paid_months: s.paid_months,
        as_of: s.as_of.clone(),
        issued_on,
        exp: now_ms / 1000 + CERTIFICATE_DAYS * 86_400,
    }
}

/// What the certificate certifies, in one paragraph.
fn statement(c: &Certificate) -> String {
    let mut text = format!("兹证明 {}（证件号码 {}）", c.name, c.id_number_masked);
    match (&c.first_month, &c.last_month) {
        (Some(first), Some(last)) => text.push_str(&format!(
            "自 {first} 起在浙江省参加职工社会保险，缴费至 {last}，截至 {} 累计缴纳养老保险 {} 个月（{}）",
            c.as_of,
            c.paid_months,
            text::years(c.paid_months)
        )),
        _ => text.push_str("在浙江省有参保登记"),
    }
    match &c.unit {
        Some(unit) => text.push_str(&format!("；现参保单位为{unit}。")),
        None => text.push_str("；目前暂停缴费。"),
    }
    text
}

/// `GET /certificate`: the certificate of participation.
fn certificate(_req: &Request) -> Page {
    let (me, s) = match my_summary()? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let openid = identity::openid()?;
    let claims = certificate_claims(&me, &s, &openid, time::now_ms());
    let token = sign::sign_json(&claims)?;
    let valid_until = time::format_beijing_date(claims.exp * 1000);
    let mut table = Table::new(["险种", "参保状态", "缴费月数"]);
    for i in &claims.insurances {
        table = table.row([
            text::short_name(&i.insurance).to_string(),
            text::status(&i.status).to_string(),
            i.months.to_string(),
        ]);
    }
    let view = View::new("参保证明")
        .text(statement(&claims))
        .kv([
            ("姓名", claims.name.clone()),
            ("证件号码", claims.id_number_masked.clone()),
            (
                "参保单位",
                claims.unit.clone().unwrap_or_else(|| "无（暂停缴费）".into()),
            ),
            ("累计缴费", format!("{} 个月", claims.paid_months)),
            ("数据截至", claims.as_of.clone()),
            ("证明编号", claims.sub.clone()),
            ("出具日期", claims.issued_on.clone()),
            ("有效期至", valid_until.clone()),
        ])
        .table(table)
        .qr(token, format!("参保证明 · 有效期至 {valid_until}"))
        .text(format!(
            "本证明由浙江省社会保险和就业服务中心通过本服务出具，二维码内容为经本服务密钥签名的证明信息，有效期 {CERTIFICATE_DAYS} 天（至 {valid_until}）。核验方扫描二维码后，以平台公布的本服务公钥（/.well-known/apps/social-insurance/jwks.json）离线核验签名与有效期，内容须与本页一致。"
        ))
        .link("返回社保查询", "/");
    Ok(Response::view(view))
}

#[cfg(test)]
mod tests {
    use cityhost_sdk::Method;

    use super::*;

    fn summary() -> Summary {
        serde_json::from_value(serde_json::json!({
            "name": "张三", "status": "paying", "as_of": "2026-11",
            "first_month": "2012-07", "last_month": "2026-11", "paid_months": 170,
            "gaps": [{"from": "2018-03", "to": "2018-05", "months": 3}],
            "current_unit": {"uscc": "91330106MA27WQ3K5U", "name": "杭州西湖数智科技有限公司"},
            "insurances": [
                {"insurance": "pension", "name": "企业职工基本养老保险", "status": "paying", "first_month": "2012-07", "months": 170},
                {"insurance": "maternity", "name": "生育保险", "status": "paying", "first_month": "2012-07", "months": 170}
            ],
            "accounts": {"pension_personal_fen": 1, "pension_interest_fen": 0, "medical_fen": 2},
            "benefits": []
        }))
        .unwrap()
    }

    #[test]
    fn malformed_queries_are_400s_naming_the_field() {
        let cases = [
            (
                Request::new(Method::Get, "/contributions").with_query("from", "2026-13"),
                "from",
            ),
            (
                Request::new(Method::Get, "/contributions").with_query("to", "11/2026"),
                "to",
            ),
            (
                Request::new(Method::Get, "/contributions")
                    .with_query("from", "2026-02")
                    .with_query("to", "2026-01"),
                "from",
            ),
            (
                Request::new(Method::Get, "/contributions").with_query("page", "0"),
                "page",
            ),
            (
                Request::new(Method::Get, "/month").with_query("month", "2026"),
                "month",
            ),
            (Request::new(Method::Get, "/month"), "month"),
        ];
        for (req, field) in cases {
            let res = app().handle(&req);
            assert_eq!(res.status_code(), 400, "{}", req.path());
            let body = String::from_utf8_lossy(res.body());
            assert!(body.contains(field), "{field}: {body}");
        }
    }

    #[test]
    fn a_certificate_says_what_it_certifies_and_fits_a_qr_code() {
        let me = identity::RealIdentity {
            name: "张三".into(),
            id_number: "33010619900101123X".into(),
        };
        // 2026-12-04 12:00 Beijing.
        let now = 1_796_356_800_000;
        let c = certificate_claims(&me, &summary(), &"ab".repeat(16), now);
        assert_eq!(c.issued_on, "2026-12-04");
        assert_eq!(c.sub, "ZJSB20261204ABABABAB");
        assert_eq!(c.exp, now / 1000 + 90 * 86_400);
        assert_eq!(time::format_beijing_date(c.exp * 1000), "2027-03-04");
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("33010619900101123X"), "{json}");
        assert!(json.contains("3301**********123X"));
        // Header and signature add about 200 bytes; base64 a third.
        assert!(json.len() * 4 / 3 + 200 < 2_331, "{}", json.len());
        let words = statement(&c);
        assert!(
            words.contains("自 2012-07 起")
                && words.contains("170 个月")
                && words.contains("杭州西湖数智科技有限公司"),
            "{words}"
        );
    }
}
