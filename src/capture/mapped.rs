//! Zero-copy reading of a capture file that is a regular file: the file is memory-mapped and
//! pcap-parser's block parsers run over the mapping, so frames borrow the page cache directly
//! instead of being copied into a read buffer. The mapping is populated a window (4 MiB) ahead of the
//! reader and released a window behind it, so a replay's resident memory does not grow with the
//! file. Exposed as pcap-parser's own [`PcapReaderIterator`], so the block loop is the same for
//! files and pipes.
//!
//! The one module where unsafe code is allowed (the crate denies it elsewhere): mapping the file
//! and telling the kernel about the pages around the reader; each block says why it is sound.
#![allow(unsafe_code)]

use memmap2::{Advice, UncheckedAdvice};
use memmap2::{Mmap, MmapOptions};
use pcap_parser::nom::{self, IResult};
use pcap_parser::pcap::{
    parse_pcap_frame, parse_pcap_frame_be, parse_pcap_frame_modified, parse_pcap_header,
    LegacyPcapBlock, PcapHeader,
};
use pcap_parser::pcapng::{parse_block_be, parse_block_le, parse_sectionheaderblock, Block};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;

/// Maps `file` read-only. `None` for an empty file (nothing to map).
pub(crate) fn map(file: &File) -> std::io::Result<Option<Mmap>> {
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the mapping is read-only and private to this process. If another process truncates
    // the file while it is replayed, reads past the new end fault (SIGBUS); capture tools only
    // append, and a capture being rewritten in place is not a supported input.
    let map = unsafe { MmapOptions::new().map(file)? };
    let _ = map.advise(Advice::Sequential);
    Ok(Some(map))
}

/// Asks the CPU to fetch the next record's header and the start of its packet (two cache lines)
/// while this one is processed: records are far apart, so the hardware prefetcher misses them,
/// and waiting for memory at every packet costs more than decoding it.
#[inline]
fn prefetch(next: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // The next record's header and packet headers, and lines further on: records are small
        // in handshake-heavy traffic, so one record ahead is not far enough to hide the wait.
        for offset in [0usize, 64, 1024, 2048] {
            if let Some(byte) = next.get(offset) {
                // SAFETY: a prefetch is only a hint; the address is inside the mapping.
                unsafe { _mm_prefetch::<_MM_HINT_T0>((byte as *const u8).cast()) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = next;
}

type FrameParser = fn(&[u8]) -> IResult<&[u8], LegacyPcapBlock<'_>, PcapError<&[u8]>>;

enum Format {
    Legacy {
        header: PcapHeader,
        header_size: usize,
        parse: FrameParser,
    },
    Ng {
        big_endian: bool,
    },
}

/// Bytes of mapping populated ahead of the reader, and kept behind it before release.
const WINDOW: usize = 4 << 20;

/// Blocks of a capture held in memory, as pcap-parser's reader trait.
pub(crate) struct SliceReader<'a> {
    data: &'a [u8],
    /// The mapping behind `data`, when it is one (populated and released by window).
    map: Option<&'a Mmap>,
    pos: usize,
    populated: usize,
    released: usize,
    /// Bytes populated ahead and kept behind ([`WINDOW`]; smaller in tests).
    window: usize,
    format: Format,
}

impl<'a> SliceReader<'a> {
    /// A reader over a whole mapped pcap or pcapng file.
    pub(crate) fn over_map(map: &'a Mmap) -> Result<Self, PcapError<&'static [u8]>> {
        let mut reader = Self::new(map)?;
        reader.map = Some(map);
        reader.advance_window();
        Ok(reader)
    }

    /// Populates the window ahead of the reader and releases the pages a window behind it.
    fn advance_window(&mut self) {
        let Some(map) = self.map else { return };
        let window = self.window;
        while self.populated < map.len() && self.pos + window / 2 >= self.populated {
            let len = window.min(map.len() - self.populated);
            // Errors only mean the kernel lacks the advice: pages then fault in as read.
            let _ = map.advise_range(Advice::PopulateRead, self.populated, len);
            self.populated += len;
        }
        while self.pos >= self.released + 2 * window {
            // SAFETY: a read-only file mapping: dropped pages are read again from the file on
            // the next access, no data is lost; no frame borrows bytes behind the reader.
            let _ = unsafe {
                map.unchecked_advise_range(UncheckedAdvice::DontNeed, self.released, window)
            };
            self.released += window;
        }
    }

    /// A reader over `data`, a whole pcap or pcapng file.
    pub(crate) fn new(data: &'a [u8]) -> Result<Self, PcapError<&'static [u8]>> {
        if data.is_empty() {
            return Err(PcapError::Eof);
        }
        let format = if parse_sectionheaderblock(data).is_ok() {
            Format::Ng { big_endian: false }
        } else {
            match parse_pcap_header(data) {
                Ok((rest, header)) => {
                    let parse: FrameParser = if header.is_modified_format() {
                        parse_pcap_frame_modified
                    } else if header.is_bigendian() {
                        parse_pcap_frame_be
                    } else {
                        parse_pcap_frame
                    };
                    Format::Legacy {
                        header_size: data.len() - rest.len(),
                        header,
                        parse,
                    }
                }
                Err(nom::Err::Incomplete(_)) => return Err(PcapError::UnexpectedEof),
                Err(_) => return Err(PcapError::HeaderNotRecognized),
            }
        };
        Ok(SliceReader {
            data,
            map: None,
            pos: 0,
            populated: 0,
            released: 0,
            window: WINDOW,
            format,
        })
    }
}

impl PcapReaderIterator for SliceReader<'_> {
    fn next(&mut self) -> Result<(usize, PcapBlockOwned<'_>), PcapError<&[u8]>> {
        let data = &self.data[self.pos..];
        if let Format::Legacy {
            header,
            header_size,
            ..
        } = &self.format
        {
            if self.pos == 0 {
                return Ok((*header_size, PcapBlockOwned::from(header.clone())));
            }
        }
        if data.is_empty() {
            return Err(PcapError::Eof);
        }
        let parsed = match &mut self.format {
            Format::Legacy { parse, .. } => {
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
            Ok((rest, block)) => {
                prefetch(rest);
                Ok((data.len() - rest.len(), block))
            }
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => Err(e),
            // All of the file is here: a record cut short is the end of a truncated capture.
            Err(nom::Err::Incomplete(_)) => Err(PcapError::UnexpectedEof),
        }
    }

    fn consume(&mut self, offset: usize) {
        self.pos = (self.pos + offset).min(self.data.len());
        if self.pos + self.window / 2 >= self.populated {
            self.advance_window();
        }
    }

    fn consume_noshift(&mut self, offset: usize) {
        self.consume(offset);
    }

    fn consumed(&self) -> usize {
        self.pos
    }

    fn refill(&mut self) -> Result<(), PcapError<&[u8]>> {
        Ok(())
    }

    fn position(&self) -> usize {
        self.pos
    }

    fn grow(&mut self, _new_size: usize) -> bool {
        false
    }

    fn data(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    fn reader_exhausted(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A classic pcap of `n` raw-IP frames whose bytes encode their index.
    fn capture(n: u32) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&101u32.to_le_bytes());
        for i in 0..n {
            let len = 100 + (i % 900);
            for v in [i, 0, len, len] {
                f.extend_from_slice(&v.to_le_bytes());
            }
            f.extend((0..len).map(|j| (i + j) as u8));
        }
        f
    }

    /// Every frame's (index, length, first byte) as the reader yields them.
    fn frames(reader: &mut dyn PcapReaderIterator) -> Vec<(u32, usize, u8)> {
        let mut out = Vec::new();
        loop {
            match reader.next() {
                Ok((n, block)) => {
                    if let PcapBlockOwned::Legacy(b) = block {
                        out.push((b.ts_sec, b.data.len(), b.data[0]));
                    }
                    reader.consume(n);
                }
                Err(PcapError::Eof) => return out,
                Err(PcapError::Incomplete(_)) => reader.refill().expect("refill"),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
    }

    #[test]
    fn a_mapping_read_by_small_windows_gives_every_frame_as_a_stream_does() {
        let bytes = capture(3000);
        let path = std::env::temp_dir().join(format!("mapped-{}.pcap", std::process::id()));
        File::create(&path).unwrap().write_all(&bytes).unwrap();
        let file = File::open(&path).unwrap();
        let map = map(&file).unwrap().expect("non-empty");
        let mut mapped = SliceReader::over_map(&map).unwrap();
        mapped.window = 64 * 1024; // ~1.6 MB file: 25 windows populated and released
        let from_map = frames(&mut mapped);
        let from_stream = frames(&mut *pcap_parser::create_reader(65536, &bytes[..]).unwrap());
        std::fs::remove_file(&path).unwrap();
        assert_eq!(from_map.len(), 3000);
        assert_eq!(from_map, from_stream);
        assert!(
            mapped.released >= 20 * 64 * 1024,
            "released {}",
            mapped.released
        );
    }

    #[test]
    fn a_record_cut_short_is_a_truncated_capture() {
        let bytes = capture(3);
        let mut reader = SliceReader::new(&bytes[..bytes.len() - 10]).unwrap();
        let mut seen = 0;
        let err = loop {
            match reader.next() {
                Ok((n, _)) => {
                    seen += 1;
                    reader.consume(n);
                }
                Err(e) => break e,
            }
        };
        assert_eq!(seen, 3, "header and two whole frames");
        assert!(matches!(err, PcapError::UnexpectedEof));
    }
}
