//! DNS app-layer parser: one DNS message in, an owned [`DnsMessage`] out,
//! plus its Suricata EVE v3 `dns` object ([`DnsMessage::eve`]).
//!
//! * [`parse_message`] parses one message (a UDP payload, or a TCP message
//!   without its 2-byte length). Parsing uses the `domain` crate; see
//!   `names` and `rdata` for the two cases `domain` refuses (forward
//!   compression pointers, names over 255 octets) and how they are handled.
//! * Every section is decoded, with any record type: the types Suricata
//!   prints get typed data, EDNS OPT its options, SVCB/HTTPS its parameters,
//!   and any other type (TKEY, TSIG, unknown numbers) is kept with its name,
//!   type and TTL (Suricata prints nothing of its data either).
//! * A record whose data does not decode as its type says is skipped by its
//!   RDLENGTH and counted ([`DnsMessage::bad_records`]); the records after it
//!   are still decoded.
//! * It never panics, and where the wire form itself is broken (a record
//!   running past the message, an owner name that cannot even be skipped) it
//!   stops and keeps what parsed so far ([`DnsMessage::damaged`] says where),
//!   so a corrupt additional section does not lose the answers.
//! * Work is bounded: at most [`MAX_QUESTIONS`] questions and
//!   [`MAX_RECORDS`] records per section are decoded (the rest are skipped
//!   without decoding and counted), each name at most 256 steps.
//! * [`split_tcp`] cuts a DNS-over-TCP byte stream into messages and
//!   [`probe_udp`] recognises DNS on non-standard ports.

mod chain;
mod eve;
mod eve_direct;
#[cfg(test)]
mod kinds_tests;
mod names;
mod rdata;
pub mod svcb;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

use domain::base::Message;
use domain::dep::octseq::Parser;

pub(crate) use names::bytes_to_string;
pub(crate) use rdata::Rdata;

use names::{read_name, skip_name};
use rdata::{parse_rdata, rtype};

/// Questions decoded per message; further ones are skipped and counted.
pub(crate) const MAX_QUESTIONS: usize = 256;
/// Records decoded per section; further ones are skipped and counted.
pub(crate) const MAX_RECORDS: usize = 256;

/// Why a message could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("DNS message shorter than its 12-byte header")]
    ShortHeader,
    #[error("first DNS question does not parse")]
    BadQuestion,
}

/// A message section, to say where parsing stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Question,
    Answer,
    Authority,
    Additional,
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// No trailing dot; the root is "".
    pub name: String,
    pub(crate) rtype: u16,
    pub(crate) rclass: u16,
    /// The name exceeded [`MAX_NAME_LEN`](names::MAX_NAME_LEN) bytes and was cut there.
    pub(crate) name_truncated: bool,
}

/// One resource record (answer or authority section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub(crate) name: String,
    pub(crate) rtype: u16,
    pub(crate) rclass: u16,
    pub(crate) ttl: u32,
    pub(crate) rdata: Rdata,
    pub(crate) name_truncated: bool,
    /// A name inside the record data was truncated.
    pub(crate) rdata_truncated: bool,
}

/// One parsed DNS message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    pub(crate) id: u16,
    /// The raw 16-bit header flags word.
    pub(crate) flags: u16,
    pub is_response: bool,
    pub(crate) opcode: u8,
    /// Header rcode, extended by the EDNS OPT record's upper bits if present.
    pub(crate) rcode: u16,
    pub queries: Vec<Question>,
    pub answers: Vec<Answer>,
    pub(crate) authorities: Vec<Answer>,
    pub(crate) additionals: Vec<Answer>,
    /// Questions beyond [`MAX_QUESTIONS`] that were skipped, not decoded.
    pub(crate) dropped_queries: u32,
    /// Records beyond [`MAX_RECORDS`] per section skipped, not decoded.
    pub(crate) dropped_records: u32,
    /// Records skipped (by their RDLENGTH) because their data did not decode as their type.
    pub bad_records: u32,
    /// The section where parsing stopped on malformed data, if any.
    pub damaged: Option<Section>,
}

/// Parses one DNS message.
pub fn parse_message(msg: &[u8]) -> Result<DnsMessage, DnsError> {
    let parsed = Message::from_slice(msg).map_err(|_| DnsError::ShortHeader)?;
    let (header, counts) = (parsed.header(), parsed.header_counts());
    let mut out = DnsMessage {
        id: header.id(),
        flags: u16::from_be_bytes([msg[2], msg[3]]),
        is_response: header.qr(),
        opcode: header.opcode().to_int(),
        rcode: u16::from(header.rcode().to_int()),
        queries: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
        dropped_queries: 0,
        dropped_records: 0,
        bad_records: 0,
        damaged: None,
    };
    let pos = parse_questions(msg, usize::from(counts.qdcount()), &mut out)?;
    parse_rest(
        msg,
        pos,
        counts.ancount(),
        counts.nscount(),
        counts.arcount(),
        &mut out,
    );
    Ok(out)
}

/// Question section; only an unparseable *first* question is an error.
fn parse_questions(msg: &[u8], count: usize, out: &mut DnsMessage) -> Result<usize, DnsError> {
    let mut pos = 12;
    for i in 0..count {
        let next = if i < MAX_QUESTIONS {
            read_question(msg, pos).map(|(q, next)| {
                out.queries.push(q);
                next
            })
        } else {
            out.dropped_queries += 1;
            skip_name(msg, pos).and_then(|p| fixed(msg, p, 4))
        };
        match next {
            Some(next) => pos = next,
            None if i == 0 => return Err(DnsError::BadQuestion),
            None => {
                out.damaged = Some(Section::Question);
                return Ok(msg.len());
            }
        }
    }
    Ok(pos)
}

/// Answer, authority and additional sections, stopping at the first damage.
fn parse_rest(msg: &[u8], pos: usize, an: u16, ns: u16, ar: u16, out: &mut DnsMessage) {
    if out.damaged.is_some() {
        return;
    }
    let sections = [
        (an, Section::Answer),
        (ns, Section::Authority),
        (ar, Section::Additional),
    ];
    let mut pos = pos;
    let mut tally = Tally::default();
    for (count, section) in sections {
        // Only an OPT record of the additional section is EDNS (RFC 6891 §6.1.1).
        tally.opt_ttl = None;
        let mut records = Vec::new();
        let next = parse_records(msg, pos, count, &mut records, &mut tally);
        match section {
            Section::Answer => out.answers = records,
            Section::Authority => out.authorities = records,
            _ => out.additionals = records,
        }
        match next {
            Some(next) => pos = next,
            None => {
                out.damaged = Some(section);
                if section != Section::Additional {
                    tally.opt_ttl = None;
                }
                break;
            }
        }
    }
    out.dropped_records = tally.dropped;
    out.bad_records = tally.bad;
    // The EDNS OPT record's TTL carries the upper 8 bits of the response code.
    if let Some(ttl) = tally.opt_ttl {
        let ext = (ttl >> 24) as u16;
        out.rcode = (ext << 4) | (out.flags & 0x000F);
    }
}

/// What the record sections add up to besides their records.
#[derive(Default)]
struct Tally {
    /// Records beyond [`MAX_RECORDS`] in a section, skipped.
    dropped: u32,
    /// Records whose data did not decode, skipped.
    bad: u32,
    /// TTL of the first OPT record (extended rcode and flags).
    opt_ttl: Option<u32>,
}

/// Decodes up to [`MAX_RECORDS`] records into `into`, skips the rest; a record whose data does
/// not decode is skipped and counted. Returns the position after the section, `None` when its
/// wire form is damaged.
fn parse_records(
    msg: &[u8],
    mut pos: usize,
    count: u16,
    into: &mut Vec<Answer>,
    tally: &mut Tally,
) -> Option<usize> {
    for i in 0..usize::from(count) {
        let (rtype, ttl, next) = if i < MAX_RECORDS {
            let (read, next) = read_record(msg, pos)?;
            match read {
                Read::Record(answer) => {
                    let seen = (answer.rtype, answer.ttl);
                    into.push(answer);
                    (seen.0, seen.1, next)
                }
                Read::Bad(header) => {
                    tally.bad += 1;
                    (header.rtype, header.ttl, next)
                }
            }
        } else {
            tally.dropped += 1;
            let (header, next) = skip_record(msg, pos)?;
            (header.rtype, header.ttl, next)
        };
        if rtype == rtype::OPT && tally.opt_ttl.is_none() {
            tally.opt_ttl = Some(ttl);
        }
        pos = next;
    }
    Some(pos)
}

/// Checks that `len` bytes follow `pos`; returns the position after them.
fn fixed(msg: &[u8], pos: usize, len: usize) -> Option<usize> {
    let end = pos.checked_add(len)?;
    (end <= msg.len()).then_some(end)
}

fn read_question(msg: &[u8], pos: usize) -> Option<(Question, usize)> {
    let (name, pos) = read_name(msg, pos)?;
    let mut parser = parser_at(msg, pos)?;
    let rtype = parser.parse_u16_be().ok()?;
    let rclass = parser.parse_u16_be().ok()?;
    let question = Question {
        name: name.text,
        rtype,
        rclass,
        name_truncated: name.truncated,
    };
    Some((question, parser.pos()))
}

/// The fixed part of a record after its owner name.
struct RecordHeader {
    rtype: u16,
    rclass: u16,
    ttl: u32,
    rdlen: usize,
}

/// Reads the fixed record header at `pos`; returns it and the rdata start.
fn record_header(msg: &[u8], pos: usize) -> Option<(RecordHeader, usize)> {
    let mut parser = parser_at(msg, pos)?;
    let header = RecordHeader {
        rtype: parser.parse_u16_be().ok()?,
        rclass: parser.parse_u16_be().ok()?,
        ttl: parser.parse_u32_be().ok()?,
        rdlen: usize::from(parser.parse_u16_be().ok()?),
    };
    parser.check_len(header.rdlen).ok()?;
    Some((header, parser.pos()))
}

/// One record read: decoded, or skipped because its owner name or data did not decode.
enum Read {
    Record(Answer),
    Bad(RecordHeader),
}

/// Reads the record at `pos`; returns it and the position after it, `None` when even its wire
/// extent (owner name, header, RDLENGTH) is broken.
fn read_record(msg: &[u8], pos: usize) -> Option<(Read, usize)> {
    let owner = read_name(msg, pos);
    let after_name = match &owner {
        Some((_, next)) => *next,
        None => skip_name(msg, pos)?,
    };
    let (header, start) = record_header(msg, after_name)?;
    let end = start + header.rdlen;
    let parsed = parse_rdata(msg, header.rtype, start, header.rdlen);
    let (Some((name, _)), Some(parsed)) = (owner, parsed) else {
        return Some((Read::Bad(header), end));
    };
    let answer = Answer {
        name: name.text,
        rtype: header.rtype,
        rclass: header.rclass,
        ttl: header.ttl,
        rdata: parsed.rdata,
        name_truncated: name.truncated,
        rdata_truncated: parsed.truncated,
    };
    Some((Read::Record(answer), end))
}

/// Skips a record without decoding names; returns its header and the end.
fn skip_record(msg: &[u8], pos: usize) -> Option<(RecordHeader, usize)> {
    let (header, start) = record_header(msg, skip_name(msg, pos)?)?;
    let end = start + header.rdlen;
    Some((header, end))
}

fn parser_at(msg: &[u8], pos: usize) -> Option<Parser<'_, [u8]>> {
    let mut parser = Parser::from_ref(msg);
    parser.advance(pos).ok()?;
    Some(parser)
}

/// Strict check that a UDP payload on a non-DNS port is a DNS message:
/// full header, opcode 0..=5, 1..=16 questions, record counts that fit the
/// payload's size, and a first question that parses.
pub fn probe_udp(payload: &[u8]) -> bool {
    plausible_message(payload, payload.len(), 16)
}

/// Strict check that a TCP stream starts with a length-prefixed DNS message (for DNS on non-DNS
/// ports). The counts are checked against the declared length, so a large message whose first
/// segment alone has arrived is recognised; up to 4096 questions are allowed.
pub fn probe_tcp(stream: &[u8]) -> bool {
    let Some(prefix) = stream.get(..2) else {
        return false;
    };
    let declared = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
    let available = &stream[2..stream.len().min(2 + declared)];
    if declared < 17 {
        return false;
    }
    if available.len() == declared {
        return plausible_message(available, declared, 4096);
    }
    // Only part of the message is here: the header must be sane and the first name well formed
    // as far as it goes.
    plausible_header(available, declared, 4096) && labels_well_formed(available, 12)
}

/// Whether the labels from `pos` are well formed up to the end of the name or of `bytes`.
fn labels_well_formed(bytes: &[u8], mut pos: usize) -> bool {
    while let Some(&len) = bytes.get(pos) {
        match len {
            0 => return true,
            1..=63 => pos += 1 + usize::from(len),
            0xc0..=0xff => return true,
            _ => return false,
        }
    }
    true
}

/// Header sanity and a parsable first question within the bytes at hand.
fn plausible_message(bytes: &[u8], declared_len: usize, max_questions: usize) -> bool {
    plausible_header(bytes, declared_len, max_questions) && read_question(bytes, 12).is_some()
}

/// Header sanity: a known opcode, 1 to `max_questions` questions, counts that fit `declared_len`.
fn plausible_header(bytes: &[u8], declared_len: usize, max_questions: usize) -> bool {
    let Ok(msg) = Message::from_slice(bytes) else {
        return false;
    };
    let (header, counts) = (msg.header(), msg.header_counts());
    let records = usize::from(counts.ancount())
        + usize::from(counts.nscount())
        + usize::from(counts.arcount());
    let qd = usize::from(counts.qdcount());
    // Smallest wire sizes: question 5 bytes (root + type/class), record 11.
    let min_len = 12 + qd * 5 + records * 11;
    header.opcode().to_int() <= 5 && (1..=max_questions).contains(&qd) && min_len <= declared_len
}

/// DNS over TCP framing: split the contiguous stream (one direction) into
/// complete length-prefixed messages. Returns the complete messages and how
/// many bytes were consumed; a partial message at the end stays (NeedMore).
/// A zero length prefix is consumed and yields no message.
pub fn split_tcp(stream: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut messages = Vec::new();
    let mut pos = 0;
    while let Some(prefix) = stream.get(pos..pos + 2) {
        let len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        let Some(message) = stream.get(pos + 2..pos + 2 + len) else {
            break;
        };
        if !message.is_empty() {
            messages.push(message);
        }
        pos += 2 + len;
    }
    (messages, pos)
}

impl DnsMessage {
    /// Addresses the response resolves, with their TTLs: A and AAAA answers, and the address
    /// hints of SVCB/HTTPS answers (clients connect to them as to A/AAAA answers).
    pub fn answer_addrs(&self) -> impl Iterator<Item = (IpAddr, u32)> + '_ {
        self.answers
            .iter()
            .filter(|_| self.is_response)
            .flat_map(|a| {
                let (one, hints): (Option<IpAddr>, Option<&svcb::Svcb>) = match &a.rdata {
                    Rdata::A(v4) => (Some(IpAddr::V4(*v4)), None),
                    Rdata::Aaaa(v6) => (Some(IpAddr::V6(*v6)), None),
                    Rdata::Svcb(s) => (None, Some(s)),
                    _ => (None, None),
                };
                let hints = hints.into_iter().flat_map(|s| {
                    s.ipv4hint
                        .iter()
                        .map(|v4| IpAddr::V4(*v4))
                        .chain(s.ipv6hint.iter().map(|v6| IpAddr::V6(*v6)))
                });
                one.into_iter().chain(hints).map(move |ip| (ip, a.ttl))
            })
    }

    /// The ECH configurations SVCB/HTTPS answers of the response publish, with their TTLs.
    pub fn ech_configs(&self) -> impl Iterator<Item = (&svcb::EchConfig, u32)> + '_ {
        self.answers
            .iter()
            .filter(|_| self.is_response)
            .filter_map(|a| match &a.rdata {
                Rdata::Svcb(s) => Some(s.ech.iter().map(move |c| (c, a.ttl))),
                _ => None,
            })
            .flatten()
    }
}
