//! A NUL or junk after the server name (issue 16, item 5). No mainstream client sends one
//! (OpenSSL, curl and Node.js refuse or cut the name), so the client is a raw ClientHello
//! written with Python's stdlib (`tests/data/sni/junk_hello_client.py`), over real TCP from a
//! runner namespace (10.71.0.2) to two servers in another: `openssl s_server` (203.0.113.41),
//! which shows what a real TLS stack does (a NUL is refused with a fatal `unrecognized_name`
//! alert; a control byte or bytes from 0x80 up are accepted and answered with a ServerHello),
//! and `tests/data/sni/recording_server.py` (203.0.113.42), which records the exact bytes it
//! received and the server_name in them: the receiver decides. tcpdump records the runner's
//! side; the replay must log each name in Suricata's text of the bytes the server got, flag the
//! invalid ones (`sni_invalid`), and raise `ioc-domain` with the clean name (the longest valid
//! prefix), or `non-registry-tls` for the registry's name with junk after it. Every line is
//! validated against Suricata's schema merged with docs/eve-extensions.schema.json.

use crate::common::netns::{root_or_skip, run_ok, self_signed_cert, start_logged};
use crate::common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const RUNNER: &str = "10.71.0.2";
const OPENSSL: &str = "203.0.113.41";
const RECORDER: &str = "203.0.113.42";

/// One name the client sends: its bytes, whether it is a host name, and the alert expected.
struct Case {
    name: &'static [u8],
    valid: bool,
    detection: &'static str,
    indicator: &'static str,
}

const CASES: [Case; 5] = [
    Case {
        name: b"pkg-validate.net\0",
        valid: false,
        detection: "ioc-domain",
        indicator: "pkg-validate.net",
    },
    Case {
        name: b"pkg-validate.net\x07junk",
        valid: false,
        detection: "ioc-domain",
        indicator: "pkg-validate.net",
    },
    Case {
        name: b"pkg-validate.net\xff\xfe",
        valid: false,
        detection: "ioc-domain",
        indicator: "pkg-validate.net",
    },
    Case {
        name: b"pkg-validate.net",
        valid: true,
        detection: "ioc-domain",
        indicator: "pkg-validate.net",
    },
    Case {
        name: b"registry.npmjs.org\0",
        valid: false,
        detection: "non-registry-tls",
        indicator: "registry.npmjs.org",
    },
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Suricata's text of a byte string (`SCJbSetStringFromBytes`): valid UTF-8 as is, otherwise
/// ASCII bytes as is and every byte from 0x80 up as `\xNN`.
fn suricata_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b).to_string()
                } else {
                    format!("\\x{b:02x}")
                }
            })
            .collect(),
    }
}

#[test]
fn a_server_name_with_junk_is_logged_as_received_flagged_and_matched_on_its_clean_prefix() {
    if !root_or_skip("server names with junk in namespaces") {
        return;
    }
    let dir = scratch("sni-junk");
    let (runner, inet) = crate::runner_and_internet("snij", RUNNER, &[OPENSSL, RECORDER]);
    let (cert, key) = self_signed_cert(&dir, "pkg-validate.net");
    let n = CASES.len().to_string();
    let openssl_log = dir.join("s_server.log");
    let _openssl = start_logged(
        inet.exec("openssl")
            .args(["s_server", "-accept", &format!("{OPENSSL}:443"), "-ign_eof"])
            .args(["-naccept", &n, "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key),
        &openssl_log,
        "ACCEPT",
        "openssl s_server",
    );
    let recorder_log = dir.join("recorder.log");
    let _recorder = start_logged(
        inet.exec("python3")
            .arg(root().join("tests/data/sni/recording_server.py"))
            .args([RECORDER, "443", &n]),
        &recorder_log,
        "server ready",
        "the recording server",
    );
    let pcap = dir.join("sni-junk.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));
    let names: Vec<String> = CASES.iter().map(|c| hex(c.name)).collect();
    let mut replies = BTreeMap::new();
    for server in [OPENSSL, RECORDER] {
        let out = run_ok(
            runner
                .exec("python3")
                .arg(root().join("tests/data/sni/junk_hello_client.py"))
                .args([server, "443"])
                .args(&names),
            Duration::from_secs(60),
        );
        for line in out.lines() {
            let f: Vec<&str> = line.splitn(4, ' ').collect();
            assert_eq!((f.len(), f[0], f[2]), (4, "NAME", "REPLY"), "{out}");
            replies.insert((server, f[1].to_owned()), f[3].to_owned());
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(tcpdump.terminate(Duration::from_secs(5)).is_some());

    // What a real TLS stack did: OpenSSL refuses a NUL (tls_parse_ctos_server_name) with a
    // fatal unrecognized_name alert (2, 112) and answers every other name.
    for case in &CASES {
        let reply = &replies[&(OPENSSL, hex(case.name))];
        let expected = if case.name.contains(&0) {
            "alert 2 112"
        } else {
            "server_hello"
        };
        assert_eq!(reply, expected, "s_server's answer to {:?}", case.name);
    }
    let openssl_said = std::fs::read_to_string(&openssl_log).unwrap();
    let refusal = openssl_said
        .lines()
        .find(|l| l.contains("tls_parse_ctos_server_name"))
        .unwrap_or_else(|| panic!("s_server did not refuse the NUL: {openssl_said}"))
        .to_owned();

    // What the recording server got: the client port and the server_name bytes of each flow.
    let recorded: BTreeMap<u16, Vec<u8>> = std::fs::read_to_string(&recorder_log)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() == 3 && f[0] == "SNI").then(|| {
                let port = f[1].rsplit(':').next().unwrap().parse().unwrap();
                (port, unhex(f[2]))
            })
        })
        .collect();
    assert_eq!(
        recorded.values().collect::<Vec<_>>(),
        CASES.iter().map(|c| c.name).collect::<Vec<_>>(),
        "the recording server got every name as sent"
    );

    let r = replay("sni-junk-replay", &[&pcap], &[]);
    let tls = r.of_type("tls");
    assert_eq!(tls.len(), 2 * CASES.len(), "one tls event per connection");
    let by_port = |events: &[&Value], port: u16| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["dest_ip"] == RECORDER && e["src_port"] == port)
            .map(|e| (*e).clone())
            .collect()
    };
    // No DNS went before these connections: every flow also raises direct-ip, not judged here.
    let alerts: Vec<&Value> = r
        .of_type("alert")
        .into_iter()
        .filter(|a| a["alert"]["metadata"]["detection"][0] != "direct-ip")
        .collect();
    for (port, got) in &recorded {
        let case = CASES.iter().find(|c| c.name == got.as_slice()).unwrap();
        let event = by_port(&tls, *port);
        assert_eq!(event.len(), 1, "tls events of port {port}");
        let logged = &event[0]["tls"];
        assert_eq!(logged["sni"], suricata_text(got), "port {port}");
        assert_eq!(
            logged.get("sni_invalid").cloned(),
            (!case.valid).then_some(Value::Bool(true)),
            "{logged}"
        );
        let alert = by_port(&alerts, *port);
        assert_eq!(alert.len(), 1, "alerts of port {port}: {alert:?}");
        let meta = &alert[0]["alert"]["metadata"];
        assert_eq!(meta["detection"][0], case.detection, "{}", alert[0]);
        assert_eq!(meta["indicator"][0], case.indicator, "{}", alert[0]);
        assert_eq!(
            &alert[0]["tls"], logged,
            "the alert carries the flow's tls object"
        );
    }
    // The flows to s_server are logged the same way (the same bytes, sent by the same client).
    for case in &CASES {
        let text = suricata_text(case.name);
        let seen = tls
            .iter()
            .filter(|e| e["dest_ip"] == OPENSSL && e["tls"]["sni"] == text.as_str())
            .count();
        assert_eq!(seen, 1, "{text:?} to s_server");
    }
    let rows: Vec<String> = alert_rows(&r.events)
        .into_iter()
        .filter(|a| !a.starts_with("direct-ip\t"))
        .collect();
    assert_eq!(rows.len(), 2 * CASES.len(), "{rows:#?}");
    eprintln!(
        "sni junk: s_server refused the NUL ({refusal}); the recorder got {} names; replay logged {} tls events ({} flagged), alerts: {rows:#?}",
        recorded.len(),
        tls.len(),
        tls.iter().filter(|e| e["tls"]["sni_invalid"] == true).count()
    );
}
