//! IPv4 and IPv6 fragment reassembly on packet time. Overlaps keep the first copy of each byte
//! (as most stacks and Suricata's default policy do); a datagram is bounded to 64 KiB, the table
//! to a fixed number of datagrams, and stale ones expire. Everything dropped is counted.

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
    /// Byte ranges received, sorted and merged.
    covered: Vec<(u32, u32)>,
    /// Set once the last fragment (more = false) arrived.
    total_len: Option<u32>,
}

impl Partial {
    fn add(&mut self, offset: u32, bytes: &[u8]) {
        let end = offset + bytes.len() as u32;
        if self.data.len() < end as usize {
            self.data.resize(end as usize, 0);
        }
        // Copy only the bytes no earlier fragment supplied (first copy wins).
        let mut pos = offset;
        for &(s, e) in &self.covered {
            if e <= pos || s >= end {
                continue;
            }
            if s > pos {
                copy_range(&mut self.data, pos, s, offset, bytes);
            }
            pos = pos.max(e);
        }
        if pos < end {
            copy_range(&mut self.data, pos, end, offset, bytes);
        }
        self.covered.push((offset, end));
        self.covered.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.covered.len());
        for &(s, e) in &self.covered {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.covered = merged;
    }

    fn complete(&self) -> bool {
        matches!((self.total_len, self.covered.as_slice()), (Some(t), [(0, e)]) if *e >= t)
    }
}

/// Copies `bytes[from..to]` (positions in datagram coordinates, `bytes` starting at `offset`).
fn copy_range(data: &mut [u8], from: u32, to: u32, offset: u32, bytes: &[u8]) {
    let src = &bytes[(from - offset) as usize..(to - offset) as usize];
    data[from as usize..to as usize].copy_from_slice(src);
}

/// Counters of the reassembler.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefragStats {
    pub(crate) fragments: u64,
    pub(crate) reassembled: u64,
    pub timed_out: u64,
    pub evicted: u64,
    pub too_large: u64,
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
        let end = frag.offset as u64 + frag.data.len() as u64;
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            id: frag.id,
            protocol: frag.protocol,
            tunnel: TunnelKey::of(&frag.tunnel),
        };
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
            covered: Vec::new(),
            total_len: None,
        });
        partial.add(frag.offset, frag.data);
        if !frag.more {
            partial.total_len = Some(end as u32);
        }
        if !partial.complete() {
            return None;
        }
        let mut done = self.pending.remove(&key)?;
        done.data.truncate(done.total_len.unwrap_or(0) as usize);
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
    fn overlap_keeps_the_first_copy() {
        let mut d = Defragmenter::default();
        let t = Timestamp(0);
        assert!(d.add(t, &frag(0, true, b"GOOD")).is_none());
        assert!(d.add(t, &frag(0, true, b"EVIL")).is_none());
        let g = d.add(t, &frag(4, false, b"!!")).expect("complete");
        assert_eq!(g.data, b"GOOD!!");
    }

    #[test]
    fn oversize_and_stale_datagrams_are_dropped_and_counted() {
        let mut d = Defragmenter::default();
        assert!(d
            .add(Timestamp(0), &frag(65_530, false, b"0123456789"))
            .is_none());
        assert_eq!(d.stats.too_large, 1);
        assert!(d.add(Timestamp(0), &frag(0, true, b"AAAA")).is_none());
        d.expire(Timestamp(0).plus_secs(61));
        assert_eq!(d.stats.timed_out, 1);
    }
}
