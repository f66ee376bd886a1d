//! Byte-array tests: every handshake form, as curl and the proxies send them, cut at every
//! length, and garbage.

use super::*;

/// curl --socks4 10.0.0.1:1080 to 203.0.113.20:80, user id "" (curl sends none).
const V4: &[u8] = &[4, 1, 0, 80, 203, 0, 113, 20, 0];
/// curl --socks4a: 0.0.0.1, user id "me", then the host name.
const V4A: &[u8] = b"\x04\x01\x01\xbb\x00\x00\x00\x01me\x00pkg-validate.net\x00";
/// curl --socks5-hostname: greeting (no auth), then CONNECT pkg-validate.net:443.
const V5_DOMAIN: &[u8] = b"\x05\x01\x00\x05\x01\x00\x03\x10pkg-validate.net\x01\xbb";
/// curl --socks5: greeting offering no auth and user/pass, RFC 1929 auth, CONNECT 203.0.113.20:80.
const V5_AUTH_IPV4: &[u8] =
    b"\x05\x02\x00\x02\x01\x04user\x06secret\x05\x01\x00\x01\xcb\x00\x71\x14\x00\x50";
/// SOCKS5 CONNECT [2001:db8::23]:443.
const V5_IPV6: &[u8] = &[
    5, 1, 0, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23, 1, 0xbb,
];

#[test]
fn socks4_connect_to_an_address() {
    assert_eq!(probe(V4), Probe::Match);
    let ClientStep::Request(req, n) = client_handshake(V4) else {
        panic!("{:?}", client_handshake(V4))
    };
    assert_eq!(n, V4.len());
    assert_eq!(req.version, Version::V4);
    assert_eq!(req.command, Command::Connect);
    assert_eq!(req.target, Target::Ip("203.0.113.20".parse().unwrap()));
    assert_eq!(req.target.host(), "203.0.113.20");
    assert_eq!((req.port, req.user), (80, None));
}

#[test]
fn socks4a_connect_to_a_name() {
    assert_eq!(probe(V4A), Probe::Match);
    let ClientStep::Request(req, n) = client_handshake(V4A) else {
        panic!()
    };
    assert_eq!(n, V4A.len());
    assert_eq!(req.version, Version::V4a);
    assert_eq!(req.target, Target::Domain(b"pkg-validate.net"));
    assert_eq!(req.user, Some(&b"me"[..]));
    assert_eq!(req.port, 443);
}

#[test]
fn socks5_connect_to_a_name_and_tunnel_bytes_after_it() {
    assert_eq!(probe(&V5_DOMAIN[..3]), Probe::Match);
    assert_eq!(probe(V5_DOMAIN), Probe::Match);
    let mut stream = V5_DOMAIN.to_vec();
    stream.extend_from_slice(b"\x16\x03\x01");
    let ClientStep::Request(req, n) = client_handshake(&stream) else {
        panic!()
    };
    assert_eq!(n, V5_DOMAIN.len());
    assert_eq!(&stream[n..], b"\x16\x03\x01");
    assert_eq!(req.version, Version::V5);
    assert_eq!(req.target.host(), "pkg-validate.net");
    assert_eq!(req.port, 443);
}

#[test]
fn socks5_with_username_password_to_an_ipv4_address() {
    assert_eq!(probe(V5_AUTH_IPV4), Probe::Match);
    let ClientStep::Request(req, n) = client_handshake(V5_AUTH_IPV4) else {
        panic!()
    };
    assert_eq!(n, V5_AUTH_IPV4.len());
    assert_eq!(req.user, Some(&b"user"[..]));
    assert_eq!(req.target, Target::Ip("203.0.113.20".parse().unwrap()));
    assert_eq!(req.port, 80);
}

#[test]
fn socks5_to_an_ipv6_address() {
    let ClientStep::Request(req, _) = client_handshake(V5_IPV6) else {
        panic!()
    };
    assert_eq!(req.target.host(), "2001:db8::23");
}

#[test]
fn every_cut_of_a_handshake_needs_more_and_never_matches_wrongly() {
    for full in [V4, V4A, V5_DOMAIN, V5_AUTH_IPV4, V5_IPV6] {
        for cut in 0..full.len() {
            assert_eq!(
                client_handshake(&full[..cut]),
                ClientStep::NeedMore,
                "{full:?} cut at {cut}"
            );
            assert_ne!(probe(&full[..cut]), Probe::NoMatch, "{full:?} cut at {cut}");
        }
    }
}

#[test]
fn garbage_is_refused() {
    for bad in [
        &b"GET / HTTP/1.1\r\n"[..],
        b"\x16\x03\x01\x02\x00",
        b"\x04\x03\x00\x50\x01\x02\x03\x04\x00", // SOCKS4 command 3
        b"\x04\x01\x00\x50\x01\x02\x03\x04\x01\x02\x00", // unprintable user id
        b"\x05\x00",                             // no methods
        b"\x05\x01\xff",                         // "no acceptable" is no offer
        b"\x05\x01\x00\x07",                     // greeting, then neither 01 nor 05
    ] {
        assert_eq!(probe(bad), Probe::NoMatch, "{bad:?}");
    }
    for bad in [
        &b"\x05\x01\x00\x05\x09\x00\x01\x01\x02\x03\x04\x00\x50"[..], // command 9
        b"\x05\x01\x00\x05\x01\x00\x02\x01\x02\x03\x04\x00\x50",      // atyp 2
        b"\x05\x01\x00\x05\x01\x01\x01\x01\x02\x03\x04\x00\x50",      // reserved 1
        b"\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50",                  // empty name
        b"\x05\x01\x00\x04",
        b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00", // SOCKS4a empty name
        b"\x07",
    ] {
        assert!(
            matches!(client_handshake(bad), ClientStep::Invalid(_)),
            "{bad:?}: {:?}",
            client_handshake(bad)
        );
    }
    // A user id with no NUL within MAX_FIELD bytes.
    let mut long = b"\x04\x01\x00\x50\x01\x02\x03\x04".to_vec();
    long.extend(std::iter::repeat_n(b'a', MAX_FIELD + 1));
    assert_eq!(probe(&long), Probe::NoMatch);
    assert!(matches!(client_handshake(&long), ClientStep::Invalid(_)));
    long.truncate(8 + MAX_FIELD);
    assert_eq!(probe(&long), Probe::NeedMore);
    assert_eq!(client_handshake(&long), ClientStep::NeedMore);
}

#[test]
fn server_replies() {
    // SOCKS4 granted / rejected (8 bytes each).
    let granted = [0, 0x5a, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        server_reply(&granted, Version::V4a),
        ServerStep::Reply {
            granted: true,
            code: 0x5a,
            len: 8
        }
    );
    let refused = [0, 0x5b, 0, 0, 0, 0, 0, 0];
    assert!(matches!(
        server_reply(&refused, Version::V4),
        ServerStep::Reply { granted: false, .. }
    ));
    // SOCKS5: no auth, success bound to 0.0.0.0:0; then tunnel bytes.
    let ok = b"\x05\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00\x16\x03";
    assert_eq!(
        server_reply(ok, Version::V5),
        ServerStep::Reply {
            granted: true,
            code: 0,
            len: 12
        }
    );
    // SOCKS5 with user/pass accepted, bound to a domain name.
    let auth = b"\x05\x02\x01\x00\x05\x00\x00\x03\x03abc\x04\x38";
    assert_eq!(
        server_reply(auth, Version::V5),
        ServerStep::Reply {
            granted: true,
            code: 0,
            len: auth.len()
        }
    );
    // Failures: no acceptable method, bad password, host unreachable.
    for (reply, code) in [
        (&b"\x05\xff"[..], 0xff),
        (b"\x05\x02\x01\x01", 1),
        (b"\x05\x00\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00", 4),
    ] {
        assert!(
            matches!(server_reply(reply, Version::V5), ServerStep::Reply { granted: false, code: c, .. } if c == code),
            "{reply:?}"
        );
    }
    for cut in 0..ok.len() - 2 {
        assert_eq!(server_reply(&ok[..cut], Version::V5), ServerStep::NeedMore);
    }
    for bad in [&b"\x04\x00"[..], b"\x05\x01", b"\x05\x00\x05\x09\x00"] {
        assert!(matches!(
            server_reply(bad, Version::V5),
            ServerStep::Invalid(_)
        ));
    }
    assert!(matches!(
        server_reply(b"\x00\x10", Version::V4),
        ServerStep::Invalid(_)
    ));
}

#[test]
fn random_input_never_panics() {
    let mut rng = crate::testutil::XorShift(0x9e37_79b9_7f4a_7c15);
    let mut buf = [0u8; 64];
    for _ in 0..20_000 {
        for b in buf.iter_mut() {
            *b = rng.next() as u8;
        }
        buf[0] = [4, 5][rng.below(2)];
        let len = rng.below(buf.len());
        let s = &buf[..len];
        let _ = probe(s);
        if let ClientStep::Request(_, n) = client_handshake(s) {
            assert!(n <= s.len());
        }
        for v in [Version::V4, Version::V5] {
            if let ServerStep::Reply { len, .. } = server_reply(s, v) {
                assert!(len <= s.len());
            }
        }
    }
}
