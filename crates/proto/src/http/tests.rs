//! Tests: facts of real captures (see `captures.rs`), Node.js-style requests, framing rules,
//! host/port derivation, byte-by-byte splits, and a no-panic robustness loop.

use super::captures::*;
use super::*;
use crate::testutil::XorShift;
use serde_json::{json, Value};

/// The request at the start of `s` and the bytes it takes (framed or not).
fn request_of(s: &[u8]) -> (Request, usize) {
    match next_request(s) {
        RequestStep::Request(r, n) | RequestStep::BodyUnknown(r, n) => (r, n),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Expected facts of one request, as in `expected/<name>.json` (`facts.http[]`).
struct Facts<'a> {
    method: &'a str,
    url: &'a str,
    protocol: &'a str,
    host_header: Option<&'a str>,
    hostname: Option<&'a str>,
    port: Option<u16>,
    user_agent: Option<&'a str>,
}

fn assert_facts(r: &Request, f: &Facts<'_>) {
    assert_eq!(r.method, f.method);
    assert_eq!(r.uri, f.url);
    assert_eq!(r.protocol, f.protocol);
    assert_eq!(r.host_header.as_deref(), f.host_header);
    assert_eq!(r.hostname(), f.hostname);
    assert_eq!(r.port(), f.port);
    assert_eq!(r.user_agent.as_deref(), f.user_agent);
}

/// Suricata's schema for the EVE `http` object (`properties.http` of eve-schema.json), when
/// the shared corpus is present.
fn http_schema() -> Option<Value> {
    let schema = crate::testutil::eve_schema()?;
    Some(
        schema
            .pointer("/properties/http")
            .expect("properties.http")
            .clone(),
    )
}

/// Checks `eve` against the schema (when the corpus is present) and returns it.
fn schema_checked(eve: Value) -> Value {
    if let Some(schema) = http_schema() {
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        assert!(validator.is_valid(&eve), "not valid for the schema: {eve}");
    }
    eve
}

/// Length of the head at the start of `s` (through the first empty line).
fn head_len(s: &[u8]) -> usize {
    let crlf = s.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = s.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    crlf.into_iter().chain(lf).min().expect("a complete head")
}

// ---- probe ----

#[test]
fn probe_known_methods_and_prefixes() {
    for m in PROBE_METHODS {
        let line = format!("{m} / HTTP/1.1\r\n");
        assert_eq!(probe_request(line.as_bytes()), Probe::Match, "{m}");
        for k in 0..=m.len() {
            assert_eq!(
                probe_request(&line.as_bytes()[..k]),
                Probe::NeedMore,
                "{m} {k}"
            );
        }
    }
    assert_eq!(probe_request(b"\r\n\nGET /"), Probe::Match);
    assert_eq!(probe_request(b"\r\n"), Probe::NeedMore);
    // Any case, as libhtp parses `gET` (Suricata's `nocase` method rules fire on it).
    assert_eq!(probe_request(b"get / HTTP/1.1"), Probe::Match);
    assert_eq!(probe_request(b"pOsT /x HTTP/1.1"), Probe::Match);
    assert_eq!(probe_request(b"ge"), Probe::NeedMore);
    assert_eq!(probe_request(b"\x16\x03\x01\x00"), Probe::NoMatch);
    assert_eq!(probe_request(b"P"), Probe::NeedMore);
    assert_eq!(probe_request(b"PA"), Probe::NeedMore);
}

#[test]
fn probe_any_token_method_by_the_request_line_shape() {
    for line in [
        "PROPFIND /dav/ HTTP/1.1\r\n",
        "MKCOL /dav/new/ HTTP/1.1\r\n",
        "SUBSCRIBE /upnp/event/cm HTTP/1.1\r\n",
        "NOTIFY /cb HTTP/1.1\r\n",
        "M-SEARCH * HTTP/1.1\r\n",
        "GETX / HTTP/1.1\r\n",
        "VERSION-CONTROL /x http/1.0\r\n",
    ] {
        let b = line.as_bytes();
        assert_eq!(probe_request(b), Probe::Match, "{line}");
        // Every prefix short of `HTTP/1.` is still undecided.
        let decided = line
            .find("HTTP/1.")
            .or_else(|| line.find("http/1."))
            .unwrap()
            + 7;
        for k in 0..decided {
            assert_eq!(probe_request(&b[..k]), Probe::NeedMore, "{line:?} {k}");
        }
    }
    for not_http in [
        &b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"[..],
        b"EHLO mail.example.com\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"*3\r\n$3\r\nSET\r\n",
        b"PROPFIND  / HTTP/1.1\r\n",
        b"PROP(FIND / HTTP/1.1\r\n",
        b"PROPFIND /a\x01b HTTP/1.1\r\n",
        b"PROPFIND / FTP/1.1\r\n",
    ] {
        assert_eq!(probe_request(not_http), Probe::NoMatch, "{not_http:?}");
    }
    // A token longer than any method, a target past the line limit: given up.
    assert_eq!(probe_request(&[b'A'; MAX_METHOD_LEN + 1]), Probe::NoMatch);
    let mut long = b"PROPFIND /".to_vec();
    long.resize(MAX_PROBE_LINE, b'a');
    assert_eq!(probe_request(&long), Probe::NoMatch);
    assert_eq!(probe_request(&long[..MAX_PROBE_LINE - 1]), Probe::NeedMore);
}

// ---- real captures ----

#[test]
fn bug_814_nikto_over_vlan_ipv6() {
    let (r, n) = request_of(BUG_814_REQ);
    assert_eq!(n, BUG_814_REQ.len());
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/cgi-bin/cart32.exe",
            protocol: "HTTP/1.1",
            host_header: Some("www.net1.bg"),
            hostname: Some("www.net1.bg"),
            port: None,
            user_agent: Some("Mozilla/4.75 (Nikto/2.1.4) (Evasions:None) (Test:000003)"),
        },
    );
    assert!(!r.host_is_ip_literal());
    assert_eq!(
        schema_checked(r.eve_with_length(None, Some(0))),
        json!({
            "hostname": "www.net1.bg",
            "url": "/cgi-bin/cart32.exe",
            "http_user_agent": "Mozilla/4.75 (Nikto/2.1.4) (Evasions:None) (Test:000003)",
            "http_method": "GET",
            "protocol": "HTTP/1.1",
            "length": 0
        })
    );
}

#[test]
fn decode_sll2_01_curl_to_ipv4_host() {
    let (r, n) = request_of(DECODE_SLL2_01_REQ);
    assert_eq!(n, DECODE_SLL2_01_REQ.len());
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/testing",
            protocol: "HTTP/1.1",
            host_header: Some("192.168.1.21"),
            hostname: Some("192.168.1.21"),
            port: None,
            user_agent: Some("curl/8.5.0"),
        },
    );
    assert!(r.host_is_ip_literal());
    assert_eq!(r.connect_target(), None);
}

#[test]
fn detect_pcre_02_bare_lf_and_content_length_body() {
    let (r, n) = request_of(DETECT_PCRE_02_REQ);
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/",
            protocol: "HTTP/1.1",
            host_header: Some("www.emergingthreats.net"),
            hostname: Some("www.emergingthreats.net"),
            port: None,
            user_agent: Some(
                "Mozilla/5.0 (X11; U; Linux i686; es-ES; rv:1.9.0.13) Gecko/2009080315 \
                 Ubuntu/8.10 (intrepid) Firefox/3.0.13",
            ),
        },
    );
    assert_eq!(r.content_length, Some(21));
    assert_eq!(n, head_len(DETECT_PCRE_02_REQ) + 21);
    // What follows the 21-byte body in this capture is not a request.
    assert!(matches!(
        next_request(&DETECT_PCRE_02_REQ[n..]),
        RequestStep::Invalid(_)
    ));
}

#[test]
fn security_4710_01_request_and_200() {
    let (r, n) = request_of(SECURITY_4710_01_REQ);
    assert_eq!(n, SECURITY_4710_01_REQ.len());
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/ultrasurf.html",
            protocol: "HTTP/1.1",
            host_header: Some("192.168.112.136"),
            hostname: Some("192.168.112.136"),
            port: None,
            user_agent: Some("Python-urllib/3.6"),
        },
    );
    let resp = next_response(SECURITY_4710_01_RESP, &r.method);
    assert_eq!(
        resp,
        ResponseStep::Response {
            status: 200,
            consumed: SECURITY_4710_01_RESP.len()
        }
    );
    assert_eq!(schema_checked(r.eve(Some(200)))["status"], 200);
}

#[test]
fn http_ipv6_literal_host_keeps_brackets() {
    let (r, n) = request_of(HTTP_IPV6_REQ);
    assert_eq!(n, HTTP_IPV6_REQ.len());
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/",
            protocol: "HTTP/1.1",
            host_header: Some("[::1]:8000"),
            hostname: Some("[::1]"),
            port: Some(8000),
            user_agent: Some("curl/7.54.0"),
        },
    );
    assert!(r.host_is_ip_literal());
    let resp = next_response(HTTP_IPV6_RESP, "GET");
    assert_eq!(
        resp,
        ResponseStep::Response {
            status: 200,
            consumed: HTTP_IPV6_RESP.len()
        }
    );
    assert_eq!(
        schema_checked(r.eve(Some(200))),
        json!({
            "hostname": "[::1]",
            "http_port": 8000,
            "url": "/",
            "http_user_agent": "curl/7.54.0",
            "http_method": "GET",
            "protocol": "HTTP/1.1",
            "status": 200
        })
    );
}

#[test]
fn datasets_04_no_user_agent() {
    let (r, n) = request_of(DATASETS_04_REQ);
    assert_eq!(n, DATASETS_04_REQ.len());
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/",
            protocol: "HTTP/1.1",
            host_header: Some("example.com"),
            hostname: Some("example.com"),
            port: None,
            user_agent: None,
        },
    );
    let eve = schema_checked(r.eve(None));
    assert!(eve.get("http_user_agent").is_none());
    assert!(eve.get("http_port").is_none());
    assert!(eve.get("status").is_none());
}

#[test]
fn empty_user_agent_http10_without_host() {
    let (r, n) = request_of(EMPTY_UA_REQ);
    assert_eq!(n, EMPTY_UA_REQ.len());
    assert_facts(
        &r,
        &Facts {
            method: "GET",
            url: "/",
            protocol: "HTTP/1.0",
            host_header: None,
            hostname: None,
            port: None,
            user_agent: Some(""),
        },
    );
    assert!(!r.host_is_ip_literal());
    let resp = next_response(EMPTY_UA_RESP, "GET");
    assert_eq!(
        resp,
        ResponseStep::Response {
            status: 200,
            consumed: EMPTY_UA_RESP.len()
        }
    );
    assert_eq!(
        schema_checked(r.eve(Some(200))),
        json!({"url": "/", "http_user_agent": "", "http_method": "GET",
               "protocol": "HTTP/1.0", "status": 200})
    );
}

/// CONNECT abc:443, its 200, then a plain GET (and its 200) inside the tunnel.
#[test]
fn http_connect_simple_and_tunnelled_get() {
    let (connect, n) = request_of(CONNECT_SIMPLE_CLIENT);
    assert_eq!(n, 52);
    assert_facts(
        &connect,
        &Facts {
            method: "CONNECT",
            url: "abc:443",
            protocol: "HTTP/1.1",
            host_header: None,
            // Suricata takes the CONNECT authority (tshark's facts only look at Host).
            hostname: Some("abc"),
            port: Some(443),
            user_agent: Some("Victor/1.0"),
        },
    );
    assert_eq!(connect.connect_target(), Some(("abc".to_string(), 443)));
    let server = CONNECT_SIMPLE_SERVER;
    let ResponseStep::Response { status, consumed } = next_response(server, "CONNECT") else {
        panic!("CONNECT response");
    };
    assert_eq!((status, consumed), (200, 45));

    let tunnel = &CONNECT_SIMPLE_CLIENT[n..];
    assert_eq!(tunnel[0], b'\n');
    assert_eq!(probe_request(tunnel), Probe::Match);
    let (get, m) = request_of(tunnel);
    assert_eq!(&tunnel[m..], b"\n");
    assert_eq!(next_request(&tunnel[m..]), RequestStep::NeedMore);
    assert_facts(
        &get,
        &Facts {
            method: "GET",
            url: "/",
            protocol: "HTTP/1.1",
            host_header: None,
            hostname: None,
            port: None,
            user_agent: Some("Victor/1.0"),
        },
    );
    // The tunnelled 200 has no Content-Length: its body runs to connection close.
    assert_eq!(
        next_response(&server[consumed..], &get.method),
        ResponseStep::BodyUnknown { status: 200 }
    );
    assert_eq!(
        schema_checked(connect.eve(Some(200))),
        json!({"hostname": "abc", "http_port": 443, "url": "abc:443",
               "http_user_agent": "Victor/1.0", "http_method": "CONNECT",
               "protocol": "HTTP/1.1", "status": 200})
    );
    schema_checked(get.eve(Some(200)));
}

/// The tunnelled request line arrives as 'GE' then 'T / HTTP/1.1 ...' (segments 52, 2, 40).
#[test]
fn http_connect_fragmented_segments() {
    let c = CONNECT_FRAGMENTED_CLIENT;
    assert_eq!(c.len(), 52 + 2 + 40);
    let (connect, n) = request_of(&c[..52]);
    assert_eq!(
        (connect.method.as_str(), connect.uri.as_str(), n),
        ("CONNECT", "abc:443", 52)
    );
    assert_eq!(connect.user_agent.as_deref(), Some("Victor/1.0"));
    assert_eq!(
        next_response(CONNECT_FRAGMENTED_SERVER, "CONNECT"),
        ResponseStep::Response {
            status: 200,
            consumed: 45
        }
    );
    let tunnel = &c[52..];
    assert_eq!(&tunnel[..2], b"GE");
    assert_eq!(probe_request(&tunnel[..2]), Probe::NeedMore);
    assert_eq!(next_request(&tunnel[..2]), RequestStep::NeedMore);
    assert_eq!(probe_request(tunnel), Probe::Match);
    let (get, m) = request_of(tunnel);
    assert_eq!((get.method.as_str(), get.uri.as_str(), m), ("GET", "/", 42));
    assert_eq!(get.protocol, "HTTP/1.1");
    assert_eq!(get.user_agent.as_deref(), Some("Victor/1.0"));
    assert_eq!(
        next_response(&CONNECT_FRAGMENTED_SERVER[45..], "GET"),
        ResponseStep::BodyUnknown { status: 200 }
    );
}

#[test]
fn bug_2430_connect_with_host_header_then_tls() {
    let (r, n) = request_of(BUG_2430_CLIENT);
    assert_eq!(n, 95);
    assert_facts(
        &r,
        &Facts {
            method: "CONNECT",
            url: "qagpublic.qg1.apps.qualys.com:443",
            protocol: "HTTP/1.1",
            host_header: Some("qagpublic.qg1.apps.qualys.com:443"),
            hostname: Some("qagpublic.qg1.apps.qualys.com"),
            port: Some(443),
            user_agent: None,
        },
    );
    assert_eq!(
        r.connect_target(),
        Some(("qagpublic.qg1.apps.qualys.com".to_string(), 443))
    );
    assert_eq!(
        next_response(BUG_2430_SERVER, "CONNECT"),
        ResponseStep::Response {
            status: 200,
            consumed: 39
        }
    );
    assert_eq!(BUG_2430_CLIENT[n], 0x16, "TLS record follows the head");
    assert_eq!(probe_request(&BUG_2430_CLIENT[n..]), Probe::NoMatch);
    schema_checked(r.eve(Some(200)));
}

#[test]
fn https_connect_http10_proxy_reply_without_length() {
    let (r, n) = request_of(HTTPS_CONNECT_CLIENT);
    assert_eq!(n, 84);
    assert_facts(
        &r,
        &Facts {
            method: "CONNECT",
            url: "ts01-b.cloudsink.net:443",
            protocol: "HTTP/1.0",
            host_header: None,
            hostname: Some("ts01-b.cloudsink.net"),
            port: Some(443),
            user_agent: Some("CrowdStrike Falcon Sensor"),
        },
    );
    // No Content-Length, but a 2xx to CONNECT ends at the head: TLS follows.
    assert_eq!(
        next_response(HTTPS_CONNECT_SERVER, "CONNECT"),
        ResponseStep::Response {
            status: 200,
            consumed: 134
        }
    );
    assert_eq!(HTTPS_CONNECT_SERVER[134], 0x16);
}

// ---- split at every byte boundary ----

/// Every request/response head of the captures, with the method its response answers.
const HEADS: [(&[u8], bool); 14] = [
    (BUG_814_REQ, true),
    (DECODE_SLL2_01_REQ, true),
    (DETECT_PCRE_02_REQ, true),
    (SECURITY_4710_01_REQ, true),
    (HTTP_IPV6_REQ, true),
    (DATASETS_04_REQ, true),
    (EMPTY_UA_REQ, true),
    (CONNECT_SIMPLE_CLIENT, true),
    (CONNECT_FRAGMENTED_CLIENT, true),
    (BUG_2430_CLIENT, true),
    (HTTPS_CONNECT_CLIENT, true),
    (SECURITY_4710_01_RESP, false),
    (HTTP_IPV6_RESP, false),
    (EMPTY_UA_RESP, false),
];

#[test]
fn every_split_needs_more_until_the_head_is_complete() {
    for (stream, is_request) in HEADS {
        let end = head_len(stream);
        for k in 0..end {
            let prefix = &stream[..k];
            if is_request {
                assert_eq!(next_request(prefix), RequestStep::NeedMore, "k={k}");
                let method_end = stream.iter().position(|b| *b == b' ').unwrap_or(0);
                let want = if k <= method_end {
                    Probe::NeedMore
                } else {
                    Probe::Match
                };
                assert_eq!(probe_request(prefix), want, "k={k}");
            } else {
                assert_eq!(
                    next_response(prefix, "GET"),
                    ResponseStep::NeedMore,
                    "k={k}"
                );
            }
        }
        let whole = &stream[..end];
        if is_request {
            assert!(matches!(next_request(whole), RequestStep::Request(..)));
        } else {
            assert!(matches!(
                next_response(whole, "GET"),
                ResponseStep::Response { .. }
            ));
        }
    }
}

#[test]
fn tunnelled_get_split_at_every_byte() {
    let tunnel = &CONNECT_FRAGMENTED_CLIENT[52..];
    for k in 0..tunnel.len() {
        assert_eq!(next_request(&tunnel[..k]), RequestStep::NeedMore, "k={k}");
        let want = if k < 4 { Probe::NeedMore } else { Probe::Match };
        assert_eq!(probe_request(&tunnel[..k]), want, "k={k}");
    }
    assert_eq!(request_of(tunnel).1, tunnel.len());
}

// ---- Node.js-style clients (npm postinstall callbacks) ----

#[test]
fn node_fetch_v2_request() {
    let s = b"GET /api/v1/beacon?id=42 HTTP/1.1\r\n\
        Accept: */*\r\n\
        User-Agent: node-fetch/1.0 (+https://github.com/bitinn/node-fetch)\r\n\
        Accept-Encoding: gzip,deflate\r\n\
        Connection: close\r\n\
        Host: c2.example.net:8080\r\n\r\n";
    let (r, n) = request_of(s);
    assert_eq!(n, s.len());
    assert_eq!(
        r.user_agent.as_deref(),
        Some("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)")
    );
    assert_eq!(
        (r.hostname(), r.port()),
        (Some("c2.example.net"), Some(8080))
    );
    assert_eq!(schema_checked(r.eve(None))["url"], "/api/v1/beacon?id=42");
}

#[test]
fn axios_post_with_json_body() {
    let body = br#"{"env":{"CI":"true","NPM_TOKEN":"x"}}"#;
    let head = format!(
        "POST /collect HTTP/1.1\r\n\
         Accept: application/json, text/plain, */*\r\n\
         Content-Type: application/json\r\n\
         User-Agent: axios/1.7.2\r\n\
         Content-Length: {}\r\n\
         Accept-Encoding: gzip, compress, deflate, br\r\n\
         Host: 203.0.113.7:8443\r\n\
         Connection: keep-alive\r\n\r\n",
        body.len()
    );
    let mut s = head.clone().into_bytes();
    s.extend_from_slice(body);
    s.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: 203.0.113.7:8443\r\n\r\n");
    let (r, n) = request_of(&s);
    assert_eq!(n, head.len() + body.len());
    assert_eq!(r.user_agent.as_deref(), Some("axios/1.7.2"));
    assert_eq!(r.content_length, Some(body.len() as u64));
    assert_eq!((r.hostname(), r.port()), (Some("203.0.113.7"), Some(8443)));
    assert!(r.host_is_ip_literal());
    let (next, _) = request_of(&s[n..]);
    assert_eq!(next.uri, "/next");
    // The head alone already reports the request; consumed covers the body still to come.
    assert_eq!(
        next_request(head.as_bytes()),
        RequestStep::Request(r, head.len() + body.len())
    );
}

#[test]
fn node_fetch_undici_and_plain_http_module() {
    // Node's global fetch (undici) sends "node"; undici.request sends "undici";
    // http.request sends no User-Agent at all.
    let cases: [(&[u8], Option<&str>); 3] = [
        (
            b"GET /x HTTP/1.1\r\nhost: registry.npmjs.org\r\nconnection: keep-alive\r\n\
              accept: */*\r\naccept-language: *\r\nsec-fetch-mode: cors\r\n\
              user-agent: node\r\naccept-encoding: gzip, deflate\r\n\r\n",
            Some("node"),
        ),
        (
            b"GET /x HTTP/1.1\r\nhost: registry.npmjs.org\r\nconnection: keep-alive\r\n\
              user-agent: undici\r\n\r\n",
            Some("undici"),
        ),
        (
            b"GET /x HTTP/1.1\r\nHost: registry.npmjs.org\r\nConnection: close\r\n\r\n",
            None,
        ),
    ];
    for (s, ua) in cases {
        let (r, n) = request_of(s);
        assert_eq!(n, s.len());
        assert_eq!(r.user_agent.as_deref(), ua);
        assert_eq!(r.hostname(), Some("registry.npmjs.org"));
        assert_eq!(r.port(), None);
        schema_checked(r.eve(Some(200)));
    }
}

// ---- framing ----

#[test]
fn chunked_or_bad_length_requests_are_body_unknown() {
    let chunked =
        b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    let RequestStep::BodyUnknown(r, n) = next_request(chunked) else {
        panic!("chunked");
    };
    assert_eq!((r.uri.as_str(), n), ("/u", head_len(chunked)));
    let both = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(matches!(next_request(both), RequestStep::BodyUnknown(..)));
    let bad = b"POST / HTTP/1.1\r\nContent-Length: 3x\r\n\r\nabc";
    assert!(matches!(next_request(bad), RequestStep::BodyUnknown(..)));
    let twice = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc";
    assert!(matches!(next_request(twice), RequestStep::BodyUnknown(..)));
    let huge = b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    assert!(matches!(next_request(huge), RequestStep::BodyUnknown(..)));
    let spaced = b"POST / HTTP/1.1\r\nContent-Length:  3 \r\n\r\nabc";
    assert_eq!(request_of(spaced).1, spaced.len());
}

#[test]
fn response_framing_rules() {
    let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let head = head_len(cl);
    let ok = |status, consumed| ResponseStep::Response { status, consumed };
    assert_eq!(next_response(cl, "GET"), ok(200, cl.len()));
    assert_eq!(next_response(cl, "HEAD"), ok(200, head));
    assert_eq!(next_response(cl, "head"), ok(200, head));
    let no_content = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(next_response(no_content, "GET"), ok(204, no_content.len()));
    let not_modified = b"HTTP/1.1 304 Not Modified\r\n\r\n";
    assert_eq!(
        next_response(not_modified, "GET"),
        ok(304, not_modified.len())
    );
    let cont = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(next_response(cont, "POST"), ok(100, 25));
    assert_eq!(next_response(&cont[25..], "POST"), ok(201, cont.len() - 25));
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        next_response(chunked, "GET"),
        ResponseStep::BodyUnknown { status: 200 }
    );
    let close = b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody until close";
    assert_eq!(
        next_response(close, "GET"),
        ResponseStep::BodyUnknown { status: 200 }
    );
    // 101: the head only; what follows is the new protocol.
    let upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert_eq!(next_response(upgrade, "GET"), ok(101, upgrade.len()));
    let denied = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno";
    assert_eq!(next_response(denied, "CONNECT"), ok(407, denied.len()));
    assert!(matches!(
        next_response(b"HTTP/1.1 2x0 OK\r\n\r\n", "GET"),
        ResponseStep::Invalid(_)
    ));
    assert!(matches!(
        next_response(b"\x16\x03\x03\x00", "GET"),
        ResponseStep::Invalid(_)
    ));
}

#[test]
fn head_limits() {
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..MAX_HEADERS {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    let mut fits = many.clone();
    fits.extend_from_slice(b"\r\n");
    assert!(matches!(next_request(&fits), RequestStep::Request(..)));
    many.extend_from_slice(b"X-last: v\r\n\r\n");
    assert_eq!(
        next_request(&many),
        RequestStep::Invalid("too many headers")
    );

    let mut long = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
    long.resize(MAX_HEAD_LEN - 4, b'a');
    assert_eq!(next_request(&long), RequestStep::NeedMore);
    long.extend_from_slice(b"aaaa");
    assert_eq!(next_request(&long), RequestStep::Invalid("head too long"));
    long.extend_from_slice(b"\r\n\r\n");
    assert_eq!(next_request(&long), RequestStep::Invalid("head too long"));
    let mut resp = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    resp.resize(MAX_HEAD_LEN + 10, b'a');
    assert_eq!(
        next_response(&resp, "GET"),
        ResponseStep::Invalid("head too long")
    );
}

// ---- host name and port ----

fn request_with(method: &str, uri: &str, host: Option<&str>) -> Request {
    Request {
        method: method.into(),
        uri: uri.into(),
        protocol: "HTTP/1.1".into(),
        host_header: host.map(Into::into),
        ..Request::default()
    }
}

/// Method, URI, Host header, then the expected hostname and port.
type HostCase = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<u16>,
);

#[test]
fn hostname_and_port_follow_libhtp() {
    let cases: [HostCase; 16] = [
        ("GET", "/", Some("example.com"), Some("example.com"), None),
        (
            "GET",
            "/",
            Some("example.com:8080"),
            Some("example.com"),
            Some(8080),
        ),
        ("GET", "/", Some("[::1]:8000"), Some("[::1]"), Some(8000)),
        (
            "GET",
            "/",
            Some("[2001:db8::1]"),
            Some("[2001:db8::1]"),
            None,
        ),
        ("GET", "/", Some("example.com:0"), Some("example.com"), None),
        (
            "GET",
            "/",
            Some("example.com:99999"),
            Some("example.com"),
            None,
        ),
        (
            "GET",
            "/",
            Some("example.com:abc"),
            Some("example.com"),
            None,
        ),
        (
            "GET",
            "/",
            Some("example.com: 81 "),
            Some("example.com"),
            Some(81),
        ),
        ("GET", "/", Some("Example.COM"), Some("Example.COM"), None),
        ("GET", "/", Some("example.com."), Some("example.com."), None),
        ("GET", "/", Some(""), None, None),
        ("GET", "/", Some(":80"), None, None),
        (
            "GET",
            "http://Abs.Example.:8081/p?q",
            Some("other:1"),
            Some("Abs.Example"),
            Some(8081),
        ),
        (
            "GET",
            "http://user:pw@abs.example/p",
            Some("other:1"),
            Some("abs.example"),
            None,
        ),
        (
            "CONNECT",
            "[2001:db8::1]:443",
            None,
            Some("[2001:db8::1]"),
            Some(443),
        ),
        (
            "CONNECT",
            "abc:443",
            Some("other:80"),
            Some("abc"),
            Some(443),
        ),
    ];
    for (method, uri, host, hostname, port) in cases {
        let r = request_with(method, uri, host);
        assert_eq!(r.hostname(), hostname, "{method} {uri} {host:?}");
        assert_eq!(r.port(), port, "{method} {uri} {host:?}");
    }
}

#[test]
fn schema_rejects_unknown_keys() {
    if let Some(schema) = http_schema() {
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        assert!(!validator.is_valid(&json!({"url": "/", "host": "x"})));
        assert!(!validator.is_valid(&json!({"http_port": "80"})));
    }
}

#[test]
fn eve_hostname_is_lowercased_like_suricata() {
    let r = request_with("GET", "/", Some("WWW.Example.COM:8080"));
    assert_eq!(r.hostname(), Some("WWW.Example.COM"));
    assert_eq!(r.hostname_normalized().as_deref(), Some("www.example.com"));
    let eve = schema_checked(r.eve(None));
    assert_eq!(eve["hostname"], "www.example.com");
    assert_eq!(eve["http_port"], 8080);
}

#[test]
fn connect_targets() {
    let v6 = request_with("CONNECT", "[2001:db8::1]:443", None);
    assert_eq!(v6.connect_target(), Some(("2001:db8::1".to_string(), 443)));
    assert!(v6.host_is_ip_literal());
    let v4 = request_with("CONNECT", "10.0.0.1:8443", None);
    assert_eq!(v4.connect_target(), Some(("10.0.0.1".to_string(), 8443)));
    assert!(v4.host_is_ip_literal());
    assert_eq!(request_with("CONNECT", "abc", None).connect_target(), None);
    assert_eq!(request_with("GET", "abc:443", None).connect_target(), None);
}

#[test]
fn repeated_headers_are_joined_and_odd_bytes_are_lossy() {
    let s = b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nUser-Agent: caf\xe9\r\n\r\n";
    let (r, _) = request_of(s);
    assert_eq!(r.host_header.as_deref(), Some("a.example, b.example"));
    assert_eq!(r.user_agent.as_deref(), Some("caf\u{fffd}"));
}

// ---- robustness ----

/// A random byte, biased towards the bytes HTTP parsing cares about.
fn interesting_byte(rng: &mut XorShift) -> u8 {
    const INTERESTING: &[u8] = b"\r\n :[]/?#@0123456789GETPOSHCNT\x00\xff";
    if rng.next().is_multiple_of(2) {
        INTERESTING[rng.below(INTERESTING.len())]
    } else {
        rng.next() as u8
    }
}

/// Random bytes, or one to four mutations of a real capture.
fn fuzz_input(rng: &mut XorShift) -> Vec<u8> {
    let seeds: Vec<&[u8]> = HEADS.iter().map(|(s, _)| *s).collect();
    if rng.below(5) == 0 {
        let len = rng.below(300);
        return (0..len).map(|_| interesting_byte(rng)).collect();
    }
    let mut v = seeds[rng.below(seeds.len())].to_vec();
    for _ in 0..=rng.below(4) {
        mutate(rng, &mut v, &seeds);
    }
    v
}

fn mutate(rng: &mut XorShift, v: &mut Vec<u8>, seeds: &[&[u8]]) {
    let at = rng.below(v.len() + 1);
    match rng.below(6) {
        0 => v.truncate(at),
        1 if at < v.len() => v[at] = interesting_byte(rng),
        2 => v.insert(at, interesting_byte(rng)),
        3 if at < v.len() => {
            v.remove(at);
        }
        4 => {
            let other = seeds[rng.below(seeds.len())];
            v.truncate(at);
            v.extend_from_slice(&other[rng.below(other.len())..]);
        }
        _ => {
            let end = (at + rng.below(40)).min(v.len());
            let chunk = v[at..end].to_vec();
            v.splice(at..at, chunk);
        }
    }
}

/// Calls every accessor of a parsed request.
fn exercise(r: &Request) {
    let _ = (
        r.hostname(),
        r.port(),
        r.connect_target(),
        r.host_is_ip_literal(),
    );
    assert!(r.eve(Some(200)).is_object());
    assert!(r.eve_with_length(None, Some(1)).is_object());
}

#[test]
fn no_panic_on_random_and_mutated_input() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let methods = ["GET", "HEAD", "CONNECT", "", "connect", "POST"];
    for _ in 0..20_000 {
        let input = fuzz_input(&mut rng);
        let _ = probe_request(&input);
        match next_request(&input) {
            RequestStep::Request(r, n) => {
                assert!(n > 0);
                exercise(&r);
            }
            RequestStep::BodyUnknown(r, n) => {
                assert!(n > 0 && n <= input.len());
                exercise(&r);
            }
            RequestStep::NeedMore | RequestStep::Invalid(_) => {}
        }
        let method = methods[rng.below(methods.len())];
        if let ResponseStep::Response { consumed, .. } = next_response(&input, method) {
            assert!(consumed > 0);
        }
    }
}

#[test]
fn each_host_header_is_seen_on_its_own() {
    let RequestStep::Request(req, _) = next_request(
        b"GET / HTTP/1.1\r\nHost: registry.npmjs.org\r\nHost: pkg-validate.net:8080\r\n\r\n",
    ) else {
        panic!("not a request")
    };
    // EVE keeps libhtp's joined value; detection gets each host.
    assert_eq!(
        req.host_header.as_deref(),
        Some("registry.npmjs.org, pkg-validate.net:8080")
    );
    assert_eq!(req.hostname(), Some("registry.npmjs.org, pkg-validate.net"));
    assert_eq!(
        req.other_hostnames(),
        ["registry.npmjs.org", "pkg-validate.net"]
    );
    let RequestStep::Request(one, _) = next_request(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
    else {
        panic!("not a request")
    };
    assert!(one.other_hostnames().is_empty());
}

#[test]
fn folded_header_lines_are_unfolded() {
    let head = b"GET /x HTTP/1.1\r\nHost:\r\n pkg-validate.net\r\nUser-Agent: a\r\n\tb\r\n\r\nNEXT";
    let RequestStep::Request(req, n) = next_request(head) else {
        panic!("a folded head is a request")
    };
    assert_eq!(n, head.len() - 4, "the folded head's length is consumed");
    assert_eq!(req.hostname(), Some("pkg-validate.net"));
    assert_eq!(req.user_agent.as_deref(), Some("a b"));
    // Bare LF line ends too; an incomplete folded head waits for more.
    let RequestStep::Request(req, _) = next_request(b"GET / HTTP/1.0\nHost: x\n  .example\n\n")
    else {
        panic!("LF-only folded head")
    };
    assert_eq!(req.host_header.as_deref(), Some("x .example"));
    assert_eq!(
        next_request(b"GET / HTTP/1.1\r\nHost:\r\n pkg-validate.net\r\n"),
        RequestStep::NeedMore
    );
}

#[test]
fn upgrade_h2c_is_recognised() {
    for (head, want) in [
        (&b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"[..], true),
        (b"GET / HTTP/1.1\r\nUpgrade: websocket, H2C\r\n\r\n", true),
        (b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", false),
        (b"GET / HTTP/1.1\r\n\r\n", false),
    ] {
        let RequestStep::Request(r, _) = next_request(head) else {
            panic!("{head:?}")
        };
        assert_eq!(r.upgrade_h2c, want, "{head:?}");
    }
}

#[test]
fn the_direct_http_object_is_the_value_tree_exactly() {
    let mut cases = vec![
        request_with("GET", "/", Some("WWW.Example.COM:8080")),
        request_with("GET", "/q?a=\"b\"&c=\\d", Some("ÄÖ.Example\u{1}:80")),
        request_with("CONNECT", "Registry.NPMJS.org:443", None),
        request_with("GET", "http://[2001:DB8::1]:8080/x", Some("ignored")),
        request_with("POST", "/\t\n", None),
    ];
    let mut ua = request_with("GET", "/", Some("h"));
    ua.user_agent = Some("curl/8.5 \u{7f}\u{1b}[31m \"x\"".into());
    cases.push(ua);
    let mut empty_ua = request_with("GET", "/", None);
    empty_ua.user_agent = Some(String::new());
    empty_ua.protocol = "HTTP/1.0".into();
    cases.push(empty_ua);
    for (i, r) in cases.iter().enumerate() {
        for status in [None, Some(200), Some(101)] {
            let mut out = Vec::new();
            r.write_eve(status, &mut out);
            let direct = String::from_utf8(out).unwrap();
            assert_eq!(direct, r.eve(status).to_string(), "case {i}");
        }
    }
    let (r, _) = request_of(b"GET /a HTTP/1.1\r\nHost: Mixed.Case:81\r\nUser-Agent: x\r\n\r\n");
    let mut out = Vec::new();
    r.write_eve(Some(404), &mut out);
    assert_eq!(out, r.eve(Some(404)).to_string().into_bytes());
    assert_eq!(r.protocol(), "HTTP/1.1");
}
