//! Packet time: the capture timestamp every frame carries. Every timer in egress-ids (flow
//! timeouts, fragment lifetimes, DNS answer TTLs, `stats` intervals) runs on it, so a replay gives
//! the same result however fast it runs.

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
