//! The parallel pipeline gives the same answers as one thread: for every capture in pcaps/ and
//! ../shared/corpus, the EVE events (alerts, tls, dns, http, flow, stats) of `--threads 1` and
//! `--threads 4` are the same multiset of lines. Also the repository's captures replayed as one
//! stream, where DNS answers of one capture and flows of another meet in different shards.

use crate::common::*;
use std::path::{Path, PathBuf};

fn captures() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    if let Some(shared) = shared() {
        all.extend(
            std::fs::read_dir(shared.join("corpus/pcaps"))
                .expect("corpus pcaps")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")),
        );
    }
    all.sort();
    all
}

/// The EVE lines of a replay with `threads` workers, sorted (order across shards may differ).
fn sorted_events(name: &str, pcaps: &[&Path], threads: &str) -> (i32, Vec<String>) {
    let r = replay(
        name,
        pcaps,
        &["--threads", threads, "--stats-interval", "1"],
    );
    let mut lines: Vec<String> = r.events.iter().map(|e| e.to_string()).collect();
    lines.sort();
    (r.code, lines)
}

#[test]
fn one_thread_and_four_threads_log_the_same_events_for_every_capture() {
    let pcaps = captures();
    assert!(pcaps.len() >= 12, "found only {} captures", pcaps.len());
    let (mut events, mut alerts, mut stats) = (0, 0, 0);
    for pcap in &pcaps {
        let (code1, one) = sorted_events("threads-1", &[pcap], "1");
        let (code4, four) = sorted_events("threads-4", &[pcap], "4");
        assert_eq!(code1, code4, "{}: exit codes differ", pcap.display());
        if one != four {
            let only1: Vec<&String> = one.iter().filter(|l| !four.contains(l)).collect();
            let only4: Vec<&String> = four.iter().filter(|l| !one.contains(l)).collect();
            panic!(
                "{}: events differ\nonly with 1 thread: {only1:#?}\nonly with 4 threads: {only4:#?}",
                pcap.display()
            );
        }
        events += one.len();
        alerts += one
            .iter()
            .filter(|l| l.contains("\"event_type\":\"alert\""))
            .count();
        stats += one
            .iter()
            .filter(|l| l.contains("\"event_type\":\"stats\""))
            .count();
    }
    eprintln!(
        "{} captures: {events} events ({alerts} alerts, {stats} stats) identical with 1 and 4 threads",
        pcaps.len()
    );
    assert!(alerts >= 20 && stats >= pcaps.len());
}

#[test]
fn captures_replayed_as_one_stream_agree_across_thread_counts() {
    let pcaps: Vec<PathBuf> = captures()
        .into_iter()
        .filter(|p| p.starts_with(root().join("pcaps")))
        .collect();
    let refs: Vec<&Path> = pcaps.iter().map(|p| p.as_path()).collect();
    let (code1, one) = sorted_events("stream-1", &refs, "1");
    let (code2, two) = sorted_events("stream-2", &refs, "2");
    let (code4, four) = sorted_events("stream-4", &refs, "4");
    assert_eq!((code1, code2, code4), (1, 1, 1));
    assert_eq!(one, two);
    assert_eq!(one, four);
}

#[test]
fn a_system_that_refuses_threads_gets_the_same_events_on_one_thread() {
    if !crate::common::netns::root_or_skip(
        "the thread refusal (it switches to nobody with setpriv)",
    ) {
        return;
    }
    // nobody, allowed one process: the binary itself, so no thread can start.
    let dir = scratch("threads-refused");
    let _ = std::process::Command::new("chmod")
        .args(["777"])
        .arg(&dir)
        .status();
    let pcap = dir.join("npm-postinstall-ioc.pcap");
    std::fs::copy(root().join("pcaps/npm-postinstall-ioc.pcap"), &pcap).expect("copy pcap");
    let bin = dir.join("egress-ids");
    std::fs::copy(env!("CARGO_BIN_EXE_egress-ids"), &bin).expect("copy binary");
    let eve = dir.join("eve.json");
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "bash",
            "-c",
            "ulimit -u 1 && exec \"$@\"",
            "bash",
        ])
        .arg(&bin)
        .args(["replay", "--threads", "4", "--eve"])
        .arg(&eve)
        .arg(&pcap)
        .output()
        .expect("run setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the system refused to start 5 threads")
            && stderr.contains("ran on one thread instead"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&eve).expect("EVE written");
    let mut got: Vec<String> = text.lines().map(str::to_owned).collect();
    got.sort();
    let (_, want) = sorted_events("threads-refused-ref", &[&pcap], "1");
    assert_eq!(got, want);
}
