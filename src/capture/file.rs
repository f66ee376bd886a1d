//! Reads pcap and pcapng capture files with pcap-parser, streaming, in constant memory.
//!
//! A damaged or truncated file keeps every complete frame before the damage: the reader stops
//! there and reports the byte offset, so the caller can warn and still write the alerts it has.
//! The path `-` reads a capture from standard input (`tcpdump -U -w - | egress-ids replay -`).

use super::block::{Detected, Format, Parsed, Record};
use super::bytes::ByteSource;
use super::chunk::ChunkReader;
use super::mapped::{self, MappedReader};
use super::{Frame, FrameSink};
use pcap_parser::pcap::PcapHeader;
use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use proto::Timestamp;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Enough to recognise a pcap or pcapng file header.
const HEADER_PROBE: usize = 4 << 10;
/// Largest record we accept (pcapng allows more, but no real frame needs it).
const MAX_RECORD: usize = 16 << 20;

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

impl FileReport {
    /// Frames handed on.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes read and understood.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Where the file ends early or is corrupt, and what was wrong.
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }
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

/// Reads every frame of the capture at `path` and hands it to `sink`, chunk by chunk
/// ([`ChunkReader`]): frames borrow the chunk, and the sink is told of each new chunk
/// ([`FrameSink::chunk`]) so that it can keep it rather than copy frames out of it.
pub fn read_capture_file(
    path: &Path,
    sink: &mut (impl FrameSink + ?Sized),
) -> Result<FileReport, CaptureError> {
    read_capture(path, Paging::Inline, sink)
}

/// Who does the page-table work of a memory-mapped capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// The reading thread, between frames (runs on one core).
    Inline,
    /// A thread of its own, so that the reading thread only reads (runs with threads to spare).
    Background,
}

/// [`read_capture_file`], with the page-table work of a mapped file done as `paging` says.
pub fn read_capture(
    path: &Path,
    paging: Paging,
    sink: &mut (impl FrameSink + ?Sized),
) -> Result<FileReport, CaptureError> {
    let opened = |source| CaptureError::Open {
        path: path.to_owned(),
        source,
    };
    if is_stdin(path) {
        // A pipe: tell the sink before each read that may wait for more packets.
        return read_stream(path, std::io::stdin().lock(), true, sink);
    }
    let file = File::open(path).map_err(opened)?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        // A named pipe or a device: read as a stream.
        return read_stream(path, file, true, sink);
    }
    let Some(mapping) = mapped::map(file).map_err(opened)? else {
        return Err(CaptureError::Empty {
            path: path.to_owned(),
        });
    };
    let Some(mut reader) = MappedReader::new(Arc::new(mapping)) else {
        return Err(CaptureError::Empty {
            path: path.to_owned(),
        });
    };
    if paging == Paging::Background {
        reader.page_in_background();
    }
    let mut report = read_blocks(path, &mut reader, false, sink)?;
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
    Ok(report)
}

/// Reads a capture from `source`, a stream (the fuzz target's entry: any bytes, read in whatever
/// pieces `source` gives), as standard input is read.
#[doc(hidden)]
pub fn read_capture_stream(
    source: impl Read,
    sink: &mut (impl FrameSink + ?Sized),
) -> Result<FileReport, CaptureError> {
    read_stream(Path::new("-"), source, false, sink)
}

/// Reads a stream (standard input, a pipe) chunk by chunk.
fn read_stream(
    path: &Path,
    source: impl Read,
    waits: bool,
    sink: &mut (impl FrameSink + ?Sized),
) -> Result<FileReport, CaptureError> {
    read_blocks(path, &mut ChunkReader::new(source), waits, sink)
}

/// What one step of the block loop found.
enum Step {
    Consumed(usize),
    /// The file was cut under the reader (the caller says so).
    Cut,
    NeedMore,
    Damage(String),
}

/// The block loop over `reader`: the file header, then frames to `sink`, damage into the report.
/// `waits`: reads may block (the sink is told before each).
fn read_blocks(
    path: &Path,
    reader: &mut impl ByteSource,
    waits: bool,
    sink: &mut (impl FrameSink + ?Sized),
) -> Result<FileReport, CaptureError> {
    let mut report = FileReport::default();
    let mut framing = Framing::default();
    let refused = |empty: bool| {
        let path = path.to_owned();
        if empty {
            CaptureError::Empty { path }
        } else {
            CaptureError::NotACapture { path }
        }
    };
    let mut format = loop {
        match Format::detect(reader.data()) {
            Detected::Legacy {
                format,
                header,
                len,
            } => {
                framing.on_header(&header);
                report.bytes += len as u64;
                reader.consume(len);
                break format;
            }
            Detected::Ng(format) => break format,
            Detected::NotACapture => return Err(refused(false)),
            Detected::NeedMore => match reader.refill() {
                Ok(true) => {}
                Ok(false) => return Err(refused(reader.data().is_empty())),
                Err(source) => {
                    return Err(CaptureError::Open {
                        path: path.to_owned(),
                        source,
                    })
                }
            },
        }
    };
    sink.chunk(&reader.shared());
    loop {
        let step = match &mut format {
            // Classic pcap, the hot loop of a replay: a record straight to a frame.
            Format::Legacy(legacy) => match legacy.record(reader.data()) {
                Some((len, _)) if !reader.still_there(len) => Step::Cut,
                Some((len, record)) => {
                    reader.prefetch(len);
                    framing.on_record(&record, &mut report, sink);
                    Step::Consumed(len)
                }
                None => Step::NeedMore,
            },
            Format::Ng { .. } => match format.next(reader.data()) {
                // A mapped file cut under the reader: the record is not all there.
                Parsed::Block { len, .. } if !reader.still_there(len) => Step::Cut,
                Parsed::Block { len, block } => {
                    reader.prefetch(len);
                    match framing.on_block(block, &mut report, sink) {
                        Ok(()) => Step::Consumed(len),
                        Err(damage) => Step::Damage(damage),
                    }
                }
                Parsed::Incomplete => Step::NeedMore,
                Parsed::Damaged(e) => Step::Damage(format!(
                    "corrupt record at byte {} (after packet {}): {}",
                    report.bytes,
                    report.frames,
                    describe(&e)
                )),
            },
        };
        match step {
            Step::Consumed(len) => {
                report.bytes += len as u64;
                reader.consume(len);
            }
            Step::Cut => return Ok(report),
            Step::Damage(damage) => {
                reader.on_damage();
                report.damage = Some(damage);
                return Ok(report);
            }
            Step::NeedMore if reader.data().len() >= MAX_RECORD => {
                report.damage = Some(format!(
                    "corrupt record at byte {} (after packet {}): it claims more than {} MiB",
                    report.bytes,
                    report.frames,
                    MAX_RECORD >> 20
                ));
                return Ok(report);
            }
            Step::NeedMore => {
                if waits {
                    sink.idle();
                }
                match reader.refill() {
                    Ok(true) => sink.chunk(&reader.shared()),
                    Ok(false) if reader.data().is_empty() => return Ok(report),
                    Ok(false) => {
                        reader.on_damage();
                        report.damage = Some(format!(
                            "corrupt record at byte {} (after packet {}): {}",
                            report.bytes,
                            report.frames,
                            describe(&PcapError::UnexpectedEof)
                        ));
                        return Ok(report);
                    }
                    Err(e) => {
                        report.damage =
                            Some(format!("read error after byte {}: {e}", report.bytes));
                        return Ok(report);
                    }
                }
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
    /// A record of a classic pcap file: a frame to `sink`.
    #[inline]
    fn on_record(
        &mut self,
        record: &Record<'_>,
        report: &mut FileReport,
        sink: &mut (impl FrameSink + ?Sized),
    ) {
        report.frames += 1;
        sink.frame(&Frame {
            index: report.frames,
            ts: Timestamp::from_parts(
                record.ts_sec as i64,
                record.ts_frac as u64,
                self.legacy_units,
            ),
            linktype: self.legacy_linktype,
            data: record.data,
            orig_len: record.orig_len,
        });
    }

    /// A classic pcap file header: the link type and time unit of every frame that follows.
    fn on_header(&mut self, hdr: &PcapHeader) {
        self.legacy_linktype = hdr.network.0;
        self.legacy_units = if hdr.is_nanosecond_precision() {
            1_000_000_000
        } else {
            1_000_000
        };
    }

    /// Takes one block: a header updates the framing, a packet goes to `sink` as a frame.
    /// `Err` describes damage that ends the read.
    fn on_block(
        &mut self,
        block: PcapBlockOwned<'_>,
        report: &mut FileReport,
        sink: &mut (impl FrameSink + ?Sized),
    ) -> Result<(), String> {
        match block {
            PcapBlockOwned::LegacyHeader(hdr) => self.on_header(&hdr),
            PcapBlockOwned::Legacy(b) => {
                let caplen = (b.caplen as usize).min(b.data.len());
                let record = Record {
                    ts_sec: b.ts_sec,
                    ts_frac: b.ts_usec,
                    orig_len: b.origlen,
                    data: &b.data[..caplen],
                };
                self.on_record(&record, report, sink);
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
                let Some(ifc) = self.interfaces.get(epb.if_id as usize) else {
                    return Err(format!(
                        "packet {} at byte {} names interface {} that no Interface Description Block declared",
                        report.frames + 1, report.bytes, epb.if_id
                    ));
                };
                report.frames += 1;
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
                // A Simple Packet Block belongs to the section's first interface.
                let Some(ifc) = self.interfaces.first() else {
                    return Err(format!(
                        "packet {} at byte {} is a Simple Packet Block, but no Interface Description Block came before it",
                        report.frames + 1, report.bytes
                    ));
                };
                report.frames += 1;
                let caplen = (spb.origlen as usize).min(spb.data.len());
                sink.frame(&Frame {
                    index: report.frames,
                    ts: Timestamp::default(),
                    linktype: ifc.linktype,
                    data: &spb.data[..caplen],
                    orig_len: spb.origlen,
                });
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian pcapng Section Header Block, then a Simple Packet Block of 4 bytes.
    fn section_then_simple_packet() -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x0a0d_0d0au32, 28, 0x1a2b_3c4d, 1] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        for v in [3u32, 20, 4, 0xdead_beef, 20] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    #[test]
    fn a_packet_of_no_declared_interface_is_damage_and_not_counted() {
        let mut handed = 0;
        let report =
            read_capture_stream(&section_then_simple_packet()[..], &mut |_: &Frame<'_>| {
                handed += 1
            })
            .unwrap();
        assert_eq!((handed, report.frames()), (0, 0));
        let damage = report.damage().expect("damage");
        assert!(
            damage.contains("packet 1 at byte 28 is a Simple Packet Block"),
            "{damage}"
        );
    }
}
