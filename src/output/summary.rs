//! The human summary printed on stderr when a run ends: packets, flows, events, alerts by
//! detection, time and throughput, and every count worth a look.

use crate::counters::Counters;
use crate::detect::lan_discovery::LanDiscovery;
use crate::detect::Detection;
use std::fmt::Write;
use std::time::Duration;

/// The summary block: packets, flows, events, alerts by detection, time and throughput, then
/// the counts that only appear when something happened (drops, skips, fragments, gaps).
pub fn render(counters: &Counters, elapsed: Duration) -> String {
    let mut s = String::new();
    write_totals(&mut s, counters, elapsed);
    write_exceptions(&mut s, counters);
    s
}

/// The lines every run prints: totals, alerts by detection, app layer, flows, capture.
fn write_totals(s: &mut String, counters: &Counters, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let _ = writeln!(
        *s,
        "egress-ids: {} packets ({} bytes), {} flows, {} events, {} alerts in {:.3} s ({:.0} packets/s, {:.1} Mbit/s)",
        counters.packets,
        counters.bytes,
        counters.flows,
        counters.events,
        counters.total_alerts(),
        secs,
        counters.packets as f64 / secs,
        counters.bytes as f64 * 8.0 / secs / 1e6
    );
    let by: Vec<String> = Detection::ALL
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d.name(),
                counters.alerts.get(d).copied().unwrap_or(0)
            )
        })
        .collect();
    let _ = writeln!(
        *s,
        "  alerts by detection: {}, rules {} ({} kept back by thresholds)",
        by.join(", "),
        counters.rule_alerts,
        counters.rule_alerts_thresholded
    );
    let _ = writeln!(
        *s,
        "  app layer: {} TLS ClientHellos, {} QUIC ClientHellos ({} Initials undecryptable, {} unreadable, {} Retry/Version Negotiation), {} DNS messages ({} unparsable, {} cut short at damage, {} undecodable records skipped), {} HTTP requests",
        counters.tls_client_hellos,
        counters.quic_client_hellos,
        counters.quic_undecryptable,
        counters.quic_parse_errors,
        counters.quic_restarts,
        counters.dns_messages,
        counters.dns_parse_errors,
        counters.dns_damaged,
        counters.dns_bad_records,
        counters.http_requests
    );
    let _ = writeln!(
        *s,
        "  tunnels: {} SOCKS requests ({} unparsable), {} HTTP/2 requests ({} unparsable directions)",
        counters.socks_requests,
        counters.socks_parse_errors,
        counters.h2_requests,
        counters.h2_parse_errors
    );
    let _ = writeln!(
        *s,
        "  flows: {} timed out, {} evicted by the flow memcap (peak {:.1} MiB of {:.0} MiB)",
        counters.flows_timed_out,
        counters.flows_evicted,
        counters.flow_peak_memuse as f64 / 1048576.0,
        counters.flow_memcap as f64 / 1048576.0
    );
    for (iface, c) in &counters.capture {
        let _ = writeln!(
            *s,
            "  capture {iface}: {} packets received by the kernel, {} dropped by the kernel (ring full), {} dropped by the interface",
            c.kernel_packets, c.kernel_drops, c.kernel_ifdrops
        );
    }
}

/// The lines that appear only when their count is not zero.
fn write_exceptions(s: &mut String, counters: &Counters) {
    if counters.lan_discovery.iter().any(|n| *n > 0) {
        let by: Vec<String> = LanDiscovery::ALL
            .iter()
            .map(|k| format!("{} {}", k.name(), counters.lan_discovery[k.index()]))
            .collect();
        let _ = writeln!(
            s,
            "  LAN name discovery messages (not egress, never alerted): {}",
            by.join(", ")
        );
    }
    if counters.direct_ip_warmup > 0 {
        let _ = writeln!(
            s,
            "  direct-ip: {} flows not checked, started during the warm-up (DNS answers from before the start are unseen)",
            counters.direct_ip_warmup
        );
    }
    if counters.direct_ip_resolved_late > 0 {
        let _ = writeln!(
            s,
            "  direct-ip: {} flows resolved by a DNS answer captured after their first packet (capture reordering): not alerted",
            counters.direct_ip_resolved_late
        );
    }
    if !counters.skipped.is_empty() {
        let mut parts: Vec<String> = counters
            .skipped
            .iter()
            .map(|(reason, n)| format!("{} {n}", reason.name()))
            .collect();
        // By name, as the summary has always listed them.
        parts.sort();
        let _ = writeln!(*s, "  packets skipped: {}", parts.join(", "));
    }
    if counters.snaplen_cut > 0 {
        let _ = writeln!(
            s,
            "  packets cut by the snaplen: {} (headers used, payload ignored; capture with a larger snaplen, e.g. tcpdump -s 0)",
            counters.snaplen_cut
        );
    }
    if counters.ip_fragments > 0 {
        let _ = writeln!(
            s,
            "  IP fragments: {} received, {} datagrams reassembled, {} dropped ({} for overlapping fragments, as Linux drops them); {} duplicate fragments ignored, {} refused",
            counters.ip_fragments,
            counters.ip_reassembled,
            counters.ip_fragments_dropped,
            counters.ip_fragment_overlaps.iter().sum::<u64>(),
            counters.ip_fragment_duplicates,
            counters.ip_fragments_refused
        );
    }
    if !counters.encap.is_empty() {
        let parts: Vec<String> = counters
            .encap
            .named()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "  encapsulations decoded: {} (the packets inside analysed)",
            parts.join(", ")
        );
    }
    if counters.tcp_gaps > 0 || counters.stream_overflows > 0 {
        let _ = writeln!(
            s,
            "  TCP: {} gaps skipped, {} flows over the reassembly limit",
            counters.tcp_gaps, counters.stream_overflows
        );
    }
    let receiver = [
        counters.tcp_syn_data,
        counters.tcp_paws_dropped,
        counters.tcp_urgent,
        counters.tcp_overlap_different,
        counters.tcp_reuse,
    ];
    if receiver.iter().any(|n| *n > 0) {
        let _ = writeln!(
            s,
            "  TCP receiver model: {} SYNs with data, {} segments dropped by PAWS, {} urgent bytes taken out, {} overlaps with different data, {} connections reusing a closed one's ports",
            receiver[0], receiver[1], receiver[2], receiver[3], receiver[4]
        );
    }
    if counters.checksums_untrusted > 0 {
        let _ = writeln!(
            s,
            "  warning: more than 10% of the first 1000 TCP packets had wrong checksums: the capture's checksums cannot be trusted, so checksum validation stopped (--checksum-validation yes or no decides)"
        );
    }
    let bad = [
        counters.ipv4_invalid_checksum,
        counters.tcp_invalid_checksum,
        counters.udp_invalid_checksum,
    ];
    if bad.iter().any(|n| *n > 0) {
        let _ = writeln!(
            s,
            "  invalid checksums (packets not inspected): {} IPv4 headers, {} TCP, {} UDP",
            bad[0], bad[1], bad[2]
        );
    }
    if counters
        .alerts
        .get(&Detection::DirectIp)
        .copied()
        .unwrap_or(0)
        > 0
        && counters.dns_messages == 0
    {
        let _ = writeln!(
            s,
            "  note: direct-ip fired but the input held no DNS at all; the capture may simply lack DNS (capture on the runner, or include the resolver's traffic)"
        );
    }
}
