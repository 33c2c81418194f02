//! Test fixture for the host: a mini-app whose routes misbehave on purpose
//! (run forever, exhaust memory, trap) or exercise one capability each.
//!
//! - `GET /ok`: `200 ok`;
//! - `GET /spin`: loops forever (the host's deadline must stop it);
//! - `GET /hog`: allocates and touches 1 MiB blocks until allocation fails
//!   (the host's memory limit must stop it);
//! - `GET /trap`: panics (a trap, with `panic = "abort"`);
//! - `GET /kv/get?key=K`: the value under `K` as text, `404` if missing;
//! - `POST /kv/set` (form `key`, `value`): stores it, `200 ok`;
//! - `GET /pay?out_trade_no=N[&amount_fen=A][&expires_in_ms=T]`: creates
//!   order `N` (default 1 fen), answers it as JSON;
//! - `GET /order?out_trade_no=N`: the order as JSON, `404` if unknown;
//! - `GET /cancel?out_trade_no=N`: cancels it, answers it as JSON;
//! - `GET /refund?out_trade_no=N&out_request_no=R&amount_fen=A`: refunds,
//!   answers the refund as JSON (`409` with the refundable fen on
//!   over-refund);
//! - host events are not handled (`404`), so the host keeps retrying them;
//! - `GET /log?n=N`: writes `N` log lines, `200 logged N` (or `429` once the
//!   host's per-request quota is used up);
//! - `GET /hostile-headers`: `200 ok` with headers an app may not set (a
//!   cookie, relaxed security policies, CORS, a refresh) and one it may
//!   (`content-language`), for the host to strip all but the last.

use std::hint::black_box;

use cityhost_sdk::payment::{self, OrderRequest};
use cityhost_sdk::{Request, Response, Result, Router, log, storage};
use serde::Deserialize;

fn app() -> Router {
    Router::new()
        .get("/ok", |_| Ok(Response::text("ok")))
        .get("/spin", spin)
        .get("/hog", hog)
        .get("/trap", trap)
        .get("/kv/get", kv_get)
        .post("/kv/set", kv_set)
        .get("/pay", pay)
        .get("/order", order)
        .get("/cancel", cancel)
        .get("/refund", refund)
        .get("/log", log_lines)
        .get("/hostile-headers", hostile_headers)
}

fn hostile_headers(_req: &Request) -> Result<Response> {
    Ok(Response::text("ok")
        .header("set-cookie", "cityhost_session=forged; Path=/")
        .header("content-security-policy", "default-src *")
        .header("x-frame-options", "ALLOWALL")
        .header("referrer-policy", "unsafe-url")
        .header("permissions-policy", "camera=*")
        .header("cross-origin-opener-policy", "unsafe-none")
        .header("cross-origin-resource-policy", "cross-origin")
        .header("access-control-allow-origin", "*")
        .header("access-control-allow-credentials", "true")
        .header("strict-transport-security", "max-age=0")
        .header("cache-control", "public, max-age=86400")
        .header("refresh", "0; url=https://evil.example/")
        .header("x-content-type-options", "sniff")
        .header("content-language", "zh-CN"))
}

cityhost_sdk::export_app!(app());

fn spin(_req: &Request) -> Result<Response> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn hog(_req: &Request) -> Result<Response> {
    const MIB: usize = 1 << 20;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; MIB];
        // Touch every page so the memory is really used.
        for i in (0..MIB).step_by(4096) {
            block[i] = 1;
        }
        blocks.push(black_box(block));
    }
}

fn trap(_req: &Request) -> Result<Response> {
    panic!("probe: trap requested");
}

#[derive(Deserialize)]
struct Key {
    key: String,
}

fn kv_get(req: &Request) -> Result<Response> {
    let Key { key } = req.query_as()?;
    Ok(match storage::get(&key)? {
        Some(value) => Response::text(String::from_utf8_lossy(&value).into_owned()),
        None => Response::text("missing").status(404),
    })
}

#[derive(Deserialize)]
struct KeyValue {
    key: String,
    #[serde(default)]
    value: String,
}

fn kv_set(req: &Request) -> Result<Response> {
    let KeyValue { key, value } = req.form()?;
    storage::set(&key, value.as_bytes())?;
    Ok(Response::text("ok"))
}

#[derive(Deserialize)]
struct Pay {
    out_trade_no: String,
    amount_fen: Option<u64>,
    expires_in_ms: Option<u64>,
}

fn pay(req: &Request) -> Result<Response> {
    let Pay {
        out_trade_no,
        amount_fen,
        expires_in_ms,
    } = req.query_as()?;
    let order = payment::create_order(&OrderRequest {
        out_trade_no,
        amount_fen: amount_fen.unwrap_or(1),
        subject: "探针订单".into(),
        return_path: "/ok".into(),
        expires_in_ms,
    })?;
    Ok(Response::json(&order))
}

#[derive(Deserialize)]
struct Trade {
    out_trade_no: String,
}

fn order(req: &Request) -> Result<Response> {
    let Trade { out_trade_no } = req.query_as()?;
    Ok(match payment::query_order(&out_trade_no)? {
        Some(order) => Response::json(&order),
        None => Response::text("missing").status(404),
    })
}

fn cancel(req: &Request) -> Result<Response> {
    let Trade { out_trade_no } = req.query_as()?;
    Ok(Response::json(&payment::cancel_order(&out_trade_no)?))
}

#[derive(Deserialize)]
struct RefundQuery {
    out_trade_no: String,
    out_request_no: String,
    amount_fen: u64,
}

fn refund(req: &Request) -> Result<Response> {
    let q: RefundQuery = req.query_as()?;
    match payment::refund(&payment::RefundRequest {
        out_trade_no: q.out_trade_no,
        out_request_no: q.out_request_no,
        amount_fen: q.amount_fen,
        reason: "探针退款".into(),
    }) {
        Ok(refund) => Ok(Response::json(&refund)),
        Err(cityhost_sdk::Error::RefundExceeds(fen)) => {
            Ok(Response::text(format!("refundable {fen}")).status(409))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct Lines {
    n: u32,
}

fn log_lines(req: &Request) -> Result<Response> {
    let Lines { n } = req.query_as()?;
    for i in 0..n {
        let line = i.to_string();
        log::write(log::Level::Info, "probe line", &[("i", &line)])?;
    }
    Ok(Response::text(format!("logged {n}")))
}
