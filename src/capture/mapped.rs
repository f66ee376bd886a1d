//! Zero-copy reading of a capture file that is a regular file: the file is memory-mapped and
//! pcap-parser's block parsers run over the mapping, so frames borrow the page cache directly
//! instead of being copied into a read buffer. The mapping is populated a window (4 MiB) ahead of the
//! reader and released a window behind it, so a replay's resident memory does not grow with the
//! file. Exposed as pcap-parser's own [`PcapReaderIterator`], so the block loop is the same for
//! files and pipes.
//!
//! A file that shrinks while it is read (a `tcpdump -C/-W` ring reopening its oldest file) must
//! end the read like any truncated capture, not kill the process: touching a mapped page past the
//! new end of the file raises SIGBUS. [`MappedCapture`] registers its range with a SIGBUS handler
//! ([`guard`]) that maps a zero page over the faulting page and marks the capture; before it
//! hands a record on, the reader checks the mark, and the file's size at every window, and it
//! stops at the first record that no longer lies inside the file.
//!
//! Records are not copied out of the mapping (a copy would cost as much as the decoding on bulk
//! traffic), so a cut that comes while a record is being decoded makes that record's bytes past
//! the cut read as zeros. The reader cannot undo what was decoded; it tells: when it finds the
//! cut, a last record handed on that reaches past it is reported ([`SliceReader::last_record_cut`],
//! named in the warning). Likewise a record that a cut splits inside a page reads its tail as
//! zeros, which look like padding; the next record then starts with zeros and stops the read.
//!
//! The one module where unsafe code is allowed (the crate denies it elsewhere): mapping the file,
//! telling the kernel about the pages around the reader, and the SIGBUS guard; each block says
//! why it is sound.
#![allow(unsafe_code)]

mod guard;

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

/// A capture file mapped read-only, guarded against shrinking while it is read.
pub(crate) struct MappedCapture {
    // Dropped first: the guard forgets the range before the mapping goes away.
    guard: guard::Registration,
    map: Mmap,
    file: File,
}

impl MappedCapture {
    /// The file's current length, if it can be read.
    fn current_len(&self) -> Option<u64> {
        self.file.metadata().ok().map(|m| m.len())
    }
}

/// Maps `file` read-only. `None` for an empty file (nothing to map).
pub(crate) fn map(file: File) -> std::io::Result<Option<MappedCapture>> {
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the mapping is read-only and private to this process. If another process truncates
    // the file while it is replayed, a read past the new end faults (SIGBUS): the guard
    // registered next turns that fault into a zero page and a mark the reader checks before it
    // hands on any byte it read (see the module's documentation).
    let map = unsafe { MmapOptions::new().map(&file)? };
    let _ = map.advise(Advice::Sequential);
    let guard = guard::Registration::new(map.as_ptr() as usize, map.len());
    Ok(Some(MappedCapture { guard, map, file }))
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
    map: Option<&'a MappedCapture>,
    /// Set once the file was found shorter than the mapping: its length then.
    shrunk_to: Option<u64>,
    /// End of the last record handed on.
    handed_end: usize,
    /// The last record handed on reaches past the length the file was cut to: the cut may have
    /// come while it was decoded, and its bytes past the cut then read as zeros.
    last_record_cut: bool,
    pos: usize,
    populated: usize,
    released: usize,
    /// Bytes populated ahead and kept behind ([`WINDOW`]; smaller in tests).
    window: usize,
    format: Format,
}

impl<'a> SliceReader<'a> {
    /// A reader over a whole mapped pcap or pcapng file.
    pub(crate) fn over_map(map: &'a MappedCapture) -> Result<Self, PcapError<&'static [u8]>> {
        let mut reader = Self::new(&map.map)?;
        if map.guard.faulted() {
            // The header itself was read from a page past the end: the file is gone.
            return Err(PcapError::Eof);
        }
        reader.map = Some(map);
        reader.advance_window();
        Ok(reader)
    }

    /// The file's length when it was found to have shrunk while being read (the read then stops
    /// at the first record past that length).
    pub(crate) fn shrunk_to(&self) -> Option<u64> {
        self.shrunk_to
    }

    /// Whether the last record handed on reaches past the length the file was cut to: the cut
    /// may have come while it was being decoded (records are not copied out of the mapping), so
    /// its bytes past the cut may have read as zeros.
    pub(crate) fn last_record_cut(&self) -> bool {
        self.last_record_cut
    }

    /// The file was found cut to `len` bytes.
    fn notice_cut(&mut self, len: u64) {
        if self.shrunk_to.is_none() {
            self.shrunk_to = Some(len);
            self.last_record_cut = self.handed_end as u64 > len;
        }
    }

    /// Whether the record at `start..end` of the mapping is still the file's: its pages are
    /// touched first (so that a page past a new end of file faults now, not while the record is
    /// decoded), then the guard's mark is checked, and the file's size when the record starts
    /// with eight zero bytes (what the rest of the last page reads as once the file is cut).
    fn still_in_file(&mut self, start: usize, end: usize) -> bool {
        let Some(map) = self.map else { return true };
        if let Some(len) = self.shrunk_to {
            return end as u64 <= len;
        }
        let zeros = self.data[start..end.min(start + 8)].iter().all(|&b| b == 0);
        if !map.guard.faulted() && !zeros {
            return true;
        }
        let len = map.current_len().unwrap_or(0);
        if len >= self.data.len() as u64 {
            return true;
        }
        self.notice_cut(len);
        end as u64 <= len
    }

    /// A block failed to parse at the reader's position: whether that is because the file
    /// shrank (the bytes read past its new end are zeros), which is then remembered.
    fn shrank_under(&mut self) -> bool {
        let Some(map) = self.map else { return false };
        if let Some(len) = map
            .current_len()
            .filter(|&len| len < self.data.len() as u64)
        {
            self.notice_cut(len);
        }
        self.shrunk_to.is_some()
    }

    /// Populates the window ahead of the reader and releases the pages a window behind it; before
    /// each window is populated the file's size is checked (a file found shorter than the
    /// mapping is not populated past its end, and the reader stops there).
    fn advance_window(&mut self) {
        let Some(capture) = self.map else { return };
        let map = &capture.map;
        let window = self.window;
        while self.populated < map.len() && self.pos + window / 2 >= self.populated {
            if let Some(len) = capture.current_len().filter(|&l| l < map.len() as u64) {
                self.notice_cut(len);
            }
            let end = match self.shrunk_to {
                Some(len) => (len as usize).min(map.len()),
                None => map.len(),
            };
            if self.populated >= end {
                break;
            }
            let len = window.min(end - self.populated);
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
            shrunk_to: None,
            handed_end: 0,
            last_record_cut: false,
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
                let len = data.len() - rest.len();
                let pos = self.pos;
                if !self.still_in_file(pos, pos + len) {
                    return Err(PcapError::UnexpectedEof);
                }
                self.handed_end = pos + len;
                prefetch(rest);
                Ok((len, block))
            }
            // Bytes read from a page past a new end of file are zeros: that is a truncation, not
            // damage.
            Err(_) if self.shrank_under() => Err(PcapError::UnexpectedEof),
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
        let map = map(file).unwrap().expect("non-empty");
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

    /// Reads a mapped file of 3000 frames that another writer cuts to `cut` bytes after the
    /// first `before` frames: (frames read, the length the reader saw, the error it ended with,
    /// whether the guard patched a page, whether the last frame handed on reached past the cut).
    fn read_while_cut(
        tag: &str,
        before: usize,
        cut: u64,
    ) -> (usize, Option<u64>, String, bool, bool) {
        let bytes = capture(3000);
        let path = std::env::temp_dir().join(format!("mapped-{tag}-{}.pcap", std::process::id()));
        File::create(&path).unwrap().write_all(&bytes).unwrap();
        let map = map(File::open(&path).unwrap()).unwrap().expect("non-empty");
        let mut reader = SliceReader::over_map(&map).unwrap();
        // One window over the whole file: no size check at a window, so only the guard (or the
        // zeros past the end) can notice the cut.
        reader.window = 8 << 20;
        let mut seen = 0;
        let err = loop {
            if seen == before {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(cut)
                    .unwrap();
            }
            match reader.next() {
                Ok((n, _)) => {
                    seen += 1;
                    reader.consume(n);
                }
                Err(e) => break format!("{e:?}"),
            }
        };
        std::fs::remove_file(&path).unwrap();
        let last_cut = reader.last_record_cut();
        (seen, reader.shrunk_to(), err, map.guard.faulted(), last_cut)
    }

    /// Frames of [`capture`] that end at or before byte `cut`: a 24-byte header, then frame `i`
    /// takes 16 bytes of record header and 100 + i % 900 of data.
    fn whole_frames_before(cut: u64) -> usize {
        let mut end = 24u64;
        (0..3000u64)
            .take_while(|i| {
                end += 16 + 100 + i % 900;
                end <= cut
            })
            .count()
    }

    #[test]
    fn a_file_cut_at_a_page_ends_the_read_without_a_signal() {
        // 64 KiB: records before it are whole; the next page faults (SIGBUS without the guard).
        let (seen, shrunk, err, faulted, last_cut) = read_while_cut("page", 10, 65_536);
        assert!(
            faulted,
            "the next page faulted and the guard patched it ({seen} {shrunk:?} {err})"
        );
        assert_eq!(shrunk, Some(65_536));
        assert_eq!(err, "UnexpectedEof");
        let frames = whole_frames_before(65_536);
        // The frame the cut splits was handed on (its tail, past the cut, was never read
        // here), and the reader says so; the next one faulted and stopped the read.
        assert_eq!(
            seen,
            1 + frames + 1,
            "the header, the whole frames, the split one"
        );
        assert!(last_cut, "the split frame is reported");
    }

    #[test]
    fn a_file_cut_inside_a_page_ends_where_it_was_cut() {
        // Mid-page: the rest of that page reads as zeros rather than faulting.
        let (seen, shrunk, err, faulted, last_cut) = read_while_cut("mid", 10, 40_000);
        assert!(last_cut, "the split frame is reported");
        assert!(!faulted, "the zeros were noticed before the next page");
        // The record the cut splits ends inside the same page: its tail reads as zeros. It
        // passes and is reported; the next record (all zeros) stops the read.
        assert_eq!(shrunk, Some(40_000));
        assert_eq!(err, "UnexpectedEof");
        let frames = whole_frames_before(40_000);
        assert_eq!(
            seen,
            1 + frames + 1,
            "the header, the whole frames, the split one"
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
