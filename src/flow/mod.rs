//! Bidirectional flows keyed by 5-tuple, one table per shard. The client is the side that sent the
//! SYN (for UDP the first sender), with a port heuristic for connections picked up mid-stream.
//! Flows expire on packet time. The table is generic over the app-layer state it carries, so it
//! knows nothing of protocols.

pub mod stream;

use crate::capture::Timestamp;
use crate::decode::{Packet, Proto};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// Direction-free flow key: the two endpoints in a canonical order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    proto: Proto,
    vlan: u16,
}

impl FlowKey {
    /// The key of the flow `pkt` belongs to (both directions give the same key).
    pub fn of(pkt: &Packet<'_>) -> Self {
        let a = (pkt.src, pkt.src_port);
        let b = (pkt.dst, pkt.dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let vlan = pkt.vlans().first().copied().unwrap_or(0);
        FlowKey {
            lo,
            hi,
            proto: pkt.proto,
            vlan,
        }
    }

    /// Symmetric hash of the key: shard selection uses it, so both directions meet in one shard.
    pub fn symmetric_hash(&self) -> u64 {
        let mut h = FxHasher::default();
        self.hash(&mut h);
        h.finish()
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

/// TCP connection progress, as far as timeouts and the flow log care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpPhase {
    New,
    Established,
    Closed,
}

/// What every flow knows, whatever its protocol.
#[derive(Debug)]
pub struct FlowMeta {
    /// Stable id for EVE `flow_id` (from the key and the first packet's time).
    pub id: u64,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub proto: Proto,
    pub vlan: [u16; 3],
    pub vlan_count: u8,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// Packets and bytes (as on the wire, link layer included) to the server and to the client.
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp_phase: TcpPhase,
    /// Whether the SYN was seen (client known for sure).
    pub saw_syn: bool,
}

impl FlowMeta {
    /// Direction of `pkt` in this flow.
    pub fn direction(&self, pkt: &Packet<'_>) -> Direction {
        if (pkt.src, pkt.src_port) == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }
}

/// A flow with its app-layer state.
pub struct Flow<S> {
    pub meta: FlowMeta,
    pub state: S,
}

/// Decides which side of a new flow is the client.
fn client_of(pkt: &Packet<'_>) -> bool {
    if let Some(tcp) = pkt.tcp {
        if tcp.syn {
            return !tcp.ack_flag;
        }
    }
    // Mid-stream pickup or UDP: a well-known source port talking to an ephemeral one is a server.
    !(pkt.src_port < 1024 && pkt.dst_port >= 1024)
}

/// The flows of one shard.
pub struct FlowTable<S> {
    flows: FxHashMap<FlowKey, Flow<S>>,
    pub timeouts: Timeouts,
    /// Flows created so far.
    pub created: u64,
}

impl<S> FlowTable<S> {
    pub fn new(timeouts: Timeouts) -> Self {
        FlowTable {
            flows: FxHashMap::default(),
            timeouts,
            created: 0,
        }
    }

    /// Number of live flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is live.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The flow of `pkt` (`wire_len` bytes on the wire), created with `new_state` when it is new;
    /// with the packet's direction and whether the flow was just created. Counters and times are
    /// updated.
    pub fn lookup_or_create(
        &mut self,
        ts: Timestamp,
        pkt: &Packet<'_>,
        wire_len: u64,
        new_state: impl FnOnce() -> S,
    ) -> (&mut Flow<S>, Direction, bool) {
        let key = FlowKey::of(pkt);
        let mut created = false;
        let flow = self.flows.entry(key).or_insert_with(|| {
            created = true;
            let (client, server) = if client_of(pkt) {
                ((pkt.src, pkt.src_port), (pkt.dst, pkt.dst_port))
            } else {
                ((pkt.dst, pkt.dst_port), (pkt.src, pkt.src_port))
            };
            let mut h = FxHasher::default();
            key.hash(&mut h);
            ts.hash(&mut h);
            Flow {
                meta: FlowMeta {
                    id: h.finish() & ((1 << 51) - 1),
                    client,
                    server,
                    proto: pkt.proto,
                    vlan: pkt.vlan,
                    vlan_count: pkt.vlan_count,
                    first_ts: ts,
                    last_ts: ts,
                    pkts: [0; 2],
                    bytes: [0; 2],
                    tcp_phase: TcpPhase::New,
                    saw_syn: pkt.tcp.is_some_and(|t| t.syn),
                },
                state: new_state(),
            }
        });
        if created {
            self.created += 1;
        }
        let dir = flow.meta.direction(pkt);
        let i = if dir == Direction::ToServer { 0 } else { 1 };
        flow.meta.pkts[i] += 1;
        flow.meta.bytes[i] += wire_len;
        flow.meta.last_ts = flow.meta.last_ts.max(ts);
        if let Some(tcp) = pkt.tcp {
            if tcp.rst || tcp.fin {
                flow.meta.tcp_phase = TcpPhase::Closed;
            } else if flow.meta.tcp_phase == TcpPhase::New && tcp.ack_flag && !tcp.syn {
                flow.meta.tcp_phase = TcpPhase::Established;
            }
        }
        (flow, dir, created)
    }

    fn timeout_of(&self, meta: &FlowMeta) -> u64 {
        match (meta.proto, meta.tcp_phase) {
            (Proto::Udp, _) => self.timeouts.udp,
            (Proto::Tcp, TcpPhase::New) => self.timeouts.tcp_new,
            (Proto::Tcp, TcpPhase::Established) => self.timeouts.tcp_established,
            (Proto::Tcp, TcpPhase::Closed) => self.timeouts.tcp_closed,
        }
    }

    /// Removes and hands out every flow idle for longer than its timeout at `now`.
    pub fn expire(&mut self, now: Timestamp, mut on_end: impl FnMut(Flow<S>)) {
        let expired: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, f)| now.secs_since(f.meta.last_ts) > self.timeout_of(&f.meta))
            .map(|(k, _)| *k)
            .collect();
        for key in expired {
            if let Some(flow) = self.flows.remove(&key) {
                on_end(flow);
            }
        }
    }

    /// Removes and hands out every flow, oldest first (end of input).
    pub fn drain(&mut self, mut on_end: impl FnMut(Flow<S>)) {
        let mut all: Vec<Flow<S>> = self.flows.drain().map(|(_, f)| f).collect();
        all.sort_by_key(|f| (f.meta.first_ts, f.meta.id));
        for flow in all {
            on_end(flow);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::TcpMeta;

    fn tcp(src: &str, sport: u16, dst: &str, dport: u16, syn: bool, ack: bool) -> Packet<'static> {
        Packet {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            src_port: sport,
            dst_port: dport,
            proto: Proto::Tcp,
            tcp: Some(TcpMeta {
                syn,
                ack_flag: ack,
                ..Default::default()
            }),
            payload: &[],
            vlan: [0; 3],
            vlan_count: 0,
        }
    }

    #[test]
    fn both_directions_share_one_key_and_hash() {
        let a = tcp("10.0.0.1", 40000, "203.0.113.5", 443, false, true);
        let b = tcp("203.0.113.5", 443, "10.0.0.1", 40000, false, true);
        assert_eq!(FlowKey::of(&a), FlowKey::of(&b));
        assert_eq!(
            FlowKey::of(&a).symmetric_hash(),
            FlowKey::of(&b).symmetric_hash()
        );
    }

    #[test]
    fn the_syn_sender_is_the_client_whatever_its_port() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let syn = tcp("203.0.113.5", 80, "10.0.0.1", 40000, true, false);
        let (flow, dir, created) = t.lookup_or_create(Timestamp(0), &syn, 60, || ());
        assert!(created);
        assert_eq!(dir, Direction::ToServer);
        assert_eq!(flow.meta.client.1, 80);
    }

    #[test]
    fn a_syn_ack_seen_first_makes_its_receiver_the_client() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let synack = tcp("203.0.113.5", 443, "10.0.0.1", 40000, true, true);
        let (flow, dir, _) = t.lookup_or_create(Timestamp(0), &synack, 60, || ());
        assert_eq!(dir, Direction::ToClient);
        assert_eq!(flow.meta.client.0.to_string(), "10.0.0.1");
    }

    #[test]
    fn mid_stream_pickup_guesses_by_well_known_port() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let data_from_server = tcp("203.0.113.5", 443, "10.0.0.1", 40000, false, true);
        let (flow, dir, _) = t.lookup_or_create(Timestamp(0), &data_from_server, 60, || ());
        assert_eq!(dir, Direction::ToClient);
        assert_eq!(flow.meta.server.1, 443);
    }

    #[test]
    fn idle_flows_expire_on_packet_time_and_counters_add_up() {
        let mut t: FlowTable<()> = FlowTable::new(Timeouts::default());
        let syn = tcp("10.0.0.1", 40000, "203.0.113.5", 443, true, false);
        let reply = tcp("203.0.113.5", 443, "10.0.0.1", 40000, true, true);
        t.lookup_or_create(Timestamp(0), &syn, 60, || ());
        let (flow, _, created) = t.lookup_or_create(Timestamp(0), &reply, 60, || ());
        assert!(!created);
        assert_eq!((flow.meta.pkts, flow.meta.bytes), ([1, 1], [60, 60]));
        let mut ended = 0;
        t.expire(Timestamp(0).plus_secs(30), |_| ended += 1);
        assert_eq!((ended, t.len()), (0, 1));
        t.expire(Timestamp(0).plus_secs(61), |_| ended += 1);
        assert_eq!((ended, t.len()), (1, 0));
    }
}
