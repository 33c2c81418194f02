//! Outbound HTTP: a mini-app's calls to its department's own systems.
//!
//! Both ways a guest can make a request end here: the `http` capability
//! (`capabilities::http`) and a standard component's
//! `wasi:http/outgoing-handler` (`capabilities::outgoing`). [`Outbound::send`]
//! applies one policy to both, in this order:
//! 1. the URL's origin must be in the app's `[http] allow`
//!    ([`crate::manifest::http`]); anything else is refused before any DNS
//!    query or connection;
//! 2. the request is checked (method, headers, body size);
//! 3. at most `http.concurrent` calls of the app are in flight;
//! 4. the name is resolved by the host and every address checked
//!    ([`address`]): a loopback, private, link-local or metadata address
//!    is refused unless the operator allowed that exact origin for local
//!    use (`--http-local-origin`, [`LocalOrigin`], which may also pin its
//!    address); the connection goes to the checked address, which defeats
//!    DNS rebinding;
//! 5. one HTTP/1.1 exchange (TLS with rustls for `https`) within the
//!    call's timeout, never past the request's deadline; the response body
//!    is read up to its limit. Redirects are returned to the app, not
//!    followed.
//!
//! What each call did (origin, method, status, byte counts; never bodies,
//! paths or query strings) is given back for the caller's audit record.

pub mod address;
mod connect;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::sync::Semaphore;

use crate::manifest::http::{HttpPolicy, Origin};
use connect::Connector;

/// The operator's settings for outbound calls (`cityhost serve` flags).
#[derive(Debug, Clone, Default)]
pub struct OutboundConfig {
    /// Origins that may resolve to loopback or private addresses: a
    /// department system on the host's own network, allowed one exact
    /// origin at a time (`--http-local-origin`).
    pub local_origins: Vec<LocalOrigin>,
    /// PEM files of extra CA certificates to trust besides the system's
    /// roots (a department's private CA, `--http-ca-file`).
    pub extra_roots: Vec<PathBuf>,
}

/// An origin the operator allows for local use: it may resolve to a
/// loopback or private address, and, given an address, is reached there
/// without a DNS query (as `curl --connect-to` does; the request's `host`
/// and TLS server name stay the origin's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOrigin {
    /// The origin, as apps list it in `[http] allow`.
    pub origin: Origin,
    /// Where to connect instead of resolving its name.
    pub address: Option<std::net::SocketAddr>,
}

impl LocalOrigin {
    /// Parses `ORIGIN` or `ORIGIN=IP:PORT`, e.g.
    /// `http://billing.hzwater.internal=127.0.0.1:9301`. Errors: a bad
    /// origin ([`Origin::parse`]) or address, in a sentence.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (origin, address) = match text.split_once('=') {
            Some((origin, address)) => {
                let address = address
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{address}` is not an address such as 127.0.0.1:9301"))?;
                (origin, Some(address))
            }
            None => (text, None),
        };
        Ok(Self {
            origin: Origin::parse(origin)?,
            address,
        })
    }
}

/// One outbound request, as the guest asked for it.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// Method (one of [`METHODS`]).
    pub method: String,
    /// Absolute `http`/`https` URL.
    pub url: String,
    /// Headers as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// Body (empty for none).
    pub body: Bytes,
}

/// The answer to an [`OutboundRequest`].
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    /// Status code.
    pub status: u16,
    /// Headers as `(name, value)`, names in lower case, without hop-by-hop
    /// headers; values that are not UTF-8 are left out.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Bytes,
}

/// Why an outbound call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboundError {
    /// The origin is not in the app's `[http] allow`.
    #[error("{origin} is not in the manifest's [http] allow")]
    NotAllowed {
        /// The origin asked for.
        origin: String,
    },
    /// The origin is outside the domains the operator allows apps to call
    /// (`OperatorCaps::http_domains`), though the manifest lists it.
    #[error("{origin} is outside the domains the operator allows apps to call")]
    OverCap {
        /// The origin asked for.
        origin: String,
    },
    /// The origin's name resolves to an address mini-apps may not reach.
    #[error("{origin} resolves to {address}, an address mini-apps may not reach")]
    PrivateAddress {
        /// The origin asked for.
        origin: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The request is malformed; names the field (`url`, `method`,
    /// `headers`).
    #[error("{field}: {reason}")]
    Invalid {
        /// `url`, `method` or `headers`.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A limit on calls is reached: `http.calls-per-request` or
    /// `http.concurrent`.
    #[error("{0}")]
    Limit(&'static str),
    /// The request body is larger than the limit, bytes.
    #[error("request body larger than {0} bytes")]
    RequestTooLarge(usize),
    /// The response body is larger than the limit, bytes.
    #[error("response body larger than {0} bytes")]
    ResponseTooLarge(usize),
    /// No complete answer in time: the call's timeout or what was left of
    /// the request's deadline, ms.
    #[error("no complete answer within {0} ms")]
    Timeout(u64),
    /// The system could not be reached or did not speak HTTP/1.1.
    #[error("{0}")]
    Unreachable(String),
}

/// The methods a guest may use.
pub const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// Headers the host sets itself or that describe one connection (RFC 9110
/// §7.6.1): a guest may not send them, and they are not passed back.
const HOP_BY_HOP: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// What a call leaves of the request's deadline, so that the app can still
/// answer after a call that timed out.
pub const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_millis(150);

/// What the host sends as `user-agent` when the guest sends none.
const USER_AGENT: &str = concat!("CityHost/", env!("CARGO_PKG_VERSION"));

/// Outbound calls of every app: the TLS configuration, the operator's
/// local-use origins and each app's calls in flight.
pub struct Outbound {
    connector: Connector,
    local_origins: Vec<LocalOrigin>,
    /// The operator's cap on the domains apps may call
    /// (`OperatorCaps::http_domains`; empty: any).
    domains: std::sync::RwLock<Vec<String>>,
    /// Per app: its `http.concurrent` and the permits of its calls in
    /// flight.
    in_flight: Mutex<HashMap<String, (u32, Arc<Semaphore>)>>,
}

impl Outbound {
    /// Outbound calls under the operator's `config`. Errors: an unusable
    /// extra CA file.
    pub fn new(config: &OutboundConfig) -> anyhow::Result<Self> {
        Ok(Self {
            connector: Connector::new(&config.extra_roots)?,
            local_origins: config.local_origins.clone(),
            domains: std::sync::RwLock::default(),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// Sets the operator's cap on the domains apps may call (from
    /// `OperatorCaps::http_domains`; empty: any), for every call from now
    /// on.
    pub fn set_domains(&self, domains: Vec<String>) {
        *self.domains.write().unwrap_or_else(|e| e.into_inner()) = domains;
    }

    /// Sends `request` for `app` under its `policy`, finishing by
    /// `deadline` at the latest, and adds what the call did to `detail`
    /// (for the audit record): `origin`, `method`, then `status`,
    /// `request_bytes` and `response_bytes` once known. Errors: see
    /// [`OutboundError`]; an origin that is not allowed is refused before
    /// any DNS query or connection.
    pub async fn send(
        &self,
        app: &str,
        policy: &HttpPolicy,
        request: OutboundRequest,
        deadline: Instant,
        detail: &mut Vec<(String, String)>,
    ) -> Result<OutboundResponse, OutboundError> {
        let url = url::Url::parse(&request.url).map_err(|e| OutboundError::Invalid {
            field: "url",
            reason: format!("not an absolute URL: {e}"),
        })?;
        let origin = Origin::of_url(&url).map_err(|reason| OutboundError::Invalid {
            field: "url",
            reason,
        })?;
        detail.push(("origin".into(), origin.to_string()));
        detail.push(("method".into(), request.method.clone()));
        if !policy.allows(&origin) {
            return Err(OutboundError::NotAllowed {
                origin: origin.to_string(),
            });
        }
        if !self.within_cap(&origin) {
            return Err(OutboundError::OverCap {
                origin: origin.to_string(),
            });
        }
        let outgoing = build_request(&origin, &url, &request, policy)?;
        detail.push(("request_bytes".into(), request.body.len().to_string()));
        let _permit = self
            .permits(app, policy.concurrent)
            .try_acquire_owned()
            .map_err(|_| OutboundError::Limit("http.concurrent"))?;
        // The app keeps a moment after a failed call to answer the citizen.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(ANSWER_MARGIN);
        let timeout = policy.timeout.min(left);
        let local = self.local_origins.iter().find(|l| l.origin == origin);
        let exchange = self.exchange(&origin, local, outgoing, policy.max_response_bytes);
        let response = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| OutboundError::Timeout(timeout.as_millis() as u64))??;
        detail.push(("status".into(), response.status.to_string()));
        detail.push(("response_bytes".into(), response.body.len().to_string()));
        Ok(response)
    }

    /// Whether `origin` is within the operator's domains.
    fn within_cap(&self, origin: &Origin) -> bool {
        let domains = self.domains.read().unwrap_or_else(|e| e.into_inner());
        crate::publishing::domains_allow(&domains, origin)
    }

    /// The semaphore of `app`'s calls in flight, `concurrent` permits
    /// (replaced when a new release changes the number).
    fn permits(&self, app: &str, concurrent: u32) -> Arc<Semaphore> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        match in_flight.get(app) {
            Some((n, permits)) if *n == concurrent => permits.clone(),
            _ => {
                let permits = Arc::new(Semaphore::new(concurrent as usize));
                in_flight.insert(app.to_string(), (concurrent, permits.clone()));
                permits
            }
        }
    }

    /// Connects and makes one HTTP/1.1 exchange, reading at most
    /// `max_response` bytes of body.
    async fn exchange(
        &self,
        origin: &Origin,
        local: Option<&LocalOrigin>,
        request: hyper::Request<Full<Bytes>>,
        max_response: usize,
    ) -> Result<OutboundResponse, OutboundError> {
        let stream = self.connector.connect(origin, local).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| OutboundError::Unreachable(format!("{origin}: {e}")))?;
        // The connection is driven by its own task, stopped with the call.
        let driver = AbortOnDrop(tokio::spawn(async move {
            let _ = connection.await;
        }));
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| OutboundError::Unreachable(format!("{origin}: {e}")))?;
        let (parts, body) = response.into_parts();
        let declared = parts
            .headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_response as u64) {
            return Err(OutboundError::ResponseTooLarge(max_response));
        }
        let body = Limited::new(body, max_response)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    OutboundError::ResponseTooLarge(max_response)
                } else {
                    OutboundError::Unreachable(format!("{origin}: {e}"))
                }
            })?
            .to_bytes();
        drop(driver);
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| !is_hop_by_hop(name.as_str()))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        Ok(OutboundResponse {
            status: parts.status.as_u16(),
            headers,
            body,
        })
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether `name` (lower case) is a header the host owns.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.contains(&name)
}

/// The hyper request for `request` to `origin`: origin-form target, the
/// host's `host` header. Errors: a method not in [`METHODS`], a header
/// that is malformed or one the host owns, a body over the limit.
fn build_request(
    origin: &Origin,
    url: &url::Url,
    request: &OutboundRequest,
    policy: &HttpPolicy,
) -> Result<hyper::Request<Full<Bytes>>, OutboundError> {
    if !METHODS.contains(&request.method.as_str()) {
        return Err(OutboundError::Invalid {
            field: "method",
            reason: format!("use one of {}", METHODS.join(", ")),
        });
    }
    if request.body.len() > policy.max_request_bytes {
        return Err(OutboundError::RequestTooLarge(policy.max_request_bytes));
    }
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    let mut builder = hyper::Request::builder()
        .method(request.method.as_str())
        .uri(target);
    let headers = builder.headers_mut().expect("a fresh builder has headers");
    headers.insert(
        hyper::header::HOST,
        HeaderValue::from_str(&origin.authority()).map_err(|e| OutboundError::Invalid {
            field: "url",
            reason: e.to_string(),
        })?,
    );
    for (name, value) in &request.headers {
        let bad = |reason: String| OutboundError::Invalid {
            field: "headers",
            reason,
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("`{name}` is not a header name")))?;
        if is_hop_by_hop(name.as_str()) {
            return Err(bad(format!("`{name}` is set by the host")));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| bad(format!("the value of `{name}` is not a header value")))?;
        headers.append(name, value);
    }
    if !headers.contains_key(hyper::header::USER_AGENT) {
        headers.insert(
            hyper::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
    }
    builder
        .body(Full::new(request.body.clone()))
        .map_err(|e| OutboundError::Invalid {
            field: "url",
            reason: e.to_string(),
        })
}
