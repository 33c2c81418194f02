//! 公积金查询 (housing provident fund): the citizen's account, balance and
//! recent contributions.
//!
//! `GET /` asks the host for the citizen's verified name and identity number
//! (scope `auth_id_number`, with the purpose declared in the manifest; until
//! it is granted, `?` answers the consent view) and looks the account up in
//! storage under `account:{id_number}`, checking the holder's name. The page
//! shows the number masked. The manifest requires assurance level 2 for
//! every route, so the host walks an unverified citizen through real-name
//! verification first; should the identity still be `unavailable`, the
//! citizen is told to complete it.

use cityhost_sdk::identity::{self, RealIdentity};
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
    /// 缴存人姓名, as registered with the fund.
    holder: String,
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

/// The number as shown on the page: first and last character kept.
fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    match chars.as_slice() {
        [first, middle @ .., last] => {
            format!("{first}{}{last}", "*".repeat(middle.len()))
        }
        _ => "*".repeat(chars.len()),
    }
}

/// `GET /`: the citizen's account.
fn index(_req: &Request) -> Result<Response> {
    let identity = match identity::real_identity() {
        Ok(identity) => identity,
        // Unavailable exactly when the citizen has not completed real-name
        // verification.
        Err(Error::Unavailable(_)) => return Ok(unverified_view()),
        Err(e) => return Err(e),
    };
    let key = format!("account:{}", identity.id_number);
    let account =
        storage::get_json::<FundAccount>(&key)?.filter(|account| account.holder == identity.name);
    let view = match account {
        Some(account) => account_view(&identity, account),
        None => View::new(TITLE)
            .kv([
                ("姓名", identity.name.clone()),
                ("证件号码", mask(&identity.id_number)),
            ])
            .alert(
                AlertLevel::Info,
                "未查询到您的住房公积金账户。如您已参加缴存，请联系单位经办人核实，或拨打 12329 咨询。",
            ),
    };
    Ok(Response::view(view))
}

fn account_view(identity: &RealIdentity, mut account: FundAccount) -> View {
    account.contributions.sort_by(|a, b| b.month.cmp(&a.month));
    let mut details = vec![
        ("姓名", identity.name.clone()),
        ("证件号码", mask(&identity.id_number)),
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
        for (key, value) in seed {
            let account: FundAccount = serde_json::from_value(value).unwrap();
            let identity = RealIdentity {
                name: account.holder.clone(),
                id_number: key.trim_start_matches("account:").to_string(),
            };
            let view = serde_json::to_string(&account_view(&identity, account)).unwrap();
            assert!(view.contains("正常缴存"));
            assert!(
                !view.contains(&identity.id_number),
                "the page masks the number"
            );
            assert!(view.contains(&mask(&identity.id_number)));
            assert!(view.contains("2026-10"));
            assert!(!view.contains("2025-10"), "only the last 12 months");
        }
    }
}
