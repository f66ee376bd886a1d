//! Suricata EVE v3 `dns` object for a parsed message.
//!
//! Mirrors Suricata 8's `rust/src/dns/log.rs` (v3 logging with the detailed
//! and grouped answer formats), restricted to the keys the EVE schema allows
//! (`additionalProperties: false`): answers carry no `*_truncated` flags,
//! authorities carry no `srv`/`sshfp`, additionals only `rdata` and `opt`,
//! SOA carries no `rname_truncated`, and empty arrays are left out. As in
//! Suricata, an OPT additional without options is not logged, and records of
//! other types (TKEY, TSIG, unknown numbers) are logged with their name,
//! type and TTL only.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use super::rdata::{EdnsOption, Soa};
use super::{Answer, DnsMessage, Rdata};
use crate::text::SuricataIp;

/// Header flag bits logged as booleans when set, in Suricata's order.
pub(super) const FLAG_BITS: [(u16, &str); 6] = [
    (0x8000, "qr"),
    (0x0400, "aa"),
    (0x0200, "tc"),
    (0x0100, "rd"),
    (0x0080, "ra"),
    (0x0040, "z"),
];

/// Which record section an entry is printed for (the schemas differ).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Answers,
    Authorities,
    Additionals,
}

impl DnsMessage {
    /// Suricata EVE v3 `dns` object. `flags` is printed as Suricata does,
    /// `format!("{:x}")` (no zero padding: 0x0100 prints "100").
    pub fn eve(&self, tx_id: u64) -> Value {
        let mut obj = Map::new();
        obj.insert("version".into(), json!(3));
        obj.insert(
            "type".into(),
            json!(if self.is_response {
                "response"
            } else {
                "request"
            }),
        );
        obj.insert("tx_id".into(), json!(tx_id));
        obj.insert("id".into(), json!(self.id));
        obj.insert("flags".into(), json!(format!("{:x}", self.flags)));
        for (bit, key) in FLAG_BITS {
            if self.flags & bit != 0 {
                obj.insert(key.into(), json!(true));
            }
        }
        obj.insert("opcode".into(), json!((self.flags >> 11) & 0xF));
        obj.insert("rcode".into(), json!(rcode_name(self.flags & 0xF)));
        self.insert_queries(&mut obj);
        self.insert_answers(&mut obj);
        let auths: Vec<Value> = self
            .authorities
            .iter()
            .flat_map(|a| record_entries(a, Part::Authorities))
            .collect();
        if !auths.is_empty() {
            obj.insert("authorities".into(), Value::Array(auths));
        }
        let adds: Vec<Value> = self
            .additionals
            .iter()
            .filter(|a| logs_additional(a))
            .flat_map(|a| record_entries(a, Part::Additionals))
            .collect();
        if !adds.is_empty() {
            obj.insert("additionals".into(), Value::Array(adds));
        }
        Value::Object(obj)
    }

    fn insert_queries(&self, obj: &mut Map<String, Value>) {
        let queries: Vec<Value> = self
            .queries
            .iter()
            .map(|q| {
                let mut entry = Map::new();
                entry.insert("rrname".into(), json!(q.name));
                entry.insert("rrtype".into(), json!(rrtype_name(q.rtype)));
                if q.name_truncated {
                    entry.insert("rrname_truncated".into(), json!(true));
                }
                Value::Object(entry)
            })
            .collect();
        if !queries.is_empty() {
            obj.insert("queries".into(), Value::Array(queries));
        }
    }

    fn insert_answers(&self, obj: &mut Map<String, Value>) {
        let answers: Vec<Value> = self
            .answers
            .iter()
            .flat_map(|a| record_entries(a, Part::Answers))
            .collect();
        let mut grouped = Map::new();
        for answer in &self.answers {
            let values = grouped_values(&answer.rdata);
            if values.is_empty() {
                continue;
            }
            let slot = grouped
                .entry(rrtype_name(answer.rtype).into_owned())
                .or_insert_with(|| json!([]));
            if let Value::Array(list) = slot {
                list.extend(values);
            }
        }
        if !answers.is_empty() {
            obj.insert("answers".into(), Value::Array(answers));
        }
        if !grouped.is_empty() {
            obj.insert("grouped".into(), Value::Object(grouped));
        }
    }
}

/// Whether an additional record is logged: all but an OPT record without options (Suricata).
pub(super) fn logs_additional(a: &Answer) -> bool {
    !matches!(&a.rdata, Rdata::Opt(options) if options.is_empty())
}

/// Detailed entries for one record: one per TXT string, otherwise one.
fn record_entries(answer: &Answer, part: Part) -> Vec<Value> {
    match &answer.rdata {
        Rdata::Txt(strings) => strings
            .iter()
            .map(|s| record_entry(answer, part, Some(json!(s))))
            .collect(),
        _ => vec![record_entry(answer, part, None)],
    }
}

fn record_entry(answer: &Answer, part: Part, txt: Option<Value>) -> Value {
    let mut entry = Map::new();
    entry.insert("rrname".into(), json!(answer.name));
    if part == Part::Authorities && answer.name_truncated {
        entry.insert("rrname_truncated".into(), json!(true));
    }
    entry.insert("rrtype".into(), json!(rrtype_name(answer.rtype)));
    entry.insert("ttl".into(), json!(answer.ttl));
    if let Some(txt) = txt {
        entry.insert("rdata".into(), txt);
    }
    insert_rdata(&mut entry, answer, part);
    Value::Object(entry)
}

/// The record-data keys of a detailed entry (`rdata`, `soa`, `srv`, ...).
fn insert_rdata(entry: &mut Map<String, Value>, answer: &Answer, part: Part) {
    let name_rdata = match &answer.rdata {
        Rdata::A(v4) => Some(v4.to_string()),
        Rdata::Aaaa(v6) => Some(SuricataIp((*v6).into()).to_string()),
        Rdata::Name(name) | Rdata::Mx { exchange: name, .. } => Some(name.clone()),
        Rdata::Null(bytes) => Some(super::bytes_to_string(bytes)),
        Rdata::Soa(soa) if part != Part::Additionals => {
            entry.insert("soa".into(), soa_value(soa));
            None
        }
        Rdata::Opt(options) if part == Part::Additionals => {
            entry.insert("opt".into(), opt_value(options));
            None
        }
        Rdata::Srv {
            priority,
            weight,
            port,
            target,
        } if part == Part::Answers => {
            entry.insert("srv".into(), srv_value(*priority, *weight, *port, target));
            None
        }
        Rdata::Sshfp {
            algo,
            fp_type,
            fingerprint,
        } if part == Part::Answers => {
            entry.insert("sshfp".into(), sshfp_value(*algo, *fp_type, fingerprint));
            None
        }
        Rdata::Svcb(svcb) if part == Part::Answers => {
            entry.insert("svcb".into(), json!(svcb));
            None
        }
        _ => None,
    };
    if let Some(text) = name_rdata {
        entry.insert("rdata".into(), json!(text));
        let is_name = matches!(answer.rdata, Rdata::Name(_) | Rdata::Mx { .. });
        if part == Part::Authorities && is_name && answer.rdata_truncated {
            entry.insert("rdata_truncated".into(), json!(true));
        }
    }
}

/// The values a record contributes to `grouped` (none for other types).
fn grouped_values(rdata: &Rdata) -> Vec<Value> {
    match rdata {
        Rdata::A(v4) => vec![json!(v4.to_string())],
        Rdata::Aaaa(v6) => vec![json!(SuricataIp((*v6).into()).to_string())],
        Rdata::Name(name) | Rdata::Mx { exchange: name, .. } => vec![json!(name)],
        Rdata::Txt(strings) => strings.iter().map(|s| json!(s)).collect(),
        Rdata::Null(bytes) => vec![json!(super::bytes_to_string(bytes))],
        Rdata::Soa(soa) => vec![soa_value(soa)],
        Rdata::Srv {
            priority,
            weight,
            port,
            target,
        } => vec![srv_value(*priority, *weight, *port, target)],
        Rdata::Sshfp {
            algo,
            fp_type,
            fingerprint,
        } => vec![sshfp_value(*algo, *fp_type, fingerprint)],
        Rdata::Svcb(_) | Rdata::Opt(_) | Rdata::Dname(_) | Rdata::Other => Vec::new(),
    }
}

/// EDNS options as Suricata logs them: the code, and the data in lowercase hex.
fn opt_value(options: &[EdnsOption]) -> Value {
    let list: Vec<Value> = options
        .iter()
        .map(|o| json!({"code": o.code, "data": hex(&o.data)}))
        .collect();
    Value::Array(list)
}

/// Lowercase hex of `bytes`, no separators.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn srv_value(priority: u16, weight: u16, port: u16, target: &str) -> Value {
    json!({"priority": priority, "weight": weight, "port": port, "name": target})
}

/// Suricata prints the fingerprint as colon-separated lowercase hex.
fn sshfp_value(algo: u8, fp_type: u8, fingerprint: &[u8]) -> Value {
    let hex: Vec<String> = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
    json!({"fingerprint": hex.join(":"), "algo": algo, "type": fp_type})
}

fn soa_value(soa: &Soa) -> Value {
    let mut obj = Map::new();
    obj.insert("mname".into(), json!(soa.mname));
    if soa.mname_truncated {
        obj.insert("mname_truncated".into(), json!(true));
    }
    obj.insert("rname".into(), json!(soa.rname));
    for (key, value) in [
        ("serial", soa.serial),
        ("refresh", soa.refresh),
        ("retry", soa.retry),
        ("expire", soa.expire),
        ("minimum", soa.minimum),
    ] {
        obj.insert(key.into(), json!(value));
    }
    Value::Object(obj)
}

/// Record type mnemonic as Suricata prints it, else the number (Suricata 8 knows no SVCB: 64
/// prints as "64", as does any type without a mnemonic, TYPE65400 as "65400").
pub(crate) fn rrtype_name(t: u16) -> Cow<'static, str> {
    let name = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return Cow::Owned(t.to_string()),
    };
    Cow::Borrowed(name)
}

/// Response code name as Suricata prints it, else the number.
pub(crate) fn rcode_name(r: u16) -> Cow<'static, str> {
    let name = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS/BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        _ => return Cow::Owned(r.to_string()),
    };
    Cow::Borrowed(name)
}
