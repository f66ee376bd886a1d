//! `threshold` and `detection_filter`: how many of a rule's matches become alerts, counted per
//! source, destination, rule, address pair or flow in windows of packet time, as Suricata's
//! detect-engine-threshold.c counts them. The merge stage keeps the [`Thresholds`] state, since it
//! sees every shard's matches in capture order.

use proto::Timestamp;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// The kind of a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The first `count` matches of each window alert.
    Limit,
    /// Every `count`th match within a window alerts.
    Threshold,
    /// The `count`th match of a window alerts, once.
    Both,
    /// `detection_filter`: every match after the first `count` of a window alerts.
    Detection,
}

/// What the matches are counted by (`track by_src`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Track {
    Src,
    Dst,
    Rule,
    Both,
    Flow,
}

/// One `threshold:` or `detection_filter:` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) kind: Kind,
    pub(crate) track: Track,
    pub(crate) count: u32,
    pub(crate) seconds: u32,
}

impl Spec {
    /// Parses `type limit, track by_src, count 1, seconds 60` (`threshold`), or with
    /// `detection_filter` true, `track by_src, count 5, seconds 60`.
    pub(crate) fn parse(value: &str, detection_filter: bool) -> Result<Spec, String> {
        let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
        if detection_filter {
            kind = Some(Kind::Detection);
        }
        for part in value.split(',') {
            let mut words = part.split_ascii_whitespace();
            let (Some(key), Some(val), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!(
                    "{part:?}: write `key value` pairs separated by commas"
                ));
            };
            match key {
                "type" if !detection_filter => {
                    kind = Some(match val {
                        "limit" => Kind::Limit,
                        "threshold" => Kind::Threshold,
                        "both" => Kind::Both,
                        other => {
                            return Err(format!(
                                "threshold type {other:?}: limit, threshold or both"
                            ))
                        }
                    })
                }
                "track" => {
                    track = Some(match val {
                        "by_src" => Track::Src,
                        "by_dst" => Track::Dst,
                        "by_rule" => Track::Rule,
                        "by_both" => Track::Both,
                        "by_flow" => Track::Flow,
                        other => {
                            return Err(format!(
                                "track {other:?}: by_src, by_dst, by_rule, by_both or by_flow"
                            ))
                        }
                    })
                }
                "count" => {
                    count = Some(
                        val.parse::<u32>()
                            .map_err(|_| format!("count {val:?} is no number"))?,
                    )
                }
                "seconds" => {
                    seconds = Some(
                        val.parse::<u32>()
                            .map_err(|_| format!("seconds {val:?} is no number"))?,
                    )
                }
                other => {
                    return Err(format!(
                        "{other:?}: a threshold has type, track, count and seconds"
                    ))
                }
            }
        }
        let what = if detection_filter {
            "detection_filter"
        } else {
            "threshold"
        };
        match (kind, track, count, seconds) {
            (Some(kind), Some(track), Some(count), Some(seconds)) if seconds > 0 => {
                if count == 0 && kind != Kind::Detection {
                    return Err(format!("{what}: count must be at least 1"));
                }
                Ok(Spec {
                    kind,
                    track,
                    count,
                    seconds,
                })
            }
            (_, _, _, Some(0)) => Err(format!("{what}: seconds must be at least 1")),
            _ => Err(format!(
                "{what} needs {}track, count and seconds",
                if detection_filter { "" } else { "type, " }
            )),
        }
    }
}

/// A match to count: the rule, where it was seen and when.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Match {
    pub(crate) gid: u32,
    pub(crate) sid: u32,
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) flow_id: u64,
    pub(crate) ts: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Addr(IpAddr),
    Pair(IpAddr, IpAddr),
    Rule,
    Flow(u64),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    window_start: Timestamp,
    count: u32,
}

/// The counts of every thresholded rule.
#[derive(Debug, Default)]
pub(crate) struct Thresholds {
    entries: FxHashMap<(u32, u32, bool, Key), Entry>,
}

/// Entries are dropped once this many are kept and their window has passed.
const PRUNE_AT: usize = 1 << 16;

impl Thresholds {
    /// Whether match `m` of a rule with `spec` alerts (`detection_filter` is `is_filter`:
    /// a rule may have both).
    pub(crate) fn alerts(&mut self, spec: &Spec, m: &Match) -> bool {
        if spec.kind == Kind::Threshold && spec.count == 1 {
            return true;
        }
        let key = match spec.track {
            Track::Src => Key::Addr(m.src),
            Track::Dst => Key::Addr(m.dst),
            Track::Both => Key::Pair(m.src, m.dst),
            Track::Rule => Key::Rule,
            Track::Flow => Key::Flow(m.flow_id),
        };
        let key = (m.gid, m.sid, spec.kind == Kind::Detection, key);
        if self.entries.len() >= PRUNE_AT {
            self.prune(m.ts, spec.seconds);
        }
        let Some(e) = self.entries.get_mut(&key) else {
            self.entries.insert(
                key,
                Entry {
                    window_start: m.ts,
                    count: 1,
                },
            );
            return matches!(spec.kind, Kind::Limit)
                || (matches!(spec.kind, Kind::Both) && spec.count == 1);
        };
        let within = m.ts <= e.window_start.plus_secs(spec.seconds.into());
        if !within {
            e.window_start = m.ts;
            e.count = 1;
            return match spec.kind {
                Kind::Limit => true,
                Kind::Both => spec.count == 1,
                Kind::Threshold | Kind::Detection => false,
            };
        }
        e.count = e.count.saturating_add(1);
        match spec.kind {
            Kind::Limit => e.count <= spec.count,
            Kind::Threshold => {
                let fire = e.count >= spec.count;
                if fire {
                    e.count = 0;
                }
                fire
            }
            Kind::Both => e.count == spec.count,
            Kind::Detection => e.count > spec.count,
        }
    }

    /// Drops entries whose window ended long ago (bounded memory on a long capture).
    fn prune(&mut self, now: Timestamp, seconds: u32) {
        let horizon = u64::from(seconds.max(3600));
        self.entries
            .retain(|_, e| now <= e.window_start.plus_secs(horizon));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, src: &str) -> Match {
        Match {
            gid: 1,
            sid: 7,
            src: src.parse().unwrap(),
            dst: "203.0.113.1".parse().unwrap(),
            flow_id: 1,
            ts: Timestamp::from_parts(1_774_958_400 + secs, 0, 1_000_000),
        }
    }

    fn run(spec: &str, filter: bool, times: &[i64]) -> Vec<bool> {
        let spec = Spec::parse(spec, filter).unwrap();
        let mut t = Thresholds::default();
        times
            .iter()
            .map(|&s| t.alerts(&spec, &at(s, "10.0.0.5")))
            .collect()
    }

    #[test]
    fn limit_threshold_both_and_detection_filter_count_as_suricata() {
        // limit 2 per 60 s: the first two of each window.
        assert_eq!(
            run(
                "type limit, track by_src, count 2, seconds 60",
                false,
                &[0, 1, 2, 3, 70, 71, 72]
            ),
            [true, true, false, false, true, true, false]
        );
        // threshold 3 per 60 s: every third.
        assert_eq!(
            run(
                "type threshold, track by_src, count 3, seconds 60",
                false,
                &[0, 1, 2, 3, 4, 5]
            ),
            [false, false, true, false, false, true]
        );
        // both 2 per 60 s: once, at the second, per window.
        assert_eq!(
            run(
                "type both, track by_src, count 2, seconds 60",
                false,
                &[0, 1, 2, 100, 101]
            ),
            [false, true, false, false, true]
        );
        // detection_filter 2 per 60 s: every match after the second.
        assert_eq!(
            run(
                "track by_src, count 2, seconds 60",
                true,
                &[0, 1, 2, 3, 100, 101, 102]
            ),
            [false, false, true, true, false, false, true]
        );
    }

    #[test]
    fn tracks_keep_their_own_counts() {
        let spec = Spec::parse("type limit, track by_src, count 1, seconds 60", false).unwrap();
        let mut t = Thresholds::default();
        assert!(t.alerts(&spec, &at(0, "10.0.0.5")));
        assert!(!t.alerts(&spec, &at(1, "10.0.0.5")));
        assert!(t.alerts(&spec, &at(1, "10.0.0.6")));
        let by_rule = Spec::parse("type limit, track by_rule, count 1, seconds 60", false).unwrap();
        assert!(t.alerts(&by_rule, &at(2, "10.0.0.7")));
        assert!(!t.alerts(&by_rule, &at(3, "10.0.0.8")));
    }

    #[test]
    fn bad_thresholds_say_what_is_missing() {
        assert!(Spec::parse("type limit, track by_src, count 1", false)
            .unwrap_err()
            .contains("seconds"));
        assert!(Spec::parse("type often, track by_src, count 1, seconds 1", false).is_err());
        assert!(
            Spec::parse("track by_flow, count 1, seconds 1", false).is_err(),
            "no type"
        );
        assert!(Spec::parse("track by_host, count 1, seconds 1", true).is_err());
        assert!(Spec::parse("track by_flow, count 1, seconds 1", true).is_ok());
    }
}
