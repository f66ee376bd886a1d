//! Run counters and the human summary printed on stderr when a run ends.

use crate::capture::Timestamp;
use crate::detect::Detection;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Everything a run counts.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
    /// Packets skipped, by reason (decode errors, unsupported link types, non-IP).
    pub skipped: BTreeMap<&'static str, u64>,
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

/// What the kernel and libpcap report for one live interface, since the capture opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Packets that passed the filter and reached the capture ring.
    pub kernel_packets: u64,
    /// Packets the kernel dropped because the ring was full (the sensor fell behind).
    pub kernel_drops: u64,
    /// Packets the interface or its driver dropped.
    pub kernel_ifdrops: u64,
}

impl CaptureCounters {
    fn add(&mut self, other: &CaptureCounters) {
        self.kernel_packets += other.kernel_packets;
        self.kernel_drops += other.kernel_drops;
        self.kernel_ifdrops += other.kernel_ifdrops;
    }
}

impl Counters {
    /// Adds every count of `other` into `self` (shards, dispatcher and merge stage).
    pub fn add(&mut self, other: &Counters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        for (k, v) in &other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
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

    pub fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    pub fn alert(&mut self, d: Detection) {
        *self.alerts.entry(d).or_default() += 1;
    }

    pub fn total_alerts(&self) -> u64 {
        self.alerts.values().sum()
    }

    /// The summary block: packets, flows, events, alerts by detection, time and throughput.
    pub fn render(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "egress-ids: {} packets ({} bytes), {} flows, {} events, {} alerts in {:.3} s ({:.0} packets/s, {:.1} Mbit/s)",
            self.packets,
            self.bytes,
            self.flows,
            self.events,
            self.total_alerts(),
            secs,
            self.packets as f64 / secs,
            self.bytes as f64 * 8.0 / secs / 1e6
        );
        let by: Vec<String> = Detection::ALL
            .iter()
            .map(|d| format!("{} {}", d.name(), self.alerts.get(d).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(s, "  alerts by detection: {}", by.join(", "));
        let _ = writeln!(
            s,
            "  app layer: {} TLS ClientHellos, {} DNS messages ({} unparsable), {} HTTP requests",
            self.tls_client_hellos, self.dns_messages, self.dns_parse_errors, self.http_requests
        );
        let _ = writeln!(
            s,
            "  flows: {} timed out, {} evicted by the flow memcap (peak {:.1} MiB of {:.0} MiB)",
            self.flows_timed_out,
            self.flows_evicted,
            self.flow_peak_memuse as f64 / 1048576.0,
            self.flow_memcap as f64 / 1048576.0
        );
        for (iface, c) in &self.capture {
            let _ = writeln!(
                s,
                "  capture {iface}: {} packets received by the kernel, {} dropped by the kernel (ring full), {} dropped by the interface",
                c.kernel_packets, c.kernel_drops, c.kernel_ifdrops
            );
        }
        if self.direct_ip_warmup > 0 {
            let _ = writeln!(
                s,
                "  direct-ip: {} flows not checked, started during the warm-up (DNS answers from before the start are unseen)",
                self.direct_ip_warmup
            );
        }
        if !self.skipped.is_empty() {
            let parts: Vec<String> = self
                .skipped
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(s, "  packets skipped: {}", parts.join(", "));
        }
        if self.snaplen_cut > 0 {
            let _ = writeln!(
                s,
                "  packets cut by the snaplen: {} (headers used, payload ignored; capture with a larger snaplen, e.g. tcpdump -s 0)",
                self.snaplen_cut
            );
        }
        if self.ip_fragments > 0 {
            let _ = writeln!(
                s,
                "  IP fragments: {} received, {} datagrams reassembled, {} dropped",
                self.ip_fragments, self.ip_reassembled, self.ip_fragments_dropped
            );
        }
        if self.tcp_gaps > 0 || self.stream_overflows > 0 {
            let _ = writeln!(
                s,
                "  TCP: {} gaps skipped, {} flows over the reassembly limit",
                self.tcp_gaps, self.stream_overflows
            );
        }
        if self.alerts.get(&Detection::DirectIp).copied().unwrap_or(0) > 0 && self.dns_messages == 0
        {
            let _ = writeln!(
                s,
                "  note: direct-ip fired but the input held no DNS at all; the capture may simply lack DNS (capture on the runner, or include the resolver's traffic)"
            );
        }
        s
    }
}
