//! The blocks of a pcap or pcapng capture, parsed in place from a byte slice: the file header
//! tells the format (classic pcap in either byte order, nanosecond or modified; pcapng in either
//! byte order), then each call parses the block at the start of the bytes it is given with
//! pcap-parser's block parsers. Blocks borrow the slice: nothing is copied.

use pcap_parser::nom;
use pcap_parser::pcap::{parse_pcap_header, LegacyPcapBlock, PcapHeader};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::{PcapBlockOwned, PcapError};

/// What parsing the bytes at the reader's position gave.
pub(crate) enum Parsed<'a> {
    /// A whole block, `len` bytes long.
    Block {
        len: usize,
        block: PcapBlockOwned<'a>,
    },
    /// The bytes end inside a block: more are needed (at the end of the input, a truncation).
    Incomplete,
    /// The bytes are not a block.
    Damaged(PcapError<&'a [u8]>),
}

/// The format of a capture, known from its file header.
pub(crate) enum Format {
    Legacy(Legacy),
    Ng { big_endian: bool },
}

/// The records of a classic pcap file: a 16-byte header (24 in the "modified" format of old
/// Red Hat tcpdumps) of timestamp, captured and original length, then the captured bytes. Read
/// here rather than through pcap-parser's block type: the hot loop of a replay (a record is
/// four integers and a slice; pcap-parser's reading is the same).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Legacy {
    big_endian: bool,
    header_len: usize,
}

/// One record of a classic pcap file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record<'a> {
    pub(crate) ts_sec: u32,
    /// Microseconds or nanoseconds, as the file header says.
    pub(crate) ts_frac: u32,
    pub(crate) orig_len: u32,
    pub(crate) data: &'a [u8],
}

impl Legacy {
    /// The record at the start of `data` and its length; `None` when `data` ends inside it.
    #[inline]
    pub(crate) fn record<'a>(&self, data: &'a [u8]) -> Option<(usize, Record<'a>)> {
        let header = data.get(..16)?;
        let word = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let caplen = word(8) as usize;
        let end = self.header_len.checked_add(caplen)?;
        let bytes = data.get(self.header_len..end)?;
        Some((
            end,
            Record {
                ts_sec: word(0),
                ts_frac: word(4),
                orig_len: word(12),
                data: bytes,
            },
        ))
    }
}

/// What the first bytes of a capture say.
pub(crate) enum Detected {
    /// Classic pcap: the file header is the first `len` bytes.
    Legacy {
        format: Format,
        header: PcapHeader,
        len: usize,
    },
    /// pcapng: the first block (the Section Header Block) is parsed by [`Format::next`].
    Ng(Format),
    /// Too few bytes to tell yet.
    NeedMore,
    /// Neither format's header.
    NotACapture,
}

impl Format {
    /// Reads the file header at the start of `data`.
    pub(crate) fn detect(data: &[u8]) -> Detected {
        match parse_sectionheaderblock(data) {
            Ok(_) => return Detected::Ng(Format::Ng { big_endian: false }),
            // A pcapng header starts with its magic; the rest of the block is still to come.
            Err(nom::Err::Incomplete(_)) if data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) => {
                return Detected::NeedMore
            }
            Err(_) => {}
        }
        match parse_pcap_header(data) {
            Ok((rest, header)) => {
                let modified = header.is_modified_format();
                let legacy = Legacy {
                    // The modified format is little-endian only (as pcap-parser reads it).
                    big_endian: header.is_bigendian() && !modified,
                    header_len: if modified { 24 } else { 16 },
                };
                Detected::Legacy {
                    format: Format::Legacy(legacy),
                    header,
                    len: data.len() - rest.len(),
                }
            }
            Err(nom::Err::Incomplete(_)) => Detected::NeedMore,
            Err(_) => Detected::NotACapture,
        }
    }

    /// Parses the block at the start of `data`.
    #[inline]
    pub(crate) fn next<'a>(&mut self, data: &'a [u8]) -> Parsed<'a> {
        if data.is_empty() {
            return Parsed::Incomplete;
        }
        let parsed = match self {
            Format::Legacy(legacy) => {
                return match legacy.record(data) {
                    Some((len, r)) => Parsed::Block {
                        len,
                        block: PcapBlockOwned::Legacy(LegacyPcapBlock {
                            ts_sec: r.ts_sec,
                            ts_usec: r.ts_frac,
                            caplen: r.data.len() as u32,
                            origlen: r.orig_len,
                            data: r.data,
                        }),
                    },
                    None => Parsed::Incomplete,
                }
            }
            Format::Ng { big_endian } => {
                // pcap-parser subtracts 12 from a block's length before checking it against
                // every block type's minimum (an overflow on a length below 12): refuse those
                // here. A Section Header Block has its own byte order and checks its length.
                if let Some(&[t0, t1, t2, t3, l0, l1, l2, l3]) = data.get(..8) {
                    let len = if *big_endian {
                        u32::from_be_bytes([l0, l1, l2, l3])
                    } else {
                        u32::from_le_bytes([l0, l1, l2, l3])
                    };
                    if [t0, t1, t2, t3] != [0x0a, 0x0d, 0x0d, 0x0a] && len < 12 {
                        return Parsed::Damaged(PcapError::NomError(
                            data,
                            nom::error::ErrorKind::Verify,
                        ));
                    }
                }
                let parse = if *big_endian {
                    parse_block_be
                } else {
                    parse_block_le
                };
                parse(data).map(|(rest, b)| {
                    if let Block::SectionHeader(shb) = &b {
                        *big_endian = shb.big_endian();
                    }
                    (rest, PcapBlockOwned::from(b))
                })
            }
        };
        match parsed {
            Ok((rest, block)) => Parsed::Block {
                len: data.len() - rest.len(),
                block,
            },
            Err(nom::Err::Incomplete(_)) => Parsed::Incomplete,
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Parsed::Damaged(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian pcapng Section Header Block (no options).
    fn section_header() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        b.extend_from_slice(&[1, 0, 0, 0]);
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b
    }

    #[test]
    fn a_pcapng_block_shorter_than_its_own_header_is_damage_not_a_panic() {
        let mut data = section_header();
        // An Interface Description Block claiming 8 bytes (pcap-parser would take 8 - 12).
        data.extend_from_slice(&1u32.to_le_bytes());
        data.extend_from_slice(&8u32.to_le_bytes());
        data.extend_from_slice(&[0; 16]);
        let Detected::Ng(mut format) = Format::detect(&data) else {
            panic!("pcapng not recognised")
        };
        let Parsed::Block { len, .. } = format.next(&data) else {
            panic!("the section header parses")
        };
        assert_eq!(len, 28);
        assert!(matches!(format.next(&data[len..]), Parsed::Damaged(_)));
    }

    #[test]
    fn the_format_is_known_once_the_header_is_whole() {
        let mut legacy = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        legacy.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        legacy.extend_from_slice(&65535u32.to_le_bytes());
        legacy.extend_from_slice(&1u32.to_le_bytes());
        assert!(matches!(Format::detect(&legacy[..10]), Detected::NeedMore));
        assert!(matches!(
            Format::detect(&legacy),
            Detected::Legacy { len: 24, .. }
        ));
        assert!(matches!(
            Format::detect(&section_header()[..6]),
            Detected::NeedMore
        ));
        assert!(matches!(
            Format::detect(b"GET / HTTP/1.1\r\n\r\n........"),
            Detected::NotACapture
        ));
    }
}
