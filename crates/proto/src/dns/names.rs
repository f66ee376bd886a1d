//! DNS names: decoding and printing the way Suricata prints them.
//!
//! Names are decoded with `domain`'s [`ParsedName`] first. `domain` is
//! deliberately strict and refuses two things that real traffic (and the
//! Suricata test corpus) contains and that must still be logged:
//!
//! * compression pointers that point *forward* (dns-forward-pointer), and
//! * names whose expansion exceeds 255 octets (dns-truncated-rname).
//!
//! Only when `domain` refuses a name does [`read_name`] fall back to a small,
//! bounded decoder that follows Suricata's rules: at most 256 label/pointer
//! steps, the printed name capped at [`MAX_NAME_LEN`] bytes with a
//! `truncated` flag, and the name ends where the first pointer was read.

use domain::base::name::ParsedName;
use domain::dep::octseq::Parser;

/// Suricata's cap on a printed name (bytes); longer names are truncated.
pub(crate) const MAX_NAME_LEN: usize = 1025;

/// Label plus pointer steps allowed per name (Suricata: 255, then give up).
const MAX_NAME_STEPS: usize = 256;

/// A decoded name: labels joined with '.', no trailing dot, root = "".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DnsName {
    /// The printable name (see [`bytes_to_string`]).
    pub(crate) text: String,
    /// The name was longer than [`MAX_NAME_LEN`] (or looped) and was cut.
    pub(crate) truncated: bool,
}

/// Decodes the name at `pos` of `msg`; returns it and the offset just past
/// its wire form. `None` if the name is malformed.
pub(crate) fn read_name(msg: &[u8], pos: usize) -> Option<(DnsName, usize)> {
    strict_name(msg, pos).or_else(|| lenient_name(msg, pos))
}

/// Skips the wire form of the name at `pos` without following pointers.
pub(crate) fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *msg.get(pos)?;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => pos += 1 + usize::from(len),
            0xC0 => return (pos + 2 <= msg.len()).then_some(pos + 2),
            _ => return None,
        }
    }
}

/// Prints a name that `domain` parsed (inside record data, for example).
pub(crate) fn parsed_name_text(name: &ParsedName<&[u8]>) -> String {
    let mut out = Vec::with_capacity(64);
    for label in name.iter().filter(|label| !label.is_root()) {
        if !out.is_empty() {
            out.push(b'.');
        }
        out.extend_from_slice(label.as_slice());
    }
    bytes_to_string(&out)
}

/// Suricata's byte-to-string rule: valid UTF-8 is kept as is; otherwise
/// ASCII bytes are kept and every byte >= 0x80 becomes the text `\xNN`.
pub(crate) use crate::text::bytes_text as bytes_to_string;

/// The normal path: `domain` parses (and bounds) the name.
fn strict_name(msg: &[u8], pos: usize) -> Option<(DnsName, usize)> {
    let mut parser = Parser::from_ref(msg);
    parser.advance(pos).ok()?;
    let name = ParsedName::parse_ref(&mut parser).ok()?;
    let text = parsed_name_text(&name);
    Some((
        DnsName {
            text,
            truncated: false,
        },
        parser.pos(),
    ))
}

/// Accumulates labels of a name under Suricata's length cap.
struct NameBuf {
    bytes: Vec<u8>,
    truncated: bool,
}

impl NameBuf {
    fn push_label(&mut self, label: &[u8]) {
        if self.truncated {
            return;
        }
        if !self.bytes.is_empty() {
            self.bytes.push(b'.');
        }
        self.bytes.extend_from_slice(label);
        if self.bytes.len() > MAX_NAME_LEN {
            self.bytes.truncate(MAX_NAME_LEN);
            self.truncated = true;
        }
    }

    fn finish(self, end: usize) -> (DnsName, usize) {
        let name = DnsName {
            text: bytes_to_string(&self.bytes),
            truncated: self.truncated,
        };
        (name, end)
    }
}

/// Fallback for what `domain` refuses (forward pointers, > 255 octets).
/// Bounded: at most [`MAX_NAME_STEPS`] labels/pointers are visited.
fn lenient_name(msg: &[u8], start: usize) -> Option<(DnsName, usize)> {
    let mut buf = NameBuf {
        bytes: Vec::new(),
        truncated: false,
    };
    let mut pos = start;
    // Where the name ends in the wire data once a pointer was followed.
    let mut pivot: Option<usize> = None;
    for _ in 0..MAX_NAME_STEPS {
        let len = *msg.get(pos)?;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(buf.finish(pivot.unwrap_or(pos + 1))),
            0x00 => {
                let end = pos + 1 + usize::from(len);
                buf.push_label(msg.get(pos + 1..end)?);
                pos = end;
                if buf.truncated && pivot.is_some() {
                    break;
                }
            }
            0xC0 => {
                let target = usize::from(u16::from_be_bytes([len, *msg.get(pos + 1)?]) & 0x3FFF);
                if target >= msg.len() || (target == pos && pivot.is_none()) {
                    return None;
                }
                pivot.get_or_insert(pos + 2);
                if target == pos {
                    break;
                }
                pos = target;
            }
            _ => return None,
        }
    }
    // Step limit hit (a pointer loop) or truncated after a pointer: the
    // wire end is known only if a pointer was followed.
    let end = pivot?;
    buf.truncated = true;
    Some(buf.finish(end))
}
