//! Benchmark guest for `cityhost-bench` (see docs/benchmarks.md).
//!
//! - `GET /`: `200 ok` — the trivial request;
//! - `GET /loop?op=storage-get|openid&n=N`: makes `N` calls of one
//!   capability (`storage.get` of a missing key, or `identity.openid`) and
//!   answers `200 N`; the host times `n = 0` against `n = N`;
//! - `GET /spin`: loops until the host's deadline stops it (the noisy
//!   neighbour);
//! - `GET /write`: one storage write (`bench:{k}`, `k` random below 100,
//!   8 bytes: after the first hundred keys each write replaces a value of
//!   its size), the write request of the several-hosts runs. A `GET` so
//!   the load tool needs no CSRF token; a service writes on `POST`.

use std::hint::black_box;

use cityhost_sdk::{Error, Request, Response, Result, Router, identity, storage};
use serde::Deserialize;

fn app() -> Router {
    Router::new()
        .get("/", |_| Ok(Response::text("ok")))
        .get("/loop", call_loop)
        .get("/spin", spin)
        .get("/write", write)
}

cityhost_sdk::export_app!(app());

#[derive(Deserialize)]
struct Loop {
    op: String,
    n: u32,
}

fn call_loop(req: &Request) -> Result<Response> {
    let Loop { op, n } = req.query_as()?;
    match op.as_str() {
        "storage-get" => {
            for _ in 0..n {
                black_box(storage::get("bench:missing")?);
            }
        }
        "openid" => {
            for _ in 0..n {
                black_box(identity::openid()?);
            }
        }
        _ => return Err(Error::bad_request("op", "storage-get or openid")),
    }
    Ok(Response::text(n.to_string()))
}

fn write(_req: &Request) -> Result<Response> {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    storage::set(&format!("bench:{}", random % 100), &random.to_le_bytes())?;
    Ok(Response::text("ok"))
}

fn spin(_req: &Request) -> Result<Response> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}
