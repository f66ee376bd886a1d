//! `tcpreplay` of every capture in pcaps/ onto a veth gives the same alerts in `egress-ids live`
//! as `egress-ids replay` gives on the files.
//!
//! One sensor captures while the twelve captures are replayed one after another, the way a
//! long-running sensor sees traffic; that is one stream, exactly what `replay a.pcap b.pcap ...`
//! reads, so the live alerts are compared with one replay over the same files in the same
//! order. That the merged stream changes nothing is checked too: its alerts are the union of
//! each file's own replay (no 5-tuple recurs across the captures; the DNS answers of one do not
//! resolve the literal addresses of another). A mismatch names the capture of each row.
//!
//! Setup (tests/common/live.rs): two network namespaces of the test's own, joined by a veth
//! pair (`eids-tx` -> `eids-rx`, MTU 65535, no addresses). IPv6 is disabled in both before the
//! pair exists, and with no IPv4 address either the kernel sends nothing on the link (no router
//! solicitation, MLD report or DAD probe): the sensor sees exactly the replayed frames, without
//! a `--bpf` filter, as a plain SPAN sensor would run.

mod common;

use common::live::{Live, Pair, SEND_PPS as PPS};
use common::netns::root_or_skip;
use common::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// LINKTYPE_ETHERNET: what a veth carries.
const ETHERNET: u32 = 1;

/// The frame count of tcpreplay's "Actual: N packets (B bytes) sent in S seconds" line.
fn actual_packets(out: &str) -> u64 {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("Actual: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'Actual: N packets' line in tcpreplay's output:\n{out}"))
}

#[test]
fn tcpreplay_of_every_capture_onto_a_veth_gives_the_replay_alerts_in_live() {
    if !root_or_skip("the live capture of tcpreplay on a veth") {
        return;
    }
    let started = Instant::now();
    assert!(
        std::process::Command::new("tcpreplay")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "tcpreplay is missing: bash scripts/install-deps.sh"
    );
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .expect("read pcaps/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(
        pcaps.len() >= 12,
        "expected at least 12 captures in pcaps/, found {}",
        pcaps.len()
    );
    let name = |p: &PathBuf| p.file_stem().unwrap().to_string_lossy().into_owned();
    // Every capture must fit on an Ethernet veth: its link type, and frames under the MTU.
    let mut frames_in_files = 0u64;
    for pcap in &pcaps {
        let (linktype, records) = read_pcap(pcap);
        assert_eq!(
            linktype,
            ETHERNET,
            "{}: link type {linktype} cannot go onto an Ethernet veth",
            pcap.display()
        );
        let largest = records.iter().map(|r| r.2.len()).max().unwrap_or(0);
        assert!(
            largest <= 65535 + 14,
            "{}: a {largest}-byte frame",
            pcap.display()
        );
        frames_in_files += records.len() as u64;
    }

    // The reference: one replay over the files in order, and each file on its own.
    let refs: Vec<&std::path::Path> = pcaps.iter().map(|p| p.as_path()).collect();
    let want = alert_rows(&replay("live-replay-reference", &refs, &["--threads", "1"]).events);
    let mut origin: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut union = Vec::new();
    for pcap in &pcaps {
        let rows = alert_rows(&replay("live-replay-one", &[pcap], &["--threads", "1"]).events);
        for row in &rows {
            origin.entry(row.clone()).or_default().push(name(pcap));
        }
        union.extend(rows);
    }
    union.sort();
    assert_eq!(
        want, union,
        "replaying the captures as one stream changes their alerts"
    );
    let from = |row: &String| {
        origin
            .get(row)
            .map_or_else(|| "?".to_owned(), |n| n.join(","))
    };

    let dir = scratch("live-replay");
    let pair = Pair::new("live-replay");
    let mut sensor = pair.start(&dir, &["-i", "eids-rx", "--warmup", "0", "--threads", "2"]);
    let mut sent = 0u64;
    for pcap in &pcaps {
        let out = pair.send(pcap);
        let n = actual_packets(&out);
        let (_, records) = read_pcap(pcap);
        assert_eq!(
            n,
            records.len() as u64,
            "tcpreplay sent {n} of the {} frames of {}:\n{out}",
            records.len(),
            pcap.display()
        );
        sent += n;
    }
    let Live { events, stderr } = pair.stop(&dir, &mut sensor);
    let got = alert_rows(&events);
    if got != want {
        let missing: Vec<String> = want
            .iter()
            .filter(|r| !got.contains(r))
            .map(|r| format!("  {r}\t(from {})", from(r)))
            .collect();
        let extra: Vec<String> = got
            .iter()
            .filter(|r| !want.contains(r))
            .map(|r| format!("  {r}"))
            .collect();
        panic!(
            "live alerts differ from replay's ({} live, {} replay; rows are detection, indicator, src, dest, port)\n\
             only in replay:\n{}\nonly in live:\n{}\nlive stderr:\n{stderr}",
            got.len(),
            want.len(),
            missing.join("\n"),
            extra.join("\n")
        );
    }

    // Attribution is on by default where the collector starts (as root here), and a SPAN
    // sensor's traffic, of no local socket, is passed on without a lookup: the alerts above are
    // the replay's, without `process`, and not held back.
    if stderr.contains("process attribution: on") {
        let line = stderr
            .lines()
            .find(|l| l.contains("of other hosts were not looked up"))
            .unwrap_or_else(|| panic!("no attribution counts in the sensor's log:\n{stderr}"));
        let numbers: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!(
            matches!(numbers[..], [0, _, n] if n >= got.len() as u64),
            "a SPAN sensor looked traffic of other hosts up: {line}"
        );
        assert!(events.iter().all(|e| e.get("process").is_none()));
        eprintln!("live-replay: {line}");
    } else {
        eprintln!("NOTE: process attribution did not start here; its counts are not checked");
    }

    let stats = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .expect("a final stats event");
    let capture = &stats["stats"]["capture"];
    let kernel_packets = capture["kernel_packets"].as_u64().expect("kernel_packets");
    let kernel_drops = capture["kernel_drops"].as_u64().expect("kernel_drops");
    assert_eq!(
        kernel_drops, 0,
        "the kernel dropped frames at {PPS} pps: {capture}"
    );
    assert!(
        kernel_packets >= sent,
        "the kernel received {kernel_packets} frames, fewer than the {sent} replayed: {capture}"
    );
    if kernel_packets > sent {
        eprintln!(
            "NOTE: the kernel counted {} frames beyond the replayed ones",
            kernel_packets - sent
        );
    }
    assert_eq!(frames_in_files, sent);
    eprintln!(
        "live-replay: {} pcaps, {sent} frames replayed at {PPS} pps, {} alerts identical in live and replay, \
         kernel received {kernel_packets}, kernel drops {kernel_drops}; {:.1} s",
        pcaps.len(),
        got.len(),
        started.elapsed().as_secs_f64()
    );
}
