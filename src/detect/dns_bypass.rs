//! `dns-bypass`: name resolution that goes past the runners' resolver, so that the DNS-based
//! detections never see the names (and `direct-ip` sees only unresolved addresses):
//!
//! - DNS over TLS (RFC 7858): a ClientHello to TCP port 853 or offering ALPN `dot`;
//! - DNS over HTTPS (RFC 8484): a ClientHello, over TLS or QUIC (HTTP/3), whose server name is a
//!   public DoH endpoint (`signatures/doh-endpoints.txt`), or a plain-HTTP request with such a
//!   Host;
//! - DNS over QUIC (RFC 9250): a QUIC ClientHello offering ALPN `doq` or to UDP port 853;
//! - plain DNS to another server: when the runners' resolvers are configured (`--resolvers`), a
//!   DNS query from a runner (HOME_NET, not a resolver itself) to any server outside them.
//!   Multicast and broadcast (mDNS, LLMNR) never count, nor mDNS or LLMNR ports on the local
//!   networks.
//!
//! The encrypted kinds are judged on egress flows (a runner to a server outside HOME_NET) whose
//! server is not one of the configured resolvers. They stand beside the flow's other ClientHello
//! detections (`ioc-domain`, `non-registry-tls`): one alert per flow and detection.

use super::cidr::IpSet;
use super::{is_broadcast_or_multicast, Detection, Detector, HelloFacts, HelloTransport, Hit};
use super::{normalise_name, Scope, ServerName, Source};
use std::net::IpAddr;

/// The port of DNS over TLS and DNS over QUIC (RFC 7858, RFC 9250).
pub(crate) const DOT_PORT: u16 = 853;
/// mDNS and LLMNR: local-link name resolution, never a bypass on the local networks.
const LOCAL_RESOLUTION_PORTS: [u16; 2] = [5353, 5355];

impl Detector {
    /// Whether `server` is one of the configured resolvers.
    fn is_resolver(&self, server: IpAddr) -> bool {
        self.resolvers.as_ref().is_some_and(|r| r.contains(server))
    }

    /// `dns-bypass` for a ClientHello: DoH by server name, else DoT or DoQ by port or ALPN.
    pub(super) fn dns_bypass_hello(&self, scope: Scope, hello: &HelloFacts<'_>) -> Option<Hit> {
        // A configured resolver's own upstream queries (DoT forwarding) are what it is for.
        if scope != Scope::Egress
            || self.is_resolver(hello.server)
            || self.is_resolver(hello.client)
        {
            return None;
        }
        let (sni_source, hello_source, alpn) = match hello.transport {
            HelloTransport::Tcp => (Source::TlsSni, Source::TlsClientHello, "dot"),
            HelloTransport::Quic => (Source::QuicSni, Source::QuicClientHello, "doq"),
        };
        // A name with junk after it is matched on its longest valid prefix, as for the IOCs.
        if let Some(name) = hello
            .sni
            .into_iter()
            .chain(hello.other_names.iter().map(String::as_str))
            .map(ServerName::of)
            .find(|n| !n.clean.is_empty() && self.signatures.doh_endpoints.contains(n.clean))
        {
            return Some(Hit::new(
                Detection::DnsBypass,
                normalise_name(name.clean),
                sni_source,
            ));
        }
        let offers = hello.alpns.iter().any(|a| a == alpn);
        (hello.server_port == DOT_PORT || offers)
            .then(|| Hit::new(Detection::DnsBypass, hello.server.to_string(), hello_source))
    }

    /// `dns-bypass` for an egress plain-HTTP request whose Host is a public DoH endpoint
    /// (DNS over HTTP without TLS, or an HTTP proxy's view of a DoH request).
    pub(super) fn dns_bypass_http(&self, host: Option<&str>) -> Option<Hit> {
        host.filter(|h| self.signatures.doh_endpoints.contains(h))
            .map(|h| Hit::new(Detection::DnsBypass, normalise_name(h), Source::HttpHost))
    }

    /// `dns-bypass` for a plain DNS query from `client` to `server`:`port` (UDP or TCP): only
    /// when the runners' resolvers are configured, the client is a runner and the server is
    /// none of them. The indicator is the server's address.
    pub(crate) fn on_dns_server(&self, client: IpAddr, server: IpAddr, port: u16) -> Option<Hit> {
        let resolvers: &IpSet = self.resolvers.as_ref()?;
        // A resolver's own queries (recursion, forwarding upstream) are what it is for.
        if resolvers.contains(server)
            || resolvers.contains(client)
            || !self.home_net.contains(client)
            || client.is_loopback()
            || server.is_loopback()
            || is_broadcast_or_multicast(server)
            || (LOCAL_RESOLUTION_PORTS.contains(&port) && self.home_net.contains(server))
        {
            return None;
        }
        Some(Hit::new(
            Detection::DnsBypass,
            server.to_string(),
            Source::DnsServer,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::signatures::Signatures;
    use super::*;

    fn detector(resolvers: &[&str]) -> Detector {
        let d = Detector::new(Signatures::builtin(), Detector::default_home_net());
        if resolvers.is_empty() {
            d
        } else {
            d.with_resolvers(resolvers.iter().map(|r| r.parse().unwrap()).collect())
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn hello<'a>(
        transport: HelloTransport,
        port: u16,
        sni: Option<&'a str>,
        alpns: &'a [String],
    ) -> HelloFacts<'a> {
        HelloFacts {
            client: ip("10.0.0.5"),
            server: ip("198.51.100.53"),
            server_port: port,
            transport,
            sni,
            other_names: &[],
            alpns,
            ech_config: None,
        }
    }

    fn bypass(d: &Detector, scope: Scope, h: &HelloFacts<'_>) -> Option<(String, Source)> {
        d.on_client_hello(scope, h)
            .into_iter()
            .find(|hit| hit.detection == Detection::DnsBypass)
            .map(|hit| (hit.indicator, hit.source))
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_configured_resolver_forwarding_over_dot_is_no_bypass() {
        let d = Detector::new(Signatures::builtin(), Detector::default_home_net())
            .with_resolvers(vec!["10.0.0.53/32".parse().unwrap()]);
        let mut h = hello(HelloTransport::Tcp, 853, None, &[]);
        assert!(bypass(&d, Scope::Egress, &h).is_some(), "a runner's DoT");
        h.client = ip("10.0.0.53");
        assert_eq!(
            bypass(&d, Scope::Egress, &h),
            None,
            "the resolver's own upstream"
        );
    }
    #[test]
    fn dns_over_tls_by_port_or_alpn() {
        let d = detector(&[]);
        let (tcp, e) = (HelloTransport::Tcp, Scope::Egress);
        let server = Some(("198.51.100.53".to_string(), Source::TlsClientHello));
        assert_eq!(bypass(&d, e, &hello(tcp, 853, None, &[])), server);
        let dot = strings(&["dot"]);
        assert_eq!(bypass(&d, e, &hello(tcp, 8853, None, &dot)), server);
        let h2 = strings(&["h2", "http/1.1"]);
        assert_eq!(bypass(&d, e, &hello(tcp, 443, None, &h2)), None);
        // ALPN doq means nothing over TCP.
        assert_eq!(
            bypass(&d, e, &hello(tcp, 443, None, &strings(&["doq"]))),
            None
        );
        // Egress only.
        assert_eq!(bypass(&d, Scope::Other, &hello(tcp, 853, None, &[])), None);
    }

    #[test]
    fn dns_over_https_by_server_name_over_tls_and_quic() {
        let d = detector(&[]);
        let h2 = strings(&["h2"]);
        let h = hello(
            HelloTransport::Tcp,
            443,
            Some("Mozilla.Cloudflare-DNS.com."),
            &h2,
        );
        assert_eq!(
            bypass(&d, Scope::Egress, &h),
            Some(("mozilla.cloudflare-dns.com".into(), Source::TlsSni))
        );
        let h3 = strings(&["h3"]);
        let h = hello(HelloTransport::Quic, 443, Some("dns.google"), &h3);
        assert_eq!(
            bypass(&d, Scope::Egress, &h),
            Some(("dns.google".into(), Source::QuicSni))
        );
        // A DoH endpoint is not in the registry allowlist: both detections, one hit each.
        let kinds: Vec<_> = d
            .on_client_hello(Scope::Egress, &h)
            .into_iter()
            .map(|hit| hit.detection)
            .collect();
        assert_eq!(kinds, [Detection::NonRegistryTls, Detection::DnsBypass]);
        let h = hello(HelloTransport::Tcp, 443, Some("google.com"), &h2);
        assert_eq!(bypass(&d, Scope::Egress, &h), None);
        // Junk after the name: matched on its longest valid prefix.
        let h = hello(HelloTransport::Tcp, 443, Some("dns.google\0x"), &h2);
        assert_eq!(
            bypass(&d, Scope::Egress, &h),
            Some(("dns.google".into(), Source::TlsSni))
        );
    }

    #[test]
    fn a_doh_endpoint_as_a_plain_http_host() {
        let d = detector(&[]);
        let facts = crate::detect::HttpFacts {
            host: Some("DNS.Google"),
            ..Default::default()
        };
        let hits = d.on_http_request(Scope::Egress, &facts);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            (
                hits[0].detection,
                hits[0].indicator.as_str(),
                hits[0].source
            ),
            (Detection::DnsBypass, "dns.google", Source::HttpHost)
        );
        assert!(d.on_http_request(Scope::Other, &facts).is_empty());
        let other = crate::detect::HttpFacts {
            host: Some("google.com"),
            ..Default::default()
        };
        assert!(d.on_http_request(Scope::Egress, &other).is_empty());
    }

    #[test]
    fn dns_over_quic_by_alpn_or_port() {
        let d = detector(&[]);
        let quic = HelloTransport::Quic;
        let doq = strings(&["doq"]);
        let want = Some(("198.51.100.53".to_string(), Source::QuicClientHello));
        assert_eq!(
            bypass(&d, Scope::Egress, &hello(quic, 8853, None, &doq)),
            want
        );
        assert_eq!(
            bypass(&d, Scope::Egress, &hello(quic, 853, None, &[])),
            want
        );
        let h3 = strings(&["h3"]);
        assert_eq!(
            bypass(&d, Scope::Egress, &hello(quic, 443, None, &h3)),
            None
        );
        assert_eq!(
            bypass(
                &d,
                Scope::Egress,
                &hello(quic, 443, None, &strings(&["dot"]))
            ),
            None
        );
    }

    #[test]
    fn stands_beside_an_ioc_domain() {
        let d = detector(&[]);
        let h = hello(HelloTransport::Tcp, 853, Some("pkg-validate.net"), &[]);
        let kinds: Vec<_> = d
            .on_client_hello(Scope::Egress, &h)
            .into_iter()
            .map(|hit| hit.detection)
            .collect();
        assert_eq!(kinds, [Detection::IocDomain, Detection::DnsBypass]);
    }

    #[test]
    fn a_configured_resolver_may_speak_dot() {
        let d = detector(&["198.51.100.53/32"]);
        let h = hello(HelloTransport::Tcp, 853, None, &[]);
        assert_eq!(bypass(&d, Scope::Egress, &h), None);
    }

    #[test]
    fn plain_dns_only_to_servers_other_than_the_resolvers() {
        let d = detector(&["10.0.0.53/32", "fd00::53/128"]);
        let runner = ip("10.1.2.3");
        let hit = d.on_dns_server(runner, ip("198.51.100.53"), 53).unwrap();
        assert_eq!(
            (hit.detection, hit.indicator.as_str(), hit.source),
            (Detection::DnsBypass, "198.51.100.53", Source::DnsServer)
        );
        // Internal servers other than the resolvers count too.
        assert!(d.on_dns_server(runner, ip("10.9.9.9"), 53).is_some());
        assert!(d
            .on_dns_server(ip("fd00::7"), ip("2001:db8::53"), 53)
            .is_some());
        assert!(d.on_dns_server(runner, ip("10.0.0.53"), 53).is_none());
        assert!(d.on_dns_server(ip("fd00::7"), ip("fd00::53"), 53).is_none());
        // The resolver recursing or forwarding upstream is no runner bypassing it.
        assert!(d
            .on_dns_server(ip("10.0.0.53"), ip("198.51.100.1"), 53)
            .is_none());
        // Not from a runner, loopback, multicast, broadcast, local mDNS/LLMNR: never.
        assert!(d
            .on_dns_server(ip("198.51.100.9"), ip("8.8.8.8"), 53)
            .is_none());
        assert!(d.on_dns_server(runner, ip("127.0.0.53"), 53).is_none());
        assert!(d.on_dns_server(runner, ip("224.0.0.251"), 5353).is_none());
        assert!(d.on_dns_server(runner, ip("224.0.0.252"), 5355).is_none());
        assert!(d
            .on_dns_server(ip("fe80::1"), ip("ff02::fb"), 5353)
            .is_none());
        assert!(d.on_dns_server(runner, ip("255.255.255.255"), 53).is_none());
        assert!(d.on_dns_server(runner, ip("10.1.2.4"), 5355).is_none());
        // mDNS's port to a server outside is DNS all the same.
        assert!(d.on_dns_server(runner, ip("203.0.113.5"), 5353).is_some());
        // Without --resolvers plain DNS is never judged.
        assert!(detector(&[])
            .on_dns_server(runner, ip("198.51.100.53"), 53)
            .is_none());
    }
}
