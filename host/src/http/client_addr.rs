//! [`ClientAddr`]: the address a request comes from, for the limits that
//! count per client (sign-in throttling, `identity::login_throttle`).
//!
//! It is the TCP peer, unless the peer is one of the operator's trusted
//! proxies (`--trusted-proxy`): then it is the rightmost address in
//! `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends
//! the address it received the request from, so entries left of the first
//! untrusted one may be forged by the client; RFC 7239 §5.2 and the
//! de-facto header). A header that does not parse leaves the peer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::platform::Platform;

/// Where a request comes from. Without a connection (a request handed to
/// the router in process) it is the unspecified address `0.0.0.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<Arc<Platform>> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddr(client(
            peer,
            &forwarded,
            &platform.trusted_proxies,
        )))
    }
}

/// The client behind `peer` given its `X-Forwarded-For` value(s) joined by
/// commas and the trusted proxies.
fn client(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut hops = Vec::new();
    for entry in forwarded
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        match entry.parse::<IpAddr>() {
            Ok(ip) => hops.push(ip),
            Err(_) => return peer,
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client_ip: IpAddr = "203.0.113.7".parse().unwrap();
        let peer: IpAddr = "198.51.100.2".parse().unwrap();
        // Not a trusted proxy: the header is the client's own word.
        assert_eq!(client(peer, "203.0.113.7", &[proxy]), peer);
        // A trusted proxy: the rightmost untrusted hop.
        assert_eq!(client(proxy, "1.2.3.4, 203.0.113.7", &[proxy]), client_ip);
        assert_eq!(client(proxy, "203.0.113.7, 10.0.0.1", &[proxy]), client_ip);
        // No header, or one that does not parse: the proxy itself.
        assert_eq!(client(proxy, "", &[proxy]), proxy);
        assert_eq!(client(proxy, "203.0.113.7, evil", &[proxy]), proxy);
        assert_eq!(
            client(proxy, "2001:db8::1", &[proxy]),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
