//! The EVE `dns` object written straight to the output: the same JSON as
//! [`DnsMessage::eve`] (key order included), without building a tree of JSON values first.
//! Logging every DNS message is the largest share of work on handshake-heavy traffic: the value
//! tree (one map and one `String` key per field) cost four times the parse, and serde_json's
//! serialiser (`core::fmt` for addresses, a growing buffer per message) still twice the writer
//! of [`crate::json`] used here. The rare record types (SOA, SRV, SSHFP, SVCB, OPT) go through
//! serde.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::eve::{hex, logs_additional, rcode_name, rrtype_name, FLAG_BITS};
use super::rdata::{EdnsOption, Soa};
use super::{Answer, DnsMessage, Question, Rdata};
use crate::json::{self, RawJson};

impl DnsMessage {
    /// The EVE `dns` object, serialised: what [`DnsMessage::eve`] builds, written directly.
    pub fn eve_json(&self, tx_id: u64) -> RawJson {
        let mut out = Vec::with_capacity(256);
        self.write_eve(tx_id, &mut out);
        RawJson::from_buf(out)
    }

    /// Appends the EVE `dns` object to `out`.
    pub fn write_eve(&self, tx_id: u64, out: &mut Vec<u8>) {
        let m = self;
        out.push(b'{');
        json::field_int(out, "version", 3u8);
        let kind = if m.is_response { "response" } else { "request" };
        json::field_str(out, "type", kind);
        json::field_int(out, "tx_id", tx_id);
        json::field_int(out, "id", m.id);
        json::key(out, "flags");
        hex_u16(out, m.flags);
        for (bit, key) in FLAG_BITS {
            if m.flags & bit != 0 {
                json::field_bool(out, key, true);
            }
        }
        json::field_int(out, "opcode", (m.flags >> 11) & 0xF);
        json::field_str(out, "rcode", &rcode_name(m.flags & 0xF));
        if !m.queries.is_empty() {
            json::key(out, "queries");
            out.push(b'[');
            for q in &m.queries {
                json::comma(out);
                write_query(out, q);
            }
            out.push(b']');
        }
        if m.answers.iter().any(|a| entry_count(a) > 0) {
            json::key(out, "answers");
            write_records(out, &m.answers, Part::Answers);
        }
        if m.answers.iter().any(|a| grouped_count(&a.rdata) > 0) {
            json::key(out, "grouped");
            write_grouped(out, &m.answers);
        }
        if m.authorities.iter().any(|a| entry_count(a) > 0) {
            json::key(out, "authorities");
            write_records(out, &m.authorities, Part::Authorities);
        }
        if m.additionals
            .iter()
            .any(|a| logs_additional(a) && entry_count(a) > 0)
        {
            json::key(out, "additionals");
            write_records(out, &m.additionals, Part::Additionals);
        }
        out.push(b'}');
    }
}

/// Appends `v` in lowercase hex without leading zeros, as a JSON string (`format!("{v:x}")`).
fn hex_u16(out: &mut Vec<u8>, v: u16) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut started = false;
    for shift in [12u16, 8, 4, 0] {
        let d = (v >> shift) & 0xF;
        if d != 0 || started || shift == 0 {
            out.push(HEX[usize::from(d)]);
            started = true;
        }
    }
    out.push(b'"');
}

fn write_query(out: &mut Vec<u8>, q: &Question) {
    out.push(b'{');
    json::field_str(out, "rrname", &q.name);
    json::field_str(out, "rrtype", &rrtype_name(q.rtype));
    if q.name_truncated {
        json::field_bool(out, "rrname_truncated", true);
    }
    out.push(b'}');
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Answers,
    Authorities,
    Additionals,
}

/// Detailed entries a record gives: one per TXT string, otherwise one.
fn entry_count(a: &Answer) -> usize {
    match &a.rdata {
        Rdata::Txt(strings) => strings.len(),
        _ => 1,
    }
}

fn write_records(out: &mut Vec<u8>, answers: &[Answer], part: Part) {
    out.push(b'[');
    for a in answers {
        if part == Part::Additionals && !logs_additional(a) {
            continue;
        }
        match &a.rdata {
            Rdata::Txt(strings) => {
                for text in strings {
                    json::comma(out);
                    write_record(out, a, part, Some(text));
                }
            }
            _ => {
                json::comma(out);
                write_record(out, a, part, None);
            }
        }
    }
    out.push(b']');
}

fn write_record(out: &mut Vec<u8>, a: &Answer, part: Part, text: Option<&String>) {
    out.push(b'{');
    json::field_str(out, "rrname", &a.name);
    if part == Part::Authorities && a.name_truncated {
        json::field_bool(out, "rrname_truncated", true);
    }
    json::field_str(out, "rrtype", &rrtype_name(a.rtype));
    json::field_int(out, "ttl", a.ttl);
    if let Some(text) = text {
        json::field_str(out, "rdata", text);
    }
    let mut text_rdata = true;
    match &a.rdata {
        Rdata::A(v4) => {
            json::key(out, "rdata");
            json::ip(out, (*v4).into());
        }
        Rdata::Aaaa(v6) => {
            json::key(out, "rdata");
            json::ip(out, (*v6).into());
        }
        Rdata::Name(name) | Rdata::Mx { exchange: name, .. } => json::field_str(out, "rdata", name),
        Rdata::Null(bytes) => json::field_str(out, "rdata", &super::bytes_to_string(bytes)),
        Rdata::Soa(soa) if part != Part::Additionals => {
            text_rdata = false;
            json::key(out, "soa");
            json::serde(out, &SoaEntry(soa));
        }
        Rdata::Opt(options) if part == Part::Additionals => {
            text_rdata = false;
            json::key(out, "opt");
            json::serde(out, &OptEntries(options));
        }
        Rdata::Srv {
            priority,
            weight,
            port,
            target,
        } if part == Part::Answers => {
            text_rdata = false;
            json::key(out, "srv");
            json::serde(out, &SrvEntry(*priority, *weight, *port, target));
        }
        Rdata::Sshfp {
            algo,
            fp_type,
            fingerprint,
        } if part == Part::Answers => {
            text_rdata = false;
            json::key(out, "sshfp");
            json::serde(out, &SshfpEntry(*algo, *fp_type, fingerprint));
        }
        Rdata::Svcb(svcb) if part == Part::Answers => {
            text_rdata = false;
            json::key(out, "svcb");
            json::serde(out, svcb);
        }
        _ => text_rdata = false,
    }
    let is_name = matches!(a.rdata, Rdata::Name(_) | Rdata::Mx { .. });
    if text_rdata && part == Part::Authorities && is_name && a.rdata_truncated {
        json::field_bool(out, "rdata_truncated", true);
    }
    out.push(b'}');
}

/// Values a record contributes to `grouped`.
fn grouped_count(rdata: &Rdata) -> usize {
    match rdata {
        Rdata::Txt(strings) => strings.len(),
        Rdata::Svcb(_) | Rdata::Opt(_) | Rdata::Dname(_) | Rdata::Other => 0,
        _ => 1,
    }
}

fn write_grouped(out: &mut Vec<u8>, answers: &[Answer]) {
    // Types in the order they first contribute a value (a message has a handful at most).
    let mut types = [0u16; 8];
    let mut more: Vec<u16> = Vec::new();
    let mut n = 0;
    for a in answers {
        if grouped_count(&a.rdata) == 0 || types[..n].contains(&a.rtype) || more.contains(&a.rtype)
        {
            continue;
        }
        if n < types.len() {
            types[n] = a.rtype;
            n += 1;
        } else {
            more.push(a.rtype);
        }
    }
    out.push(b'{');
    for &t in types[..n].iter().chain(&more) {
        json::comma(out);
        json::string(out, &rrtype_name(t));
        out.push(b':');
        write_grouped_values(out, answers, t);
    }
    out.push(b'}');
}

fn write_grouped_values(out: &mut Vec<u8>, answers: &[Answer], t: u16) {
    out.push(b'[');
    for a in answers.iter().filter(|a| a.rtype == t) {
        match &a.rdata {
            Rdata::A(v4) => {
                json::comma(out);
                json::ip(out, (*v4).into());
            }
            Rdata::Aaaa(v6) => {
                json::comma(out);
                json::ip(out, (*v6).into());
            }
            Rdata::Name(name) | Rdata::Mx { exchange: name, .. } => {
                json::comma(out);
                json::string(out, name);
            }
            Rdata::Txt(strings) => {
                for text in strings {
                    json::comma(out);
                    json::string(out, text);
                }
            }
            Rdata::Null(bytes) => {
                json::comma(out);
                json::string(out, &super::bytes_to_string(bytes));
            }
            Rdata::Soa(soa) => {
                json::comma(out);
                json::serde(out, &SoaEntry(soa));
            }
            Rdata::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                json::comma(out);
                json::serde(out, &SrvEntry(*priority, *weight, *port, target));
            }
            Rdata::Sshfp {
                algo,
                fp_type,
                fingerprint,
            } => {
                json::comma(out);
                json::serde(out, &SshfpEntry(*algo, *fp_type, fingerprint));
            }
            Rdata::Svcb(_) | Rdata::Opt(_) | Rdata::Dname(_) | Rdata::Other => {}
        }
    }
    out.push(b']');
}

struct SoaEntry<'a>(&'a Soa);

impl Serialize for SoaEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let soa = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("mname", &soa.mname)?;
        if soa.mname_truncated {
            map.serialize_entry("mname_truncated", &true)?;
        }
        map.serialize_entry("rname", &soa.rname)?;
        map.serialize_entry("serial", &soa.serial)?;
        map.serialize_entry("refresh", &soa.refresh)?;
        map.serialize_entry("retry", &soa.retry)?;
        map.serialize_entry("expire", &soa.expire)?;
        map.serialize_entry("minimum", &soa.minimum)?;
        map.end()
    }
}

struct SrvEntry<'a>(u16, u16, u16, &'a String);

impl Serialize for SrvEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("priority", &self.0)?;
        map.serialize_entry("weight", &self.1)?;
        map.serialize_entry("port", &self.2)?;
        map.serialize_entry("name", self.3)?;
        map.end()
    }
}

struct SshfpEntry<'a>(u8, u8, &'a [u8]);

impl Serialize for SshfpEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: Vec<String> = self.2.iter().map(|b| format!("{b:02x}")).collect();
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("fingerprint", &hex.join(":"))?;
        map.serialize_entry("algo", &self.0)?;
        map.serialize_entry("type", &self.1)?;
        map.end()
    }
}

struct OptEntries<'a>(&'a [EdnsOption]);

impl Serialize for OptEntries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for o in self.0 {
            seq.serialize_element(&serde_json::json!({"code": o.code, "data": hex(&o.data)}))?;
        }
        seq.end()
    }
}
