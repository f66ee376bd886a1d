//! Unit tests for the TLS ClientHello parser: real hellos from the corpus pcaps with their
//! expected JA3/JA4 values, record reassembly over every prefix, and a no-panic fuzz loop.

use crate::testutil::XorShift;
use serde_json::json;

use super::vectors::*;
use super::*;

/// Decode a hex test vector.
fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("test vector is hex"))
        .collect()
}

/// The hello at the start of a vector, and the bytes it consumed.
fn hello_of(vector: &str) -> (ClientHello, usize, Vec<u8>) {
    let bytes = unhex(vector);
    match next_step(&bytes) {
        Step::Hello(h, used) => (h, used, bytes),
        other => panic!("expected a hello, got {other:?}"),
    }
}

/// Expected values of one corpus hello.
struct Expect {
    consumed: usize,
    sni: Option<&'static str>,
    ja3_string: &'static str,
    ja3_hash: &'static str,
    ja4: &'static str,
    alpns: &'static [&'static str],
    version: &'static str,
}

/// Check a vector's first step against `e`.
fn check(vector: &str, e: &Expect) -> (ClientHello, Vec<u8>) {
    let (h, used, bytes) = hello_of(vector);
    assert_eq!(probe(&bytes), Probe::Match);
    assert_eq!(used, e.consumed);
    assert_eq!(h.sni.as_deref(), e.sni);
    assert_eq!(h.ja3_string(), Some(e.ja3_string));
    assert_eq!(h.ja3_hash(), Some(e.ja3_hash));
    assert!(h.ja4().starts_with(e.ja4), "ja4 {} vs {}", h.ja4(), e.ja4);
    assert_eq!(h.alpns, e.alpns);
    assert_eq!(h.eve()["version"], e.version);
    (h, bytes)
}

#[test]
fn ja4_tls_no_sni_then_skip_then_end() {
    let (h, bytes) = check(
        JA4_TLS,
        &Expect {
            consumed: 180,
            sni: None,
            ja3_string: "771,49195-49199-158-49162-49161-49171-49172-49159-49169-51-50-57-156-47-53-10-5-4,65281-10-11-35-13172-16-30032-5-18-13,23-24-25,0",
            ja3_hash: "308b0bd904abbef5e0034a1ff7a78920",
            ja4: "t12i1810s1_27d4652c4487_06a4338d0495",
            alpns: &["spdy/3.1", "http/1.1"],
            version: "TLS 1.2",
        },
    );
    assert_eq!(h.ja4(), "t12i1810s1_27d4652c4487_06a4338d0495");
    assert_eq!(
        h.eve(),
        json!({
            "version": "TLS 1.2",
            "ja3": {
                "hash": "308b0bd904abbef5e0034a1ff7a78920",
                "string": h.ja3_string().unwrap_or_default().to_owned(),
            },
            "ja4": "t12i1810s1_27d4652c4487_06a4338d0495",
            "client_alpns": ["spdy/3.1", "http/1.1"],
        })
    );
    // ClientKeyExchange record (70 bytes) is skipped, ChangeCipherSpec ends inspection.
    assert_eq!(next_step(&bytes[180..]), Step::Skip(75));
    assert_eq!(next_step(&bytes[255..]), Step::End);
}

#[test]
fn ja4repo_tls12_firefox() {
    let (h, _) = check(
        JA4REPO_TLS12,
        &Expect {
            consumed: 517,
            sni: Some("contile.services.mozilla.com"),
            ja3_string: "771,4865-4867-4866-49195-49199-52393-52392-49196-49200-49162-49161-49171-49172-156-157-47-53,0-23-65281-10-11-35-16-5-34-51-43-13-45-28-21,29-23-24-25-256-257,0",
            ja3_hash: "579ccef312d18482fc42e2b822ca2430",
            ja4: "t13d1715h2_5b57614c22b0_3d5424432f57",
            alpns: &["h2", "http/1.1"],
            version: "TLS 1.3",
        },
    );
    assert_eq!(h.ja4(), "t13d1715h2_5b57614c22b0_3d5424432f57");
    assert_eq!(h.ja4_for('q'), "q13d1715h2_5b57614c22b0_3d5424432f57");
    assert_eq!(h.eve()["sni"], "contile.services.mozilla.com");
}

#[test]
fn ja4repo_non_ascii_alpn_gives_99() {
    let (h, _) = check(
        JA4REPO_NON_ASCII_ALPN,
        &Expect {
            consumed: 517,
            sni: Some("clientservices.googleapis.com"),
            ja3_string: "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,65281-51-45-5-17513-13-16-35-27-43-0-18-10-23-11-21,29-23-24,0",
            ja3_hash: "1c258ebef8eee2dfa3df6d8d07285af9",
            ja4: "t13d151699_8daaf6152771_e5627efa2ab1",
            alpns: &["\u{fffd}\u{fffd}", "http/1.1"],
            version: "TLS 1.3",
        },
    );
    assert_eq!(h.ja4(), "t13d151699_8daaf6152771_e5627efa2ab1");
    assert_eq!(h.supported_versions, [0x0a0a, 0x0304, 0x0303]);
}

#[test]
fn tls13_draft28_two_flows() {
    let ciphers = "4866-4867-4865-4868-49196-52393-49325-49162-49195-49324-49161-49200-52392-49172-49199-49171-157-49309-53-156-49308-47-159-52394-49311-57-158-49310-51";
    let a_string = format!("771,{ciphers},5-10-11-13-22-23-35-51-43-65281-0-45,23,0");
    let b_string = format!("771,{ciphers},5-10-11-13-22-23-35-51-43-65281-0-45-41,23,0");
    let (a, used_a, bytes_a) = hello_of(TLS13_DRAFT28_A);
    assert_eq!(used_a, 297);
    assert_eq!(a.ja3_string(), Some(a_string.as_str()));
    assert_eq!(a.ja3_hash(), Some("43202faa1c8c1760d6f7f4bd9adde4ab"));
    assert_eq!(a.sni.as_deref(), Some("localhost"));
    assert_eq!(a.supported_versions, [0x7f1c, 0x0303, 0x0302, 0x0301]);
    assert_eq!(a.eve()["version"], "TLS 1.3 draft-28");
    // A draft version has no JA4 code: "00".
    assert!(a.ja4().starts_with("t00d291200_"), "{}", a.ja4());
    assert_ccs_then_end(&bytes_a[used_a..]);

    let (b, used_b, _) = hello_of(TLS13_DRAFT28_B);
    assert_eq!(used_b, 568);
    assert_eq!(b.ja3_string(), Some(b_string.as_str()));
    assert_eq!(b.ja3_hash(), Some("d00857e0c8e7a7f35e446508c6233460"));
    assert!(b.ja4().starts_with("t00d291300_"), "{}", b.ja4());
}

#[test]
fn bug_5713_tls10_no_sni() {
    let (h, _) = check(
        BUG_5713_02,
        &Expect {
            consumed: 104,
            sni: None,
            ja3_string: "769,49162-49161-49172-49171-53-47-10,5-10-11-35-23-65281,29-23-24,0",
            ja3_hash: "49ed2ef3f1321e5f044f1e71b0e6fdd5",
            ja4: "t10i070600_c50f5591e341_ce66f3b797c1",
            alpns: &[],
            version: "TLSv1",
        },
    );
    assert_eq!(h.ja4(), "t10i070600_c50f5591e341_ce66f3b797c1");
    let eve = h.eve();
    assert!(eve.get("sni").is_none() && eve.get("client_alpns").is_none());
}

#[test]
fn client_hello_frag_01_sni() {
    let (h, _) = check(
        HELLO_FRAG_01,
        &Expect {
            consumed: 517,
            sni: Some("www.google.com"),
            ja3_string: "771,49200-49196-49192-49188-49172-49162-165-163-161-159-107-106-105-104-57-56-55-54-136-135-134-133-49202-49198-49194-49190-49167-49157-157-61-53-132-49199-49195-49191-49187-49171-49161-164-162-160-158-103-64-63-62-51-50-49-48-154-153-152-151-69-68-67-66-49201-49197-49193-49189-49166-49156-156-60-47-150-65-49170-49160-22-19-16-13-49165-49155-10-7-255,0-11-10-13-15-13172-16-21,23-25-24-22,0-1-2",
            ja3_hash: "a64c29923906f2a1be278be1da0714fa",
            ja4: "t12d",
            alpns: &["h2", "http/1.1"],
            version: "TLS 1.2",
        },
    );
    // 80 ciphers (no GREASE), 8 extensions, ALPN h2.
    assert!(h.ja4().starts_with("t12d8008h2_"), "{}", h.ja4());
}

#[test]
fn sslv2_hello_has_no_ja3() {
    let bytes = unhex(SSLV2_UPGRADE);
    assert_eq!(probe(&bytes), Probe::Match);
    let Step::Hello(h, used) = next_step(&bytes) else {
        panic!("expected the SSLv2 hello");
    };
    assert_eq!(used, 105);
    assert!(h.sslv2_format);
    assert_eq!(h.legacy_version, 0x0301);
    assert_eq!((h.ja3_string(), h.ja3_hash()), (None, None));
    assert_eq!(h.sni, None);
    assert!(h.extensions.is_empty());
    assert!(h.ja4().starts_with("t10i"), "{}", h.ja4());
    assert!(h.ja4().ends_with("_000000000000"), "{}", h.ja4());
    let eve = h.eve();
    assert_eq!(eve["version"], "TLSv1");
    assert!(eve.get("ja3").is_none() && eve.get("sni").is_none());
    // Then a TLS ClientKeyExchange record (skipped) and ChangeCipherSpec (end, once the next
    // record shows it is not a second ClientHello).
    assert_eq!(next_step(&bytes[105..]), Step::Skip(139));
    assert_ccs_then_end(&bytes[244..]);
}

/// Re-frame one handshake message into TLS records with the given body sizes.
fn reframe(msg: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes {
        let len = u16::try_from(n).expect("small record");
        out.extend_from_slice(&[HANDSHAKE, 3, 1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&msg[at..at + n]);
        at += n;
    }
    assert_eq!(at, msg.len(), "sizes cover the message");
    out
}

#[test]
fn hello_split_over_records_and_every_prefix() {
    let single = unhex(JA4REPO_TLS12);
    let (whole, _, _) = hello_of(JA4REPO_TLS12);
    let msg = &single[5..];
    // 1-byte and 2-byte records split the handshake header itself; one record is empty.
    let mut stream = reframe(msg, &[1, 2, 0, 150, 359]);
    let hello_end = stream.len();
    stream.extend_from_slice(&[CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1]);
    for cut in 0..=stream.len() {
        let prefix = &stream[..cut];
        match next_step(prefix) {
            Step::NeedMore => assert!(cut < hello_end, "NeedMore at {cut}"),
            Step::Hello(h, used) => {
                assert!(cut >= hello_end, "early hello at {cut}");
                assert_eq!(used, hello_end);
                assert_eq!(h, whole);
            }
            other => panic!("prefix {cut}: {other:?}"),
        }
        let p = probe(prefix);
        assert_eq!(
            p,
            if cut < 6 {
                Probe::NeedMore
            } else {
                Probe::Match
            }
        );
    }
    assert_ccs_then_end(&stream[hello_end..]);
}

/// `rest` starts with a ChangeCipherSpec record: alone it waits for the next record; followed by
/// an encrypted record (application data, or a TLS 1.2 encrypted Finished) it ends the walk.
fn assert_ccs_then_end(rest: &[u8]) {
    assert_eq!(rest[0], CHANGE_CIPHER_SPEC);
    let ccs = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
    let ccs = &rest[..ccs];
    assert_eq!(next_step(ccs), Step::NeedMore);
    for next in [
        &[APPLICATION_DATA, 3, 3, 0, 40][..],
        &[HANDSHAKE, 3, 3, 0, 40, 0x14, 0x9a, 0x31, 0xe0][..],
        &[HANDSHAKE, 3, 3, 0, 40, 1, 0x9a, 0x31, 0xe0][..],
    ] {
        let mut stream = ccs.to_vec();
        stream.extend_from_slice(next);
        stream.resize(stream.len() + 40, 0xab);
        assert_eq!(next_step(&stream), Step::End, "after {next:?}");
    }
}

#[test]
fn a_second_client_hello_after_change_cipher_spec_is_read_with_every_name() {
    // TLS 1.3 middlebox compatibility: after a HelloRetryRequest the client sends a dummy
    // ChangeCipherSpec, then its second ClientHello, which here names other servers: two
    // host_name entries in one server_name list, and a repeated server_name extension.
    let (first, used, bytes) = hello_of(JA4REPO_TLS12);
    let names = |list: &[&str]| {
        let mut entries = Vec::new();
        for n in list {
            entries.push(0u8);
            entries.extend_from_slice(&(n.len() as u16).to_be_bytes());
            entries.extend_from_slice(n.as_bytes());
        }
        let mut ext = vec![0u8, 0];
        ext.extend_from_slice(&((entries.len() + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(entries.len() as u16).to_be_bytes());
        ext.extend_from_slice(&entries);
        ext
    };
    let mut extensions = names(&["registry.npmjs.org", "pkg-validate.net"]);
    extensions.extend(names(&["npm-health-check.io"]));
    let mut body = vec![3u8, 3];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    body.extend_from_slice(&extensions);
    let mut msg = vec![CLIENT_HELLO, 0];
    msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
    msg.extend_from_slice(&body);
    let mut stream = bytes[..used].to_vec();
    stream.extend_from_slice(&[CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1]);
    stream.extend_from_slice(&[HANDSHAKE, 3, 3]);
    stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    stream.extend_from_slice(&msg);
    let Step::Hello(again, n) = next_step(&stream) else {
        panic!("no first hello")
    };
    assert_eq!((again, n), (first, used));
    assert_eq!(next_step(&stream[used..]), Step::Skip(6));
    let Step::Hello(second, n) = next_step(&stream[used + 6..]) else {
        panic!("no second hello")
    };
    assert_eq!(used + 6 + n, stream.len());
    assert_eq!(second.sni.as_deref(), Some("registry.npmjs.org"));
    assert_eq!(
        second.other_names,
        ["pkg-validate.net", "npm-health-check.io"]
    );
}

#[test]
fn single_record_every_prefix_needs_more() {
    let bytes = unhex(BUG_5713_02);
    for cut in 0..bytes.len() {
        assert_eq!(next_step(&bytes[..cut]), Step::NeedMore, "prefix {cut}");
    }
    let sslv2 = unhex(SSLV2_UPGRADE);
    for cut in 0..105 {
        assert_eq!(
            next_step(&sslv2[..cut]),
            Step::NeedMore,
            "sslv2 prefix {cut}"
        );
        let expect = if cut < 5 {
            Probe::NeedMore
        } else {
            Probe::Match
        };
        assert_eq!(probe(&sslv2[..cut]), expect, "sslv2 probe {cut}");
    }
}

#[test]
fn oversized_and_odd_records() {
    // A ClientHello claiming 70,000 bytes is refused as soon as its header is seen.
    let big = [HANDSHAKE, 3, 1, 0, 4, CLIENT_HELLO, 0x01, 0x11, 0x70];
    assert!(matches!(next_step(&big), Step::Invalid(_)));
    // A record body over 2^14 + 2048.
    assert!(matches!(
        next_step(&[HANDSHAKE, 3, 1, 0xff, 0xff, 1]),
        Step::Invalid(_)
    ));
    // Empty handshake records are consumed, never looped on.
    assert_eq!(next_step(&[HANDSHAKE, 3, 1, 0, 0]), Step::Skip(5));
    // A complete non-ClientHello handshake record is skipped whole; a partial one waits.
    assert_eq!(next_step(&[HANDSHAKE, 3, 3, 0, 2, 16, 0]), Step::Skip(7));
    assert_eq!(next_step(&[HANDSHAKE, 3, 3, 0, 2, 16]), Step::NeedMore);
    // Alert / ApplicationData end inspection.
    assert_eq!(next_step(&[ALERT, 3, 3, 0, 2, 2, 40]), Step::End);
    assert_eq!(next_step(&[APPLICATION_DATA]), Step::End);
    // A hello interrupted by an application-data record.
    let mut s = reframe(&unhex(BUG_5713_02)[5..], &[50, 49]);
    s.splice(55..55, [APPLICATION_DATA, 3, 3, 0, 0]);
    assert!(matches!(next_step(&s), Step::Invalid(_)));
}

#[test]
fn non_tls_streams() {
    let http = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(probe(http), Probe::NoMatch);
    assert!(matches!(next_step(http), Step::Invalid(_)));
    assert_eq!(probe(&[]), Probe::NeedMore);
    assert_eq!(probe(&[HANDSHAKE, 2]), Probe::NoMatch);
    assert_eq!(probe(&[HANDSHAKE, 3, 1, 0, 5, 2]), Probe::NoMatch);
    assert_eq!(probe(&[0x80, 0x20, 4]), Probe::NoMatch);
    assert_eq!(next_step(&[]), Step::NeedMore);
}

#[test]
fn message_parser_errors() {
    assert_eq!(parse_client_hello_message(&[]), Err(TlsError::Truncated));
    assert_eq!(
        parse_client_hello_message(&[2, 0, 0, 0]),
        Err(TlsError::NotClientHello)
    );
    assert_eq!(
        parse_client_hello_message(&[1, 0, 0, 9, 3, 3]),
        Err(TlsError::Truncated)
    );
    assert!(matches!(
        parse_client_hello_message(&[1, 0, 0, 2, 3, 3]),
        Err(TlsError::Malformed(_))
    ));
    // The same message QUIC would hand over: the handshake message without a record header.
    let bytes = unhex(JA4REPO_TLS12);
    let h = parse_client_hello_message(&bytes[5..]).expect("real hello parses");
    assert_eq!(h.ja4(), "t13d1715h2_5b57614c22b0_3d5424432f57");
}

/// A random input: random bytes with a TLS-ish start, or a mutated real hello.
fn fuzz_input(rng: &mut XorShift, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(4) == 0 {
        let len = rng.below(600);
        let mut v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Some(b) = v.first_mut() {
            *b = [HANDSHAKE, 0x80, 0x81, APPLICATION_DATA, *b][rng.below(5)];
        }
        return v;
    }
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        if v.is_empty() {
            break;
        }
        let at = rng.below(v.len());
        match rng.below(4) {
            0 => v[at] = rng.next() as u8,
            1 => v[at] ^= 1 << rng.below(8),
            2 => v.truncate(at),
            _ => {
                let _ = v.remove(at);
            }
        }
    }
    v
}

/// Drive `next_step` over a whole stream the way the engine does; it must terminate.
fn walk(stream: &[u8]) {
    let mut pos = 0;
    for _ in 0..=stream.len() {
        match next_step(&stream[pos..]) {
            Step::Skip(n) | Step::Hello(_, n) => {
                assert!(n > 0 && pos + n <= stream.len());
                pos += n;
            }
            Step::NeedMore | Step::End | Step::Invalid(_) => return,
        }
    }
    panic!("next_step did not make progress");
}

#[test]
fn fuzz_never_panics() {
    let seeds: Vec<Vec<u8>> = [
        JA4_TLS,
        JA4REPO_TLS12,
        JA4REPO_NON_ASCII_ALPN,
        TLS13_DRAFT28_B,
        BUG_5713_02,
        SSLV2_UPGRADE,
    ]
    .iter()
    .map(|s| unhex(s))
    .chain([reframe(&unhex(BUG_5713_02)[5..], &[3, 0, 40, 56])])
    .collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let input = fuzz_input(&mut rng, &seeds);
        let _ = probe(&input);
        walk(&input);
        let _ = parse_client_hello_message(&input);
        if let Some(msg) = input.get(5..) {
            if let Ok(h) = parse_client_hello_message(msg) {
                let _ = (h.ja4_for('q'), h.ja4_for('d'));
                // The direct writer gives the value tree's text byte for byte, and the
                // remembered fingerprints are the ones computed afresh.
                assert_eq!(h.eve_json().get(), h.eve().to_string());
                assert_eq!(h.ja4(), h.ja4_for(h.transport));
            }
        }
    }
}

#[test]
fn the_direct_tls_object_is_the_value_tree_exactly() {
    for vector in [
        JA4_TLS,
        JA4REPO_TLS12,
        JA4REPO_NON_ASCII_ALPN,
        TLS13_DRAFT28_A,
        TLS13_DRAFT28_B,
        BUG_5713_02,
        SSLV2_UPGRADE,
        HELLO_FRAG_01,
    ] {
        let (h, _, _) = hello_of(vector);
        // Key order included: the same text.
        assert_eq!(h.eve_json().get(), h.eve().to_string());
    }
}

/// The fingerprints computed from scratch, bypassing the per-thread memo.
fn fresh(h: &ClientHello) -> (Option<String>, String) {
    let ja3 = (!h.sslv2_format).then(|| fingerprint::ja3_string(h));
    (
        ja3.as_deref().map(fingerprint::md5_hex),
        h.ja4_for(h.transport),
    )
}

#[test]
fn remembered_fingerprints_are_the_computed_ones() {
    let vectors = [
        JA4_TLS,
        JA4REPO_TLS12,
        JA4REPO_NON_ASCII_ALPN,
        TLS13_DRAFT28_A,
        TLS13_DRAFT28_B,
        BUG_5713_02,
        SSLV2_UPGRADE,
        HELLO_FRAG_01,
    ];
    for vector in vectors {
        let (first, _, _) = hello_of(vector);
        let (second, _, _) = hello_of(vector);
        let expected = fresh(&first);
        assert_eq!(
            (first.ja3_hash().map(str::to_owned), first.ja4().to_owned()),
            expected
        );
        // The same inputs again: the very same fingerprints, not computed twice.
        assert_eq!(second.ja4(), expected.1);
        assert!(std::ptr::eq(first.fingerprints(), second.fingerprints()));
        // One input changed (a cipher, the transport): its own fingerprints.
        let (mut more, _, _) = hello_of(vector);
        more.cipher_suites.push(0x1337);
        let (hash, ja4) = fresh(&more);
        assert_eq!(
            (more.ja3_hash().map(str::to_owned), more.ja4().to_owned()),
            (hash, ja4)
        );
        assert_ne!(more.ja4(), first.ja4());
        let (mut quic, _, _) = hello_of(vector);
        quic.set_quic();
        assert!(quic.ja4().starts_with('q') && quic.ja4()[1..] == first.ja4()[1..]);
    }
    // More distinct hellos than the memo holds: every one still gets its own values.
    for n in 0..40u16 {
        let (mut h, _, _) = hello_of(JA4_TLS);
        h.extensions.push(0x7000 + n);
        let (_, ja4) = fresh(&h);
        assert_eq!(h.ja4(), ja4);
    }
}

#[test]
fn a_server_name_with_junk_is_logged_whole_in_suricatas_text_and_flagged() {
    for (raw, text) in [
        (&b"pkg-validate.net\0"[..], "pkg-validate.net\0"),
        (b"pkg-validate.net\x07junk", "pkg-validate.net\u{7}junk"),
        (b"pkg-validate.net\xff\xfe", "pkg-validate.net\\xff\\xfe"),
        (b"pkg-validate.net.\0", "pkg-validate.net.\0"),
    ] {
        let h = parse_client_hello_message(&hello_naming(&[raw])).expect("a hello");
        assert_eq!(h.sni.as_deref(), Some(text));
        assert!(h.sni_invalid(), "{text:?}");
        let eve = h.eve();
        assert_eq!(eve["sni"], text);
        assert_eq!(eve["sni_invalid"], true);
        assert_eq!(h.eve_json().get(), eve.to_string());
        if raw.contains(&0) {
            assert!(
                h.eve_json().get().contains(r#"\u0000""#),
                "{}",
                h.eve_json().get()
            );
        }
    }
    let h = parse_client_hello_message(&hello_naming(&[b"registry.npmjs.org", b"a\0b"])).unwrap();
    assert!(!h.sni_invalid());
    assert_eq!(h.other_names, ["a\0b"]);
    let eve = h.eve_json();
    assert!(!eve.get().contains("sni_invalid"), "{}", eve.get());
}
