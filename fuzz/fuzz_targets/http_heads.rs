//! Fuzzes the HTTP request and response head parsers and every Request accessor.
#![no_main]
use proto::http;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = http::probe_request(data);
    if let http::RequestStep::Request(r, _) | http::RequestStep::BodyUnknown(r, _) =
        http::next_request(data)
    {
        let _ = (
            r.other_hostnames(),
            r.hostname(),
            r.port(),
            r.connect_target(),
            r.host_is_ip_literal(),
            r.eve(Some(200)),
        );
    }
    for method in ["GET", "HEAD", "CONNECT"] {
        let _ = http::next_response(data, method);
    }
});
