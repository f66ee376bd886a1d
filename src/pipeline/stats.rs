//! The `stats` EVE object: Suricata's layout (`decoder`, `flow`, `tcp`, `detect`, `memcap`) filled
//! with what egress-ids counts; `decoder` has Suricata's counters per encapsulation (`vxlan`,
//! `geneve`, `gre`, `erspan`, `mpls`, `pppoe`) and the datagrams dropped for overlapping fragments
//! (`event.ipv4.frag_overlap`, `event.ipv6.frag_overlap`). `flow.memcap` counts the flows evicted because the flow memcap was
//! reached (each one a time the cap was hit), `flow.wrk.flows_evicted` the same flows, and
//! `flow.mgr.flows_timeout` the flows ended by their idle timeout. `app_layer` has the HTTP/2 requests
//! (`tx.http2`), the mDNS and LLMNR messages of LAN discovery flows (`tx.mdns`, `tx.llmnr_udp`,
//! `tx.llmnr_tcp`) and directions abandoned on an error (`error.http2.parser`). Live captures add `capture`
//! (`kernel_packets`, `kernel_drops`, `kernel_ifdrops`, all interfaces together).

use crate::detect::lan_discovery::LanDiscovery;
use crate::engine::output::ShardStats;
use serde_json::{json, Value};

/// The `stats` object of `total` after `uptime` seconds of packet time; `pressure` is the share
/// of the flow memcap in use now, in percent.
pub(crate) fn stats_object(
    total: &ShardStats,
    uptime: u64,
    pressure: u64,
    pressure_max: u64,
) -> Value {
    let c = &total.counters;
    let t = &total.table;
    let invalid: u64 = c.skipped.values().sum();
    let llmnr = c.lan_discovery[LanDiscovery::Llmnr.index()];
    let mut object = json!({
        "uptime": uptime,
        "decoder": {
            "pkts": c.packets,
            "bytes": c.bytes,
            "invalid": invalid,
            "avg_pkt_size": c.bytes.checked_div(c.packets).unwrap_or(0),
        },
        "flow": {
            "total": t.created,
            "tcp": t.created_tcp,
            "udp": t.created_udp,
            "active": total.active,
            "memuse": total.memuse,
            "memcap": t.evicted,
            "mgr": { "flows_timeout": t.timed_out },
            "wrk": { "flows_evicted": t.evicted },
            "tcp_reuse": c.tcp_reuse,
        },
        "tcp": {
            "reassembly_gap": c.tcp_gaps,
            "stream_depth_reached": c.stream_overflows,
            "invalid_checksum": c.tcp_invalid_checksum,
            "overlap_diff_data": c.tcp_overlap_different,
            "urgent_oob_data": c.tcp_urgent,
        },
        // Suricata's stream event counters; UDP and IPv4 checksums and SYN data have no key in
        // its schema: the summary shows them.
        "stream": {
            "pkt_invalid_timestamp": c.tcp_paws_dropped,
            "reassembly_overlap_different_data": c.tcp_overlap_different,
        },
        "detect": { "alert": c.total_alerts() },
        // Suricata's app-layer counters for HTTP/2, and for mDNS and LLMNR (its transactions:
        // each message is one, as in Suricata 8); SOCKS and NetBIOS have no key in its schema
        // (no parser): the summary shows them.
        "app_layer": {
            "tx": {
                "http2": c.h2_requests,
                "mdns": c.lan_discovery[LanDiscovery::Mdns.index()],
                "llmnr_udp": llmnr - c.llmnr_tcp,
                "llmnr_tcp": c.llmnr_tcp,
            },
            "error": { "http2": { "parser": c.h2_parse_errors } },
        },
        "memcap": { "pressure": pressure, "pressure_max": pressure_max },
    });
    // Suricata's per-encapsulation counters (`decoder.vxlan`, `decoder.gre`, ...) and its
    // overlap events (`decoder.event.ipv4.frag_overlap`, `...ipv6.frag_overlap`).
    if let Some(decoder) = object.get_mut("decoder").and_then(Value::as_object_mut) {
        for (name, n) in c.encap.named() {
            decoder.insert(name.into(), json!(n));
        }
        let [v4, v6] = c.ip_fragment_overlaps;
        decoder.insert(
            "event".into(),
            json!({ "ipv4": { "frag_overlap": v4 }, "ipv6": { "frag_overlap": v6 } }),
        );
    }
    if let (Some(capture), Some(map)) = (c.capture_total(), object.as_object_mut()) {
        map.insert(
            "capture".into(),
            json!({
                "kernel_packets": capture.kernel_packets,
                "kernel_drops": capture.kernel_drops,
                "kernel_ifdrops": capture.kernel_ifdrops,
            }),
        );
    }
    object
}
