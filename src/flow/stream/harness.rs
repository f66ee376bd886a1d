//! One direction's receiver model driven from outside, for the differential fuzz target
//! (`fuzz/fuzz_targets/tcp_reassembly.rs`), which compares what it delivers with a separate
//! reference model. Not an API for users.

use super::Stream;

/// A [`Stream`] after a SYN, with every delivered byte collected (the reader reads at once).
#[derive(Debug)]
pub struct StreamHarness {
    stream: Stream,
    delivered: Vec<u8>,
}

impl StreamHarness {
    /// Most bytes the out-of-order queue holds; a segment beyond it is dropped.
    pub const OUT_OF_ORDER_LIMIT: usize = super::MAX_OUT_OF_ORDER;

    /// A stream whose SYN had sequence number `isn`.
    pub fn new(isn: u32) -> Self {
        let mut stream = Stream::default();
        stream.on_syn(isn, &[]);
        StreamHarness {
            stream,
            delivered: Vec::new(),
        }
    }

    /// A data segment at `seq`.
    pub fn segment(&mut self, seq: u32, data: &[u8]) {
        self.stream.add(seq, data);
        self.read();
    }

    /// A segment at `seq` carried the urgent pointer `urg_ptr`.
    pub fn urgent(&mut self, seq: u32, urg_ptr: u16) {
        self.stream.urgent_pointer(seq, urg_ptr);
    }

    /// Skips to the first queued segment (an acknowledged hole, or the connection's end).
    pub fn skip_gap(&mut self) {
        self.stream.skip_gap();
        self.read();
    }

    /// Every byte delivered so far, in order.
    pub fn delivered(&self) -> &[u8] {
        &self.delivered
    }

    fn read(&mut self) {
        self.delivered.extend_from_slice(self.stream.data());
        let n = self.stream.data().len();
        self.stream.consume(n);
    }
}
