//! IP-layer tricks, judged by a real Linux receiver. A raw-socket client in the runner namespace
//! (`tests/tricks/ipfrag_dns.py`) sends DNS queries in hand-made IPv4 fragments: one datagram
//! with an overlap Linux refuses (the whole datagram is dropped), one with a duplicate fragment
//! inside what was received (dropped, first copy wins), one honest. A UDP server in the
//! "internet" namespace (`tests/tricks/udp_recorder.py`) records the names the kernel delivered;
//! tcpdump captures the runner's link. egress-ids must alert on exactly those names.

mod common;

use common::netns::{root_or_skip, run_ok, start_logged, wait_for_line, Netns};
use common::{replay, scratch};
use nix::sys::signal::Signal;
use std::time::Duration;

const SECS_10: Duration = Duration::from_secs(10);
const RUNNER: &str = "10.0.0.2";
const SERVER: &str = "198.51.100.53";

#[test]
fn overlapping_ipv4_fragments_are_judged_as_linux_judges_them() {
    if !root_or_skip("IPv4 fragment evasion against a real receiver") {
        return;
    }
    let dir = scratch("ip-evasion-v4");
    let tricks = common::root().join("tests/tricks");
    let runner = Netns::new("ipev-r");
    let internet = Netns::new("ipev-i");
    runner.veth_to("r0", &internet, "i0", 1500);
    runner.ip(&["addr", "add", &format!("{RUNNER}/24"), "dev", "r0"]);
    runner.ip(&["route", "add", "198.51.100.0/24", "dev", "r0"]);
    internet.ip(&["addr", "add", &format!("{SERVER}/24"), "dev", "i0"]);
    internet.ip(&["route", "add", "10.0.0.0/24", "dev", "i0"]);

    let received = dir.join("received.txt");
    let _recorder = start_logged(
        internet
            .exec("python3")
            .arg(tricks.join("udp_recorder.py"))
            .args([SERVER, "53"])
            .arg(&received),
        &dir.join("recorder.out"),
        "ready",
        "udp_recorder.py",
    );

    let pcap = dir.join("runner.pcap");
    let mut tcpdump = runner.tcpdump("r0", &pcap, &dir.join("tcpdump.log"));

    run_ok(
        runner
            .exec("python3")
            .arg(tricks.join("ipfrag_dns.py"))
            .args([RUNNER, SERVER]),
        SECS_10,
    );
    // The honest query is the last one sent: once it is in, the kernel has judged them all.
    assert!(
        wait_for_line(&received, "plain-crypto-js.net", SECS_10).is_some(),
        "the honest query never reached the server"
    );
    std::thread::sleep(Duration::from_millis(300));
    tcpdump.signal(Signal::SIGINT);
    assert!(
        tcpdump.wait_timeout(SECS_10).is_some(),
        "tcpdump did not stop"
    );

    let got: Vec<String> = std::fs::read_to_string(&received)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    // What Linux delivered: not the overlapped datagram; the duplicated one with its first copy.
    assert_eq!(got, ["npm-health-check.io", "plain-crypto-js.net"]);

    for threads in ["1", "2"] {
        let r = replay(
            &format!("ip-evasion-v4-replay-{threads}"),
            &[&pcap],
            &["--threads", threads],
        );
        let mut alerted: Vec<String> = r
            .of_type("alert")
            .iter()
            .filter(|a| a["alert"]["metadata"]["detection"][0] == "ioc-domain")
            .map(|a| {
                a["alert"]["metadata"]["indicator"][0]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        alerted.sort();
        assert_eq!(alerted, got, "egress-ids must see what the server received");
        assert!(
            r.stderr.contains(
                "IP fragments: 8 received, 2 datagrams reassembled, 1 dropped (1 for overlapping fragments, as Linux drops them); 1 duplicate fragments ignored"
            ),
            "{}",
            r.stderr
        );
        let stats = &r.of_type("stats").last().expect("stats")["stats"];
        assert_eq!(stats["decoder"]["event"]["ipv4"]["frag_overlap"], 1);
    }
}

const RUNNER6: &str = "fd00::2";
const SERVER6: &str = "2001:db8::53";

/// IPv6 on interface `dev` of `ns` (namespaces start with it off): no link-local address, no
/// duplicate address detection, so nothing but what the test sends crosses the link.
fn ipv6_on(ns: &Netns, dev: &str, addr: &str) {
    ns.sysctl(&format!("net.ipv6.conf.{dev}.addr_gen_mode=1"));
    ns.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6=0"));
    ns.ip(&["-6", "addr", "add", addr, "dev", dev, "nodad"]);
}

fn mac(ns: &Netns, dev: &str) -> String {
    let out = ns.ip(&["-br", "link", "show", "dev", dev]);
    out.split_whitespace()
        .nth(2)
        .unwrap_or_else(|| panic!("no MAC address in {out:?}"))
        .to_owned()
}

#[test]
fn ipv6_extension_headers_in_any_legal_order_and_after_the_fragment_header() {
    if !root_or_skip("IPv6 extension headers against a real receiver") {
        return;
    }
    let dir = scratch("ip-evasion-v6");
    let tricks = common::root().join("tests/tricks");
    let runner = Netns::new("ipv6-r");
    let internet = Netns::new("ipv6-i");
    runner.veth_to("r0", &internet, "i0", 1500);
    ipv6_on(&runner, "r0", &format!("{RUNNER6}/64"));
    ipv6_on(&internet, "i0", &format!("{SERVER6}/64"));
    internet.ip(&["-6", "route", "add", "fd00::/64", "dev", "i0"]);
    // Static neighbours: no neighbour discovery on the link.
    let (runner_mac, server_mac) = (mac(&runner, "r0"), mac(&internet, "i0"));
    internet.ip(&[
        "-6",
        "neigh",
        "add",
        RUNNER6,
        "lladdr",
        &runner_mac,
        "dev",
        "i0",
    ]);

    let received = dir.join("received.txt");
    let _recorder = start_logged(
        internet
            .exec("python3")
            .arg(tricks.join("udp_recorder.py"))
            .args([SERVER6, "53"])
            .arg(&received),
        &dir.join("recorder.out"),
        "ready",
        "udp_recorder.py",
    );

    let pcap = dir.join("runner.pcap");
    let mut tcpdump = runner.tcpdump("r0", &pcap, &dir.join("tcpdump.log"));
    run_ok(
        runner
            .exec("python3")
            .arg(tricks.join("ipv6ext_dns.py"))
            .args(["r0", &server_mac, RUNNER6, SERVER6]),
        SECS_10,
    );
    assert!(
        wait_for_line(&received, "npm-health-check.io", SECS_10).is_some(),
        "the fragmented query never reached the server"
    );
    std::thread::sleep(Duration::from_millis(300));
    tcpdump.signal(Signal::SIGINT);
    assert!(
        tcpdump.wait_timeout(SECS_10).is_some(),
        "tcpdump did not stop"
    );

    let got: Vec<String> = std::fs::read_to_string(&received)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    // Linux delivers Hop-by-Hop first and Destination Options after the Fragment header, and
    // drops Hop-by-Hop after another header.
    assert_eq!(got, ["pkg-validate.net", "npm-health-check.io"]);

    let r = replay("ip-evasion-v6-replay", &[&pcap], &[]);
    let mut alerted: Vec<String> = r
        .of_type("alert")
        .iter()
        .map(|a| {
            a["alert"]["metadata"]["indicator"][0]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    alerted.sort();
    let mut expected = got.clone();
    expected.sort();
    assert_eq!(
        alerted, expected,
        "egress-ids must see what the server received"
    );
    assert!(
        r.stderr
            .contains("IP fragments: 2 received, 1 datagrams reassembled, 0 dropped"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("ipv6_hop_by_hop_not_first 1"),
        "{}",
        r.stderr
    );
}
