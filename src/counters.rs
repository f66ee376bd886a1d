//! What a run counts: packets, flows, events, alerts by detection, parser and reassembly
//! outcomes, memory, live capture counters. Each shard, the dispatcher and the merge stage keep
//! their own and the run adds them up.

use crate::capture::CaptureCounters;
use crate::detect::Detection;
use proto::decode::{EncapStats, SkipReason};
use proto::Timestamp;
use std::collections::BTreeMap;

/// Everything a run counts.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub packets: u64,
    pub(crate) bytes: u64,
    /// Packets skipped, by reason (decode errors, unsupported link types, non-IP).
    pub(crate) skipped: BTreeMap<SkipReason, u64>,
    /// Packets cut by the snaplen: headers used, payload ignored.
    pub(crate) snaplen_cut: u64,
    pub(crate) flows: u64,
    pub(crate) events: u64,
    pub(crate) alerts: BTreeMap<Detection, u64>,
    /// Alerts of loaded Suricata rules (after their thresholds).
    pub(crate) rule_alerts: u64,
    /// Rule matches a `threshold` or `detection_filter` kept from alerting.
    pub(crate) rule_alerts_thresholded: u64,
    pub(crate) tls_client_hellos: u64,
    /// QUIC: ClientHellos decrypted (and gQUIC CHLOs read), Initials no key opened, hellos
    /// that could not be read (frames, size cap, TLS parser), Retry/Version Negotiation resets.
    pub(crate) quic_client_hellos: u64,
    pub(crate) quic_undecryptable: u64,
    pub(crate) quic_parse_errors: u64,
    pub(crate) quic_restarts: u64,
    pub(crate) dns_messages: u64,
    pub(crate) dns_parse_errors: u64,
    /// Messages of LAN name discovery flows (never alerted), by protocol in the order of
    /// `LanDiscovery::ALL`: mDNS, LLMNR, NetBIOS name service, NetBIOS datagrams.
    pub(crate) lan_discovery: [u64; 4],
    /// The LLMNR messages among them that came over TCP.
    pub(crate) llmnr_tcp: u64,
    /// DNS records skipped because their data did not decode as their type (the rest of the
    /// message is logged), and messages logged up to a section whose wire form broke off.
    pub(crate) dns_bad_records: u64,
    pub(crate) dns_damaged: u64,
    pub(crate) http_requests: u64,
    /// SOCKS handshakes read up to their request, and streams that looked like SOCKS but broke
    /// its rules (client or proxy side).
    pub(crate) socks_requests: u64,
    pub(crate) socks_parse_errors: u64,
    /// HTTP/2 requests (HEADERS blocks with `:method`), and HTTP/2 directions abandoned on a
    /// framing or HPACK error.
    pub(crate) h2_requests: u64,
    pub(crate) h2_parse_errors: u64,
    pub(crate) tcp_gaps: u64,
    /// Flows whose app layer was abandoned because a buffer limit was reached.
    pub(crate) stream_overflows: u64,
    /// The TCP receiver model (see `flow::stream`): SYNs with data, segments dropped by PAWS,
    /// urgent bytes taken out, segments whose bytes differ from an overlapping copy, new
    /// connections on the 5-tuple of a closed one.
    pub(crate) tcp_syn_data: u64,
    pub(crate) tcp_paws_dropped: u64,
    pub(crate) tcp_urgent: u64,
    pub(crate) tcp_overlap_different: u64,
    pub(crate) tcp_reuse: u64,
    /// Packets of inspected flows not inspected because a checksum is wrong (the receiver
    /// drops them): IPv4 header, TCP, UDP.
    pub(crate) ipv4_invalid_checksum: u64,
    pub(crate) tcp_invalid_checksum: u64,
    pub(crate) udp_invalid_checksum: u64,
    /// Shards whose `checksum-validation auto` found the capture's checksums untrustworthy.
    pub(crate) checksums_untrusted: u64,
    pub(crate) ip_fragments: u64,
    pub(crate) ip_reassembled: u64,
    pub(crate) ip_fragments_dropped: u64,
    /// Datagrams dropped because a fragment overlapped others as Linux refuses it, IPv4 then
    /// IPv6 (also in `ip_fragments_dropped`).
    pub(crate) ip_fragment_overlaps: [u64; 2],
    /// Fragments ignored as duplicates of data already received (their datagram kept), and
    /// fragments refused alone (a ragged non-last IPv6 fragment).
    pub(crate) ip_fragment_duplicates: u64,
    pub(crate) ip_fragments_refused: u64,
    /// Encapsulations decoded, by kind (VXLAN, GENEVE, GRE, ERSPAN, MPLS, PPPoE).
    pub(crate) encap: EncapStats,
    /// Flows ended by their idle timeout.
    pub(crate) flows_timed_out: u64,
    /// Flows evicted to stay under the flow memcap.
    pub(crate) flows_evicted: u64,
    /// The flow memcap (all shards) and the most flow memory in use at once (sum of the shards'
    /// peaks).
    pub(crate) flow_memcap: u64,
    pub(crate) flow_peak_memuse: u64,
    /// Time of the first packet (a live run: of its start, when that came first).
    pub(crate) first_ts: Option<Timestamp>,
    /// Live capture counters, per interface (empty for capture files).
    pub(crate) capture: BTreeMap<String, CaptureCounters>,
    /// `direct-ip` candidates not raised because their flow started during the live warm-up.
    pub(crate) direct_ip_warmup: u64,
    /// `direct-ip` alerts dropped because a DNS answer captured after the flow's first packet,
    /// but before the alert, resolved its server (a mirror's reordering).
    pub(crate) direct_ip_resolved_late: u64,
}

impl Counters {
    /// Adds every count of `other` into `self` (shards, dispatcher and merge stage).
    pub(crate) fn add(&mut self, other: &Counters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        for (reason, n) in &other.skipped {
            *self.skipped.entry(*reason).or_default() += n;
        }
        self.snaplen_cut += other.snaplen_cut;
        self.flows += other.flows;
        self.events += other.events;
        for (k, v) in &other.alerts {
            *self.alerts.entry(*k).or_default() += v;
        }
        self.rule_alerts += other.rule_alerts;
        self.rule_alerts_thresholded += other.rule_alerts_thresholded;
        self.tls_client_hellos += other.tls_client_hellos;
        self.quic_client_hellos += other.quic_client_hellos;
        self.quic_undecryptable += other.quic_undecryptable;
        self.quic_parse_errors += other.quic_parse_errors;
        self.quic_restarts += other.quic_restarts;
        self.dns_messages += other.dns_messages;
        self.dns_parse_errors += other.dns_parse_errors;
        for (mine, theirs) in self.lan_discovery.iter_mut().zip(other.lan_discovery) {
            *mine += theirs;
        }
        self.llmnr_tcp += other.llmnr_tcp;
        self.dns_bad_records += other.dns_bad_records;
        self.dns_damaged += other.dns_damaged;
        self.http_requests += other.http_requests;
        self.socks_requests += other.socks_requests;
        self.socks_parse_errors += other.socks_parse_errors;
        self.h2_requests += other.h2_requests;
        self.h2_parse_errors += other.h2_parse_errors;
        self.tcp_gaps += other.tcp_gaps;
        self.stream_overflows += other.stream_overflows;
        self.tcp_syn_data += other.tcp_syn_data;
        self.tcp_paws_dropped += other.tcp_paws_dropped;
        self.tcp_urgent += other.tcp_urgent;
        self.tcp_overlap_different += other.tcp_overlap_different;
        self.tcp_reuse += other.tcp_reuse;
        self.ipv4_invalid_checksum += other.ipv4_invalid_checksum;
        self.tcp_invalid_checksum += other.tcp_invalid_checksum;
        self.udp_invalid_checksum += other.udp_invalid_checksum;
        self.checksums_untrusted += other.checksums_untrusted;
        self.ip_fragments += other.ip_fragments;
        self.ip_reassembled += other.ip_reassembled;
        self.ip_fragments_dropped += other.ip_fragments_dropped;
        for (mine, theirs) in self
            .ip_fragment_overlaps
            .iter_mut()
            .zip(other.ip_fragment_overlaps)
        {
            *mine += theirs;
        }
        self.ip_fragment_duplicates += other.ip_fragment_duplicates;
        self.ip_fragments_refused += other.ip_fragments_refused;
        self.encap.add(&other.encap);
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
        self.direct_ip_resolved_late += other.direct_ip_resolved_late;
    }

    /// The capture counters of every interface together.
    pub(crate) fn capture_total(&self) -> Option<CaptureCounters> {
        if self.capture.is_empty() {
            return None;
        }
        let mut total = CaptureCounters::default();
        for c in self.capture.values() {
            total.add(c);
        }
        Some(total)
    }

    pub(crate) fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    pub(crate) fn alert(&mut self, d: Detection) {
        *self.alerts.entry(d).or_default() += 1;
    }

    pub fn total_alerts(&self) -> u64 {
        self.alerts.values().sum::<u64>() + self.rule_alerts
    }
}
