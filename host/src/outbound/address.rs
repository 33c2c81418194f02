//! Which addresses a mini-app's outbound call may reach: public unicast
//! ones only, unless the operator allowed the origin for local use.
//!
//! Refused: the IANA special-purpose ranges (RFC 6890 and its registries)
//! that are not globally reachable — loopback, private (RFC 1918),
//! shared/carrier-grade NAT (RFC 6598, which also holds Alibaba Cloud's
//! metadata service at 100.100.100.200), link-local (which holds the cloud
//! metadata address 169.254.169.254), unique-local IPv6 (which holds
//! `fd00:ec2::254`), documentation, benchmarking, multicast, reserved and
//! unspecified addresses. IPv6 is allowed only in global unicast
//! (`2000::/3`) outside its special blocks (`2001::/23`, documentation);
//! forms that embed an IPv4 address (mapped, NAT64 `64:ff9b::/96`, 6to4)
//! are judged by that address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address a mini-app may reach without
/// the operator's leave.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" (RFC 791)
        || a == 10 // private (RFC 1918)
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking (RFC 2544)
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the embedded address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 2002::/16 (RFC 3056): the embedded address.
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    // Only global unicast 2000::/3 is reachable (RFC 4291); everything else
    // (loopback, unspecified, unique-local, link-local, multicast, the
    // reserved ::/8 with its SIIT and IPv4-compatible forms, the local-use
    // NAT64 prefix 64:ff9b:1::/48, 5f00::/16 SRv6 ...) is refused. Inside it:
    (s[0] & 0xe000) == 0x2000
        && !(s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23: Teredo, benchmarking, ORCHID
        && !(s[0] == 0x2001 && s[1] == 0xdb8) // documentation (RFC 3849)
        && !(s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20 (RFC 9637)
}

/// The IPv4 address held in two IPv6 segments.
fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "100.64.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::127.0.0.1",
            "::ffff:0:7f00:1",
            "::ffff:0:a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "::ffff:0:0:7f00:1",
            "3fff::1",
            "2001:2::1",
            "2001:10::1",
            "5f00::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} is not public");
        }
    }

    #[test]
    fn public_addresses_are() {
        for ip in [
            "1.1.1.1",
            "114.114.114.114",
            "172.32.0.1",
            "100.128.0.1",
            "223.5.5.5",
            "2400:3200::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }
}
