//! Hello, citizen: greets the citizen by their openid for this app and
//! counts their visits in the app's storage, in Chinese or, when the shell
//! asks for it (`Accept-Language: en`), in English. Build and run: see
//! README.md.

use cityhost_sdk::{Request, Result, Router, View, identity, storage};

/// Does the citizen read English first? The first tag of `Accept-Language`
/// (RFC 9110 §12.5.4; the shell sends one tag, `zh-CN` or `en`) decides.
fn english(req: &Request) -> bool {
    req.header("accept-language")
        .and_then(|value| value.split(',').next())
        .map(|tag| tag.split(';').next().unwrap_or("").trim())
        .is_some_and(|tag| {
            tag.eq_ignore_ascii_case("en") || tag.to_ascii_lowercase().starts_with("en-")
        })
}

/// `GET /`: greet and count the visit.
fn index(req: &Request) -> Result<View> {
    let openid = identity::openid()?;
    let key = format!("visits:{openid}");
    let visits = storage::get_json::<u64>(&key)?.unwrap_or(0) + 1;
    storage::set_json(&key, &visits)?;
    let short = &openid[..openid.len().min(8)];
    Ok(if english(req) {
        View::new("Hello")
            .heading(format!("Hello, citizen {short}"))
            .text(format!("This is visit number {visits} to this service."))
            .text("Your openid is your anonymous ID in this service: every service sees a different one.")
    } else {
        View::new("你好")
            .heading(format!("你好，市民 {short}"))
            .text(format!("这是您第 {visits} 次访问本服务。"))
            .text("openid 是您在本服务中的匿名标识：每个服务看到的都不同。")
    })
}

cityhost_sdk::export_app!(Router::new().get("/", index));
