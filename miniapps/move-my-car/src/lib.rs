//! 挪车 (move my car): citizens register their plates; anyone can ask the
//! owner of a registered plate to move the car. The owner gets an inbox
//! message (long-term template `move-request`, which owners subscribe to
//! when they register a plate), the requester sees when the owner has read
//! it, and the owner can answer "on my way" (one-time template
//! `move-reply`, which the requester subscribes to when asking). Neither
//! side learns who the other is: the app only ever holds openids.
//!
//! - `GET /`: my plates, my requests with their status, both forms;
//! - `POST /plates` (form `plate`): register a plate to me;
//! - `POST /plates/delete` (form `plate`): unregister one of my plates;
//! - `POST /requests` (form `plate`, optional `location`, `note`): notify
//!   the owner;
//! - `GET /request?id=ID`: one request, for its requester (status) or the
//!   plate's owner (details and the "on my way" button);
//! - `POST /reply` (form `id`): the owner answers "on my way".
//!
//! Storage: `plate:{PLATE}` → [`PlateRecord`]; `mine:{openid}:{PLATE}` →
//! registration time (the owner's list); `request:{id}` → [`MoveRequest`];
//! `sent:{openid}:{id}` → time (the requester's list); `recent:{openid}:{PLATE}`
//! → time of the last request, to stop repeats.

mod plate;

use cityhost_sdk::notify::{self, DeliveryState, Message};
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

/// Template the owner subscribes to (long-term): someone asks them to move.
const REQUEST_TEMPLATE: &str = "move-request";
/// Template the requester subscribes to (one-time): the owner's answer.
const REPLY_TEMPLATE: &str = "move-reply";

/// Most of the requester's own requests shown on the index.
const MY_REQUESTS_SHOWN: u32 = 5;

/// A request to move a car.
#[derive(Debug, Serialize, Deserialize)]
struct MoveRequest {
    /// `{ms, 13 digits}-{requester openid prefix}`.
    id: String,
    plate: String,
    requester_openid: String,
    owner_openid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// UTC ms.
    at: u64,
    /// The message the owner got.
    message_id: String,
    /// When the owner answered "on my way", UTC ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replied_at: Option<u64>,
}

fn app() -> Router {
    Router::new()
        .get("/", index)
        .post("/plates", register)
        .post("/plates/delete", unregister)
        .post("/requests", request_move)
        .get("/request", show_request)
        .post("/reply", reply)
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
        if !notify::subscribed(REQUEST_TEMPLATE)? {
            view = view
                .alert(
                    AlertLevel::Warning,
                    "您尚未开启挪车通知，有人请您挪车时将无法通知到您。",
                )
                .button("开启挪车通知", notify::subscribe_action([REQUEST_TEMPLATE]));
        }
        for p in &plates {
            let action = Action::post("/plates/delete", [("plate", p.as_str())]);
            let label = format!("取消登记 {p}");
            view = view.block(Block::Button(Button::new(label, action).secondary()));
        }
    }
    view = view.form(register_form());
    let mine = my_requests(&openid)?;
    if !mine.is_empty() {
        let mut table = Table::new(["车牌号", "时间", "状态"]);
        for r in &mine {
            table = table.row([r.plate.clone(), time::format_beijing(r.at), status_text(r)?]);
        }
        view = view.heading("我发出的挪车请求").table(table);
        for r in &mine {
            view = view.link(format!("查看 {} 的请求", r.plate), request_path(&r.id));
        }
    }
    Ok(view)
}

fn request_path(id: &str) -> String {
    format!("/request?id={id}")
}

/// The requester's newest requests, newest first.
fn my_requests(openid: &str) -> Result<Vec<MoveRequest>> {
    let prefix = format!("sent:{openid}:");
    let mut keys = storage::list_keys(&prefix, storage::MAX_LIST)?;
    keys.reverse();
    let mut out = Vec::new();
    for k in keys.into_iter().take(MY_REQUESTS_SHOWN as usize) {
        let id = &k[prefix.len()..];
        if let Some(r) = storage::get_json::<MoveRequest>(&format!("request:{id}"))? {
            out.push(r);
        }
    }
    Ok(out)
}

/// What the requester sees of a request: replied, read, or delivered.
fn status_text(r: &MoveRequest) -> Result<String> {
    if let Some(at) = r.replied_at {
        return Ok(format!(
            "车主已回复：正在赶来（{}）",
            time::format_beijing(at)
        ));
    }
    Ok(match notify::status(&r.message_id)? {
        Some(s) if s.state == DeliveryState::Read => format!(
            "车主已读（{}）",
            time::format_beijing(s.read_at.unwrap_or(s.stored_at))
        ),
        Some(s) if s.state == DeliveryState::Pushed => "已送达，车主正在使用平台".to_string(),
        _ => "已送达车主的消息中心，车主尚未查看".to_string(),
    })
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
    let mut view = view.alert(AlertLevel::Success, format!("已登记 {plate}。"));
    view = if notify::subscribed(REQUEST_TEMPLATE)? {
        view.text("有人需要您挪车时，您会在消息中心收到通知。")
    } else {
        view.text("开启挪车通知后，有人需要您挪车时，您会在消息中心收到通知（可随时取消）。")
            .button("开启挪车通知", notify::subscribe_action([REQUEST_TEMPLATE]))
    };
    Ok(view.link("返回", "/"))
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
    let id = format!("{now:013}-{}", &requester[..requester.len().min(8)]);
    let message = Message::template(REQUEST_TEMPLATE)
        .param("plate", &plate)
        .param("location", location.as_deref().unwrap_or("未填写"))
        .param("note", note.as_deref().unwrap_or("无"))
        .link(request_path(&id));
    let message_id = match notify::send_to(&record.owner_openid, &message) {
        Ok(message_id) => message_id,
        Err(Error::NotSubscribed(_)) => {
            return Ok(view
                .alert(
                    AlertLevel::Info,
                    format!("{plate} 的车主没有开启挪车通知，无法通知车主。您可以拨打 122 或联系现场管理人员。"),
                )
                .link("返回", "/"));
        }
        Err(e) => return Err(e),
    };
    storage::set_json(&recent_key, &now)?;
    storage::set_json(
        &format!("request:{id}"),
        &MoveRequest {
            id: id.clone(),
            plate: plate.clone(),
            requester_openid: requester.clone(),
            owner_openid: record.owner_openid,
            location,
            note,
            at: now,
            message_id,
            replied_at: None,
        },
    )?;
    storage::set_json(&format!("sent:{requester}:{id}"), &now)?;
    let mut view = view
        .alert(AlertLevel::Success, "已通知车主")
        .text("我们已通过消息中心通知车主，请稍候。车主不会看到您的手机号或姓名。");
    if !notify::subscribed(REPLY_TEMPLATE)? {
        view = view.button(
            "车主回复时通知我",
            notify::subscribe_action([REPLY_TEMPLATE]),
        );
    }
    Ok(view
        .link("查看请求状态", request_path(&id))
        .link("返回", "/"))
}

#[derive(Deserialize)]
struct IdForm {
    id: String,
}

/// The request `id` if the current citizen is its requester or the plate's
/// owner at the time; anyone else gets a 404 (and learns nothing).
fn visible_request(id: &str) -> Result<(MoveRequest, bool)> {
    let openid = identity::openid()?;
    let valid = !id.is_empty()
        && id.len() <= 32
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let found = if valid {
        storage::get_json::<MoveRequest>(&format!("request:{id}"))?
    } else {
        None
    };
    match found {
        Some(r) if r.owner_openid == openid => Ok((r, true)),
        Some(r) if r.requester_openid == openid => Ok((r, false)),
        _ => Err(Error::not_found("该挪车请求")),
    }
}

/// `GET /request?id=ID`.
fn show_request(req: &Request) -> Result<View> {
    let id = req.query("id").unwrap_or_default().to_string();
    let (r, is_owner) = visible_request(&id)?;
    let mut view = View::new(TITLE).kv([
        ("车牌号", r.plate.clone()),
        ("时间", time::format_beijing(r.at)),
        (
            LOCATION_LABEL,
            r.location.clone().unwrap_or_else(|| "未填写".into()),
        ),
        (NOTE_LABEL, r.note.clone().unwrap_or_else(|| "无".into())),
    ]);
    if is_owner {
        view = match r.replied_at {
            Some(at) => view.alert(
                AlertLevel::Success,
                format!("您已于 {} 回复：正在赶来。", time::format_beijing(at)),
            ),
            None => view
                .text("告诉对方您正在赶来（对方看不到您的手机号或姓名）：")
                .button(
                    "我这就去挪车",
                    Action::post("/reply", [("id", r.id.as_str())]),
                ),
        };
    } else {
        view = view.kv([("状态", status_text(&r)?)]);
    }
    Ok(view.link("返回", "/"))
}

/// `POST /reply` (form `id`): the owner answers "on my way"; the requester
/// hears of it in their inbox if they subscribed, and on the request page
/// in any case.
fn reply(req: &Request) -> Result<View> {
    let form: IdForm = req.form()?;
    let (mut r, is_owner) = visible_request(&form.id)?;
    if !is_owner {
        return Err(Error::not_found("该挪车请求"));
    }
    let view = View::new(TITLE);
    if r.replied_at.is_some() {
        return Ok(view
            .alert(AlertLevel::Info, "您已回复过这条请求。")
            .link("返回", request_path(&r.id)));
    }
    r.replied_at = Some(time::now_ms());
    storage::set_json(&format!("request:{}", r.id), &r)?;
    let message = Message::template(REPLY_TEMPLATE)
        .param("plate", &r.plate)
        .link(request_path(&r.id));
    let reached = match notify::send_to(&r.requester_openid, &message) {
        Ok(_) => true,
        Err(Error::NotSubscribed(_)) => false,
        Err(e) => return Err(e),
    };
    Ok(view
        .alert(
            AlertLevel::Success,
            if reached {
                "已告诉对方您正在赶来。"
            } else {
                "已记录您的回复，对方打开挪车服务即可看到。"
            },
        )
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
