//! Fuzzes the DNS parser, its EVE logger, the UDP/TCP probes and the TCP framing.
#![no_main]
use egress_ids::proto::dns;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dns::probe_udp(data);
    let _ = dns::probe_tcp(data);
    if let Ok(msg) = dns::parse_message(data) {
        let _ = msg.eve(0);
        let _ = msg.resolved_addrs();
    }
    let (messages, consumed) = dns::split_tcp(data);
    assert!(consumed <= data.len());
    for m in messages {
        let _ = dns::parse_message(m);
    }
});
