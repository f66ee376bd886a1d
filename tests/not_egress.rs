//! Broadcast and multicast are not egress: a runner's DHCP, SSDP and DHCPv6 chatter never raises
//! `direct-ip`. Real clients and a real server make the capture: `dhclient` (IPv4 and IPv6)
//! against `dnsmasq` (told to broadcast its DHCP replies, as relays and some servers do), and
//! Python sending an SSDP M-SEARCH; a datagram to a documentation address is the control that
//! must still alert.
//!
//! Setup: two network namespaces of the test's own, "runner" and "lan", joined by one veth pair;
//! tcpdump on the lan end. Nothing reaches the root namespace.

mod common;

use common::netns::{root_or_skip, run_ok, start_logged, Netns};
use common::*;
use std::time::Duration;

fn has(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn dhcp_ssdp_and_dhcpv6_raise_no_direct_ip() {
    if !root_or_skip("the DHCP/SSDP/DHCPv6 capture in namespaces") {
        return;
    }
    for tool in ["dhclient", "dnsmasq", "tcpdump", "python3"] {
        assert!(has(tool), "{tool} is missing: bash scripts/install-deps.sh");
    }
    let dir = scratch("not-egress");
    let runner = Netns::new("ne-run");
    let lan = Netns::new("ne-lan");
    runner.veth_to("eth0", &lan, "lan0", 1500);
    for (ns, ifc) in [(&runner, "eth0"), (&lan, "lan0")] {
        ns.sysctl(&format!("net.ipv6.conf.{ifc}.accept_dad=0"));
        ns.sysctl(&format!("net.ipv6.conf.{ifc}.disable_ipv6=0"));
    }
    lan.ip(&["addr", "add", "10.88.0.1/24", "dev", "lan0"]);
    lan.ip(&["addr", "add", "fd00:88::1/64", "dev", "lan0", "nodad"]);

    let pcap = dir.join("local.pcap");
    let mut tcpdump = lan.tcpdump("lan0", &pcap, &dir.join("tcpdump.log"));
    let _dnsmasq = start_logged(
        lan.exec("dnsmasq")
            .args([
                "--no-daemon",
                "--port=0",
                "--interface=lan0",
                "--bind-interfaces",
                "--dhcp-broadcast",
                "--dhcp-range=10.88.0.50,10.88.0.99,1h",
                "--dhcp-range=fd00:88::50,fd00:88::99,64,1h",
                "--log-dhcp",
            ])
            .arg(format!("--dhcp-leasefile={}", dir.join("leases").display()))
            .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display())),
        &dir.join("dnsmasq.log"),
        "DHCP, IP range",
        "dnsmasq",
    );
    // dhclient with a script that does nothing: the exchange happens, nothing is configured.
    let dhclient = |family: &str, tag: &str, needle: &str| {
        start_logged(
            runner
                .exec("dhclient")
                .args([family, "-d", "-1", "-v", "-sf", "/bin/true", "-lf"])
                .arg(dir.join(format!("{tag}.leases")))
                .arg("-pf")
                .arg(dir.join(format!("{tag}.pid")))
                .arg("eth0"),
            &dir.join(format!("{tag}.log")),
            needle,
            &format!("dhclient {family}"),
        )
    };
    drop(dhclient("-4", "dhcp4", "DHCPACK"));
    drop(dhclient("-6", "dhcp6", "Reply message"));
    runner.ip(&["addr", "add", "10.88.0.2/24", "dev", "eth0"]);
    runner.ip(&["route", "add", "default", "via", "10.88.0.1"]);
    runner.ip(&["route", "add", "224.0.0.0/4", "dev", "eth0"]);
    // SSDP discovery as a media library or a UPnP client sends it; then the control.
    let script = "import socket\n\
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)\n\
        m = b'M-SEARCH * HTTP/1.1\\r\\nHOST: 239.255.255.250:1900\\r\\nMAN: \"ssdp:discover\"\\r\\nMX: 1\\r\\nST: ssdp:all\\r\\n\\r\\n'\n\
        for _ in range(2): s.sendto(m, ('239.255.255.250', 1900))\n\
        s.sendto(b'hello', ('203.0.113.99', 9999))\n";
    run_ok(
        runner.exec("python3").args(["-c", script]),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(tcpdump.terminate(Duration::from_secs(5)).is_some());

    let r = replay("not-egress-replay", &[&pcap], &[]);
    let flows: Vec<String> = r
        .of_type("flow")
        .iter()
        .map(|f| format!("{}:{}", f["dest_ip"].as_str().unwrap_or(""), f["dest_port"]))
        .collect();
    for needed in [
        "255.255.255.255:67",
        "239.255.255.250:1900",
        "ff02:0000:0000:0000:0000:0000:0001:0002:547",
        "203.0.113.99:9999",
    ] {
        assert!(
            flows.iter().any(|f| f == needed),
            "no flow to {needed} in the capture: {flows:?}"
        );
    }
    let alerts = alert_rows(&r.events);
    assert_eq!(
        alerts.len(),
        1,
        "only the control alerts: {alerts:#?}\nflows: {flows:?}"
    );
    assert!(
        alerts[0].contains("direct-ip") && alerts[0].contains("203.0.113.99"),
        "{alerts:?}"
    );
}
