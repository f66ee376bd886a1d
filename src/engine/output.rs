//! What a shard hands to the merge stage. Every message carries the sequence number of the input
//! item (packet or timer tick) that produced it, so the merge stage can put the messages of all
//! shards back into capture order before it writes them, and so that decisions which need other
//! shards' knowledge (was this address resolved by DNS before the flow started?) are taken at
//! the right point of the capture, whatever the thread count.
//!
//! Events travel as finished JSON lines: the shard serialises them into its [`OutBuf`], so the
//! merge stage only copies bytes, and every allocation of an event is freed by the thread that
//! made it.

use crate::counters::Counters;
use crate::detect::Detection;
use crate::eve::Event;
use crate::flow::TableStats;
use proto::Timestamp;
use std::net::IpAddr;

/// An EVE line (JSON, no newline) in an [`OutBuf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineRef {
    start: u32,
    len: u32,
}

impl LineRef {
    /// The line at `start..start + len` of a buffer.
    pub fn new(start: usize, len: usize) -> Self {
        LineRef {
            start: start as u32,
            len: len as u32,
        }
    }

    /// The line's bytes in `lines`.
    pub fn get(self, lines: &[u8]) -> &[u8] {
        &lines[self.start as usize..(self.start + self.len) as usize]
    }
}

/// Messages of a shard and the EVE lines they refer to.
#[derive(Debug, Default)]
pub struct OutBuf {
    pub msgs: Vec<Output>,
    pub lines: Vec<u8>,
}

impl OutBuf {
    /// Serialises `ev` into the buffer.
    pub fn line(&mut self, ev: &Event) -> LineRef {
        let start = self.lines.len();
        // Serialising to memory cannot fail: every field is a string, number or JSON value.
        let _ = serde_json::to_writer(&mut self.lines, ev);
        LineRef::new(start, self.lines.len() - start)
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    pub fn clear(&mut self) {
        self.msgs.clear();
        self.lines.clear();
    }
}

/// Where in a serialised `flow` event its `alerted` value (`false`) sits, from the line's start.
pub fn alerted_offset(line: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"\"alerted\":false";
    line.windows(KEY.len())
        .rposition(|w| w == KEY)
        .map(|i| (i + KEY.len() - 5) as u32)
}

/// One message from a shard.
#[derive(Debug)]
pub struct Output {
    /// Sequence number of the item that produced the message.
    pub seq: u64,
    pub kind: OutKind,
}

/// What a message says.
#[derive(Debug)]
pub enum OutKind {
    /// An event to write as it is.
    Event(LineRef),
    /// An alert of `detection` (counted by the merge stage, which writes it).
    Alert(Detection, LineRef),
    /// A flow that would raise `direct-ip` started at `ts` towards `server`: the merge stage
    /// decides, at this point of the capture, whether a DNS answer seen so far resolved it.
    FlowStart {
        flow_id: u64,
        server: IpAddr,
        ts: Timestamp,
    },
    /// The `direct-ip` alert of a flow announced by [`OutKind::FlowStart`]; written only when the
    /// server was not resolved.
    DirectIp { flow_id: u64, line: LineRef },
    /// Addresses a DNS response resolved at `ts`, with their TTLs.
    DnsAnswers {
        ts: Timestamp,
        addrs: Vec<(IpAddr, u32)>,
    },
    /// The `flow` event of a finished flow (its `alerted` field is completed by the merge stage,
    /// which knows whether the flow's `direct-ip` alert was written).
    FlowEnd {
        flow_id: u64,
        line: LineRef,
        /// Offset in the line of the `false` of `"alerted":false`, when it is false.
        alerted_at: Option<u32>,
    },
    /// A flow ended whose `flow` event is not logged (the merge stage forgets it).
    FlowDone { flow_id: u64 },
    /// A shard's counters at a `stats` tick.
    Stats(Box<ShardStats>),
}

/// What a shard has counted so far.
#[derive(Clone, Debug, Default)]
pub struct ShardStats {
    /// Packet time of the snapshot.
    pub ts: Timestamp,
    pub counters: Counters,
    pub table: TableStats,
    /// Flows live now.
    pub active: u64,
    /// Bytes of flow memory in use now, and the shard's cap.
    pub memuse: u64,
    pub memcap: u64,
}

impl ShardStats {
    /// Adds `other` (another shard, or the dispatcher's counters) into `self`.
    pub fn add(&mut self, other: &ShardStats) {
        self.ts = self.ts.max(other.ts);
        self.counters.add(&other.counters);
        let (a, b) = (&mut self.table, &other.table);
        a.created += b.created;
        a.created_tcp += b.created_tcp;
        a.created_udp += b.created_udp;
        a.timed_out += b.timed_out;
        a.evicted += b.evicted;
        a.peak_memuse += b.peak_memuse;
        self.active += other.active;
        self.memuse += other.memuse;
        self.memcap += other.memcap;
    }
}
