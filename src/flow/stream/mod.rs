//! One direction of a TCP connection, reassembled as the receiving Linux kernel would deliver it
//! to the application (the receiver decides what the stream is, so an IDS must read the same):
//!
//! - in-order bytes are delivered at once, so bytes already delivered are never replaced (a
//!   retransmission or overlap cannot change them);
//! - segments ahead of the next expected byte wait in the out-of-order queue, modelled on
//!   Linux's ([`ofo`]), and are delivered in sequence order when the hole fills;
//! - data on a SYN waits for the SYN-ACK and is delivered only if it acknowledges it (TCP Fast
//!   Open), else dropped (the client sends it again after the handshake);
//! - with timestamps negotiated, a segment older than the last accepted timestamp is dropped
//!   (PAWS, [`paws`]);
//! - the urgent byte (`MSG_OOB`) is taken out of the stream, as Linux does without
//!   `SO_OOBINLINE` ([`Stream::urgent_pointer`]).
//!
//! Where the outcome depends on what a sensor cannot know (whether the kernel coalesced two
//! queued segments, the exact walk of its tree) the bytes only differ when overlapping copies
//! carry different bytes: [`Stream::overlap`] tells the caller, which can keep the other version
//! in an alternate stream ([`Stream::add_other_version`]).
//!
//! A capture point may see an ACK before the data it acknowledges (the two directions are merged
//! with some skew), so an acknowledged hole is skipped only once it has stayed open for
//! [`GAP_PATIENCE`] packets. Bytes are kept only until the app-layer parser consumes them.

pub mod harness;
mod ofo;
pub(crate) mod paws;

use ofo::{after, before, Queue};
pub(crate) use paws::Paws;

/// Most in-order bytes kept unconsumed before the engine gives up on the flow's app layer.
pub(crate) const MAX_BUFFERED: usize = 64 * 1024;
/// Most out-of-order bytes kept waiting for a missing segment.
const MAX_OUT_OF_ORDER: usize = 64 * 1024;
/// Packets of the flow an acknowledged hole may stay open before it is declared a gap.
pub(crate) const GAP_PATIENCE: u16 = 16;

/// What adding a segment changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// New in-order bytes are readable.
    Data,
    /// Nothing new readable (duplicate, out of order, held, or empty).
    Nothing,
    /// The segment was dropped because the out-of-order budget is spent.
    Dropped,
}

/// How a new segment relates to the bytes the stream still holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// It covers no byte held (or only bytes already consumed).
    None,
    /// It covers held bytes and carries the same bytes there.
    Same,
    /// It carries other bytes than a held copy, first at this sequence number.
    Different(u32),
}

/// Reassembly state of one direction.
#[derive(Clone, Debug)]
pub(crate) struct Stream {
    /// Sequence number of the next in-order byte (`rcv_nxt`); `None` until the first SYN or
    /// data segment.
    next_seq: Option<u32>,
    /// In-order bytes not yet consumed.
    buf: Vec<u8>,
    /// How many of the last bytes of `buf` are contiguous in sequence space, ending at
    /// `next_seq` (an urgent byte taken out breaks the run).
    contiguous: usize,
    /// Segments ahead of `next_seq`.
    ofo: Queue,
    /// Bytes still to drop as they arrive (a body the parser consumed before it was all here).
    skip: u64,
    /// Packets since the peer acknowledged bytes that are missing here (`None`: no such hole).
    acked_hole_age: Option<u16>,
    /// Data sent on the SYN, waiting for the SYN-ACK.
    syn_data: Option<Vec<u8>>,
    /// The pending urgent byte's sequence number (`tp->urg_seq` while not yet read).
    urgent: Option<u32>,
    /// Timestamps of the segments sent this way, as the receiver checks them.
    pub(crate) paws: Paws,
    /// Gaps skipped so far.
    pub(crate) gaps: u32,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            next_seq: None,
            buf: Vec::new(),
            contiguous: 0,
            ofo: Queue::new(MAX_OUT_OF_ORDER),
            skip: 0,
            acked_hole_age: None,
            syn_data: None,
            urgent: None,
            paws: Paws::default(),
            gaps: 0,
        }
    }
}

impl Stream {
    /// Starts the stream at the byte after the SYN's sequence number; a payload on the SYN is
    /// held until [`Stream::on_syn_acked`].
    pub(crate) fn on_syn(&mut self, syn_seq: u32, payload: &[u8]) {
        if self.next_seq.is_none() {
            self.next_seq = Some(syn_seq.wrapping_add(1));
            if !payload.is_empty() {
                self.syn_data = Some(payload.to_vec());
            }
        }
    }

    /// The peer's SYN-ACK acknowledged up to `ack`: the SYN's data it covers is delivered (Fast
    /// Open), the rest dropped. `Added::Data` when bytes became readable.
    pub(crate) fn on_syn_acked(&mut self, ack: u32) -> Added {
        let (Some(data), Some(next)) = (self.syn_data.take(), self.next_seq) else {
            return Added::Nothing;
        };
        let acked = ack.wrapping_sub(next) as usize;
        if acked == 0 || acked > data.len() {
            return Added::Nothing;
        }
        self.add(next, &data[..acked])
    }

    /// Whether a segment at `seq` starts at or before the next expected byte.
    pub(crate) fn in_order(&self, seq: u32) -> bool {
        self.next_seq.is_none_or(|next| !after(seq, next))
    }

    /// The in-order bytes not consumed yet.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf
    }

    /// Drops the first `n` bytes (the parser is done with them). `n` may exceed what is readable:
    /// the rest is dropped as it arrives (a message body the parser skips).
    pub(crate) fn consume(&mut self, n: usize) {
        if n >= self.buf.len() {
            self.skip += (n - self.buf.len()) as u64;
            self.buf.clear();
        } else {
            self.buf.drain(..n);
        }
        self.contiguous = self.contiguous.min(self.buf.len());
    }

    /// Bytes of buffers held (in-order bytes and out-of-order segments).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity()
            + self.ofo.heap_bytes()
            + self.syn_data.as_ref().map_or(0, Vec::capacity)
    }

    /// Frees all buffers: the flow is bypassed or its app layer finished.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
        self.contiguous = 0;
        self.ofo.clear();
        self.syn_data = None;
    }

    /// A segment starting at `seq` carries the urgent flag with pointer `urg_ptr`
    /// (`tcp_check_urg`, with `tcp_stdurg` off): the byte at `seq + urg_ptr - 1` becomes the
    /// pending urgent byte, unless it was delivered already or an urgent byte at or after it
    /// is pending. Call before [`Stream::add`] of the same segment, as the kernel does; `true`
    /// when it set a new pending urgent byte.
    pub(crate) fn urgent_pointer(&mut self, seq: u32, urg_ptr: u16) -> bool {
        let ptr = seq.wrapping_add(u32::from(urg_ptr.saturating_sub(1)));
        if let Some(next) = self.next_seq {
            if before(ptr, next) {
                return false;
            }
        }
        if self.urgent.is_some_and(|u| !after(ptr, u)) {
            return false;
        }
        self.urgent = Some(ptr);
        true
    }

    /// Adds a data segment starting at `seq`.
    pub(crate) fn add(&mut self, seq: u32, data: &[u8]) -> Added {
        if data.is_empty() {
            return Added::Nothing;
        }
        let next = *self.next_seq.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next) as i32;
        if ahead > 0 {
            return if self.ofo.insert(seq, data) {
                Added::Nothing
            } else {
                Added::Dropped
            };
        }
        let already = ahead.unsigned_abs() as usize;
        if already >= data.len() {
            return Added::Nothing;
        }
        self.append(&data[already..]);
        self.drain_ofo();
        Added::Data
    }

    /// How `data` at `seq` compares with the bytes held (unconsumed in-order bytes, queued
    /// segments): call before [`Stream::add`].
    pub(crate) fn overlap(&self, seq: u32, data: &[u8]) -> Overlap {
        let mut found = Overlap::None;
        let mut check = |start: u32, held: &[u8]| {
            let (a, b) = (start, start.wrapping_add(held.len() as u32));
            let end = seq.wrapping_add(data.len() as u32);
            let lo = if after(seq, a) { seq } else { a };
            let hi = if before(end, b) { end } else { b };
            if !before(lo, hi) {
                return;
            }
            let n = hi.wrapping_sub(lo) as usize;
            // Sequence comparisons wrap: positions 2^31 apart compare both ways, so the ranges
            // are taken with `get` (fuzzing found such a pair).
            let (Some(mine), Some(theirs)) = (
                range_of(data, lo.wrapping_sub(seq), n),
                range_of(held, lo.wrapping_sub(a), n),
            ) else {
                return;
            };
            match mine.iter().zip(theirs).position(|(x, y)| x != y) {
                Some(i) => {
                    let at = lo.wrapping_add(i as u32);
                    match found {
                        Overlap::Different(prev) if !before(at, prev) => {}
                        _ => found = Overlap::Different(at),
                    }
                }
                None => {
                    if found == Overlap::None {
                        found = Overlap::Same;
                    }
                }
            }
        };
        if let Some(next) = self.next_seq {
            let held = &self.buf[self.buf.len() - self.contiguous..];
            check(next.wrapping_sub(held.len() as u32), held);
        }
        for s in self.ofo.segs() {
            check(s.seq, &s.data);
        }
        found
    }

    /// The byte at `seq` as the stream will deliver it, if held.
    fn byte_at(&self, seq: u32) -> Option<u8> {
        if let Some(next) = self.next_seq {
            let back = next.wrapping_sub(seq) as usize;
            if back >= 1 && back <= self.contiguous {
                return Some(self.buf[self.buf.len() - back]);
            }
        }
        self.ofo
            .segs()
            .iter()
            .find(|s| !before(seq, s.seq) && before(seq, s.end()))
            .and_then(|s| s.data.get(seq.wrapping_sub(s.seq) as usize).copied())
    }

    /// Adds `data` at `seq` to this copy of a stream (taken before `primary.add(seq, data)`)
    /// the other way: where `primary` kept the held bytes at `first_diff`, the new copy wins
    /// here, and the other way round. The result is the stream a receiver that resolved the
    /// overlap differently would deliver.
    pub(crate) fn add_other_version(
        &mut self,
        seq: u32,
        data: &[u8],
        first_diff: u32,
        primary: &Stream,
    ) -> Added {
        let Some(&new_byte) = data.get(first_diff.wrapping_sub(seq) as usize) else {
            return self.add(seq, data);
        };
        if primary.byte_at(first_diff) == Some(new_byte) {
            // The primary took the new copy: keep every held byte here.
            let mut patched = data.to_vec();
            for (i, b) in patched.iter_mut().enumerate() {
                if let Some(held) = self.byte_at(seq.wrapping_add(i as u32)) {
                    *b = held;
                }
            }
            self.add(seq, &patched)
        } else {
            self.overwrite(seq, data);
            self.add(seq, data)
        }
    }

    /// Writes `data` over every held copy of the bytes it covers.
    fn overwrite(&mut self, seq: u32, data: &[u8]) {
        let end = seq.wrapping_add(data.len() as u32);
        let put = |start: u32, held: &mut [u8]| {
            for (i, b) in held.iter_mut().enumerate() {
                let at = start.wrapping_add(i as u32);
                if !before(at, seq) && before(at, end) {
                    if let Some(new) = data.get(at.wrapping_sub(seq) as usize) {
                        *b = *new;
                    }
                }
            }
        };
        if let Some(next) = self.next_seq {
            let from = self.buf.len() - self.contiguous;
            let start = next.wrapping_sub(self.contiguous as u32);
            put(start, &mut self.buf[from..]);
        }
        for s in self.ofo.segs_mut() {
            put(s.seq, &mut s.data);
        }
    }

    /// The peer acknowledged up to `ack`: if that covers bytes missing here while later bytes
    /// wait, the hole starts ageing (see [`Stream::age_hole`]).
    pub(crate) fn on_peer_ack(&mut self, ack: u32) {
        let Some(next) = self.next_seq else { return };
        if !self.ofo.is_empty() && after(ack, next) {
            self.acked_hole_age.get_or_insert(0);
        }
    }

    /// Called once per packet of the flow: ages an acknowledged hole and skips it once it has
    /// stayed open for [`GAP_PATIENCE`] packets; `true` when a gap was skipped.
    pub(crate) fn age_hole(&mut self) -> bool {
        let Some(age) = self.acked_hole_age else {
            return false;
        };
        if self.ofo.is_empty() {
            self.acked_hole_age = None;
            return false;
        }
        if age + 1 < GAP_PATIENCE {
            self.acked_hole_age = Some(age + 1);
            return false;
        }
        self.skip_gap()
    }

    /// Skips to the earliest waiting segment (used at connection end too); `true` if it did.
    pub(crate) fn skip_gap(&mut self) -> bool {
        let (Some(next), Some(earliest)) = (self.next_seq, self.ofo.first_seq()) else {
            return false;
        };
        if !after(earliest, next) {
            return false;
        }
        self.gaps += 1;
        self.buf.clear();
        self.contiguous = 0;
        self.skip = 0;
        self.acked_hole_age = None;
        self.next_seq = Some(earliest);
        if self.urgent.is_some_and(|u| before(u, earliest)) {
            self.urgent = None;
        }
        self.drain_ofo();
        true
    }

    /// Delivers `bytes`, which start at `next_seq`: the pending urgent byte is taken out, then
    /// bytes the parser skipped ahead are dropped.
    fn append(&mut self, bytes: &[u8]) {
        let Some(next) = self.next_seq else { return };
        self.next_seq = Some(next.wrapping_add(bytes.len() as u32));
        let cut = self
            .urgent
            .map(|u| u.wrapping_sub(next) as usize)
            .filter(|&at| at < bytes.len());
        match cut {
            Some(at) => {
                self.urgent = None;
                self.deliver(&bytes[..at]);
                self.contiguous = 0;
                self.deliver(&bytes[at + 1..]);
            }
            None => self.deliver(bytes),
        }
    }

    fn deliver(&mut self, bytes: &[u8]) {
        let dropped = (self.skip.min(bytes.len() as u64)) as usize;
        self.skip -= dropped as u64;
        let kept = &bytes[dropped..];
        self.buf.extend_from_slice(kept);
        self.contiguous = if dropped > 0 {
            kept.len()
        } else {
            self.contiguous + kept.len()
        };
    }

    /// Moves queued segments that are now in order into the buffer, lowest first; the parts
    /// already delivered are trimmed (`tcp_ofo_queue`).
    fn drain_ofo(&mut self) {
        loop {
            let Some(next) = self.next_seq else { return };
            let Some(seg) = self.ofo.pop_ready(next) else {
                return;
            };
            if after(seg.end(), next) {
                if let Some(rest) = seg.data.get(next.wrapping_sub(seg.seq) as usize..) {
                    self.append(rest);
                }
            }
        }
    }
}

/// `n` bytes of `bytes` from `from`, if it holds them.
fn range_of(bytes: &[u8], from: u32, n: usize) -> Option<&[u8]> {
    bytes.get(from as usize..)?.get(..n)
}

#[cfg(test)]
mod tests {

    #[test]
    fn sequence_numbers_half_the_space_apart_never_index_out_of_range() {
        // Serial comparisons wrap at 2^31: a segment that far from the held bytes compares both
        // ways. Fuzzing found a panic there; every such offset must be refused quietly.
        for delta in [
            (1u32 << 31) - 2,
            (1 << 31) - 1,
            1 << 31,
            (1 << 31) + 1,
            (1 << 31) + 3,
        ] {
            for len in [1usize, 3, 8] {
                let mut s = Stream::default();
                s.on_syn(0, &[]);
                s.add(1, b"abcdef");
                s.add(20, b"queued");
                for base in [1u32, 7, 20, 26] {
                    let seq = base.wrapping_add(delta);
                    let data = vec![b'x'; len];
                    let _ = s.overlap(seq, &data);
                    let mut other = Stream::default();
                    other.on_syn(0, &[]);
                    other.add(1, b"abcdef");
                    let _ = other.add_other_version(seq, &data, seq, &s);
                    let _ = s.add(seq, &data);
                }
            }
        }
    }

    use super::*;

    #[test]
    fn out_of_order_segments_are_reordered() {
        let mut s = Stream::default();
        s.on_syn(99, &[]);
        assert_eq!(s.add(105, b"World"), Added::Nothing);
        assert_eq!(s.add(100, b"Hello"), Added::Data);
        assert_eq!(s.data(), b"HelloWorld");
    }

    #[test]
    fn overlaps_and_retransmissions_keep_the_first_copy() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(1, b"GOOD");
        s.add(1, b"EVIL");
        s.add(3, b"XX!!");
        assert_eq!(s.data(), b"GOOD!!");
        // Two copies of a future segment: the first to arrive wins.
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(3, b"ab");
        s.add(3, b"zz");
        s.add(1, b"12");
        assert_eq!(s.data(), b"12ab");
    }

    #[test]
    fn consumed_bytes_leave_the_buffer_and_sequence_wraps() {
        let mut s = Stream::default();
        s.on_syn(u32::MAX - 1, &[]);
        s.add(u32::MAX, b"ab");
        s.add(1, b"cd");
        assert_eq!(s.data(), b"abcd");
        s.consume(3);
        assert_eq!(s.data(), b"d");
    }

    #[test]
    fn consuming_past_the_buffer_drops_bytes_yet_to_come() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(1, b"head");
        s.consume(10);
        s.add(5, b"body");
        s.add(9, b"..next");
        assert_eq!(s.data(), b"next");
    }

    #[test]
    fn a_gap_the_peer_acked_is_skipped_once_it_stays_open() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(1, b"aaaa");
        s.consume(4);
        s.add(9, b"cccc");
        s.on_peer_ack(5);
        assert!(!s.age_hole(), "an ACK of what we have is no evidence");
        s.on_peer_ack(13);
        for _ in 1..GAP_PATIENCE {
            assert!(!s.age_hole());
        }
        assert!(s.age_hole());
        assert_eq!(s.data(), b"cccc");
        assert_eq!(s.gaps, 1);
    }

    #[test]
    fn an_ack_seen_before_its_data_is_no_gap() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(5, b"bbbb");
        s.on_peer_ack(9);
        assert!(!s.age_hole());
        s.add(1, b"aaaa");
        assert!(!s.age_hole());
        assert_eq!(s.data(), b"aaaabbbb");
        assert_eq!(s.gaps, 0);
    }

    #[test]
    fn out_of_order_budget_is_bounded() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        let chunk = vec![0u8; 1024];
        let mut dropped = 0;
        for i in 0..100u32 {
            if s.add(1000 + i * 2048, &chunk) == Added::Dropped {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 36);
    }

    /// Feeds `(seq, bytes)` segments after a SYN at 0; returns what was delivered.
    fn feed(segs: &[(u32, &[u8])]) -> Vec<u8> {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        for (seq, data) in segs {
            s.add(*seq, data);
        }
        s.data().to_vec()
    }

    #[test]
    fn linux_replaces_a_queued_segment_by_a_longer_one_with_the_same_start() {
        // The trick of issue 10: IOC bytes queued, a longer copy with the same start, then the
        // hole filled. Linux delivers the longer copy.
        assert_eq!(feed(&[(3, b"EVIL"), (3, b"good!"), (1, b"ab")]), b"abgood!");
        // Same start, not longer: the queued copy stays.
        assert_eq!(feed(&[(3, b"EVIL"), (3, b"goo"), (1, b"ab")]), b"abEVIL");
    }

    #[test]
    fn linux_keeps_the_lower_start_of_partial_overlaps_and_drops_covered_segments() {
        // Partial overlap: both kept, the lower start wins when delivered.
        assert_eq!(feed(&[(5, b"BBBB"), (3, b"aaaa"), (1, b"xy")]), b"xyaaaaBB");
        // A segment starting earlier and covering a queued one removes it.
        assert_eq!(feed(&[(5, b"BB"), (3, b"aaaaaa"), (1, b"xy")]), b"xyaaaaaa");
        // Adjacent segments coalesce: a later copy inside the merged range is dropped.
        assert_eq!(
            feed(&[(3, b"AA"), (5, b"BB"), (3, b"zzz"), (1, b"xy")]),
            b"xyAABB"
        );
        // In-order bytes win over a queued copy that overlaps them.
        assert_eq!(feed(&[(3, b"QQQ"), (1, b"abcd")]), b"abcdQ");
    }

    #[test]
    fn different_overlapping_bytes_are_reported_and_the_other_version_is_kept_apart() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(3, b"EVIL");
        assert_eq!(s.overlap(3, b"EVIL!"), Overlap::Same);
        assert_eq!(s.overlap(9, b"zz"), Overlap::None);
        assert_eq!(s.overlap(3, b"EVxL!"), Overlap::Different(5));
        let before = s.clone();
        s.add(3, b"good!");
        let mut alt = before;
        alt.add_other_version(3, b"good!", 3, &s);
        s.add(1, b"ab");
        alt.add(1, b"ab");
        assert_eq!(s.data(), b"abgood!");
        assert_eq!(alt.data(), b"abEVIL!");
        // And the other way: the primary keeps the first in-order copy.
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(1, b"good");
        let mut alt = s.clone();
        let Overlap::Different(at) = s.overlap(1, b"EVIL") else {
            panic!("differs")
        };
        s.add(1, b"EVIL");
        alt.add_other_version(1, b"EVIL", at, &s);
        assert_eq!((s.data(), alt.data()), (&b"good"[..], &b"EVIL"[..]));
    }

    #[test]
    fn syn_data_waits_for_the_syn_ack() {
        let mut s = Stream::default();
        s.on_syn(0, b"EVIL");
        s.add(1, b"good");
        assert_eq!(s.on_syn_acked(1), Added::Nothing);
        assert_eq!(s.data(), b"good");
        // Fast Open: the SYN-ACK acknowledges the data.
        let mut s = Stream::default();
        s.on_syn(0, b"tfo!");
        assert_eq!(s.on_syn_acked(5), Added::Data);
        s.add(5, b"more");
        assert_eq!(s.data(), b"tfo!more");
    }

    #[test]
    fn the_urgent_byte_is_taken_out() {
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.add(1, b"abc");
        // send(b"X", MSG_OOB): one byte, urgent pointer past it.
        s.urgent_pointer(4, 1);
        s.add(4, b"X");
        s.add(5, b"def");
        assert_eq!(s.data(), b"abcdef");
        // A retransmission of the urgent segment changes nothing.
        s.urgent_pointer(4, 1);
        s.add(4, b"X");
        assert_eq!(s.data(), b"abcdef");
        // The urgent byte inside a later, out-of-order segment.
        let mut s = Stream::default();
        s.on_syn(0, &[]);
        s.urgent_pointer(4, 2);
        s.add(4, b"dXe");
        s.add(1, b"abc");
        assert_eq!(s.data(), b"abcde");
        assert_eq!(
            s.overlap(1, b"abcdXe"),
            Overlap::Same,
            "compares after the cut only"
        );
    }
}
