//! Record data: typed values for what EVE and detection use.
//!
//! Record data is parsed with `domain`'s [`AllRecordData`]. If `domain`
//! refuses it (typically a name inside it with a forward pointer or longer
//! than 255 octets), the few layouts EVE prints (CNAME/NS/PTR, MX, SOA, SRV,
//! TXT) are read field by field with the lenient name decoder. EDNS OPT
//! options and SVCB/HTTPS parameters have readers of their own. Any other
//! type (TKEY, TSIG, DNSSEC, unknown numbers) is [`Rdata::Other`]: Suricata
//! prints nothing of its data. Data that does not decode as a type EVE prints gives
//! `None`: the caller skips that record and counts it.

use std::net::{Ipv4Addr, Ipv6Addr};

use domain::base::iana::Rtype;
use domain::base::name::ParsedName;
use domain::base::ParseRecordData;
use domain::dep::octseq::Parser;
use domain::rdata::AllRecordData;

use super::names::{bytes_to_string, parsed_name_text, read_name, DnsName};
use super::svcb::{self, Svcb};

/// Record types this module gives a typed value.
pub(crate) mod rtype {
    pub(crate) const A: u16 = 1;
    pub(crate) const NS: u16 = 2;
    pub(crate) const CNAME: u16 = 5;
    pub(crate) const SOA: u16 = 6;
    pub(crate) const PTR: u16 = 12;
    pub(crate) const MX: u16 = 15;
    pub(crate) const NULL: u16 = 10;
    pub(crate) const TXT: u16 = 16;
    pub(crate) const AAAA: u16 = 28;
    pub(crate) const SRV: u16 = 33;
    pub(crate) const DNAME: u16 = 39;
    pub(crate) const OPT: u16 = 41;
    pub(crate) const SSHFP: u16 = 44;
    pub(crate) const SVCB: u16 = 64;
    pub(crate) const HTTPS: u16 = 65;
}

/// SOA record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Soa {
    pub(crate) mname: String,
    pub(crate) rname: String,
    pub(crate) serial: u32,
    pub(crate) refresh: u32,
    pub(crate) retry: u32,
    pub(crate) expire: u32,
    pub(crate) minimum: u32,
    pub(crate) mname_truncated: bool,
    pub(crate) rname_truncated: bool,
}

/// Typed record data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME, NS or PTR target (the record's `rtype` says which).
    Name(String),
    Mx {
        pref: u16,
        exchange: String,
    },
    Soa(Soa),
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
    /// One entry per character-string (Suricata logs one answer each).
    Txt(Vec<String>),
    Null(Vec<u8>),
    Sshfp {
        algo: u8,
        fp_type: u8,
        fingerprint: Vec<u8>,
    },
    /// SVCB or HTTPS (boxed: the rarest and largest).
    Svcb(Box<Svcb>),
    /// EDNS OPT (RFC 6891): its options, code and data.
    Opt(Vec<EdnsOption>),
    /// DNAME's target (RFC 6672): followed in a response's chain of names, printed as nothing,
    /// as Suricata prints nothing of a DNAME.
    Dname(String),
    /// Any other type (TKEY, TSIG, DNSSEC, unknown numbers): nothing of it is printed, as
    /// Suricata prints none of it.
    Other,
}

/// One EDNS option of an OPT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EdnsOption {
    pub(crate) code: u16,
    pub(crate) data: Vec<u8>,
}

/// Record data plus whether a name inside it was truncated.
pub(crate) struct ParsedRdata {
    pub(crate) rdata: Rdata,
    pub(crate) truncated: bool,
}

impl ParsedRdata {
    fn plain(rdata: Rdata) -> Self {
        ParsedRdata {
            rdata,
            truncated: false,
        }
    }
}

/// Parses the `len` bytes of record data at `start` of `msg`; `None` when they do not decode as
/// `rtype` says (for a type EVE prints: other types are kept as raw bytes).
pub(crate) fn parse_rdata(msg: &[u8], rtype: u16, start: usize, len: usize) -> Option<ParsedRdata> {
    let raw = msg.get(start..start.saturating_add(len))?;
    match rtype {
        rtype::SVCB | rtype::HTTPS => {
            svcb::parse(raw).map(|s| ParsedRdata::plain(Rdata::Svcb(Box::new(s))))
        }
        rtype::OPT => edns_options(raw).map(|o| ParsedRdata::plain(Rdata::Opt(o))),
        rtype::DNAME => {
            let mut rd = RdataReader {
                msg,
                pos: start,
                end: start + len,
            };
            let name = rd.name()?;
            (rd.pos == rd.end).then_some(ParsedRdata {
                rdata: Rdata::Dname(name.text),
                truncated: name.truncated,
            })
        }
        _ => strict_rdata(msg, rtype, start, len).or_else(|| lenient_rdata(msg, rtype, start, len)),
    }
}

/// The options of OPT record data: code, length, data, to the end (RFC 6891 §6.1.2).
fn edns_options(mut raw: &[u8]) -> Option<Vec<EdnsOption>> {
    let mut options = Vec::new();
    while let Some(head) = raw.get(..4) {
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let data = raw.get(4..4 + len)?;
        options.push(EdnsOption {
            code,
            data: data.to_vec(),
        });
        raw = &raw[4 + len..];
    }
    raw.is_empty().then_some(options)
}

fn strict_rdata(msg: &[u8], rtype: u16, start: usize, len: usize) -> Option<ParsedRdata> {
    let mut outer = Parser::from_ref(msg);
    outer.advance(start).ok()?;
    let mut parser = outer.parse_parser(len).ok()?;
    let data =
        AllRecordData::<&[u8], ParsedName<&[u8]>>::parse_rdata(Rtype::from_int(rtype), &mut parser)
            .ok()??;
    if parser.remaining() != 0 {
        return None;
    }
    Some(ParsedRdata::plain(from_domain(data)))
}

fn from_domain(data: AllRecordData<&[u8], ParsedName<&[u8]>>) -> Rdata {
    match data {
        AllRecordData::A(a) => Rdata::A(a.addr()),
        AllRecordData::Aaaa(a) => Rdata::Aaaa(a.addr()),
        AllRecordData::Cname(c) => Rdata::Name(parsed_name_text(c.cname())),
        AllRecordData::Ns(n) => Rdata::Name(parsed_name_text(n.nsdname())),
        AllRecordData::Ptr(p) => Rdata::Name(parsed_name_text(p.ptrdname())),
        AllRecordData::Mx(m) => Rdata::Mx {
            pref: m.preference(),
            exchange: parsed_name_text(m.exchange()),
        },
        AllRecordData::Soa(s) => Rdata::Soa(Soa {
            mname: parsed_name_text(s.mname()),
            rname: parsed_name_text(s.rname()),
            serial: s.serial().into_int(),
            refresh: s.refresh().as_secs(),
            retry: s.retry().as_secs(),
            expire: s.expire().as_secs(),
            minimum: s.minimum().as_secs(),
            mname_truncated: false,
            rname_truncated: false,
        }),
        AllRecordData::Srv(s) => Rdata::Srv {
            priority: s.priority(),
            weight: s.weight(),
            port: s.port(),
            target: parsed_name_text(s.target()),
        },
        AllRecordData::Txt(t) => Rdata::Txt(t.iter().map(bytes_to_string).collect()),
        AllRecordData::Null(n) => Rdata::Null(n.data().to_vec()),
        AllRecordData::Sshfp(s) => Rdata::Sshfp {
            algo: s.algorithm().to_int(),
            fp_type: s.fingerprint_type().to_int(),
            fingerprint: s.fingerprint().to_vec(),
        },
        _ => Rdata::Other,
    }
}

/// Field-by-field reader over one record's data (names may point anywhere
/// in the message, but their wire form must stay inside the record data).
struct RdataReader<'a> {
    msg: &'a [u8],
    pos: usize,
    end: usize,
}

impl RdataReader<'_> {
    fn u16(&mut self) -> Option<u16> {
        let bytes = self.take(2)?;
        Some(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.end)?;
        let bytes = self.msg.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn name(&mut self) -> Option<DnsName> {
        let (name, next) = read_name(self.msg, self.pos)?;
        if next > self.end {
            return None;
        }
        self.pos = next;
        Some(name)
    }
}

fn lenient_rdata(msg: &[u8], rtype: u16, start: usize, len: usize) -> Option<ParsedRdata> {
    let end = start.saturating_add(len).min(msg.len());
    let raw = msg.get(start..end).unwrap_or_default();
    let mut rd = RdataReader {
        msg,
        pos: start,
        end,
    };
    match rtype {
        rtype::CNAME | rtype::NS | rtype::PTR => lenient_name_rdata(&mut rd),
        rtype::MX => lenient_mx(&mut rd),
        rtype::SOA => lenient_soa(&mut rd),
        rtype::SRV => lenient_srv(&mut rd),
        rtype::TXT => lenient_txt(raw),
        // Fixed layouts `domain` refused: no other reading of them.
        rtype::A | rtype::AAAA | rtype::NULL | rtype::SSHFP => None,
        _ => Some(ParsedRdata::plain(Rdata::Other)),
    }
}

fn lenient_name_rdata(rd: &mut RdataReader) -> Option<ParsedRdata> {
    let name = rd.name()?;
    Some(ParsedRdata {
        truncated: name.truncated,
        rdata: Rdata::Name(name.text),
    })
}

fn lenient_mx(rd: &mut RdataReader) -> Option<ParsedRdata> {
    let pref = rd.u16()?;
    let name = rd.name()?;
    Some(ParsedRdata {
        truncated: name.truncated,
        rdata: Rdata::Mx {
            pref,
            exchange: name.text,
        },
    })
}

fn lenient_srv(rd: &mut RdataReader) -> Option<ParsedRdata> {
    let (priority, weight, port) = (rd.u16()?, rd.u16()?, rd.u16()?);
    let name = rd.name()?;
    let rdata = Rdata::Srv {
        priority,
        weight,
        port,
        target: name.text,
    };
    Some(ParsedRdata {
        truncated: name.truncated,
        rdata,
    })
}

fn lenient_soa(rd: &mut RdataReader) -> Option<ParsedRdata> {
    let (mname, rname) = (rd.name()?, rd.name()?);
    let soa = Soa {
        serial: rd.u32()?,
        refresh: rd.u32()?,
        retry: rd.u32()?,
        expire: rd.u32()?,
        minimum: rd.u32()?,
        mname_truncated: mname.truncated,
        rname_truncated: rname.truncated,
        mname: mname.text,
        rname: rname.text,
    };
    Some(ParsedRdata::plain(Rdata::Soa(soa)))
}

/// TXT whose last character-string overruns the data: keep the complete
/// strings (as Suricata does); none complete means not TXT at all.
fn lenient_txt(raw: &[u8]) -> Option<ParsedRdata> {
    let mut strings = Vec::new();
    let mut rest = raw;
    while let Some((&len, tail)) = rest.split_first() {
        let Some(text) = tail.get(..usize::from(len)) else {
            break;
        };
        strings.push(bytes_to_string(text));
        rest = &tail[usize::from(len)..];
    }
    (!strings.is_empty()).then(|| ParsedRdata::plain(Rdata::Txt(strings)))
}
