//! LAN name discovery: mDNS (RFC 6762, UDP 5353), LLMNR (RFC 4795, UDP and TCP 5355) and the
//! NetBIOS name and datagram services (RFC 1001/1002, UDP 137 and 138). Hosts ask their own
//! link who has a name; nothing of it leaves the site, so it is not egress and never alerts,
//! whatever the name asked (a LAN host's mDNS query for `pkg-validate.net` is not a call home).
//!
//! A flow is LAN discovery when one of its ports is the protocol's and both of its ends stay on
//! the local networks: HOME_NET, loopback, a multicast group or broadcast. The same ports
//! towards an address outside HOME_NET are no discovery (RFC 6762 section 11 and RFC 4795
//! section 2.5 keep both on the link): DNS to an external server on 5353 stays DNS and is
//! judged as such, and a flow from local port 5353 to any external server is judged like any
//! other flow, so that the port alone hides nothing.
//!
//! Suricata's default configuration reads DNS on port 53 only (no mDNS or LLMNR as `dns`;
//! Suricata 8 has parsers of their own, with `mdns` and `llmnr` events); Zeek's DNS analyzer
//! logs mDNS and LLMNR in `dns.log`. egress-ids counts these flows' messages per protocol and,
//! only when asked (`--log-lan-discovery`), logs mDNS and LLMNR as `dns` events, their wire
//! format. NetBIOS names are first-level encoded (RFC 1001 section 14.1): never DNS, never
//! logged as such, only counted.

use super::{is_broadcast_or_multicast, Detector};
use proto::decode::Proto;
use std::net::IpAddr;

/// The mDNS port (RFC 6762).
const MDNS_PORT: u16 = 5353;
/// The LLMNR port, UDP and TCP (RFC 4795).
const LLMNR_PORT: u16 = 5355;
/// The NetBIOS name service (RFC 1002 section 4.2).
const NBNS_PORT: u16 = 137;
/// The NetBIOS datagram service (RFC 1002 section 4.4): host and browser announcements.
const NBDGM_PORT: u16 = 138;

/// Which LAN name discovery protocol a flow speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LanDiscovery {
    /// Multicast DNS, UDP 5353 (224.0.0.251, ff02::fb, or unicast on the link).
    Mdns,
    /// Link-Local Multicast Name Resolution, UDP or TCP 5355 (224.0.0.252, ff02::1:3).
    Llmnr,
    /// NetBIOS name service, UDP 137 (broadcast or a WINS server on the site).
    Nbns,
    /// NetBIOS datagram service, UDP 138.
    NbDatagram,
}

impl LanDiscovery {
    /// Every protocol, in the order of the counters.
    pub(crate) const ALL: [LanDiscovery; 4] = [
        LanDiscovery::Mdns,
        LanDiscovery::Llmnr,
        LanDiscovery::Nbns,
        LanDiscovery::NbDatagram,
    ];

    /// The protocol's short name (the summary's and the README's).
    pub(crate) fn name(self) -> &'static str {
        match self {
            LanDiscovery::Mdns => "mdns",
            LanDiscovery::Llmnr => "llmnr",
            LanDiscovery::Nbns => "nbns",
            LanDiscovery::NbDatagram => "nbdgm",
        }
    }

    /// Its index in [`LanDiscovery::ALL`] (the counters' array).
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether its messages are DNS messages (mDNS, LLMNR), which `--log-lan-discovery` logs
    /// as `dns` events.
    pub(crate) fn is_dns_format(self) -> bool {
        matches!(self, LanDiscovery::Mdns | LanDiscovery::Llmnr)
    }

    /// The protocol of a flow over `proto` between ports `a` and `b`, by port alone.
    fn by_ports(proto: Proto, a: u16, b: u16) -> Option<LanDiscovery> {
        let either = |port: u16| a == port || b == port;
        match proto {
            Proto::Udp if either(MDNS_PORT) => Some(LanDiscovery::Mdns),
            Proto::Udp | Proto::Tcp if either(LLMNR_PORT) => Some(LanDiscovery::Llmnr),
            Proto::Udp if either(NBNS_PORT) => Some(LanDiscovery::Nbns),
            Proto::Udp if either(NBDGM_PORT) => Some(LanDiscovery::NbDatagram),
            _ => None,
        }
    }
}

/// Whether either port is a NetBIOS name or datagram service port (137, 138), whose messages
/// are never DNS, whatever the addresses: the non-standard-port DNS probe skips them.
pub(crate) fn is_netbios(a: u16, b: u16) -> bool {
    [a, b].iter().any(|p| *p == NBNS_PORT || *p == NBDGM_PORT)
}

impl Detector {
    /// The LAN discovery protocol of a flow over `proto` from `client` to `server`, if it is
    /// one: its port, and both ends on the local networks (see the module's doc). Cheap: the
    /// ports are compared first, and only new flows ask.
    pub(crate) fn lan_discovery(
        &self,
        proto: Proto,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
    ) -> Option<LanDiscovery> {
        let kind = LanDiscovery::by_ports(proto, client.1, server.1)?;
        (self.stays_local(client.0) && self.stays_local(server.0)).then_some(kind)
    }

    /// Whether `ip` is on the local networks: HOME_NET, loopback, multicast or broadcast.
    fn stays_local(&self, ip: IpAddr) -> bool {
        ip.is_loopback() || is_broadcast_or_multicast(ip) || self.home_net.contains(ip)
    }

    /// Whether mDNS and LLMNR messages are logged as `dns` events (`--log-lan-discovery`).
    pub(crate) fn logs_lan_discovery(&self) -> bool {
        self.log_lan_discovery
    }

    /// Logs mDNS and LLMNR messages as `dns` events (Zeek's view); they still never alert.
    pub fn with_lan_discovery_logged(mut self, logged: bool) -> Self {
        self.log_lan_discovery = logged;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::signatures::Signatures;
    use super::*;

    fn detector() -> Detector {
        Detector::new(Signatures::builtin(), Detector::default_home_net())
    }

    fn end(s: &str, port: u16) -> (IpAddr, u16) {
        (s.parse().unwrap(), port)
    }

    #[test]
    fn multicast_groups_and_local_peers_are_lan_discovery() {
        let d = detector();
        let cases = [
            // dig -p 5353 @224.0.0.251: a legacy unicast query from an ephemeral port.
            (
                Proto::Udp,
                end("10.0.0.5", 41000),
                end("224.0.0.251", 5353),
                LanDiscovery::Mdns,
            ),
            // Its answer, unicast from the responder's 5353 (the responder is the flow's client).
            (
                Proto::Udp,
                end("10.0.0.9", 5353),
                end("10.0.0.5", 41000),
                LanDiscovery::Mdns,
            ),
            (
                Proto::Udp,
                end("fe80::1", 5353),
                end("ff02::fb", 5353),
                LanDiscovery::Mdns,
            ),
            (
                Proto::Udp,
                end("10.0.0.5", 41000),
                end("224.0.0.252", 5355),
                LanDiscovery::Llmnr,
            ),
            (
                Proto::Udp,
                end("fd00::5", 41000),
                end("ff02::1:3", 5355),
                LanDiscovery::Llmnr,
            ),
            (
                Proto::Tcp,
                end("10.0.0.5", 41000),
                end("10.0.0.9", 5355),
                LanDiscovery::Llmnr,
            ),
            (
                Proto::Udp,
                end("10.0.0.5", 137),
                end("10.0.0.255", 137),
                LanDiscovery::Nbns,
            ),
            (
                Proto::Udp,
                end("10.0.0.5", 41000),
                end("255.255.255.255", 137),
                LanDiscovery::Nbns,
            ),
            (
                Proto::Udp,
                end("10.0.0.5", 138),
                end("10.0.0.255", 138),
                LanDiscovery::NbDatagram,
            ),
            (
                Proto::Udp,
                end("127.0.0.1", 41000),
                end("127.0.0.53", 5355),
                LanDiscovery::Llmnr,
            ),
        ];
        for (proto, client, server, want) in cases {
            assert_eq!(
                d.lan_discovery(proto, client, server),
                Some(want),
                "{proto:?} {client:?} -> {server:?}"
            );
        }
    }

    #[test]
    fn the_ports_towards_an_outside_address_are_no_discovery() {
        let d = detector();
        let cases = [
            // DNS on 5353 to an internet server: DNS, judged as such.
            (Proto::Udp, end("10.0.0.5", 41000), end("203.0.113.5", 5353)),
            // QUIC (or anything) from local port 5353 to an internet server.
            (Proto::Udp, end("10.0.0.5", 5353), end("203.0.113.5", 443)),
            (Proto::Udp, end("10.0.0.5", 137), end("198.51.100.7", 137)),
            (Proto::Tcp, end("10.0.0.5", 41000), end("2001:db8::5", 5355)),
            // An outside client is no LAN host either.
            (
                Proto::Udp,
                end("203.0.113.5", 5353),
                end("224.0.0.251", 5353),
            ),
        ];
        for (proto, client, server) in cases {
            assert_eq!(
                d.lan_discovery(proto, client, server),
                None,
                "{client:?} -> {server:?}"
            );
        }
    }

    #[test]
    fn other_ports_and_tcp_mdns_or_netbios_are_no_discovery() {
        let d = detector();
        let (a, b) = (end("10.0.0.5", 41000), end("10.0.0.9", 53));
        assert_eq!(d.lan_discovery(Proto::Udp, a, b), None);
        // SSDP, DHCP: multicast and broadcast, but not name discovery.
        assert_eq!(
            d.lan_discovery(Proto::Udp, a, end("239.255.255.250", 1900)),
            None
        );
        assert_eq!(
            d.lan_discovery(Proto::Udp, end("0.0.0.0", 68), end("255.255.255.255", 67)),
            None
        );
        // NetBIOS session service (TCP 139) is SMB, and mDNS is UDP only.
        assert_eq!(d.lan_discovery(Proto::Tcp, a, end("10.0.0.9", 139)), None);
        assert_eq!(d.lan_discovery(Proto::Tcp, a, end("10.0.0.9", 5353)), None);
        assert_eq!(d.lan_discovery(Proto::Tcp, a, end("10.0.0.9", 137)), None);
    }

    #[test]
    fn only_mdns_and_llmnr_are_dns_messages() {
        let dns: Vec<&str> = LanDiscovery::ALL
            .iter()
            .filter(|k| k.is_dns_format())
            .map(|k| k.name())
            .collect();
        assert_eq!(dns, ["mdns", "llmnr"]);
        for (i, k) in LanDiscovery::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
        }
        assert!(is_netbios(137, 41000) && is_netbios(41000, 138) && is_netbios(137, 137));
        assert!(!is_netbios(53, 41000) && !is_netbios(5353, 139));
        assert!(!detector().logs_lan_discovery());
        assert!(detector()
            .with_lan_discovery_logged(true)
            .logs_lan_discovery());
    }
}
