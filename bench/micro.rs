//! Criterion micro-benchmarks of the per-packet hot paths (issue item 7):
//!
//! * `tls`: ClientHello decode (`parse_client_hello_message`; JA3 and JA4 are computed on first
//!   use), decode plus the EVE `tls` object as a value tree (`eve`, fingerprints included) and
//!   written directly (`eve_json`, what the engine logs), and the record walk `next_step`;
//! * `dns`: `dns::parse_message` and `DnsMessage::eve` on a query, a one-answer response and a
//!   68-answer response;
//! * `domain_set`: `DomainSet` lookups (hit, miss, deep subdomain) on the built-in IOC list and
//!   on the same list plus 10,000 generated names;
//! * `ip_set`: `IpSet` longest-prefix lookups, IPv4 and IPv6, hit and miss, in a set of 10,000
//!   IPv4 plus 10,000 IPv6 prefixes;
//! * `flow` / `flow_100k`: `FlowTable::lookup_or_create` on an existing flow, and batches of
//!   100,000 inserts and 100,000 lookups;
//! * `eve`: `serde_json::to_writer` of a realistic `alert` event (alert + tls objects) into a
//!   reused buffer.
//!
//! The TLS and DNS inputs are real bytes read at start from the repository's captures
//! (`pcaps/ioc-sni.pcap`, `pcaps/dns-ioc-udp-tcp.pcap`, `pcaps/dns-fragmented-answer.pcap`) with
//! pcap-parser and etherparse; every input is checked before it is timed, so a regenerated capture
//! that no longer fits fails loudly instead of timing something else.
//!
//! `cargo bench --bench micro` takes about a minute; `cargo test --all-targets` runs each
//! benchmark once as a smoke test. Filter as usual: `cargo bench --bench micro -- dns`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use egress_ids::detect::cidr::IpSet;
use egress_ids::detect::signatures::Signatures;
use egress_ids::detect::{Detector, HelloFacts, HelloTransport};
use egress_ids::eve::Object;
use egress_ids::eve::{Event, EventType};
use egress_ids::flow::{FlowTable, Timeouts};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use pcap_parser::{Linktype, PcapCapture};
use proto::decode::{Packet, Proto, TcpMeta};
use proto::Timestamp;
use proto::{dns, tls};
use std::collections::HashSet;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Inputs from the captures
// ---------------------------------------------------------------------------------------------

/// The Ethernet frames of `pcaps/<name>`, owned.
fn frames(name: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pcaps")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cap = PcapCapture::from_file(&bytes)
        .unwrap_or_else(|e| panic!("{}: not a pcap file: {e:?}", path.display()));
    assert_eq!(
        cap.header.network,
        Linktype::ETHERNET,
        "{}: expected Ethernet frames",
        path.display()
    );
    cap.blocks.iter().map(|b| b.data.to_vec()).collect()
}

/// One TCP or UDP packet of a capture: endpoints and payload.
struct Segment<'a> {
    tcp: bool,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    payload: &'a [u8],
}

/// The TCP/UDP packet in an Ethernet frame (unfragmented IPv4 or IPv6), if any.
fn segment(frame: &[u8]) -> Option<Segment<'_>> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let (src, dst) = match p.net.as_ref()? {
        NetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        NetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
        ),
        NetSlice::Arp(_) => return None,
    };
    let (tcp, sport, dport, payload) = match p.transport? {
        TransportSlice::Tcp(t) => (true, t.source_port(), t.destination_port(), t.payload()),
        TransportSlice::Udp(u) => (false, u.source_port(), u.destination_port(), u.payload()),
        _ => return None,
    };
    Some(Segment {
        tcp,
        src: (src, sport),
        dst: (dst, dport),
        payload,
    })
}

/// A real ClientHello: the whole TLS record and where it went.
struct HelloSample {
    record: Vec<u8>,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
}

impl HelloSample {
    /// The handshake message inside the record (what `parse_client_hello_message` takes).
    fn message(&self) -> &[u8] {
        &self.record[5..]
    }
}

/// curl's ClientHello to the IOC name `pkg-validate.net` in `pcaps/ioc-sni.pcap`: one TCP
/// segment holding exactly one handshake record.
fn curl_client_hello() -> HelloSample {
    let frames = frames("ioc-sni.pcap");
    let seg = frames
        .iter()
        .filter_map(|f| segment(f))
        .find(|s| s.tcp && s.payload.len() > 5 && s.payload[0] == 0x16 && s.payload[5] == 1)
        .expect("ioc-sni.pcap: no TCP segment starts with a ClientHello record");
    let record = seg.payload.to_vec();
    let record_len = 5 + usize::from(u16::from_be_bytes([record[3], record[4]]));
    assert_eq!(
        record.len(),
        record_len,
        "ioc-sni.pcap: the ClientHello segment is not exactly one TLS record"
    );
    let sample = HelloSample {
        record,
        client: seg.src,
        server: seg.dst,
    };
    assert_eq!(tls::probe(&sample.record), tls::Probe::Match);
    match tls::next_step(&sample.record) {
        tls::Step::Hello(h, used) => {
            assert_eq!(used, sample.record.len());
            assert_eq!(h.sni.as_deref(), Some("pkg-validate.net"));
        }
        other => panic!("ioc-sni.pcap: next_step on the ClientHello gave {other:?}"),
    }
    sample
}

/// The first UDP DNS query and the first UDP DNS response of `pcaps/dns-ioc-udp-tcp.pcap`
/// (dig, with an EDNS OPT record; the response has one A record).
fn dns_query_and_response() -> (Vec<u8>, Vec<u8>) {
    let frames = frames("dns-ioc-udp-tcp.pcap");
    let udp = || frames.iter().filter_map(|f| segment(f)).filter(|s| !s.tcp);
    let query = udp()
        .find(|s| s.dst.1 == 53)
        .expect("dns-ioc-udp-tcp.pcap: no UDP DNS query")
        .payload
        .to_vec();
    let response = udp()
        .find(|s| s.src.1 == 53)
        .expect("dns-ioc-udp-tcp.pcap: no UDP DNS response")
        .payload
        .to_vec();
    (query, response)
}

/// The DNS response of `pcaps/dns-fragmented-answer.pcap` (68 A records, one UDP datagram in
/// several IPv4 fragments), reassembled here by fragment offset.
fn dns_response_68a() -> Vec<u8> {
    let frames = frames("dns-fragmented-answer.pcap");
    let mut id = None;
    let mut parts: Vec<(usize, &[u8])> = Vec::new();
    let mut total = None;
    for frame in &frames {
        let Ok(p) = SlicedPacket::from_ethernet(frame) else {
            continue;
        };
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            continue;
        };
        let h = ip.header();
        if !ip.is_payload_fragmented() || id.is_some_and(|id| id != h.identification()) {
            continue;
        }
        id = Some(h.identification());
        let offset = usize::from(h.fragments_offset().byte_offset());
        let data = ip.payload().payload;
        if !h.more_fragments() {
            total = Some(offset + data.len());
        }
        parts.push((offset, data));
    }
    let total = total.expect("dns-fragmented-answer.pcap: no last IPv4 fragment");
    let mut datagram = vec![0u8; total];
    let mut covered = 0;
    for (offset, data) in parts {
        datagram[offset..offset + data.len()].copy_from_slice(data);
        covered += data.len();
    }
    assert_eq!(
        covered, total,
        "dns-fragmented-answer.pcap: fragments missing or overlapping"
    );
    assert_eq!(
        u16::from_be_bytes([datagram[0], datagram[1]]),
        53,
        "dns-fragmented-answer.pcap: the fragmented datagram is not from UDP port 53"
    );
    datagram.split_off(8)
}

// ---------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------

fn bench_tls(c: &mut Criterion) {
    let hello = curl_client_hello();
    let msg = hello.message();
    let mut g = c.benchmark_group("tls");
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.bench_function("parse_client_hello", |b| {
        b.iter(|| tls::parse_client_hello_message(black_box(msg)))
    });
    g.bench_function("parse_client_hello+eve", |b| {
        b.iter(|| {
            let h = tls::parse_client_hello_message(black_box(msg)).expect("valid hello");
            h.eve()
        })
    });
    g.bench_function("parse_client_hello+eve_json", |b| {
        b.iter(|| {
            let h = tls::parse_client_hello_message(black_box(msg)).expect("valid hello");
            h.eve_json()
        })
    });
    g.throughput(Throughput::Bytes(hello.record.len() as u64));
    g.bench_function("next_step_record", |b| {
        b.iter(|| tls::next_step(black_box(&hello.record)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// DNS
// ---------------------------------------------------------------------------------------------

fn bench_dns(c: &mut Criterion) {
    let (query, response) = dns_query_and_response();
    let response_68a = dns_response_68a();
    let check = |name: &str, bytes: &[u8], is_response: bool, answers: usize| {
        let m = dns::parse_message(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.is_response, is_response, "{name}");
        assert_eq!(m.answers.len(), answers, "{name}: answer count");
        assert_eq!(m.damaged, None, "{name}");
    };
    check("query", &query, false, 0);
    check("response", &response, true, 1);
    check("response_68a", &response_68a, true, 68);

    let mut g = c.benchmark_group("dns");
    let cases: [(&str, &[u8]); 3] = [
        ("query", &query),
        ("response", &response),
        ("response_68a", &response_68a),
    ];
    for (name, bytes) in cases {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("parse", name), bytes, |b, bytes| {
            b.iter(|| dns::parse_message(black_box(bytes)))
        });
    }
    for (name, bytes) in [cases[0], cases[2]] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("parse+eve", name), bytes, |b, bytes| {
            b.iter(|| {
                let m = dns::parse_message(black_box(bytes)).expect("valid message");
                m.eve(0)
            })
        });
        g.bench_with_input(
            BenchmarkId::new("parse+eve_json", name),
            bytes,
            |b, bytes| {
                b.iter(|| {
                    let m = dns::parse_message(black_box(bytes)).expect("valid message");
                    m.eve_json(0)
                })
            },
        );
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Domain sets
// ---------------------------------------------------------------------------------------------

fn bench_domain_set(c: &mut Criterion) {
    let builtin = Signatures::builtin().ioc_domains;
    let mut large = builtin.clone();
    for i in 0..10_000 {
        large.insert(&format!("c2-{i:05}.ioc-feed-{:02}.net", i % 100));
    }
    assert_eq!(large.len(), builtin.len() + 10_000);
    // A listed name, a benign registry name (the common case: most lookups miss), and a name
    // nine labels deep under a listed one (one hash probe per label suffix).
    let cases = [
        ("hit", "pkg-validate.net", true),
        ("miss", "registry.npmjs.org", false),
        (
            "deep_subdomain",
            "a1.b2.c3.d4.e5.f6.g7.cdn.pkg-validate.net",
            true,
        ),
    ];
    let mut g = c.benchmark_group("domain_set");
    for set in [&builtin, &large] {
        for (case, name, hit) in cases {
            assert_eq!(set.contains(name), hit, "{case}: {name}");
            g.bench_with_input(BenchmarkId::new(case, set.len()), name, |b, name| {
                b.iter(|| set.matching_entry(black_box(name)))
            });
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// IP sets
// ---------------------------------------------------------------------------------------------

/// SplitMix64: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A random IPv4 address in 1.0.0.0-126.255.255.255 (where the generated prefixes are).
fn random_v4(rng: &mut Rng) -> Ipv4Addr {
    let r = rng.next() as u32;
    Ipv4Addr::from(((1 + (r >> 24) % 126) << 24) | (r & 0x00ff_ffff))
}

/// A random IPv6 address in 2400::/8 (where the generated prefixes are).
fn random_v6(rng: &mut Rng) -> Ipv6Addr {
    let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
    Ipv6Addr::from((0x24u128 << 120) | (r >> 8))
}

fn bench_ip_set(c: &mut Criterion) {
    const PER_FAMILY: usize = 10_000;
    let mut rng = Rng(0x5eed_1d5e);
    // IOC feeds are mostly single hosts with some networks: IPv4 80% /32, 15% /24, 5% /16;
    // IPv6 60% /128, 25% /64, 10% /48, 5% /32.
    let mut v4 = Vec::with_capacity(PER_FAMILY);
    let mut seen = HashSet::new();
    while v4.len() < PER_FAMILY {
        let len = match rng.next() % 20 {
            0 => 16,
            1..=3 => 24,
            _ => 32,
        };
        let net = Ipv4Net::new(random_v4(&mut rng), len).expect("valid length");
        if seen.insert(IpNet::V4(net.trunc())) {
            v4.push(net.trunc());
        }
    }
    let mut v6 = Vec::with_capacity(PER_FAMILY);
    while v6.len() < PER_FAMILY {
        let len = match rng.next() % 20 {
            0 => 32,
            1 | 2 => 48,
            3..=7 => 64,
            _ => 128,
        };
        let net = Ipv6Net::new(random_v6(&mut rng), len).expect("valid length");
        if seen.insert(IpNet::V6(net.trunc())) {
            v6.push(net.trunc());
        }
    }
    let set = IpSet::from_nets(
        v4.iter()
            .copied()
            .map(IpNet::V4)
            .chain(v6.iter().copied().map(IpNet::V6)),
    );
    // Hits: a listed host (longest match, /32 or /128). Misses: an address in the same dense
    // range that no prefix covers.
    let v4_hit = IpAddr::V4(v4.iter().find(|n| n.prefix_len() == 32).unwrap().addr());
    let v6_hit = IpAddr::V6(v6.iter().find(|n| n.prefix_len() == 128).unwrap().addr());
    let v4_miss = std::iter::repeat_with(|| IpAddr::V4(random_v4(&mut rng)))
        .find(|ip| !set.contains(*ip))
        .unwrap();
    let v6_miss = std::iter::repeat_with(|| IpAddr::V6(random_v6(&mut rng)))
        .find(|ip| !set.contains(*ip))
        .unwrap();
    assert!(set.contains(v4_hit) && set.contains(v6_hit));
    assert_eq!(set.len(), 2 * PER_FAMILY);

    let mut g = c.benchmark_group("ip_set");
    let size = set.len();
    for (case, ip) in [
        ("v4_hit", v4_hit),
        ("v4_miss", v4_miss),
        ("v6_hit", v6_hit),
        ("v6_miss", v6_miss),
    ] {
        g.bench_with_input(BenchmarkId::new(case, size), &ip, |b, ip| {
            b.iter(|| set.matching_prefix(black_box(*ip)))
        });
    }
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Flow table
// ---------------------------------------------------------------------------------------------

/// Flows in the batch benchmarks.
const FLOWS: u32 = 100_000;
/// Wire length of a minimal TCP packet (Ethernet + IPv4 + TCP with options), for the counters.
const WIRE_LEN: u64 = 74;

/// `n` packets of `n` distinct TCP flows from 10.0.0.0/8 clients to one HTTPS server; SYNs, or
/// ACKs of the same flows.
fn flow_packets(n: u32, syn: bool) -> Vec<Packet<'static>> {
    let server = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
    (0..n)
        .map(|i| Packet {
            src: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)),
            dst: server,
            src_port: 32768 + (i % 28_000) as u16,
            dst_port: 443,
            proto: Proto::Tcp,
            tcp: Some(TcpMeta {
                seq: i,
                ack: if syn { 0 } else { 1 },
                syn,
                ack_flag: !syn,
                fin: false,
                rst: false,
                urg: false,
                urg_ptr: 0,
            }),
            payload: &[],
            vlans: proto::decode::Vlans::NONE,
            ip_header: &[],
            l4: &[],
            tunnel: None,
        })
        .collect()
}

fn filled_table(ts: Timestamp, pkts: &[Packet<'_>]) -> FlowTable<()> {
    let mut table = FlowTable::new(Timeouts::default());
    for p in pkts {
        let _ = table.lookup_or_create(ts, p, WIRE_LEN, || ());
    }
    table
}

fn bench_flow(c: &mut Criterion) {
    let ts = Timestamp::from_parts(1_774_958_400, 0, 1);
    let syns = flow_packets(FLOWS, true);
    let acks = flow_packets(FLOWS, false);

    // One packet of a flow that exists, in a table of 100k flows (cache-hot: the same flow
    // every time, as within a burst).
    let mut table = filled_table(ts, &syns);
    let mut g = c.benchmark_group("flow");
    let pkt = acks[FLOWS as usize / 2];
    g.bench_function("lookup_existing", |b| {
        b.iter(|| {
            let _ = black_box(table.lookup_or_create(ts, black_box(&pkt), WIRE_LEN, || ()));
        })
    });
    g.finish();

    let mut g = c.benchmark_group("flow_100k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(FLOWS)));
    // 100k new flows into an empty table (growth included).
    g.bench_function("insert", |b| {
        b.iter_batched(
            || FlowTable::<()>::new(Timeouts::default()),
            |mut table| {
                for p in &syns {
                    let _ = black_box(table.lookup_or_create(ts, p, WIRE_LEN, || ()));
                }
                table
            },
            BatchSize::PerIteration,
        )
    });
    // One packet of each of the 100k existing flows, in creation order (cache-cold).
    g.bench_function("lookup_existing", |b| {
        b.iter(|| {
            for p in &acks {
                let _ = black_box(table.lookup_or_create(ts, p, WIRE_LEN, || ()));
            }
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// EVE output
// ---------------------------------------------------------------------------------------------

fn bench_eve(c: &mut Criterion) {
    let sample = curl_client_hello();
    let hello = tls::parse_client_hello_message(sample.message()).expect("valid hello");
    let detector = Detector::new(Signatures::builtin(), Detector::default_home_net());
    let scope = detector.scope(sample.client.0, sample.server.0);
    let hit = detector
        .on_client_hello(
            scope,
            &HelloFacts {
                client: sample.client.0,
                server: sample.server.0,
                server_port: sample.server.1,
                transport: HelloTransport::Tcp,
                sni: hello.sni.as_deref(),
                other_names: &hello.other_names,
                alpns: hello.alpns(),
                ech_config: None,
            },
        )
        .into_iter()
        .next()
        .expect("the IOC SNI of ioc-sni.pcap raises an alert");
    // The alert the engine writes for this hello (see engine::context::Ctx::alert).
    let mut event = Event {
        timestamp: Timestamp::from_parts(1_774_958_400, 202_229, 1_000_000),
        flow_id: 1_234_567_890_123_456,
        pcap_cnt: Some(6),
        event_type: EventType::Alert,
        vlans: proto::decode::Vlans::NONE,
        src_ip: sample.client.0,
        src_port: sample.client.1,
        dest_ip: sample.server.0,
        dest_port: sample.server.1,
        proto: "TCP",
        direction: Some("to_server"),
        app_proto: Some("tls"),
        app_proto_orig: None,
        objects: Vec::new(),
        tunnel: proto::decode::Tunnel::NONE,
    };
    event
        .objects
        .push((EventType::Alert, Event::alert_object(&hit)));
    event
        .objects
        .push((EventType::Tls, Object::Json(hello.eve())));

    let mut buf = Vec::with_capacity(4096);
    event.write_json(&mut buf);
    let mut g = c.benchmark_group("eve");
    g.throughput(Throughput::Bytes(buf.len() as u64));
    g.bench_function("serialize_alert_tls", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&event).write_json(&mut buf);
            buf.len()
        })
    });
    g.finish();
}

criterion_group! {
    name = micro;
    // Short runs (about a minute in all on 2 cores); 10k bootstrap resamples instead of 100k
    // keep the analysis between benchmarks quick.
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .nresamples(10_000);
    targets = bench_tls, bench_dns, bench_domain_set, bench_ip_set, bench_flow, bench_eve
}
criterion_main!(micro);
