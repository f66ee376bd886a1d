//! DNS messages of every kind (issue 16, item 2): real `dig` in a runner namespace (10.71.0.2)
//! sends TSIG-signed queries (`-y hmac-sha256:...`) over UDP and TCP for the IOC
//! `pkg-validate.net`, a query of type TKEY, a query of an unknown type (TYPE65400) and one of
//! type SVCB to a DNS server in another namespace (198.51.100.53,
//! `tests/data/dns_kinds/server.py`, which logs every message it read: the receiver decides)
//! that answers with a TKEY record and a TSIG, an unknown-type record and an SVCB record.
//! tcpdump records the runner's side; the replay must log one `dns` request and one response per
//! message the server read and answered, with the record types dig printed (an unknown type as
//! its number, as Suricata 8 prints it), the client's TSIG and OPT in `additionals`, and raise
//! `ioc-domain` for each signed IOC query, every line valid against the EVE schema.

use crate::common::netns::{root_or_skip, run_ok, start_logged};
use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const RUNNER: &str = "10.71.0.2";
const SERVER: &str = "198.51.100.53";
const IOC: &str = "pkg-validate.net";
const IOC_ADDR: &str = "203.0.113.20";
/// The TSIG key dig signs with (`-y`); the server does not know it.
const KEY: &str = "hmac-sha256:ci-update-key:c2VjcmV0LXRzaWcta2V5LWZvci10aGUtdGVzdHMtb25seQ==";

/// `dig` type names as EVE prints them (Suricata 8: no SVCB mnemonic, unknown types by number).
fn eve_type(dig_type: &str) -> String {
    match dig_type {
        "SVCB" => "64".into(),
        t => t.strip_prefix("TYPE").unwrap_or(t).to_string(),
    }
}

#[test]
fn tsig_tkey_svcb_and_unknown_types_are_logged_as_the_server_read_them() {
    if !root_or_skip("DNS messages of every kind") {
        return;
    }
    let dir = scratch("dns-kinds");
    let (runner, inet) = crate::runner_and_internet("kinds", RUNNER, &[SERVER]);
    let log = dir.join("server.log");
    let _server = start_logged(
        inet.exec("python3")
            .arg(root().join("tests/data/dns_kinds/server.py"))
            .args([SERVER, &format!("{IOC}={IOC_ADDR}")]),
        &log,
        "server ready",
        "the DNS server",
    );
    let pcap = dir.join("kinds.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));

    let at = format!("@{SERVER}");
    let queries: [&[&str]; 6] = [
        &["-y", KEY, IOC, "A"],
        &["-y", KEY, "+tcp", IOC, "A"],
        &["-t", "TKEY", "3141592653.sig-dc1.ad.example"],
        &["-t", "TYPE65400", "blob.example-ci.net"],
        &["+tcp", "-t", "TYPE65400", "blob.example-ci.net"],
        &["-t", "SVCB", "_dns.resolver.example"],
    ];
    // What dig printed: the types of its answer records.
    let mut printed: Vec<Vec<String>> = Vec::new();
    for args in queries {
        let out = run_ok(
            runner
                .exec("dig")
                .args([&at, "+noall", "+answer", "+tries=1", "+time=5"])
                .args(args),
            Duration::from_secs(20),
        );
        let types: Vec<String> = out
            .lines()
            .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
            .filter_map(|l| l.split_whitespace().nth(3).map(eve_type))
            .collect();
        assert!(!types.is_empty(), "dig {args:?} printed no answer: {out}");
        printed.push(types);
    }
    std::thread::sleep(Duration::from_millis(300));
    tcpdump.terminate(Duration::from_secs(5));

    // What the server read: transport, id, name, type, the types of the additional records.
    let served: Vec<Vec<String>> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("MSG "))
        .map(|l| l.split(' ').skip(1).map(str::to_string).collect())
        .collect();
    assert_eq!(served.len(), queries.len(), "one message each: {served:?}");
    let signed = served
        .iter()
        .filter(|m| m[4].split(',').any(|t| t == "250"))
        .count();
    assert_eq!(signed, 2, "dig signed the two IOC queries: {served:?}");

    let r = replay("dns-kinds-replay", &[&pcap], &[]);
    let dns = r.of_type("dns");
    let key = |e: &&Value, kind: &str| -> Option<(String, String, String, String)> {
        let d = &e["dns"];
        (d["type"] == kind).then(|| {
            let proto = e["proto"].as_str().unwrap().to_ascii_lowercase();
            let q = &d["queries"][0];
            (
                proto,
                d["id"].to_string(),
                q["rrname"].as_str().unwrap().to_string(),
                q["rrtype"].as_str().unwrap().to_string(),
            )
        })
    };
    let read: BTreeSet<(String, String, String, String)> = served
        .iter()
        .map(|m| {
            let t = match m[3].as_str() {
                "1" => "A".to_string(),
                "249" => "TKEY".to_string(),
                n => n.to_string(),
            };
            (m[0].clone(), m[1].clone(), m[2].clone(), t)
        })
        .collect();
    let requests: BTreeSet<_> = dns.iter().filter_map(|e| key(e, "request")).collect();
    let responses: BTreeSet<_> = dns.iter().filter_map(|e| key(e, "response")).collect();
    assert_eq!(requests, read, "dns requests vs what the server read");
    assert_eq!(responses, read, "dns responses vs what the server answered");
    assert_eq!(dns.len(), 2 * served.len(), "{dns:#?}");

    // The answers' types as dig printed them, in the order of the queries.
    let mut logged: Vec<(String, Vec<String>)> = dns
        .iter()
        .filter(|e| e["dns"]["type"] == "response")
        .map(|e| {
            let types = e["dns"]["answers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a["rrtype"].as_str().unwrap().to_string())
                .collect();
            (e["timestamp"].as_str().unwrap().to_string(), types)
        })
        .collect();
    logged.sort();
    let logged: Vec<Vec<String>> = logged.into_iter().map(|(_, t)| t).collect();
    assert_eq!(logged, printed, "answer types: replay vs dig");

    // The signed queries carry their TSIG (and dig's OPT cookie) in `additionals`.
    for e in dns
        .iter()
        .filter(|e| e["dns"]["type"] == "request" && e["dns"]["queries"][0]["rrname"] == IOC)
    {
        let adds: Vec<&str> = e["dns"]["additionals"]
            .as_array()
            .unwrap_or_else(|| panic!("no additionals: {e}"))
            .iter()
            .map(|a| a["rrtype"].as_str().unwrap())
            .collect();
        assert!(adds.contains(&"TSIG"), "{e}");
        let tsig = e["dns"]["additionals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["rrtype"] == "TSIG")
            .unwrap();
        assert_eq!(tsig["rrname"], "ci-update-key");
    }
    let tkey = dns
        .iter()
        .find(|e| e["dns"]["type"] == "response" && e["dns"]["queries"][0]["rrtype"] == "TKEY")
        .expect("TKEY response");
    assert_eq!(tkey["dns"]["additionals"][0]["rrtype"], "TSIG", "{tkey}");

    let alerts = alert_rows(&r.events);
    let ioc: Vec<&String> = alerts
        .iter()
        .filter(|a| a.starts_with(&format!("ioc-domain\t{IOC}\t")))
        .collect();
    assert_eq!(
        ioc.len(),
        2,
        "the signed IOC queries, UDP and TCP: {alerts:#?}"
    );
    assert!(
        r.stderr.contains("0 undecodable records skipped"),
        "{}",
        r.stderr
    );
    eprintln!(
        "dns kinds: the server read {} messages ({} signed); replay logged {} dns events, answer types {logged:?}, {} ioc-domain alerts",
        served.len(),
        signed,
        dns.len(),
        ioc.len()
    );
}
