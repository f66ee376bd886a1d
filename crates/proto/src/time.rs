//! Packet time: the capture timestamp every frame carries. Every timer in egress-ids (flow
//! timeouts, fragment lifetimes, DNS answer TTLs, `stats` intervals) runs on it, so a replay gives
//! the same result however fast it runs.

/// Capture time of a frame, nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from seconds and a fraction expressed in `units_per_sec`.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let nanos = match (units_per_sec, frac <= u64::from(u32::MAX)) {
            (0, _) => 0,
            // The two resolutions of classic pcap files, once per packet: no 128-bit division
            // (the same value: both divide a second exactly).
            (1_000_000, true) => frac as i64 * 1000,
            (1_000_000_000, true) => frac as i64,
            _ => (frac as u128 * 1_000_000_000 / units_per_sec as u128) as i64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pcap_resolutions_give_what_the_general_formula_gives() {
        let general = |secs: i64, frac: u64, units: u64| {
            let nanos = (frac as u128 * 1_000_000_000 / units as u128) as i64;
            Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
        };
        for units in [1_000_000u64, 1_000_000_000] {
            for frac in [
                0u64,
                1,
                999_999,
                1_000_000,
                999_999_999,
                u64::from(u32::MAX),
            ] {
                for secs in [0i64, 1_764_000_000, i64::from(u32::MAX)] {
                    assert_eq!(
                        Timestamp::from_parts(secs, frac, units),
                        general(secs, frac, units),
                        "{secs} {frac} {units}"
                    );
                }
            }
        }
        // Other resolutions and fractions past 32 bits take the general path.
        assert_eq!(Timestamp::from_parts(3, 5, 10), Timestamp(3_500_000_000));
        assert_eq!(
            Timestamp::from_parts(0, 1 << 40, 1_000_000_000),
            Timestamp(1 << 40)
        );
        assert_eq!(Timestamp::from_parts(7, 123, 0), Timestamp(7_000_000_000));
    }
}
