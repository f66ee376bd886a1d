//! The blocks of a pcap or pcapng capture, parsed in place from a byte slice: the file header
//! tells the format (classic pcap in either byte order, nanosecond or modified; pcapng in either
//! byte order), then each call parses the block at the start of the bytes it is given with
//! pcap-parser's block parsers. Blocks borrow the slice: nothing is copied.

use pcap_parser::nom::{self, IResult};
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapHeader,
};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::{PcapBlockOwned, PcapError};

type FrameParser = fn(&[u8]) -> IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

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
    Legacy { parse: FrameParser },
    Ng { big_endian: bool },
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
                let parse: FrameParser = if header.is_modified_format() {
                    parse_pcap_frame_modified
                } else if header.is_bigendian() {
                    parse_pcap_frame_be
                } else {
                    parse_pcap_frame
                };
                Detected::Legacy {
                    format: Format::Legacy { parse },
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
            Format::Legacy { parse } => {
                parse(data).map(|(rest, b)| (rest, PcapBlockOwned::from(b)))
            }
            Format::Ng { big_endian } => {
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
