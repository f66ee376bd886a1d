//! LAN name discovery (issue 16, item 3): mDNS, LLMNR and the NetBIOS name service are not
//! egress. A runner namespace (10.78.0.2) and a LAN host (10.78.0.3) share one veth link;
//! real clients in the runner ask names including the IOC `pkg-validate.net`: `dig` over mDNS
//! (multicast to 224.0.0.251 and unicast to the host, port 5353) and LLMNR (multicast to
//! 224.0.0.252, port 5355), and a NetBIOS name query broadcast from Python's standard library
//! (`tests/data/lan/nbns_query.py`). The LAN host runs `tests/data/lan/responder.py`, which
//! answers each and logs every message it received and sent: the receiver decides how many
//! messages there were. tcpdump records the runner's side.
//!
//! The replay must raise no alert at all, log no `dns` event for any of them, and count as
//! many messages per protocol (summary and `stats`) as the responder received and sent. With
//! `--log-lan-discovery`, the mDNS and LLMNR messages are `dns` events (still no alert); the
//! NetBIOS ones never are.

use crate::common::netns::{root_or_skip, run_finished, run_ok, start_logged, Netns};
use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const RUNNER: &str = "10.78.0.2";
const HOST: &str = "10.78.0.3";
const BROADCAST: &str = "10.78.0.255";

/// Runs a client that may time out by design within `limit`: a multicast query's answer comes
/// unicast from the responder's own address (RFC 6762 section 6.7, legacy unicast), and dig's
/// socket, connected to the group, never gets it (the kernel answers ICMP port unreachable).
/// Its exit status does not matter, only what went over the link.
fn run_any(cmd: &mut Command, limit: Duration) -> String {
    run_finished(cmd, limit).1
}

/// What the responder logged: (RECV or SENT, protocol, name) per message.
fn responder_log(log: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.len() == 5 && (f[0] == "RECV" || f[0] == "SENT"))
                .then(|| (f[0].to_string(), f[1].to_string(), f[4].to_string()))
        })
        .collect()
}

/// The summary's count of `proto`'s LAN discovery messages (0 when the line is absent).
fn summary_count(stderr: &str, proto: &str) -> u64 {
    let Some(line) = stderr
        .lines()
        .find(|l| l.contains("LAN name discovery messages"))
    else {
        return 0;
    };
    let after = line.split(&format!(" {proto} ")).nth(1).unwrap_or("0");
    after
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The last `stats` event's `app_layer.tx.<key>`.
fn stats_tx(events: &[Value], key: &str) -> u64 {
    let stats = events
        .iter()
        .rev()
        .find(|e| e["event_type"] == "stats")
        .expect("a stats event");
    stats["stats"]["app_layer"]["tx"][key].as_u64().unwrap()
}

/// Whether an event is on one of the LAN discovery ports.
fn on_port(e: &Value, ports: &[u64]) -> bool {
    ["src_port", "dest_port"]
        .iter()
        .any(|k| e[*k].as_u64().is_some_and(|p| ports.contains(&p)))
}

#[test]
fn mdns_llmnr_and_nbns_never_alert_are_counted_and_logged_only_when_asked() {
    if !root_or_skip("LAN name discovery (mDNS, LLMNR, NBNS)") {
        return;
    }
    let dir = scratch("lan-discovery");
    let runner = Netns::new("lan-r");
    let lan = Netns::new("lan-h");
    runner.veth_to("eth0", &lan, "eth0", 1500);
    for (ns, addr) in [(&runner, RUNNER), (&lan, HOST)] {
        ns.ip(&["link", "set", "eth0", "multicast", "on"]);
        ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        ns.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"]);
    }
    let log = dir.join("responder.log");
    let _responder = start_logged(
        lan.exec("python3")
            .arg(root().join("tests/data/lan/responder.py"))
            .args([HOST, "60"]),
        &log,
        "responder ready",
        "the LAN name responder",
    );
    let pcap = dir.join("lan.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));

    let dig = |server: &str, port: &str, name: &str| {
        run_any(
            runner
                .exec("dig")
                .args(["+tries=1", "+time=1", "-p", port])
                .arg(format!("@{server}"))
                .args([name, "A"]),
            Duration::from_secs(10),
        )
    };
    // mDNS: multicast (the answer comes unicast from the host) and unicast to the host.
    dig("224.0.0.251", "5353", "pkg-validate.net.local");
    dig("224.0.0.251", "5353", "pkg-validate.net");
    let unicast = dig(HOST, "5353", "pkg-validate.net");
    assert!(unicast.contains(HOST), "unicast mDNS answer: {unicast}");
    // LLMNR: a single-label name and the IOC.
    dig("224.0.0.252", "5355", "pkg-validate");
    dig("224.0.0.252", "5355", "pkg-validate.net");
    // NBNS: a broadcast name query, plain and with the IOC as its NetBIOS scope.
    for args in [vec!["PKG-VALIDATE"], vec!["WPAD", "pkg-validate.net"]] {
        let out = run_ok(
            runner
                .exec("python3")
                .arg(root().join("tests/data/lan/nbns_query.py"))
                .arg(BROADCAST)
                .args(&args),
            Duration::from_secs(10),
        );
        assert_eq!(out.trim(), format!("ANSWER {HOST} {HOST}"), "{args:?}");
    }
    std::thread::sleep(Duration::from_millis(300));
    tcpdump.terminate(Duration::from_secs(5));

    // What the responder received and sent.
    let got = responder_log(&log);
    let count = |proto: &str| got.iter().filter(|(_, p, _)| p == proto).count() as u64;
    let received: Vec<&str> = got
        .iter()
        .filter(|(dir, _, _)| dir == "RECV")
        .map(|(_, _, name)| name.as_str())
        .collect();
    assert_eq!(
        received,
        [
            "pkg-validate.net.local",
            "pkg-validate.net",
            "pkg-validate.net",
            "pkg-validate",
            "pkg-validate.net",
            "PKG-VALIDATE<00>",
            "WPAD<00>.pkg-validate.net",
        ],
        "{got:#?}"
    );
    let (mdns, llmnr, nbns) = (count("mdns"), count("llmnr"), count("nbns"));
    assert_eq!((mdns, llmnr, nbns), (6, 4, 4), "{got:#?}");

    // Default: counted, no dns event, no alert.
    let r = replay("lan-discovery-replay", &[&pcap], &[]);
    let alerts = r.of_type("alert");
    assert!(alerts.is_empty(), "LAN discovery alerted: {alerts:#?}");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dns: Vec<&Value> = r
        .of_type("dns")
        .into_iter()
        .filter(|e| on_port(e, &[5353, 5355, 137]))
        .collect();
    assert!(dns.is_empty(), "dns events by default: {dns:#?}");
    assert_eq!(summary_count(&r.stderr, "mdns"), mdns, "{}", r.stderr);
    assert_eq!(summary_count(&r.stderr, "llmnr"), llmnr, "{}", r.stderr);
    assert_eq!(summary_count(&r.stderr, "nbns"), nbns, "{}", r.stderr);
    assert_eq!(stats_tx(&r.events, "mdns"), mdns);
    assert_eq!(stats_tx(&r.events, "llmnr_udp"), llmnr);
    let flows: Vec<String> = r
        .of_type("flow")
        .iter()
        .filter_map(|e| e["app_proto"].as_str().map(String::from))
        .collect();
    for proto in ["mdns", "llmnr", "failed"] {
        assert!(flows.iter().any(|p| p == proto), "{proto}: {flows:?}");
    }

    // Opted in: mDNS and LLMNR as dns events, NBNS still not; still no alert, also with every
    // setting that judges more (before issue 16 this replay raised 4 ioc-domain, 2 dns-bypass
    // for the NBNS broadcasts and 6 rule alerts).
    let rules = dir.join("lan.rules");
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"IOC query\"; dns.query; content:\"pkg-validate\"; sid:1000001; rev:1;)\n",
    )
    .unwrap();
    let policy = dir.join("egress.policy");
    std::fs::write(&policy, "203.0.113.10/32 tcp/443\n").unwrap();
    let z = replay(
        "lan-discovery-logged",
        &[&pcap],
        &[
            "--log-lan-discovery",
            "--resolvers",
            "10.78.0.53",
            "--rules",
            rules.to_str().unwrap(),
            "--egress-policy",
            policy.to_str().unwrap(),
        ],
    );
    let alerts = z.of_type("alert");
    assert!(alerts.is_empty(), "LAN discovery alerted: {alerts:#?}");
    let logged = |proto: &str| {
        z.of_type("dns")
            .iter()
            .filter(|e| e["app_proto"] == proto)
            .count() as u64
    };
    assert_eq!((logged("mdns"), logged("llmnr")), (mdns, llmnr));
    let nbns_dns: Vec<&Value> = z
        .of_type("dns")
        .into_iter()
        .filter(|e| on_port(e, &[137, 138]))
        .collect();
    assert!(nbns_dns.is_empty(), "NBNS logged as DNS: {nbns_dns:#?}");
    let names: Vec<&str> = z
        .of_type("dns")
        .iter()
        .filter_map(|e| e["dns"]["queries"][0]["rrname"].as_str())
        .collect();
    assert!(names.contains(&"pkg-validate.net"), "{names:?}");
    assert_eq!(summary_count(&z.stderr, "mdns"), mdns);
    eprintln!(
        "lan discovery: the responder received and sent {mdns} mDNS, {llmnr} LLMNR and {nbns} NBNS messages; replay: 0 alerts, 0 dns events by default, {} with --log-lan-discovery",
        logged("mdns") + logged("llmnr")
    );
}
