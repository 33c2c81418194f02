//! 公积金查询 (housing provident fund): the citizen's account, balance and
//! recent contributions.
//!
//! `GET /` asks the host for the citizen's profile (scope `auth_user`; until
//! it is granted, `?` answers the consent view) and looks the account up in
//! storage under `account:{id_number_masked}:{name}`. A citizen who has not
//! completed real-name verification (the profile is `unavailable`) is told
//! to complete it first.

use cityhost_sdk::identity::{self, Profile};
use cityhost_sdk::money::format_fen;
use cityhost_sdk::view::{AlertLevel, Table};
use cityhost_sdk::{Error, Request, Response, Result, Router, View, storage};
use serde::Deserialize;

const TITLE: &str = "公积金查询";

/// How many contributions the page lists.
const RECENT: usize = 12;

/// A housing-fund account as stored.
#[derive(Debug, Deserialize)]
struct FundAccount {
    /// 公积金账号.
    account_no: String,
    /// Balance, fen.
    balance_fen: u64,
    /// Monthly contribution (employer and employee), fen.
    monthly_fen: u64,
    /// The contributing employer.
    employer: String,
    /// `normal`, `sealed` (封存) or `closed` (销户).
    status: String,
    /// Month the account was opened, `2014-07`.
    #[serde(default)]
    opened: Option<String>,
    /// Contributions, any order.
    #[serde(default)]
    contributions: Vec<Contribution>,
}

/// One month's contribution.
#[derive(Debug, Deserialize)]
struct Contribution {
    /// `2026-10`.
    month: String,
    /// Fen.
    amount_fen: u64,
}

fn status_label(status: &str) -> &str {
    match status {
        "normal" => "正常缴存",
        "sealed" => "封存",
        "closed" => "销户",
        other => other,
    }
}

fn app() -> Router {
    Router::new().get("/", index)
}

cityhost_sdk::export_app!(app());

/// What a citizen without real-name verification is told.
const UNVERIFIED: &str = "您尚未完成实名认证，暂无法查询公积金。请先在「我的」中完成实名认证。";

/// The answer when the host has no verified profile for the citizen: no
/// "try again later" (it will not help) and no link back to this page.
fn unverified_view() -> Response {
    Response::view(View::new(TITLE).alert(AlertLevel::Warning, UNVERIFIED)).status(403)
}

/// `GET /`: the citizen's account.
fn index(_req: &Request) -> Result<Response> {
    let profile = match identity::profile() {
        Ok(profile) => profile,
        // `profile` is unavailable exactly when the citizen has not completed
        // real-name verification.
        Err(Error::Unavailable(_)) => return Ok(unverified_view()),
        Err(e) => return Err(e),
    };
    let key = format!("account:{}:{}", profile.id_number_masked, profile.name);
    let view = match storage::get_json::<FundAccount>(&key)? {
        Some(account) => account_view(&profile, account),
        None => View::new(TITLE)
            .kv([
                ("姓名", profile.name.as_str()),
                ("证件号码", profile.id_number_masked.as_str()),
            ])
            .alert(
                AlertLevel::Info,
                "未查询到您的住房公积金账户。如您已参加缴存，请联系单位经办人核实，或拨打 12329 咨询。",
            ),
    };
    Ok(Response::view(view))
}

fn account_view(profile: &Profile, mut account: FundAccount) -> View {
    account.contributions.sort_by(|a, b| b.month.cmp(&a.month));
    let mut details = vec![
        ("姓名", profile.name.clone()),
        ("证件号码", profile.id_number_masked.clone()),
        ("公积金账号", account.account_no),
        ("缴存单位", account.employer),
        ("账户状态", status_label(&account.status).to_string()),
        ("月缴存额", format_fen(account.monthly_fen)),
        ("账户余额", format_fen(account.balance_fen)),
    ];
    if let Some(opened) = account.opened {
        details.push(("开户年月", opened));
    }
    let mut view = View::new(TITLE).kv(details).heading("最近缴存记录");
    if account.contributions.is_empty() {
        view = view.text("暂无缴存记录。");
    } else {
        let mut table = Table::new(["月份", "缴存额"]);
        for c in account.contributions.iter().take(RECENT) {
            table = table.row([c.month.clone(), format_fen(c.amount_fen)]);
        }
        view = view.table(table);
    }
    view.text("以上信息仅供查询参考，以杭州住房公积金管理中心核定为准。")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unverified_citizen_is_told_to_verify_without_a_loop() {
        let res = unverified_view();
        let body = String::from_utf8(res.body().to_vec()).unwrap();
        assert!(body.contains(UNVERIFIED), "{body}");
        assert!(!body.contains("稍后再试"), "{body}");
        assert!(!body.contains(r#""type":"link""#), "{body}");
        assert!(!body.contains(r#""type":"button""#), "{body}");
    }

    #[test]
    fn the_seed_accounts_decode_and_render() {
        let seed: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_str(include_str!("../seed/storage.json")).unwrap();
        assert_eq!(seed.len(), 2);
        for value in seed.into_values() {
            let account: FundAccount = serde_json::from_value(value).unwrap();
            let profile = Profile {
                name: "张三".into(),
                id_number_masked: "3****************X".into(),
                assurance_level: 2,
            };
            let view = serde_json::to_string(&account_view(&profile, account)).unwrap();
            assert!(view.contains("正常缴存"));
            assert!(view.contains("2026-10"));
            assert!(!view.contains("2025-10"), "only the last 12 months");
        }
    }
}
