//! What a shard hands to the merge stage. Every message carries the sequence number of the input
//! item (packet or timer tick) that produced it, so the merge stage can put the messages of all
//! shards back into capture order before it writes them, and so that decisions which need other
//! shards' knowledge (was this address resolved by DNS before the flow started?) are taken at
//! the right point of the capture, whatever the thread count.
//!
//! Events travel as finished JSON lines: the shard serialises them into its [`OutBuf`], so the
//! merge stage only copies bytes. The `flow` event of a finished flow is the exception: it
//! travels typed ([`FlowRecord`]), since only the merge stage knows whether the flow's
//! `direct-ip` alert was written, and it sets `alerted` and serialises the record as it writes it.

use crate::counters::Counters;
use crate::detect::direct_ip::Candidate;
use crate::detect::dns_chain::{ChainFacts, FlowName};
use crate::detect::hidden::{AnsweredName, EchCandidate};
use crate::detect::rules::threshold::{Match, Spec};
use crate::detect::{Detection, Detector};
use crate::eve::event::FlowObject;
use crate::eve::{Event, EventType, Object};
use crate::flow::TableStats;
use proto::Timestamp;
use std::net::IpAddr;
use std::sync::Arc;

/// An EVE line (JSON, no newline) in an [`OutBuf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineRef {
    start: u32,
    len: u32,
}

impl LineRef {
    /// The line at `start..start + len` of a buffer.
    pub(crate) fn new(start: usize, len: usize) -> Self {
        LineRef {
            start: start as u32,
            len: len as u32,
        }
    }

    /// The line's bytes in `lines`.
    pub(crate) fn get(self, lines: &[u8]) -> &[u8] {
        &lines[self.start as usize..(self.start + self.len) as usize]
    }
}

/// The `flow` event of a finished flow, typed until the merge stage writes it. It owns no heap
/// memory, so the worker hands it over without allocating.
#[derive(Debug)]
pub(crate) struct FlowRecord {
    /// The event without its objects.
    event: Event,
    flow: FlowObject,
}

impl FlowRecord {
    /// The record of `event`, a `flow` event without objects, and its `flow` object.
    pub(crate) fn new(event: Event, flow: FlowObject) -> Self {
        FlowRecord { event, flow }
    }

    /// Serialises the record into `buf` (JSON, no newline); `direct_ip_written`: the merge stage
    /// wrote the flow's `direct-ip` alert, so the flow is alerted whatever else it raised.
    pub(crate) fn write(&mut self, direct_ip_written: bool, buf: &mut Vec<u8>) {
        self.flow.alerted |= direct_ip_written;
        let flow = Object::Flow(self.flow);
        self.event.write_json_with(buf, &[(EventType::Flow, &flow)]);
    }
}

/// A [`FlowRecord`] in an [`OutBuf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordRef(u32);

impl RecordRef {
    /// The record in `records`.
    pub(crate) fn get(self, records: &mut [FlowRecord]) -> &mut FlowRecord {
        &mut records[self.0 as usize]
    }
}

/// Messages of a shard, with the EVE lines and flow records they refer to.
#[derive(Debug, Default)]
pub(crate) struct OutBuf {
    pub(crate) msgs: Vec<Output>,
    pub(crate) lines: Vec<u8>,
    pub(crate) records: Vec<FlowRecord>,
}

impl OutBuf {
    /// Serialises `ev` into the buffer.
    pub(crate) fn line(&mut self, ev: &Event) -> LineRef {
        self.line_with(ev, &[])
    }

    /// Serialises `ev` with `more` objects after its own into the buffer.
    pub(crate) fn line_with(&mut self, ev: &Event, more: &[(EventType, &Object)]) -> LineRef {
        let start = self.lines.len();
        ev.write_json_with(&mut self.lines, more);
        LineRef::new(start, self.lines.len() - start)
    }

    /// Serialises `ev` with one more object, `kind`, that `object` writes into the line.
    pub(crate) fn line_then(
        &mut self,
        ev: &Event,
        kind: EventType,
        object: impl FnOnce(&mut Vec<u8>),
    ) -> LineRef {
        let start = self.lines.len();
        ev.write_json_then(&mut self.lines, kind, object);
        LineRef::new(start, self.lines.len() - start)
    }

    /// Keeps `record` in the buffer.
    pub(crate) fn record(&mut self, record: FlowRecord) -> RecordRef {
        self.records.push(record);
        RecordRef(self.records.len() as u32 - 1)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.msgs.clear();
        self.lines.clear();
        self.records.clear();
    }
}

/// One message from a shard.
#[derive(Debug)]
pub(crate) struct Output {
    /// Sequence number of the item that produced the message.
    pub(crate) seq: u64,
    pub(crate) kind: OutKind,
}

/// What a message says.
#[derive(Debug)]
pub(crate) enum OutKind {
    /// An event to write as it is.
    Event(LineRef),
    /// An alert of `detection` (counted by the merge stage, which writes it).
    Alert(Detection, LineRef),
    /// A flow that would raise `direct-ip` started: the merge stage decides, at this point of
    /// the capture, whether a DNS answer seen so far resolved its server.
    FlowStart(Candidate),
    /// A `direct-ip` alert on the flow of `candidate` (as announced at its start); written only
    /// when the merge stage found the flow unresolved then and still finds it so.
    /// `by_target`: the alert names a destination the client gave by address (SOCKS, CONNECT,
    /// an IP-literal Host): `candidate.server` is that address, decided at the request.
    DirectIp {
        candidate: Candidate,
        line: LineRef,
        by_target: bool,
        /// The name the flow's client sent for its server (SNI, Host), when it sent one.
        name: Option<Box<FlowName>>,
    },
    /// Addresses a DNS response resolved at `ts`, with their TTLs; the name it answered and
    /// the ECH configuration ids it published (for `hidden-destination`).
    DnsAnswers {
        ts: Timestamp,
        addrs: Vec<(IpAddr, u32)>,
        answered: Option<Box<AnsweredName>>,
        /// The chain of names the response resolved through, when it matters
        /// ([`crate::detect::dns_chain`]).
        chain: Option<Arc<ChainFacts>>,
    },
    /// A `hidden-destination` alert: written, with the names DNS resolved to the server as its
    /// indicator, only when the merge stage finds the ECH real and those names not allowlisted.
    Hidden {
        candidate: Box<EchCandidate>,
        line: LineRef,
    },
    /// An alert of a loaded rule; with a check, the merge stage applies the rule's
    /// `threshold`/`detection_filter` and writes it only if they let it through.
    RuleAlert {
        check: Option<Box<RuleCheck>>,
        line: LineRef,
    },
    /// A flow ended, with its `flow` event when flows are logged.
    FlowEnd {
        flow_id: u64,
        record: Option<RecordRef>,
    },
    /// The signatures changed at this item (a reload).
    Detector(Arc<Detector>),
    /// A shard's counters at a `stats` tick.
    Stats(Box<ShardStats>),
}

/// A thresholded rule's match, for the merge stage to count.
#[derive(Debug)]
pub(crate) struct RuleCheck {
    pub(crate) threshold: Option<Spec>,
    pub(crate) detection_filter: Option<Spec>,
    pub(crate) at: Match,
}

/// What a shard has counted so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct ShardStats {
    /// Packet time of the snapshot.
    pub(crate) ts: Timestamp,
    pub(crate) counters: Counters,
    pub(crate) table: TableStats,
    /// Flows live now.
    pub(crate) active: u64,
    /// Bytes of flow memory in use now, and the shard's cap.
    pub(crate) memuse: u64,
    pub(crate) memcap: u64,
}

impl ShardStats {
    /// Adds `other` (another shard, or the dispatcher's counters) into `self`.
    pub(crate) fn add(&mut self, other: &ShardStats) {
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
