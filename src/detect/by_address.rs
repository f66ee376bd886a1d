//! What DNS answers said about each address, until when: the bounded memory the merge stage's
//! verdicts share (`hidden-destination` keeps the names that resolved an address, CNAME
//! cloaking the chains that matter). Each address keeps at most a fixed number of entries (the
//! expired go first, then the oldest), and the map at most a fixed number of addresses (past
//! it, addresses whose entries all expired are purged, then all), so a flood of answers costs
//! bounded memory.

use proto::Timestamp;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Entries of type `T` per address, each valid until a packet time.
#[derive(Debug)]
pub(crate) struct ByAddress<T> {
    map: FxHashMap<IpAddr, Vec<(T, Timestamp)>>,
    per_address: usize,
    max_addresses: usize,
}

impl<T> ByAddress<T> {
    /// At most `per_address` entries per address, `max_addresses` addresses.
    pub(crate) fn new(per_address: usize, max_addresses: usize) -> Self {
        ByAddress {
            map: FxHashMap::default(),
            per_address: per_address.max(1),
            max_addresses: max_addresses.max(1),
        }
    }

    /// Remembers an entry for `ip` until `until`, at packet time `now`: the entry `same` finds
    /// has its time extended, else a new one is made (by `make`, only then).
    pub(crate) fn remember(
        &mut self,
        now: Timestamp,
        ip: IpAddr,
        until: Timestamp,
        same: impl Fn(&T) -> bool,
        make: impl FnOnce() -> T,
    ) {
        if self.map.len() >= self.max_addresses && !self.map.contains_key(&ip) {
            self.map
                .retain(|_, list| list.iter().any(|(_, u)| *u >= now));
            if self.map.len() >= self.max_addresses {
                self.map.clear();
            }
        }
        let list = self.map.entry(ip).or_default();
        if let Some((_, u)) = list.iter_mut().find(|(t, _)| same(t)) {
            *u = (*u).max(until);
            return;
        }
        if list.len() >= self.per_address {
            list.retain(|(_, u)| *u >= now);
        }
        if list.len() >= self.per_address {
            list.remove(0);
        }
        list.push((make(), until));
    }

    /// The entries of `ip` still valid at `at`, oldest first.
    pub(crate) fn live(&self, ip: IpAddr, at: Timestamp) -> impl Iterator<Item = &T> {
        self.map
            .get(&ip)
            .into_iter()
            .flatten()
            .filter(move |(_, u)| *u >= at)
            .map(|(t, _)| t)
    }

    /// Entries kept for `ip`, valid or not.
    #[cfg(test)]
    pub(crate) fn kept(&self, ip: IpAddr) -> usize {
        self.map.get(&ip).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_000_000_000_000);

    fn ip(i: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0xcb00_7100 + i))
    }

    #[test]
    fn equal_entries_extend_their_time_and_expired_ones_are_not_live() {
        let mut m = ByAddress::new(4, 16);
        let mut put = |item: &'static str, secs| {
            m.remember(T0, ip(1), T0.plus_secs(secs), |t| *t == item, || item);
        };
        put("a", 10);
        put("a", 5);
        put("b", 20);
        assert_eq!(m.kept(ip(1)), 2);
        assert_eq!(
            m.live(ip(1), T0.plus_secs(10)).collect::<Vec<_>>(),
            [&"a", &"b"]
        );
        assert_eq!(m.live(ip(1), T0.plus_secs(11)).collect::<Vec<_>>(), [&"b"]);
        assert_eq!(m.live(ip(2), T0).count(), 0);
    }

    #[test]
    fn both_bounds_hold() {
        let mut m = ByAddress::new(3, 8);
        for i in 0..10u64 {
            m.remember(T0, ip(1), T0.plus_secs(60), |t| *t == i, || i);
        }
        // The oldest went first.
        assert_eq!(m.live(ip(1), T0).copied().collect::<Vec<_>>(), [7, 8, 9]);
        for i in 0..100 {
            m.remember(
                T0.plus_secs(100),
                ip(i),
                T0.plus_secs(160),
                |_| false,
                || 0u64,
            );
        }
        assert!(m.map.len() <= 8);
    }
}
