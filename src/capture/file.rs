//! Reads pcap and pcapng capture files with pcap-parser, streaming, in constant memory.
//!
//! A damaged or truncated file keeps every complete frame before the damage: the reader stops
//! there and reports the byte offset, so the caller can warn and still write the alerts it has.
//! The path `-` reads a capture from standard input (`tcpdump -U -w - | egress-ids replay -`).

use super::mapped::{self, SliceReader};
use super::{Frame, FrameSink};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use proto::Timestamp;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Initial reader buffer; grown up to [`MAX_BUFFER`] for frames larger than it.
const INITIAL_BUFFER: usize = 256 << 10;
/// Enough to recognise a pcap or pcapng file header.
const HEADER_PROBE: usize = 4 << 10;
/// Largest record we accept (pcapng allows more, but no real frame needs it).
const MAX_BUFFER: usize = 16 << 20;

/// Why a capture file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng capture (unrecognised file header); give a file written by tcpdump, tshark or dumpcap")]
    NotACapture { path: PathBuf },
    #[error("{path}: is a directory; give capture files (e.g. {path}/*.pcap)")]
    IsDirectory { path: PathBuf },
    #[error("{path}: the file is empty; give a capture that holds at least its file header")]
    Empty { path: PathBuf },
}

/// What a finished read says about the file.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    /// Frames handed to the callback.
    pub(crate) frames: u64,
    /// Bytes of the file read and understood.
    pub(crate) bytes: u64,
    /// Set when the file ends early or is corrupt: where, and what was wrong.
    pub(crate) damage: Option<String>,
    /// pcapng blocks that carry no packets and were skipped on purpose (statistics, secrets, ...).
    pub(crate) skipped_blocks: u64,
}

/// Link type and timestamp resolution of one pcapng interface.
#[derive(Clone, Copy)]
struct Interface {
    linktype: i32,
    units_per_sec: u64,
    ts_offset: i64,
}

/// Whether `path` names standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Opens `path`, or standard input for `-`.
fn open(path: &Path) -> Result<Box<dyn Read + Send>, CaptureError> {
    if is_stdin(path) {
        return stdin_reader().map_err(|source| CaptureError::Open {
            path: path.to_owned(),
            source,
        });
    }
    let file = File::open(path).map_err(|source| CaptureError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(Box::new(file))
}

/// Standard input, with its file header read up front. pcap-parser reads twice while it opens a
/// capture; on a pipe the second read would wait for more packets, holding back the ones already
/// there. Handing it exactly the header first makes its second read take only what has arrived.
fn stdin_reader() -> std::io::Result<Box<dyn Read + Send>> {
    let mut stdin = std::io::stdin();
    let mut head = Vec::with_capacity(64);
    (&mut stdin).take(12).read_to_end(&mut head)?;
    let header_len = match head.get(..12) {
        // pcapng: the Section Header Block's total length, in the byte order its magic gives.
        Some([0x0a, 0x0d, 0x0d, 0x0a, l0, l1, l2, l3, bom @ ..]) => {
            let len = if bom == [0x4d, 0x3c, 0x2b, 0x1a] {
                u32::from_le_bytes([*l0, *l1, *l2, *l3])
            } else {
                u32::from_be_bytes([*l0, *l1, *l2, *l3])
            };
            (len as usize).min(MAX_BUFFER)
        }
        // Classic pcap: a 24-byte file header.
        _ => 24,
    };
    (&mut stdin)
        .take(header_len.saturating_sub(head.len()) as u64)
        .read_to_end(&mut head)?;
    Ok(Box::new(std::io::Cursor::new(head).chain(stdin)))
}

/// Checks that `path` can be opened and starts with a pcap or pcapng header (standard input is
/// checked as it is read: it cannot be read twice).
pub(crate) fn check_capture_file(path: &Path) -> Result<(), CaptureError> {
    if is_stdin(path) {
        return Ok(());
    }
    let file = File::open(path).map_err(|source| CaptureError::Open {
        path: path.to_owned(),
        source,
    })?;
    if path.is_dir() {
        return Err(CaptureError::IsDirectory {
            path: path.to_owned(),
        });
    }
    match create_reader(HEADER_PROBE, file) {
        // A header larger than the probe is left to the reader, which grows its buffer.
        Ok(_) | Err(PcapError::Incomplete(_)) => Ok(()),
        Err(PcapError::Eof) => Err(CaptureError::Empty {
            path: path.to_owned(),
        }),
        Err(_) => Err(CaptureError::NotACapture {
            path: path.to_owned(),
        }),
    }
}

/// Reads every frame of the capture at `path` and hands it to `sink`. A regular file is
/// memory-mapped and read in place; standard input and other streams go through a read buffer.
pub fn read_capture_file(
    path: &Path,
    sink: &mut (impl FrameSink + ?Sized),
) -> Result<FileReport, CaptureError> {
    let refused = |e: PcapError<&[u8]>| match e {
        PcapError::Eof => CaptureError::Empty {
            path: path.to_owned(),
        },
        _ => CaptureError::NotACapture {
            path: path.to_owned(),
        },
    };
    if !is_stdin(path) {
        let file = File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_owned(),
            source,
        })?;
        if file.metadata().is_ok_and(|m| m.is_file()) {
            let mapping = mapped::map(file).map_err(|source| CaptureError::Open {
                path: path.to_owned(),
                source,
            })?;
            let Some(mapping) = mapping else {
                return Err(refused(PcapError::Eof));
            };
            let mut reader = SliceReader::over_map(&mapping).map_err(refused)?;
            let mut report = read_blocks(&mut reader, false, sink);
            if let Some(len) = reader.shrunk_to() {
                let last = if reader.last_record_cut() {
                    format!(
                        "; packet {} reaches past the cut, which may have come while it was \
                         decoded: its bytes past byte {len} may have read as zeros",
                        report.frames
                    )
                } else {
                    String::new()
                };
                report.damage = Some(format!(
                    "the file shrank to {len} bytes while it was read (a capture ring reusing it?); \
                     stopped at byte {} (after packet {}){last}",
                    report.bytes, report.frames
                ));
            }
            return Ok(report);
        }
    }
    let waits = is_stdin(path);
    let mut reader = create_reader(INITIAL_BUFFER, open(path)?).map_err(refused)?;
    Ok(read_blocks(&mut *reader, waits, sink))
}

/// The block loop: frames to `sink`, damage into the report. `waits`: the source may block
/// (tell the sink before each refill).
fn read_blocks(
    reader: &mut (impl PcapReaderIterator + ?Sized),
    waits: bool,
    sink: &mut (impl FrameSink + ?Sized),
) -> FileReport {
    let mut report = FileReport::default();
    let mut framing = Framing::default();
    let mut buffer_size = INITIAL_BUFFER;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                if let Err(damage) = framing.on_block(block, &mut report, sink) {
                    report.damage = Some(damage);
                    return report;
                }
                report.bytes += offset as u64;
                reader.consume(offset);
            }
            Err(PcapError::Eof) => return report,
            // More bytes are needed: read them (at the end of the input pcap-parser then reports
            // UnexpectedEof, which is damage).
            Err(PcapError::Incomplete(_)) => {
                if waits {
                    sink.idle();
                }
                if let Err(e) = reader.refill() {
                    let why = describe(&e);
                    report.damage = Some(format!("read error after byte {}: {why}", report.bytes));
                    return report;
                }
            }
            Err(PcapError::BufferTooSmall) => {
                // A record larger than the buffer: grow it, up to a bound no real frame needs.
                if buffer_size < MAX_BUFFER && reader.grow(buffer_size * 2) {
                    buffer_size *= 2;
                    continue;
                }
                report.damage = Some(format!(
                    "corrupt record at byte {} (after packet {}): it claims more than {} MiB",
                    report.bytes,
                    report.frames,
                    MAX_BUFFER >> 20
                ));
                return report;
            }
            Err(e) => {
                report.damage = Some(format!(
                    "corrupt record at byte {} (after packet {}): {}",
                    report.bytes,
                    report.frames,
                    describe(&e)
                ));
                return report;
            }
        }
    }
}

/// What the blocks read so far say about the frames that follow: a legacy file's link type and
/// time unit, a pcapng section's interfaces.
struct Framing {
    legacy_linktype: i32,
    legacy_units: u64,
    interfaces: Vec<Interface>,
}

impl Default for Framing {
    fn default() -> Self {
        Framing {
            legacy_linktype: 1,
            legacy_units: 1_000_000,
            interfaces: Vec::new(),
        }
    }
}

impl Framing {
    /// Takes one block: a header updates the framing, a packet goes to `sink` as a frame.
    /// `Err` describes damage that ends the read.
    fn on_block(
        &mut self,
        block: PcapBlockOwned<'_>,
        report: &mut FileReport,
        sink: &mut (impl FrameSink + ?Sized),
    ) -> Result<(), String> {
        match block {
            PcapBlockOwned::LegacyHeader(hdr) => {
                self.legacy_linktype = hdr.network.0;
                self.legacy_units = if hdr.is_nanosecond_precision() {
                    1_000_000_000
                } else {
                    1_000_000
                };
            }
            PcapBlockOwned::Legacy(b) => {
                report.frames += 1;
                let caplen = (b.caplen as usize).min(b.data.len());
                sink.frame(&Frame {
                    index: report.frames,
                    ts: Timestamp::from_parts(b.ts_sec as i64, b.ts_usec as u64, self.legacy_units),
                    linktype: self.legacy_linktype,
                    data: &b.data[..caplen],
                    orig_len: b.origlen,
                });
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => self.interfaces.clear(),
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.interfaces.push(Interface {
                    linktype: idb.linktype.0,
                    units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                    ts_offset: idb.if_tsoffset,
                });
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                report.frames += 1;
                let Some(ifc) = self.interfaces.get(epb.if_id as usize) else {
                    return Err(format!(
                        "packet {} at byte {} names interface {} that no Interface Description Block declared",
                        report.frames, report.bytes, epb.if_id
                    ));
                };
                let raw = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                let units = ifc.units_per_sec.max(1);
                let secs = (raw / units) as i64 + ifc.ts_offset;
                let caplen = (epb.caplen as usize).min(epb.data.len());
                sink.frame(&Frame {
                    index: report.frames,
                    ts: Timestamp::from_parts(secs, raw % units, units),
                    linktype: ifc.linktype,
                    data: &epb.data[..caplen],
                    orig_len: epb.origlen,
                });
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                report.frames += 1;
                if let Some(ifc) = self.interfaces.first() {
                    let caplen = (spb.origlen as usize).min(spb.data.len());
                    sink.frame(&Frame {
                        index: report.frames,
                        ts: Timestamp::default(),
                        linktype: ifc.linktype,
                        data: &spb.data[..caplen],
                        orig_len: spb.origlen,
                    });
                }
            }
            PcapBlockOwned::NG(_) => report.skipped_blocks += 1,
        }
        Ok(())
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("malformed block ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("malformed block ({kind:?})"),
        PcapError::HeaderNotRecognized => "unrecognised block header".into(),
        PcapError::UnexpectedEof => "the file ends inside this record (truncated capture)".into(),
        PcapError::BufferTooSmall => "record larger than the read buffer".into(),
        PcapError::ReadError => "read error".into(),
        PcapError::Incomplete(_) => "incomplete record".into(),
        PcapError::Eof => "end of file".into(),
    }
}
