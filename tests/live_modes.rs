//! Live capture modes beyond one Ethernet interface, with real frames sent by tcpreplay between
//! two network namespaces of the test's own: the `any` pseudo-interface (Linux cooked capture
//! v2) gives replay's alerts, and the `direct-ip` warm-up holds back exactly the flows that
//! start during it.

mod common;

use common::netns::{root_or_skip, run_ok, wait_for_line, Child, Netns};
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// What a `live` run saw: its EVE events and its stderr.
struct Live {
    events: Vec<Value>,
    stderr: String,
}

/// Starts `egress-ids live ARGS` in a namespace holding only the receiving end of a veth pair
/// (interface `eids-rx`), replays `pcaps` into the sending end from a second namespace, then
/// stops the sensor with SIGTERM.
fn live_over(tag: &str, args: &[&str], pcaps: &[&Path]) -> Live {
    let sender = Netns::new(&format!("{tag}-tx"));
    let sensor_ns = Netns::new(&format!("{tag}-rx"));
    sender.veth_to("eids-tx", &sensor_ns, "eids-rx", 65535);
    let dir = scratch(tag);
    let eve = dir.join("live.json");
    let err_path = dir.join("live.stderr");
    let err_file = std::fs::File::create(&err_path).expect("create live.stderr");
    let mut sensor = Child::spawn(
        sensor_ns
            .exec(env!("CARGO_BIN_EXE_egress-ids"))
            .arg("live")
            .args(args)
            .arg("--eve")
            .arg(&eve)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file),
        "egress-ids live",
    );
    assert!(
        wait_for_line(&err_path, "capturing on", Duration::from_secs(10)).is_some(),
        "egress-ids live did not start capturing: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    for pcap in pcaps {
        run_ok(
            sender
                .exec("tcpreplay")
                .args(["-i", "eids-tx", "--pps", "2000"])
                .arg(pcap),
            Duration::from_secs(20),
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    let status = sensor
        .terminate(Duration::from_secs(15))
        .expect("egress-ids live exits within 15 s of SIGTERM");
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "egress-ids live exited {status}:\n{stderr}"
    );
    let text = std::fs::read_to_string(&eve).expect("read live.json");
    Live {
        events: parse_and_validate(&text, tag),
        stderr,
    }
}

#[test]
fn the_any_interface_captures_as_linux_cooked_v2_with_the_same_alerts() {
    if !root_or_skip("live capture on the any interface") {
        return;
    }
    let pcaps = [
        root().join("pcaps/npm-postinstall-ioc.pcap"),
        root().join("pcaps/dns-ioc-udp-tcp.pcap"),
        root().join("pcaps/ipv6-ioc.pcap"),
    ];
    let refs: Vec<&Path> = pcaps.iter().map(|p| p.as_path()).collect();
    let want = alert_rows(&replay("any-reference", &refs, &["--threads", "1"]).events);
    let live = live_over("any", &["-i", "any", "--warmup", "0"], &refs);
    assert!(
        live.stderr.contains("capturing on any (link type 276)"),
        "`any` should be captured as LINKTYPE_LINUX_SLL2: {}",
        live.stderr
    );
    assert!(!want.is_empty());
    assert_eq!(alert_rows(&live.events), want, "{}", live.stderr);
    eprintln!(
        "any: link type 276, {} alerts identical to replay",
        want.len()
    );
}

#[test]
fn the_warm_up_holds_back_direct_ip_for_flows_that_start_during_it() {
    if !root_or_skip("the live direct-ip warm-up") {
        return;
    }
    // A TLS connection by IP address with no DNS: `direct-ip` and `no-sni` once warm.
    let pcap = root().join("pcaps/tls-ip-literal.pcap");
    let warm = live_over("warmup-0", &["-i", "eids-rx", "--warmup", "0"], &[&pcap]);
    let cold = live_over("warmup-60", &["-i", "eids-rx", "--warmup", "60"], &[&pcap]);
    let detections = |l: &Live| -> Vec<String> {
        alert_rows(&l.events)
            .iter()
            .map(|r| r.split('\t').next().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(
        detections(&warm),
        ["direct-ip", "no-sni"],
        "{}",
        warm.stderr
    );
    assert_eq!(detections(&cold), ["no-sni"], "{}", cold.stderr);
    assert!(
        cold.stderr
            .contains("direct-ip: 1 flows not checked, started during the warm-up"),
        "{}",
        cold.stderr
    );
}
