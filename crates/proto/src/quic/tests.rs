//! Initials end to end: protected with the RFC's keys the way a client does, then opened,
//! reassembled and parsed; Retry and a new DCID start over; cut and garbage input never panics.

use super::header::{VERSION_1, VERSION_2};
use super::keys::{tests::protect, Side};
use super::*;
use crate::testutil::{hex, XorShift};
use crate::tls::vectors::{hello_naming, JA4REPO_TLS12};

/// The ClientHello handshake message of a real hello (FoxIO's tls12 capture).
fn hello_message() -> Vec<u8> {
    hex(JA4REPO_TLS12)[5..].to_vec()
}

fn crypto_frame(offset: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend((0x4000 | offset as u16).to_be_bytes());
    f.extend((0x4000 | data.len() as u16).to_be_bytes());
    f.extend(data);
    f
}

/// Pads a payload so the datagram reaches 1,200 bytes.
fn padded(mut payload: Vec<u8>) -> Vec<u8> {
    payload.resize(payload.len().max(1180), 0);
    payload
}

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

#[test]
fn a_hello_in_one_initial_is_found_in_v1_and_v2() {
    let msg = hello_message();
    for v in [VERSION_1, VERSION_2] {
        let d = protect(
            v,
            &DCID,
            &[9],
            Side::Client,
            0,
            &padded(crypto_frame(0, &msg)),
        );
        assert_eq!(probe(&d), Probe::Ietf(v));
        let mut s = Initials::default();
        let ClientStep::Hello(h) = s.on_client_datagram(&d) else {
            panic!("no hello")
        };
        assert_eq!(h.version, v);
        assert_eq!(h.hello.sni.as_deref(), Some("contile.services.mozilla.com"));
        assert!(h.hello.ja4().starts_with("q13d"), "{}", h.hello.ja4());
        let eve: serde_json::Value = serde_json::from_str(h.eve_json().get()).unwrap();
        assert_eq!(eve["sni"], "contile.services.mozilla.com");
        assert_eq!(eve["version"], if v == VERSION_1 { "1" } else { "v2" });
        assert_eq!(eve["extensions"][0]["name"], "server_name");
        assert_eq!(
            eve["extensions"][0]["values"][0],
            "contile.services.mozilla.com"
        );
        // A retransmission of the same Initial gives nothing new.
        assert!(matches!(s.on_client_datagram(&d), ClientStep::Pending));
    }
}

#[test]
fn a_hello_over_two_initials_with_shuffled_frames_and_coalesced_packets() {
    let msg = hello_message();
    let (a, b) = msg.split_at(300);
    // Datagram 1: PING, the second half's tail, PADDING.  Datagram 2: two coalesced Initials,
    // the head first split in two frames in reverse order, then the rest.
    let p1 = [&[0x01u8][..], &crypto_frame(400, &msg[400..])].concat();
    let d1 = protect(VERSION_1, &DCID, &[], Side::Client, 0, &padded(p1));
    let p2a = [crypto_frame(100, &a[100..]), crypto_frame(0, &a[..100])].concat();
    let p2b = crypto_frame(300, &b[..100]);
    let d2 = [
        protect(VERSION_1, &DCID, &[], Side::Client, 1, &p2a),
        protect(VERSION_1, &DCID, &[], Side::Client, 2, &padded(p2b)),
    ]
    .concat();
    let mut s = Initials::default();
    assert!(matches!(s.on_client_datagram(&d1), ClientStep::Pending));
    let ClientStep::Hello(h) = s.on_client_datagram(&d2) else {
        panic!("no hello")
    };
    assert_eq!(h.hello.sni.as_deref(), Some("contile.services.mozilla.com"));
}

#[test]
fn a_retry_starts_over_with_the_new_connection_ids_keys() {
    let msg = hello_message();
    let first = protect(
        VERSION_1,
        &DCID,
        &[1],
        Side::Client,
        0,
        &padded(crypto_frame(0, &msg)),
    );
    let mut s = Initials::default();
    assert!(matches!(s.on_client_datagram(&first), ClientStep::Hello(_)));
    // The server's Retry: type 3, new SCID, a token, an integrity tag.
    let mut retry = vec![0xf0];
    retry.extend(VERSION_1.to_be_bytes());
    retry.extend([1, 1, 4, 0xaa, 0xbb, 0xcc, 0xdd]);
    retry.extend([0x55; 40]);
    assert_eq!(s.on_server_datagram(&retry), ServerStep::Retry);
    assert!(!s.hello_given());
    let again = protect(
        VERSION_1,
        &[0xaa, 0xbb, 0xcc, 0xdd],
        &[1],
        Side::Client,
        1,
        &padded(crypto_frame(0, &msg)),
    );
    assert!(matches!(s.on_client_datagram(&again), ClientStep::Hello(_)));
    // Version Negotiation also starts over.
    let vn = [0x80, 0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 1];
    assert_eq!(s.on_server_datagram(&vn), ServerStep::VersionNegotiation);
    assert!(!s.hello_given());
}

#[test]
fn an_initial_no_key_opens_is_undecryptable_and_limits_hold() {
    let msg = hello_message();
    let mut d = protect(
        VERSION_1,
        &DCID,
        &[],
        Side::Client,
        0,
        &padded(crypto_frame(0, &msg)),
    );
    let n = d.len();
    d[n - 20] ^= 0x40;
    let mut s = Initials::default();
    assert!(matches!(
        s.on_client_datagram(&d),
        ClientStep::Undecryptable
    ));
    let far = [0x06, 0x80, 0x01, 0x00, 0x00, 0x01, 0x00];
    let d = protect(
        VERSION_1,
        &DCID,
        &[],
        Side::Client,
        0,
        &padded(far.to_vec()),
    );
    assert!(matches!(s.on_client_datagram(&d), ClientStep::TooLong));
}

#[test]
fn cut_and_random_datagrams_never_panic() {
    let msg = hello_message();
    let d = protect(
        VERSION_2,
        &DCID,
        &[7],
        Side::Client,
        0,
        &padded(crypto_frame(0, &msg)),
    );
    let mut s = Initials::default();
    for n in 0..d.len() {
        let _ = s.on_client_datagram(&d[..n]);
        let _ = s.on_server_datagram(&d[..n]);
        let _ = probe(&d[..n]);
    }
    let mut rng = XorShift(0x5eed_0011);
    for _ in 0..2000 {
        let mut b = d.clone();
        for _ in 0..1 + rng.below(8) {
            let i = rng.below(b.len());
            b[i] = rng.next() as u8;
        }
        let _ = s.on_client_datagram(&b);
        let _ = gquic::chlo(&b, *b"Q046");
    }
}

#[test]
fn version_names_are_suricatas() {
    assert_eq!(version_name(VERSION_1), "1");
    assert_eq!(version_name(VERSION_2), "v2");
    assert_eq!(version_name(u32::from_be_bytes(*b"Q046")), "Q046");
    assert_eq!(version_name(0xff00_001d), "ff00001d");
}

#[test]
fn a_server_name_with_junk_is_logged_in_suricatas_text_and_flagged_as_over_tls() {
    let msg = hello_naming(&[b"pkg-validate.net\0\xff"]);
    let d = protect(
        VERSION_1,
        &DCID,
        &[9],
        Side::Client,
        0,
        &padded(crypto_frame(0, &msg)),
    );
    let ClientStep::Hello(h) = Initials::default().on_client_datagram(&d) else {
        panic!("no hello")
    };
    let eve: serde_json::Value = serde_json::from_str(h.eve_json().get()).unwrap();
    assert_eq!(eve["sni"], "pkg-validate.net\0\\xff");
    assert_eq!(eve["sni_invalid"], true);
    assert_eq!(eve["extensions"][0]["values"][0], eve["sni"]);
}
