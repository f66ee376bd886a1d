//! IPv4 and IPv6 fragment reassembly on packet time, as Linux keeps fragments
//! (`inet_frag_queue_insert` in net/ipv4/inet_fragment.c, shared by IPv4 and IPv6, and the
//! length checks of `ip_frag_queue` in net/ipv4/ip_fragment.c): the received fragments form runs
//! of contiguous fragments; a fragment wholly inside one run is a duplicate, dropped while the
//! datagram waits on (first copy wins); any other overlap drops the whole datagram, all its
//! fragments (RFC 5722 for IPv6, and IPv4 since Linux 4.19), and a later fragment of that id
//! starts a new one. A last fragment that contradicts the length known, data past a known end,
//! or an empty fragment drops the datagram too; a non-last IPv4 fragment is cut to a multiple of
//! 8 bytes, a non-last IPv6 one that is not is refused alone (`ip6_frag_queue`). A datagram is bounded to 64 KiB, the table to a fixed number of datagrams, and stale
//! ones expire. Everything dropped is counted.

use super::{Fragment, Tunnel, TunnelKey};
use crate::time::Timestamp;
use rustc_hash::FxHashMap;
use std::net::IpAddr;

/// Largest datagram we rebuild (the IPv4/IPv6 limit without jumbograms).
const MAX_DATAGRAM: u32 = 65_535;
/// Seconds of packet time a partial datagram may wait for its missing pieces.
const TIMEOUT_SECS: u64 = 60;
/// Partial datagrams kept at most; the oldest is dropped past this.
const MAX_PENDING: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
    /// Two mirrored networks may send the same addresses and id.
    tunnel: Option<TunnelKey>,
}

struct Partial {
    first_seen: Timestamp,
    data: Vec<u8>,
    /// Runs of contiguous fragments as Linux keeps them, `(start, end)`, sorted and disjoint;
    /// only a fragment that starts where the last run ends joins a run, so adjacent runs stay
    /// apart (a fragment spanning two of them is an overlap, not a duplicate).
    runs: Vec<(u32, u32)>,
    /// The datagram's length as known so far: the end of the last fragment (`last_in`) or the
    /// furthest end seen.
    len: u32,
    last_in: bool,
    /// Bytes received (Linux's `meat`).
    meat: u32,
}

/// What Linux does with a fragment.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Queued.
    Ok,
    /// Wholly inside a run received before: dropped, the datagram waits on.
    Duplicate,
    /// Overlaps what was received otherwise: the whole datagram is dropped.
    Overlap,
}

impl Partial {
    /// `inet_frag_queue_insert`: where `[offset, end)` goes among the runs.
    fn insert(&mut self, offset: u32, end: u32) -> Verdict {
        match self.runs.last_mut() {
            None => self.runs.push((offset, end)),
            Some(last) if last.1 < end => {
                // The common case: past the last run's end.
                if offset < last.1 {
                    return Verdict::Overlap;
                }
                if offset == last.1 {
                    last.1 = end;
                } else {
                    self.runs.push((offset, end));
                }
            }
            Some(_) => {
                let at = self.runs.partition_point(|&(_, e)| e <= offset);
                match self.runs.get(at) {
                    Some(&(s, e)) if end > s => {
                        return if offset >= s && end <= e {
                            Verdict::Duplicate
                        } else {
                            Verdict::Overlap
                        };
                    }
                    _ => self.runs.insert(at, (offset, end)),
                }
            }
        }
        Verdict::Ok
    }

    fn copy(&mut self, offset: u32, bytes: &[u8]) {
        let end = offset as usize + bytes.len();
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[offset as usize..end].copy_from_slice(bytes);
        self.meat += bytes.len() as u32;
    }

    fn complete(&self) -> bool {
        self.last_in && self.runs.first().is_some_and(|r| r.0 == 0) && self.meat == self.len
    }
}

/// Counters of the reassembler.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefragStats {
    pub(crate) fragments: u64,
    pub(crate) reassembled: u64,
    pub timed_out: u64,
    pub evicted: u64,
    pub too_large: u64,
    /// Datagrams dropped because a fragment overlapped others (not as a duplicate).
    pub overlaps: u64,
    /// Datagrams dropped for lengths Linux refuses (a last fragment that contradicts the known
    /// length, data past the end, an empty fragment).
    pub invalid: u64,
    /// Duplicate fragments dropped (their datagram kept).
    pub duplicates: u64,
    /// Fragments refused alone (their datagram kept): a non-last IPv6 fragment whose length is
    /// not a multiple of 8.
    pub refused: u64,
}

/// A reassembled datagram: the transport header and payload, with the addresses it came with.
#[derive(Debug)]
pub struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub data: Vec<u8>,
    /// The tunnel its fragments came through.
    pub tunnel: Tunnel,
}

/// Pending partial datagrams.
#[derive(Default)]
pub struct Defragmenter {
    pending: FxHashMap<Key, Partial>,
    pub stats: DefragStats,
}

impl Defragmenter {
    /// Adds a fragment; returns the whole datagram once every piece is in.
    pub fn add(&mut self, now: Timestamp, frag: &Fragment<'_>) -> Option<Datagram> {
        self.stats.fragments += 1;
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            id: frag.id,
            protocol: frag.protocol,
            tunnel: TunnelKey::of(&frag.tunnel),
        };
        let offset = frag.offset;
        let mut end = offset as u64 + frag.data.len() as u64;
        if end > MAX_DATAGRAM as u64 {
            self.stats.too_large += 1;
            self.pending.remove(&key);
            return None;
        }
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_PENDING {
            self.expire(now);
            if self.pending.len() >= MAX_PENDING {
                self.evict_oldest();
            }
        }
        let partial = self.pending.entry(key).or_insert_with(|| Partial {
            first_seen: now,
            data: Vec::new(),
            runs: Vec::new(),
            len: 0,
            last_in: false,
            meat: 0,
        });
        if frag.more && !end.is_multiple_of(8) && frag.src.is_ipv6() {
            // ip6_frag_queue: a non-last IPv6 fragment not a multiple of 8 bytes long is
            // refused alone (parameter problem); its datagram waits on.
            self.stats.refused += 1;
            return None;
        }
        let mut end32 = end as u32;
        // ip_frag_queue's length checks (IPv4 cuts a non-last fragment to a multiple of 8).
        let consistent = if !frag.more {
            let ok = end32 >= partial.len && !(partial.last_in && end32 != partial.len);
            partial.last_in = true;
            partial.len = end32;
            ok
        } else {
            end32 &= !7;
            end = end32 as u64;
            let ok = !(end32 > partial.len && partial.last_in);
            partial.len = partial.len.max(end32);
            ok
        };
        if !consistent || end32 as u64 <= offset as u64 {
            self.stats.invalid += 1;
            self.pending.remove(&key);
            return None;
        }
        match partial.insert(offset, end32) {
            Verdict::Ok => partial.copy(offset, &frag.data[..(end - offset as u64) as usize]),
            Verdict::Duplicate => {
                self.stats.duplicates += 1;
                return None;
            }
            Verdict::Overlap => {
                self.stats.overlaps += 1;
                self.pending.remove(&key);
                return None;
            }
        }
        if !partial.complete() {
            return None;
        }
        let mut done = self.pending.remove(&key)?;
        done.data.truncate(done.len as usize);
        self.stats.reassembled += 1;
        Some(Datagram {
            src: frag.src,
            dst: frag.dst,
            protocol: frag.protocol,
            data: done.data,
            tunnel: frag.tunnel,
        })
    }

    /// Drops partial datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        let before = self.pending.len();
        self.pending
            .retain(|_, p| now.secs_since(p.first_seen) < TIMEOUT_SECS);
        self.stats.timed_out += (before - self.pending.len()) as u64;
    }

    fn evict_oldest(&mut self) {
        if let Some(key) = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(k, _)| *k)
        {
            self.pending.remove(&key);
            self.stats.evicted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            src: "10.0.0.1".parse().unwrap(),
            dst: "192.0.2.1".parse().unwrap(),
            id: 7,
            protocol: 17,
            offset,
            more,
            data,
            vlans: crate::decode::Vlans::NONE,
            tunnel: Tunnel::NONE,
        }
    }

    #[test]
    fn out_of_order_fragments_reassemble() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        assert!(d.add(t, &frag(8, false, b"CCCC")).is_none());
        assert!(
            d.add(t, &frag(0, true, b"AAAABBBB")).map(|g| g.data) == Some(b"AAAABBBBCCCC".to_vec())
        );
    }

    #[test]
    fn a_duplicate_inside_a_run_is_dropped_and_the_first_copy_wins() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        assert!(d.add(t, &frag(0, true, b"GOODGOOD")).is_none());
        assert!(d.add(t, &frag(0, true, b"EVILEVIL")).is_none());
        let g = d.add(t, &frag(8, false, b"!!")).expect("complete");
        assert_eq!(g.data, b"GOODGOOD!!");
        assert_eq!((d.stats.duplicates, d.stats.overlaps), (1, 0));
    }

    #[test]
    fn any_other_overlap_drops_the_whole_datagram_and_the_id_starts_afresh() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        assert!(d.add(t, &frag(0, true, b"AAAAAAAABBBBBBBB")).is_none());
        // Starts inside the last run and ends past it.
        assert!(d.add(t, &frag(8, true, b"XXXXXXXXYYYYYYYY")).is_none());
        assert_eq!(d.stats.overlaps, 1);
        // The last fragment now opens a new datagram that lacks its start.
        assert!(d.add(t, &frag(16, false, b"CC")).is_none());
        // A whole new first part completes it.
        let g = d
            .add(t, &frag(0, true, b"NNNNNNNNMMMMMMMM"))
            .expect("afresh");
        assert_eq!(g.data, b"NNNNNNNNMMMMMMMMCC");
    }

    #[test]
    fn a_fragment_spanning_two_adjacent_runs_is_an_overlap_not_a_duplicate() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        assert!(d.add(t, &frag(8, true, b"BBBBBBBB")).is_none());
        // Before the last run: a run of its own, adjacent but not merged.
        assert!(d.add(t, &frag(0, true, b"AAAAAAAA")).is_none());
        assert!(d.add(t, &frag(0, true, b"AAAAAAAABBBBBBBB")).is_none());
        assert_eq!(d.stats.overlaps, 1);
    }

    #[test]
    fn a_ragged_non_last_ipv6_fragment_is_refused_alone() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        let v6 = |offset, more, data| Fragment {
            src: "fd00::2".parse().unwrap(),
            dst: "2001:db8::53".parse().unwrap(),
            ..frag(offset, more, data)
        };
        assert!(d.add(t, &v6(0, true, b"AAAAAAAAB")).is_none());
        assert_eq!(d.stats.refused, 1);
        assert!(d.add(t, &v6(0, true, b"AAAAAAAA")).is_none());
        let g = d.add(t, &v6(8, false, b"Z")).expect("complete");
        assert_eq!(g.data, b"AAAAAAAAZ");
    }

    #[test]
    fn lengths_linux_refuses_drop_the_datagram() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        assert!(d.add(t, &frag(0, true, b"AAAAAAAABBBBBBBB")).is_none());
        // A last fragment ending before data already received.
        assert!(d.add(t, &frag(0, false, b"AAAA")).is_none());
        assert_eq!(d.stats.invalid, 1);
        // A non-last fragment is cut to a multiple of 8; under 8 bytes it is empty.
        assert!(d.add(t, &frag(0, true, b"AAAA")).is_none());
        assert_eq!(d.stats.invalid, 2);
    }

    #[test]
    fn oversize_and_stale_datagrams_are_dropped_and_counted() {
        let mut d = Defragmenter::default();
        assert!(d
            .add(Timestamp(0), &frag(65_530, false, b"0123456789"))
            .is_none());
        assert_eq!(d.stats.too_large, 1);
        assert!(d.add(Timestamp(0), &frag(0, true, b"AAAAAAAA")).is_none());
        d.expire(Timestamp(0).plus_secs(61));
        assert_eq!(d.stats.timed_out, 1);
    }
}
