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
