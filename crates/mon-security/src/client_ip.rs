//! The client's address: the socket's peer, or behind trusted proxies the rightmost
//! `X-Forwarded-For` hop that is not itself a trusted proxy.

use crate::IpRange;
use axum::http::HeaderMap;
use std::net::IpAddr;

/// The client of a request that arrived from `peer` (the socket's address).
///
/// `X-Forwarded-For` is read only when `peer` is a trusted proxy, and then right to left:
/// each hop that is a trusted proxy passes the question on to the hop before it; the first
/// hop that is not is the client. Hops a client wrote itself sit left of the first
/// untrusted hop, so they are never reached. A hop that is not an address stops the walk
/// at the last trusted one (nothing left of it can be believed). Without a peer the
/// client is unknown.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpRange]) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
    if !IpRange::any(trusted, client) {
        return Some(client);
    }
    // Several headers are one list, in order.
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>();
    for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
        let hop = hop.trim();
        if hop.is_empty() {
            continue;
        }
        let Some(ip) = parse_hop(hop) else {
            return Some(client);
        };
        client = ip;
        if !IpRange::any(trusted, ip) {
            break;
        }
    }
    Some(client)
}

/// A hop as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443`,
/// `203.0.113.7:5060`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(peer: &str, xff: &[&str], want: &str) {
        let trusted: Vec<IpRange> = ["10.0.0.0/8", "192.168.1.1"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        let got = client_ip(Some(peer.parse().unwrap()), &headers, &trusted);
        assert_eq!(got, Some(want.parse().unwrap()), "peer {peer}, XFF {xff:?}");
    }

    /// (socket peer, X-Forwarded-For headers, the client).
    #[test]
    fn forwarded_for_is_believed_only_through_trusted_proxies() {
        // A client that is not a proxy cannot claim another address.
        check("203.0.113.9", &["198.51.100.1"], "203.0.113.9");
        // Behind one trusted proxy: the hop it added.
        check("10.0.0.2", &["198.51.100.1"], "198.51.100.1");
        // A spoofed hop left of the real client is never reached.
        check("10.0.0.2", &["6.6.6.6, 198.51.100.1"], "198.51.100.1");
        // Two trusted proxies in a row, over two headers.
        check(
            "10.0.0.2",
            &["6.6.6.6, 198.51.100.1", "192.168.1.1"],
            "198.51.100.1",
        );
        // All hops trusted: the leftmost.
        check("10.0.0.2", &["10.1.1.1, 10.2.2.2"], "10.1.1.1");
        // Garbage stops the walk at the last trusted hop.
        check("10.0.0.2", &["198.51.100.1, junk"], "10.0.0.2");
        // Ports and brackets as some proxies write them; IPv4-mapped peers.
        check("10.0.0.2", &["[2001:db8::1]:443"], "2001:db8::1");
        check("10.0.0.2", &["198.51.100.1:5060"], "198.51.100.1");
        check("::ffff:10.0.0.2", &["198.51.100.1"], "198.51.100.1");
        // A trusted proxy without the header is the client.
        check("10.0.0.2", &[], "10.0.0.2");
    }

    #[test]
    fn no_peer_no_client() {
        assert_eq!(client_ip(None, &HeaderMap::new(), &[]), None);
    }
}
