//! The sensor's name (`--sensor-name`, the daemon's `sensor_name`): written as `"host"` at the
//! end of every EVE record of every event type, as Suricata's `sensor-name` does
//! (`OutputJsonBuilderBuffer` in Suricata's `src/output-json.c` sets it just before it closes
//! the record), and absent when unset. Replays of the real captures in `pcaps/`, one live run
//! between two network namespaces of the test's own, and one `egress-ids run` of a real curl
//! calling an IOC name (tests/common/runner.rs: its namespaces, resolver and TLS server).

use crate::common::live::live_over;
use crate::common::netns::root_or_skip;
use crate::common::runner::{run, world, Step, IOC};
use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Captures that between them raise alerts and write every event type egress-ids has.
fn captures() -> Vec<PathBuf> {
    [
        "npm-postinstall-ioc.pcap",
        "dns-ioc-udp-tcp.pcap",
        "node-http-ua.pcap",
        "quic-ioc.pcap",
        "ech-hidden.pcap",
    ]
    .iter()
    .map(|n| root().join("pcaps").join(n))
    .collect()
}

/// The raw EVE lines of `egress-ids replay ARGS PCAPS`.
/// Every event carries `host` = `name`, as its last field.
fn assert_host_last(events: &[Value], name: &str) {
    for e in events {
        assert_eq!(e["host"], name, "{e}");
        assert_eq!(
            e.as_object()
                .unwrap()
                .keys()
                .next_back()
                .map(String::as_str),
            Some("host")
        );
    }
}

fn replay_lines(tag: &str, pcaps: &[&Path], args: &[&str]) -> Vec<String> {
    let dir = scratch(tag);
    let eve = dir.join("eve.json");
    let mut all = vec![
        "replay",
        "-q",
        "--threads",
        "2",
        "--eve",
        eve.to_str().unwrap(),
    ];
    all.extend(args);
    all.extend(pcaps.iter().map(|p| p.to_str().unwrap()));
    let out = egress_ids(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn replay_appends_host_to_every_record_and_changes_nothing_else() {
    let pcaps = captures();
    let refs: Vec<&Path> = pcaps.iter().map(|p| p.as_path()).collect();
    let plain = replay_lines("sensor-name-unset", &refs, &[]);
    // A name that needs escaping in JSON, and one character beyond ASCII.
    let name = "ci-east \"7\" \\ Läufer";
    let named = replay_lines("sensor-name-set", &refs, &["--sensor-name", name]);
    assert_eq!(plain.len(), named.len(), "the same records, one for one");
    assert!(
        plain.iter().all(|l| !l.contains("\"host\":")),
        "unset: no host field"
    );
    let suffix = format!(",\"host\":{}}}", serde_json::to_string(name).unwrap());
    for (p, n) in plain.iter().zip(&named) {
        let body = n
            .strip_suffix(&suffix)
            .unwrap_or_else(|| panic!("no host at the end of {n}"));
        assert_eq!(
            format!("{body}}}"),
            *p,
            "a record differs beyond its host field"
        );
    }
    let events = parse_and_validate(&named.join("\n"), "replay --sensor-name");
    let mut types = BTreeSet::new();
    for e in &events {
        assert_eq!(e["host"], name, "{e}");
        let last = e.as_object().unwrap().keys().next_back().unwrap();
        assert_eq!(last, "host", "host is the record's last field: {e}");
        types.insert(e["event_type"].as_str().unwrap().to_string());
    }
    for t in ["alert", "dns", "flow", "http", "quic", "stats", "tls"] {
        assert!(types.contains(t), "no {t} event to check: {types:?}");
    }
    eprintln!(
        "sensor-name: {} records of types {types:?}, each with host last",
        events.len()
    );
}

#[test]
fn a_bad_name_is_refused_before_anything_runs() {
    let pcap = root().join("pcaps/ioc-sni.pcap");
    let dir = scratch("sensor-name-bad");
    let eve = dir.join("eve.json");
    let out = egress_ids(&[
        "replay",
        "--sensor-name",
        "a\nb",
        "--eve",
        eve.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the name holds a control character ('\\n')"),
        "{stderr}"
    );
    assert!(!eve.exists(), "nothing was written");
}

#[test]
fn live_capture_appends_host_to_every_record() {
    if !root_or_skip("live capture with --sensor-name") {
        return;
    }
    let pcap = root().join("pcaps/npm-postinstall-ioc.pcap");
    let live = live_over(
        "sensor-name-live",
        &[
            "-i",
            "eids-rx",
            "--warmup",
            "0",
            "--stats-interval",
            "1",
            "--sensor-name",
            "span-sensor-1",
        ],
        &[&pcap],
    );
    let types: BTreeSet<&str> = live
        .events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for t in ["alert", "flow", "stats"] {
        assert!(
            types.contains(t),
            "no {t} event: {types:?}\n{}",
            live.stderr
        );
    }
    assert_host_last(&live.events, "span-sensor-1");
    let alerts: Vec<&Value> = live
        .events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .collect();
    eprintln!(
        "sensor-name live: {} records ({} alerts), each with host last",
        live.events.len(),
        alerts.len()
    );
}

#[test]
fn a_run_step_writes_host_in_its_eve_file() {
    if !root_or_skip("egress-ids run with --sensor-name") {
        return;
    }
    let dir = scratch("sensor-name-run");
    let w = world(&dir, "snrun");
    let eve = dir.join("step.json");
    // As tests/run.rs calls home: the IOC name, resolved by the world's resolver.
    let curl = format!(
        "curl -sk --max-time 10 -o /dev/null https://{}/; true",
        IOC.0
    );
    let out = run(
        &w,
        &[
            "--audit",
            "--sensor-name",
            "runner-7",
            "--eve",
            eve.to_str().unwrap(),
        ],
        &Step::sh(&curl),
    );
    let report = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{report}");
    let events = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "run --eve");
    assert!(
        alert_rows(&events)
            .iter()
            .any(|r| r.starts_with(&format!("ioc-domain\t{}\t", IOC.0))),
        "{report}"
    );
    assert_host_last(&events, "runner-7");
    eprintln!(
        "sensor-name run: {} records, each with host last",
        events.len()
    );
}
