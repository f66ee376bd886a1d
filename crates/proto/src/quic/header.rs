//! QUIC long headers (RFC 8999 invariants, RFC 9000 §17.2, RFC 9369 §3.2): the version, the
//! connection IDs, and for Initial packets the token and the protected part; variable-length
//! integers (RFC 9000 §16). A view over the datagram's bytes: nothing is copied.

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const VERSION_2: u32 = 0x6b33_43cf;
/// Longest connection ID a v1/v2 packet may carry (RFC 9000 §17.2).
const MAX_CID_LEN: usize = 20;

/// Reads a variable-length integer; returns it and the bytes after it.
pub fn varint(b: &[u8]) -> Option<(u64, &[u8])> {
    let first = *b.first()?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for &x in &bytes[1..] {
        v = (v << 8) | u64::from(x);
    }
    Some((v, &b[len..]))
}

/// The type of a long-header packet, independent of the version's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

impl LongType {
    /// The type from the two type bits of the first byte, as `version` numbers them.
    fn from_bits(version: u32, bits: u8) -> LongType {
        let v1 = [
            LongType::Initial,
            LongType::ZeroRtt,
            LongType::Handshake,
            LongType::Retry,
        ];
        let v2 = [
            LongType::Retry,
            LongType::Initial,
            LongType::ZeroRtt,
            LongType::Handshake,
        ];
        let table = if version == VERSION_2 { v2 } else { v1 };
        table[usize::from(bits & 3)]
    }
}

/// One long-header packet of a datagram (which may hold several, coalesced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongPacket<'a> {
    pub version: u32,
    /// The type, for versions 1 and 2; `None` for other versions (their layout is unknown).
    pub kind: Option<LongType>,
    pub dcid: &'a [u8],
    pub scid: &'a [u8],
    /// Initial packets: the token; empty otherwise.
    pub token: &'a [u8],
    /// The whole packet, first byte to the end of its payload (Length field honoured).
    pub packet: &'a [u8],
    /// Offset of the packet number in `packet` (Initial, 0-RTT, Handshake).
    pub pn_offset: usize,
}

/// What the first bytes of a UDP payload are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header<'a> {
    /// A long header (version 0 is Version Negotiation).
    Long(LongPacket<'a>),
    /// A short-header (1-RTT) packet, or anything else that is not a long header.
    Short,
}

/// Parses the long-header packet at the start of `b`; `None` when it is cut or malformed.
/// For versions 1 and 2 the packet ends where its Length field says (coalesced packets follow);
/// for other versions (Version Negotiation, gQUIC, drafts) it takes the rest of the datagram.
pub fn parse(b: &[u8]) -> Option<Header<'_>> {
    let first = *b.first()?;
    if first & 0x80 == 0 {
        return Some(Header::Short);
    }
    let version = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?);
    let dcid_len = usize::from(*b.get(5)?);
    let dcid = b.get(6..6 + dcid_len)?;
    let at = 6 + dcid_len;
    let scid_len = usize::from(*b.get(at)?);
    let scid = b.get(at + 1..at + 1 + scid_len)?;
    let mut rest = &b[at + 1 + scid_len..];
    let v1_or_v2 = version == VERSION_1 || version == VERSION_2;
    if !v1_or_v2 {
        return Some(Header::Long(LongPacket {
            version,
            kind: None,
            dcid,
            scid,
            token: &[],
            packet: b,
            pn_offset: b.len() - rest.len(),
        }));
    }
    if dcid_len > MAX_CID_LEN || scid_len > MAX_CID_LEN {
        return None;
    }
    let kind = LongType::from_bits(version, first >> 4);
    let mut token: &[u8] = &[];
    if kind == LongType::Retry {
        return Some(Header::Long(LongPacket {
            version,
            kind: Some(kind),
            dcid,
            scid,
            token: rest,
            packet: b,
            pn_offset: b.len(),
        }));
    }
    if kind == LongType::Initial {
        let (len, r) = varint(rest)?;
        token = r.get(..usize::try_from(len).ok()?)?;
        rest = &r[token.len()..];
    }
    let (len, r) = varint(rest)?;
    let pn_offset = b.len() - r.len();
    let end = pn_offset.checked_add(usize::try_from(len).ok()?)?;
    let packet = b.get(..end)?;
    Some(Header::Long(LongPacket {
        version,
        kind: Some(kind),
        dcid,
        scid,
        token,
        packet,
        pn_offset,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_rfc_9000_appendix_a_1() {
        let cases: [(&[u8], u64); 4] = [
            (
                &[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c],
                151_288_809_941_952_652,
            ),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
        ];
        for (bytes, want) in cases {
            assert_eq!(varint(bytes), Some((want, &[][..])));
        }
        assert_eq!(varint(&[0x40, 0x25]), Some((37, &[][..])));
        assert_eq!(varint(&[0x80, 0x00]), None);
        assert_eq!(varint(&[]), None);
    }

    #[test]
    fn cut_and_oversized_headers_are_refused() {
        let mut p = vec![0xc0, 0, 0, 0, 1, 21];
        p.extend([0u8; 21]);
        p.push(0);
        assert_eq!(parse(&p), None, "a 21-byte DCID is not v1");
        for n in 0..6 {
            assert_eq!(parse(&[0xc0, 0, 0, 0, 1, 8][..n]), None);
        }
        assert_eq!(parse(&[0x40, 1, 2]), Some(Header::Short));
    }

    #[test]
    fn version_2_numbers_its_types_differently() {
        assert_eq!(LongType::from_bits(VERSION_2, 1), LongType::Initial);
        assert_eq!(LongType::from_bits(VERSION_2, 0), LongType::Retry);
        assert_eq!(LongType::from_bits(VERSION_1, 0), LongType::Initial);
        assert_eq!(LongType::from_bits(VERSION_1, 3), LongType::Retry);
    }
}
