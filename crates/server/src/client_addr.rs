//! The client's address: the TCP peer, or, when the peer is a trusted proxy (`trusted_proxies`),
//! the right-most address in `X-Forwarded-For` (or, without it, `Forwarded`) that is not a
//! trusted proxy itself. Why right-most: every hop appends what it saw, so only the entries
//! added by our own proxies can be believed; anything left of them is the client's to forge.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The client address worked out for a request (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The networks whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `fd00::/8`) and single addresses, naming a bad entry.
    pub fn parse(entries: &[String]) -> anyhow::Result<TrustedProxies> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>().or_else(|_| e.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                    anyhow::anyhow!("invalid configuration: trusted_proxies entry {e:?} is not an address or CIDR such as 10.0.0.0/8")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request that came from `peer` with `headers`. Malformed headers
    /// never fail: the walk stops at the first hop it cannot read and answers the last trusted
    /// address it reached.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in forwarded_hops(headers).into_iter().rev() {
            match hop {
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return ip,
                None => return client,
            }
        }
        client
    }
}

/// The hops of `X-Forwarded-For`, or of `Forwarded` when there is none, left to right; `None`
/// for a hop that is not an address (obfuscated, `unknown`, garbage, not UTF-8).
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<_> = headers.get_all("x-forwarded-for").iter().collect();
    if !xff.is_empty() {
        return xff
            .into_iter()
            .flat_map(|v| match v.to_str() {
                Ok(s) => s.split(',').map(parse_hop).collect::<Vec<_>>(),
                Err(_) => vec![None],
            })
            .collect();
    }
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(s) => s
                .split(',')
                .map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then(|| parse_hop(v))
                    })?
                })
                .collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// One hop: `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1`, `"[2001:db8::1]:4711"`.
fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse::<IpAddr>().ok()).map(|ip| ip.to_canonical());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    match s.split_once(':') {
        Some((host, port)) if !port.contains(':') => host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
        _ => None,
    }
}

/// Middleware: records the request's `ClientAddr` for the extractors.
pub async fn client_addr(State(proxies): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    if let Some(peer) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) {
        let client = proxies.client(peer, req.headers());
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let xff = headers(&[("x-forwarded-for", b"203.0.113.9")]);
        assert_eq!(none.client(ip("10.0.0.2"), &xff), ip("10.0.0.2"), "nobody trusted: the peer");
        let lan = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        assert_eq!(lan.client(ip("198.51.100.7"), &xff), ip("198.51.100.7"), "an untrusted peer's header is ignored");
        assert_eq!(lan.client(ip("10.0.0.2"), &xff), ip("203.0.113.9"));
        assert_eq!(lan.client(ip("::ffff:10.0.0.2"), &xff), ip("203.0.113.9"), "IPv4-mapped peers");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let lan = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        let forged = headers(&[("x-forwarded-for", b"1.2.3.4, 203.0.113.9, 10.0.0.5"), ("x-forwarded-for", b"10.0.0.6")]);
        assert_eq!(lan.client(ip("10.0.0.2"), &forged), ip("203.0.113.9"));
        let all_trusted = headers(&[("x-forwarded-for", b"10.1.1.1, 10.0.0.5")]);
        assert_eq!(lan.client(ip("10.0.0.2"), &all_trusted), ip("10.1.1.1"));
        let fwd = headers(&[("forwarded", b"for=1.2.3.4, for=\"[2001:db8::17]:4711\";proto=https, For=10.0.0.9")]);
        assert_eq!(lan.client(ip("10.0.0.2"), &fwd), ip("2001:db8::17"));
        let port = headers(&[("x-forwarded-for", b"203.0.113.9:5555")]);
        assert_eq!(lan.client(ip("10.0.0.2"), &port), ip("203.0.113.9"));
    }

    #[test]
    fn malformed_headers_never_fail() {
        let lan = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap();
        for bad in [&b"garbage"[..], b"", b",,,", b"::::", b"1.2.3.4, unknown, 10.0.0.3", b"\xff\xfe", b"[::1", b"for=_hidden"] {
            let h = headers(&[("x-forwarded-for", bad)]);
            let got = lan.client(ip("10.0.0.2"), &h);
            assert!(got == ip("10.0.0.2") || got == ip("10.0.0.3"), "{bad:?} → {got}");
            let h = headers(&[("forwarded", bad)]);
            assert_eq!(lan.client(ip("10.0.0.2"), &h), ip("10.0.0.2"), "{bad:?}");
        }
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example".into()]).unwrap_err().to_string().contains("trusted_proxies"));
    }
}
