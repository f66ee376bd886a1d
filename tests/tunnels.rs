//! Tunnels as a cloud mirror or a remote SPAN delivers them. Real encapsulation made by the
//! kernel between two namespaces (VXLAN; this kernel has no GENEVE, GRE/ERSPAN nor MPLS routing
//! built in, so those are checked on suricata-verify's captures), a real client (dig) inside the
//! tunnel talking to a real server (dnsmasq), tcpdump on the OUTER interface: egress-ids must
//! alert with the inner addresses, Suricata's `tunnel` object and the per-kind counter; two
//! tunnels (VNIs) carrying the same inner 5-tuple must be two flows.

mod common;

use common::netns::{root_or_skip, run_ok, wait_for_line, Child, Netns};
use common::{replay, scratch, Replay};
use nix::sys::signal::Signal;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SECS_10: Duration = Duration::from_secs(10);
/// Underlay (outer) addresses: the mirror source and its collector.
const OUTER_RUNNER: &str = "10.1.0.2";
const OUTER_SENSOR: &str = "10.1.0.1";
/// Inner addresses: a runner and the "internet" resolver.
const INNER_RUNNER: &str = "10.20.0.2";
const RESOLVER: &str = "203.0.113.53";

/// A VXLAN device `vx0` with `vni` on `port` in `ns` over `dev`, holding `addr`, routing `route`.
fn vxlan(ns: &Netns, vni: u32, port: u16, (local, remote, dev): (&str, &str, &str), addr: &str) {
    let (vni, port) = (vni.to_string(), port.to_string());
    ns.ip(&[
        "link", "add", "vx0", "type", "vxlan", "id", &vni, "local", local, "remote", remote,
        "dstport", &port, "dev", dev,
    ]);
    ns.ip(&["addr", "add", addr, "dev", "vx0"]);
    ns.ip(&["link", "set", "vx0", "up"]);
}

/// The tunnel between the runner and the sensor side, `vni` on UDP `port`, replacing any
/// earlier one.
fn tunnel(runner: &Netns, internet: &Netns, vni: u32, port: u16) {
    for ns in [runner, internet] {
        let _ = Command::new("ip")
            .args(["-n", ns.name(), "link", "del", "vx0"])
            .stderr(Stdio::null())
            .status();
    }
    let inner_runner = format!("{INNER_RUNNER}/24");
    let resolver = format!("{RESOLVER}/24");
    vxlan(
        runner,
        vni,
        port,
        (OUTER_RUNNER, OUTER_SENSOR, "u0"),
        &inner_runner,
    );
    runner.ip(&["route", "add", "203.0.113.0/24", "dev", "vx0"]);
    vxlan(
        internet,
        vni,
        port,
        (OUTER_SENSOR, OUTER_RUNNER, "u1"),
        &resolver,
    );
    internet.ip(&["route", "add", "10.20.0.0/24", "dev", "vx0"]);
}

/// `dig` from the runner's inner address and source port `sport` for `name`; its answer.
fn dig(runner: &Netns, sport: u16, name: &str) -> String {
    let bind = format!("{INNER_RUNNER}#{sport}");
    let at = format!("@{RESOLVER}");
    run_ok(
        runner
            .exec("dig")
            .args(["+tries=2", "+time=3", "+short", "-b", &bind, &at, name, "A"]),
        SECS_10,
    )
    .trim()
    .to_owned()
}

/// What the kernel made: the outer capture, and the names the resolver logged as received.
struct Made {
    pcap: PathBuf,
    dnsmasq_log: String,
}

/// Four tunnels in turn between the same outer endpoints: VNI 42 then VNI 43 on 4789, each
/// carrying the same inner query (same 5-tuple), then VNI 44 on 8472 (Linux's historical VXLAN
/// port) carrying another IOC name, then VNI 45 whose outer packets the kernel fragments.
fn make_capture(dir: &Path) -> Made {
    let runner = Netns::new("tun-r");
    let internet = Netns::new("tun-i");
    runner.veth_to("u0", &internet, "u1", 1500);
    runner.ip(&["addr", "add", &format!("{OUTER_RUNNER}/24"), "dev", "u0"]);
    internet.ip(&["addr", "add", &format!("{OUTER_SENSOR}/24"), "dev", "u1"]);

    let pcap = dir.join("outer.pcap");
    let tcpdump_log = dir.join("tcpdump.log");
    let mut tcpdump = internet.tcpdump("u1", &pcap, &tcpdump_log);
    let log = dir.join("dnsmasq.log");
    // Bound to the wildcard (no --bind-interfaces), so it keeps serving while vx0 is replaced.
    let _dnsmasq = Child::spawn(
        internet
            .exec("dnsmasq")
            .args([
                "-k",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--pid-file=",
                "--user=root",
                "--log-queries",
                &format!("--listen-address={RESOLVER}"),
                "--host-record=pkg-validate.net,198.51.100.7",
                "--host-record=npm-health-check.io,198.51.100.8",
                "--host-record=axios-update-service.com,198.51.100.9",
            ])
            .arg(format!("--log-facility={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "dnsmasq",
    );
    assert!(
        wait_for_line(&log, "started", SECS_10).is_some(),
        "dnsmasq did not start"
    );

    tunnel(&runner, &internet, 42, 4789);
    assert_eq!(dig(&runner, 40000, "pkg-validate.net"), "198.51.100.7");
    tunnel(&runner, &internet, 43, 4789);
    assert_eq!(dig(&runner, 40000, "pkg-validate.net"), "198.51.100.7");
    tunnel(&runner, &internet, 44, 8472);
    assert_eq!(dig(&runner, 40001, "npm-health-check.io"), "198.51.100.8");
    // VNI 45 over an underlay of MTU 560 with a query padded to 512 bytes: the kernel
    // fragments the OUTER UDP datagram, which egress-ids must reassemble before the tunnel.
    // (vx0 takes its MTU, 1450, from the underlay when made, and keeps it.)
    tunnel(&runner, &internet, 45, 4789);
    for (ns, dev) in [(&runner, "u0"), (&internet, "u1")] {
        ns.ip(&["link", "set", dev, "mtu", "560"]);
    }
    let bind = format!("{INNER_RUNNER}#40002");
    let answer = run_ok(
        runner.exec("dig").args([
            "+tries=2",
            "+time=3",
            "+short",
            "+padding=512",
            "-b",
            &bind,
            &format!("@{RESOLVER}"),
            "axios-update-service.com",
            "A",
        ]),
        SECS_10,
    );
    assert_eq!(answer.trim(), "198.51.100.9");

    // Let the last answers reach tcpdump before it stops.
    std::thread::sleep(Duration::from_millis(500));
    tcpdump.signal(Signal::SIGINT);
    assert!(
        tcpdump.wait_timeout(SECS_10).is_some(),
        "tcpdump did not stop"
    );
    let report = std::fs::read_to_string(&tcpdump_log).unwrap_or_default();
    assert!(
        report.lines().any(|l| l == "0 packets dropped by kernel"),
        "tcpdump dropped packets: {report}"
    );
    Made {
        pcap,
        dnsmasq_log: std::fs::read_to_string(&log).unwrap_or_default(),
    }
}

/// The query names the resolver received, in order (dnsmasq's `query[A] NAME from ADDR`).
fn received_names(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.split_once("query[A] "))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("").to_owned())
        .collect()
}

/// Frames in `pcap` matching the tcpdump filter `filter`.
fn count(pcap: &Path, filter: &str) -> u64 {
    let out = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(pcap)
        .arg(filter)
        .stderr(Stdio::null())
        .output()
        .expect("tcpdump -r");
    // One line per frame starts with its time; the decoded inner packet follows on its own line.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .count() as u64
}

fn alerts_for<'a>(r: &'a Replay, name: &str) -> Vec<&'a Value> {
    r.of_type("alert")
        .into_iter()
        .filter(|a| a["alert"]["metadata"]["indicator"][0] == name)
        .collect()
}

fn final_stats(r: &Replay) -> Value {
    r.of_type("stats")
        .last()
        .map(|s| s["stats"].clone())
        .expect("a final stats event")
}

#[test]
fn kernel_vxlan_inner_flows_alert_with_the_tunnel_and_vnis_keep_flows_apart() {
    if !root_or_skip("kernel VXLAN tunnels") {
        return;
    }
    let dir = scratch("tunnels-vxlan");
    let made = make_capture(&dir);
    let received = received_names(&made.dnsmasq_log);
    assert!(
        received.iter().filter(|n| *n == "pkg-validate.net").count() >= 2
            && received.contains(&"npm-health-check.io".to_owned()),
        "the resolver must have received the queries: {received:?}"
    );

    // Default ports: 4789 only.
    let r = replay("tunnels-vxlan-default", &[&made.pcap], &[]);
    let hits = alerts_for(&r, "pkg-validate.net");
    assert_eq!(hits.len(), 2, "one alert per tunnel: {:#?}", r.events);
    for a in &hits {
        assert_eq!(a["alert"]["metadata"]["detection"][0], "ioc-domain");
        assert_eq!(
            (a["src_ip"].as_str(), a["src_port"].as_u64()),
            (Some(INNER_RUNNER), Some(40000))
        );
        assert_eq!(
            (a["dest_ip"].as_str(), a["dest_port"].as_u64()),
            (Some(RESOLVER), Some(53))
        );
        let t = &a["tunnel"];
        assert_eq!(t["src_ip"], OUTER_RUNNER, "{a}");
        assert_eq!(t["dest_ip"], OUTER_SENSOR);
        assert_eq!(
            (t["dest_port"].as_u64(), t["proto"].as_str()),
            (Some(4789), Some("UDP"))
        );
        assert_eq!(t["depth"], 1);
        assert_eq!(t["pcap_cnt"], a["pcap_cnt"]);
    }
    assert!(
        alerts_for(&r, "npm-health-check.io").is_empty(),
        "8472 is not a VXLAN port by default"
    );
    // The query in fragmented outer packets: reassembled, then decapsulated.
    let padded = alerts_for(&r, "axios-update-service.com");
    assert_eq!(padded.len(), 1);
    assert_eq!(padded[0]["src_port"], 40002);
    assert_eq!(padded[0]["tunnel"]["dest_port"], 4789);
    assert!(
        r.stderr.contains("datagrams reassembled")
            && !r.stderr.contains(" 0 datagrams reassembled"),
        "{}",
        r.stderr
    );
    // The same inner 5-tuple through VNI 42 and VNI 43: two flows.
    let flows: Vec<&Value> = r
        .of_type("flow")
        .into_iter()
        .filter(|f| f["src_port"] == 40000 && f["dest_ip"] == RESOLVER)
        .collect();
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert_ne!(flows[0]["flow_id"], flows[1]["flow_id"]);
    let vxlan_frames = count(&made.pcap, "udp dst port 4789");
    assert!(vxlan_frames >= 4);
    assert_eq!(final_stats(&r)["decoder"]["vxlan"], vxlan_frames);
    assert!(
        r.stderr
            .contains(&format!("encapsulations decoded: vxlan {vxlan_frames} ")),
        "{}",
        r.stderr
    );

    // With 8472 configured too, the third tunnel's query alerts as well, and the alerted names
    // are exactly those the resolver received.
    let r = replay(
        "tunnels-vxlan-8472",
        &[&made.pcap],
        &["--vxlan-ports", "4789,8472"],
    );
    let hit = alerts_for(&r, "npm-health-check.io");
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0]["tunnel"]["dest_port"], 8472);
    assert_eq!(hit[0]["src_port"], 40001);
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
    let mut got = received.clone();
    alerted.sort();
    got.sort();
    got.dedup();
    alerted.dedup();
    assert_eq!(alerted, got);
    assert_eq!(
        final_stats(&r)["decoder"]["vxlan"],
        count(&made.pcap, "udp dst port 4789 or udp dst port 8472")
    );

    // Two worker threads give the same alerts.
    let threaded = replay("tunnels-vxlan-threads", &[&made.pcap], &["--threads", "2"]);
    assert_eq!(
        common::alert_rows(&threaded.events),
        common::alert_rows(&replay("tunnels-vxlan-one", &[&made.pcap], &["--threads", "1"]).events)
    );
}

/// suricata-verify's captures (MIT licence, see tests/data/suricata-verify/README.md).
fn sv(name: &str) -> PathBuf {
    common::root().join("tests/data/suricata-verify").join(name)
}

#[test]
fn suricata_verify_vxlan_capture_gives_the_inner_flow() {
    let r = replay("sv-vxlan", &[&sv("vxlan-decoder-01.pcap")], &[]);
    let flows = r.of_type("flow");
    // Suricata's test expects a flow 53 <-> 12345 (inside VXLAN VNI 37) and 32021 <-> 12345.
    let inner = flows
        .iter()
        .find(|f| f["src_ip"] == "10.96.0.10" || f["dest_ip"] == "10.96.0.10")
        .expect("the inner DNS flow");
    let ports = [inner["src_port"].as_u64(), inner["dest_port"].as_u64()];
    assert!(ports.contains(&Some(53)) && ports.contains(&Some(12345)));
    assert_eq!(flows.len(), 2);
    assert_eq!(final_stats(&r)["decoder"]["vxlan"], 1);
}

#[test]
fn suricata_verify_geneve_and_erspan_captures_are_decoded_and_counted() {
    // GENEVE VNI 0x7b around ARP and ICMP (neither is analysed: counted as skipped).
    let r = replay("sv-geneve", &[&sv("geneve-decoder.pcap")], &[]);
    let s = final_stats(&r);
    assert_eq!(
        (
            s["decoder"]["geneve"].as_u64(),
            s["decoder"]["pkts"].as_u64()
        ),
        (Some(10), Some(10))
    );
    assert!(r.stderr.contains("other_transport 8"), "{}", r.stderr);
    // ERSPAN type I: Suricata's test expects decoder.gre 42 and decoder.erspan 42.
    let r = replay("sv-erspan1", &[&sv("decode-erspan-typeI-02.pcap")], &[]);
    let s = final_stats(&r);
    assert_eq!(
        (
            s["decoder"]["gre"].as_u64(),
            s["decoder"]["erspan"].as_u64()
        ),
        (Some(42), Some(42))
    );
    assert!(r.stderr.contains("other_transport 42"), "{}", r.stderr);
    // ERSPAN type II: 6 GRE packets with sequence numbers and the type II header.
    let r = replay("sv-erspan2", &[&sv("decode-erspan-typeII-01.pcap")], &[]);
    let s = final_stats(&r);
    assert_eq!(
        (
            s["decoder"]["gre"].as_u64(),
            s["decoder"]["erspan"].as_u64()
        ),
        (Some(6), Some(6))
    );
}

#[test]
fn suricata_verify_gre_and_pppoe_captures_give_their_inner_flows() {
    // GRE around UDP 2.2.2.3:12345 -> 2.2.2.2:514, three packets, one flow.
    let r = replay("sv-gre", &[&sv("bug-5633-gre-01.pcap")], &[]);
    let flows = r.of_type("flow");
    assert_eq!(flows.len(), 1);
    assert_eq!(
        (
            flows[0]["src_ip"].as_str(),
            flows[0]["dest_ip"].as_str(),
            flows[0]["dest_port"].as_u64()
        ),
        (Some("2.2.2.3"), Some("2.2.2.2"), Some(514))
    );
    assert_eq!(flows[0]["flow"]["pkts_toserver"], 3);
    assert_eq!(final_stats(&r)["decoder"]["gre"], 3);

    // PPPoE session 0x2d (compressed PPP protocol field) around curl's HTTP request to
    // 142.250.179.131: no DNS in the capture, so direct-ip, with the HTTP object.
    let r = replay("sv-pppoe", &[&sv("pppoe-session-http.pcap")], &[]);
    let alerts = r.of_type("alert");
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["alert"]["metadata"]["detection"][0], "direct-ip");
    assert_eq!(alerts[0]["src_ip"], "10.100.0.0");
    assert_eq!(alerts[0]["http"]["hostname"], "www.google.nl");
    assert!(
        alerts[0].get("tunnel").is_none(),
        "PPPoE is a layer, not a tunnel"
    );
    assert_eq!(final_stats(&r)["decoder"]["pppoe"], 30);
}

/// What `tests/tricks/encap.py` makes of a capture, and what egress-ids must then report: the
/// counters (Suricata's `stats.decoder` names) that count one per frame, and the `tunnel`
/// object's protocol and depth (`None`: MPLS and PPPoE are layers, not tunnels).
/// One re-encapsulation: `encap.py`'s mode, the counters, the tunnel's protocol and depth.
type Encapsulation = (
    &'static str,
    &'static [&'static str],
    Option<(&'static str, u64)>,
);

const ENCAPSULATIONS: &[Encapsulation] = &[
    ("geneve-eth", &["geneve"], Some(("UDP", 1))),
    ("geneve-ip", &["geneve"], Some(("UDP", 1))),
    ("gre-ip", &["gre"], Some(("GRE", 1))),
    ("erspan2", &["gre", "erspan"], Some(("GRE", 1))),
    ("erspan3", &["gre", "erspan"], Some(("GRE", 1))),
    ("mpls", &["mpls"], None),
    ("pppoe", &["pppoe"], None),
    ("vxlan-in-gre", &["gre", "vxlan"], Some(("GRE", 2))),
];

/// The encapsulations this kernel cannot make (no GENEVE, GRE, ERSPAN or MPLS routing built
/// in), checked on real traffic: the committed captures of real clients (curl's DNS and TLS to
/// an IOC name, dig over UDP and TCP, a non-registry TLS name, node's HTTP to an IP)
/// re-encapsulated frame by frame by a script, as a mirror session would send them, must give
/// the very alerts of the original capture.
#[test]
fn real_captures_re_encapsulated_give_the_original_alerts_with_the_tunnel() {
    let dir = scratch("tunnels-encap");
    // non-registry-tls and http-ip-host raise only on egress: the outer 10.1.0.2 -> 10.1.0.1 is
    // all HOME_NET, so their alerts prove HOME_NET is applied to the inner addresses.
    for name in [
        "ioc-sni",
        "dns-ioc-udp-tcp",
        "non-registry-tls",
        "http-ip-host",
    ] {
        let plain = common::root().join(format!("pcaps/{name}.pcap"));
        let original = replay(&format!("tunnels-encap-{name}"), &[&plain], &[]);
        let expected = common::alert_rows(&original.events);
        assert!(!expected.is_empty());
        let frames = count(&plain, "");
        for (mode, counters, tunnel) in ENCAPSULATIONS {
            let wrapped = dir.join(format!("{name}-{mode}.pcap"));
            run_ok(
                Command::new("python3")
                    .arg(common::root().join("tests/tricks/encap.py"))
                    .arg(mode)
                    .arg(&plain)
                    .arg(&wrapped),
                SECS_10,
            );
            let r = replay(&format!("tunnels-encap-{name}-{mode}"), &[&wrapped], &[]);
            assert_eq!(common::alert_rows(&r.events), expected, "{name} in {mode}");
            let stats = final_stats(&r);
            for counter in *counters {
                assert_eq!(
                    stats["decoder"][*counter], frames,
                    "{name} in {mode}: {counter}"
                );
            }
            for a in r.of_type("alert") {
                match tunnel {
                    Some((proto, depth)) => {
                        let t = &a["tunnel"];
                        assert_eq!(
                            (t["src_ip"].as_str(), t["dest_ip"].as_str()),
                            (Some("10.1.0.2"), Some("10.1.0.1"))
                        );
                        assert_eq!(
                            (t["proto"].as_str(), t["depth"].as_u64()),
                            (Some(*proto), Some(*depth)),
                            "{mode}"
                        );
                    }
                    None => assert!(a.get("tunnel").is_none(), "{mode}: {a}"),
                }
            }
        }
    }
}

/// A mirror session that truncates the inner packet (AWS VPC Traffic Mirroring's
/// `PacketLength`) while the outer packet is whole: a snaplen cut, headers used, payload ignored,
/// counted; never a panic. curl's DNS query (76 bytes) is whole, its ClientHello is cut.
#[test]
fn an_inner_packet_cut_by_the_mirror_is_a_snaplen_cut() {
    let dir = scratch("tunnels-cut");
    let plain = common::root().join("pcaps/ioc-sni.pcap");
    let wrapped = dir.join("ioc-sni-vxlan-cut.pcap");
    run_ok(
        Command::new("python3")
            .arg(common::root().join("tests/tricks/encap.py"))
            .arg("vxlan-cut")
            .arg(&plain)
            .arg(&wrapped),
        SECS_10,
    );
    let r = replay("tunnels-cut-replay", &[&wrapped], &[]);
    // Frames longer than 96 bytes were cut (tcpdump's `greater N`: length >= N).
    let cut = count(&plain, "greater 97");
    assert!(cut > 0);
    assert!(
        r.stderr
            .contains(&format!("packets cut by the snaplen: {cut} ")),
        "{}",
        r.stderr
    );
    // The whole DNS query alerts; the TLS flow's cut ClientHello gives no SNI, but its server
    // is the address the IOC name's answer gave: `ioc-domain` by the DNS answer chain
    // (detect/dns_chain.rs), not by a name read from the cut packet.
    let rows = common::alert_rows(&r.events);
    assert_eq!(
        rows,
        [
            "ioc-domain\tpkg-validate.net\t10.77.0.2\t198.51.100.53\t53",
            "ioc-domain\tpkg-validate.net\t10.77.0.2\t203.0.113.20\t443",
        ],
        "{rows:?}"
    );
    let alerts = r.of_type("alert");
    assert!(
        alerts[1]["alert"]["signature"]
            .as_str()
            .is_some_and(|s| s.ends_with("(DNS answer chain)"))
            && alerts[1].get("tls").is_none(),
        "{}",
        alerts[1]
    );
    assert_eq!(final_stats(&r)["decoder"]["vxlan"], count(&plain, ""));
}
