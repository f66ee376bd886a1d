//! The socket table: an exact 5-tuple and a time window → the process that opened the socket.
//! Never a port alone: a lookup matches protocol, both addresses and both ports, and among the
//! sockets that had that tuple, the one whose window holds the time asked about (a tuple reused
//! later by another process is another entry). An unconnected UDP socket has no peer: it is kept
//! under an unspecified remote, asked only when no connected socket had the tuple.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use super::event::Tuple;
use super::Proto;

/// A packet may be stamped a little before the kernel's event (clocks, batching).
const EARLY: Duration = Duration::from_millis(200);
/// Packets after the socket closed (the last ACK, a late retransmission).
const LATE: Duration = Duration::from_secs(5);
/// How long a closed socket is kept.
const RETAIN: Duration = Duration::from_secs(300);
/// Most sockets kept; the oldest go first, counted in [`Sockets::evicted`].
pub(crate) const CAP: usize = 262_144;
/// Sockets kept per tuple.
const PER_TUPLE: usize = 8;

/// Who opened one socket, and when it lived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) tgid: u32,
    pub(crate) tid: u32,
    pub(crate) uid: u32,
    pub(crate) cgroup: u64,
    pub(crate) netns: u32,
    pub(crate) comm: String,
    pub(crate) start: SystemTime,
    pub(crate) end: Option<SystemTime>,
}

type Key = (Proto, SocketAddr, SocketAddr);

/// The table.
#[derive(Default)]
pub(crate) struct Sockets {
    by_tuple: HashMap<Key, VecDeque<Opened>>,
    /// Insertion order, for the cap.
    order: VecDeque<(Key, SystemTime)>,
    /// This host's own addresses, each with the last time a socket was opened on it (any
    /// network namespace): the sensor asks before it spends a lookup on a packet.
    locals: HashMap<IpAddr, SystemTime>,
    pub(crate) evicted: u64,
}

/// Most local addresses kept (a host with more is not a CI runner; the rest are not asked for).
const LOCALS_CAP: usize = 4096;

fn unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

impl Sockets {
    /// A socket opened by `who` with `tuple`.
    pub(crate) fn open(&mut self, tuple: Tuple, who: Opened) {
        let key = (tuple.proto, canonical(tuple.local), canonical(tuple.remote));
        let own = key.1.ip();
        if !own.is_unspecified()
            && (self.locals.len() < LOCALS_CAP || self.locals.contains_key(&own))
        {
            self.locals.insert(own, who.start);
        }
        // The same connect again (first at a SYN retransmission, then when it was answered).
        if self
            .by_tuple
            .get(&key)
            .and_then(|l| l.back())
            .is_some_and(|o| o.start == who.start && o.tgid == who.tgid)
        {
            return;
        }
        if self.order.len() >= CAP {
            self.evict_one();
        }
        self.order.push_back((key, who.start));
        let list = self.by_tuple.entry(key).or_default();
        if list.len() >= PER_TUPLE {
            list.pop_front();
        }
        list.push_back(who);
    }

    fn evict_one(&mut self) {
        if let Some((key, start)) = self.order.pop_front() {
            if let Some(list) = self.by_tuple.get_mut(&key) {
                if let Some(i) = list.iter().position(|o| o.start == start) {
                    list.remove(i);
                    self.evicted += 1;
                }
                if list.is_empty() {
                    self.by_tuple.remove(&key);
                }
            }
        }
    }

    /// The socket with `tuple` ended at `at`.
    pub(crate) fn close(&mut self, tuple: Tuple, at: SystemTime) {
        let key = (tuple.proto, canonical(tuple.local), canonical(tuple.remote));
        if let Some(o) = self
            .by_tuple
            .get_mut(&key)
            .and_then(|l| l.iter_mut().rev().find(|o| o.end.is_none()))
        {
            o.end = Some(at);
        }
    }

    /// Drops sockets closed more than [`RETAIN`] before `now`.
    pub(crate) fn expire(&mut self, now: SystemTime) {
        let old = |o: &Opened| {
            o.end
                .is_some_and(|e| now.duration_since(e).unwrap_or_default() > RETAIN)
        };
        self.by_tuple.retain(|_, l| {
            l.retain(|o| !old(o));
            !l.is_empty()
        });
        self.locals
            .retain(|_, last| now.duration_since(*last).unwrap_or_default() <= RETAIN);
        let by_tuple = &self.by_tuple;
        self.order.retain(|(k, s)| {
            by_tuple
                .get(k)
                .is_some_and(|l| l.iter().any(|o| o.start == *s))
        });
    }

    /// Whether a socket opened in the last [`RETAIN`] had `addr` as its own address.
    pub(crate) fn is_local(&self, addr: IpAddr) -> bool {
        self.locals.contains_key(&addr.to_canonical())
    }

    /// The socket that had exactly this tuple at `at`: the latest opened no later than `at`
    /// (plus [`EARLY`]) and not closed before it (minus [`LATE`]). Falls back to an unconnected
    /// UDP socket bound to the local address or to any address on that port.
    pub(crate) fn find(
        &self,
        proto: Proto,
        local: SocketAddr,
        remote: SocketAddr,
        at: SystemTime,
    ) -> Option<&Opened> {
        let (local, remote) = (canonical(local), canonical(remote));
        let any_remote = SocketAddr::new(unspecified(remote.ip()), 0);
        let any_local = SocketAddr::new(unspecified(local.ip()), local.port());
        let keys = [
            (proto, local, remote),
            (proto, any_local, remote),
            (proto, local, any_remote),
            (proto, any_local, any_remote),
        ];
        // TCP sockets are connected: only the exact tuple.
        let asked = if proto == Proto::Udp {
            &keys[..]
        } else {
            &keys[..1]
        };
        asked.iter().find_map(|k| {
            self.by_tuple
                .get(k)?
                .iter()
                .rev()
                .find(|o| o.start <= at + EARLY && o.end.is_none_or(|e| at <= e + LATE))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(tgid: u32, start: SystemTime, end: Option<SystemTime>) -> Opened {
        Opened {
            tgid,
            tid: tgid,
            uid: 0,
            cgroup: 1,
            netns: 1,
            comm: "x".into(),
            start,
            end,
        }
    }

    fn tuple(proto: Proto, l: &str, r: &str) -> Tuple {
        Tuple {
            proto,
            local: l.parse().unwrap(),
            remote: r.parse().unwrap(),
        }
    }

    #[test]
    fn a_reused_tuple_is_told_apart_by_time_and_a_port_alone_never_matches() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let s = |n| t0 + Duration::from_secs(n);
        let mut tab = Sockets::default();
        let tu = tuple(Proto::Tcp, "10.0.0.5:40000", "192.0.2.1:443");
        tab.open(tu, who(100, s(0), None));
        tab.close(tu, s(10));
        tab.open(tu, who(200, s(100), None));
        let (l, r) = (tu.local, tu.remote);
        assert_eq!(tab.find(Proto::Tcp, l, r, s(5)).map(|o| o.tgid), Some(100));
        assert_eq!(tab.find(Proto::Tcp, l, r, s(12)).map(|o| o.tgid), Some(100));
        assert_eq!(tab.find(Proto::Tcp, l, r, s(50)), None, "between the two");
        assert_eq!(
            tab.find(Proto::Tcp, l, r, s(101)).map(|o| o.tgid),
            Some(200)
        );
        // Same local port, other peer; or UDP for a TCP socket: nothing.
        let other: SocketAddr = "192.0.2.2:443".parse().unwrap();
        assert_eq!(tab.find(Proto::Tcp, l, other, s(5)), None);
        assert_eq!(tab.find(Proto::Udp, l, r, s(5)), None);
    }

    #[test]
    fn unconnected_udp_is_found_by_its_bound_address_only_when_nothing_exact_is() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut tab = Sockets::default();
        tab.open(
            tuple(Proto::Udp, "0.0.0.0:5353", "0.0.0.0:0"),
            who(7, t0, None),
        );
        let l: SocketAddr = "10.0.0.5:5353".parse().unwrap();
        let r: SocketAddr = "192.0.2.53:53".parse().unwrap();
        assert_eq!(tab.find(Proto::Udp, l, r, t0).map(|o| o.tgid), Some(7));
        tab.open(
            tuple(Proto::Udp, "10.0.0.5:5353", "192.0.2.53:53"),
            who(8, t0, None),
        );
        assert_eq!(tab.find(Proto::Udp, l, r, t0).map(|o| o.tgid), Some(8));
        let l2: SocketAddr = "10.0.0.5:5354".parse().unwrap();
        assert_eq!(tab.find(Proto::Udp, l2, r, t0), None);
    }

    #[test]
    fn local_addresses_are_those_sockets_were_opened_on_and_age_out() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut tab = Sockets::default();
        tab.open(
            tuple(Proto::Udp, "0.0.0.0:5353", "0.0.0.0:0"),
            who(7, t0, None),
        );
        tab.open(
            tuple(Proto::Tcp, "[::ffff:10.0.0.5]:40000", "192.0.2.1:443"),
            who(8, t0, None),
        );
        assert!(
            tab.is_local("10.0.0.5".parse().unwrap()),
            "v4-mapped counts as v4"
        );
        assert!(
            !tab.is_local("0.0.0.0".parse().unwrap()),
            "unbound is no address"
        );
        assert!(
            !tab.is_local("192.0.2.1".parse().unwrap()),
            "the peer is not local"
        );
        tab.expire(t0 + RETAIN + Duration::from_secs(1));
        assert!(!tab.is_local("10.0.0.5".parse().unwrap()));
    }
}
