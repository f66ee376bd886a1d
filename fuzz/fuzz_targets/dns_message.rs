//! Fuzzes the DNS parser, its EVE loggers (and that the direct writer matches the value tree),
//! the UDP/TCP probes and the TCP framing.
#![no_main]
use proto::dns;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dns::probe_udp(data);
    let _ = dns::probe_tcp(data);
    if let Ok(msg) = dns::parse_message(data) {
        // The direct writer must give exactly the value tree, key order included.
        let tree = msg.eve(0).to_string();
        let direct = msg.eve_json(0);
        let reparsed: serde_json::Value = serde_json::from_str(direct.get()).expect("valid JSON");
        assert_eq!(reparsed.to_string(), tree);
        // Byte for byte too: proto::json escapes exactly as serde_json does.
        assert_eq!(direct.get(), tree);
        let _ = msg.answer_addrs().count();
    }
    let (messages, consumed) = dns::split_tcp(data);
    assert!(consumed <= data.len());
    for m in messages {
        let _ = dns::parse_message(m);
    }
});
