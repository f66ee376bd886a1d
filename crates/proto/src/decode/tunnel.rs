//! Encapsulations a cloud mirror or a remote SPAN delivers: VXLAN and GENEVE over UDP, GRE
//! (inner IP or Ethernet), ERSPAN types I, II and III over GRE, MPLS label stacks (over Ethernet,
//! GRE or UDP 6635) and PPPoE sessions. Each header is checked and skipped here, then the inner
//! packet decodes exactly like an outer one ([`super::Decoder`]), down to a depth limit.
//!
//! The identity of the outermost IP tunnel (kind, VNI / GRE key / ERSPAN session, outer
//! endpoints) travels with the inner packet as a [`Tunnel`]: flows of two mirrored VPCs that reuse
//! the same private addresses stay apart, and alerts carry Suricata's `tunnel` object. MPLS and
//! PPPoE are layers, not tunnels, for the flow (as Suricata treats them): counted, not keyed.

use super::{Decoded, Decoder, SkipReason};
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

/// Encapsulations at most around one packet (tunnels, MPLS stacks and PPPoE all count); a
/// deeper packet is skipped as [`SkipReason::TunnelTooDeep`].
pub const MAX_DEPTH: u8 = 4;
/// IANA's UDP port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;
/// IANA's UDP port of GENEVE.
pub const GENEVE_PORT: u16 = 6081;
/// IANA's UDP port of MPLS-in-UDP (RFC 7510).
const MPLS_UDP_PORT: u16 = 6635;
/// Labels read at most in one MPLS stack.
const MAX_MPLS_LABELS: usize = 16;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Transparent Ethernet bridging (GRE, GENEVE).
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_ERSPAN_2: u16 = 0x88be;
const ETHERTYPE_ERSPAN_3: u16 = 0x22eb;
pub(crate) const ETHERTYPE_MPLS_UC: u16 = 0x8847;
pub(crate) const ETHERTYPE_MPLS_MC: u16 = 0x8848;
pub(crate) const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;

/// Which IP tunnel carried a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelKind {
    /// Not tunnelled.
    #[default]
    None,
    Vxlan,
    Geneve,
    Gre,
    Erspan,
}

impl TunnelKind {
    /// Lower-case name (README, tests).
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::None => "none",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
        }
    }
}

/// The outermost IP tunnel around a packet: its kind, its id (VXLAN/GENEVE VNI, GRE key,
/// ERSPAN session id; 0 when the header has none), the outer packet's endpoints and protocol,
/// and how many IP tunnels were nested (`depth`, Suricata's `recursion_level`). A small `Copy`
/// value; [`Tunnel::NONE`] for a packet that came without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tunnel {
    pub kind: TunnelKind,
    pub id: u32,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// UDP ports of the outer packet (0 for GRE and ERSPAN).
    pub src_port: u16,
    pub dst_port: u16,
    pub depth: u8,
}

impl Tunnel {
    /// No tunnel.
    pub const NONE: Tunnel = Tunnel {
        kind: TunnelKind::None,
        id: 0,
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        src_port: 0,
        dst_port: 0,
        depth: 0,
    };

    /// Whether the packet came through a tunnel.
    pub fn is_some(&self) -> bool {
        self.kind != TunnelKind::None
    }

    /// The outer packet's protocol as EVE names it (`UDP` for VXLAN/GENEVE, `GRE` otherwise).
    pub fn eve_proto(&self) -> &'static str {
        match self.kind {
            TunnelKind::Vxlan | TunnelKind::Geneve => "UDP",
            _ => "GRE",
        }
    }

    /// This tunnel (an outer layer) around `inner`'s tunnel: the outer identity wins, the depth
    /// adds up.
    fn around(self, inner: Tunnel) -> Tunnel {
        Tunnel {
            depth: inner.depth.saturating_add(1),
            ..self
        }
    }
}

/// What tells two tunnels apart: kind, id and the outer endpoints in a canonical order (both
/// directions of a tunnel give one key; the outer UDP ports, which VXLAN senders vary per inner
/// flow, and the depth are left out). `None` for a packet without a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TunnelKey {
    kind: TunnelKind,
    id: u32,
    lo: IpAddr,
    hi: IpAddr,
}

impl TunnelKey {
    /// The key of `t`, `None` when it is [`Tunnel::NONE`].
    #[inline]
    pub fn of(t: &Tunnel) -> Option<TunnelKey> {
        if !t.is_some() {
            return None;
        }
        let (lo, hi) = if t.src <= t.dst {
            (t.src, t.dst)
        } else {
            (t.dst, t.src)
        };
        Some(TunnelKey {
            kind: t.kind,
            id: t.id,
            lo,
            hi,
        })
    }
}

impl TunnelKey {
    /// A 32-bit digest of the key, never 0: what a flow keeps of its tunnel (4 bytes that fit
    /// in the flow's padding). Two tunnels whose digests collide (about one pair in 2^32) and
    /// that carry the same inner 5-tuple would share a flow.
    pub fn digest(&self) -> NonZeroU32 {
        let mut h = FxHasher::default();
        self.hash(&mut h);
        let h = h.finish();
        NonZeroU32::new((h ^ (h >> 32)) as u32).unwrap_or(NonZeroU32::MIN)
    }
}

impl Tunnel {
    /// The digest of this tunnel's [`TunnelKey`]; `None` without a tunnel.
    #[inline]
    pub fn digest(&self) -> Option<NonZeroU32> {
        TunnelKey::of(self).map(|k| k.digest())
    }
}

impl Default for Tunnel {
    fn default() -> Self {
        Tunnel::NONE
    }
}

/// Encapsulation headers decoded, by kind (Suricata's `decoder.vxlan`, `decoder.gre`, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncapStats {
    pub vxlan: u64,
    pub geneve: u64,
    pub gre: u64,
    pub erspan: u64,
    pub mpls: u64,
    pub pppoe: u64,
}

impl EncapStats {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &EncapStats) {
        self.vxlan += other.vxlan;
        self.geneve += other.geneve;
        self.gre += other.gre;
        self.erspan += other.erspan;
        self.mpls += other.mpls;
        self.pppoe += other.pppoe;
    }

    /// Every count with Suricata's `stats.decoder` name.
    pub fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("vxlan", self.vxlan),
            ("geneve", self.geneve),
            ("gre", self.gre),
            ("erspan", self.erspan),
            ("mpls", self.mpls),
            ("pppoe", self.pppoe),
        ]
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.named().iter().all(|(_, n)| *n == 0)
    }
}

/// Up to eight UDP ports (a tunnel's configured ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortList {
    ports: [u16; PortList::CAP],
    len: u8,
}

impl PortList {
    /// Ports a list holds at most.
    pub const CAP: usize = 8;

    /// The list of `ports`; `None` when there are more than [`PortList::CAP`].
    pub fn new(ports: &[u16]) -> Option<PortList> {
        if ports.len() > Self::CAP {
            return None;
        }
        let mut list = PortList {
            ports: [0; Self::CAP],
            len: ports.len() as u8,
        };
        list.ports[..ports.len()].copy_from_slice(ports);
        Some(list)
    }

    /// The list of one port.
    pub const fn one(port: u16) -> PortList {
        let mut ports = [0; PortList::CAP];
        ports[0] = port;
        PortList { ports, len: 1 }
    }

    /// The ports.
    pub fn as_slice(&self) -> &[u16] {
        &self.ports[..self.len as usize]
    }

    fn contains(&self, port: u16) -> bool {
        self.as_slice().contains(&port)
    }
}

/// Which UDP destination ports are decoded as which tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeConfig {
    pub vxlan_ports: PortList,
    pub geneve_ports: PortList,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            vxlan_ports: PortList::one(VXLAN_PORT),
            geneve_ports: PortList::one(GENEVE_PORT),
        }
    }
}

impl DecodeConfig {
    /// Whether UDP to `port` may carry a tunnel (the one test on the fast path).
    #[inline]
    pub(crate) fn is_tunnel_port(&self, port: u16) -> bool {
        port == MPLS_UDP_PORT || self.vxlan_ports.contains(port) || self.geneve_ports.contains(port)
    }
}

/// The outer packet of a UDP or GRE tunnel: endpoints, ports and the depth of this layer.
#[derive(Clone, Copy)]
pub(crate) struct Outer {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) src_port: u16,
    pub(crate) dst_port: u16,
    pub(crate) depth: u8,
}

impl Outer {
    fn tunnel(&self, kind: TunnelKind, id: u32) -> Tunnel {
        Tunnel {
            kind,
            id,
            src: self.src,
            dst: self.dst,
            src_port: self.src_port,
            dst_port: self.dst_port,
            depth: 0,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// What a UDP payload to a tunnel port holds; `None` when its header is not a valid one (the
/// datagram is then an ordinary UDP packet).
pub(crate) fn udp<'a>(dec: &mut Decoder, outer: Outer, payload: &'a [u8]) -> Option<Decoded<'a>> {
    let cfg = dec.config;
    if cfg.vxlan_ports.contains(outer.dst_port) {
        // RFC 7348: flags (I = 0x08 set), 24 reserved bits, VNI, 8 reserved bits. Reserved bits
        // are not checked (Linux does not either).
        let flags = *payload.first()?;
        if payload.len() < 8 || flags & 0x08 == 0 {
            return None;
        }
        dec.stats.vxlan += 1;
        let vni = be32(payload, 4)? >> 8;
        let t = outer.tunnel(TunnelKind::Vxlan, vni);
        return Some(inner(dec, t, outer.depth, Inner::Ethernet, &payload[8..]));
    }
    if cfg.geneve_ports.contains(outer.dst_port) {
        // RFC 8926: version (2 bits, 0) and options length in 4-byte words, flags, protocol
        // type, VNI, reserved; then the options.
        let first = *payload.first()?;
        let header = 8 + usize::from(first & 0x3f) * 4;
        if first >> 6 != 0 || payload.len() < header {
            return None;
        }
        dec.stats.geneve += 1;
        let proto = be16(payload, 2)?;
        let vni = be32(payload, 4)? >> 8;
        let t = outer.tunnel(TunnelKind::Geneve, vni);
        let what = match Inner::of_ethertype(proto) {
            Some(w) => w,
            None => return Some(Decoded::Skip(SkipReason::UnsupportedTunnel)),
        };
        return Some(inner(dec, t, outer.depth, what, &payload[header..]));
    }
    if outer.dst_port == MPLS_UDP_PORT {
        return Some(mpls(dec, outer.depth, payload));
    }
    None
}

/// A GRE packet (IP protocol 47) from `outer`'s endpoints (RFC 2784, keys and sequence numbers
/// RFC 2890), with ERSPAN inside it when its protocol says so.
pub(crate) fn gre<'a>(dec: &mut Decoder, outer: Outer, data: &'a [u8]) -> Decoded<'a> {
    let (Some(flags), Some(proto)) = (be16(data, 0), be16(data, 2)) else {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    };
    let (checksum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    if flags & 0x0007 != 0 || routing {
        // Version 1 (PPTP's enhanced GRE) and source routing are not decoded.
        return Decoded::Skip(SkipReason::UnsupportedTunnel);
    }
    let mut at = 4;
    if checksum {
        at += 4;
    }
    let id = if key {
        let k = be32(data, at);
        at += 4;
        k
    } else {
        Some(0)
    };
    if seq {
        at += 4;
    }
    let (Some(id), Some(rest)) = (id, data.get(at..)) else {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    };
    dec.stats.gre += 1;
    match proto {
        ETHERTYPE_ERSPAN_2 if !seq => {
            // Type I: no sequence number and no ERSPAN header, the mirrored frame follows.
            dec.stats.erspan += 1;
            let t = outer.tunnel(TunnelKind::Erspan, 0);
            inner(dec, t, outer.depth, Inner::Ethernet, rest)
        }
        ETHERTYPE_ERSPAN_2 => erspan2(dec, outer, rest),
        ETHERTYPE_ERSPAN_3 => erspan3(dec, outer, rest),
        ETHERTYPE_MPLS_UC | ETHERTYPE_MPLS_MC => mpls(dec, outer.depth, rest),
        other => match Inner::of_ethertype(other) {
            Some(what) => {
                let t = outer.tunnel(TunnelKind::Gre, id);
                inner(dec, t, outer.depth, what, rest)
            }
            None => Decoded::Skip(SkipReason::UnsupportedTunnel),
        },
    }
}

/// ERSPAN type II: version 1, VLAN, COS/En/T, 10-bit session id, reserved and index; then the
/// mirrored Ethernet frame.
fn erspan2<'a>(dec: &mut Decoder, outer: Outer, data: &'a [u8]) -> Decoded<'a> {
    let (Some(word), Some(frame)) = (be16(data, 0), data.get(8..)) else {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    };
    if word >> 12 != 1 {
        return Decoded::Skip(SkipReason::UnsupportedTunnel);
    }
    dec.stats.erspan += 1;
    let session = u32::from(be16(data, 2).unwrap_or(0) & 0x03ff);
    let t = outer.tunnel(TunnelKind::Erspan, session);
    inner(dec, t, outer.depth, Inner::Ethernet, frame)
}

/// ERSPAN type III: version 2, VLAN, COS/BSO/T, session id, timestamp, SGT/P/FT/HW id/D/Gra/O,
/// then the 8-byte platform-specific subheader when O is set; frame type 0 is Ethernet, 2 is IP.
fn erspan3<'a>(dec: &mut Decoder, outer: Outer, data: &'a [u8]) -> Decoded<'a> {
    let (Some(word), Some(session), Some(flags)) = (be16(data, 0), be16(data, 2), be16(data, 10))
    else {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    };
    if word >> 12 != 2 {
        return Decoded::Skip(SkipReason::UnsupportedTunnel);
    }
    let header = if flags & 0x0001 != 0 { 20 } else { 12 };
    let Some(frame) = data.get(header..) else {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    };
    dec.stats.erspan += 1;
    let what = match (flags >> 10) & 0x1f {
        0 => Inner::Ethernet,
        2 => Inner::Ip,
        _ => return Decoded::Skip(SkipReason::UnsupportedTunnel),
    };
    let t = outer.tunnel(TunnelKind::Erspan, u32::from(session & 0x03ff));
    inner(dec, t, outer.depth, what, frame)
}

/// An MPLS label stack (RFC 3032) down to its bottom label, then IPv4 or IPv6 by the version
/// nibble, or an Ethernet pseudowire behind its control word (first nibble 0, RFC 4385).
pub(crate) fn mpls<'a>(dec: &mut Decoder, depth: u8, data: &'a [u8]) -> Decoded<'a> {
    let mut at = 0;
    for _ in 0..MAX_MPLS_LABELS {
        let Some(entry) = be32(data, at) else {
            return Decoded::Skip(SkipReason::MalformedTunnel);
        };
        at += 4;
        if entry & 0x100 != 0 {
            dec.stats.mpls += 1;
            let rest = &data[at..];
            return match rest.first().map(|b| b >> 4) {
                Some(4) | Some(6) => layer(dec, depth, Inner::Ip, rest),
                Some(0) => layer(dec, depth, Inner::Ethernet, rest.get(4..).unwrap_or(&[])),
                _ => Decoded::Skip(SkipReason::UnsupportedTunnel),
            };
        }
    }
    Decoded::Skip(SkipReason::UnsupportedTunnel)
}

/// A PPPoE session frame (RFC 2516): version/type 0x11, code 0, session id, length; then the PPP
/// protocol, IPv4 (0x0021) or IPv6 (0x0057), in two bytes or, compressed (RFC 1661 section 6.5:
/// an odd first byte), in one.
pub(crate) fn pppoe<'a>(dec: &mut Decoder, depth: u8, data: &'a [u8]) -> Decoded<'a> {
    let (Some(&vt), Some(&code), Some(len), Some(&first)) =
        (data.first(), data.get(1), be16(data, 4), data.get(6))
    else {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    };
    if vt != 0x11 || code != 0 {
        return Decoded::Skip(SkipReason::MalformedTunnel);
    }
    dec.stats.pppoe += 1;
    let (ppp, at) = if first & 1 == 1 {
        (u16::from(first), 7)
    } else {
        (be16(data, 6).unwrap_or(0), 8)
    };
    // The length covers the PPP protocol field and its payload; trailing Ethernet padding is
    // cut off by it.
    let end = (6 + usize::from(len)).min(data.len());
    let payload = data.get(at..end).unwrap_or(&[]);
    match ppp {
        0x0021 | 0x0057 => layer(dec, depth, Inner::Ip, payload),
        // Link control, authentication and the like carry no IP.
        _ => Decoded::Skip(SkipReason::NotIp),
    }
}

/// What a tunnel header says follows it.
#[derive(Clone, Copy)]
pub(crate) enum Inner {
    Ethernet,
    /// IPv4 or IPv6, told apart by the version nibble.
    Ip,
}

impl Inner {
    fn of_ethertype(proto: u16) -> Option<Inner> {
        match proto {
            ETHERTYPE_TEB => Some(Inner::Ethernet),
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Some(Inner::Ip),
            _ => None,
        }
    }
}

/// Decodes the packet one encapsulation below `depth`, or skips it past the depth limit.
fn layer<'a>(dec: &mut Decoder, depth: u8, what: Inner, data: &'a [u8]) -> Decoded<'a> {
    if depth >= MAX_DEPTH {
        return Decoded::Skip(SkipReason::TunnelTooDeep);
    }
    let linktype = match what {
        Inner::Ethernet => super::link::LINKTYPE_ETHERNET,
        Inner::Ip => super::link::LINKTYPE_RAW,
    };
    dec.layer(linktype, data, depth + 1)
}

/// Decodes what tunnel `t` carries and marks the result with it: the decoder keeps the whole
/// tunnel (outermost identity, nesting depth), a packet its digest, a fragment all of it.
fn inner<'a>(dec: &mut Decoder, t: Tunnel, depth: u8, what: Inner, data: &'a [u8]) -> Decoded<'a> {
    match layer(dec, depth, what, data) {
        Decoded::Packet(mut p) => {
            dec.tunnel = t.around(dec.tunnel);
            p.tunnel = dec.tunnel.digest();
            Decoded::Packet(p)
        }
        Decoded::Fragment(mut f) => {
            dec.tunnel = t.around(dec.tunnel);
            f.tunnel = dec.tunnel;
            Decoded::Fragment(f)
        }
        skip => skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link::{LINKTYPE_ETHERNET, LINKTYPE_RAW};
    use crate::decode::Proto;

    /// IPv4 header + UDP header + `payload`, checksums zero.
    fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let total = (20 + 8 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend(total.to_be_bytes());
        p.extend([0, 1, 0, 0, 64, 17, 0, 0]);
        p.extend(src);
        p.extend(dst);
        p.extend(sport.to_be_bytes());
        p.extend(dport.to_be_bytes());
        p.extend(((8 + payload.len()) as u16).to_be_bytes());
        p.extend([0, 0]);
        p.extend(payload);
        p
    }

    fn ipv4_gre(src: [u8; 4], dst: [u8; 4], gre: &[u8]) -> Vec<u8> {
        let total = (20 + gre.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend(total.to_be_bytes());
        p.extend([0, 1, 0, 0, 64, 47, 0, 0]);
        p.extend(src);
        p.extend(dst);
        p.extend(gre);
        p
    }

    fn ethernet(ether_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        f.extend(ether_type.to_be_bytes());
        f.extend(payload);
        f
    }

    /// The inner packet every test carries: 10.0.0.5:40000 -> 203.0.113.53:53, "hi".
    fn inner_ip() -> Vec<u8> {
        ipv4_udp([10, 0, 0, 5], [203, 0, 113, 53], 40000, 53, b"hi")
    }

    fn vxlan(vni: u32, inner_frame: &[u8]) -> Vec<u8> {
        let mut v = vec![0x08, 0, 0, 0];
        v.extend((vni << 8).to_be_bytes());
        v.extend(inner_frame);
        let outer = ipv4_udp([10, 1, 0, 2], [10, 1, 0, 1], 50000, VXLAN_PORT, &v);
        ethernet(0x0800, &outer)
    }

    /// The packet decoded from `frame`, and the tunnel the decoder reports for it.
    fn packet<'a>(
        dec: &mut Decoder,
        linktype: i32,
        frame: &'a [u8],
    ) -> (crate::decode::Packet<'a>, Tunnel) {
        match dec.decode(linktype, frame) {
            Decoded::Packet(p) => {
                assert_eq!(p.tunnel, dec.tunnel().digest());
                (p, *dec.tunnel())
            }
            other => panic!("expected a packet, got {other:?}"),
        }
    }

    fn assert_inner(p: &crate::decode::Packet<'_>) {
        assert_eq!(p.src, "10.0.0.5".parse::<IpAddr>().unwrap());
        assert_eq!(p.dst, "203.0.113.53".parse::<IpAddr>().unwrap());
        assert_eq!((p.src_port, p.dst_port, p.proto), (40000, 53, Proto::Udp));
        assert_eq!(p.payload, b"hi");
    }

    #[test]
    fn vxlan_gives_the_inner_packet_with_vni_and_outer_endpoints() {
        let frame = vxlan(42, &ethernet(0x0800, &inner_ip()));
        let mut dec = Decoder::default();
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!(t.kind, TunnelKind::Vxlan);
        assert_eq!((t.id, t.depth), (42, 1));
        assert_eq!(t.src, "10.1.0.2".parse::<IpAddr>().unwrap());
        assert_eq!((t.src_port, t.dst_port), (50000, VXLAN_PORT));
        assert_eq!(dec.stats.vxlan, 1);
        assert!(!dec.inner_cut());
    }

    #[test]
    fn a_udp_payload_without_the_vxlan_flag_stays_plain_udp() {
        let outer = ipv4_udp([10, 1, 0, 2], [10, 1, 0, 1], 50000, VXLAN_PORT, &[0; 16]);
        let frame = ethernet(0x0800, &outer);
        let mut dec = Decoder::default();
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_eq!((p.dst_port, t), (VXLAN_PORT, Tunnel::NONE));
        assert_eq!(dec.stats.vxlan, 0);
    }

    #[test]
    fn configured_ports_are_vxlan_and_others_are_not() {
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 7, 0];
        v.extend(ethernet(0x0800, &inner_ip()));
        let outer = ipv4_udp([10, 1, 0, 2], [10, 1, 0, 1], 50000, 8472, &v);
        let frame = ethernet(0x0800, &outer);
        let (p, _) = packet(&mut Decoder::default(), LINKTYPE_ETHERNET, &frame);
        assert_eq!(p.dst_port, 8472, "8472 is not a VXLAN port by default");
        let config = DecodeConfig {
            vxlan_ports: PortList::new(&[4789, 8472]).unwrap(),
            ..DecodeConfig::default()
        };
        let (p, t) = packet(&mut Decoder::new(config), LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!(t.id, 7);
    }

    #[test]
    fn geneve_skips_its_options_and_carries_raw_ip() {
        // Version 0, 2 words of options; protocol 0x0800 (raw IPv4, as GCP mirrors send).
        let mut g = vec![0x02, 0, 0x08, 0x00, 0, 0, 0x7b, 0];
        g.extend([0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd]);
        g.extend(inner_ip());
        let frame = ethernet(
            0x0800,
            &ipv4_udp([10, 1, 0, 2], [10, 1, 0, 1], 1, GENEVE_PORT, &g),
        );
        let mut dec = Decoder::default();
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!((t.kind, t.id), (TunnelKind::Geneve, 0x7b));
        assert_eq!(dec.stats.geneve, 1);
    }

    #[test]
    fn gre_with_key_and_teb_then_erspan_types() {
        // GRE with checksum and key, transparent Ethernet bridging.
        let mut gre = vec![0xa0, 0, 0x65, 0x58, 0, 0, 0, 0, 0, 0, 0x01, 0x00];
        gre.extend(ethernet(0x0800, &inner_ip()));
        let frame = ethernet(0x0800, &ipv4_gre([10, 1, 0, 2], [10, 1, 0, 1], &gre));
        let mut dec = Decoder::default();
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!((t.kind, t.id), (TunnelKind::Gre, 256));
        assert_eq!(t.eve_proto(), "GRE");

        // ERSPAN type II: GRE with sequence number, version 1, session 5.
        let mut gre = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 9];
        gre.extend([0x10, 0x17, 0x00, 0x05, 0, 0, 0, 0]);
        gre.extend(ethernet(0x0800, &inner_ip()));
        let frame = ethernet(0x0800, &ipv4_gre([10, 1, 0, 2], [10, 1, 0, 1], &gre));
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!((t.kind, t.id), (TunnelKind::Erspan, 5));

        // ERSPAN type III with the platform-specific subheader (O flag), session 9.
        let mut gre = vec![0x10, 0, 0x22, 0xeb, 0, 0, 0, 9];
        gre.extend([0x20, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        gre.extend([0; 8]);
        gre.extend(ethernet(0x0800, &inner_ip()));
        let frame = ethernet(0x0800, &ipv4_gre([10, 1, 0, 2], [10, 1, 0, 1], &gre));
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!((t.kind, t.id), (TunnelKind::Erspan, 9));

        // ERSPAN type I: no sequence number, no header.
        let mut gre = vec![0, 0, 0x88, 0xbe];
        gre.extend(ethernet(0x0800, &inner_ip()));
        let frame = ethernet(0x0800, &ipv4_gre([10, 1, 0, 2], [10, 1, 0, 1], &gre));
        let (p, _) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!(dec.stats.gre, 4);
        assert_eq!(dec.stats.erspan, 3);
    }

    #[test]
    fn mpls_stacks_and_pppoe_sessions_are_layers_not_tunnels() {
        let mut m = vec![0, 0, 0x10, 0x40, 0, 0, 0x21, 0x40];
        m.extend(inner_ip());
        let frame = ethernet(0x8847, &m);
        let mut dec = Decoder::default();
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!((p.tunnel, t), (None, Tunnel::NONE));
        assert_eq!(dec.stats.mpls, 1);

        let ip = inner_ip();
        let mut s = vec![0x11, 0, 0, 0x2d];
        s.extend(((ip.len() + 2) as u16).to_be_bytes());
        s.extend([0x00, 0x21]);
        s.extend(&ip);
        s.extend([0; 6]); // Ethernet padding, cut off by the PPPoE length
        let frame = ethernet(0x8864, &s);
        let (p, _) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!(dec.stats.pppoe, 1);
    }

    #[test]
    fn inner_fragments_of_two_tunnels_reassemble_apart() {
        use crate::decode::defrag::Defragmenter;
        use crate::time::Timestamp;
        // The same inner addresses and IP id through VNI 1 and VNI 2; each datagram in two
        // fragments, interleaved.
        let datagram = |name: &[u8]| {
            let mut udp = vec![0x9c, 0x40, 0, 53, 0, 0, 0, 0];
            udp.extend(name);
            let len = (udp.len() as u16).to_be_bytes();
            udp[4..6].copy_from_slice(&len);
            udp
        };
        let fragment = |data: &[u8], offset: u16, more: bool| {
            let mut p = vec![0x45, 0];
            p.extend(((20 + data.len()) as u16).to_be_bytes());
            p.extend([0x12, 0x34]);
            p.extend(((offset / 8) | if more { 0x2000 } else { 0 }).to_be_bytes());
            p.extend([64, 17, 0, 0, 10, 0, 0, 5, 203, 0, 113, 53]);
            p.extend(data);
            ethernet(0x0800, &p)
        };
        let (a, b) = (datagram(b"first-tunnel...."), datagram(b"second-tunnel..."));
        let frames = [
            vxlan(1, &fragment(&a[..16], 0, true)),
            vxlan(2, &fragment(&b[..16], 0, true)),
            vxlan(1, &fragment(&a[16..], 16, false)),
            vxlan(2, &fragment(&b[16..], 16, false)),
        ];
        let mut dec = Decoder::default();
        let mut defrag = Defragmenter::default();
        let mut whole = Vec::new();
        for frame in &frames {
            match dec.decode(LINKTYPE_ETHERNET, frame) {
                Decoded::Fragment(f) => {
                    assert_eq!(f.tunnel.kind, TunnelKind::Vxlan);
                    if let Some(d) = defrag.add(Timestamp(0), &f) {
                        whole.push((d.tunnel.id, d.data));
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(whole, vec![(1, a), (2, b)]);
        assert_eq!(defrag.stats.overlaps, 0);
    }

    #[test]
    fn nesting_past_the_depth_limit_is_skipped_and_named() {
        let mut frame = ethernet(0x0800, &inner_ip());
        for _ in 0..MAX_DEPTH {
            frame = vxlan(1, &frame);
        }
        let mut dec = Decoder::default();
        let (p, t) = packet(&mut dec, LINKTYPE_ETHERNET, &frame);
        assert_inner(&p);
        assert_eq!(t.depth, MAX_DEPTH);
        let deeper = vxlan(1, &frame);
        assert!(matches!(
            dec.decode(LINKTYPE_ETHERNET, &deeper),
            Decoded::Skip(SkipReason::TunnelTooDeep)
        ));
    }

    #[test]
    fn an_inner_packet_cut_short_is_flagged_as_cut() {
        // A mirror session truncated the inner packet: its IP length says more than is there.
        let mut inner = ethernet(
            0x0800,
            &ipv4_udp([10, 0, 0, 5], [203, 0, 113, 53], 1, 2, &[7; 100]),
        );
        inner.truncate(inner.len() - 60);
        let frame = vxlan(3, &inner);
        let mut dec = Decoder::default();
        if let Decoded::Packet(p) = dec.decode(LINKTYPE_ETHERNET, &frame) {
            assert!(p.payload.len() < 100);
        }
        assert!(dec.inner_cut());
        let whole = vxlan(3, &ethernet(0x0800, &inner_ip()));
        let _ = dec.decode(LINKTYPE_ETHERNET, &whole);
        assert!(!dec.inner_cut());
    }

    #[test]
    fn every_prefix_of_every_encapsulation_decodes_without_panic() {
        let ip = inner_ip();
        let mut gre = vec![0x30, 0, 0x22, 0xeb, 0, 0, 0, 1, 0, 0, 0, 9];
        gre.extend([0x20, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        gre.extend([0; 8]);
        gre.extend(ethernet(0x0800, &ip));
        let frames = [
            vxlan(1, &ethernet(0x0800, &ip)),
            ethernet(0x0800, &ipv4_gre([1, 1, 1, 1], [2, 2, 2, 2], &gre)),
            ethernet(0x8847, &[&[0u8, 0, 0x11, 0x40][..], &ip].concat()),
            ethernet(
                0x8864,
                &[&[0x11u8, 0, 0, 1, 0, 40, 0, 0x21][..], &ip].concat(),
            ),
        ];
        let mut dec = Decoder::default();
        for frame in &frames {
            for len in 0..=frame.len() {
                let _ = dec.decode(LINKTYPE_ETHERNET, &frame[..len]);
                let _ = dec.decode(LINKTYPE_RAW, &frame[14.min(len)..len]);
            }
        }
    }
}
