//! Unit tests on DNS messages extracted from the corpus pcaps
//! (`testdata/*.bin`: the UDP payload, or the TCP stream bytes, verbatim)
//! with the values Suricata / tshark report for them.

use crate::testutil::XorShift;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{json, Value};

use super::eve::{rcode_name, rrtype_name};
use super::names::MAX_NAME_LEN;
use super::*;

const DIG_REQ: &[u8] = include_bytes!("testdata/dig_req.bin");
const DIG_RESP: &[u8] = include_bytes!("testdata/dig_resp.bin");
const NXDOMAIN_SOA: &[u8] = include_bytes!("testdata/nxdomain_soa_resp.bin");
const CORRUPT_ADD_REQ: &[u8] = include_bytes!("testdata/corrupt_additionals_req.bin");
const CORRUPT_ADD_RESP: &[u8] = include_bytes!("testdata/corrupt_additionals_resp.bin");
const FWD_PTR_REQ: &[u8] = include_bytes!("testdata/forward_pointer_req.bin");
const FWD_PTR_RESP: &[u8] = include_bytes!("testdata/forward_pointer_resp.bin");
const AAAA_RESP: &[u8] = include_bytes!("testdata/aaaa_resp.bin");
const MX_RESP: &[u8] = include_bytes!("testdata/mx_resp.bin");
/// dns-tcp-multirequest-buffer frame 4: 20 length-prefixed queries.
const TCP_MULTIREQ: &[u8] = include_bytes!("testdata/tcp_multireq_ts.bin");
/// dns-tcp-ts-gap frame 6: one length-prefixed response, 12 A answers.
const TCP_GAP_RESP: &[u8] = include_bytes!("testdata/tcp_gap_resp_tc.bin");
/// dns-truncated-rname: the to-server TCP stream (1500 questions).
const TRUNCATED_RNAME_TCP: &[u8] = include_bytes!("testdata/truncated_rname_tcp.bin");

const ALL_MESSAGES: [&[u8]; 9] = [
    DIG_REQ,
    DIG_RESP,
    NXDOMAIN_SOA,
    CORRUPT_ADD_REQ,
    CORRUPT_ADD_RESP,
    FWD_PTR_REQ,
    FWD_PTR_RESP,
    AAAA_RESP,
    MX_RESP,
];

fn parse(msg: &[u8]) -> DnsMessage {
    parse_message(msg).expect("corpus message parses")
}

#[test]
fn dig_request_eve_matches_suricata() {
    let eve = parse(DIG_REQ).eve(0);
    let expected = json!({
        "version": 3, "type": "request", "tx_id": 0, "id": 36146, "flags": "120",
        "rd": true, "opcode": 0, "rcode": "NOERROR",
        "queries": [{"rrname": "www.suricata-ids.org", "rrtype": "A"}]
    });
    assert_eq!(eve, expected);
}

#[test]
fn dig_response_eve_matches_suricata() {
    let eve = parse(DIG_RESP).eve(0);
    let expected = json!({
        "version": 3, "type": "response", "tx_id": 0, "id": 36146, "flags": "81a0",
        "qr": true, "rd": true, "ra": true, "opcode": 0, "rcode": "NOERROR",
        "queries": [{"rrname": "www.suricata-ids.org", "rrtype": "A"}],
        "answers": [
            {"rrname": "www.suricata-ids.org", "rrtype": "CNAME", "ttl": 3544, "rdata": "suricata-ids.org"},
            {"rrname": "suricata-ids.org", "rrtype": "A", "ttl": 244, "rdata": "192.0.78.24"},
            {"rrname": "suricata-ids.org", "rrtype": "A", "ttl": 244, "rdata": "192.0.78.25"}
        ],
        "grouped": {"A": ["192.0.78.24", "192.0.78.25"], "CNAME": ["suricata-ids.org"]}
    });
    assert_eq!(eve, expected);
}

#[test]
fn dig_response_answer_addrs_are_its_a_records() {
    let addrs: Vec<(IpAddr, u32)> = parse(DIG_RESP).answer_addrs().collect();
    let expected = vec![
        (IpAddr::V4(Ipv4Addr::new(192, 0, 78, 24)), 244),
        (IpAddr::V4(Ipv4Addr::new(192, 0, 78, 25)), 244),
    ];
    assert_eq!(addrs, expected);
    assert_eq!(parse(DIG_REQ).answer_addrs().count(), 0);
}

#[test]
fn nxdomain_response_logs_soa_authority() {
    let msg = parse(NXDOMAIN_SOA);
    assert_eq!(msg.rcode, 3);
    let eve = msg.eve(0);
    assert_eq!(eve["rcode"], "NXDOMAIN");
    assert_eq!(
        eve["queries"],
        json!([{"rrname": "dne.oisf.net", "rrtype": "A"}])
    );
    let expected_auth = json!([{
        "rrname": "oisf.net", "rrtype": "SOA", "ttl": 899,
        "soa": {
            "mname": "ns-110.awsdns-13.com", "rname": "awsdns-hostmaster.amazon.com",
            "serial": 1, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 86400
        }
    }]);
    assert_eq!(eve["authorities"], expected_auth);
    assert!(eve.get("answers").is_none() && eve.get("grouped").is_none());
}

#[test]
fn corrupt_additionals_keep_answers() {
    let msg = parse(CORRUPT_ADD_RESP);
    assert_eq!(msg.damaged, Some(Section::Additional));
    assert_eq!(msg.answers.len(), 2);
    let eve = msg.eve(0);
    assert_eq!(eve["queries"][0]["rrtype"], "SRV");
    let expected = json!([
        {"rrname": "_sip._udp.sip.voice.google.com", "rrtype": "SRV", "ttl": 275,
         "srv": {"priority": 20, "weight": 1, "port": 5060, "name": "sip-anycast-2.voice.google.com"}},
        {"rrname": "_sip._udp.sip.voice.google.com", "rrtype": "SRV", "ttl": 275,
         "srv": {"priority": 10, "weight": 1, "port": 5060, "name": "sip-anycast-1.voice.google.com"}}
    ]);
    assert_eq!(eve["answers"], expected);
    assert_eq!(eve["grouped"]["SRV"].as_array().map(Vec::len), Some(2));
    assert_eq!(parse(CORRUPT_ADD_REQ).eve(0)["queries"][0]["rrtype"], "SRV");
}

#[test]
fn forward_pointer_is_accepted() {
    let req = parse(FWD_PTR_REQ);
    assert_eq!(req.damaged, None);
    let eve = req.eve(0);
    let q = json!({"rrname": "codemonkey.net", "rrtype": "A"});
    assert_eq!(eve["queries"], json!([q.clone(), q]));
    assert_eq!(eve["id"], 36356);
    let resp = parse(FWD_PTR_RESP).eve(0);
    let answer =
        json!([{"rrname": "codemonkey.net", "rrtype": "A", "ttl": 300, "rdata": "152.53.82.239"}]);
    assert_eq!(resp["answers"], answer);
}

#[test]
fn aaaa_answer_prints_like_suricata() {
    let msg = parse(AAAA_RESP);
    let addr: Ipv6Addr = "2607:f8b0:400f:801::200e".parse().unwrap();
    assert_eq!(msg.answers[0].rdata, Rdata::Aaaa(addr));
    let eve = msg.eve(0);
    let text = "2607:f8b0:400f:0801:0000:0000:0000:200e";
    let answer = json!([{"rrname": "google.com", "rrtype": "AAAA", "ttl": 299, "rdata": text}]);
    assert_eq!(eve["answers"], answer);
    assert_eq!(eve["grouped"], json!({"AAAA": [text]}));
    let addrs: Vec<(IpAddr, u32)> = msg.answer_addrs().collect();
    assert_eq!(addrs, vec![(IpAddr::V6(addr), 299)]);
}

#[test]
fn mx_answers_print_exchange() {
    let msg = parse(MX_RESP);
    let exchanges = [
        "aspmx.l.google.com",
        "alt1.aspmx.l.google.com",
        "alt2.aspmx.l.google.com",
        "alt3.aspmx.l.google.com",
        "alt4.aspmx.l.google.com",
    ];
    let eve = msg.eve(0);
    let answers: Vec<Value> = exchanges
        .iter()
        .map(|x| json!({"rrname": "google.com", "rrtype": "MX", "ttl": 599, "rdata": x}))
        .collect();
    assert_eq!(eve["answers"], Value::Array(answers));
    assert_eq!(eve["grouped"], json!({"MX": exchanges}));
    assert!(matches!(msg.answers[0].rdata, Rdata::Mx { pref: 10, .. }));
}

#[test]
fn split_tcp_twenty_queries_in_one_segment() {
    let (messages, consumed) = split_tcp(TCP_MULTIREQ);
    assert_eq!(messages.len(), 20);
    assert_eq!(consumed, TCP_MULTIREQ.len());
    for (i, raw) in messages.iter().enumerate() {
        let msg = parse(raw);
        assert_eq!(usize::from(msg.id), i);
        assert_eq!(msg.queries[0].name, format!("{i}.google.com"));
        assert_eq!(msg.eve(i as u64)["type"], "request");
    }
}

#[test]
fn split_tcp_every_prefix_keeps_partial_message() {
    let stream = [TCP_MULTIREQ, TCP_GAP_RESP].concat();
    let (all, _) = split_tcp(&stream);
    let ends: Vec<usize> = all
        .iter()
        .map(|m| m.as_ptr() as usize - stream.as_ptr() as usize + m.len())
        .collect();
    for cut in 0..=stream.len() {
        let (messages, consumed) = split_tcp(&stream[..cut]);
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        assert_eq!(messages.len(), complete, "prefix {cut}");
        assert_eq!(
            consumed,
            ends[..complete].last().copied().unwrap_or(0),
            "prefix {cut}"
        );
    }
}

#[test]
fn split_tcp_across_chunks_reassembles_everything() {
    let stream = [TCP_MULTIREQ, TCP_GAP_RESP].concat();
    for chunk in [1, 2, 3, 7, 50, 333] {
        let mut buf: Vec<u8> = Vec::new();
        let mut got: Vec<Vec<u8>> = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            let (messages, consumed) = split_tcp(&buf);
            got.extend(messages.iter().map(|m| m.to_vec()));
            buf.drain(..consumed);
        }
        assert!(buf.is_empty());
        assert_eq!(got.len(), 21, "chunk {chunk}");
        let last = parse(&got[20]);
        assert_eq!(last.answers.len(), 12);
        assert_eq!(last.eve(0)["answers"].as_array().map(Vec::len), Some(12));
    }
}

#[test]
fn hostile_1500_questions_are_bounded_and_truncated() {
    let (messages, consumed) = split_tcp(TRUNCATED_RNAME_TCP);
    assert_eq!((messages.len(), consumed), (1, TRUNCATED_RNAME_TCP.len()));
    let started = std::time::Instant::now();
    let msg = parse(messages[0]);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(msg.id, 2222);
    assert_eq!(msg.queries.len(), MAX_QUESTIONS);
    assert_eq!(msg.dropped_queries, 1500 - MAX_QUESTIONS as u32);
    assert!(msg
        .queries
        .iter()
        .all(|q| q.name_truncated && q.name.len() == MAX_NAME_LEN && q.rtype == 16));
    let eve = msg.eve(0);
    assert_eq!(
        eve["queries"][0]["rrname"].as_str().map(str::len),
        Some(1025)
    );
    assert_eq!(eve["queries"][0]["rrname_truncated"], true);
    assert_eq!(eve["queries"][0]["rrtype"], "TXT");
}

#[test]
fn pointer_loop_terminates() {
    // Two questions whose names are forward/backward pointers to each other.
    let mut msg = vec![0x12, 0x34, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0];
    msg.extend_from_slice(&[0xC0, 18, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1]);
    let parsed = parse_message(&msg);
    assert!(matches!(parsed, Ok(ref m) if m.queries.len() == 2 && m.queries[0].name_truncated));
}

#[test]
fn short_and_broken_messages_are_errors() {
    assert_eq!(parse_message(&[]), Err(DnsError::ShortHeader));
    assert_eq!(parse_message(&DIG_REQ[..11]), Err(DnsError::ShortHeader));
    assert_eq!(parse_message(&DIG_REQ[..14]), Err(DnsError::BadQuestion));
    let truncated = parse(&DIG_RESP[..75]);
    assert_eq!(truncated.damaged, Some(Section::Answer));
    assert_eq!(truncated.answers.len(), 1);
}

#[test]
fn probe_udp_accepts_dns_and_rejects_other_payloads() {
    for msg in ALL_MESSAGES {
        assert!(probe_udp(msg));
    }
    assert!(!probe_udp(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    assert!(!probe_udp(&DIG_REQ[..11]));
    assert!(!probe_udp(&[0u8; 64]));
    let mut bad_opcode = DIG_REQ.to_vec();
    bad_opcode[2] |= 0x78;
    assert!(!probe_udp(&bad_opcode));
}

#[test]
fn probe_tcp_recognises_a_large_message_from_its_first_segment() {
    // The 1500-question request of dns-truncated-rname (TCP port 1053): the UDP probe's limit of
    // 16 questions refuses it; the TCP probe checks counts against the declared length.
    assert!(probe_tcp(TRUNCATED_RNAME_TCP));
    // A first segment of typical MSS holds the header and the (1 KiB long) first question.
    assert!(probe_tcp(&TRUNCATED_RNAME_TCP[..1400]));
    assert!(!probe_udp(&TRUNCATED_RNAME_TCP[2..]));
    let mut framed = (DIG_REQ.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(DIG_REQ);
    assert!(probe_tcp(&framed));
    assert!(!probe_tcp(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    assert!(!probe_tcp(&[0u8, 5, 1, 2, 3, 4, 5]));
    assert!(!probe_tcp(b""));
}

#[test]
fn type_and_rcode_names() {
    assert_eq!(rrtype_name(1), "A");
    assert_eq!(rrtype_name(28), "AAAA");
    assert_eq!(rrtype_name(65), "HTTPS");
    assert_eq!(rrtype_name(4000), "4000");
    assert_eq!(rcode_name(3), "NXDOMAIN");
    assert_eq!(rcode_name(16), "BADVERS/BADSIG");
    assert_eq!(rcode_name(12), "12");
}

#[test]
fn non_utf8_labels_print_as_hex_escapes() {
    assert_eq!(bytes_to_string(&[b'a', 0xF0, 0xF1]), "a\\xf0\\xf1");
    assert_eq!(bytes_to_string("é".as_bytes()), "é");
}

/// The `properties.dns` schema of the shared EVE schema, with its `$defs`.
fn dns_schema() -> Option<Value> {
    let full = crate::testutil::eve_schema()?;
    let mut dns = full["properties"]["dns"].clone();
    dns["$defs"] = full["$defs"].clone();
    Some(dns)
}

#[test]
fn eve_objects_validate_against_schema() {
    let Some(schema) = dns_schema() else {
        eprintln!("eve-schema.json not found; schema check skipped");
        return;
    };
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let (hostile, _) = split_tcp(TRUNCATED_RNAME_TCP);
    let (tcp, _) = split_tcp(TCP_GAP_RESP);
    for msg in ALL_MESSAGES.iter().copied().chain(hostile).chain(tcp) {
        let eve = parse(msg).eve(7);
        let errors: Vec<String> = validator.iter_errors(&eve).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}

/// Random bytes, or a real message with random byte edits and a random cut.
fn fuzz_input(rng: &mut XorShift) -> Vec<u8> {
    if rng.below(4) == 0 {
        let len = rng.below(600);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut data = ALL_MESSAGES[rng.below(ALL_MESSAGES.len())].to_vec();
    for _ in 0..=rng.below(6) {
        let at = rng.below(data.len());
        // Bias towards pointer bytes and small counts to reach deep paths.
        data[at] = match rng.below(3) {
            0 => 0xC0 | (rng.next() as u8 & 0x3F),
            1 => rng.below(16) as u8,
            _ => rng.next() as u8,
        };
    }
    let keep = data.len() - rng.below(data.len() / 2 + 1);
    data.truncate(keep);
    data
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let data = fuzz_input(&mut rng);
        if let Ok(msg) = parse_message(&data) {
            // The direct writer gives the value tree's text byte for byte (escapes of the
            // mangled names included).
            assert_eq!(msg.eve_json(1).get(), msg.eve(1).to_string());
            let _ = msg.answer_addrs().count();
            assert!(msg.queries.len() <= MAX_QUESTIONS);
        }
        let _ = probe_udp(&data);
        let (messages, consumed) = split_tcp(&data);
        assert!(consumed <= data.len());
        for m in messages {
            let _ = parse_message(m);
        }
    }
}

#[test]
fn the_direct_eve_writer_gives_the_value_tree_exactly() {
    for (i, bytes) in ALL_MESSAGES.iter().enumerate() {
        let msg = parse(bytes);
        for tx in [0, 7] {
            let direct: serde_json::Value =
                serde_json::from_str(msg.eve_json(tx).get()).expect("valid JSON");
            let tree = msg.eve(tx);
            assert_eq!(direct, tree, "message {i}");
            // Key order too (what a reader of eve.json sees).
            assert_eq!(direct.to_string(), tree.to_string(), "message {i}");
        }
    }
}

/// A response to `secret.example HTTPS` with one HTTPS answer carrying an ECH configuration.
fn https_response() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    m.extend(b"\x06secret\x07example\x00");
    m.extend([0, 65, 0, 1]);
    m.extend([0xc0, 0x0c, 0, 65, 0, 1, 0, 0, 0x01, 0x2c]);
    let rdata = super::svcb::tests::https_rdata([203, 0, 113, 40], 0x2a, "cover.example");
    m.extend((rdata.len() as u16).to_be_bytes());
    m.extend(rdata);
    m
}

#[test]
fn an_https_answer_logs_its_svcb_object_and_resolves_its_hints() {
    let msg = parse(&https_response());
    let eve = msg.eve(0);
    let answer = &eve["answers"][0];
    assert_eq!(answer["rrtype"], "HTTPS");
    assert_eq!(
        answer["svcb"]["ipv4hint"],
        serde_json::json!(["203.0.113.40"])
    );
    assert_eq!(
        answer["svcb"]["ech"],
        serde_json::json!([{"config_id": 42, "public_name": "cover.example"}])
    );
    assert_eq!(msg.eve_json(0).get(), eve.to_string(), "direct writer");
    let addrs: Vec<_> = msg.answer_addrs().collect();
    assert_eq!(addrs, [("203.0.113.40".parse().unwrap(), 300)]);
    let ech: Vec<_> = msg
        .ech_configs()
        .map(|(c, ttl)| (c.config_id, ttl))
        .collect();
    assert_eq!(ech, [(0x2a, 300)]);
    if let Some(schema) = dns_schema() {
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let errors: Vec<String> = validator.iter_errors(&eve).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
    }
}
