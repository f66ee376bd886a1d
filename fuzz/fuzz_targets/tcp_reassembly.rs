//! Differential fuzzing of the TCP receiver model: random segments (offsets, lengths, payloads,
//! orders, retransmissions, overlaps), urgent pointers and skipped gaps go to the engine's
//! `Stream` (through `StreamHarness`, near the 32-bit sequence wrap) and to the reference below,
//! written apart and as plainly as possible: 64-bit offsets that never wrap, linear scans, the
//! urgent byte dropped byte by byte. Both must deliver the same bytes.
//!
//! The reference is Linux's receive path (net/ipv4/tcp_input.c): in-order bytes are delivered at
//! once (`tcp_data_queue`); later segments wait in a queue sorted by start
//! (`tcp_data_queue_ofo`): one starting where the last ends, or where its predecessor ends, is
//! coalesced into it; one covered by its predecessor is dropped; one with its predecessor's start
//! and longer replaces it; otherwise it is inserted and the segments it covers entirely are
//! removed; the queue is delivered lowest first, trimming what was delivered (`tcp_ofo_queue`).
#![no_main]
use egress_ids::flow::StreamHarness;
use libfuzzer_sys::fuzz_target;

struct Reference {
    /// Offset (from the first data byte) of the next byte expected.
    next: u64,
    delivered: Vec<u8>,
    /// Waiting segments `(offset, bytes)`, sorted by offset.
    queue: Vec<(u64, Vec<u8>)>,
    /// The pending urgent byte's offset.
    urgent: Option<u64>,
}

impl Reference {
    fn queued(&self) -> usize {
        self.queue.iter().map(|(_, b)| b.len()).sum()
    }

    fn deliver(&mut self, from: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let at = from + i as u64;
            if self.urgent == Some(at) {
                self.urgent = None;
            } else {
                self.delivered.push(*b);
            }
        }
        self.next = from + bytes.len() as u64;
    }

    fn drain(&mut self) {
        while let Some((off, _)) = self.queue.first() {
            if *off > self.next {
                return;
            }
            let (off, bytes) = self.queue.remove(0);
            let end = off + bytes.len() as u64;
            if end > self.next {
                let skip = (self.next - off) as usize;
                let next = self.next;
                self.deliver(next, &bytes[skip..]);
            }
        }
    }

    fn segment(&mut self, off: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = off + data.len() as u64;
        if off > self.next {
            self.enqueue(off, data);
            return;
        }
        if end <= self.next {
            return;
        }
        let skip = (self.next - off) as usize;
        let next = self.next;
        self.deliver(next, &data[skip..]);
        self.drain();
    }

    fn enqueue(&mut self, off: u64, data: &[u8]) {
        if self.queued() + data.len() > StreamHarness::OUT_OF_ORDER_LIMIT {
            return;
        }
        let end = off + data.len() as u64;
        let seg_end = |s: &(u64, Vec<u8>)| s.0 + s.1.len() as u64;
        if self.queue.is_empty() {
            self.queue.push((off, data.to_vec()));
            return;
        }
        let last = self.queue.len() - 1;
        if off == seg_end(&self.queue[last]) {
            self.queue[last].1.extend_from_slice(data);
            return;
        }
        if off >= seg_end(&self.queue[last]) {
            self.queue.push((off, data.to_vec()));
            return;
        }
        let mut pred = None;
        for (i, s) in self.queue.iter().enumerate() {
            if s.0 <= off {
                pred = Some(i);
            }
        }
        let mut at = 0;
        if let Some(p) = pred {
            at = p + 1;
            let pend = seg_end(&self.queue[p]);
            if off < pend {
                if end <= pend {
                    return;
                }
                if off == self.queue[p].0 {
                    self.queue[p].1 = data.to_vec();
                    self.remove_covered(p);
                    return;
                }
            } else if off == pend {
                self.queue[p].1.extend_from_slice(data);
                return;
            }
        }
        self.queue.insert(at, (off, data.to_vec()));
        self.remove_covered(at);
    }

    fn remove_covered(&mut self, at: usize) {
        let end = self.queue[at].0 + self.queue[at].1.len() as u64;
        while at + 1 < self.queue.len() {
            let (o, b) = &self.queue[at + 1];
            if end <= *o || end < o + b.len() as u64 {
                break;
            }
            self.queue.remove(at + 1);
        }
    }

    fn urgent_pointer(&mut self, off: u64, ptr: u16) {
        let at = off + u64::from(ptr.max(1)) - 1;
        if at < self.next || self.urgent.is_some_and(|u| at <= u) {
            return;
        }
        self.urgent = Some(at);
    }

    fn skip_gap(&mut self) {
        if let Some((off, _)) = self.queue.first() {
            if *off > self.next {
                self.next = *off;
                if self.urgent.is_some_and(|u| u < self.next) {
                    self.urgent = None;
                }
                self.drain();
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((head, mut ops)) = input.split_first_chunk::<4>() else {
        return;
    };
    // Start near the wrap most of the time: the engine's arithmetic must wrap, the reference's
    // never does.
    let isn =
        u32::MAX - u32::from(u16::from_le_bytes([head[0], head[1]])) ^ u32::from(head[2]) << 24;
    let fill = head[3];
    let mut real = StreamHarness::new(isn);
    let mut model = Reference {
        next: 0,
        delivered: Vec::new(),
        queue: Vec::new(),
        urgent: None,
    };
    let seq = |off: u64| isn.wrapping_add(1).wrapping_add(off as u32);
    let mut n = 0u8;
    while let [op, a, b, len, rest @ ..] = ops {
        ops = rest;
        let off = u64::from(u16::from_le_bytes([*a, *b]) & 0x0fff);
        match op % 8 {
            0..=5 => {
                // Payload: a counter pattern mixed with `op`, so copies of one range may differ
                // or agree.
                n = n.wrapping_add(1);
                let tag = if op & 0x80 != 0 { n } else { fill };
                let data: Vec<u8> = (0..*len)
                    .map(|i| (off as u8).wrapping_add(i).wrapping_mul(31) ^ tag)
                    .collect();
                real.segment(seq(off), &data);
                model.segment(off, &data);
            }
            6 => {
                let ptr = u16::from(*len);
                real.urgent(seq(off), ptr);
                model.urgent_pointer(off, ptr);
            }
            _ => {
                real.skip_gap();
                model.skip_gap();
            }
        }
        assert_eq!(real.delivered(), &model.delivered[..], "isn {isn}");
    }
});
