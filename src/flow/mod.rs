//! Bidirectional flows keyed by 5-tuple, one table per shard. The client is the side that sent the
//! SYN (for UDP the first sender), with a port heuristic for connections picked up mid-stream.
//! Flows expire on packet time ([`table`]). The table is generic over the app-layer state it carries, so it
//! knows nothing of protocols.

pub(crate) mod stream;
#[doc(hidden)]
pub use stream::harness::StreamHarness;
pub mod table;

pub(crate) use table::TableStats;
pub use table::{FlowHandle, FlowTable};

use proto::decode::{Packet, Proto, Vlans};
use proto::Timestamp;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Direction-free flow key: the two endpoints in a canonical order, and the digest of the tunnel
/// they came through (two mirrored VPCs may both hold a 10.0.0.5: their flows are two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    proto: Proto,
    vlan: u16,
    tunnel: Option<NonZeroU32>,
}

impl FlowKey {
    /// The key of the flow `pkt` belongs to (both directions give the same key).
    pub(crate) fn of(pkt: &Packet<'_>) -> Self {
        let a = (pkt.src, pkt.src_port);
        let b = (pkt.dst, pkt.dst_port);
        let (lo, hi) = if endpoint_le(a, b) { (a, b) } else { (b, a) };
        let vlan = pkt.vlans.outermost();
        FlowKey {
            lo,
            hi,
            proto: pkt.proto,
            vlan,
            tunnel: pkt.tunnel,
        }
    }

    /// The key of a flow already tracked.
    pub(crate) fn of_meta(meta: &FlowMeta) -> Self {
        let (lo, hi) = if endpoint_le(meta.client, meta.server) {
            (meta.client, meta.server)
        } else {
            (meta.server, meta.client)
        };
        FlowKey {
            lo,
            hi,
            proto: meta.proto,
            vlan: meta.vlans.outermost(),
            tunnel: meta.tunnel,
        }
    }

    /// Symmetric hash of the key: shard selection uses it, so both directions meet in one shard.
    pub(crate) fn symmetric_hash(&self) -> u64 {
        let mut h = FxHasher::default();
        self.hash(&mut h);
        h.finish()
    }
}

/// `a <= b` in the order of `(IpAddr, u16)` tuples (IPv4 before IPv6, then the address, then
/// the port), written out on integers: the tuple's `PartialOrd` chains through a comparison
/// of `IpAddr` that is not inlined, and every packet's flow key pays for it.
#[inline]
fn endpoint_le(a: (IpAddr, u16), b: (IpAddr, u16)) -> bool {
    match (a.0, b.0) {
        (IpAddr::V4(x), IpAddr::V4(y)) => {
            let (x, y) = (u32::from(x), u32::from(y));
            x < y || (x == y && a.1 <= b.1)
        }
        (IpAddr::V6(x), IpAddr::V6(y)) => {
            let (x, y) = (u128::from(x), u128::from(y));
            x < y || (x == y && a.1 <= b.1)
        }
        (IpAddr::V4(_), IpAddr::V6(_)) => true,
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

/// Which way a packet travels within its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    ToServer,
    ToClient,
}

/// Flow timeouts in seconds of packet time.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub tcp_new: u64,
    pub tcp_established: u64,
    pub tcp_closed: u64,
    pub udp: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_new: 60,
            tcp_established: 600,
            tcp_closed: 10,
            udp: 60,
        }
    }
}

/// TCP connection progress, as far as timeouts and the flow log care (EVE `flow.state`; a UDP
/// flow is logged as established).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpPhase {
    New,
    Established,
    Closed,
}

impl TcpPhase {
    /// EVE `flow.state`.
    pub(crate) fn eve_name(self) -> &'static str {
        match self {
            TcpPhase::New => "new",
            TcpPhase::Established => "established",
            TcpPhase::Closed => "closed",
        }
    }
}

/// Why a flow ended (EVE `flow.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// Idle past its timeout.
    Timeout,
    /// Evicted to keep the table under its memcap.
    Forced,
    /// The end of input (or of a live run).
    Shutdown,
    /// A new connection (a SYN with another initial sequence number) on the 5-tuple of this
    /// closed or closing one (Suricata's `tcp_reuse`).
    TcpReuse,
}

impl EndReason {
    /// EVE `flow.reason`.
    pub(crate) fn eve_name(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Forced => "forced",
            EndReason::Shutdown => "shutdown",
            EndReason::TcpReuse => "tcp_reuse",
        }
    }
}

/// What every flow knows, whatever its protocol.
#[derive(Debug)]
pub(crate) struct FlowMeta {
    /// Stable id for EVE `flow_id` (from the key and the first packet's time).
    pub(crate) id: u64,
    pub(crate) client: (IpAddr, u16),
    pub(crate) server: (IpAddr, u16),
    pub(crate) proto: Proto,
    pub(crate) vlans: Vlans,
    /// The digest of the flow's tunnel (`proto::decode::TunnelKey::digest`: kind, id, outer
    /// endpoints); `None` for a flow without one. Alerts take the whole tunnel from the packet
    /// that raises them, as Suricata does.
    pub(crate) tunnel: Option<NonZeroU32>,
    pub(crate) first_ts: Timestamp,
    pub(crate) last_ts: Timestamp,
    /// Packets and bytes (as on the wire, link layer included) to the server and to the client.
    pub(crate) pkts: [u64; 2],
    pub(crate) bytes: [u64; 2],
    pub(crate) tcp_phase: TcpPhase,
    /// The initial sequence number of the client's SYN, if the flow started with one (a new
    /// SYN with another one on a closed flow is a new connection). An ISN of 0 is not kept: a
    /// SYN on such a flow once closed always starts a new one (the safe side: it is inspected).
    pub(crate) isn: Option<NonZeroU32>,
}

impl FlowMeta {
    /// The flow's state as EVE `flow.state` gives it (a UDP flow is established).
    pub(crate) fn state(&self) -> TcpPhase {
        match self.proto {
            Proto::Udp => TcpPhase::Established,
            Proto::Tcp => self.tcp_phase,
        }
    }

    /// Direction of `pkt` in this flow.
    pub(crate) fn direction(&self, pkt: &Packet<'_>) -> Direction {
        if (pkt.src, pkt.src_port) == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }
}

/// A flow with its app-layer state.
pub(crate) struct Flow<S> {
    pub(crate) meta: FlowMeta,
    pub(crate) state: S,
}

/// Decides which side of a new flow is the client.
pub(crate) fn client_of(pkt: &Packet<'_>) -> bool {
    if let Some(tcp) = pkt.tcp {
        if tcp.syn {
            return !tcp.ack_flag;
        }
    }
    // Mid-stream pickup or UDP: a well-known source port talking to an ephemeral one is a server.
    !(pkt.src_port < 1024 && pkt.dst_port >= 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::decode::TcpMeta;

    #[test]
    fn endpoint_order_is_the_tuple_order() {
        let addrs: Vec<IpAddr> = [
            "0.0.0.0",
            "10.0.0.1",
            "10.0.0.2",
            "10.0.1.0",
            "203.0.113.9",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "fd00::2",
            "ffff::",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        for &a in &addrs {
            for &b in &addrs {
                for (p, q) in [(0, 0), (53, 80), (80, 53), (65535, 1)] {
                    assert_eq!(
                        endpoint_le((a, p), (b, q)),
                        (a, p) <= (b, q),
                        "{a} {p} {b} {q}"
                    );
                }
            }
        }
    }

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> Packet<'static> {
        Packet {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            src_port: sport,
            dst_port: dport,
            proto: Proto::Tcp,
            tcp: Some(TcpMeta::default()),
            payload: &[],
            vlans: Vlans::NONE,
            ip_header: &[],
            l4: &[],
            tunnel: None,
        }
    }

    #[test]
    fn both_directions_share_one_key_and_hash() {
        let a = tcp("10.0.0.1", 40000, "203.0.113.5", 443);
        let b = tcp("203.0.113.5", 443, "10.0.0.1", 40000);
        assert_eq!(FlowKey::of(&a), FlowKey::of(&b));
        assert_eq!(
            FlowKey::of(&a).symmetric_hash(),
            FlowKey::of(&b).symmetric_hash()
        );
    }
}
