//! QUIC on the project's captures of a real client and server (aioquic, pcaps/quic-*.pcap):
//! what the `quic` events say beyond the alerts that tests/pcaps.rs compares. The server's
//! ClientHello is the one the receiver parsed: make-captures.sh checks its log names the same
//! SNI, so here the events must name it too.

use crate::common::*;
use serde_json::Value;

fn quic_events(r: &Replay) -> Vec<&Value> {
    r.events
        .iter()
        .filter(|e| e["event_type"] == "quic")
        .collect()
}

fn pcap(name: &str) -> std::path::PathBuf {
    root().join("pcaps").join(format!("{name}.pcap"))
}

#[test]
fn version_1_and_2_initials_are_decrypted_and_logged_as_suricata_does() {
    for (name, version, sni) in [
        ("quic-ioc", "1", "pkg-validate.net"),
        ("quic-v2", "v2", "telemetry.example-cdn.net"),
    ] {
        let r = replay(&format!("quic-{name}"), &[&pcap(name)], &[]);
        let q = quic_events(&r);
        assert_eq!(q.len(), 1, "{name}: {q:#?}");
        assert_eq!(q[0]["app_proto"], "quic");
        assert_eq!(q[0]["quic"]["version"], version, "{name}");
        assert_eq!(q[0]["quic"]["sni"], sni, "{name}");
        let ja4 = q[0]["quic"]["ja4"].as_str().unwrap_or_default();
        assert!(ja4.starts_with("q13d"), "{name}: JA4 {ja4} (q: QUIC)");
        let alpn = q[0]["quic"]["extensions"]
            .as_array()
            .and_then(|x| x.iter().find(|e| e["name"] == "alpn"))
            .map(|e| e["values"].clone());
        assert_eq!(alpn, Some(serde_json::json!(["hq-interop"])), "{name}");
        let flows: Vec<&Value> = r
            .events
            .iter()
            .filter(|e| e["event_type"] == "flow" && e["proto"] == "UDP" && e["dest_port"] == 443)
            .collect();
        assert_eq!(flows.len(), 1, "{name}: one QUIC flow");
        assert_eq!(flows[0]["app_proto"], "quic");
    }
}

#[test]
fn a_retry_gives_the_second_client_hello_under_new_keys() {
    let r = replay("quic-retry", &[&pcap("quic-retry")], &[]);
    let q = quic_events(&r);
    assert_eq!(q.len(), 2, "a hello before and one after the Retry: {q:#?}");
    assert_eq!(q[0]["flow_id"], q[1]["flow_id"], "one flow");
    assert!(q.iter().all(|e| e["quic"]["sni"] == "cdn.evil-mirror.net"));
    assert!(
        r.stderr.contains("2 QUIC ClientHellos")
            && r.stderr.contains("1 Retry/Version Negotiation"),
        "{}",
        r.stderr
    );
    let alerts = alert_rows(&r.events);
    assert_eq!(
        alerts.len(),
        1,
        "one alert per flow and detection: {alerts:?}"
    );
}

#[test]
fn a_client_hello_over_several_initials_is_put_back_together() {
    let r = replay("quic-large-hello", &[&pcap("quic-large-hello")], &[]);
    let q = quic_events(&r);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["quic"]["sni"], "npm-health-check.io");
    let alpns = q[0]["quic"]["extensions"]
        .as_array()
        .and_then(|x| x.iter().find(|e| e["name"] == "alpn"))
        .and_then(|e| e["values"].as_array())
        .map_or(0, Vec::len);
    assert_eq!(alpns, 61, "every ALPN identifier of the ~3 KB hello");
    // The hello's datagrams: more than one client datagram before the server's first.
    assert!(
        r.stderr.contains("0 Initials undecryptable, 0 unreadable"),
        "{}",
        r.stderr
    );
}
