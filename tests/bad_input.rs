//! Bad input gets a clear error naming the file, packet or line, and the right exit code; never
//! a panic, never lost alerts. Run as a user would: the real binary on real and damaged files.

mod common;

use common::*;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_file_is_a_usage_error_naming_the_file() {
    let dir = scratch("missing");
    let eve = dir.join("eve.json");
    let out = egress_ids(&[
        "replay",
        "--eve",
        eve.to_str().unwrap(),
        "/nonexistent/capture.pcap",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("/nonexistent/capture.pcap: cannot open"),
        "{err}"
    );
    assert!(
        !eve.exists(),
        "no EVE file may be written when an input is missing"
    );
}

#[test]
fn a_file_that_is_not_a_capture_is_refused() {
    let out = egress_ids(&["replay", "--eve", "-", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("Cargo.toml: not a pcap or pcapng capture"),
        "{}",
        stderr_of(&out)
    );
    let empty = scratch("empty").join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let out = egress_ids(&["replay", "--eve", "-", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("the file is empty"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(egress_ids(&["replay"]).status.code(), Some(2));
    assert_eq!(egress_ids(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        egress_ids(&["replay", "--home-net", "10.0.0.0/33", "x.pcap"])
            .status
            .code(),
        Some(2)
    );
    let help = egress_ids(&["replay", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("1  at least one alert"));
}

#[test]
fn bad_signature_lines_are_refused_with_file_and_line() {
    let dir = scratch("badsig");
    let list = dir.join("ioc-domains.txt");
    std::fs::write(&list, "# corp feed\ngood.example\nnot a domain\n").unwrap();
    let pcap = dir.join("empty.pcap");
    write_pcap(&pcap, 101, &[]);
    let out = egress_ids(&[
        "replay",
        "--eve",
        "-",
        "--signatures",
        list.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(err.contains("ioc-domains.txt:3:"), "{err}");
    let unknown = dir.join("iocs.txt");
    std::fs::write(&unknown, "x.example\n").unwrap();
    let out = egress_ids(&[
        "replay",
        "--eve",
        "-",
        "--signatures",
        unknown.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("unknown list"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn user_signatures_extend_the_defaults() {
    let dir = scratch("usersig");
    let list = dir.join("corp.ioc-domains.txt");
    std::fs::write(&list, "evil.example\n").unwrap();
    // A DNS query for c2.evil.example from a runner.
    let dns = dns_a_query(0x1234, "c2.evil.example");
    let pkt = ipv4_packet([10, 0, 0, 5], [10, 0, 0, 53], L4::udp(40000, 53), &dns);
    let pcap = dir.join("q.pcap");
    write_pcap(
        &pcap,
        101,
        &[(1_774_958_400, 0, pkt.clone(), pkt.len() as u32)],
    );
    let without = replay("usersig-without", &[&pcap], &[]);
    assert_eq!(without.code, 0);
    let with = replay(
        "usersig-with",
        &[&pcap],
        &["--signatures", list.to_str().unwrap()],
    );
    assert_eq!(with.code, 1);
    assert_eq!(
        alert_rows(&with.events),
        vec!["ioc-domain\tc2.evil.example\t10.0.0.5\t10.0.0.53\t53"]
    );
}

#[test]
fn truncated_capture_keeps_complete_packets_and_warns_with_offset() {
    let dir = scratch("truncated");
    let ioc_query = |id: u8| {
        let dns = dns_a_query(u16::from(id), "pkg-validate.net");
        ipv4_packet(
            [10, 0, 0, 5],
            [198, 51, 100, 53],
            L4::udp(40000 + id as u16, 53),
            &dns,
        )
    };
    let pcap = dir.join("full.pcap");
    let records: Vec<_> = (1..=3u8)
        .map(|i| {
            (
                1_774_958_400 + i as u32,
                0,
                ioc_query(i),
                ioc_query(i).len() as u32,
            )
        })
        .collect();
    write_pcap(&pcap, 101, &records);
    let bytes = std::fs::read(&pcap).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let r = replay("truncated-run", &[&cut], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        alert_rows(&r.events).len(),
        2,
        "the two complete packets keep their alerts"
    );
    let warning = r
        .stderr
        .lines()
        .find(|l| l.contains("warning"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        warning.contains("cut.pcap") && warning.contains("at byte 180"),
        "{}",
        r.stderr
    );
}

#[test]
fn snaplen_cut_and_garbage_packets_are_counted_not_fatal() {
    let dir = scratch("garbage");
    let mut records = Vec::new();
    // A ClientHello cut by the snaplen: counted; its headers still make a flow (and a direct-ip
    // alert: nothing resolved 203.0.113.7), its partial payload is ignored.
    let hello = ipv4_packet(
        [10, 0, 0, 5],
        [203, 0, 113, 7],
        L4::tcp(40000, 443, 1, 0x18),
        &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01],
    );
    records.push((1_774_958_400, 0, hello[..44].to_vec(), hello.len() as u32));
    // Garbage on every port we parse, over TCP and UDP, from a bounded pseudo-random generator.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..400u32 {
        let len = (i % 97) as usize;
        let payload: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let port = [53u16, 80, 443, 8443, 5353][i as usize % 5];
        let proto = if i % 2 == 0 { 6 } else { 17 };
        let pkt = ipv4_packet(
            [10, 0, 0, 5],
            [203, 0, 113, 7],
            L4 {
                proto,
                sport: 40000 + (i % 7) as u16,
                dport: port,
                seq: i * 100,
                flags: 0x18,
            },
            &payload,
        );
        records.push((1_774_958_401, i, pkt.clone(), pkt.len() as u32));
        // And the same packet with its header damaged.
        let mut bad = pkt.clone();
        bad[0] = 0x4f;
        records.push((1_774_958_401, i, bad.clone(), bad.len() as u32));
    }
    let pcap = dir.join("garbage.pcap");
    write_pcap(&pcap, 101, &records);
    let r = replay("garbage-run", &[&pcap], &[]);
    assert!(
        r.stderr.contains("packets cut by the snaplen: 1"),
        "{}",
        r.stderr
    );
    assert!(
        r.of_type("tls").is_empty(),
        "a cut ClientHello is never parsed"
    );
    assert!(alert_rows(&r.events)
        .contains(&"direct-ip\t203.0.113.7\t10.0.0.5\t203.0.113.7\t443".to_string()));
    assert!(r.stderr.contains("malformed_ip"), "{}", r.stderr);
}

#[test]
fn corrupt_record_in_a_real_capture_stops_cleanly() {
    let Some(shared) = shared() else { return };
    let pcap = shared.join("corpus/pcaps/bug-1450-04.pcap");
    let r = replay("bug-1450", &[&pcap], &[]);
    assert!(
        r.stderr.contains("warning")
            && r.stderr.contains("bug-1450-04.pcap")
            && r.stderr.contains("byte"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.of_type("tls").len(),
        1,
        "the ClientHello before the damage is still logged"
    );
}

#[test]
fn a_record_larger_than_the_read_buffer_is_read_and_the_next_packet_still_alerts() {
    let dir = scratch("huge-record");
    let dns = dns_a_query(7, "npm-health-check.io");
    let query = ipv4_packet([10, 0, 0, 5], [198, 51, 100, 53], L4::udp(40000, 53), &dns);
    let huge = vec![0x45u8; 600_000];
    let pcap = dir.join("huge.pcap");
    write_pcap(
        &pcap,
        101,
        &[
            (1_774_958_400, 0, huge.clone(), huge.len() as u32),
            (1_774_958_401, 0, query.clone(), query.len() as u32),
        ],
    );
    let r = replay("huge-record-run", &[&pcap], &[]);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert!(
        r.stderr.contains("2 packets (600065 bytes)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        alert_rows(&r.events),
        vec!["ioc-domain\tnpm-health-check.io\t10.0.0.5\t198.51.100.53\t53"]
    );
}

/// A capture file cut while it is replayed (a `tcpdump -C/-W` ring reopening its oldest file
/// truncates it to nothing): the replay ends like any truncated capture, with a warning naming the
/// file and the byte it stopped at, and the events of every packet before it -- the same as a
/// replay of just those packets -- instead of dying of SIGBUS (the file is memory-mapped).
#[test]
fn a_capture_truncated_while_replayed_ends_with_a_warning_and_its_events() {
    let dir = scratch("shrinking");
    // A real capture (npm's postinstall calling an IOC host) repeated with its clock moved on by
    // 1000 s each time, so that every round is new flows with their own alerts: ~60 MB.
    let (linktype, round) = read_pcap(&root().join("pcaps/npm-postinstall-ioc.pcap"));
    let rounds = 60_000_000 / round.iter().map(|r| r.2.len() + 16).sum::<usize>();
    let records: Vec<Record> = (0..rounds as u32)
        .flat_map(|i| {
            round
                .iter()
                .map(move |(s, us, data, orig)| (s + i * 1000, *us, data.clone(), *orig))
        })
        .collect();
    let pcap = dir.join("ring.pcap0");
    let eve = dir.join("eve.json");
    // Bounded: at most 5 tries for a cut that lands while the replay is reading (the debug
    // build reads ~60 MB in well over a second; the cut comes 150 ms after the start).
    for attempt in 0..5 {
        write_pcap(&pcap, linktype, &records);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_egress-ids"))
            .args(["replay", "--threads", "1", "--eve"])
            .arg(&eve)
            .arg(&pcap)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start replay");
        std::thread::sleep(std::time::Duration::from_millis(150 + 100 * attempt));
        std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&pcap)
            .expect("truncate the capture as tcpdump -W does");
        let out = child.wait_with_output().expect("wait for replay");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), None, "killed by a signal: {stderr}");
        let Some(warning) = stderr.lines().find(|l| l.contains("shrank")) else {
            // The replay read it all before the cut (or found it empty at the start).
            assert!(
                out.status.code() == Some(0) || out.status.code() == Some(2),
                "{stderr}"
            );
            continue;
        };
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(warning.contains("ring.pcap0"), "{warning}");
        eprintln!("attempt {attempt}: {warning}");
        let packets: usize = warning
            .split("after packet ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no packet count in: {warning}"));
        assert!(packets > 0 && packets < records.len(), "{warning}");
        // Every event of the packets read: the same as a replay of exactly those packets. The
        // last one may have been cut while it was decoded (its bytes past the cut read as
        // zeros); the warning then says so, and only the events of the packets before it are
        // compared.
        let last_cut = warning.contains(&format!("packet {packets} reaches past the cut"));
        let prefix = dir.join("prefix.pcap");
        write_pcap(&prefix, linktype, &records[..packets]);
        let clean = replay("shrinking-prefix", &[&prefix], &["--threads", "1"]);
        let cut = parse_and_validate(&std::fs::read_to_string(&eve).unwrap(), "cut replay");
        let before_last = |events: &[serde_json::Value]| -> Vec<serde_json::Value> {
            events
                .iter()
                .filter(|e| e["pcap_cnt"].as_u64().is_some_and(|n| n < packets as u64))
                .cloned()
                .collect()
        };
        let (cut_events, clean_events) = if last_cut {
            (before_last(&cut), before_last(&clean.events))
        } else {
            (cut.clone(), clean.events.clone())
        };
        let alerts = alert_rows(&cut_events);
        assert!(!alerts.is_empty(), "alerts before the cut: {stderr}");
        assert_eq!(alerts, alert_rows(&clean_events));
        let count = |events: &[serde_json::Value], t: &str| {
            events.iter().filter(|e| e["event_type"] == t).count()
        };
        for t in ["alert", "dns", "tls"] {
            assert_eq!(count(&cut_events, t), count(&clean_events, t), "{t} events");
        }
        // Flow events carry no packet number. A last packet that read as zeros (wholly or in
        // part) adds at most one flow of its own, and the clean replay of every packet before
        // it is the floor: so with a cut last packet the cut replay has the flows of the
        // packets before it, plus at most one.
        let flows = count(&cut, "flow");
        if last_cut {
            write_pcap(&prefix, linktype, &records[..packets - 1]);
            let before = replay("shrinking-before-last", &[&prefix], &["--threads", "1"]);
            let floor = count(&before.events, "flow");
            assert!(
                flows == floor || flows == floor + 1,
                "flow events: {flows} after a cut packet, {floor} for the packets before it"
            );
        } else {
            assert_eq!(flows, count(&clean.events, "flow"), "flow events");
        }
        return;
    }
    panic!("the replay finished before the cut in all 5 tries");
}
