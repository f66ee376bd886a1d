//! RFC 7541 Appendix C vectors through the frame walker, hand-built frames for every flag and
//! framing rule, cuts and random input.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.extend([kind, flags]);
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

fn headers(block: &[u8], stream: u32) -> Vec<u8> {
    frame(kind::HEADERS, flag::END_HEADERS, stream, block)
}

/// Runs `d` over `bytes` to the end; the header blocks it reports.
fn walk(d: &mut Decoder, bytes: &[u8]) -> Vec<Headers> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        match d.step(&bytes[at..]) {
            Step::Skip(n) => at += n,
            Step::Headers(h, n) => {
                out.push(h);
                at += n;
            }
            other => panic!("at {at}: {other:?}"),
        }
    }
    out
}

/// C.3 (no Huffman) and C.4 (Huffman): three requests on one connection, the dynamic table
/// carried from each block to the next.
#[test]
fn rfc7541_appendix_c3_and_c4_requests_share_the_dynamic_table() {
    for blocks in [
        [
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ],
        [
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ],
    ] {
        let mut stream = PREFACE.to_vec();
        stream.extend(frame(kind::SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]));
        for (i, b) in blocks.iter().enumerate() {
            stream.extend(headers(&hex(b), 1 + 2 * i as u32));
        }
        let got = walk(&mut Decoder::client(), &stream);
        assert_eq!(got.len(), 3);
        for (i, h) in got.iter().enumerate() {
            assert_eq!(h.stream_id, 1 + 2 * i as u32);
            assert_eq!(h.method.as_deref(), Some("GET"));
            // The third request's :authority comes from the dynamic table (index 62 then).
            assert_eq!(h.authority.as_deref(), Some("www.example.com"));
            assert_eq!(h.hostname().as_deref(), Some("www.example.com"));
        }
        assert_eq!(got[0].path.as_deref(), Some("/"));
        assert_eq!(got[2].scheme.as_deref(), Some("https"));
        assert_eq!(got[2].path.as_deref(), Some("/index.html"));
    }
}

/// C.5.1: a response, `:status 302`, on the server's decoder.
#[test]
fn rfc7541_appendix_c5_response_status() {
    let block = hex(
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d",
    );
    let got = walk(&mut Decoder::server(), &headers(&block, 1));
    assert_eq!(got[0].status, Some(302));
    assert!(!got[0].is_request());
}

/// A request as Node sends one: literal fields with indexed names, a user-agent.
fn node_block(authority: &str, ua: &str) -> Vec<u8> {
    let mut b = vec![0x83, 0x86]; // :method POST, :scheme http
    for (index, value) in [(1u8, authority), (4, "/beacon"), (58, ua)] {
        // Literal with incremental indexing, indexed name (6-bit prefix; all < 63).
        b.push(0x40 | index);
        b.push(value.len() as u8);
        b.extend(value.as_bytes());
    }
    b
}

#[test]
fn padded_priority_and_continuation_frames() {
    let block = node_block("npm-health-check.io:8080", "node");
    // PADDED + PRIORITY: pad length 3, 5 priority bytes, the first half of the block; then
    // CONTINUATION with the rest and END_HEADERS.
    let (a, b) = block.split_at(7);
    let mut p = vec![3];
    p.extend([0x80, 0, 0, 0, 15]);
    p.extend(a);
    p.extend([0, 0, 0]);
    let mut s = frame(kind::HEADERS, flag::PADDED | flag::PRIORITY, 3, &p);
    s.extend(frame(kind::CONTINUATION, flag::END_HEADERS, 3, b));
    let got = walk(&mut Decoder::server(), &s);
    assert_eq!(got.len(), 1);
    let h = &got[0];
    assert_eq!(h.stream_id, 3);
    assert_eq!(h.method.as_deref(), Some("POST"));
    assert_eq!(h.hostname().as_deref(), Some("npm-health-check.io"));
    assert_eq!(h.port(), Some(8080));
    assert_eq!(h.path.as_deref(), Some("/beacon"));
    assert_eq!(h.user_agent.as_deref(), Some("node"));
    let eve = h.eve(Some(200));
    assert_eq!(eve["protocol"], "HTTP/2");
    assert_eq!(eve["http2"]["stream_id"], 3);
    assert_eq!(eve["http_port"], 8080);
}

#[test]
fn host_field_and_ipv6_authority() {
    let h = Headers {
        host: Some("Pkg-Validate.NET".into()),
        ..Headers::default()
    };
    assert_eq!(h.hostname().as_deref(), Some("pkg-validate.net"));
    let h = Headers {
        authority: Some("[2001:db8::23]:443".into()),
        ..Headers::default()
    };
    assert_eq!(h.hostname().as_deref(), Some("2001:db8::23"));
    assert_eq!(h.port(), Some(443));
}

#[test]
fn other_frames_are_skipped_unbuffered_even_when_cut() {
    let mut d = Decoder::server();
    // DATA of 16384 bytes with only its header here: skip it all.
    let data = frame(0x0, 0, 1, &[0; 16384]);
    assert_eq!(d.step(&data[..9]), Step::Skip(9 + 16384));
    // WINDOW_UPDATE, PING, GOAWAY, RST_STREAM, PRIORITY, unknown type 0x42.
    for k in [0x8, 0x6, 0x7, 0x3, 0x2, 0x42] {
        assert_eq!(d.step(&frame(k, 0, 0, &[0; 8])), Step::Skip(17));
    }
}

#[test]
fn framing_errors_are_invalid() {
    let block = node_block("a", "b");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            frame(kind::CONTINUATION, flag::END_HEADERS, 1, &block),
            "lone CONTINUATION",
        ),
        (
            [
                frame(kind::HEADERS, 0, 1, &block),
                frame(kind::SETTINGS, 0, 0, &[]),
            ]
            .concat(),
            "interrupted block",
        ),
        (
            [
                frame(kind::HEADERS, 0, 1, &block),
                frame(kind::CONTINUATION, flag::END_HEADERS, 3, &block),
            ]
            .concat(),
            "CONTINUATION on another stream",
        ),
        (
            frame(kind::SETTINGS, 0, 0, &[0; 5]),
            "SETTINGS not a multiple of 6",
        ),
        (frame(kind::SETTINGS, 0, 1, &[]), "SETTINGS on a stream"),
        (headers(&block, 0), "HEADERS on stream 0"),
        (
            frame(
                kind::HEADERS,
                flag::PADDED | flag::END_HEADERS,
                1,
                &[200, 1, 2],
            ),
            "pad too long",
        ),
        (
            frame(
                kind::HEADERS,
                flag::PRIORITY | flag::END_HEADERS,
                1,
                &[1, 2],
            ),
            "short priority",
        ),
        (
            headers(&[0xff, 0xff, 0xff, 0xff, 0x0f], 1),
            "HPACK index out of range",
        ),
        (
            headers(&[0x3f, 0xff, 0xff, 0x03], 1),
            "table size update over the limit",
        ),
    ];
    for (bytes, what) in cases {
        let mut d = Decoder::server();
        let mut at = 0;
        let r = loop {
            match d.step(&bytes[at..]) {
                Step::Skip(n) => at += n,
                other => break other,
            }
        };
        assert!(matches!(r, Step::Invalid(_)), "{what}: {r:?}");
    }
    assert!(matches!(
        Decoder::client().step(b"GET / HTTP/1.1\r\n\r\n\r\n\r\n\r\n"),
        Step::Invalid(_)
    ));
    // A header block over the cap.
    let big = frame(kind::HEADERS, 0, 1, &vec![0x82; MAX_HEADER_BLOCK + 1]);
    assert!(matches!(Decoder::server().step(&big), Step::Invalid(_)));
    let half = frame(kind::HEADERS, 0, 1, &vec![0x82; MAX_HEADER_BLOCK / 2 + 1]);
    let cont = frame(
        kind::CONTINUATION,
        0,
        1,
        &vec![0x82; MAX_HEADER_BLOCK / 2 + 1],
    );
    let mut d = Decoder::server();
    assert!(matches!(d.step(&half), Step::Skip(_)));
    assert!(matches!(d.step(&cont), Step::Invalid(_)));
}

#[test]
fn probe_and_every_cut_needs_more() {
    assert_eq!(probe(PREFACE), Probe::Match);
    assert_eq!(probe(&PREFACE[..10]), Probe::NeedMore);
    assert_eq!(probe(b"PRI * HTTP/1.1"), Probe::NoMatch);
    assert_eq!(probe(b"GET "), Probe::NoMatch);
    let mut s = PREFACE.to_vec();
    s.extend(headers(&node_block("x.example", "node"), 1));
    for cut in 0..s.len() {
        let mut d = Decoder::client();
        let r = d.step(&s[..cut]);
        if cut < PREFACE.len() {
            assert_eq!(r, Step::NeedMore, "cut {cut}");
        } else {
            assert_eq!(r, Step::Skip(PREFACE.len()), "cut {cut}");
            assert_eq!(d.step(&s[PREFACE.len()..cut]), Step::NeedMore, "cut {cut}");
        }
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = crate::testutil::XorShift(0x2545_f491_4f6c_dd1d);
    let mut buf = [0u8; 96];
    for round in 0..20_000 {
        for b in buf.iter_mut() {
            *b = rng.next() as u8;
        }
        // Mostly HEADERS/CONTINUATION frames of a plausible length.
        buf[0] = 0;
        buf[1] = 0;
        buf[2] = rng.below(90) as u8;
        buf[3] = [kind::HEADERS, kind::CONTINUATION, kind::PUSH_PROMISE, 0][round % 4];
        let mut d = Decoder::server();
        let mut at = 0;
        for _ in 0..8 {
            match d.step(&buf[at..]) {
                Step::Skip(n) | Step::Headers(_, n) if at + n < buf.len() => at += n,
                _ => break,
            }
        }
    }
}

#[test]
fn eve_object_is_valid_for_suricatas_schema() {
    let Some(schema) = crate::testutil::eve_schema() else {
        return;
    };
    let http = schema.pointer("/properties/http").expect("properties.http");
    let validator = jsonschema::validator_for(http).expect("schema compiles");
    let full = Headers {
        stream_id: 1,
        method: Some("GET".into()),
        scheme: Some("http".into()),
        authority: Some("pkg-validate.net:8080".into()),
        path: Some("/x".into()),
        user_agent: Some("node".into()),
        ..Headers::default()
    };
    for eve in [
        full.eve(Some(200)),
        full.eve(None),
        Headers::default().eve(None),
    ] {
        assert!(validator.is_valid(&eve), "not valid for the schema: {eve}");
    }
}
