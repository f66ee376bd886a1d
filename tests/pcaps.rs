//! The project's own captures of real clients (pcaps/, made by pcaps/make-captures.sh in network
//! namespaces) give exactly their expected alerts; and a fresh capture made now, with the same
//! script, gives them again.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The expected alert rows of `<name>.expected`, sorted.
fn expected_rows(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "{}: bad expected line {l:?}", path.display());
            format!(
                "{}\t{}\t{}\t{}\t{}",
                f[0],
                f[1],
                canon_ip(f[2]),
                canon_ip(f[3]),
                f[4]
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Replays every `*.pcap` of `dir` that has a `.expected` file and compares; returns how many.
fn check_dir(dir: &Path, tag: &str) -> usize {
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "pcap") && p.with_extension("expected").is_file()
        })
        .collect();
    pcaps.sort();
    let mut failures = Vec::new();
    for pcap in &pcaps {
        let name = pcap.file_stem().unwrap().to_string_lossy().into_owned();
        let r = replay(&format!("{tag}-{name}"), &[pcap], &[]);
        let got = alert_rows(&r.events);
        let want = expected_rows(&pcap.with_extension("expected"));
        if got != want {
            failures.push(format!(
                "{name}:\n  expected {want:#?}\n  got      {got:#?}\n  stderr: {}",
                r.stderr
            ));
        }
        let expect_code = if want.is_empty() { 0 } else { 1 };
        if r.code != expect_code {
            failures.push(format!(
                "{name}: exit code {} (expected {expect_code})",
                r.code
            ));
        }
        eprintln!("{tag}: {name}: {} alerts as expected", got.len());
    }
    assert!(
        failures.is_empty(),
        "{} of {} captures differ:\n{}",
        failures.len(),
        pcaps.len(),
        failures.join("\n")
    );
    pcaps.len()
}

#[test]
fn committed_captures_give_exactly_their_expected_alerts() {
    let n = check_dir(&root().join("pcaps"), "committed");
    assert!(
        n >= 12,
        "expected at least 12 committed scenarios, found {n}"
    );
}

#[test]
fn fresh_captures_of_real_clients_give_the_expected_alerts() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !is_root {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI runs as root: the live capture test must run"
        );
        eprintln!(
            "NOTE: not root: skipping the fresh capture of real clients in network namespaces"
        );
        return;
    }
    let out_dir = scratch("fresh-captures");
    let status = Command::new("bash")
        .arg(root().join("pcaps/make-captures.sh"))
        .arg(&out_dir)
        .status()
        .expect("run pcaps/make-captures.sh");
    assert!(status.success(), "pcaps/make-captures.sh failed: {status}");
    let n = check_dir(&out_dir, "fresh");
    assert!(n >= 12, "the script made only {n} scenarios");
}

/// The `direct-ip` alert of the committed capture `name`.
fn direct_ip_alert(name: &str) -> serde_json::Value {
    let r = replay(
        &format!("carry-{name}"),
        &[&root().join(format!("pcaps/{name}.pcap"))],
        &[],
    );
    r.events
        .into_iter()
        .find(|e| e["alert"]["metadata"]["detection"][0] == "direct-ip")
        .unwrap_or_else(|| panic!("{name}: no direct-ip alert"))
}

#[test]
fn flow_start_alerts_carry_the_flows_app_layer_object() {
    let tls = direct_ip_alert("tls-ip-literal");
    assert_eq!(tls["app_proto"], "tls");
    assert!(
        tls["tls"]["ja4"]
            .as_str()
            .is_some_and(|j| j.starts_with("t13i")),
        "{tls}"
    );
    let http = direct_ip_alert("http-ip-host");
    assert_eq!(http["http"]["hostname"], "203.0.113.9", "{http}");
    assert_eq!(http["http"]["http_user_agent"], "axios/1.7.9", "{http}");
}

#[test]
fn a_client_hello_in_reversed_and_retransmitted_segments_parses_the_same() {
    let original = root().join("pcaps/split-clienthello.pcap");
    let (linktype, records) = read_pcap(&original);
    let hello: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| eth_ipv4_tcp(&r.2).is_some_and(|(dport, len)| dport == 443 && len > 0))
        .map(|(i, _)| i)
        .take_while(|i| *i < records.len())
        .collect();
    assert!(
        hello.len() >= 4,
        "the ClientHello should span at least 4 data segments, found {hello:?}"
    );
    let first_four = &hello[..4];
    let mut shuffled = records.clone();
    for (slot, from) in first_four.iter().zip(first_four.iter().rev()) {
        shuffled[*slot] = records[*from].clone();
    }
    // A retransmission of the second segment with its payload overwritten: first copy wins.
    let mut forged = records[first_four[1]].clone();
    let len = forged.2.len();
    forged.2[len - 20..].fill(b'X');
    shuffled.insert(first_four[3] + 1, forged);
    let dir = scratch("reordered-hello");
    let reordered = dir.join("reordered.pcap");
    write_pcap(&reordered, linktype, &shuffled);

    let want = replay("hello-original", &[&original], &[]);
    let got = replay("hello-reordered", &[&reordered], &[]);
    let tls = |r: &Replay| {
        r.of_type("tls")
            .first()
            .map(|e| e["tls"].clone())
            .expect("one tls event")
    };
    assert_eq!(tls(&got), tls(&want));
    assert_eq!(tls(&got)["sni"], "cdn.evil-mirror.net");
    assert_eq!(alert_rows(&got.events), alert_rows(&want.events));
}

#[test]
fn a_dns_answer_in_ip_fragments_is_reassembled_and_resolves_the_next_connection() {
    let r = replay(
        "fragmented-dns",
        &[&root().join("pcaps/dns-fragmented-answer.pcap")],
        &[],
    );
    assert!(
        r.stderr
            .contains("IP fragments: 3 received, 1 datagrams reassembled"),
        "{}",
        r.stderr
    );
    let response = r
        .of_type("dns")
        .into_iter()
        .find(|e| e["dns"]["type"] == "response")
        .expect("the fragmented response is logged");
    assert_eq!(
        response["dns"]["answers"].as_array().map(Vec::len),
        Some(68)
    );
    assert!(
        alert_rows(&r.events).is_empty(),
        "no direct-ip: the reassembled answer resolved the server"
    );
}
