//! The app layer of a LAN name discovery flow (mDNS, LLMNR, NetBIOS; `detect::lan_discovery`
//! decides which flows are): its messages are counted per protocol and, mDNS and LLMNR only,
//! logged as `dns` events when asked; nothing else happens to them.

use super::super::context::Ctx;
use super::super::output::OutKind;
use super::FlowState;
use crate::detect::lan_discovery::LanDiscovery;
use crate::eve::EventType;
use crate::flow::{Direction, FlowMeta};
use proto::decode::Proto;
use proto::dns;

impl FlowState {
    /// One message of a LAN discovery flow: counted, and, mDNS and LLMNR only, logged as a
    /// `dns` event when `--log-lan-discovery` asks. Never a detection, a rule, or an answer for
    /// the DNS answer cache that `direct-ip` and `hidden-destination` judge later flows by.
    pub(super) fn on_lan_message(
        &mut self,
        ctx: &mut Ctx<'_>,
        meta: &FlowMeta,
        dir: Direction,
        bytes: &[u8],
        kind: LanDiscovery,
    ) {
        ctx.counters.lan_discovery[kind.index()] += 1;
        if meta.proto == Proto::Tcp {
            ctx.counters.llmnr_tcp += 1;
        }
        if !(kind.is_dns_format() && ctx.detector.logs_lan_discovery() && ctx.logs(EventType::Dns))
        {
            return;
        }
        let Ok(msg) = dns::parse_message(bytes) else {
            ctx.counters.dns_parse_errors += 1;
            return;
        };
        let tx_id = if msg.is_response {
            self.dns_requests.saturating_sub(1)
        } else {
            self.dns_requests = self.dns_requests.saturating_add(1);
            self.dns_requests - 1
        };
        // `app_proto` names the protocol ("mdns", "llmnr"), as Suricata 8 does for its parsers.
        let line = ctx.app_line(meta, dir, (EventType::Dns, kind.name()), |out| {
            msg.write_eve(tx_id.into(), out)
        });
        ctx.send(OutKind::Event(line));
    }
}

#[cfg(test)]
mod tests {
    use super::super::AppProto;
    use crate::detect::direct_ip::Verdict;
    use crate::detect::lan_discovery::LanDiscovery;
    use crate::detect::signatures::Signatures;
    use crate::detect::Detector;
    use crate::engine::testkit::{Conversation, Said, Shard};
    use crate::flow::Direction::ToServer;
    use proto::decode::{Packet, Proto, Vlans};
    use proto::Timestamp;
    use std::sync::Arc;

    /// A DNS message: a query for `name` (A), or its response with one A record `answer`.
    fn message(id: u16, name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
        let flags: u16 = if answer.is_some() { 0x8400 } else { 0 };
        let mut m = Vec::new();
        for v in [id, flags, 1, u16::from(answer.is_some()), 0, 0] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        for label in name.split('.') {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        if let Some(addr) = answer {
            m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 120, 0, 4]);
            m.extend_from_slice(&addr);
        }
        m
    }

    fn udp<'a>(src: (&str, u16), dst: (&str, u16), payload: &'a [u8]) -> Packet<'a> {
        Packet {
            src: src.0.parse().unwrap(),
            dst: dst.0.parse().unwrap(),
            src_port: src.1,
            dst_port: dst.1,
            proto: Proto::Udp,
            tcp: None,
            payload,
            vlans: Vlans::NONE,
            ip_header: &[],
            l4: &[],
            tunnel: None,
        }
    }

    /// At `ms` milliseconds.
    fn at(ms: i64) -> Timestamp {
        Timestamp(1_700_000_000_000_000_000 + ms * 1_000_000)
    }

    /// A runner asks `name` over mDNS (multicast) and over plain DNS to `resolver` when given;
    /// both answer 203.0.113.20; then the runner connects there (TCP 443, handshake only).
    fn ask_then_connect(shard: &mut Shard, name: &str, resolver: Option<&str>) {
        let (query, response) = (
            message(7, name, None),
            message(7, name, Some([203, 0, 113, 20])),
        );
        shard.packet(
            at(0),
            1,
            &udp(("10.0.0.5", 41000), ("224.0.0.251", 5353), &query),
        );
        shard.packet(
            at(1),
            2,
            &udp(("10.0.0.9", 5353), ("10.0.0.5", 41000), &response),
        );
        if let Some(resolver) = resolver {
            shard.packet(at(2), 3, &udp(("10.0.0.5", 41001), (resolver, 53), &query));
            shard.packet(
                at(3),
                4,
                &udp((resolver, 53), ("10.0.0.5", 41001), &response),
            );
        }
        let mut tcp = Conversation::new(("10.0.0.5", 50000), ("203.0.113.20", 443));
        for (i, p) in tcp.handshake().iter().enumerate() {
            shard.packet(at(10 + i as i64), 10 + i as u64, p);
        }
        shard.finish();
    }

    #[test]
    fn an_mdns_answer_resolves_nothing_and_its_ioc_query_never_alerts() {
        let mut shard = Shard::new();
        ask_then_connect(&mut shard, "pkg-validate.net", None);
        // The mDNS answer fed no answer cache: the connection is judged unresolved.
        assert!(!shard.said.iter().any(|s| matches!(s, Said::Answers(_))));
        assert_eq!(shard.verdicts(), [Verdict::Unresolved]);
        assert_eq!(shard.detections(), ["direct-ip"]);
        assert!(shard.lines("dns").is_empty());
        let counts = shard.engine.counters.lan_discovery;
        assert_eq!(counts[LanDiscovery::Mdns.index()], 2);
        assert_eq!(shard.engine.counters.dns_messages, 0);
        let flows = shard.lines("flow");
        let mdns: Vec<_> = flows.iter().filter(|f| f["app_proto"] == "mdns").collect();
        assert_eq!(
            mdns.len(),
            2,
            "the query's flow and the answer's: {flows:#?}"
        );
        assert!(mdns.iter().all(|f| f["flow"]["alerted"] == false));

        // The same answer over plain DNS: resolved, and the DNS query alerts.
        let mut shard = Shard::new();
        ask_then_connect(&mut shard, "pkg-validate.net", Some("10.0.0.53"));
        assert_eq!(shard.verdicts(), [Verdict::Resolved]);
        assert_eq!(shard.detections(), ["ioc-domain"]);
        assert_eq!(shard.lines("dns").len(), 2);
    }

    #[test]
    fn logged_when_asked_as_dns_events_named_by_protocol_still_without_alert() {
        let mut shard = Shard::new();
        let detector = Detector::new(Signatures::builtin(), Detector::default_home_net())
            .with_lan_discovery_logged(true);
        shard.engine.set_detector(Arc::new(detector));
        let query = message(9, "pkg-validate.net", None);
        let response = message(9, "pkg-validate.net", Some([10, 0, 0, 9]));
        shard.packet(
            at(0),
            1,
            &udp(("10.0.0.5", 41000), ("224.0.0.252", 5355), &query),
        );
        shard.packet(
            at(1),
            2,
            &udp(("10.0.0.9", 5355), ("10.0.0.5", 41000), &response),
        );
        // NBNS (here a DNS-shaped query on 137, as NBNS is): counted, never a dns event.
        shard.packet(
            at(2),
            3,
            &udp(("10.0.0.5", 137), ("10.0.0.255", 137), &query),
        );
        shard.finish();
        let dns = shard.lines("dns");
        assert_eq!(dns.len(), 2);
        assert!(dns.iter().all(|e| e["app_proto"] == "llmnr"));
        assert_eq!(dns[0]["dns"]["queries"][0]["rrname"], "pkg-validate.net");
        assert_eq!(dns[1]["dns"]["answers"][0]["rdata"], "10.0.0.9");
        assert!(shard.detections().is_empty());
        let counts = shard.engine.counters.lan_discovery;
        assert_eq!(counts[LanDiscovery::Llmnr.index()], 2);
        assert_eq!(counts[LanDiscovery::Nbns.index()], 1);
    }

    #[test]
    fn llmnr_over_tcp_is_read_framed_and_counted() {
        let mut shard = Shard::new();
        let query = message(3, "pkg-validate", None);
        let mut framed = (query.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&query);
        let mut tcp = Conversation::new(("10.0.0.5", 50000), ("10.0.0.9", 5355));
        for (i, p) in tcp.handshake().iter().enumerate() {
            shard.packet(at(i as i64), 1 + i as u64, p);
        }
        shard.packet(at(5), 4, &tcp.data(ToServer, &framed));
        let flow = shard.flows()[0];
        assert_eq!(flow.state.app, AppProto::Lan(LanDiscovery::Llmnr));
        assert_eq!(
            shard.engine.counters.lan_discovery[LanDiscovery::Llmnr.index()],
            1
        );
        assert_eq!(shard.engine.counters.llmnr_tcp, 1);
        shard.finish();
        assert!(shard.detections().is_empty() && shard.lines("dns").is_empty());
    }

    #[test]
    fn the_same_ports_towards_the_internet_are_judged_as_ever() {
        let mut shard = Shard::new();
        let query = message(5, "pkg-validate.net", None);
        // DNS on 5353 to an internet server: DNS, and its IOC query alerts.
        shard.packet(
            at(0),
            1,
            &udp(("10.0.0.5", 41000), ("203.0.113.5", 5353), &query),
        );
        // NBNS to an internet address: no DNS (its names are encoded), an unresolved address.
        shard.packet(
            at(1),
            2,
            &udp(("10.0.0.5", 137), ("198.51.100.7", 137), &query),
        );
        shard.finish();
        assert_eq!(shard.detections(), ["ioc-domain", "direct-ip"]);
        assert_eq!(shard.lines("dns").len(), 1);
        assert_eq!(shard.engine.counters.lan_discovery, [0; 4]);
        let flows = shard.lines("flow");
        let nbns = flows.iter().find(|f| f["dest_port"] == 137).unwrap();
        assert_eq!(nbns["app_proto"], "failed");
    }
}
