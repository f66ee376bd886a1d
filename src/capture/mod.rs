//! Packet sources: where frames come from. A source hands out frames that borrow its buffer,
//! each with its capture timestamp (all timers in the program run on this packet time) and link type.

pub mod file;
pub mod live;
pub mod mapped;

pub use file::{check_capture_file, read_capture_file, CaptureError, FileReport};

/// Capture time of a frame, nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from seconds and a fraction expressed in `units_per_sec`.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let nanos = if units_per_sec == 0 {
            0
        } else {
            (frac as u128 * 1_000_000_000 / units_per_sec as u128) as i64
        };
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }
    /// Whole seconds since the epoch.
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    /// Sub-second part in microseconds.
    pub fn subsec_micros(self) -> u32 {
        (self.0.rem_euclid(1_000_000_000) / 1_000) as u32
    }
    /// This timestamp plus `secs` seconds.
    pub fn plus_secs(self, secs: u64) -> Self {
        Timestamp(
            self.0
                .saturating_add((secs as i64).saturating_mul(1_000_000_000)),
        )
    }
    /// Seconds from `earlier` to `self` (0 when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> u64 {
        (self.0.saturating_sub(earlier.0).max(0) / 1_000_000_000) as u64
    }
}

/// Takes the frames of a source.
pub trait FrameSink {
    fn frame(&mut self, frame: &Frame<'_>);
    /// The source is about to wait for more input (a pipe or a live interface): whatever is
    /// buffered downstream should be handled now rather than when more frames arrive.
    fn idle(&mut self) {}
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
