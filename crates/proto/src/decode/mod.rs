//! Decodes a captured frame from its link layer down to TCP/UDP: Ethernet with 802.1Q/QinQ, Linux
//! cooked capture v1 and v2, BSD loopback, raw IPv4/IPv6; IPv6 extension headers; the tunnels of
//! [`tunnel`] (VXLAN, GENEVE, GRE, ERSPAN, MPLS, PPPoE) down to the packet inside. The result
//! borrows from the frame. IP fragments are handed to [`defrag`]; damaged packets get a
//! [`SkipReason`].

pub mod defrag;
mod ipv6;
pub mod link;
pub mod tcp;
pub mod tunnel;

pub use tunnel::{DecodeConfig, EncapStats, PortList, Tunnel, TunnelKey, TunnelKind};

use etherparse::{LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Transport protocol of a decoded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// The name EVE uses in `proto`.
    pub fn eve_name(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

/// TCP header fields the flow engine needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpMeta {
    pub seq: u32,
    pub ack: u32,
    pub syn: bool,
    pub ack_flag: bool,
    pub fin: bool,
    pub rst: bool,
    /// URG flag and urgent pointer (offset past `seq` of the byte after the urgent one).
    pub urg: bool,
    pub urg_ptr: u16,
}

/// A TCP or UDP packet, borrowed from the frame (or from a reassembled datagram).
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub proto: Proto,
    /// Present for TCP.
    pub tcp: Option<TcpMeta>,
    pub payload: &'a [u8],
    /// 802.1Q VLAN ids, outermost first.
    pub vlans: Vlans,
    /// The digest of the tunnel the packet came through ([`TunnelKey::digest`]; `None`
    /// without one): what the flow key needs. The whole tunnel, for an alert's `tunnel` object,
    /// is [`Decoder::tunnel`]; keeping it out of the packet keeps the packet small.
    pub tunnel: Option<NonZeroU32>,
    /// The IPv4 header, options included (empty for IPv6 and reassembled datagrams), for a
    /// lazy checksum check ([`tcp::ipv4_header_ok`]).
    pub ip_header: &'a [u8],
    /// The whole TCP or UDP datagram, header and payload (empty when the capture holds only part
    /// of it), for lazy checks: checksums and TCP options ([`tcp`]).
    pub l4: &'a [u8],
}

/// The 802.1Q VLAN ids of a frame, outermost first: up to three (QinQ and one more); deeper
/// tags are not kept. Six bytes (a flow keeps one): an id is 12 bits, so each slot holds its id
/// with [`Vlans::PRESENT`] set, or 0 when empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Vlans {
    ids: [u16; 3],
}

impl Vlans {
    /// No VLAN tag.
    pub const NONE: Vlans = Vlans { ids: [0; 3] };
    /// Marks a slot in use (above the 12 bits of a VLAN id).
    const PRESENT: u16 = 0x8000;

    /// Adds the next inner id (its low 12 bits); a fourth and later are ignored.
    pub fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.iter_mut().find(|slot| **slot == 0) {
            *slot = Self::PRESENT | (id & 0x0fff);
        }
    }

    /// The ids, outermost first.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ids
            .iter()
            .take_while(|slot| **slot != 0)
            .map(|slot| slot & 0x0fff)
    }

    /// Whether the frame had no tag.
    pub fn is_empty(&self) -> bool {
        self.ids[0] == 0
    }

    /// The outermost id, or 0 for an untagged frame (the flow key's VLAN).
    pub fn outermost(&self) -> u16 {
        self.ids[0] & 0x0fff
    }
}

impl serde::Serialize for Vlans {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// An IP fragment to hand to the reassembler.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Fragment identification (IPv4: 16 bits; IPv6: 32 bits).
    pub id: u32,
    /// Upper-layer protocol number of the reassembled datagram.
    pub protocol: u8,
    /// Byte offset of this fragment's data in the datagram.
    pub offset: u32,
    pub more: bool,
    pub data: &'a [u8],
    pub vlans: Vlans,
    /// The tunnel the fragment came through (part of the reassembly key).
    pub tunnel: Tunnel,
}

/// Why a frame produced no packet. Every reason is counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The link type is not one we decode.
    UnsupportedLinkType,
    /// A link-layer header was cut short.
    TruncatedLink,
    /// Not IP (ARP, LLDP, ...).
    NotIp,
    /// The IP header is damaged or cut short.
    MalformedIp,
    /// IP but neither TCP nor UDP (ICMP, ...).
    OtherTransport,
    /// The TCP/UDP header is damaged or cut short (often a snaplen cut).
    MalformedTransport,
    /// An IP fragment cut by the snaplen: its datagram can never be whole.
    CutFragment,
    /// A fragment inside a reassembled datagram (fragments are reassembled once, not twice).
    NestedFragment,
    /// A tunnel header (GRE, ERSPAN, GENEVE, MPLS, PPPoE) damaged or cut short.
    MalformedTunnel,
    /// A tunnel variant not decoded (GRE version 1 or routing, an unknown inner protocol, an
    /// ERSPAN version other than II/III).
    UnsupportedTunnel,
    /// More encapsulations than [`tunnel::MAX_DEPTH`].
    TunnelTooDeep,
    /// An IPv6 Hop-by-Hop Options header elsewhere than first (RFC 8200; Linux drops it).
    Ipv6HopByHopNotFirst,
    /// IPv6 ESP: the rest is encrypted.
    Ipv6Esp,
    /// IPv6 extension headers cut short, or more than the walk takes.
    Ipv6ExtensionHeaders,
}

impl SkipReason {
    /// Stable name for counters and the summary.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType => "unsupported_link_type",
            SkipReason::TruncatedLink => "truncated_link_header",
            SkipReason::NotIp => "not_ip",
            SkipReason::MalformedIp => "malformed_ip",
            SkipReason::OtherTransport => "other_transport",
            SkipReason::MalformedTransport => "malformed_transport",
            SkipReason::CutFragment => "cut_fragment",
            SkipReason::NestedFragment => "nested_fragment",
            SkipReason::MalformedTunnel => "malformed_tunnel",
            SkipReason::UnsupportedTunnel => "unsupported_tunnel",
            SkipReason::TunnelTooDeep => "tunnel_too_deep",
            SkipReason::Ipv6HopByHopNotFirst => "ipv6_hop_by_hop_not_first",
            SkipReason::Ipv6Esp => "ipv6_esp",
            SkipReason::Ipv6ExtensionHeaders => "ipv6_extension_headers",
        }
    }
}

/// What decoding one frame gave.
#[derive(Debug)]
pub enum Decoded<'a> {
    Packet(Packet<'a>),
    Fragment(Fragment<'a>),
    Skip(SkipReason),
}

/// Decodes one frame of link type `linktype` with the default tunnel ports, counting nothing.
pub fn decode_frame(linktype: i32, data: &[u8]) -> Decoded<'_> {
    Decoder::default().decode(linktype, data)
}

/// A frame decoder: the tunnel ports it knows, what it counted, and the tunnel of the last packet
/// it decoded and whether that packet was cut short inside it.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    pub config: DecodeConfig,
    /// Encapsulation headers decoded.
    pub stats: EncapStats,
    inner_cut: bool,
    /// The outermost tunnel of the last packet or fragment decoded.
    tunnel: Tunnel,
}

impl Decoder {
    /// A decoder for `config`'s tunnel ports.
    pub fn new(config: DecodeConfig) -> Decoder {
        Decoder {
            config,
            ..Decoder::default()
        }
    }

    /// Decodes one frame of link type `linktype`.
    #[inline]
    pub fn decode<'a>(&mut self, linktype: i32, data: &'a [u8]) -> Decoded<'a> {
        self.inner_cut = false;
        self.tunnel = Tunnel::NONE;
        if linktype == link::LINKTYPE_ETHERNET {
            if let Some(pkt) = plain_ethernet(data) {
                if pkt.proto == Proto::Udp && self.config.is_tunnel_port(pkt.dst_port) {
                    return self.udp_tunnel(pkt, 0);
                }
                return Decoded::Packet(pkt);
            }
        }
        self.sliced_link(linktype, data, 0)
    }

    /// The outermost tunnel of the last packet or fragment decoded ([`Tunnel::NONE`] when it
    /// came without one).
    pub fn tunnel(&self) -> &Tunnel {
        &self.tunnel
    }

    /// Decodes a reassembled datagram (see [`decode_transport`]), and the tunnel it carries
    /// when it is UDP to a tunnel port (VXLAN or GENEVE sent in fragmented outer packets).
    pub fn datagram<'a>(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        datagram: &'a [u8],
        vlans: Vlans,
        tunnel: Tunnel,
    ) -> Decoded<'a> {
        self.inner_cut = false;
        self.tunnel = tunnel;
        match decode_transport(src, dst, protocol, datagram, vlans, tunnel.digest()) {
            Decoded::Packet(pkt)
                if pkt.proto == Proto::Udp && self.config.is_tunnel_port(pkt.dst_port) =>
            {
                self.tunnel = Tunnel::NONE;
                match self.udp_tunnel(pkt, tunnel.depth) {
                    Decoded::Packet(mut inner) => {
                        if tunnel.is_some() {
                            // Inside an earlier tunnel: that one is the outermost.
                            self.tunnel = if self.tunnel.is_some() {
                                Tunnel {
                                    depth: tunnel.depth.saturating_add(self.tunnel.depth),
                                    ..tunnel
                                }
                            } else {
                                tunnel
                            };
                        }
                        inner.tunnel = self.tunnel.digest();
                        Decoded::Packet(inner)
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Whether the last packet decoded was cut short inside a tunnel (its outer packet whole,
    /// the inner one not: a mirror session's truncation, AWS's `PacketLength`). Like a snaplen
    /// cut: headers usable, payload not.
    pub fn inner_cut(&self) -> bool {
        self.inner_cut
    }

    /// Decodes a tunnel's inner frame, found at encapsulation `depth`.
    pub(crate) fn layer<'a>(&mut self, linktype: i32, data: &'a [u8], depth: u8) -> Decoded<'a> {
        // What comes out is marked by the tunnel around it (`tunnel::inner`).
        self.tunnel = Tunnel::NONE;
        if linktype == link::LINKTYPE_ETHERNET {
            if let Some(pkt) = plain_ethernet(data) {
                if pkt.proto == Proto::Udp && self.config.is_tunnel_port(pkt.dst_port) {
                    return self.udp_tunnel(pkt, depth);
                }
                return Decoded::Packet(pkt);
            }
        }
        self.sliced_link(linktype, data, depth)
    }

    /// The general path: the link layer sliced, then IP, tunnels and transport.
    fn sliced_link<'a>(&mut self, linktype: i32, data: &'a [u8], depth: u8) -> Decoded<'a> {
        match link::slice_link(linktype, data) {
            Ok((sliced, raw_ip)) => self.sliced(data, sliced, raw_ip, depth),
            Err(reason) => Decoded::Skip(reason),
        }
    }

    /// A UDP packet to a tunnel port: what it carries, or the packet itself when its payload
    /// is no tunnel header.
    fn udp_tunnel<'a>(&mut self, pkt: Packet<'a>, depth: u8) -> Decoded<'a> {
        let outer = tunnel::Outer {
            src: pkt.src,
            dst: pkt.dst,
            src_port: pkt.src_port,
            dst_port: pkt.dst_port,
            depth,
        };
        tunnel::udp(self, outer, pkt.payload).unwrap_or(Decoded::Packet(pkt))
    }

    fn sliced<'a>(
        &mut self,
        frame: &'a [u8],
        sliced: LaxSlicedPacket<'a>,
        raw_ip: Option<&'a [u8]>,
        depth: u8,
    ) -> Decoded<'a> {
        if let Some(LaxNetSlice::Ipv6(_)) = sliced.net {
            // IPv6 is walked by hand (extension headers in any order, `ipv6`).
            let raw = raw_ip.or_else(|| {
                sliced
                    .ether_payload()
                    .filter(|e| e.ether_type.0 == 0x86dd)
                    .map(|e| e.payload)
            });
            if let Some(ip) = raw {
                let mut vlans = Vlans::NONE;
                for id in sliced.vlan_ids().iter() {
                    vlans.push(id.value());
                }
                return self.ipv6(ip, vlans, depth);
            }
        }
        if sliced.net.is_none() {
            if let Some(ether) = sliced.ether_payload() {
                match ether.ether_type.0 {
                    tunnel::ETHERTYPE_MPLS_UC | tunnel::ETHERTYPE_MPLS_MC => {
                        return tunnel::mpls(self, depth, ether.payload)
                    }
                    tunnel::ETHERTYPE_PPPOE_SESSION => {
                        return tunnel::pppoe(self, depth, ether.payload)
                    }
                    _ => {}
                }
            }
        }
        if depth > 0 && sliced.ip_payload().is_some_and(|p| p.incomplete) {
            self.inner_cut = true;
        }
        match decode_sliced(frame, &sliced) {
            Decoded::Packet(pkt)
                if pkt.proto == Proto::Udp && self.config.is_tunnel_port(pkt.dst_port) =>
            {
                self.udp_tunnel(pkt, depth)
            }
            Decoded::Skip(SkipReason::OtherTransport) => self.gre(sliced_gre(&sliced), depth),
            other => other,
        }
    }

    /// An IPv6 packet: the fixed header, then its extension headers walked in any order.
    fn ipv6<'a>(&mut self, ip: &'a [u8], vlans: Vlans, depth: u8) -> Decoded<'a> {
        let Ok(h) = etherparse::Ipv6HeaderSlice::from_slice(ip) else {
            return Decoded::Skip(SkipReason::MalformedIp);
        };
        let (src, dst) = (
            IpAddr::V6(h.source_addr()),
            IpAddr::V6(h.destination_addr()),
        );
        let next = h.next_header().0;
        let declared = usize::from(h.payload_length());
        let rest = &ip[40..];
        let body = if declared == 0 && next == 0 {
            // A jumbogram: its length is in a Hop-by-Hop option; the frame bounds it.
            rest
        } else if let Some(body) = rest.get(..declared) {
            body
        } else {
            if depth > 0 {
                self.inner_cut = true;
            }
            rest
        };
        let l3 = L3 {
            src,
            dst,
            vlans,
            tunnel: None,
            ip_header: &[],
            whole: body.len() == declared || (declared == 0 && next == 0),
        };
        match ipv6::walk(next, body, true) {
            Err(reason) => Decoded::Skip(reason),
            Ok(ipv6::Walked::Fragment {
                id,
                protocol,
                offset,
                more,
                data,
            }) => Decoded::Fragment(Fragment {
                src,
                dst,
                id,
                protocol,
                offset,
                more,
                data,
                vlans,
                tunnel: Tunnel::NONE,
            }),
            Ok(ipv6::Walked::Upper { protocol, payload }) => match upper(&l3, protocol, payload) {
                Decoded::Packet(pkt)
                    if pkt.proto == Proto::Udp && self.config.is_tunnel_port(pkt.dst_port) =>
                {
                    self.udp_tunnel(pkt, depth)
                }
                Decoded::Skip(SkipReason::OtherTransport) if protocol == 47 => {
                    self.gre(Some((src, dst, payload)), depth)
                }
                other => other,
            },
        }
    }

    fn gre<'a>(&mut self, gre: Option<(IpAddr, IpAddr, &'a [u8])>, depth: u8) -> Decoded<'a> {
        match gre {
            Some((src, dst, data)) => {
                let outer = tunnel::Outer {
                    src,
                    dst,
                    src_port: 0,
                    dst_port: 0,
                    depth,
                };
                tunnel::gre(self, outer, data)
            }
            None => Decoded::Skip(SkipReason::OtherTransport),
        }
    }
}

/// The addresses and payload of an unfragmented GRE packet (IP protocol 47).
fn sliced_gre<'a>(sliced: &LaxSlicedPacket<'a>) -> Option<(IpAddr, IpAddr, &'a [u8])> {
    let payload = sliced.ip_payload()?;
    if payload.ip_number.0 != 47 || payload.fragmented {
        return None;
    }
    let (src, dst) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        LaxNetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
        ),
        _ => return None,
    };
    Some((src, dst, payload.payload))
}

/// The common case, decoded without building a whole sliced packet: Ethernet II without VLAN
/// tags, IPv4 (unfragmented) or IPv6 (no extension headers), then TCP or UDP, all complete.
/// `None` for anything else, which then takes the general path.
fn plain_ethernet(data: &[u8]) -> Option<Packet<'_>> {
    const ETHERNET_LEN: usize = 14;
    let ether_type = u16::from_be_bytes([*data.get(12)?, *data.get(13)?]);
    let ip = &data[ETHERNET_LEN..];
    let (src, dst, protocol, payload, ip_header) = match ether_type {
        0x0800 => {
            let h = etherparse::Ipv4HeaderSlice::from_slice(ip).ok()?;
            let total = usize::from(h.total_len());
            let header = h.slice().len();
            if h.more_fragments() || h.fragments_offset().value() != 0 || total < header {
                return None;
            }
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.protocol().0,
                ip.get(header..total)?,
                h.slice(),
            )
        }
        0x86dd => {
            let h = etherparse::Ipv6HeaderSlice::from_slice(ip).ok()?;
            let end = 40 + usize::from(h.payload_length());
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                h.next_header().0,
                ip.get(40..end)?,
                &[][..],
            )
        }
        _ => return None,
    };
    let l3 = L3 {
        src,
        dst,
        vlans: Vlans::NONE,
        tunnel: None,
        ip_header,
        whole: true,
    };
    match protocol {
        6 => etherparse::TcpSlice::from_slice(payload)
            .ok()
            .map(|tcp| tcp_packet(&l3, &tcp)),
        17 => etherparse::UdpSlice::from_slice(payload)
            .ok()
            .map(|udp| udp_packet(&l3, &udp)),
        _ => None,
    }
}

fn decode_sliced<'a>(frame: &'a [u8], sliced: &LaxSlicedPacket<'a>) -> Decoded<'a> {
    let mut vlans = Vlans::NONE;
    for id in sliced.vlan_ids().iter() {
        vlans.push(id.value());
    }
    let (src, dst, fragment) = match ip_header(sliced) {
        Ok(header) => header,
        Err(reason) => return Decoded::Skip(reason),
    };
    if let Some((id, protocol, offset, more)) = fragment {
        let data = match sliced.ip_payload() {
            Some(p) => p.payload,
            None => return Decoded::Skip(SkipReason::MalformedIp),
        };
        return Decoded::Fragment(Fragment {
            src,
            dst,
            id,
            protocol,
            offset,
            more,
            data,
            vlans,
            tunnel: Tunnel::NONE,
        });
    }
    let (ip_header, whole) = match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => (
            header_before(frame, ip.payload().payload, ip.header().slice().len()),
            !ip.payload().incomplete,
        ),
        Some(LaxNetSlice::Ipv6(ip)) => (&[][..], !ip.payload().incomplete),
        _ => (&[][..], false),
    };
    let l3 = L3 {
        src,
        dst,
        vlans,
        tunnel: None,
        ip_header,
        whole,
    };
    match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => Decoded::Packet(tcp_packet(&l3, tcp)),
        Some(TransportSlice::Udp(udp)) => Decoded::Packet(udp_packet(&l3, udp)),
        Some(_) => Decoded::Skip(SkipReason::OtherTransport),
        None => match sliced.ip_payload().map(|p| p.ip_number.0) {
            Some(6) | Some(17) => Decoded::Skip(SkipReason::MalformedTransport),
            _ => Decoded::Skip(SkipReason::OtherTransport),
        },
    }
}

/// Where a fragment sits in its datagram: identification, upper protocol, byte offset, more
/// fragments follow.
type FragmentInfo = (u32, u8, u32, bool);

/// The IP header's addresses, and its fragment facts when the payload is a fragment.
fn ip_header(
    sliced: &LaxSlicedPacket<'_>,
) -> Result<(IpAddr, IpAddr, Option<FragmentInfo>), SkipReason> {
    match &sliced.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            let h = ip.header();
            let frag = ip.is_payload_fragmented().then(|| {
                (
                    h.identification() as u32,
                    h.protocol().0,
                    h.fragments_offset().byte_offset() as u32,
                    h.more_fragments(),
                )
            });
            Ok((
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                frag,
            ))
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            let h = ip.header();
            let frag = if ip.is_payload_fragmented() {
                ipv6_fragment_info(ip)
            } else {
                None
            };
            Ok((
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                frag,
            ))
        }
        Some(_) => Err(SkipReason::NotIp),
        None => Err(match sliced.stop_err {
            Some(_) => SkipReason::MalformedIp,
            None => SkipReason::NotIp,
        }),
    }
}

/// Network-layer facts shared by every packet built from one IP header.
/// The `len` bytes of `frame` just before `payload` (a subslice of it): the IPv4 header, which
/// etherparse's lax slice lends only for its own lifetime. Empty if `payload` is not in `frame`.
fn header_before<'a>(frame: &'a [u8], payload: &[u8], len: usize) -> &'a [u8] {
    let at = (payload.as_ptr() as usize).wrapping_sub(frame.as_ptr() as usize);
    match at.checked_sub(len) {
        Some(start) if at <= frame.len() => &frame[start..at],
        _ => &[],
    }
}

struct L3<'a> {
    src: IpAddr,
    dst: IpAddr,
    vlans: Vlans,
    tunnel: Option<NonZeroU32>,
    ip_header: &'a [u8],
    /// The IP payload is all there (not cut by the snaplen).
    whole: bool,
}

fn tcp_packet<'a>(l3: &L3<'a>, tcp: &etherparse::TcpSlice<'a>) -> Packet<'a> {
    Packet {
        src: l3.src,
        dst: l3.dst,
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        proto: Proto::Tcp,
        tcp: Some(TcpMeta {
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            syn: tcp.syn(),
            ack_flag: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            urg: tcp.urg(),
            urg_ptr: tcp.urgent_pointer(),
        }),
        payload: tcp.payload(),
        vlans: l3.vlans,
        tunnel: l3.tunnel,
        ip_header: l3.ip_header,
        l4: if l3.whole { tcp.slice() } else { &[] },
    }
}

fn udp_packet<'a>(l3: &L3<'a>, udp: &etherparse::UdpSlice<'a>) -> Packet<'a> {
    Packet {
        src: l3.src,
        dst: l3.dst,
        src_port: udp.source_port(),
        dst_port: udp.destination_port(),
        proto: Proto::Udp,
        tcp: None,
        payload: udp.payload(),
        vlans: l3.vlans,
        tunnel: l3.tunnel,
        ip_header: l3.ip_header,
        l4: if l3.whole { udp.slice() } else { &[] },
    }
}

/// Fragment id, upper protocol, offset and more-flag of an IPv6 packet with a fragment header.
fn ipv6_fragment_info(ip: &etherparse::LaxIpv6Slice<'_>) -> Option<FragmentInfo> {
    for ext in ip.extensions().clone() {
        if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
            return Some((
                f.identification(),
                f.next_header().0,
                f.fragment_offset().byte_offset() as u32,
                f.more_fragments(),
            ));
        }
    }
    None
}

/// Decodes the TCP or UDP header of a reassembled datagram that came with `vlans` through
/// the tunnel of digest `tunnel`; for IPv6, after the extension headers that may lead its payload.
pub fn decode_transport<'a>(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    datagram: &'a [u8],
    vlans: Vlans,
    tunnel: Option<NonZeroU32>,
) -> Decoded<'a> {
    let l3 = L3 {
        src,
        dst,
        vlans,
        tunnel,
        ip_header: &[],
        whole: true,
    };
    if src.is_ipv6() && ipv6::is_extension(protocol) {
        return match ipv6::walk(protocol, datagram, false) {
            Ok(ipv6::Walked::Upper { protocol, payload }) => upper(&l3, protocol, payload),
            Ok(ipv6::Walked::Fragment { .. }) => Decoded::Skip(SkipReason::NestedFragment),
            Err(reason) => Decoded::Skip(reason),
        };
    }
    upper(&l3, protocol, datagram)
}

/// The TCP or UDP packet in `payload`, an upper-layer `protocol`'s bytes.
fn upper<'a>(l3: &L3<'a>, protocol: u8, payload: &'a [u8]) -> Decoded<'a> {
    match protocol {
        6 => match etherparse::TcpSlice::from_slice(payload) {
            Ok(tcp) => Decoded::Packet(tcp_packet(l3, &tcp)),
            Err(_) => Decoded::Skip(SkipReason::MalformedTransport),
        },
        17 => match etherparse::UdpSlice::from_slice(payload) {
            Ok(udp) => Decoded::Packet(udp_packet(l3, &udp)),
            Err(_) => Decoded::Skip(SkipReason::MalformedTransport),
        },
        _ => Decoded::Skip(SkipReason::OtherTransport),
    }
}
