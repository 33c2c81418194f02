//! Hello, citizen: greets the citizen by their openid for this app and
//! counts their visits in the app's storage. Build and run: see README.md.

use cityhost_sdk::{Request, Result, Router, View, identity, storage};

/// `GET /`: greet and count the visit.
fn index(_req: &Request) -> Result<View> {
    let openid = identity::openid()?;
    let key = format!("visits:{openid}");
    let visits = storage::get_json::<u64>(&key)?.unwrap_or(0) + 1;
    storage::set_json(&key, &visits)?;
    Ok(View::new("你好")
        .heading(format!("你好，市民 {}", &openid[..openid.len().min(8)]))
        .text(format!("这是您第 {visits} 次访问本服务。"))
        .text("openid 是您在本服务中的匿名标识：每个服务看到的都不同。"))
}

cityhost_sdk::export_app!(Router::new().get("/", index));
