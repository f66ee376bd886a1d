//! Unit tests for messages of every kind: GSS-TSIG TKEY exchanges (RFC 2930, RFC 3645), TSIG,
//! EDNS OPT, SVCB/HTTPS and unknown record types, and a record whose data does not decode.

use serde_json::json;

use super::*;

/// Appends a name in wire form (no compression).
fn name(out: &mut Vec<u8>, text: &str) {
    for label in text.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend(label.as_bytes());
    }
    out.push(0);
}

/// Appends one record: owner `owner`, type, class, ttl, rdata.
fn record(out: &mut Vec<u8>, owner: &str, rtype: u16, class: u16, ttl: u32, rdata: &[u8]) {
    name(out, owner);
    out.extend(rtype.to_be_bytes());
    out.extend(class.to_be_bytes());
    out.extend(ttl.to_be_bytes());
    out.extend((rdata.len() as u16).to_be_bytes());
    out.extend(rdata);
}

/// TKEY record data (RFC 2930 §2): algorithm, inception, expiration, mode, error, key, other.
fn tkey_rdata(mode: u16, key: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    name(&mut r, "gss-tsig");
    r.extend(1_700_000_000u32.to_be_bytes());
    r.extend(1_700_086_400u32.to_be_bytes());
    r.extend(mode.to_be_bytes());
    r.extend(0u16.to_be_bytes());
    r.extend((key.len() as u16).to_be_bytes());
    r.extend(key);
    r.extend(0u16.to_be_bytes());
    r
}

/// TSIG record data (RFC 8945 §4.2).
fn tsig_rdata(original_id: u16) -> Vec<u8> {
    let mut r = Vec::new();
    name(&mut r, "gss-tsig");
    r.extend([0, 0, 0x65, 0x53, 0xf1, 0x00]); // time signed, 48 bits
    r.extend(300u16.to_be_bytes()); // fudge
    r.extend(28u16.to_be_bytes());
    r.extend([0x5a; 28]); // MAC
    r.extend(original_id.to_be_bytes());
    r.extend(0u16.to_be_bytes()); // error
    r.extend(0u16.to_be_bytes()); // other len
    r
}

/// A few hundred bytes shaped like a SPNEGO NegTokenInit (GSS-API tag 0x60, the SPNEGO OID).
fn spnego_token(len: usize) -> Vec<u8> {
    let mut t = vec![0x60, 0x82];
    t.extend(((len - 4) as u16).to_be_bytes());
    t.extend([0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
    t.extend((0..len - t.len()).map(|i| (i * 7 + 3) as u8));
    t
}

const KEY_NAME: &str = "3141592653.sig-dc1.ad.example";

/// A Windows client's TKEY query: the TKEY record in `tkey_section` (RFC 2930 puts it in the
/// additional section; Windows has put it in the answer section).
fn tkey_query(in_answers: bool) -> Vec<u8> {
    let mut m = vec![0x4d, 0x2a, 0x00, 0x00, 0, 1];
    m.extend(if in_answers {
        [0, 1, 0, 0, 0, 0]
    } else {
        [0, 0, 0, 0, 0, 1]
    });
    name(&mut m, KEY_NAME);
    m.extend([0, 249, 0, 255]);
    record(
        &mut m,
        KEY_NAME,
        249,
        255,
        0,
        &tkey_rdata(3, &spnego_token(1400)),
    );
    m
}

/// The server's answer: the TKEY with the server's token, signed with a TSIG.
fn tkey_response() -> Vec<u8> {
    let mut m = vec![0x4d, 0x2a, 0x80, 0x00, 0, 1, 0, 1, 0, 0, 0, 1];
    name(&mut m, KEY_NAME);
    m.extend([0, 249, 0, 255]);
    record(
        &mut m,
        KEY_NAME,
        249,
        255,
        0,
        &tkey_rdata(3, &spnego_token(160)),
    );
    record(&mut m, KEY_NAME, 250, 255, 0, &tsig_rdata(0x4d2a));
    m
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut f = (msg.len() as u16).to_be_bytes().to_vec();
    f.extend(msg);
    f
}

/// A query or response: header words, then the question `qname qtype`, then the records.
fn message(flags: u16, counts: [u16; 3], qname: &str, qtype: u16, records: &[u8]) -> Vec<u8> {
    let mut m = vec![0x4d, 0x2a];
    m.extend(flags.to_be_bytes());
    m.extend([0, 1]);
    for c in counts {
        m.extend(c.to_be_bytes());
    }
    name(&mut m, qname);
    m.extend(qtype.to_be_bytes());
    m.extend([0, 1]);
    m.extend(records);
    m
}

/// The `dns` object, checked against the direct writer and the shared EVE schema.
fn eve(msg: &DnsMessage) -> serde_json::Value {
    let eve = msg.eve(0);
    assert_eq!(msg.eve_json(0).get(), eve.to_string(), "direct writer");
    if let Some(full) = crate::testutil::eve_schema() {
        let mut schema = full["properties"]["dns"].clone();
        schema["$defs"] = full["$defs"].clone();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let errors: Vec<String> = validator.iter_errors(&eve).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {eve}");
    }
    eve
}

#[test]
fn a_gss_tsig_tkey_query_and_response_over_tcp_are_logged() {
    for in_answers in [true, false] {
        let query = tkey_query(in_answers);
        let stream = framed(&query);
        assert!(probe_tcp(&stream) && probe_tcp(&stream[..1200]));
        let (messages, used) = split_tcp(&stream);
        assert_eq!((messages, used), (vec![&query[..]], stream.len()));
        let msg = parse_message(&query).expect("parses");
        assert_eq!((msg.damaged, msg.bad_records), (None, 0));
        let tkey = json!([{"rrname": KEY_NAME, "rrtype": "TKEY", "ttl": 0}]);
        let section = if in_answers { "answers" } else { "additionals" };
        let mut expected = json!({
            "version": 3, "type": "request", "tx_id": 0, "id": 0x4d2a, "flags": "0",
            "opcode": 0, "rcode": "NOERROR",
            "queries": [{"rrname": KEY_NAME, "rrtype": "TKEY"}],
        });
        expected[section] = tkey;
        assert_eq!(eve(&msg), expected);
    }
    let msg = parse_message(&tkey_response()).expect("parses");
    let got = eve(&msg);
    assert_eq!(
        got["answers"],
        json!([{"rrname": KEY_NAME, "rrtype": "TKEY", "ttl": 0}])
    );
    assert_eq!(
        got["additionals"],
        json!([{"rrname": KEY_NAME, "rrtype": "TSIG", "ttl": 0}])
    );
    assert!(got.get("grouped").is_none());
}

/// An OPT record (RFC 6891) with the given options and TTL (extended rcode, version, flags).
fn opt(ttl: u32, options: &[(u16, &[u8])]) -> Vec<u8> {
    let mut rdata = Vec::new();
    for (code, data) in options {
        rdata.extend(code.to_be_bytes());
        rdata.extend((data.len() as u16).to_be_bytes());
        rdata.extend(*data);
    }
    let mut r = Vec::new();
    record(&mut r, "", 41, 1232, ttl, &rdata);
    r
}

#[test]
fn opt_options_are_logged_in_additionals_as_suricata_logs_them() {
    let cookie: &[u8] = &[0x8a, 0x1b, 0xc2, 0x3d, 0x4e, 0x5f, 0x60, 0x71];
    let q = message(
        0x0120,
        [0, 0, 1],
        "example.net",
        1,
        &opt(0, &[(10, cookie)]),
    );
    let got = eve(&parse_message(&q).unwrap());
    assert_eq!(
        got["additionals"],
        json!([{"rrname": "", "rrtype": "OPT", "ttl": 0,
                "opt": [{"code": 10, "data": "8a1bc23d4e5f6071"}]}])
    );
    // Without options (and with the DO bit) it is not logged, as in Suricata.
    let q = message(0x0120, [0, 0, 1], "example.net", 1, &opt(0x8000, &[]));
    let msg = parse_message(&q).unwrap();
    assert!(eve(&msg).get("additionals").is_none());
    assert_eq!(msg.additionals.len(), 1);
    // The OPT TTL's top byte extends the header rcode (BADVERS = 16).
    let r = message(0x8180, [0, 0, 1], "example.net", 1, &opt(0x0100_0000, &[]));
    assert_eq!(parse_message(&r).unwrap().rcode, 16);
}

#[test]
fn svcb_and_unknown_types_print_as_suricata_8_prints_them() {
    let svcb = super::svcb::tests::https_rdata([203, 0, 113, 41], 7, "cover.example");
    let mut records = Vec::new();
    record(&mut records, "_dns.resolver.example", 64, 1, 60, &svcb);
    record(
        &mut records,
        "_dns.resolver.example",
        65400,
        1,
        60,
        &[0xde, 0xad, 0xbe, 0xef],
    );
    let r = message(0x8180, [2, 0, 0], "_dns.resolver.example", 64, &records);
    let msg = parse_message(&r).unwrap();
    let got = eve(&msg);
    assert_eq!(
        got["queries"][0]["rrtype"], "64",
        "Suricata 8 has no SVCB mnemonic"
    );
    assert_eq!(got["answers"][0]["rrtype"], "64");
    assert_eq!(
        got["answers"][0]["svcb"]["ipv4hint"],
        json!(["203.0.113.41"])
    );
    assert_eq!(
        got["answers"][1],
        json!({"rrname": "_dns.resolver.example", "rrtype": "65400", "ttl": 60})
    );
    let q = message(0x0100, [0, 0, 0], "x.example", 65400, &[]);
    assert_eq!(
        eve(&parse_message(&q).unwrap())["queries"][0]["rrtype"],
        "65400"
    );
    for (t, name) in [
        (41, "OPT"),
        (249, "TKEY"),
        (250, "TSIG"),
        (65, "HTTPS"),
        (256, "URI"),
    ] {
        assert_eq!(super::eve::rrtype_name(t), name);
    }
}

#[test]
fn a_record_that_does_not_decode_costs_that_record_only() {
    let mut records = Vec::new();
    record(&mut records, "a.example", 1, 1, 300, &[192, 0, 2, 1]);
    // An A record of 3 bytes, an MX whose exchange runs past its data, an HTTPS record cut inside
    // its parameters, a broken OPT option: each is skipped by its RDLENGTH.
    record(&mut records, "a.example", 1, 1, 300, &[192, 0, 2]);
    record(&mut records, "a.example", 15, 1, 300, &[0, 10, 9, b'm']);
    record(&mut records, "a.example", 1, 1, 300, &[192, 0, 2, 2]);
    record(
        &mut records,
        "a.example",
        65,
        1,
        300,
        &[0, 1, 0, 0, 1, 0, 9],
    );
    record(&mut records, "a.example", 16, 1, 300, b"\x05hello");
    let mut broken_opt = Vec::new();
    record(&mut broken_opt, "", 41, 1232, 0, &[0, 10, 0, 8, 1, 2]);
    records.extend(&broken_opt);
    record(&mut records, "ns.example", 1, 1, 300, &[198, 51, 100, 7]);
    let r = message(0x8180, [5, 0, 3], "a.example", 1, &records);
    let msg = parse_message(&r).unwrap();
    assert_eq!(msg.damaged, None);
    assert_eq!(msg.bad_records, 4);
    let got = eve(&msg);
    assert_eq!(got["grouped"], json!({"A": ["192.0.2.1", "192.0.2.2"]}));
    assert_eq!(
        got["additionals"],
        json!([{"rrname": "a.example", "rrtype": "TXT", "ttl": 300, "rdata": "hello"},
               {"rrname": "ns.example", "rrtype": "A", "ttl": 300, "rdata": "198.51.100.7"}])
    );
    // A record running past the message is damage: the section stops there, the rest stays.
    let mut cut = r.clone();
    cut.truncate(r.len() - 2);
    let msg = parse_message(&cut).unwrap();
    assert_eq!(msg.damaged, Some(Section::Additional));
    assert_eq!(msg.answers.len(), 2);
    // Every cut and every byte flip of it parses without panic.
    for n in 0..r.len() {
        let _ = parse_message(&r[..n]).map(|m| m.eve_json(0));
        let mut flipped = r.clone();
        flipped[n] ^= 0xff;
        let _ = parse_message(&flipped).map(|m| m.eve_json(0));
    }
}
