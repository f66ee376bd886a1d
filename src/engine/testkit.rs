//! Helpers for the engine's unit tests: the frames of the repository's captures (`pcaps/`),
//! TCP packets carrying bytes taken from them, and one shard run over packets whose messages are
//! kept in a form tests can read. The `direct-ip` verdicts are reached as the single-threaded
//! pipeline reaches them, right after each packet, with [`Verdicts`] as the merge stage uses it.

use super::app::FlowState;
use super::output::{OutBuf, OutKind};
use super::{Engine, EngineConfig, PacketInfo, SHUTDOWN_SEQ};
use crate::capture::{read_capture_file, Frame};
use crate::detect::direct_ip::{Verdict, Verdicts};
use crate::detect::signatures::Signatures;
use crate::detect::Detector;
use crate::eve::EveTypes;
use crate::flow::table::DEFAULT_MEMCAP;
use crate::flow::{Direction, Flow, Timeouts};
use proto::decode::{decode_frame, Decoded, Packet, Proto, TcpMeta, Vlans};
use proto::Timestamp;
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;

/// A captured frame, owned.
pub(crate) struct Owned {
    /// Position in the capture (EVE `pcap_cnt`).
    pub(crate) index: u64,
    pub(crate) ts: Timestamp,
    linktype: i32,
    data: Vec<u8>,
}

impl Owned {
    /// The frame's TCP/UDP packet.
    pub(crate) fn packet(&self) -> Packet<'_> {
        match decode_frame(self.linktype, &self.data) {
            Decoded::Packet(pkt) => pkt,
            other => panic!("frame {}: not a TCP/UDP packet: {other:?}", self.index),
        }
    }
}

/// The frames of `pcaps/<name>`.
pub(crate) fn frames(name: &str) -> Vec<Owned> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps")
        .join(name);
    let mut frames = Vec::new();
    read_capture_file(&path, &mut |f: &Frame<'_>| {
        frames.push(Owned {
            index: f.index,
            ts: f.ts,
            linktype: f.linktype,
            data: f.data.to_vec(),
        })
    })
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    frames
}

/// The client bytes of the first TCP connection to `port` in `frames`, or the first UDP payload
/// to it (the captures are in order, without loss).
pub(crate) fn client_bytes(frames: &[Owned], port: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    for f in frames {
        let pkt = f.packet();
        if pkt.dst_port != port {
            continue;
        }
        if pkt.tcp.is_some_and(|t| t.fin || t.rst) {
            break;
        }
        bytes.extend_from_slice(pkt.payload);
        if pkt.proto == Proto::Udp && !bytes.is_empty() {
            break;
        }
    }
    assert!(!bytes.is_empty(), "no client bytes to port {port}");
    bytes
}

/// A TCP connection from a client to a server, made packet by packet.
pub(crate) struct Conversation {
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    /// Next sequence number of the client and of the server.
    next: [u32; 2],
}

impl Conversation {
    pub(crate) fn new(client: (&str, u16), server: (&str, u16)) -> Self {
        Conversation {
            client: (client.0.parse().unwrap(), client.1),
            server: (server.0.parse().unwrap(), server.1),
            next: [1_000, 50_000],
        }
    }

    fn packet<'a>(&self, dir: Direction, tcp: TcpMeta, payload: &'a [u8]) -> Packet<'a> {
        let (src, dst) = match dir {
            Direction::ToServer => (self.client, self.server),
            Direction::ToClient => (self.server, self.client),
        };
        Packet {
            src: src.0,
            dst: dst.0,
            src_port: src.1,
            dst_port: dst.1,
            proto: Proto::Tcp,
            tcp: Some(tcp),
            payload,
            vlans: Vlans::NONE,
            ip_header: &[],
            l4: &[],
            tunnel: None,
        }
    }

    fn side(dir: Direction) -> usize {
        match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    /// SYN, SYN-ACK and ACK.
    pub(crate) fn handshake(&mut self) -> [Packet<'static>; 3] {
        let [c, s] = self.next;
        self.next = [c + 1, s + 1];
        let flags = |seq, ack, syn, ack_flag| TcpMeta {
            seq,
            ack,
            syn,
            ack_flag,
            ..TcpMeta::default()
        };
        [
            self.packet(Direction::ToServer, flags(c, 0, true, false), &[]),
            self.packet(Direction::ToClient, flags(s, c + 1, true, true), &[]),
            self.packet(Direction::ToServer, flags(c + 1, s + 1, false, true), &[]),
        ]
    }

    /// A data segment in `dir`, acknowledging everything the other side sent.
    pub(crate) fn data<'a>(&mut self, dir: Direction, payload: &'a [u8]) -> Packet<'a> {
        let own = Self::side(dir);
        let tcp = TcpMeta {
            seq: self.next[own],
            ack: self.next[1 - own],
            ack_flag: true,
            ..TcpMeta::default()
        };
        self.next[own] = self.next[own].wrapping_add(payload.len() as u32);
        self.packet(dir, tcp, payload)
    }
}

/// What the shard said, read as the merge stage reads it.
#[derive(Debug)]
pub(crate) enum Said {
    /// A line the merge stage writes: an event, an alert, a `direct-ip` alert that stands, or a
    /// flow record (its `alerted` completed).
    Line(Value),
    /// A `direct-ip` alert the merge stage drops.
    Dropped,
    /// A `direct-ip` candidate's verdict.
    Verdict(Verdict),
    /// Addresses a DNS response resolved, with their TTLs.
    Answers(Vec<(IpAddr, u32)>),
    /// A flow ended whose record is not logged.
    FlowDone,
    Stats,
}

/// One shard with the builtin signatures and the default HOME_NET, and what it said.
pub(crate) struct Shard {
    pub(crate) engine: Engine,
    verdicts: Verdicts,
    out: OutBuf,
    pub(crate) said: Vec<Said>,
    seq: u64,
}

impl Shard {
    /// A shard logging every event type.
    pub(crate) fn new() -> Self {
        Self::with(EveTypes::ALL, None)
    }

    /// A shard logging `eve_types`; flows that start before `warm_up_until` are not checked
    /// for `direct-ip`.
    pub(crate) fn with(eve_types: EveTypes, warm_up_until: Option<Timestamp>) -> Self {
        let detector = Detector::new(Signatures::builtin(), Detector::default_home_net());
        let verdicts = Verdicts::new(1, 300, warm_up_until);
        let engine = Engine::new(EngineConfig {
            detector: Arc::new(detector),
            timeouts: Timeouts::default(),
            flow_memcap: DEFAULT_MEMCAP,
            eve_types,
            shard: 0,
            resolved: verdicts.marks().clone(),
            checksums: Default::default(),
        });
        Shard {
            engine,
            verdicts,
            out: OutBuf::default(),
            said: Vec::new(),
            seq: 0,
        }
    }

    /// Handles `pkt`, packet `pcap_cnt` of the capture, at `ts`.
    pub(crate) fn packet(&mut self, ts: Timestamp, pcap_cnt: u64, pkt: &Packet<'_>) {
        self.seq += 1;
        let info = PacketInfo {
            seq: self.seq,
            ts,
            pcap_cnt,
            wire_len: 60 + pkt.payload.len() as u32,
            checksums_trusted: true,
        };
        self.engine
            .on_packet(&info, pkt, &proto::decode::Tunnel::NONE, &mut self.out);
        self.hear();
    }

    /// Handles captured frames.
    pub(crate) fn frames<'a>(&mut self, frames: impl IntoIterator<Item = &'a Owned>) {
        for f in frames {
            self.packet(f.ts, f.index, &f.packet());
        }
    }

    /// A DNS answer another shard saw at this point of the capture.
    pub(crate) fn answer(&mut self, ts: Timestamp, ip: &str, ttl: u32) {
        self.verdicts
            .on_dns_answers(ts, &[(ip.parse().unwrap(), ttl)]);
    }

    /// Packet time reached `ts`.
    pub(crate) fn tick(&mut self, ts: Timestamp) {
        self.seq += 1;
        self.engine.on_tick(self.seq, ts, &mut self.out);
        self.hear();
    }

    /// The end of input: every flow ends.
    pub(crate) fn finish(&mut self) {
        let mut out = std::mem::take(&mut self.out);
        self.engine.finish(SHUTDOWN_SEQ, &mut out, |_| {});
        self.out = out;
        self.hear();
    }

    /// The live flows' app-layer states.
    pub(crate) fn flows(&self) -> Vec<&Flow<FlowState>> {
        self.engine.flows.flows().collect()
    }

    /// Reads the shard's messages as the merge stage does.
    fn hear(&mut self) {
        let json = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).expect("JSON");
        for m in self.out.msgs.drain(..) {
            let said = match m.kind {
                // Thresholds are the merge stage's: a rule's alert is shown as raised.
                OutKind::Event(line)
                | OutKind::Alert(_, line)
                | OutKind::RuleAlert { line, .. } => Said::Line(json(line.get(&self.out.lines))),
                OutKind::FlowStart(candidate) => {
                    Said::Verdict(self.verdicts.on_flow_start(0, &candidate, true))
                }
                OutKind::DirectIp {
                    candidate,
                    line,
                    by_target,
                    ..
                } => {
                    let line = json(line.get(&self.out.lines));
                    let written = if by_target {
                        self.verdicts.on_target_alert(&candidate)
                    } else {
                        self.verdicts.on_alert(&candidate)
                    };
                    if written {
                        Said::Line(line)
                    } else {
                        Said::Dropped
                    }
                }
                OutKind::DnsAnswers { ts, addrs, .. } => {
                    self.verdicts.on_dns_answers(ts, &addrs);
                    Said::Answers(addrs)
                }
                // The ECH verdict needs the DNS names the merge stage keeps: shown undecided.
                OutKind::Hidden { line, .. } => Said::Line(json(line.get(&self.out.lines))),
                OutKind::FlowEnd { flow_id, record } => {
                    let direct_ip = self.verdicts.on_flow_end(0, flow_id);
                    match record {
                        Some(r) => {
                            let mut line = Vec::new();
                            r.get(&mut self.out.records).write(direct_ip, &mut line);
                            Said::Line(json(&line))
                        }
                        None => Said::FlowDone,
                    }
                }
                OutKind::Stats(_) => Said::Stats,
                OutKind::Detector(_) => continue,
            };
            self.said.push(said);
        }
        self.out.clear();
    }

    /// The lines written, of `event_type`.
    pub(crate) fn lines(&self, event_type: &str) -> Vec<&Value> {
        self.said
            .iter()
            .filter_map(|s| match s {
                Said::Line(v) if v["event_type"] == event_type => Some(v),
                _ => None,
            })
            .collect()
    }

    /// The detections of the alerts written, in order.
    pub(crate) fn detections(&self) -> Vec<&str> {
        self.lines("alert")
            .into_iter()
            .map(|a| a["alert"]["metadata"]["detection"][0].as_str().unwrap())
            .collect()
    }

    /// The `direct-ip` verdicts reached.
    pub(crate) fn verdicts(&self) -> Vec<Verdict> {
        self.said
            .iter()
            .filter_map(|s| match s {
                Said::Verdict(v) => Some(*v),
                _ => None,
            })
            .collect()
    }
}
