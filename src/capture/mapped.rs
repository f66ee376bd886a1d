//! Zero-copy reading of a capture file that is a regular file: the file is memory-mapped and
//! pcap-parser's block parsers run over the mapping, so frames borrow the page cache directly
//! instead of being copied into a read buffer. The mapping is populated a window (4 MiB) ahead of the
//! reader and released a window behind it, so a replay's resident memory does not grow with the
//! file. Exposed as a [`ByteSource`], so the block loop is the same for files and pipes, and
//! shared ([`SharedBytes`]) with the worker threads, which read their packets in place.
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
//! cut, a last record handed on that reaches past it is reported ([`MappedReader::last_record_cut`],
//! named in the warning). Likewise a record that a cut splits inside a page reads its tail as
//! zeros, which look like padding; the next record then starts with zeros and stops the read.
//!
//! The one module where unsafe code is allowed (the crate denies it elsewhere): mapping the file,
//! telling the kernel about the pages around the reader, and the SIGBUS guard; each block says
//! why it is sound.
#![allow(unsafe_code)]

mod guard;

use super::bytes::{ByteSource, SharedBytes};
use memmap2::{Advice, UncheckedAdvice};
use memmap2::{Mmap, MmapOptions};
use std::cell::Cell;
use std::fs::File;
use std::sync::Arc;

/// A capture file mapped read-only, guarded against shrinking while it is read.
pub(crate) struct MappedCapture {
    // Dropped first: the guard forgets the range before the mapping goes away.
    guard: guard::Registration,
    map: Mmap,
    file: File,
}

impl MappedCapture {
    /// The whole mapping.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

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

/// Bytes of mapping populated ahead of the reader, and kept behind it before release.
const WINDOW: usize = 4 << 20;
/// Windows behind the reader released again at each release (a page a worker touched after its
/// release is mapped again).
const RELEASE_AGAIN: usize = 4;
/// Windows kept behind the reader when worker threads read packets there: they lag behind it by
/// their queues (16 batches of up to 256 packets each), and a page released before they are done
/// is faulted in again and released again, work twice over.
const KEEP_FOR_WORKERS: usize = 4;

/// A mapped capture file read front to back.
pub(crate) struct MappedReader {
    map: Arc<MappedCapture>,
    /// Set once the file was found shorter than the mapping: its length then.
    shrunk_to: Cell<Option<u64>>,
    /// End of the last record handed on.
    handed_end: Cell<usize>,
    /// The last record handed on reaches past the length the file was cut to: the cut may have
    /// come while it was decoded, and its bytes past the cut then read as zeros.
    last_record_cut: Cell<bool>,
    pos: usize,
    populated: usize,
    released: usize,
    /// Bytes populated ahead and kept behind ([`WINDOW`]; smaller in tests).
    window: usize,
    /// The thread that tells the kernel about the pages, when there is one.
    pager: Option<Pager>,
    /// How far ahead of the reader the next window is populated.
    lead: usize,
    /// How far behind the reader pages are kept before they are released.
    keep: usize,
}

/// What the pager thread is asked to do: (populate or release, start, length).
type PageRequest = (bool, usize, usize);

/// A thread of its own for the page-table work of the mapping (populating windows ahead,
/// releasing them behind: about a third of the reading thread's time on bulk traffic), so that
/// the reader only reads. Ends when the reader drops it.
struct Pager {
    requests: Option<crossbeam_channel::Sender<PageRequest>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Pager {
    fn start(map: Arc<MappedCapture>) -> Option<Pager> {
        let (requests, inbox) = crossbeam_channel::bounded::<PageRequest>(16);
        let thread = std::thread::Builder::new()
            .name("capture-pager".into())
            .spawn(move || {
                for (populate, start, len) in inbox {
                    page(&map.map, populate, start, len);
                }
            })
            .ok()?;
        Some(Pager {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    /// Hands the request to the thread; `false` when it cannot take it now (the caller does it).
    fn ask(&self, request: PageRequest) -> bool {
        self.requests
            .as_ref()
            .is_some_and(|r| r.try_send(request).is_ok())
    }
}

impl Drop for Pager {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Populates (`populate`) or releases `len` bytes of `map` from `start`.
fn page(map: &Mmap, populate: bool, start: usize, len: usize) {
    if populate {
        // Errors only mean the kernel lacks the advice (or the file was cut: populating then
        // stops with EFAULT, never a signal): pages then fault in as read.
        let _ = map.advise_range(Advice::PopulateRead, start, len);
    } else {
        // SAFETY: a read-only, private file mapping never written to: dropped pages are read
        // again from the file on the next access (by the reader or a worker that still reads a
        // packet there), so no data is lost and every borrow stays valid.
        let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, len) };
    }
}

impl MappedReader {
    /// A reader over a whole mapped file. `None` when even its first page is gone (the file
    /// was cut to nothing after it was mapped).
    pub(crate) fn new(map: Arc<MappedCapture>) -> Option<Self> {
        let mut reader = MappedReader {
            map,
            shrunk_to: Cell::new(None),
            handed_end: Cell::new(0),
            last_record_cut: Cell::new(false),
            pos: 0,
            populated: 0,
            released: 0,
            window: WINDOW,
            pager: None,
            lead: WINDOW / 2,
            keep: WINDOW,
        };
        reader.advance_window();
        // Touch the first byte: a file cut to nothing faults here, and the guard marks it.
        let first = reader.map.bytes().first().copied();
        std::hint::black_box(first);
        (!reader.map.guard.faulted()).then_some(reader)
    }

    /// Windows of `window` bytes instead of [`WINDOW`] (tests read small files by many windows).
    #[cfg(test)]
    fn set_window(&mut self, window: usize) {
        let paged = self.pager.is_some();
        self.window = window;
        self.lead = if paged { 2 * window } else { window / 2 };
        self.keep = if paged {
            KEEP_FOR_WORKERS * window
        } else {
            window
        };
    }

    /// Moves the page-table work to a thread of its own (when the system starts one): for runs
    /// that have cores to spare.
    pub(crate) fn page_in_background(&mut self) {
        self.pager = Pager::start(self.map.clone());
        if self.pager.is_some() {
            // The pager's window must be ready before the reader gets there; workers read behind.
            self.lead = 2 * self.window;
            self.keep = KEEP_FOR_WORKERS * self.window;
        }
    }

    /// The file's length when it was found to have shrunk while being read (the read then stops
    /// at the first record past that length).
    pub(crate) fn shrunk_to(&self) -> Option<u64> {
        self.shrunk_to.get()
    }

    /// Whether the last record handed on reaches past the length the file was cut to: the cut
    /// may have come while it was being decoded (records are not copied out of the mapping), so
    /// its bytes past the cut may have read as zeros.
    pub(crate) fn last_record_cut(&self) -> bool {
        self.last_record_cut.get()
    }

    /// The file was found cut to `len` bytes.
    fn notice_cut(&self, len: u64) {
        if self.shrunk_to.get().is_none() {
            self.shrunk_to.set(Some(len));
            self.last_record_cut.set(self.handed_end.get() as u64 > len);
        }
    }

    /// Whether the record at `start..end` of the mapping is still the file's: its pages are
    /// touched first (so that a page past a new end of file faults now, not while the record is
    /// decoded), then the guard's mark is checked, and the file's size when the record starts
    /// with eight zero bytes (what the rest of the last page reads as once the file is cut).
    fn still_in_file(&self, start: usize, end: usize) -> bool {
        let map = &*self.map;
        if let Some(len) = self.shrunk_to.get() {
            return end as u64 <= len;
        }
        let zeros = map.bytes()[start..end.min(start + 8)]
            .iter()
            .all(|&b| b == 0);
        if !map.guard.faulted() && !zeros {
            return true;
        }
        let len = map.current_len().unwrap_or(0);
        if len >= map.bytes().len() as u64 {
            return true;
        }
        self.notice_cut(len);
        end as u64 <= len
    }

    /// A block failed to parse at the reader's position: whether that is because the file
    /// shrank (the bytes read past its new end are zeros), which is then remembered.
    fn shrank_under(&self) -> bool {
        if let Some(len) = self
            .map
            .current_len()
            .filter(|&len| len < self.map.bytes().len() as u64)
        {
            self.notice_cut(len);
        }
        self.shrunk_to.get().is_some()
    }

    /// Populates the window ahead of the reader and releases the pages a window behind it; before
    /// each window is populated the file's size is checked (a file found shorter than the
    /// mapping is not populated past its end, and the reader stops there).
    fn advance_window(&mut self) {
        let capture = &*self.map;
        let map = &capture.map;
        let window = self.window;
        while self.populated < map.len() && self.pos + self.lead >= self.populated {
            if let Some(len) = capture.current_len().filter(|&l| l < map.len() as u64) {
                self.notice_cut(len);
            }
            let end = match self.shrunk_to.get() {
                Some(len) => (len as usize).min(map.len()),
                None => map.len(),
            };
            if self.populated >= end {
                break;
            }
            let len = window.min(end - self.populated);
            let request = (true, self.populated, len);
            if !self.pager.as_ref().is_some_and(|p| p.ask(request)) {
                page(map, true, self.populated, len);
            }
            self.populated += len;
        }
        if self.pos >= self.released + self.keep + window {
            // The last few windows again, not only the newest: worker threads read their packets
            // behind the reader, and a page they touched after it was dropped is mapped again;
            // dropping it again keeps resident memory flat.
            let upto = (self.pos - self.keep) / window * window;
            let from = upto.saturating_sub(RELEASE_AGAIN * window);
            let request = (false, from, upto - from);
            if !self.pager.as_ref().is_some_and(|p| p.ask(request)) {
                page(map, false, from, upto - from);
            }
            self.released = upto;
        }
    }
}

impl ByteSource for MappedReader {
    #[inline]
    fn data(&self) -> &[u8] {
        &self.map.bytes()[self.pos..]
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.map.bytes().len());
        if self.pos + self.lead >= self.populated {
            self.advance_window();
        }
    }

    fn refill(&mut self) -> std::io::Result<bool> {
        // All of the file is mapped: a record cut short is the end of a truncated capture.
        Ok(false)
    }

    fn shared(&self) -> SharedBytes {
        SharedBytes::mapped(self.map.clone())
    }

    #[inline]
    fn prefetch(&self, at: usize) {
        if let Some(next) = self.map.bytes().get(self.pos + at..) {
            prefetch(next);
        }
    }

    fn still_there(&self, n: usize) -> bool {
        let (start, end) = (self.pos, self.pos + n);
        if !self.still_in_file(start, end) {
            return false;
        }
        self.handed_end.set(end);
        true
    }

    fn on_damage(&mut self) {
        self.shrank_under();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::block::{Detected, Format, Parsed};
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

    /// Every frame's (index, length, first byte) as the block loop reads them from `source`,
    /// and how the read ended.
    fn frames(source: &mut dyn ByteSource) -> (Vec<(u32, usize, u8)>, &'static str) {
        let mut out = Vec::new();
        let mut format = match Format::detect(source.data()) {
            Detected::Legacy { format, len, .. } => {
                source.consume(len);
                format
            }
            _ => panic!("not a pcap"),
        };
        loop {
            let step = match format.next(source.data()) {
                Parsed::Block { len, block } => {
                    if let pcap_parser::PcapBlockOwned::Legacy(b) = block {
                        out.push((b.ts_sec, b.data.len(), b.data[0]));
                    }
                    Ok(len)
                }
                Parsed::Incomplete => Err(false),
                Parsed::Damaged(_) => Err(true),
            };
            match step {
                Ok(len) if source.still_there(len) => source.consume(len),
                Ok(_) => {
                    out.pop();
                    return (out, "cut");
                }
                Err(true) => {
                    source.on_damage();
                    return (out, "damaged");
                }
                Err(false) if source.refill().unwrap() => {}
                Err(false) if source.data().is_empty() => return (out, "end"),
                Err(false) => return (out, "truncated"),
            }
        }
    }

    #[test]
    fn a_mapping_read_by_small_windows_gives_every_frame_as_a_stream_does() {
        let bytes = capture(3000);
        let path = std::env::temp_dir().join(format!("mapped-{}.pcap", std::process::id()));
        File::create(&path).unwrap().write_all(&bytes).unwrap();
        let mut stream = crate::capture::chunk::ChunkReader::new(&bytes[..]);
        stream.refill().unwrap();
        let from_stream = frames(&mut stream);
        assert_eq!(from_stream.0.len(), 3000);
        for paged in [false, true] {
            let map = Arc::new(map(File::open(&path).unwrap()).unwrap().expect("non-empty"));
            let mut mapped = MappedReader::new(map).unwrap();
            if paged {
                mapped.page_in_background();
                assert!(mapped.pager.is_some(), "the pager thread started");
            }
            // ~1.6 MB file: 25 windows populated and released.
            mapped.set_window(64 * 1024);
            let from_map = frames(&mut mapped);
            assert_eq!(from_map, (from_stream.0.clone(), "end"), "paged: {paged}");
            assert!(
                mapped.released >= 18 * 64 * 1024,
                "released {} (paged: {paged})",
                mapped.released
            );
        }
        std::fs::remove_file(&path).unwrap();
    }

    /// Reads a mapped file of 3000 frames that another writer cuts to `cut` bytes after the
    /// first `before` frames: (frames read, the length the reader saw, how the read ended,
    /// whether the guard patched a page, whether the last frame handed on reached past the cut).
    fn read_while_cut(
        tag: &str,
        before: usize,
        cut: u64,
    ) -> (usize, Option<u64>, &'static str, bool, bool) {
        let bytes = capture(3000);
        let path = std::env::temp_dir().join(format!("mapped-{tag}-{}.pcap", std::process::id()));
        File::create(&path).unwrap().write_all(&bytes).unwrap();
        let map = Arc::new(map(File::open(&path).unwrap()).unwrap().expect("non-empty"));
        let mut reader = MappedReader::new(map.clone()).unwrap();
        // One window over the whole file: no size check at a window, so only the guard (or the
        // zeros past the end) can notice the cut.
        reader.set_window(8 << 20);
        let mut format = match Format::detect(reader.data()) {
            Detected::Legacy { format, len, .. } => {
                reader.consume(len);
                format
            }
            _ => panic!("not a pcap"),
        };
        let mut seen = 0;
        let end = loop {
            if seen == before {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .unwrap()
                    .set_len(cut)
                    .unwrap();
            }
            let len = match format.next(reader.data()) {
                Parsed::Block { len, .. } => Some(len),
                Parsed::Incomplete => break "incomplete",
                Parsed::Damaged(_) => None,
            };
            let Some(len) = len else {
                reader.on_damage();
                break "damaged";
            };
            if !reader.still_there(len) {
                break "cut";
            }
            seen += 1;
            reader.consume(len);
        };
        std::fs::remove_file(&path).unwrap();
        let last_cut = reader.last_record_cut();
        (seen, reader.shrunk_to(), end, map.guard.faulted(), last_cut)
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
        assert!(err == "cut" || err == "damaged", "{err}");
        let frames = whole_frames_before(65_536);
        // The frame the cut splits was handed on (its tail, past the cut, was never read
        // here), and the reader says so; the next one faulted and stopped the read.
        assert_eq!(seen, frames + 1, "the whole frames, the split one");
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
        assert!(err == "cut" || err == "damaged", "{err}");
        let frames = whole_frames_before(40_000);
        assert_eq!(seen, frames + 1, "the whole frames, the split one");
    }

    #[test]
    fn a_record_cut_short_is_a_truncated_capture() {
        let bytes = capture(3);
        let mut stream = crate::capture::chunk::ChunkReader::new(&bytes[..bytes.len() - 10]);
        stream.refill().unwrap();
        let (frames, end) = frames(&mut stream);
        assert_eq!(frames.len(), 2, "two whole frames");
        assert_eq!(end, "truncated");
    }
}
