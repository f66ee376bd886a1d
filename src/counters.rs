//! What a run counts: packets, flows, events, alerts by detection, parser and reassembly
//! outcomes, memory, live capture counters. Each shard, the dispatcher and the merge stage keep
//! their own and the run adds them up.

use crate::capture::CaptureCounters;
use crate::detect::Detection;
use proto::decode::SkipReason;
use proto::Timestamp;
use std::collections::BTreeMap;

/// Everything a run counts.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    /// Packets skipped, by reason (decode errors, unsupported link types, non-IP).
    pub skipped: SkipCounts,
    /// Packets cut by the snaplen: headers used, payload ignored.
    pub snaplen_cut: u64,
    pub flows: u64,
    pub events: u64,
    pub alerts: BTreeMap<Detection, u64>,
    pub tls_client_hellos: u64,
    pub dns_messages: u64,
    pub dns_parse_errors: u64,
    pub http_requests: u64,
    pub tcp_gaps: u64,
    /// Flows whose app layer was abandoned because a buffer limit was reached.
    pub stream_overflows: u64,
    pub ip_fragments: u64,
    pub ip_reassembled: u64,
    pub ip_fragments_dropped: u64,
    /// Flows ended by their idle timeout.
    pub flows_timed_out: u64,
    /// Flows evicted to stay under the flow memcap.
    pub flows_evicted: u64,
    /// The flow memcap (all shards) and the most flow memory in use at once (sum of the shards'
    /// peaks).
    pub flow_memcap: u64,
    pub flow_peak_memuse: u64,
    /// Time of the first packet (a live run: of its start, when that came first).
    pub first_ts: Option<Timestamp>,
    /// Live capture counters, per interface (empty for capture files).
    pub capture: BTreeMap<String, CaptureCounters>,
    /// `direct-ip` candidates not raised because their flow started during the live warm-up.
    pub direct_ip_warmup: u64,
}

impl Counters {
    /// Adds every count of `other` into `self` (shards, dispatcher and merge stage).
    pub fn add(&mut self, other: &Counters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.skipped.add(&other.skipped);
        self.snaplen_cut += other.snaplen_cut;
        self.flows += other.flows;
        self.events += other.events;
        for (k, v) in &other.alerts {
            *self.alerts.entry(*k).or_default() += v;
        }
        self.tls_client_hellos += other.tls_client_hellos;
        self.dns_messages += other.dns_messages;
        self.dns_parse_errors += other.dns_parse_errors;
        self.http_requests += other.http_requests;
        self.tcp_gaps += other.tcp_gaps;
        self.stream_overflows += other.stream_overflows;
        self.ip_fragments += other.ip_fragments;
        self.ip_reassembled += other.ip_reassembled;
        self.ip_fragments_dropped += other.ip_fragments_dropped;
        self.flows_timed_out += other.flows_timed_out;
        self.flows_evicted += other.flows_evicted;
        self.flow_memcap += other.flow_memcap;
        self.first_ts = match (self.first_ts, other.first_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.flow_peak_memuse += other.flow_peak_memuse;
        for (k, v) in &other.capture {
            self.capture.entry(k.clone()).or_default().add(v);
        }
        self.direct_ip_warmup += other.direct_ip_warmup;
    }

    /// The capture counters of every interface together.
    pub fn capture_total(&self) -> Option<CaptureCounters> {
        if self.capture.is_empty() {
            return None;
        }
        let mut total = CaptureCounters::default();
        for c in self.capture.values() {
            total.add(c);
        }
        Some(total)
    }

    pub fn skip(&mut self, reason: SkipReason) {
        self.skipped.0[reason as usize] += 1;
    }

    pub fn alert(&mut self, d: Detection) {
        *self.alerts.entry(d).or_default() += 1;
    }

    pub fn total_alerts(&self) -> u64 {
        self.alerts.values().sum()
    }
}

/// Packets skipped, one count per [`SkipReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkipCounts([u64; SkipReason::ALL.len()]);

impl SkipCounts {
    /// Every count of `other` added in.
    fn add(&mut self, other: &SkipCounts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    /// All skipped packets, whatever the reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The reasons that counted a packet, in the order of their names.
    pub fn nonzero(&self) -> impl Iterator<Item = (SkipReason, u64)> + '_ {
        SkipReason::ALL
            .into_iter()
            .map(|r| (r, self.0[r as usize]))
            .filter(|(_, n)| *n > 0)
    }
}
