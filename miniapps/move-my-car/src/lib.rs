//! 挪车 (move my car): citizens register their plates; anyone can ask the
//! owner of a registered plate to move the car. The owner gets an inbox
//! message; neither side learns who the other is.
//!
//! - `GET /`: my plates, the registration form and the request form;
//! - `POST /plates` (form `plate`): register a plate to me;
//! - `POST /plates/delete` (form `plate`): unregister one of my plates;
//! - `POST /requests` (form `plate`, optional `location`, `note`): notify
//!   the owner.
//!
//! Storage: `plate:{PLATE}` → [`PlateRecord`]; `mine:{openid}:{PLATE}` →
//! registration time (the owner's list); `request:{PLATE}:{ms}:{requester prefix}` →
//! [`MoveRequest`]; `recent:{openid}:{PLATE}` → time of the last request,
//! to stop repeats.

mod plate;

use cityhost_sdk::notify::{self, Message};
use cityhost_sdk::view::{Action, AlertLevel, Block, Button, Field, Form, Table};
use cityhost_sdk::{Error, Request, Result, Router, View, identity, storage, time};
use serde::{Deserialize, Serialize};

const TITLE: &str = "挪车";

/// Most plates one citizen may register.
const MAX_PLATES: usize = 5;

/// The form fields' labels, also used when reporting them.
const PLATE_LABEL: &str = "车牌号";
const LOCATION_LABEL: &str = "位置";
const NOTE_LABEL: &str = "留言";

/// Longest `location`, in characters.
const MAX_LOCATION: usize = 64;

/// Longest `note`, in characters.
const MAX_NOTE: usize = 200;

/// How long a requester waits before asking about the same plate again
/// (10 minutes): one message is enough, repeats would be harassment.
const REPEAT_AFTER_MS: u64 = 10 * 60 * 1000;

/// Who registered a plate.
#[derive(Debug, Serialize, Deserialize)]
struct PlateRecord {
    /// The owner's openid for this app.
    owner_openid: String,
    /// UTC ms.
    registered_at: u64,
}

/// A request to move a car, kept for the record.
#[derive(Debug, Serialize, Deserialize)]
struct MoveRequest {
    plate: String,
    requester_openid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// UTC ms.
    at: u64,
}

fn app() -> Router {
    Router::new()
        .get("/", index)
        .post("/plates", register)
        .post("/plates/delete", unregister)
        .post("/requests", request_move)
}

cityhost_sdk::export_app!(app());

fn plate_key(plate: &str) -> String {
    format!("plate:{plate}")
}

fn mine_prefix(openid: &str) -> String {
    format!("mine:{openid}:")
}

/// The normalised plate of a form field, or a 400 naming it.
fn checked_plate(input: &str) -> Result<String> {
    let plate = plate::normalise(input);
    if plate::is_valid(&plate) {
        Ok(plate)
    } else {
        Err(Error::bad_request(
            PLATE_LABEL,
            "不是有效的车牌号（例：浙A12345、浙AD12345、浙A1234学）",
        ))
    }
}

/// Unicode bidirectional formatting characters (UAX #9), which could make a
/// message read differently from what was typed.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Trims an optional free-text input (it goes verbatim to a stranger's
/// inbox) and checks it, or a 400 naming the field by `label`: at most
/// `max` characters, no bidi controls and no control characters, except
/// line breaks (`\n` only) when `multiline`. The host refuses the same
/// characters in a message, so checking here keeps that from ever failing.
fn checked_text(
    label: &str,
    value: Option<String>,
    max: usize,
    multiline: bool,
) -> Result<Option<String>> {
    let Some(v) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(Error::bad_request(label, format!("不能超过 {max} 个字")));
    }
    if v.chars().any(|c| c == '\n' && !multiline) {
        return Err(Error::bad_request(label, "不能换行"));
    }
    if v.chars()
        .any(|c| (c.is_control() && c != '\n') || is_bidi_control(c))
    {
        return Err(Error::bad_request(
            label,
            "含有不允许的字符（控制字符或文字方向控制符），请删除后重试",
        ));
    }
    Ok(Some(v))
}

/// The plates `openid` registered, normalised, in order.
fn my_plates(openid: &str) -> Result<Vec<String>> {
    let prefix = mine_prefix(openid);
    let keys = storage::list_keys(&prefix, storage::MAX_LIST)?;
    Ok(keys
        .into_iter()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
        .collect())
}

fn register_form() -> Form {
    Form::post("/plates", "登记").field(
        Field::text("plate", PLATE_LABEL)
            .required()
            .placeholder("如 浙A12345"),
    )
}

fn request_form() -> Form {
    Form::post("/requests", "通知车主挪车")
        .field(
            Field::text("plate", "挡路车辆的车牌号")
                .required()
                .placeholder("如 浙A12345"),
        )
        .field(
            Field::text("location", LOCATION_LABEL).placeholder("如 文三路 90 号地下车库 B2-113"),
        )
        .field(Field::text("note", NOTE_LABEL).placeholder("如 您的车挡住了出口，麻烦挪一下"))
}

/// `GET /`: my plates and both forms.
fn index(_req: &Request) -> Result<View> {
    let openid = identity::openid()?;
    let plates = my_plates(&openid)?;
    let mut view = View::new(TITLE)
        .heading("请车主挪车")
        .text(
            "输入挡路车辆的车牌号，我们会通过消息中心通知车主。双方都不会看到对方的手机号或姓名。",
        )
        .form(request_form())
        .heading("我的车牌");
    if plates.is_empty() {
        view = view.text("您还没有登记车牌。登记后，有人需要您挪车时会在消息中心通知您。");
    } else {
        let mut table = Table::new(["车牌号"]);
        for p in &plates {
            table = table.row([p.as_str()]);
        }
        view = view.table(table);
        for p in &plates {
            let action = Action::post("/plates/delete", [("plate", p.as_str())]);
            let label = format!("取消登记 {p}");
            view = view.block(Block::Button(Button::new(label, action).secondary()));
        }
    }
    Ok(view.form(register_form()))
}

#[derive(Deserialize)]
struct PlateForm {
    plate: String,
}

/// `POST /plates`: register a plate to the current citizen.
fn register(req: &Request) -> Result<View> {
    let openid = identity::openid()?;
    let plate = checked_plate(&req.form::<PlateForm>()?.plate)?;
    let view = View::new(TITLE);
    if let Some(record) = storage::get_json::<PlateRecord>(&plate_key(&plate))? {
        let view = if record.owner_openid == openid {
            view.alert(AlertLevel::Info, format!("您已登记过 {plate}。"))
        } else {
            view.alert(
                AlertLevel::Warning,
                format!(
                    "{plate} 已由其他用户登记。如确为您的车辆，请携带行驶证到就近的交警服务站办理。"
                ),
            )
        };
        return Ok(view.link("返回", "/"));
    }
    if my_plates(&openid)?.len() >= MAX_PLATES {
        return Err(Error::bad_request(
            PLATE_LABEL,
            format!("每人最多登记 {MAX_PLATES} 个车牌，请先取消不用的车牌"),
        ));
    }
    let now = time::now_ms();
    storage::set_json(
        &plate_key(&plate),
        &PlateRecord {
            owner_openid: openid.clone(),
            registered_at: now,
        },
    )?;
    storage::set_json(&format!("{}{plate}", mine_prefix(&openid)), &now)?;
    Ok(view
        .alert(
            AlertLevel::Success,
            format!("已登记 {plate}。有人需要您挪车时，您会在消息中心收到通知。"),
        )
        .link("返回", "/"))
}

/// `POST /plates/delete`: unregister one of the current citizen's plates.
fn unregister(req: &Request) -> Result<View> {
    let openid = identity::openid()?;
    let plate = checked_plate(&req.form::<PlateForm>()?.plate)?;
    let key = plate_key(&plate);
    match storage::get_json::<PlateRecord>(&key)? {
        Some(record) if record.owner_openid == openid => {
            storage::delete(&key)?;
            storage::delete(&format!("{}{plate}", mine_prefix(&openid)))?;
            Ok(View::new(TITLE)
                .alert(AlertLevel::Success, format!("已取消登记 {plate}。"))
                .link("返回", "/"))
        }
        _ => Err(Error::not_found("您登记的该车牌")),
    }
}

#[derive(Deserialize)]
struct RequestForm {
    plate: String,
    location: Option<String>,
    note: Option<String>,
}

/// `POST /requests`: notify the plate's owner, without telling the
/// requester anything about them.
fn request_move(req: &Request) -> Result<View> {
    let requester = identity::openid()?;
    let form: RequestForm = req.form()?;
    let plate = checked_plate(&form.plate)?;
    let location = checked_text(LOCATION_LABEL, form.location, MAX_LOCATION, false)?;
    let note = checked_text(NOTE_LABEL, form.note, MAX_NOTE, true)?;
    let view = View::new(TITLE);
    let Some(record) = storage::get_json::<PlateRecord>(&plate_key(&plate))? else {
        return Ok(view
            .alert(
                AlertLevel::Info,
                format!(
                    "{plate} 尚未登记挪车服务，无法通知车主。您可以拨打 122 或联系现场管理人员。"
                ),
            )
            .link("返回", "/"));
    };
    if record.owner_openid == requester {
        return Ok(view
            .alert(AlertLevel::Info, format!("{plate} 是您自己登记的车牌。"))
            .link("返回", "/"));
    }
    let now = time::now_ms();
    let recent_key = format!("recent:{requester}:{plate}");
    if let Some(last) = storage::get_json::<u64>(&recent_key)?
        && now.saturating_sub(last) < REPEAT_AFTER_MS
    {
        return Ok(view
            .alert(
                AlertLevel::Info,
                format!("您在 10 分钟内已通知过 {plate} 的车主，请耐心等候。"),
            )
            .link("返回", "/"));
    }
    let mut body = format!("您的车辆 {plate} 需要挪车，请尽快前往处理。");
    if let Some(location) = &location {
        body.push_str(&format!("\n{LOCATION_LABEL}：{location}"));
    }
    if let Some(note) = &note {
        body.push_str(&format!("\n{NOTE_LABEL}：{note}"));
    }
    notify::send_to(
        &record.owner_openid,
        &Message::new("请挪车", body).link("/"),
    )?;
    storage::set_json(&recent_key, &now)?;
    storage::set_json(
        &format!(
            "request:{plate}:{now}:{}",
            &requester[..requester.len().min(8)]
        ),
        &MoveRequest {
            plate: plate.clone(),
            requester_openid: requester,
            location,
            note,
            at: now,
        },
    )?;
    Ok(view
        .alert(AlertLevel::Success, "已通知车主")
        .text("我们已通过消息中心通知车主，请稍候。车主不会看到您的手机号或姓名。")
        .link("返回", "/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text a 400 view shows the citizen.
    fn view_text(err: Error) -> String {
        assert_eq!(err.status(), 400);
        String::from_utf8(err.into_response().body().to_vec()).unwrap()
    }

    fn location(v: &str) -> Result<Option<String>> {
        checked_text(LOCATION_LABEL, Some(v.into()), MAX_LOCATION, false)
    }

    fn note(v: &str) -> Result<Option<String>> {
        checked_text(NOTE_LABEL, Some(v.into()), MAX_NOTE, true)
    }

    #[test]
    fn a_malformed_plate_is_a_400_naming_it() {
        let shown = view_text(checked_plate("12345").unwrap_err());
        assert!(shown.contains("「车牌号」"), "{shown}");
        assert!(!shown.contains("plate"), "{shown}");
        assert_eq!(checked_plate("浙a 12345").unwrap(), "浙A12345");
        assert_eq!(checked_plate("浙Ａ１２３４５").unwrap(), "浙A12345");
        assert_eq!(checked_plate("粤Z·1234港").unwrap(), "粤Z1234港");
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(note("  ").unwrap(), None);
        assert_eq!(
            checked_text(NOTE_LABEL, None, MAX_NOTE, true).unwrap(),
            None
        );
        assert_eq!(note(" 挡住出口 ").unwrap().as_deref(), Some("挡住出口"));
        assert!(location(&"长".repeat(64)).is_ok());
        let shown = view_text(location(&"长".repeat(65)).unwrap_err());
        assert!(shown.contains("「位置」不能超过 64 个字"), "{shown}");
        assert!(!shown.contains("location"), "{shown}");
        assert!(note(&"长".repeat(200)).is_ok());
        let shown = view_text(note(&"长".repeat(201)).unwrap_err());
        assert!(shown.contains("「留言」不能超过 200 个字"), "{shown}");
    }

    #[test]
    fn control_and_bidi_characters_are_refused() {
        assert_eq!(
            note("第一行\n第二行").unwrap().as_deref(),
            Some("第一行\n第二行")
        );
        let shown = view_text(location("B2\n113").unwrap_err());
        assert!(shown.contains("「位置」不能换行"), "{shown}");
        for bad in [
            "\u{7}",
            "\u{1b}[2J",
            "\r",
            "\t",
            "\u{0}",
            "\u{7f}",
            "\u{85}",
        ] {
            let text = format!("出口{bad}旁");
            let shown = view_text(location(&text).unwrap_err());
            assert!(
                shown.contains("「位置」含有不允许的字符"),
                "{text:?}: {shown}"
            );
            let shown = view_text(note(&text).unwrap_err());
            assert!(
                shown.contains("「留言」含有不允许的字符"),
                "{text:?}: {shown}"
            );
        }
        for bidi in [
            '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            let text = format!("B2-{bidi}311");
            assert!(location(&text).is_err(), "{text:?}");
            assert!(note(&text).is_err(), "{text:?}");
        }
    }
}
