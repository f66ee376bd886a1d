//! Packet sources: where frames come from. A source hands out frames that borrow its buffer,
//! each with its capture timestamp (all timers in the program run on this packet time) and link type.

pub(crate) mod block;
pub(crate) mod bytes;
pub(crate) mod chunk;
pub(crate) mod fanout;
pub(crate) mod file;
pub mod live;
pub(crate) mod mapped;

use proto::Timestamp;

pub use bytes::SharedBytes;
pub use file::{read_capture, read_capture_file, read_capture_stream, CaptureError, Paging};

/// Takes the frames of a source.
pub trait FrameSink {
    fn frame(&mut self, frame: &Frame<'_>);
    /// The frames that follow lie in `bytes` (until the next call): a sink that hands frames to
    /// other threads can keep them and point into them instead of copying the frames.
    fn chunk(&mut self, _bytes: &SharedBytes) {}
    /// The source is about to wait for more input (a pipe or a live interface): whatever is
    /// buffered downstream should be handled now rather than when more frames arrive.
    fn idle(&mut self) {}
}

/// What a live source tells its sink besides frames.
pub trait LiveSink: FrameSink {
    /// No frame came for a while: packet time moves on to `now` (the wall clock of a live
    /// capture), so flows still expire and `stats` events still go out on an idle link.
    fn clock(&mut self, now: Timestamp);
    /// The kernel's counters for interface `iface`, since its capture opened.
    fn capture_counters(&mut self, iface: &str, counters: CaptureCounters);
}

impl<F: FnMut(&Frame<'_>)> FrameSink for F {
    fn frame(&mut self, frame: &Frame<'_>) {
        self(frame)
    }
}

/// One captured frame, borrowed from the source's buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based position of the frame in its capture (Suricata's `pcap_cnt`).
    pub index: u64,
    /// Capture timestamp.
    pub ts: Timestamp,
    /// Link-layer type (LINKTYPE_* number).
    pub linktype: i32,
    /// Captured bytes (may be shorter than `orig_len` when the snaplen cut the packet).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
}

/// What the kernel and libpcap report for one live interface, since the capture opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Packets that passed the filter and reached the capture ring.
    pub(crate) kernel_packets: u64,
    /// Packets the kernel dropped because the ring was full (the sensor fell behind).
    pub(crate) kernel_drops: u64,
    /// Packets the interface or its driver dropped.
    pub(crate) kernel_ifdrops: u64,
}

impl CaptureCounters {
    pub(crate) fn add(&mut self, other: &CaptureCounters) {
        self.kernel_packets += other.kernel_packets;
        self.kernel_drops += other.kernel_drops;
        self.kernel_ifdrops += other.kernel_ifdrops;
    }
}
