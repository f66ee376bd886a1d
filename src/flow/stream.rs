//! One direction of a TCP connection, reassembled in sequence order: out-of-order segments wait
//! (bounded), retransmissions and overlaps keep the first copy of each byte, and a gap that the
//! peer's ACK proves we missed is skipped so the parser can resynchronise. A capture point may
//! see an ACK before the data it acknowledges (the two directions are merged with some skew), so
//! an acknowledged hole is skipped only once it has stayed open for [`GAP_PATIENCE`] packets.
//! Bytes are kept only until the app-layer parser consumes them.

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
    /// Nothing new readable (duplicate, out of order, or empty).
    Nothing,
    /// The segment was dropped because the out-of-order budget is spent.
    Dropped,
}

/// Reassembly state of one direction.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// Sequence number of the next in-order byte; `None` until the first SYN or data segment.
    next_seq: Option<u32>,
    /// In-order bytes not yet consumed.
    buf: Vec<u8>,
    /// Segments ahead of `next_seq`, in arrival order: (seq, bytes).
    pending: Vec<(u32, Vec<u8>)>,
    pending_bytes: usize,
    /// Bytes still to drop as they arrive (a body the parser consumed before it was all here).
    skip: u64,
    /// Packets since the peer acknowledged bytes that are missing here (`None`: no such hole).
    acked_hole_age: Option<u16>,
    /// Gaps skipped so far.
    pub(crate) gaps: u32,
}

impl Stream {
    /// Starts the stream at the byte after the SYN's sequence number.
    pub(crate) fn on_syn(&mut self, syn_seq: u32) {
        if self.next_seq.is_none() {
            self.next_seq = Some(syn_seq.wrapping_add(1));
        }
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
    }

    /// Bytes of buffers held (in-order bytes and out-of-order segments).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity()
            + self.pending.capacity() * std::mem::size_of::<(u32, Vec<u8>)>()
            + self
                .pending
                .iter()
                .map(|(_, b)| b.capacity())
                .sum::<usize>()
    }

    /// Frees all buffers: the flow is bypassed or its app layer finished.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
        self.pending = Vec::new();
        self.pending_bytes = 0;
    }

    /// Adds a data segment starting at `seq`.
    pub(crate) fn add(&mut self, seq: u32, data: &[u8]) -> Added {
        if data.is_empty() {
            return Added::Nothing;
        }
        let next = *self.next_seq.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next) as i32;
        if ahead > 0 {
            if self.pending_bytes + data.len() > MAX_OUT_OF_ORDER {
                return Added::Dropped;
            }
            self.pending_bytes += data.len();
            self.pending.push((seq, data.to_vec()));
            return Added::Nothing;
        }
        let already = ahead.unsigned_abs() as usize;
        if already >= data.len() {
            return Added::Nothing;
        }
        self.append(&data[already..]);
        self.drain_pending();
        Added::Data
    }

    /// The peer acknowledged up to `ack`: if that covers bytes missing here while later bytes
    /// wait, the hole starts ageing (see [`Stream::age_hole`]).
    pub(crate) fn on_peer_ack(&mut self, ack: u32) {
        let Some(next) = self.next_seq else { return };
        if !self.pending.is_empty() && (ack.wrapping_sub(next) as i32) > 0 {
            self.acked_hole_age.get_or_insert(0);
        }
    }

    /// Called once per packet of the flow: ages an acknowledged hole and skips it once it has
    /// stayed open for [`GAP_PATIENCE`] packets; `true` when a gap was skipped.
    pub(crate) fn age_hole(&mut self) -> bool {
        let Some(age) = self.acked_hole_age else {
            return false;
        };
        if self.pending.is_empty() {
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
        let Some(next) = self.next_seq else {
            return false;
        };
        let Some(earliest) = self
            .pending
            .iter()
            .map(|(s, _)| *s)
            .min_by_key(|s| s.wrapping_sub(next) as i32)
        else {
            return false;
        };
        if (earliest.wrapping_sub(next) as i32) <= 0 {
            return false;
        }
        self.gaps += 1;
        self.buf.clear();
        self.skip = 0;
        self.acked_hole_age = None;
        self.next_seq = Some(earliest);
        self.drain_pending();
        true
    }

    fn append(&mut self, bytes: &[u8]) {
        if let Some(next) = self.next_seq.as_mut() {
            *next = next.wrapping_add(bytes.len() as u32);
        }
        let dropped = (self.skip.min(bytes.len() as u64)) as usize;
        self.skip -= dropped as u64;
        self.buf.extend_from_slice(&bytes[dropped..]);
    }

    /// Moves waiting segments that are now in order into the buffer, first arrival first.
    fn drain_pending(&mut self) {
        loop {
            let Some(next) = self.next_seq else { return };
            let Some(i) = self
                .pending
                .iter()
                .position(|(s, _)| (s.wrapping_sub(next) as i32) <= 0)
            else {
                return;
            };
            let (seq, bytes) = self.pending.remove(i);
            self.pending_bytes -= bytes.len();
            let already = next.wrapping_sub(seq) as usize;
            if already < bytes.len() {
                self.append(&bytes[already..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_segments_are_reordered() {
        let mut s = Stream::default();
        s.on_syn(99);
        assert_eq!(s.add(105, b"World"), Added::Nothing);
        assert_eq!(s.add(100, b"Hello"), Added::Data);
        assert_eq!(s.data(), b"HelloWorld");
    }

    #[test]
    fn overlaps_and_retransmissions_keep_the_first_copy() {
        let mut s = Stream::default();
        s.on_syn(0);
        s.add(1, b"GOOD");
        s.add(1, b"EVIL");
        s.add(3, b"XX!!");
        assert_eq!(s.data(), b"GOOD!!");
        // Two copies of a future segment: the first to arrive wins.
        let mut s = Stream::default();
        s.on_syn(0);
        s.add(3, b"ab");
        s.add(3, b"zz");
        s.add(1, b"12");
        assert_eq!(s.data(), b"12ab");
    }

    #[test]
    fn consumed_bytes_leave_the_buffer_and_sequence_wraps() {
        let mut s = Stream::default();
        s.on_syn(u32::MAX - 1);
        s.add(u32::MAX, b"ab");
        s.add(1, b"cd");
        assert_eq!(s.data(), b"abcd");
        s.consume(3);
        assert_eq!(s.data(), b"d");
    }

    #[test]
    fn consuming_past_the_buffer_drops_bytes_yet_to_come() {
        let mut s = Stream::default();
        s.on_syn(0);
        s.add(1, b"head");
        s.consume(10);
        s.add(5, b"body");
        s.add(9, b"..next");
        assert_eq!(s.data(), b"next");
    }

    #[test]
    fn a_gap_the_peer_acked_is_skipped_once_it_stays_open() {
        let mut s = Stream::default();
        s.on_syn(0);
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
        s.on_syn(0);
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
        s.on_syn(0);
        let chunk = vec![0u8; 1024];
        let mut dropped = 0;
        for i in 0..100u32 {
            if s.add(1000 + i * 2048, &chunk) == Added::Dropped {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 36);
    }
}
