//! `dns-bypass` for plain DNS, judged against `--resolvers`: real `dig` queries over UDP and TCP
//! to the runners' resolver and to another server (both `dnsmasq`), plus the mDNS and LLMNR
//! queries a runner's stack multicasts (sent with Python's stdlib socket, as resolved and
//! systemd-resolved send them: a standard query to 224.0.0.251:5353 and 224.0.0.252:5355).
//! Only the queries to the other server may alert, once per flow, with the server's address;
//! without `--resolvers` nothing does. (DNS over TLS and HTTPS alert by default: the committed
//! captures `pcaps/dns-over-tls` and `pcaps/dns-over-https` check them.)
//!
//! Setup: two network namespaces of the test's own, "runner" (10.66.0.2) and "internet" (the
//! resolver at 198.51.100.53 and another DNS server at 203.0.113.53, on its loopback), joined
//! by one veth pair; tcpdump on the runner's end. Nothing reaches the root namespace.

mod common;

use common::netns::{self, root_or_skip, run_ok, Child, Netns};
use common::*;
use std::path::Path;
use std::time::Duration;

const RESOLVER: &str = "198.51.100.53";
const OTHER: &str = "203.0.113.53";
const NAME: &str = "ci-cache.example-cdn.net";
const ADDR: &str = "203.0.113.34";

fn has(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// dnsmasq answering `NAME` on both server addresses, UDP and TCP (and nothing else for it:
/// `--local`).
fn dnsmasq(inet: &Netns, dir: &Path) -> Child {
    netns::dnsmasq(
        inet,
        dir,
        &[RESOLVER, OTHER],
        &[(NAME, ADDR)],
        &[format!("--local=/{NAME}/")],
    )
}

/// The capture: dig to both servers (UDP, and TCP to the other), then mDNS and LLMNR queries.
fn capture(dir: &Path) -> std::path::PathBuf {
    let runner = Netns::new("db-run");
    let inet = Netns::new("db-inet");
    runner.veth_to("eth0", &inet, "inet0", 1500);
    runner.ip(&["addr", "add", "10.66.0.2/24", "dev", "eth0"]);
    runner.ip(&["route", "add", "default", "via", "10.66.0.1"]);
    runner.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"]);
    inet.ip(&["addr", "add", "10.66.0.1/24", "dev", "inet0"]);
    for addr in [RESOLVER, OTHER] {
        inet.ip(&["addr", "add", &format!("{addr}/32"), "dev", "lo"]);
    }
    let _dnsmasq = dnsmasq(&inet, dir);
    let pcap = dir.join("dns.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));
    let dig = |server: &str, tcp: bool| {
        let mut cmd = runner.exec("dig");
        cmd.args([
            "+tries=1",
            "+time=5",
            "+short",
            &format!("@{server}"),
            NAME,
            "A",
        ]);
        if tcp {
            cmd.arg("+tcp");
        }
        let out = run_ok(&mut cmd, Duration::from_secs(15));
        assert_eq!(
            out.trim(),
            ADDR,
            "dig @{server} (tcp: {tcp}) answered {out:?}"
        );
    };
    dig(RESOLVER, false);
    dig(OTHER, false);
    dig(OTHER, true);
    // mDNS (RFC 6762) and LLMNR (RFC 4795) standard queries, multicast on the link.
    let script = "import socket, struct\n\
        def query(name, qtype):\n\
        \x20   q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\\0'\n\
        \x20   return struct.pack('>HHHHHH', 0x1234, 0, 1, 0, 0, 0) + q + struct.pack('>HH', qtype, 1)\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)\n\
        s.sendto(query('printer.local', 1), ('224.0.0.251', 5353))\n\
        l = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        l.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)\n\
        l.sendto(query('buildhost', 1), ('224.0.0.252', 5355))\n";
    run_ok(
        runner.exec("python3").args(["-c", script]),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(tcpdump.terminate(Duration::from_secs(5)).is_some());
    pcap
}

#[test]
fn plain_dns_to_a_server_other_than_the_resolvers_is_dns_bypass() {
    if !root_or_skip("the plain DNS capture in namespaces") {
        return;
    }
    for tool in ["dig", "dnsmasq", "tcpdump", "python3"] {
        assert!(has(tool), "{tool} is missing: bash scripts/install-deps.sh");
    }
    let dir = scratch("dns-bypass");
    let pcap = capture(&dir);

    // What the capture holds, from the EVE dns and flow events of a plain replay (mDNS and
    // LLMNR, LAN name discovery, are `dns` events only when asked for).
    let plain = replay("dns-bypass-plain", &[&pcap], &["--log-lan-discovery"]);
    let queries: Vec<String> = plain
        .of_type("dns")
        .iter()
        .filter(|e| e["dns"]["type"] == "request")
        .map(|e| {
            format!(
                "{} {}:{} {}",
                e["proto"].as_str().unwrap_or(""),
                e["dest_ip"].as_str().unwrap_or(""),
                e["dest_port"],
                e["dns"]["queries"][0]["rrname"].as_str().unwrap_or("")
            )
        })
        .collect();
    for want in [
        format!("UDP {RESOLVER}:53 {NAME}"),
        format!("UDP {OTHER}:53 {NAME}"),
        format!("TCP {OTHER}:53 {NAME}"),
        "UDP 224.0.0.251:5353 printer.local".to_string(),
        "UDP 224.0.0.252:5355 buildhost".to_string(),
    ] {
        assert!(
            queries.contains(&want),
            "no query {want:?} in the capture: {queries:#?}"
        );
    }
    assert!(
        alert_rows(&plain.events).is_empty(),
        "without --resolvers plain DNS is not judged: {:#?}",
        alert_rows(&plain.events)
    );

    // The runners' resolver named: the two flows to the other server alert, once each.
    let judged = replay("dns-bypass-resolvers", &[&pcap], &["--resolvers", RESOLVER]);
    assert_eq!(
        alert_rows(&judged.events),
        vec![
            format!("dns-bypass\t{OTHER}\t10.66.0.2\t{OTHER}\t53"),
            format!("dns-bypass\t{OTHER}\t10.66.0.2\t{OTHER}\t53"),
        ]
    );
    let alerts = judged.of_type("alert");
    let protos: Vec<&str> = alerts.iter().filter_map(|a| a["proto"].as_str()).collect();
    assert_eq!(protos.len(), 2);
    assert!(
        protos.contains(&"UDP") && protos.contains(&"TCP"),
        "{protos:?}"
    );
    for a in &alerts {
        assert_eq!(a["alert"]["signature_id"], 9_200_008, "{a}");
        assert_eq!(a["app_proto"], "dns", "{a}");
        assert_eq!(
            a["dns"]["queries"][0]["rrname"], NAME,
            "the alert carries the query: {a}"
        );
    }
    assert!(
        judged.stderr.contains("dns-bypass 2,"),
        "the summary counts dns-bypass: {}",
        judged.stderr
    );
    // LAN name discovery is never judged: by default not even a `dns` event, only counted.
    assert!(
        judged
            .of_type("dns")
            .iter()
            .all(|e| e["dest_port"] == 53 || e["src_port"] == 53),
        "mDNS and LLMNR are not dns events by default"
    );
    assert!(
        judged.stderr.contains("mdns 1, llmnr 1,"),
        "the summary counts the LAN name discovery: {}",
        judged.stderr
    );

    // Both servers named (a prefix and an address): nothing.
    let both = replay(
        "dns-bypass-both",
        &[&pcap],
        &["--resolvers", &format!("198.51.100.0/24,{OTHER}")],
    );
    assert!(
        alert_rows(&both.events).is_empty(),
        "{:#?}",
        alert_rows(&both.events)
    );
}

#[test]
fn a_bad_resolver_is_refused_with_exit_code_2() {
    let out = egress_ids(&[
        "replay",
        "--resolvers",
        "10.0.0.53,dns.corp",
        "/nonexistent.pcap",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "\"dns.corp\" is not a resolver address or prefix such as \"10.0.0.53\" or \"fd00::/8\""
        ),
        "{stderr}"
    );
}
