//! Helpers shared by the integration tests: run the real binary, read its EVE output and validate
//! every line against Suricata's EVE schema (read from ../shared/corpus, never copied here).

#![allow(dead_code)]

pub mod live;
pub mod netns;
pub mod runner;
pub mod sensor;
pub mod webhook;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` next to the checkout, when present.
pub fn shared() -> Option<PathBuf> {
    let dir = root().join("../shared");
    if dir.join("corpus/eve-schema.json").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "../shared is absent (looked in {}); the tests that need it are skipped",
        dir.display()
    );
    // In CI ../shared is always beside the clone: its absence is a setup error there.
    assert!(
        std::env::var("CI").map(|v| v != "true").unwrap_or(true),
        "{msg}"
    );
    eprintln!("NOTE: {msg}");
    None
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs `egress-ids` with `args`.
pub fn egress_ids(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_egress-ids"))
        .args(args)
        .output()
        .expect("run egress-ids")
}

/// Result of a replay: exit code, stderr, and the EVE events (each validated against the schema).
pub struct Replay {
    pub code: i32,
    pub stderr: String,
    pub events: Vec<Value>,
}

impl Replay {
    /// Events of one type.
    pub fn of_type(&self, t: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["event_type"] == t)
            .collect()
    }
}

/// Replays `pcaps` with extra `args` into a scratch EVE file and validates its lines.
pub fn replay(name: &str, pcaps: &[&Path], args: &[&str]) -> Replay {
    let dir = scratch(name);
    let eve = dir.join("eve.json");
    let mut all: Vec<String> = vec!["replay".into(), "--eve".into(), eve.display().to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(pcaps.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    let out = egress_ids(&refs);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "replay of {pcaps:?} exited {code}: {stderr}"
    );
    let text = std::fs::read_to_string(&eve).unwrap_or_default();
    let events = parse_and_validate(&text, &format!("{pcaps:?}"));
    Replay {
        code,
        stderr,
        events,
    }
}

/// Parses EVE lines and validates each against the schema (when ../shared is present).
pub fn parse_and_validate(text: &str, what: &str) -> Vec<Value> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{what}: EVE line {} is not JSON ({e}): {line}", i + 1));
        if let Some(validator) = schema() {
            let errors: Vec<String> = validator
                .iter_errors(&v)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{what}: EVE line {} fails the schema: {errors:?}\n{line}",
                i + 1
            );
        }
        events.push(v);
    }
    events
}

fn schema() -> Option<&'static jsonschema::Validator> {
    static SCHEMA: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let path = shared()?.join("corpus/eve-schema.json");
            let text = std::fs::read_to_string(&path).expect("read eve-schema.json");
            let mut json: Value = serde_json::from_str(&text).expect("schema is JSON");
            // egress-ids' documented extensions (the `ech` and `svcb` objects) are part of it.
            let ext = root().join("docs/eve-extensions.schema.json");
            let ext: Value =
                serde_json::from_str(&std::fs::read_to_string(&ext).expect("read extensions"))
                    .expect("extensions schema is JSON");
            merge_schema(&mut json, &ext);
            Some(jsonschema::validator_for(&json).expect("schema compiles"))
        })
        .as_ref()
}

/// Deep-merges `ext` into `base`: objects key by key, anything else replaced.
pub fn merge_schema(base: &mut Value, ext: &Value) {
    match (base, ext) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                if k == "$comment" {
                    continue;
                }
                merge_schema(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e.clone(),
    }
}

/// Alerts as comparable rows: `detection<TAB>indicator<TAB>src_ip<TAB>dest_ip<TAB>dest_port`, sorted,
/// addresses in their canonical short form.
pub fn alert_rows(events: &[Value]) -> Vec<String> {
    let mut rows: Vec<String> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                e["alert"]["metadata"]["detection"][0]
                    .as_str()
                    .unwrap_or("?"),
                e["alert"]["metadata"]["indicator"][0]
                    .as_str()
                    .unwrap_or("?"),
                canon_ip(e["src_ip"].as_str().unwrap_or("")),
                canon_ip(e["dest_ip"].as_str().unwrap_or("")),
                e["dest_port"]
            )
        })
        .collect();
    rows.sort();
    rows
}

/// An address in its canonical short form ("2001:0db8:0000:..." becomes "2001:db8::...").
pub fn canon_ip(s: &str) -> String {
    s.parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .unwrap_or_else(|_| s.to_owned())
}

/// One pcap record: seconds, microseconds, captured bytes, original length.
pub type Record = (u32, u32, Vec<u8>, u32);

/// Writes a classic little-endian pcap with microsecond timestamps.
pub fn write_pcap(path: &Path, linktype: u32, records: &[Record]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262144u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    for (sec, usec, data, orig) in records {
        out.extend_from_slice(&sec.to_le_bytes());
        out.extend_from_slice(&usec.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&orig.to_le_bytes());
        out.extend_from_slice(data);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// A DNS query message (recursion desired): `name` A IN, with transaction `id`.
pub fn dns_a_query(id: u16, name: &str) -> Vec<u8> {
    let mut dns = id.to_be_bytes().to_vec();
    dns.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        dns.push(label.len() as u8);
        dns.extend_from_slice(label.as_bytes());
    }
    dns.extend_from_slice(&[0, 0, 1, 0, 1]);
    dns
}

/// Transport header fields of a synthetic packet.
#[derive(Clone, Copy)]
pub struct L4 {
    /// 6 for TCP, 17 for UDP.
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    /// TCP only.
    pub seq: u32,
    /// TCP flags byte (0x02 SYN, 0x10 ACK, 0x18 PSH+ACK).
    pub flags: u8,
}

impl L4 {
    pub fn udp(sport: u16, dport: u16) -> Self {
        L4 {
            proto: 17,
            sport,
            dport,
            seq: 0,
            flags: 0,
        }
    }
    pub fn tcp(sport: u16, dport: u16, seq: u32, flags: u8) -> Self {
        L4 {
            proto: 6,
            sport,
            dport,
            seq,
            flags,
        }
    }
}

/// A raw IPv4 packet (LINKTYPE_RAW) with a TCP or UDP header and `payload`.
pub fn ipv4_packet(src: [u8; 4], dst: [u8; 4], l4: L4, payload: &[u8]) -> Vec<u8> {
    let l4_len = if l4.proto == 6 { 20 } else { 8 };
    let total = 20 + l4_len + payload.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        l4.proto,
        0,
        0,
    ];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&l4.sport.to_be_bytes());
    p.extend_from_slice(&l4.dport.to_be_bytes());
    if l4.proto == 6 {
        p.extend_from_slice(&l4.seq.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&[0x50, l4.flags, 0xff, 0xff, 0, 0, 0, 0]);
    } else {
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    p.extend_from_slice(payload);
    p
}

/// Reads a classic little-endian microsecond pcap: its link type and records.
pub fn read_pcap(path: &Path) -> (u32, Vec<Record>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(
        u32_at(0),
        0xa1b2c3d4,
        "{}: not a little-endian microsecond pcap",
        path.display()
    );
    let linktype = u32_at(20);
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen = u32_at(at + 8) as usize;
        records.push((
            u32_at(at),
            u32_at(at + 4),
            bytes[at + 16..at + 16 + caplen].to_vec(),
            u32_at(at + 12),
        ));
        at += 16 + caplen;
    }
    (linktype, records)
}

/// TCP destination port and payload length of an Ethernet/IPv4 frame, if it is one.
pub fn eth_ipv4_tcp(frame: &[u8]) -> Option<(u16, usize)> {
    if frame.len() < 54 || frame[12..14] != [0x08, 0x00] || frame[23] != 6 {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let tcp = ip.get(ihl..)?;
    let doff = usize::from(tcp.get(12)? >> 4) * 4;
    Some((
        u16::from_be_bytes([tcp[2], tcp[3]]),
        total.checked_sub(ihl + doff)?,
    ))
}
