//! Fuzzes QUIC: datagrams from either side through the Initials state machine (header parsing,
//! key derivation, header protection, AEAD), decrypted-payload frames through the CRYPTO
//! reassembly and the ClientHello parser, and gQUIC CHLOs. Never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::quic::{self, crypto::CryptoStream, gquic, Initials};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        // Datagrams: [side, len_hi, len_lo, bytes...]*
        0 => {
            let mut s = Initials::default();
            let mut d = rest;
            for _ in 0..32 {
                let [side, hi, lo, tail @ ..] = d else { break };
                let n = (usize::from(*hi) << 8 | usize::from(*lo)).min(tail.len());
                let (dgram, next) = tail.split_at(n);
                let _ = quic::probe(dgram);
                if side & 1 == 0 {
                    let _ = s.on_client_datagram(dgram);
                } else {
                    let _ = s.on_server_datagram(dgram);
                }
                d = next;
            }
        }
        // Decrypted payloads, split at 0xff bytes: frames, then the hello if whole.
        1 => {
            let mut c = CryptoStream::default();
            for payload in rest.split(|&b| b == 0xff).take(16) {
                if c.add_frames(payload).is_err() {
                    break;
                }
            }
            if let Some(msg) = c.first_message() {
                let _ = proto::tls::parse_client_hello_message(msg);
            }
        }
        _ => {
            if let Some(v) = gquic::client_version(rest) {
                let _ = gquic::chlo(rest, v);
            }
            let _ = gquic::chlo(rest, *b"Q046");
        }
    }
});
