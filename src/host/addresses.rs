//! The addresses of the sensor's own network namespace (its interfaces), read again every few
//! seconds: traffic to or from them is this host's, worth a lookup in the collector; traffic
//! between other hosts (a SPAN port, a bridge) is not, and passes without one.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long one reading of the interfaces is trusted.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// This namespace's interface addresses.
pub struct OwnAddresses {
    set: HashSet<IpAddr>,
    read_at: Option<Instant>,
}

impl Default for OwnAddresses {
    fn default() -> Self {
        Self::new()
    }
}

impl OwnAddresses {
    pub fn new() -> Self {
        OwnAddresses {
            set: HashSet::new(),
            read_at: None,
        }
    }

    /// Whether `addr` is on one of this namespace's interfaces.
    pub fn contains(&mut self, addr: IpAddr) -> bool {
        if self.read_at.is_none_or(|t| t.elapsed() >= FRESH_FOR) {
            self.set = read();
            self.read_at = Some(Instant::now());
        }
        self.set.contains(&addr.to_canonical())
    }
}

fn read() -> HashSet<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return HashSet::new();
    };
    addrs
        .filter_map(|a| {
            let a = a.address?;
            if let Some(v4) = a.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_is_ours_and_a_documentation_address_is_not() {
        let mut own = super::OwnAddresses::new();
        assert!(own.contains("127.0.0.1".parse().unwrap()));
        assert!(!own.contains("192.0.2.77".parse().unwrap()));
    }
}
