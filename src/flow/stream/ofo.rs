//! The out-of-order queue of a Linux receiver (`tcp_data_queue_ofo` in net/ipv4/tcp_input.c),
//! as a list sorted by sequence number instead of the kernel's red-black tree:
//!
//! - a segment that starts where the last queued one ends is coalesced into it
//!   (`tcp_ooo_try_coalesce`; the kernel may fail to coalesce, which a sensor cannot see: this
//!   model assumes it succeeds), and so is one that starts where its predecessor ends;
//! - a segment fully covered by the queued one it starts in is dropped;
//! - a segment with the same start as a queued one and longer replaces it;
//! - otherwise it is inserted (partial overlaps keep both copies: delivery in sequence order
//!   trims the later one, so the copy starting lower wins), and queued segments it covers
//!   entirely are removed (`merge_right`).
//!
//! Where the kernel's walk of its tree would compare a segment with another overlapping copy,
//! the outcome may differ from this model only when the copies carry different bytes, which the
//! stream reports as an ambiguity ([`super::Overlap::Different`]).

/// One queued segment.
#[derive(Clone, Debug)]
pub(super) struct Seg {
    pub(super) seq: u32,
    pub(super) data: Vec<u8>,
}

impl Seg {
    pub(super) fn end(&self) -> u32 {
        self.seq.wrapping_add(self.data.len() as u32)
    }
}

/// `a` comes before `b` in sequence space (the kernel's `before()`).
pub(super) fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// `a` comes after `b` in sequence space (the kernel's `after()`).
pub(super) fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// The queue: segments sorted by start, and the bytes they hold.
#[derive(Clone, Debug, Default)]
pub(super) struct Queue {
    segs: Vec<Seg>,
    bytes: usize,
    /// Most bytes held at once.
    limit: usize,
}

impl Queue {
    pub(super) fn new(limit: usize) -> Self {
        Queue {
            segs: Vec::new(),
            bytes: 0,
            limit,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    pub(super) fn segs(&self) -> &[Seg] {
        &self.segs
    }

    pub(super) fn segs_mut(&mut self) -> &mut [Seg] {
        &mut self.segs
    }

    /// Start of the lowest queued segment.
    pub(super) fn first_seq(&self) -> Option<u32> {
        self.segs.first().map(|s| s.seq)
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.segs.capacity() * std::mem::size_of::<Seg>()
            + self.segs.iter().map(|s| s.data.capacity()).sum::<usize>()
    }

    pub(super) fn clear(&mut self) {
        self.segs = Vec::new();
        self.bytes = 0;
    }

    /// Queues `data` at `seq` (ahead of the next expected byte); `false` when the queue's byte
    /// budget is spent (the segment is dropped).
    pub(super) fn insert(&mut self, seq: u32, data: &[u8]) -> bool {
        if self.bytes + data.len() > self.limit {
            return false;
        }
        let end = seq.wrapping_add(data.len() as u32);
        let Some(last) = self.segs.last_mut() else {
            self.push_at(0, seq, data);
            return true;
        };
        if seq == last.end() {
            last.data.extend_from_slice(data);
            self.bytes += data.len();
            return true;
        }
        if !before(seq, last.end()) {
            self.push_at(self.segs.len(), seq, data);
            return true;
        }
        // The segments starting at or before `seq` form a prefix; the last of them is the one
        // the kernel's walk decides on.
        let at = self.segs.partition_point(|s| !after(s.seq, seq));
        if let Some(pred) = at.checked_sub(1).map(|i| &mut self.segs[i]) {
            if before(seq, pred.end()) {
                if !after(end, pred.end()) {
                    return true; // all the bits are present: dropped
                }
                if seq == pred.seq {
                    self.bytes = self.bytes - pred.data.len() + data.len();
                    pred.data.clear();
                    pred.data.extend_from_slice(data);
                    self.merge_right(at - 1);
                    return true;
                }
            } else if seq == pred.end() {
                pred.data.extend_from_slice(data);
                self.bytes += data.len();
                return true;
            }
        }
        self.push_at(at, seq, data);
        self.merge_right(at);
        true
    }

    fn push_at(&mut self, at: usize, seq: u32, data: &[u8]) {
        self.segs.insert(
            at,
            Seg {
                seq,
                data: data.to_vec(),
            },
        );
        self.bytes += data.len();
    }

    /// Removes the segments after `at` that the segment at `at` covers entirely.
    fn merge_right(&mut self, at: usize) {
        let end = self.segs[at].end();
        while let Some(next) = self.segs.get(at + 1) {
            if !after(end, next.seq) || before(end, next.end()) {
                break;
            }
            self.bytes -= next.data.len();
            self.segs.remove(at + 1);
        }
    }

    /// Takes the lowest segment if it starts at or before `next` (`tcp_ofo_queue`).
    pub(super) fn pop_ready(&mut self, next: u32) -> Option<Seg> {
        if after(self.segs.first()?.seq, next) {
            return None;
        }
        let seg = self.segs.remove(0);
        self.bytes -= seg.data.len();
        Some(seg)
    }
}
