//! Fuzzes the TLS stream walker and the ClientHello parser: never panic, always make progress,
//! the direct EVE writer matches the value tree, and a server name's clean prefix is a host name.
#![no_main]
use proto::tls;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tls::probe(data);
    if let Ok(hello) = tls::parse_client_hello_message(data) {
        // The direct writer must give exactly the value tree, key order included.
        assert_eq!(hello.eve_json().get(), hello.eve().to_string());
        // The name the detections match is a host name and a prefix of the logged name.
        if let Some(sni) = hello.sni.as_deref() {
            let clean = tls::server_name::host_name_prefix(sni);
            assert!(sni.starts_with(clean));
            assert!(clean.is_empty() || tls::server_name::is_host_name(clean));
            assert_eq!(hello.sni_invalid(), !tls::server_name::is_host_name(sni));
        }
    }
    let mut rest = data;
    for _ in 0..64 {
        match tls::next_step(rest) {
            tls::Step::Hello(_, n) | tls::Step::Skip(n) => {
                assert!(n > 0 && n <= rest.len());
                rest = &rest[n..];
            }
            _ => break,
        }
    }
});
