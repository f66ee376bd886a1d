//! Which addresses DNS answers have resolved, and until when (packet time): the answer's TTL plus
//! a grace period, since clients keep using an address a little past its TTL. Bounded in size.

use proto::Timestamp;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Most addresses remembered; past this, expired entries are purged, then the oldest half.
const MAX_ENTRIES: usize = 1 << 20;

/// Resolved addresses and when each stops counting as resolved.
#[derive(Debug)]
pub struct DnsCache {
    expiry: FxHashMap<IpAddr, Timestamp>,
    grace_secs: u64,
    /// Answers (A/AAAA records) seen.
    pub answers_seen: u64,
    /// DNS messages seen at all (queries or responses).
    pub messages_seen: u64,
}

impl DnsCache {
    pub fn new(grace_secs: u64) -> Self {
        DnsCache {
            expiry: FxHashMap::default(),
            grace_secs,
            answers_seen: 0,
            messages_seen: 0,
        }
    }

    /// Records that `ip` was resolved at `now` with `ttl` seconds to live.
    pub fn insert(&mut self, ip: IpAddr, ttl: u32, now: Timestamp) {
        self.answers_seen += 1;
        if self.expiry.len() >= MAX_ENTRIES && !self.expiry.contains_key(&ip) {
            self.expiry.retain(|_, until| *until >= now);
            if self.expiry.len() >= MAX_ENTRIES {
                let mut times: Vec<Timestamp> = self.expiry.values().copied().collect();
                let (_, median, _) = times.select_nth_unstable(MAX_ENTRIES / 2);
                let median = *median;
                self.expiry.retain(|_, until| *until > median);
            }
        }
        let until = now.plus_secs(ttl as u64 + self.grace_secs);
        let slot = self.expiry.entry(ip).or_insert(until);
        *slot = (*slot).max(until);
    }

    /// Whether some answer resolved `ip` and still counts at `now`.
    pub fn resolved(&self, ip: IpAddr, now: Timestamp) -> bool {
        self.expiry.get(&ip).is_some_and(|until| *until >= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_count_until_ttl_plus_grace() {
        let mut c = DnsCache::new(10);
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let t0 = Timestamp(0);
        assert!(!c.resolved(ip, t0));
        c.insert(ip, 30, t0);
        assert!(c.resolved(ip, t0.plus_secs(40)));
        assert!(!c.resolved(ip, t0.plus_secs(41)));
        // A shorter later answer never shortens the lifetime.
        c.insert(ip, 0, t0.plus_secs(1));
        assert!(c.resolved(ip, t0.plus_secs(40)));
    }
}
