//! `bench-gen`: writes benchmark captures for egress-ids by cloning the repository's real captures.
//!
//! ```text
//! cargo run --release --example bench-gen -- --mix npm --size 1GiB --out /tmp/npm-1g.pcap
//! cargo run --release --example bench-gen -- --mix small --out /tmp/small.pcap        (256 MiB)
//! cargo run --release --example bench-gen -- --mix synflood --flows 2000000 --out /tmp/syn.pcap
//! ```
//!
//! Why: a throughput number is only worth something if the input looks like what the IDS will
//! see. Hand-made payloads (zero-filled TLS, a ClientHello written from the RFC) miss what real
//! clients do: the sizes, record layouts and extensions of curl's and Node's ClientHellos, npm's
//! A+AAAA lookups, segment boundaries, the TCP dance around a download. So this tool invents no
//! payload at all. It parses the captures in `pcaps/` (made by real curl, node, npm and dig
//! clients against real servers, see `pcaps/README.md`) into flows: TCP connections from SYN to
//! FIN/RST and DNS query/response exchanges, keeping every byte. It then writes a new capture
//! made only of copies of those flows, re-addressed so that they look like many CI runners at
//! once:
//!
//! - the client side moves to one of `--runners` addresses in 10.77.0.0/16 (IPv6 flows:
//!   fd00:10:77::/48, same runner number) and gets a fresh ephemeral port per copied flow;
//!   servers keep their addresses, so the copied DNS answers still resolve them;
//! - TCP initial sequence numbers and IPv4 IDs are shifted per copy (seq, ack and SACK blocks
//!   consistently), and IPv4 header, TCP and UDP checksums are computed again (the captured
//!   ones are mostly left unfinished by checksum offload on the veth);
//! - flows are interleaved in packet time (`--duration`, default 120 s), timestamps monotonic.
//!
//! Mixes:
//!
//! - `npm` (default 1 GiB): what an `npm install` fleet sends. Per GiB about 600 TLS connections
//!   to the registry (SNI registry.npmjs.org), each after its own DNS lookup (the real exchange
//!   for registry.npmjs.org: curl's A query or npm's A+AAAA); 40% of them are tarball
//!   downloads and 15 are bulk downloads that carry ~75% of the bytes. A download is a real
//!   registry TLS flow (npm fetching a tarball) whose server-to-client application data is
//!   lengthened: the server's real TLS records are repeated (so the TLS record framing stays
//!   valid), cut into MSS-sized segments (1448 bytes here), with a client ACK every 2 segments
//!   and seq/ack advanced consistently to the end of the flow (FIN, close_notify, RST).
//!   Plus `--c2` copies of each C2 callback capture (npm-postinstall-ioc, tls-ip-literal,
//!   http-ip-host, ipv6-ioc; every flow of the capture, on one runner): the alerts to expect
//!   are the lines of their `.expected` files, printed in the summary.
//!   With 1448-byte segments and delayed ACKs a GiB of downloads is ~1.03 M packets (the
//!   ~800k often quoted counts only the bulk 75%).
//! - `small` (default 256 MiB): the small-packet mix, handshakes and lookups only, nothing
//!   lengthened: registry TLS and HTTP, api.github.com TLS, mirror.example-cdn.net HTTP (whose
//!   DNS answer arrives in 3 IPv4 fragments), registry lookups alone, and the C2 captures.
//! - `synflood`: `--flows` TCP SYNs (default 2,000,000), one per flow, from distinct
//!   address/port pairs in 10.77.0.0/16 to 203.0.113.0/24 port 443, over `--duration`
//!   (default 5 s, under the 60 s tcp-new timeout). These are synthesised (etherparse's
//!   PacketBuilder, Linux-like options); a flood has no real payload to copy.
//!
//! Output: pcap (not pcapng), microsecond timestamps, Ethernet, snaplen 262144. The output
//! is a function of the templates, the options and `--seed` only. A one-line summary goes to
//! stderr. Errors name the file and exit with code 2.

use clap::{Parser, ValueEnum};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;
/// Packet time of the first packet: 2026-11-22T03:00:00Z (the week the templates were captured).
const EPOCH_US: u64 = 1_795_316_400 * 1_000_000;
const SNAPLEN: u32 = 262_144;
/// Captures whose every flow is copied as one C2 callback scenario.
const C2_CAPTURES: [&str; 4] = [
    "npm-postinstall-ioc",
    "tls-ip-literal",
    "http-ip-host",
    "ipv6-ioc",
];
const REGISTRY: &str = "registry.npmjs.org";
/// Linux' default ephemeral port range.
const PORT_LO: u16 = 32768;
const PORT_HI: u16 = 60999;
/// A UDP 5-tuple silent for longer than this starts a new DNS exchange.
const UDP_EXCHANGE_GAP_US: u64 = 5_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mix {
    /// npm-install-like: registry handshakes, tarball and bulk downloads, a few C2 callbacks
    Npm,
    /// Small packets only: DNS exchanges and TLS/HTTP handshakes
    Small,
    /// One TCP SYN per flow, distinct sources (flow-table pressure)
    Synflood,
}

/// Write a benchmark capture made of re-addressed copies of the real flows in pcaps/.
#[derive(Parser, Debug)]
#[command(name = "bench-gen")]
struct Args {
    /// Traffic mix
    #[arg(long, value_enum, default_value_t = Mix::Npm)]
    mix: Mix,
    /// Output size, e.g. 1GiB, 256MiB, 8MiB, 500MB, 123456 (default: npm 1GiB, small 256MiB; not for synflood)
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Output pcap file
    #[arg(long)]
    out: PathBuf,
    /// Random seed: same seed, templates and options give the same bytes
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory of template captures (*.pcap) [default: the repository's pcaps/]
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
    /// synflood: number of SYNs (= flows)
    #[arg(long, default_value_t = 2_000_000)]
    flows: u64,
    /// Seconds of packet time the flows are spread over (default: 120, synflood 5)
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Number of CI runner addresses the clients are spread over
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=60000))]
    runners: u32,
    /// Copies of each C2 callback capture
    #[arg(long, default_value_t = 1)]
    c2: u32,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("'{s}': expected a number with an optional unit (KiB, MiB, GiB, KB, MB, GB)")
    })?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => MIB as f64,
        "g" | "gib" => GIB as f64,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        u => {
            return Err(format!(
                "'{s}': unknown unit '{u}' (KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    let v = n * mult;
    if !(4096.0..1e15).contains(&v) {
        return Err(format!("'{s}': size must be at least 4 KiB"));
    }
    Ok(v as u64)
}

#[derive(Debug, thiserror::Error)]
enum GenError {
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("{0}")]
    Other(String),
}

fn file_err(path: &Path, msg: impl std::fmt::Display) -> GenError {
    GenError::File {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers: deterministic RNG, checksums, big-endian fields.

/// splitmix64: tiny, fast, good enough to scatter flows; fixed by --seed.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Adds `data` to a one's-complement accumulator as big-endian 16-bit words (`data` starts at
/// an even offset of the checksummed range).
fn csum_add(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes(c.try_into().unwrap());
        acc += (w >> 32) + (w & 0xffff_ffff);
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        acc += u16::from_be_bytes([rest[0], rest[1]]) as u64;
        rest = &rest[2..];
    }
    if let [b] = rest {
        acc += (*b as u64) << 8;
    }
    acc
}

fn csum_fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

const TCP: u8 = 6;
const UDP: u8 = 17;
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

// ---------------------------------------------------------------------------------------------
// Templates: the real captures parsed into flows.

/// One captured frame of a template flow, with the offsets the rewriting needs.
struct Pkt {
    /// Microseconds since the flow's first packet.
    rel_us: u64,
    frame: Vec<u8>,
    ip_off: usize,
    v6: bool,
    proto: u8,
    /// Offset of the TCP/UDP header; None for a non-first IP fragment.
    l4_off: Option<usize>,
    /// Offset of the TCP/UDP payload in `frame` (when `l4_off` is set).
    payload_off: usize,
    /// Payload bytes in this packet.
    len: u32,
    from_client: bool,
    flags: u8,
    seq: u32,
    /// First fragment of a fragmented datagram: (L4 length, one's-complement sum of the whole
    /// L4 payload across all fragments), for the L4 checksum.
    frag_sum: Option<(u32, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Tls,
    Http,
    DnsUdp,
    DnsTcp,
    OtherTcp,
    OtherUdp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tls => "tls",
            Kind::Http => "http",
            Kind::DnsUdp => "dns-udp",
            Kind::DnsTcp => "dns-tcp",
            Kind::OtherTcp => "other-tcp",
            Kind::OtherUdp => "other-udp",
        }
    }
    fn is_dns(self) -> bool {
        matches!(self, Kind::DnsUdp | Kind::DnsTcp)
    }
}

/// How to lengthen a TLS flow's server-to-client data: after packet `ins_idx` (whose data ends
/// on a TLS record boundary), insert copies of `block` (whole real records), cut into `seg_len`
/// segments built on packet `data_pkt`'s headers, with client ACKs built on packet `ack_pkt`.
struct Lengthen {
    ins_idx: usize,
    /// Server relative sequence number (ISN = 0) of the first inserted byte.
    ins_rel: u32,
    /// Client relative sequence number the client is at (what the server acknowledges).
    client_next_rel: u32,
    block: Vec<u8>,
    seg_len: u32,
    data_pkt: usize,
    ack_pkt: usize,
}

struct Flow {
    file: usize,
    /// The client's template address (SYN sender; for UDP the side that is not port 53).
    client: IpAddr,
    kind: Kind,
    /// SNI, HTTP Host (without port) or DNS query name; lowercase.
    name: Option<String>,
    pkts: Vec<Pkt>,
    /// Absolute template time of the first packet (µs).
    t0: u64,
    last_us: u64,
    client_isn: u32,
    server_isn: Option<u32>,
    lengthen: Option<Lengthen>,
    unusable: Option<&'static str>,
}

impl Flow {
    fn disk_bytes(&self) -> u64 {
        self.pkts.iter().map(|p| 16 + p.frame.len() as u64).sum()
    }
}

struct TemplateFile {
    path: PathBuf,
    stem: String,
    /// Alerts the capture must raise (non-comment lines of `<stem>.expected`).
    expected_alerts: Option<u64>,
}

struct Templates {
    files: Vec<TemplateFile>,
    flows: Vec<Flow>,
    ignored_packets: u64,
}

/// Parsed IP/L4 headers of one frame.
struct Decoded {
    ip_off: usize,
    v6: bool,
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    /// IPv4 fragment: (id, offset in bytes, more fragments).
    frag: Option<(u16, usize, bool)>,
    /// End of the IP packet in the frame (excludes Ethernet padding).
    ip_end: usize,
    l4_off: Option<usize>,
    sport: u16,
    dport: u16,
    payload_off: usize,
    flags: u8,
    seq: u32,
}

fn decode(frame: &[u8]) -> Option<Decoded> {
    let mut off = 12;
    let mut ethertype = be16(frame.get(..14)?, 12);
    let mut tags = 0;
    while (ethertype == 0x8100 || ethertype == 0x88a8) && tags < 2 {
        ethertype = be16(frame.get(..off + 6)?, off + 4);
        off += 4;
        tags += 1;
    }
    let ip_off = off + 2;
    let ip = frame.get(ip_off..)?;
    let (v6, proto, src, dst, frag, l4_start, ip_end) = match ethertype {
        0x0800 => {
            if ip.len() < 20 || ip[0] >> 4 != 4 {
                return None;
            }
            let ihl = (ip[0] & 0x0f) as usize * 4;
            let total = be16(ip, 2) as usize;
            if ihl < 20 || total < ihl || total > ip.len() {
                return None;
            }
            let fo = be16(ip, 6);
            let mf = fo & 0x2000 != 0;
            let offset = (fo & 0x1fff) as usize * 8;
            let frag = (mf || offset != 0).then_some((be16(ip, 4), offset, mf));
            let src = IpAddr::from(<[u8; 4]>::try_from(&ip[12..16]).unwrap());
            let dst = IpAddr::from(<[u8; 4]>::try_from(&ip[16..20]).unwrap());
            (false, ip[9], src, dst, frag, ip_off + ihl, ip_off + total)
        }
        0x86dd => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return None;
            }
            let total = 40 + be16(ip, 4) as usize;
            if total > ip.len() {
                return None;
            }
            let src = IpAddr::from(<[u8; 16]>::try_from(&ip[8..24]).unwrap());
            let dst = IpAddr::from(<[u8; 16]>::try_from(&ip[24..40]).unwrap());
            // Extension headers are not followed: such packets count as "other".
            (true, ip[6], src, dst, None, ip_off + 40, ip_off + total)
        }
        _ => return None,
    };
    if proto != TCP && proto != UDP {
        return None;
    }
    let mut d = Decoded {
        ip_off,
        v6,
        proto,
        src,
        dst,
        frag,
        ip_end,
        l4_off: None,
        sport: 0,
        dport: 0,
        payload_off: ip_end,
        flags: 0,
        seq: 0,
    };
    if matches!(frag, Some((_, o, _)) if o != 0) {
        return Some(d);
    }
    let l4 = frame.get(l4_start..ip_end)?;
    d.l4_off = Some(l4_start);
    if proto == TCP {
        if l4.len() < 20 {
            return None;
        }
        let hl = (l4[12] >> 4) as usize * 4;
        if hl < 20 || hl > l4.len() {
            return None;
        }
        d.sport = be16(l4, 0);
        d.dport = be16(l4, 2);
        d.seq = be32(l4, 4);
        d.flags = l4[13];
        d.payload_off = l4_start + hl;
    } else {
        if l4.len() < 8 {
            return None;
        }
        d.sport = be16(l4, 0);
        d.dport = be16(l4, 2);
        d.payload_off = l4_start + 8;
    }
    Some(d)
}

type FlowKey = (IpAddr, u16, IpAddr, u16, u8);

/// Reassembly of a fragmented datagram, only to checksum its whole L4 payload.
struct FragPending {
    flow: usize,
    pkt: usize,
    /// The L4 segment (header + payload) by offset.
    data: Vec<u8>,
    got: usize,
    total: Option<usize>,
    l4_hdr: usize,
}

fn read_pcap(path: &Path) -> Result<Vec<(u64, Vec<u8>, bool)>, GenError> {
    use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
    let data = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let (mut rest, hdr) = parse_pcap_header(&data).map_err(|_| {
        file_err(
            path,
            "not a pcap file (pcapng and other formats cannot be templates)",
        )
    })?;
    if hdr.is_modified_format() {
        return Err(file_err(path, "modified (Kuznetzov) pcap is not supported"));
    }
    if hdr.network.0 != 1 {
        return Err(file_err(
            path,
            format!(
                "link type {} (templates must be Ethernet, 1)",
                hdr.network.0
            ),
        ));
    }
    let nano = hdr.is_nanosecond_precision();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let r = if hdr.is_bigendian() {
            parse_pcap_frame_be(rest)
        } else {
            parse_pcap_frame(rest)
        };
        let (next, b) = r.map_err(|_| {
            file_err(
                path,
                format!(
                    "the file ends inside a packet record (byte offset {})",
                    data.len() - rest.len()
                ),
            )
        })?;
        let frac = if nano {
            b.ts_usec as u64 / 1000
        } else {
            b.ts_usec as u64
        };
        out.push((
            b.ts_sec as u64 * 1_000_000 + frac,
            b.data.to_vec(),
            b.caplen < b.origlen,
        ));
        rest = next;
    }
    Ok(out)
}

fn load_templates(dir: &Path) -> Result<Templates, GenError> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| file_err(dir, format!("template directory: {e}")))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(file_err(
            dir,
            "no *.pcap template captures in this directory",
        ));
    }
    let mut t = Templates {
        files: Vec::new(),
        flows: Vec::new(),
        ignored_packets: 0,
    };
    for path in paths {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expected_alerts = std::fs::read_to_string(path.with_extension("expected"))
            .ok()
            .map(|s| {
                s.lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                    .count() as u64
            });
        let file = t.files.len();
        let records = read_pcap(&path)?;
        let first = t.flows.len();
        t.ignored_packets += flows_of(file, records, &mut t.flows);
        for f in &mut t.flows[first..] {
            finish_flow(f);
        }
        t.files.push(TemplateFile {
            path,
            stem,
            expected_alerts,
        });
    }
    Ok(t)
}

/// Splits one capture's records into flows (appended to `flows`); returns the packets that
/// belong to no usable flow.
fn flows_of(file: usize, records: Vec<(u64, Vec<u8>, bool)>, flows: &mut Vec<Flow>) -> u64 {
    let mut open: FxHashMap<FlowKey, usize> = FxHashMap::default();
    let mut frags: FxHashMap<(IpAddr, IpAddr, u16, u8), FragPending> = FxHashMap::default();
    let mut ignored = 0;
    for (ts, frame, cut) in records {
        let Some(d) = decode(&frame) else {
            ignored += 1;
            continue;
        };
        // Non-first fragment: belongs to the datagram its first fragment opened.
        if let Some((id, offset, mf)) = d.frag.filter(|f| f.1 != 0) {
            let key = (d.src, d.dst, id, d.proto);
            let Some(p) = frags.get_mut(&key) else {
                ignored += 1;
                continue;
            };
            let flow_idx = p.flow;
            let body = &frame[d.ip_off + ip_hdr_len(&frame, d.ip_off)..d.ip_end];
            if p.data.len() < offset + body.len() {
                p.data.resize(offset + body.len(), 0);
            }
            p.data[offset..offset + body.len()].copy_from_slice(body);
            p.got += body.len();
            if !mf {
                p.total = Some(offset + body.len());
            }
            let done = p.total == Some(p.got);
            let f = &mut flows[flow_idx];
            let from_client = d.src == f.client;
            if cut {
                f.unusable = Some("a packet is cut by the snaplen");
            }
            f.last_us = ts;
            f.pkts.push(Pkt {
                rel_us: ts.saturating_sub(f.t0),
                frame,
                ip_off: d.ip_off,
                v6: d.v6,
                proto: d.proto,
                l4_off: None,
                payload_off: d.ip_end,
                len: 0,
                from_client,
                flags: 0,
                seq: 0,
                frag_sum: None,
            });
            if done {
                let p = frags.remove(&key).unwrap();
                let l4_len = p.data.len() as u32;
                let sum = csum_add(0, &p.data[p.l4_hdr.min(p.data.len())..]);
                flows[p.flow].pkts[p.pkt].frag_sum = Some((l4_len, sum));
            }
            continue;
        }
        let fwd = (d.src, d.sport, d.dst, d.dport, d.proto);
        let rev = (d.dst, d.dport, d.src, d.sport, d.proto);
        let (idx, from_client) = if d.proto == TCP && d.flags & (SYN | ACK) == SYN {
            let idx = flows.len();
            flows.push(new_flow(file, d.src, ts));
            open.insert(fwd, idx);
            (idx, true)
        } else if let Some(&i) = open.get(&fwd) {
            (i, true)
        } else if let Some(&i) = open.get(&rev) {
            (i, false)
        } else {
            (usize::MAX, false)
        };
        let (idx, from_client) = if idx != usize::MAX
            && (d.proto == TCP || ts.saturating_sub(flows[idx].last_us) <= UDP_EXCHANGE_GAP_US)
        {
            (idx, from_client)
        } else if d.proto == UDP {
            // A new UDP exchange; the client is the side that is not port 53.
            let client_is_src = !(d.sport == 53 && d.dport != 53);
            let idx = flows.len();
            let client = if client_is_src { d.src } else { d.dst };
            flows.push(new_flow(file, client, ts));
            let key = if client_is_src { fwd } else { rev };
            open.insert(key, idx);
            (idx, client_is_src)
        } else {
            // TCP without the SYN that opened it.
            ignored += 1;
            continue;
        };
        let f = &mut flows[idx];
        if cut {
            f.unusable = Some("a packet is cut by the snaplen");
        }
        f.last_us = ts;
        let l4_off = d.l4_off.unwrap();
        if let Some((id, _, _)) = d.frag {
            let body = frame[l4_off..d.ip_end].to_vec();
            let got = body.len();
            frags.insert(
                (d.src, d.dst, id, d.proto),
                FragPending {
                    flow: idx,
                    pkt: f.pkts.len(),
                    data: body,
                    got,
                    total: None,
                    l4_hdr: d.payload_off - l4_off,
                },
            );
        }
        f.pkts.push(Pkt {
            rel_us: ts.saturating_sub(f.t0),
            len: (d.ip_end - d.payload_off) as u32,
            frame,
            ip_off: d.ip_off,
            v6: d.v6,
            proto: d.proto,
            l4_off: Some(l4_off),
            payload_off: d.payload_off,
            from_client,
            flags: d.flags,
            seq: d.seq,
            frag_sum: None,
        });
    }
    for p in frags.values() {
        flows[p.flow].unusable = Some("an IP fragment is missing");
    }
    ignored
}

fn new_flow(file: usize, client: IpAddr, ts: u64) -> Flow {
    Flow {
        file,
        client,
        kind: Kind::OtherUdp,
        name: None,
        pkts: Vec::new(),
        t0: ts,
        last_us: ts,
        client_isn: 0,
        server_isn: None,
        lengthen: None,
        unusable: None,
    }
}

fn ip_hdr_len(frame: &[u8], ip_off: usize) -> usize {
    (frame[ip_off] & 0x0f) as usize * 4
}

/// One direction's TCP byte stream from its first data byte, as far as it is contiguous;
/// with each data packet's (index, start offset, end offset).
fn tcp_stream(f: &Flow, client: bool, isn: u32) -> (Vec<u8>, Vec<(usize, u32, u32)>) {
    let mut segs: Vec<(u32, usize)> = f
        .pkts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.from_client == client && p.len > 0 && p.l4_off.is_some())
        .map(|(i, p)| (p.seq.wrapping_sub(isn).wrapping_sub(1), i))
        .filter(|(off, _)| *off < 1 << 30)
        .collect();
    let ends = segs
        .iter()
        .map(|&(o, i)| (i, o, o + f.pkts[i].len))
        .collect();
    segs.sort();
    let mut s = Vec::new();
    for (off, i) in segs {
        let p = &f.pkts[i];
        let data = &p.frame[p.payload_off..p.payload_off + p.len as usize];
        let off = off as usize;
        if off > s.len() {
            break;
        }
        if off + data.len() > s.len() {
            s.extend_from_slice(&data[s.len() - off..]);
        }
    }
    (s, ends)
}

fn finish_flow(f: &mut Flow) {
    // Timestamps relative to the first packet, never decreasing.
    let mut last = 0;
    for p in &mut f.pkts {
        p.rel_us = p.rel_us.max(last);
        last = p.rel_us;
    }
    let p0 = &f.pkts[0];
    if p0.proto == UDP {
        let (sport, dport) = ports(p0);
        let server_port = if p0.from_client { dport } else { sport };
        if server_port == 53 || sport == 53 && dport == 53 {
            f.kind = Kind::DnsUdp;
            f.name = f
                .pkts
                .iter()
                .find(|p| p.from_client && p.l4_off.is_some())
                .and_then(|p| dns_qname(&p.frame[p.payload_off..p.payload_off + p.len as usize]));
        } else {
            f.kind = Kind::OtherUdp;
        }
        return;
    }
    f.client_isn = p0.seq;
    f.server_isn = f
        .pkts
        .iter()
        .find(|p| !p.from_client && p.flags & (SYN | ACK) == SYN | ACK)
        .map(|p| p.seq);
    let (cs, _) = tcp_stream(f, true, f.client_isn);
    let server_port = ports(p0).1;
    if server_port == 53 {
        f.kind = Kind::DnsTcp;
        f.name = cs.get(2..).and_then(dns_qname);
    } else if cs.len() >= 3 && cs[0] == 0x16 && cs[1] == 0x03 {
        f.kind = Kind::Tls;
        f.name = tls_sni(&cs);
        f.lengthen = f.server_isn.and_then(|isn| lengthen_plan(f, isn));
    } else if let Some(host) = http_host(&cs) {
        f.kind = Kind::Http;
        f.name = Some(host);
    } else {
        f.kind = Kind::OtherTcp;
    }
}

fn ports(p: &Pkt) -> (u16, u16) {
    let l4 = p.l4_off.unwrap();
    (be16(&p.frame, l4), be16(&p.frame, l4 + 2))
}

/// Where and with what a TLS flow's server data can be lengthened (see [`Lengthen`]).
fn lengthen_plan(f: &Flow, server_isn: u32) -> Option<Lengthen> {
    let (ss, ends) = tcp_stream(f, false, server_isn);
    let seg_len = ends.iter().map(|e| e.2 - e.1).max()?;
    // Only flows with full-sized segments (the MSS both SYNs allow, less the timestamp
    // option) show what a download looks like.
    let mss = f
        .pkts
        .iter()
        .filter(|p| p.flags & SYN != 0)
        .map(syn_mss)
        .min()?;
    if seg_len < 500 || seg_len != mss {
        return None;
    }
    let &(data_pkt, first_full, _) = ends.iter().find(|e| e.2 - e.1 == seg_len)?;
    // TLS record boundaries of the server stream.
    let mut bounds = vec![0u32];
    let mut pos = 0usize;
    while pos + 5 <= ss.len() && (20..=23).contains(&ss[pos]) && ss[pos + 1] == 3 {
        pos += 5 + be16(&ss, pos + 3) as usize;
        if pos <= ss.len() {
            bounds.push(pos as u32);
        }
    }
    let block_start = *bounds.iter().find(|&&b| b >= first_full)?;
    // Insert after the last server packet (in capture order) whose data ends on a boundary
    // after block_start.
    let &(ins_idx, _, ins_end) = ends
        .iter()
        .filter(|e| {
            e.2 > block_start
                && bounds.binary_search(&e.2).is_ok()
                && f.pkts[..=e.0].iter().all(|p| p.flags & (FIN | RST) == 0)
        })
        .max_by_key(|e| e.0)?;
    let block = ss[block_start as usize..ins_end as usize].to_vec();
    let mut client_next_rel = 0u32;
    let mut ack_pkt = None;
    for (i, p) in f.pkts.iter().enumerate().take(ins_idx + 1) {
        if !p.from_client || p.l4_off.is_none() {
            continue;
        }
        let rel = p.seq.wrapping_sub(f.client_isn);
        let end = rel + p.len + (p.flags & SYN != 0) as u32 + (p.flags & FIN != 0) as u32;
        client_next_rel = client_next_rel.max(end);
        if p.len == 0 && p.flags & (SYN | FIN | RST) == 0 && p.flags & ACK != 0 {
            ack_pkt = Some(i);
        }
    }
    Some(Lengthen {
        ins_idx,
        ins_rel: ins_end + 1,
        client_next_rel,
        block,
        seg_len,
        data_pkt,
        ack_pkt: ack_pkt?,
    })
}

/// The payload a segment can carry after this SYN: its MSS option less the timestamp option.
fn syn_mss(p: &Pkt) -> u32 {
    let Some(l4) = p.l4_off else { return 0 };
    let opts = &p.frame[l4 + 20..p.payload_off];
    let (mut mss, mut ts, mut i) = (536u32, 0u32, 0);
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let n = *opts.get(i + 1).unwrap_or(&0) as usize;
                if n < 2 || i + n > opts.len() {
                    break;
                }
                if kind == 2 && n == 4 {
                    mss = be16(opts, i + 2) as u32;
                } else if kind == 8 {
                    ts = 12;
                }
                i += n;
            }
        }
    }
    mss - ts.min(mss)
}

/// Extra disk bytes and packets when `copies` blocks are inserted.
fn lengthen_cost(f: &Flow, copies: u64) -> (u64, u64) {
    let Some(l) = &f.lengthen else {
        return (0, 0);
    };
    let e = copies * l.block.len() as u64;
    let segs = e.div_ceil(l.seg_len as u64);
    let acks = segs / 2;
    let hdr = f.pkts[l.data_pkt].payload_off as u64 + 16;
    let ack = f.pkts[l.ack_pkt].frame.len() as u64 + 16;
    (e + segs * hdr + acks * ack, segs + acks)
}

/// Disk bytes one inserted block costs, on average.
fn block_cost(f: &Flow) -> f64 {
    let (b, _) = lengthen_cost(f, 64);
    b as f64 / 64.0
}

fn dns_qname(msg: &[u8]) -> Option<String> {
    if msg.len() < 12 || be16(msg, 4) == 0 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let n = *msg.get(pos)? as usize;
        if n == 0 {
            break;
        }
        if n & 0xc0 != 0 {
            return None;
        }
        labels.push(String::from_utf8_lossy(msg.get(pos + 1..pos + 1 + n)?).to_ascii_lowercase());
        pos += 1 + n;
    }
    Some(labels.join("."))
}

/// The server name of a ClientHello (records concatenated, so split hellos work).
fn tls_sni(stream: &[u8]) -> Option<String> {
    let mut hs = Vec::new();
    let mut pos = 0;
    while pos + 5 <= stream.len() && stream[pos] == 0x16 {
        let len = be16(stream, pos + 3) as usize;
        let end = (pos + 5 + len).min(stream.len());
        hs.extend_from_slice(&stream[pos + 5..end]);
        pos += 5 + len;
    }
    if hs.len() < 4 || hs[0] != 1 {
        return None;
    }
    let body = hs.get(4..)?;
    let mut p = 2 + 32; // version, random
    p += 1 + *body.get(p)? as usize; // session id
    p += 2 + be16(body.get(..p + 2)?, p) as usize; // cipher suites
    p += 1 + *body.get(p)? as usize; // compression methods
    let ext_end = p + 2 + be16(body.get(..p + 2)?, p) as usize;
    p += 2;
    while p + 4 <= ext_end.min(body.len()) {
        let typ = be16(body, p);
        let len = be16(body, p + 2) as usize;
        if typ == 0 {
            // server_name_list: length, then (type 0 host_name, length, name)
            let e = body.get(p + 4..p + 4 + len)?;
            if e.len() >= 5 && e[2] == 0 {
                let n = be16(e, 3) as usize;
                return Some(String::from_utf8_lossy(e.get(5..5 + n)?).to_ascii_lowercase());
            }
            return None;
        }
        p += 4 + len;
    }
    None
}

fn http_host(stream: &[u8]) -> Option<String> {
    const METHODS: [&[u8]; 8] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
    ];
    if !METHODS.iter().any(|m| stream.starts_with(m)) {
        return None;
    }
    let head = &stream[..stream.len().min(8192)];
    let text = String::from_utf8_lossy(head);
    for line in text.split("\r\n").skip(1) {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("host") {
                let v = v.trim();
                let host = if v.starts_with('[') {
                    v.split(']').next().map(|h| h.trim_start_matches('['))
                } else {
                    v.split(':').next()
                };
                return host.map(|h| h.to_ascii_lowercase());
            }
        }
    }
    Some(String::new())
}

// ---------------------------------------------------------------------------------------------
// Units: what gets copied together (a connection after its DNS lookup, or a whole C2 capture).

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Role {
    Registry,
    Tarball,
    Bulk,
    Github,
    RegistryHttp,
    MirrorHttp,
    Dns,
    C2,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Registry => "registry-tls",
            Role::Tarball => "tarball",
            Role::Bulk => "bulk",
            Role::Github => "github-tls",
            Role::RegistryHttp => "registry-http",
            Role::MirrorHttp => "mirror-http",
            Role::Dns => "dns",
            Role::C2 => "c2",
        }
    }
}

struct Unit {
    /// (template flow, µs after the unit's start)
    flows: Vec<(usize, u64)>,
    /// Index into `flows` of the connection (the one lengthened).
    conn: Option<usize>,
    file: usize,
}

fn usable(f: &Flow) -> bool {
    f.unusable.is_none() && f.kind != Kind::OtherUdp
}

/// A connection with the latest DNS exchange of the same capture that asked for its name
/// before it started.
fn pair_unit(t: &Templates, conn: usize) -> Unit {
    let c = &t.flows[conn];
    let dns = c.name.as_ref().and_then(|name| {
        t.flows
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.file == c.file
                    && d.kind.is_dns()
                    && usable(d)
                    && d.t0 <= c.t0
                    && d.name.as_ref() == Some(name)
            })
            .max_by_key(|(_, d)| d.t0)
            .map(|(i, _)| i)
    });
    match dns {
        Some(d) => Unit {
            flows: vec![(d, 0), (conn, c.t0 - t.flows[d].t0)],
            conn: Some(1),
            file: c.file,
        },
        None => Unit {
            flows: vec![(conn, 0)],
            conn: Some(0),
            file: c.file,
        },
    }
}

fn conn_units(t: &Templates, kind: Kind, name: &str) -> Vec<Unit> {
    t.flows
        .iter()
        .enumerate()
        .filter(|(_, f)| usable(f) && f.kind == kind && f.name.as_deref() == Some(name))
        .map(|(i, _)| pair_unit(t, i))
        .collect()
}

/// Every usable flow of each C2 capture, with their real relative timing.
fn c2_units(t: &Templates) -> Vec<Unit> {
    let mut units = Vec::new();
    for stem in C2_CAPTURES {
        let Some(file) = t.files.iter().position(|f| f.stem == stem) else {
            eprintln!("bench-gen: warning: no C2 template {stem}.pcap; it is left out");
            continue;
        };
        let flows: Vec<usize> = (0..t.flows.len())
            .filter(|&i| t.flows[i].file == file && usable(&t.flows[i]))
            .collect();
        let Some(t0) = flows.iter().map(|&i| t.flows[i].t0).min() else {
            continue;
        };
        units.push(Unit {
            flows: flows.iter().map(|&i| (i, t.flows[i].t0 - t0)).collect(),
            conn: None,
            file,
        });
    }
    units
}

fn unit_cost(t: &Templates, u: &Unit) -> u64 {
    u.flows.iter().map(|&(f, _)| t.flows[f].disk_bytes()).sum()
}

// ---------------------------------------------------------------------------------------------
// Planning: which units start when, on which runner, lengthened by how much.

struct Plan {
    start_us: u64,
    unit: usize,
    role: Role,
    runner: u32,
    /// Blocks inserted into the unit's connection, and µs between inserted segments.
    copies: u64,
    dt_us: f64,
}

struct Planned {
    units: Vec<Unit>,
    plans: Vec<Plan>,
    expected_alerts: Option<u64>,
}

fn plan_c2(t: &Templates, p: &mut Planned, rng: &mut Rng, copies: u32, dur: u64, runners: u32) {
    let units = c2_units(t);
    let mut expected = Some(0u64);
    for u in units {
        let e = t.files[u.file].expected_alerts;
        let idx = p.units.len();
        p.units.push(u);
        for _ in 0..copies {
            expected = expected.zip(e).map(|(a, b)| a + b);
            p.plans.push(Plan {
                start_us: (dur as f64 * rng.range(0.05, 0.9)) as u64,
                unit: idx,
                role: Role::C2,
                runner: rng.below(runners as u64) as u32,
                copies: 0,
                dt_us: 0.0,
            });
        }
    }
    p.expected_alerts = expected;
}

fn plan_npm(
    t: &Templates,
    size: u64,
    dur: u64,
    a: &Args,
    rng: &mut Rng,
) -> Result<Planned, GenError> {
    let mut p = Planned {
        units: Vec::new(),
        plans: Vec::new(),
        expected_alerts: None,
    };
    plan_c2(t, &mut p, rng, a.c2, dur, a.runners);
    let reg = conn_units(t, Kind::Tls, REGISTRY);
    if reg.is_empty() {
        return Err(GenError::Other(format!(
            "no usable TLS flow with SNI {REGISTRY} in the templates"
        )));
    }
    let first = p.units.len();
    p.units.extend(reg);
    let reg_idx: Vec<usize> = (first..p.units.len()).collect();
    let long_idx: Vec<usize> = reg_idx
        .iter()
        .copied()
        .filter(|&u| t.flows[conn_of(&p.units[u])].lengthen.is_some())
        .collect();
    if long_idx.is_empty() {
        return Err(GenError::Other(format!(
            "no {REGISTRY} TLS flow in the templates has MSS-sized server segments on TLS record boundaries to lengthen"
        )));
    }
    let n_reg = ((600.0 * size as f64 / GIB as f64).round() as u64).max(20);
    let n_tar = n_reg * 2 / 5;
    let n_bulk = 15;
    let mut base: u64 = 24
        + p.plans
            .iter()
            .map(|pl| unit_cost(t, &p.units[pl.unit]))
            .sum::<u64>();
    let runner = |rng: &mut Rng| rng.below(a.runners as u64) as u32;
    for i in 0..n_reg + n_bulk {
        let (unit, role) = if i < n_reg - n_tar {
            (
                reg_idx[rng.below(reg_idx.len() as u64) as usize],
                Role::Registry,
            )
        } else if i < n_reg {
            (
                long_idx[rng.below(long_idx.len() as u64) as usize],
                Role::Tarball,
            )
        } else {
            (
                long_idx[rng.below(long_idx.len() as u64) as usize],
                Role::Bulk,
            )
        };
        base += unit_cost(t, &p.units[unit]);
        p.plans.push(Plan {
            start_us: rng.below(dur),
            unit,
            role,
            runner: runner(rng),
            copies: 0,
            dt_us: 0.0,
        });
    }
    // Bytes to add by lengthening: 75% of the file in bulk, the rest in tarballs (log-uniform
    // sizes over a 1:200 range, like npm tarballs).
    let extra = size.saturating_sub(base) as f64;
    if extra <= 0.0 {
        eprintln!("bench-gen: warning: --size is below the unlengthened flows ({base} bytes); nothing is lengthened");
    }
    let bulk_extra = (0.75 * size as f64).min(extra);
    let tar_extra = extra - bulk_extra;
    let first_bulk = p.plans.len() - n_bulk as usize;
    let first_tar = first_bulk - n_tar as usize;
    let tar_w: Vec<f64> = (0..n_tar)
        .map(|_| (rng.unit() * 200f64.ln()).exp())
        .collect();
    let bulk_w: Vec<f64> = (0..n_bulk).map(|_| rng.range(0.5, 1.5)).collect();
    let (tw, bw): (f64, f64) = (tar_w.iter().sum(), bulk_w.iter().sum());
    let mut used = base;
    for (k, pl) in p.plans[first_tar..].iter_mut().enumerate() {
        let f = &t.flows[conn_of(&p.units[pl.unit])];
        let share = if k < n_tar as usize {
            tar_extra * tar_w[k] / tw
        } else {
            bulk_extra * bulk_w[k - n_tar as usize] / bw
        };
        pl.copies = (share / block_cost(f)) as u64;
        used += lengthen_cost(f, pl.copies).0;
    }
    // Top up the first bulk download with what rounding left.
    if extra > 0.0 {
        let pl = &mut p.plans[first_bulk];
        let f = &t.flows[conn_of(&p.units[pl.unit])];
        let before = lengthen_cost(f, pl.copies).0;
        let room = size.saturating_sub(used) as f64;
        pl.copies += (room / block_cost(f)) as u64;
        while pl.copies > 0 && used - before + lengthen_cost(f, pl.copies).0 > size {
            pl.copies -= 1;
        }
    }
    // Timing: tarballs at 10-60 MB/s; bulk downloads spread over 30-80% of the window.
    for (k, pl) in p.plans[first_tar..].iter_mut().enumerate() {
        let f = &t.flows[conn_of(&p.units[pl.unit])];
        let l = f.lengthen.as_ref().unwrap();
        let segs = (pl.copies * l.block.len() as u64)
            .div_ceil(l.seg_len as u64)
            .max(1);
        let span = if k < n_tar as usize {
            segs as f64 * l.seg_len as f64 / rng.range(10.0, 60.0)
        } else {
            dur as f64 * rng.range(0.3, 0.8)
        };
        pl.dt_us = (span / segs as f64).max(2.0);
        let busy = (pl.dt_us * segs as f64) as u64 + f.pkts.last().unwrap().rel_us;
        pl.start_us = rng.below(dur.saturating_sub(busy).max(1));
    }
    Ok(p)
}

fn conn_of(u: &Unit) -> usize {
    u.flows[u.conn.unwrap()].0
}

fn plan_small(
    t: &Templates,
    size: u64,
    dur: u64,
    a: &Args,
    rng: &mut Rng,
) -> Result<Planned, GenError> {
    let mut p = Planned {
        units: Vec::new(),
        plans: Vec::new(),
        expected_alerts: None,
    };
    plan_c2(t, &mut p, rng, a.c2, dur, a.runners);
    let mut used: u64 = 24
        + p.plans
            .iter()
            .map(|pl| unit_cost(t, &p.units[pl.unit]))
            .sum::<u64>();
    // (role, weight, units)
    let mut classes: Vec<(Role, f64, Vec<usize>)> = Vec::new();
    let mut add = |p: &mut Planned, role: Role, w: f64, units: Vec<Unit>| {
        let first = p.units.len();
        p.units.extend(units);
        let idx: Vec<usize> = (first..p.units.len()).collect();
        if !idx.is_empty() {
            classes.push((role, w, idx));
        }
    };
    add(
        &mut p,
        Role::Registry,
        0.55,
        conn_units(t, Kind::Tls, REGISTRY),
    );
    add(
        &mut p,
        Role::RegistryHttp,
        0.10,
        conn_units(t, Kind::Http, REGISTRY),
    );
    add(
        &mut p,
        Role::Github,
        0.10,
        conn_units(t, Kind::Tls, "api.github.com"),
    );
    add(
        &mut p,
        Role::MirrorHttp,
        0.05,
        conn_units(t, Kind::Http, "mirror.example-cdn.net"),
    );
    let lookups: Vec<Unit> = t
        .flows
        .iter()
        .enumerate()
        .filter(|(_, f)| usable(f) && f.kind == Kind::DnsUdp && f.name.as_deref() == Some(REGISTRY))
        .map(|(i, f)| Unit {
            flows: vec![(i, 0)],
            conn: None,
            file: f.file,
        })
        .collect();
    add(&mut p, Role::Dns, 0.20, lookups);
    if classes.iter().all(|c| c.0 != Role::Registry) {
        return Err(GenError::Other(format!(
            "no usable TLS flow with SNI {REGISTRY} in the templates"
        )));
    }
    let total_w: f64 = classes.iter().map(|c| c.1).sum();
    let costs: Vec<u64> = p.units.iter().map(|u| unit_cost(t, u)).collect();
    while used < size {
        let mut x = rng.unit() * total_w;
        let class = classes
            .iter()
            .find(|c| {
                x -= c.1;
                x < 0.0
            })
            .unwrap_or(&classes[0]);
        let unit = class.2[rng.below(class.2.len() as u64) as usize];
        if used + costs[unit] > size && used > 0 {
            break;
        }
        used += costs[unit];
        p.plans.push(Plan {
            start_us: rng.below(dur),
            unit,
            role: class.0,
            runner: rng.below(a.runners as u64) as u32,
            copies: 0,
            dt_us: 0.0,
        });
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Writing.

struct PcapOut {
    w: BufWriter<File>,
    path: PathBuf,
    packets: u64,
    bytes: u64,
}

impl PcapOut {
    fn create(path: &Path) -> Result<Self, GenError> {
        let f = File::create(path).map_err(|e| file_err(path, e))?;
        let mut o = PcapOut {
            w: BufWriter::with_capacity(8 << 20, f),
            path: path.to_path_buf(),
            packets: 0,
            bytes: 24,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        o.w.write_all(&h).map_err(|e| file_err(path, e))?;
        Ok(o)
    }

    fn packet(&mut self, ts_us: u64, frame: &[u8]) -> Result<(), GenError> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        self.w.write_all(&h).map_err(|e| file_err(&self.path, e))?;
        self.w
            .write_all(frame)
            .map_err(|e| file_err(&self.path, e))?;
        self.packets += 1;
        self.bytes += 16 + frame.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<(u64, u64), GenError> {
        self.w.flush().map_err(|e| file_err(&self.path, e))?;
        Ok((self.packets, self.bytes))
    }
}

/// A runner's addresses: runner r is 10.77.(r / 250).(r % 250 + 2) and fd00:10:77:(r / 250)::(r % 250 + 2).
struct Runner {
    v4: [u8; 4],
    v6: [u8; 16],
    mac: [u8; 6],
    next_port: u16,
}

fn runner(r: u32, rng: &mut Rng) -> Runner {
    let hi = (r / 250) as u8;
    let lo = (r % 250 + 2) as u8;
    let mut v6 = [0u8; 16];
    v6[..6].copy_from_slice(&[0xfd, 0x00, 0x00, 0x10, 0x00, 0x77]);
    v6[7] = hi;
    v6[15] = lo;
    Runner {
        v4: [10, 77, hi, lo],
        v6,
        mac: [0x02, 0x42, 10, 77, hi, lo],
        next_port: PORT_LO + rng.below((PORT_HI - PORT_LO) as u64) as u16,
    }
}

impl Runner {
    fn port(&mut self, rng: &mut Rng) -> u16 {
        let p = self.next_port;
        let step = 1 + rng.below(4) as u16;
        self.next_port = if p > PORT_HI - step {
            PORT_LO
        } else {
            p + step
        };
        p
    }
}

/// One copied flow being written.
struct Active {
    flow: usize,
    base_us: u64,
    runner: u32,
    port: u16,
    cdelta: u32,
    sdelta: u32,
    id_delta: u16,
    /// Inserted bytes (E), segments, µs between them, µs the tail is delayed.
    ext_bytes: u64,
    ext_segs: u64,
    dt_us: f64,
    shift_us: u64,
    /// Next step: template packet i, or inserted packet j (data, data, ack, ...).
    cursor: Cursor,
    last_ts: u64,
}

#[derive(Clone, Copy)]
enum Cursor {
    Tpl(usize),
    Ins(u64),
    Done,
}

impl Active {
    fn n_ins(&self) -> u64 {
        self.ext_segs + self.ext_segs / 2
    }

    fn next_ts(&mut self, f: &Flow) -> Option<u64> {
        let rel = match self.cursor {
            Cursor::Done => return None,
            Cursor::Tpl(i) => {
                let after = f.lengthen.as_ref().is_some_and(|l| i > l.ins_idx);
                f.pkts[i].rel_us + if after { self.shift_us } else { 0 }
            }
            Cursor::Ins(j) => {
                let l = f.lengthen.as_ref().unwrap();
                let (g, r) = (j / 3, j % 3);
                let t = if r < 2 {
                    (2 * g + r + 1) as f64 * self.dt_us
                } else {
                    (2 * g + 2) as f64 * self.dt_us + self.dt_us / 2.0
                };
                f.pkts[l.ins_idx].rel_us + t as u64
            }
        };
        let ts = (self.base_us + rel).max(self.last_ts);
        self.last_ts = ts;
        Some(ts)
    }

    fn advance(&mut self, f: &Flow) {
        self.cursor = match self.cursor {
            Cursor::Tpl(i) => match &f.lengthen {
                Some(l) if i == l.ins_idx && self.ext_segs > 0 => Cursor::Ins(0),
                _ if i + 1 < f.pkts.len() => Cursor::Tpl(i + 1),
                _ => Cursor::Done,
            },
            Cursor::Ins(j) if j + 1 < self.n_ins() => Cursor::Ins(j + 1),
            Cursor::Ins(_) => {
                let i = f.lengthen.as_ref().unwrap().ins_idx + 1;
                if i < f.pkts.len() {
                    Cursor::Tpl(i)
                } else {
                    Cursor::Done
                }
            }
            Cursor::Done => Cursor::Done,
        };
    }

    /// Server sequence/ack value `x` of the template, in this copy.
    fn server_seq(&self, f: &Flow, x: u32, after_ins: bool) -> u32 {
        let mut v = x.wrapping_add(self.sdelta);
        if let (true, Some(l), Some(isn)) = (after_ins, &f.lengthen, f.server_isn) {
            let rel = x.wrapping_sub(isn);
            if rel >= l.ins_rel && rel < 1 << 31 {
                v = v.wrapping_add(self.ext_bytes as u32);
            }
        }
        v
    }

    /// Writes the current step's frame into `buf`.
    fn build(&self, f: &Flow, rn: &Runner, buf: &mut Vec<u8>) {
        buf.clear();
        match self.cursor {
            Cursor::Done => {}
            Cursor::Tpl(i) => {
                let p = &f.pkts[i];
                buf.extend_from_slice(&p.frame);
                readdress(buf, p, self, rn);
                if let Some(l4) = p.l4_off.filter(|_| p.proto == TCP) {
                    let after = f.lengthen.as_ref().is_some_and(|l| i > l.ins_idx);
                    let (seq, ack) = (be32(buf, l4 + 4), be32(buf, l4 + 8));
                    let (seq, ack) = if p.from_client {
                        (
                            seq.wrapping_add(self.cdelta),
                            self.server_seq(f, ack, after),
                        )
                    } else {
                        (
                            self.server_seq(f, seq, after),
                            ack.wrapping_add(self.cdelta),
                        )
                    };
                    put32(buf, l4 + 4, seq);
                    if p.flags & ACK != 0 {
                        put32(buf, l4 + 8, ack);
                    }
                    self.fix_sack(f, buf, l4, p.from_client, after);
                }
                checksums(buf, p);
            }
            Cursor::Ins(j) => {
                let l = f.lengthen.as_ref().unwrap();
                let isn = f.server_isn.unwrap();
                let client_seq = f
                    .client_isn
                    .wrapping_add(l.client_next_rel)
                    .wrapping_add(self.cdelta);
                let server_at = |bytes: u64| {
                    isn.wrapping_add(l.ins_rel)
                        .wrapping_add(bytes as u32)
                        .wrapping_add(self.sdelta)
                };
                let seg = l.seg_len as u64;
                let (g, r) = (j / 3, j % 3);
                if r < 2 {
                    let k = 2 * g + r;
                    let p = &f.pkts[l.data_pkt];
                    buf.extend_from_slice(&p.frame[..p.payload_off]);
                    let from = k * seg;
                    let to = (from + seg).min(self.ext_bytes);
                    let blen = l.block.len() as u64;
                    let mut at = from;
                    while at < to {
                        let o = (at % blen) as usize;
                        let n = ((to - at) as usize).min(l.block.len() - o);
                        buf.extend_from_slice(&l.block[o..o + n]);
                        at += n as u64;
                    }
                    set_ip_len(buf, p);
                    readdress(buf, p, self, rn);
                    let l4 = p.l4_off.unwrap();
                    if !p.v6 {
                        let id = be16(buf, p.ip_off + 4).wrapping_add(k as u16 + 1);
                        put16(buf, p.ip_off + 4, id);
                    }
                    put32(buf, l4 + 4, server_at(from));
                    put32(buf, l4 + 8, client_seq);
                    checksums(buf, p);
                } else {
                    let k = 2 * g + 1;
                    let p = &f.pkts[l.ack_pkt];
                    buf.extend_from_slice(&p.frame);
                    readdress(buf, p, self, rn);
                    let l4 = p.l4_off.unwrap();
                    put32(buf, l4 + 4, client_seq);
                    put32(buf, l4 + 8, server_at(((k + 1) * seg).min(self.ext_bytes)));
                    checksums(buf, p);
                }
            }
        }
    }

    /// Shifts SACK blocks (TCP option 5) like the ack field they accompany.
    fn fix_sack(&self, f: &Flow, buf: &mut [u8], l4: usize, from_client: bool, after: bool) {
        let hl = (buf[l4 + 12] >> 4) as usize * 4;
        let mut o = l4 + 20;
        let end = l4 + hl;
        while o < end {
            match buf[o] {
                0 => break,
                1 => o += 1,
                kind => {
                    let Some(&n) = buf.get(o + 1) else { break };
                    let n = n as usize;
                    if n < 2 || o + n > end {
                        break;
                    }
                    if kind == 5 {
                        let mut b = o + 2;
                        while b + 4 <= o + n {
                            let v = be32(buf, b);
                            let v = if from_client {
                                self.server_seq(f, v, after)
                            } else {
                                v.wrapping_add(self.cdelta)
                            };
                            put32(buf, b, v);
                            b += 4;
                        }
                    }
                    o += n;
                }
            }
        }
    }
}

/// The client side moves to the runner: MAC, address, port; IPv4 ID shifted.
fn readdress(buf: &mut [u8], p: &Pkt, a: &Active, rn: &Runner) {
    let (mac_at, addr_at) = if p.from_client {
        (6, if p.v6 { 8 } else { 12 })
    } else {
        (0, if p.v6 { 24 } else { 16 })
    };
    buf[mac_at..mac_at + 6].copy_from_slice(&rn.mac);
    let ip = p.ip_off;
    if p.v6 {
        buf[ip + addr_at..ip + addr_at + 16].copy_from_slice(&rn.v6);
    } else {
        buf[ip + addr_at..ip + addr_at + 4].copy_from_slice(&rn.v4);
        let id = be16(buf, ip + 4).wrapping_add(a.id_delta);
        put16(buf, ip + 4, id);
    }
    if let Some(l4) = p.l4_off {
        put16(buf, l4 + if p.from_client { 0 } else { 2 }, a.port);
    }
}

/// IP length fields for a frame built as headers + a new payload (no trailing bytes).
fn set_ip_len(buf: &mut [u8], p: &Pkt) {
    let ip = p.ip_off;
    if p.v6 {
        put16(buf, ip + 4, (buf.len() - ip - 40) as u16);
    } else {
        put16(buf, ip + 2, (buf.len() - ip) as u16);
    }
}

/// IPv4 header checksum and the TCP/UDP checksum, computed from scratch.
fn checksums(buf: &mut [u8], p: &Pkt) {
    let ip = p.ip_off;
    let ip_end;
    let mut pseudo;
    if p.v6 {
        ip_end = ip + 40 + be16(buf, ip + 4) as usize;
        pseudo = csum_add(0, &buf[ip + 8..ip + 40]);
    } else {
        let ihl = ip_hdr_len(buf, ip);
        ip_end = ip + be16(buf, ip + 2) as usize;
        put16(buf, ip + 10, 0);
        let c = !csum_fold(csum_add(0, &buf[ip..ip + ihl]));
        put16(buf, ip + 10, c);
        pseudo = csum_add(0, &buf[ip + 12..ip + 20]);
    }
    let Some(l4) = p.l4_off else { return };
    let at = l4 + if p.proto == TCP { 16 } else { 6 };
    if p.proto == UDP && !p.v6 && be16(buf, at) == 0 {
        return; // IPv4 UDP without checksum stays without
    }
    put16(buf, at, 0);
    let (l4_len, sum) = match p.frag_sum {
        Some((len, payload)) => (len, csum_add(payload, &buf[l4..p.payload_off])),
        None => ((ip_end - l4) as u32, csum_add(0, &buf[l4..ip_end])),
    };
    pseudo += p.proto as u64 + l4_len as u64;
    let mut c = !csum_fold(pseudo + sum);
    if c == 0 && p.proto == UDP {
        c = 0xffff;
    }
    put16(buf, at, c);
}

#[derive(Default)]
struct Stats {
    roles: BTreeMap<&'static str, u64>,
    kinds: BTreeMap<&'static str, u64>,
    first_ts: Option<u64>,
    last_ts: u64,
}

fn write_mix(
    t: &Templates,
    p: &Planned,
    out: &mut PcapOut,
    rng: &mut Rng,
    runners: u32,
) -> Result<Stats, GenError> {
    let mut plans: Vec<&Plan> = p.plans.iter().collect();
    plans.sort_by_key(|pl| pl.start_us);
    let mut rn: Vec<Runner> = (0..runners).map(|r| runner(r, rng)).collect();
    let mut slots: Vec<Active> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut heap: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut stats = Stats::default();
    let mut buf = Vec::with_capacity(65536);
    let mut next_plan = 0;
    loop {
        let top = heap.peek().map(|r| r.0 .0);
        if next_plan < plans.len() && top.is_none_or(|t| EPOCH_US + plans[next_plan].start_us <= t)
        {
            let pl = plans[next_plan];
            next_plan += 1;
            let u = &p.units[pl.unit];
            for (pos, &(fi, off)) in u.flows.iter().enumerate() {
                let f = &t.flows[fi];
                let is_conn = u.conn == Some(pos);
                let role = if pl.role == Role::C2 {
                    Role::C2
                } else if is_conn || !f.kind.is_dns() {
                    pl.role
                } else {
                    Role::Dns
                };
                *stats.roles.entry(role.name()).or_default() += 1;
                *stats.kinds.entry(f.kind.name()).or_default() += 1;
                let (ext_bytes, ext_segs) = match (&f.lengthen, is_conn && pl.copies > 0) {
                    (Some(l), true) => {
                        let e = pl.copies * l.block.len() as u64;
                        (e, e.div_ceil(l.seg_len as u64))
                    }
                    _ => (0, 0),
                };
                let r = &mut rn[pl.runner as usize];
                let mut a = Active {
                    flow: fi,
                    base_us: EPOCH_US + pl.start_us + off,
                    runner: pl.runner,
                    port: r.port(rng),
                    cdelta: rng.next_u64() as u32,
                    sdelta: rng.next_u64() as u32,
                    id_delta: rng.next_u64() as u16,
                    ext_bytes,
                    ext_segs,
                    dt_us: pl.dt_us,
                    shift_us: if ext_segs > 0 {
                        ((ext_segs as f64 + 0.5) * pl.dt_us) as u64 + 1
                    } else {
                        0
                    },
                    cursor: Cursor::Tpl(0),
                    last_ts: 0,
                };
                if let Some(ts) = a.next_ts(f) {
                    let slot = free.pop().unwrap_or(slots.len());
                    if slot == slots.len() {
                        slots.push(a);
                    } else {
                        slots[slot] = a;
                    }
                    heap.push(Reverse((ts, order, slot)));
                    order += 1;
                }
            }
            continue;
        }
        let Some(Reverse((ts, _, slot))) = heap.pop() else {
            break;
        };
        let a = &mut slots[slot];
        let f = &t.flows[a.flow];
        a.build(f, &rn[a.runner as usize], &mut buf);
        out.packet(ts, &buf)?;
        stats.first_ts.get_or_insert(ts);
        stats.last_ts = ts;
        a.advance(f);
        match a.next_ts(f) {
            Some(next) => {
                heap.push(Reverse((next, order, slot)));
                order += 1;
            }
            None => free.push(slot),
        }
    }
    Ok(stats)
}

fn write_synflood(n: u64, dur_us: u64, out: &mut PcapOut, rng: &mut Rng) -> Result<(), GenError> {
    use etherparse::{PacketBuilder, TcpOptionElement as O};
    const ADDRS: u64 = 65534; // 10.77.0.1 .. 10.77.255.254
    const MIX: u64 = 40_503; // coprime to 65534: a permutation of the addresses
    let per_addr_ports = n.div_ceil(ADDRS);
    if per_addr_ports > (PORT_HI - PORT_LO) as u64 {
        return Err(GenError::Other(format!(
            "--flows {n}: more than 10.77.0.0/16 has distinct address/port pairs for"
        )));
    }
    let gw_mac = [0x02, 0x00, 0xc0, 0x00, 0x02, 0x01];
    let base_port = PORT_LO + rng.below((PORT_HI - PORT_LO) as u64 - per_addr_ports) as u16;
    let offset = rng.below(ADDRS);
    let mut buf = Vec::with_capacity(128);
    for i in 0..n {
        let a = 1 + ((i % ADDRS) * MIX + offset) % ADDRS;
        let src = [10, 77, (a >> 8) as u8, a as u8];
        let sport = base_port + (i / ADDRS) as u16;
        let h = rng.next_u64();
        let dst = [203, 0, 113, 1 + (h % 254) as u8];
        let ts = EPOCH_US + i * dur_us / n.max(1);
        let tsval = (h >> 32) as u32;
        buf.clear();
        PacketBuilder::ethernet2([0x02, 0x42, 10, 77, src[2], src[3]], gw_mac)
            .ipv4(src, dst, 64)
            .tcp(sport, 443, (h >> 8) as u32, 64240)
            .syn()
            .options(&[
                O::MaximumSegmentSize(1460),
                O::SelectiveAcknowledgementPermitted,
                O::Timestamp(tsval, 0),
                O::Noop,
                O::WindowScale(10),
            ])
            .map_err(|e| GenError::Other(format!("building a SYN: {e}")))?
            .write(&mut buf, &[])
            .map_err(|e| GenError::Other(format!("building a SYN: {e}")))?;
        out.packet(ts, &buf)?;
    }
    Ok(())
}

fn run(a: &Args) -> Result<String, GenError> {
    let started = Instant::now();
    let mut rng = Rng(a.seed ^ 0x6567_7265_7373_2d69);
    let dur_s = a
        .duration
        .unwrap_or(if a.mix == Mix::Synflood { 5.0 } else { 120.0 });
    if dur_s.is_nan() || dur_s <= 0.0 || dur_s >= 1e6 {
        return Err(GenError::Other(format!(
            "--duration {dur_s}: must be positive"
        )));
    }
    let dur = (dur_s * 1e6) as u64;
    let mix = format!("{:?}", a.mix).to_lowercase();
    if a.mix == Mix::Synflood {
        if a.size.is_some() {
            return Err(GenError::Other(
                "--size does not apply to synflood (use --flows)".into(),
            ));
        }
        let mut out = PcapOut::create(&a.out)?;
        write_synflood(a.flows, dur, &mut out, &mut rng)?;
        let (packets, bytes) = out.finish()?;
        return Ok(format!(
            "bench-gen: {mix} -> {}: {packets} packets, {bytes} bytes ({:.1} MiB) in {:.2} s; flows: syn {packets} from 10.77.0.0/16 to 203.0.113.0/24:443 over {dur_s} s of packet time",
            a.out.display(),
            bytes as f64 / MIB as f64,
            started.elapsed().as_secs_f64()
        ));
    }
    let dir = a
        .templates
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps"));
    let t = load_templates(&dir)?;
    for f in t.flows.iter().filter(|f| f.unusable.is_some()) {
        eprintln!(
            "bench-gen: warning: {}: a flow is not used as a template: {}",
            t.files[f.file].path.display(),
            f.unusable.unwrap()
        );
    }
    let size = a
        .size
        .unwrap_or(if a.mix == Mix::Npm { GIB } else { 256 * MIB });
    let plan = match a.mix {
        Mix::Npm => plan_npm(&t, size, dur, a, &mut rng)?,
        _ => plan_small(&t, size, dur, a, &mut rng)?,
    };
    let mut out = PcapOut::create(&a.out)?;
    let stats = write_mix(&t, &plan, &mut out, &mut rng, a.runners)?;
    let (packets, bytes) = out.finish()?;
    let join = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let span = stats.last_ts - stats.first_ts.unwrap_or(stats.last_ts);
    Ok(format!(
        "bench-gen: {mix} -> {}: {packets} packets, {bytes} bytes ({:.1} MiB) in {:.2} s; {:.1} s of packet time, {} runners; flows: {}; cloned template flows: {}; expected alerts: {}; template packets in no flow: {}",
        a.out.display(),
        bytes as f64 / MIB as f64,
        started.elapsed().as_secs_f64(),
        span as f64 / 1e6,
        a.runners,
        join(&stats.roles),
        join(&stats.kinds),
        plan.expected_alerts.map_or("unknown".into(), |n| n.to_string()),
        t.ignored_packets,
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(summary) => {
            eprintln!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-gen: error: {e}");
            ExitCode::from(2)
        }
    }
}
