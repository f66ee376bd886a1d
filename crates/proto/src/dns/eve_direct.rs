//! The EVE `dns` object written straight to the output: the same JSON as
//! [`DnsMessage::eve`] (key order included), without building a tree of JSON values first.
//! Logging every DNS message is the largest share of work on handshake-heavy traffic, and the
//! value tree (one map and one `String` key per field) cost four times the parse.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::eve::{rcode_name, rrtype_name, FLAG_BITS};
use super::rdata::Soa;
use super::{Answer, DnsMessage, Question, Rdata};
use crate::json::RawJson;
use crate::text::{JsonText as Text, SuricataIp};

impl DnsMessage {
    /// The EVE `dns` object, serialised: what [`DnsMessage::eve`] builds, written directly.
    pub fn eve_json(&self, tx_id: u64) -> RawJson {
        RawJson::of_serde(&DnsEve { msg: self, tx_id })
    }
}

struct DnsEve<'a> {
    msg: &'a DnsMessage,
    tx_id: u64,
}

impl Serialize for DnsEve<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.msg;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("version", &3)?;
        map.serialize_entry("type", if m.is_response { "response" } else { "request" })?;
        map.serialize_entry("tx_id", &self.tx_id)?;
        map.serialize_entry("id", &m.id)?;
        map.serialize_entry("flags", &Text(format_args!("{:x}", m.flags)))?;
        for (bit, key) in FLAG_BITS {
            if m.flags & bit != 0 {
                map.serialize_entry(key, &true)?;
            }
        }
        map.serialize_entry("opcode", &((m.flags >> 11) & 0xF))?;
        map.serialize_entry("rcode", &rcode_name(m.flags & 0xF))?;
        if !m.queries.is_empty() {
            map.serialize_entry("queries", &Queries(&m.queries))?;
        }
        if m.answers.iter().any(|a| entry_count(a) > 0) {
            map.serialize_entry("answers", &Records(&m.answers, Part::Answers))?;
        }
        if m.answers.iter().any(|a| grouped_count(&a.rdata) > 0) {
            map.serialize_entry("grouped", &Grouped(&m.answers))?;
        }
        if m.authorities.iter().any(|a| entry_count(a) > 0) {
            map.serialize_entry("authorities", &Records(&m.authorities, Part::Authorities))?;
        }
        map.end()
    }
}

struct Queries<'a>(&'a [Question]);

impl Serialize for Queries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for q in self.0 {
            seq.serialize_element(&QueryEntry(q))?;
        }
        seq.end()
    }
}

struct QueryEntry<'a>(&'a Question);

impl Serialize for QueryEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("rrname", &q.name)?;
        map.serialize_entry("rrtype", &rrtype_name(q.rtype))?;
        if q.name_truncated {
            map.serialize_entry("rrname_truncated", &true)?;
        }
        map.end()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Answers,
    Authorities,
}

/// Detailed entries a record gives: one per TXT string, otherwise one.
fn entry_count(a: &Answer) -> usize {
    match &a.rdata {
        Rdata::Txt(strings) => strings.len(),
        _ => 1,
    }
}

struct Records<'a>(&'a [Answer], Part);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for a in self.0 {
            match &a.rdata {
                Rdata::Txt(strings) => {
                    for text in strings {
                        seq.serialize_element(&RecordEntry(a, self.1, Some(text)))?;
                    }
                }
                _ => seq.serialize_element(&RecordEntry(a, self.1, None))?,
            }
        }
        seq.end()
    }
}

struct RecordEntry<'a>(&'a Answer, Part, Option<&'a String>);

impl Serialize for RecordEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (a, part) = (self.0, self.1);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("rrname", &a.name)?;
        if part == Part::Authorities && a.name_truncated {
            map.serialize_entry("rrname_truncated", &true)?;
        }
        map.serialize_entry("rrtype", &rrtype_name(a.rtype))?;
        map.serialize_entry("ttl", &a.ttl)?;
        if let Some(text) = self.2 {
            map.serialize_entry("rdata", text)?;
        }
        let mut text_rdata = true;
        match &a.rdata {
            Rdata::A(v4) => map.serialize_entry("rdata", &Text(v4))?,
            Rdata::Aaaa(v6) => map.serialize_entry("rdata", &Text(SuricataIp((*v6).into())))?,
            Rdata::Name(name) | Rdata::Mx { exchange: name, .. } => {
                map.serialize_entry("rdata", name)?
            }
            Rdata::Null(bytes) => map.serialize_entry("rdata", &super::bytes_to_string(bytes))?,
            Rdata::Soa(soa) => {
                text_rdata = false;
                map.serialize_entry("soa", &SoaEntry(soa))?;
            }
            Rdata::Srv {
                priority,
                weight,
                port,
                target,
            } if part == Part::Answers => {
                text_rdata = false;
                map.serialize_entry("srv", &SrvEntry(*priority, *weight, *port, target))?;
            }
            Rdata::Sshfp {
                algo,
                fp_type,
                fingerprint,
            } if part == Part::Answers => {
                text_rdata = false;
                map.serialize_entry("sshfp", &SshfpEntry(*algo, *fp_type, fingerprint))?;
            }
            Rdata::Svcb(svcb) if part == Part::Answers => {
                text_rdata = false;
                map.serialize_entry("svcb", svcb)?;
            }
            _ => text_rdata = false,
        }
        let is_name = matches!(a.rdata, Rdata::Name(_) | Rdata::Mx { .. });
        if text_rdata && part == Part::Authorities && is_name && a.rdata_truncated {
            map.serialize_entry("rdata_truncated", &true)?;
        }
        map.end()
    }
}

/// Values a record contributes to `grouped`.
fn grouped_count(rdata: &Rdata) -> usize {
    match rdata {
        Rdata::Txt(strings) => strings.len(),
        Rdata::Svcb(_) | Rdata::Other(_) => 0,
        _ => 1,
    }
}

struct Grouped<'a>(&'a [Answer]);

impl Serialize for Grouped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Types in the order they first contribute a value (a message has a handful at most).
        let mut types: Vec<u16> = Vec::new();
        for a in self.0 {
            if grouped_count(&a.rdata) > 0 && !types.contains(&a.rtype) {
                types.push(a.rtype);
            }
        }
        let mut map = s.serialize_map(Some(types.len()))?;
        for t in types {
            map.serialize_entry(&rrtype_name(t), &GroupedValues(self.0, t))?;
        }
        map.end()
    }
}

struct GroupedValues<'a>(&'a [Answer], u16);

impl Serialize for GroupedValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for a in self.0.iter().filter(|a| a.rtype == self.1) {
            match &a.rdata {
                Rdata::A(v4) => seq.serialize_element(&Text(v4))?,
                Rdata::Aaaa(v6) => seq.serialize_element(&Text(SuricataIp((*v6).into())))?,
                Rdata::Name(name) | Rdata::Mx { exchange: name, .. } => {
                    seq.serialize_element(name)?
                }
                Rdata::Txt(strings) => {
                    for text in strings {
                        seq.serialize_element(text)?;
                    }
                }
                Rdata::Null(bytes) => seq.serialize_element(&super::bytes_to_string(bytes))?,
                Rdata::Soa(soa) => seq.serialize_element(&SoaEntry(soa))?,
                Rdata::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => seq.serialize_element(&SrvEntry(*priority, *weight, *port, target))?,
                Rdata::Sshfp {
                    algo,
                    fp_type,
                    fingerprint,
                } => seq.serialize_element(&SshfpEntry(*algo, *fp_type, fingerprint))?,
                Rdata::Svcb(_) | Rdata::Other(_) => {}
            }
        }
        seq.end()
    }
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
