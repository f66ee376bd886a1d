//! A SPAN port or cloud mirror may deliver a DNS answer after the SYN it enabled (the two
//! directions reach the sensor by different paths). `direct-ip` is decided with the flow's first
//! app-layer object, against every answer captured by then (issue 10 item 7).
//!
//! The mirror is real: in the "internet" namespace, tc's `mirred` copies what arrives on its
//! link (ingress: the runner's packets) to one veth and what leaves it (egress: the answers) to
//! another, as a switch's SPAN session does. The second copy goes through a slower path (a
//! relay namespace that forwards each frame 150 ms late; this kernel has no netem), so the
//! sensor sees the SYN, then the answer, then the ClientHello, which the client sends 400 ms
//! after connecting. tcpdump captures both mirror ports in the sensor's namespace. The client is
//! Python: a DNS query to dnsmasq, then at once a connection to the address the answer gave
//! (the way a stub resolver and a client do it), TLS on it a moment later; a second connection,
//! to an address nothing resolved, is the control that must alert.

mod common;

use common::netns::{root_or_skip, run_ok, self_signed_cert, start_logged, Netns};
use common::*;
use std::time::Duration;

const RESOLVER: &str = "198.51.100.53";
const RESOLVED: &str = "203.0.113.10";
const UNRESOLVED: &str = "203.0.113.11";
const NAME: &str = "builds.example-ci.net";

/// Position in the capture (SLL2, `tcpdump -i any`) of the first frame `is` accepts, given the
/// IPv4 packet.
fn position(records: &[Record], is: impl Fn(&[u8]) -> bool) -> Option<usize> {
    records
        .iter()
        .position(|(_, _, frame, _)| frame.len() > 40 && frame[20] >> 4 == 4 && is(&frame[20..]))
}

#[test]
fn an_answer_mirrored_after_the_syn_still_resolves_the_flow() {
    if !root_or_skip("the mirrored capture in namespaces") {
        return;
    }
    let dir = scratch("span-reorder");
    let runner = Netns::new("sr-run");
    let inet = Netns::new("sr-net");
    let sensor = Netns::new("sr-mon");
    let relay = Netns::new("sr-rly");
    runner.veth_to("eth0", &inet, "eth0", 1500);
    inet.veth_to("mir0", &sensor, "span0", 1500);
    inet.veth_to("mir1", &relay, "d_in", 1500);
    relay.veth_to("d_out", &sensor, "span1", 1500);
    runner.ip(&["addr", "add", "10.77.0.2/24", "dev", "eth0"]);
    runner.ip(&["route", "add", "default", "dev", "eth0"]);
    for addr in [RESOLVER, RESOLVED, UNRESOLVED] {
        inet.ip(&["addr", "add", &format!("{addr}/32"), "dev", "lo"]);
    }
    inet.ip(&["route", "add", "10.77.0.0/24", "dev", "eth0"]);
    let tc = |ns: &Netns, args: &str| {
        run_ok(
            ns.exec("tc").args(args.split_whitespace()),
            Duration::from_secs(10),
        )
    };
    tc(&inet, "qdisc add dev eth0 clsact");
    for (hook, port) in [("ingress", "mir0"), ("egress", "mir1")] {
        tc(
            &inet,
            &format!(
                "filter add dev eth0 {hook} protocol all u32 match u32 0 0 \
                 action mirred egress mirror dev {port}"
            ),
        );
    }
    // The slow path: every frame from d_in leaves on d_out 150 ms later (bounded: 60 s).
    let delay_line = "import socket, select, time\n\
        i = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); i.bind(('d_in', 0))\n\
        o = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); o.bind(('d_out', 0))\n\
        q = []; end = time.time() + 60\n\
        print('relaying', flush=True)\n\
        while time.time() < end:\n\
        \x20   wait = max(0, q[0][0] - time.time()) if q else 0.05\n\
        \x20   if select.select([i], [], [], wait)[0]: q.append((time.time() + 0.15, i.recv(65535)))\n\
        \x20   while q and q[0][0] <= time.time(): o.send(q.pop(0)[1])\n";
    let _relay = start_logged(
        relay.exec("python3").args(["-c", delay_line]),
        &dir.join("relay.log"),
        "relaying",
        "the delay line",
    );

    let pcap = dir.join("span.pcap");
    let mut tcpdump = sensor.tcpdump("any", &pcap, &dir.join("tcpdump.log"));
    let _dnsmasq = start_logged(
        inet.exec("dnsmasq")
            .args([
                "-k",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
            ])
            .args(["--bind-interfaces", &format!("--listen-address={RESOLVER}")])
            .arg(format!("--host-record={NAME},{RESOLVED}"))
            .args(["--log-queries", "--log-facility=-"]),
        &dir.join("dnsmasq.log"),
        "started",
        "dnsmasq",
    );
    let (cert, key) = self_signed_cert(&dir, NAME);
    let mut servers = Vec::new();
    for addr in [RESOLVED, UNRESOLVED] {
        servers.push(start_logged(
            inet.exec("openssl")
                .args([
                    "s_server",
                    "-accept",
                    &format!("{addr}:443"),
                    "-naccept",
                    "1",
                    "-cert",
                ])
                .arg(&cert)
                .arg("-key")
                .arg(&key),
            &dir.join(format!("s_server-{addr}.log")),
            "ACCEPT",
            "openssl s_server",
        ));
    }
    let client = format!(
        "import socket, ssl, struct\n\
         q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)\n\
         q += b''.join(bytes([len(l)]) + l.encode() for l in '{NAME}'.split('.')) + b'\\0'\n\
         q += struct.pack('>HH', 1, 1)\n\
         u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)\n\
         u.sendto(q, ('{RESOLVER}', 53)); a = u.recv(512)\n\
         addr = socket.inet_ntoa(a[-4:])\n\
         ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE\n\
         import time\n\
         for ip in [addr, '{UNRESOLVED}']:\n\
         \x20   with socket.create_connection((ip, 443), timeout=5) as s:\n\
         \x20       time.sleep(0.4)\n\
         \x20       with ctx.wrap_socket(s, server_hostname='{NAME}') as t: t.version()\n\
         print(addr)\n"
    );
    let out = run_ok(
        runner.exec("python3").args(["-c", &client]),
        Duration::from_secs(30),
    );
    assert_eq!(out.trim(), RESOLVED, "the answer gave the address");
    std::thread::sleep(Duration::from_millis(800));
    assert!(tcpdump.terminate(Duration::from_secs(5)).is_some());

    // The mirror reordered: the answer is in the capture after the SYN it enabled and before
    // the ClientHello.
    let (_, records) = read_pcap(&pcap);
    let resolved: std::net::Ipv4Addr = RESOLVED.parse().unwrap();
    let to_resolved = |ip: &[u8]| ip[9] == 6 && ip[16..20] == resolved.octets();
    let syn = position(&records, |ip| to_resolved(ip) && ip[20 + 13] == 0x02).expect("SYN");
    let answer = position(&records, |ip| ip[9] == 17 && ip[20..22] == [0, 53]).expect("answer");
    let hello = position(&records, |ip| {
        to_resolved(ip) && ip.len() > 60 && ip[20 + 13] & 0x08 != 0
    })
    .expect("ClientHello");
    assert!(
        syn < answer && answer < hello,
        "order SYN {syn}, answer {answer}, hello {hello}"
    );

    let r = replay("span-reorder-replay", &[&pcap], &[]);
    let direct: Vec<String> = alert_rows(&r.events)
        .into_iter()
        .filter(|a| a.contains("direct-ip"))
        .collect();
    assert_eq!(direct.len(), 1, "only the control: {direct:#?}");
    assert!(direct[0].contains(UNRESOLVED), "{direct:?}");
}
