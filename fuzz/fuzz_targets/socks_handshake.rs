//! Fuzzes the SOCKS probe, the client handshake parser and the proxy reply parser: no panic,
//! and every length they report lies inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::socks;

fuzz_target!(|data: &[u8]| {
    let _ = socks::probe(data);
    if let socks::ClientStep::Request(req, n) = socks::client_handshake(data) {
        assert!(n <= data.len());
        let _ = (req.target.host(), req.version.as_str(), req.command.as_str());
    }
    for v in [socks::Version::V4, socks::Version::V4a, socks::Version::V5] {
        if let socks::ServerStep::Reply { len, .. } = socks::server_reply(data, v) {
            assert!(len <= data.len());
        }
    }
});
