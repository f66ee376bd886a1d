//! `egress-ids live --capture-threads 2`: the interface opened twice as one AF_PACKET fanout
//! group, one capture thread and shard per ring. Real clients (curl, dig) in a runner namespace
//! talk to real servers (dnsmasq, `openssl s_server`) in an "internet" namespace over one veth
//! pair; tcpdump records the runner's interface at the same time. The sensor must give the
//! alerts and flow records `egress-ids replay` gives for tcpdump's capture: every flow whole
//! (both directions reached one ring), the `direct-ip` verdicts the same although the DNS
//! answers and the connections went through different rings, a signature reload taken up by
//! every ring, and every flow still open at the stop written.

mod common;

use common::live::wait_until;
use common::netns::{root_or_skip, run_ok, wait_for_line, Child};
use common::runner::{world, IOC, REGISTRY, RESOLVER};
use common::*;
use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;

/// Registry fetches and `dig`s of the registry's name; each a flow of its own, from its own
/// source port.
const ROUNDS: usize = 20;
/// A name added to the IOC list by the reload.
const RELOADED_IOC: &str = "fanout-c2.example";

/// Alerts as rows that tell every alert apart: detection, indicator, both endpoints, protocol.
fn alert_rows_full(events: &[Value]) -> Vec<String> {
    let mut rows: Vec<String> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            format!(
                "{} {} {}:{} -> {}:{} {}",
                e["alert"]["metadata"]["detection"][0],
                e["alert"]["metadata"]["indicator"][0],
                canon_ip(e["src_ip"].as_str().unwrap_or("")),
                e["src_port"],
                canon_ip(e["dest_ip"].as_str().unwrap_or("")),
                e["dest_port"],
                e["proto"]
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Flow records as rows: endpoints, protocol, app layer, packets and bytes each way, alerted.
/// (Not when or why the flow ended: the sensor ends some by timeout, replay all at the end.)
fn flow_rows(events: &[Value]) -> Vec<String> {
    let mut rows: Vec<String> = events
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .map(|e| {
            let f = &e["flow"];
            format!(
                "{}:{} -> {}:{} {} {} pkts {}/{} bytes {}/{} alerted {}",
                canon_ip(e["src_ip"].as_str().unwrap_or("")),
                e["src_port"],
                canon_ip(e["dest_ip"].as_str().unwrap_or("")),
                e["dest_port"],
                e["proto"],
                e["app_proto"],
                f["pkts_toserver"],
                f["pkts_toclient"],
                f["bytes_toserver"],
                f["bytes_toclient"],
                f["alerted"]
            )
        })
        .collect();
    rows.sort();
    rows
}

/// `(thread, packets, kernel drops)` of each "capture thread K: IFACE ring: ..." line.
fn ring_lines(stderr: &str) -> Vec<(usize, u64, u64)> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.split("capture thread ").nth(1)?;
            let (thread, rest) = rest.split_once(':')?;
            let rest = rest.split("ring: ").nth(1)?;
            let mut words = rest.split_whitespace();
            let packets = words.next()?.parse().ok()?;
            let drops = words.nth(1)?.parse().ok()?;
            Some((thread.parse().ok()?, packets, drops))
        })
        .collect()
}

#[test]
fn two_capture_threads_give_the_events_of_a_replay_of_the_same_traffic() {
    if !root_or_skip("live capture with AF_PACKET fanout") {
        return;
    }
    let dir = scratch("fanout-live");
    let world = world(&dir, "fanout");
    let sigs = dir.join("signatures");
    std::fs::create_dir_all(&sigs).expect("create signatures dir");
    let iocs = sigs.join("ioc-domains.txt");
    std::fs::write(&iocs, "# extended by the reload\n").expect("write ioc-domains.txt");

    let pcap = dir.join("tcpdump.pcap");
    let mut tcpdump = world
        .runner
        .tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));
    let err_path = dir.join("live.stderr");
    let eve = dir.join("live.json");
    let mut sensor = Child::spawn(
        world
            .runner
            .exec(env!("CARGO_BIN_EXE_egress-ids"))
            .args([
                "live",
                "-i",
                "eth0",
                "--capture-threads",
                "2",
                "--warmup",
                "0",
            ])
            .args(["--no-attribute", "--stats-interval", "1", "--signatures"])
            .arg(&sigs)
            .arg("--eve")
            .arg(&eve)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err_path).expect("create live.stderr")),
        "egress-ids live",
    );
    let log = || std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        wait_for_line(&err_path, "capturing on", Duration::from_secs(10)).is_some(),
        "egress-ids live did not start capturing: {}",
        log()
    );
    assert!(
        log().contains("capturing on eth0 (link type 1, 2 rings (AF_PACKET fanout))"),
        "{}",
        log()
    );

    // The clients: registry fetches (resolved by curl) and digs of the registry's name, the
    // IOC name fetched (the C2-like case: its DNS queries and its TLS SNI alert), and the
    // registry's address fetched directly (resolved before: no direct-ip; no SNI: no-sni).
    let script = format!(
        "for i in $(seq 1 {ROUNDS}); do \
           curl -sk --max-time 5 -o /dev/null https://{registry}/; \
           dig +time=2 +tries=1 @{RESOLVER} {registry} A >/dev/null; \
         done; \
         for i in 1 2 3 4; do curl -sk --max-time 5 -o /dev/null https://{ioc}/; done; \
         curl -sk --max-time 5 -o /dev/null https://{addr}/; true",
        registry = REGISTRY.0,
        ioc = IOC.0,
        addr = REGISTRY.1,
    );
    run_ok(
        world.runner.exec("sh").args(["-c", &script]),
        Duration::from_secs(120),
    );

    // A reload, then a name only the new list holds, queried from several source ports.
    std::fs::write(&iocs, format!("{RELOADED_IOC}\n")).expect("extend ioc-domains.txt");
    sensor.signal(nix::sys::signal::Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(10), || log()
            .contains("signatures reloaded")),
        "no reload: {}",
        log()
    );
    // Every capture thread takes the reload at its next turn (every 10 ms at the latest).
    std::thread::sleep(Duration::from_millis(200));
    run_ok(
        world.runner.exec("sh").args([
            "-c",
            &format!(
                "for i in 1 2 3 4 5 6; do dig +time=2 +tries=1 @{RESOLVER} {RELOADED_IOC} A >/dev/null; done; true"
            ),
        ]),
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_millis(300));

    let status = sensor
        .terminate(Duration::from_secs(20))
        .expect("egress-ids live exits within 20 s of SIGTERM");
    let stderr = log();
    assert!(
        status.success(),
        "egress-ids live exited {status}: {stderr}"
    );
    let _ = tcpdump.terminate(Duration::from_secs(10));
    let live = parse_and_validate(
        &std::fs::read_to_string(&eve).unwrap_or_default(),
        "fanout live",
    );
    let sigs_arg = sigs.display().to_string();
    let reference = replay(
        "fanout-reference",
        &[pcap.as_path()],
        &["--threads", "1", "--signatures", &sigs_arg],
    );

    // Every ring was read, nothing dropped.
    let rings = ring_lines(&stderr);
    assert_eq!(
        rings.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1],
        "{stderr}"
    );
    assert!(
        rings.iter().all(|r| r.1 > 0),
        "a ring got no packet: {stderr}"
    );
    assert!(rings.iter().all(|r| r.2 == 0), "kernel drops: {stderr}");
    let last_stats = live
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .expect("a stats event");
    let capture = &last_stats["stats"]["capture"];
    assert_eq!(capture["kernel_drops"], 0, "{last_stats}");
    assert_eq!(
        capture["kernel_packets"].as_u64(),
        Some(rings.iter().map(|r| r.1).sum()),
        "the stats event sums every ring: {last_stats}"
    );

    // The same alerts and flows as the replay of tcpdump's capture.
    let want_alerts = alert_rows_full(&reference.events);
    let got_alerts = alert_rows_full(&live);
    assert_eq!(got_alerts, want_alerts, "{stderr}");
    let want_flows = flow_rows(&reference.events);
    let got_flows = flow_rows(&live);
    assert_eq!(got_flows, want_flows, "{stderr}");
    // Both directions of every flow went through one ring: no 5-tuple was split in two.
    assert!(
        want_flows.len() >= 2 * ROUNDS + 5,
        "{} flows",
        want_flows.len()
    );
    let tuples: std::collections::BTreeSet<String> = got_flows
        .iter()
        .map(|r| r.split(" pkts").next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(tuples.len(), got_flows.len(), "a flow was split");

    let detections = |d: &str| got_alerts.iter().filter(|r| r.contains(d)).count();
    assert!(
        detections(IOC.0) >= 5,
        "the C2 name's DNS and TLS: {got_alerts:#?}"
    );
    assert!(
        detections(RELOADED_IOC) >= 6,
        "every query of the reloaded IOC: {got_alerts:#?}"
    );
    assert!(detections("\"no-sni\"") >= 1, "{got_alerts:#?}");
    assert_eq!(detections("\"direct-ip\""), 0, "{got_alerts:#?}");
    eprintln!(
        "fanout: rings {rings:?}, {} alerts and {} flows identical to replay of tcpdump's capture",
        got_alerts.len(),
        got_flows.len()
    );
}

#[test]
fn the_fanout_setting_is_refused_out_of_range() {
    let out = egress_ids(&["live", "-i", "lo", "--capture-threads", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("use 1 to 64"), "{stderr}");
}
