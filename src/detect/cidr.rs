//! Sets of IPv4/IPv6 addresses and prefixes, looked up by longest-prefix match in an LC-trie
//! (iptrie), a few tens of nanoseconds whatever the size of the set.

use ipnet::IpNet;
use iptrie::{IpLCTrieSet, IpRTrieSet};
use std::net::IpAddr;

/// A set of prefixes.
pub struct IpSet {
    trie: IpLCTrieSet,
    /// iptrie always holds the two default routes; remember whether the user asked for them.
    has_v4_default: bool,
    has_v6_default: bool,
    len: usize,
}

impl Default for IpSet {
    fn default() -> Self {
        IpSet::from_nets(std::iter::empty())
    }
}

impl std::fmt::Debug for IpSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IpSet({} prefixes)", self.len)
    }
}

impl IpSet {
    /// Builds the set from prefixes.
    pub fn from_nets(nets: impl IntoIterator<Item = IpNet>) -> Self {
        let mut trie = IpRTrieSet::new();
        let (mut v4d, mut v6d, mut len) = (false, false, 0);
        for net in nets {
            let net = net.trunc();
            match net {
                IpNet::V4(n) if n.prefix_len() == 0 => v4d = true,
                IpNet::V6(n) if n.prefix_len() == 0 => v6d = true,
                _ => {}
            }
            if trie.insert(net) {
                len += 1;
            }
        }
        IpSet {
            trie: trie.compress(),
            has_v4_default: v4d,
            has_v6_default: v6d,
            len,
        }
    }

    /// The prefix of the set that holds `ip`, if any.
    pub fn matching_prefix(&self, ip: IpAddr) -> Option<IpNet> {
        let hit = self.trie.lookup(&IpNet::from(ip));
        if hit.prefix_len() > 0 {
            return Some(hit);
        }
        let default = match ip {
            IpAddr::V4(_) => self.has_v4_default,
            IpAddr::V6(_) => self.has_v6_default,
        };
        default.then_some(hit)
    }

    /// Whether `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.matching_prefix(ip).is_some()
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(nets: &[&str]) -> IpSet {
        IpSet::from_nets(nets.iter().map(|n| n.parse().unwrap()))
    }

    #[test]
    fn longest_prefix_membership() {
        let s = set(&["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        assert!(s.contains("10.1.2.3".parse().unwrap()));
        assert!(s.contains("192.0.2.7".parse().unwrap()));
        assert!(!s.contains("192.0.2.8".parse().unwrap()));
        assert!(s.contains("2001:db8::1".parse().unwrap()));
        assert!(!s.contains("2001:db9::1".parse().unwrap()));
        assert!(!s.contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn default_route_only_when_asked() {
        assert!(!set(&[]).contains("1.2.3.4".parse().unwrap()));
        assert!(set(&["0.0.0.0/0"]).contains("1.2.3.4".parse().unwrap()));
        assert!(!set(&["0.0.0.0/0"]).contains("::1".parse().unwrap()));
    }
}
