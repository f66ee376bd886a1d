//! Live capture modes beyond one Ethernet interface, with real frames sent by tcpreplay between
//! two network namespaces of the test's own: the `any` pseudo-interface (Linux cooked capture
//! v2) gives replay's alerts, and the `direct-ip` warm-up holds back exactly the flows that
//! start during it.

mod common;

use common::live::{live_over, wait_until, Live, Pair};
use common::netns::root_or_skip;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

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

#[test]
fn alerts_reach_a_webhook_and_a_unix_socket_and_sigusr1_reopens_the_eve_file() {
    if !root_or_skip("live outputs") {
        return;
    }
    let tag = "outputs";
    let dir = scratch(tag);
    let pair = Pair::new(tag);
    // The webhook receiver listens on the sensor namespace's loopback; the Unix socket is a
    // file, reachable from any namespace.
    let bodies = dir.join("webhook-bodies.json");
    let server = common::webhook::start_server_in(pair.sensor.exec("python3"), 0, &bodies, 0);
    let url = format!("http://127.0.0.1:{}/alerts", server.port);
    let socket_path = dir.join("eve.sock");
    let listener = UnixListener::bind(&socket_path).expect("bind the Unix socket");
    let socket_lines = std::thread::spawn(move || {
        listener.set_nonblocking(false).expect("blocking listener");
        let (conn, _) = listener.accept().expect("the sensor connects");
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        BufReader::new(conn)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let socket_arg = socket_path.display().to_string();
    let args = [
        "-i",
        "eids-rx",
        "--warmup",
        "0",
        "--unix-socket",
        &socket_arg,
        "--webhook",
        &url,
    ];
    let mut sensor = pair.start(&dir, &args);
    let first = root().join("pcaps/npm-postinstall-ioc.pcap");
    let second = root().join("pcaps/node-http-ua.pcap");
    pair.send(&first);
    // logrotate: move the file away, then SIGUSR1; the sensor opens a new file at the path.
    let eve = dir.join("live.json");
    let rotated = dir.join("live.json.1");
    assert!(wait_until(Duration::from_secs(5), || std::fs::metadata(
        &eve
    )
    .is_ok_and(|m| m.len() > 0)));
    std::fs::rename(&eve, &rotated).expect("rotate");
    sensor.signal(nix::sys::signal::Signal::SIGUSR1);
    assert!(
        wait_until(Duration::from_secs(5), || eve.exists()),
        "no new EVE file within 5 s of SIGUSR1"
    );
    pair.send(&second);
    let after = pair.stop(&dir, &mut sensor);
    let before_text = std::fs::read_to_string(&rotated).expect("rotated file");
    let before = parse_and_validate(&before_text, "rotated EVE file");

    // Each file holds its own capture's alerts.
    let want = |p: &Path| alert_rows(&replay(&format!("{tag}-ref"), &[p], &[]).events);
    assert_eq!(alert_rows(&before), want(&first), "before the reopen");
    assert_eq!(alert_rows(&after.events), want(&second), "after the reopen");
    assert!(
        after.stderr.contains("1 reopen"),
        "the file output reports its reopen: {}",
        after.stderr
    );

    // The socket got every line of both files; the webhook every alert, in order.
    let all: Vec<Value> = before.iter().chain(&after.events).cloned().collect();
    let lines = socket_lines.join().expect("socket reader");
    let from_socket: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("socket line is JSON"))
        .collect();
    assert_eq!(from_socket, all, "Unix socket lines vs the EVE files");
    let alerts: Vec<&Value> = all.iter().filter(|e| e["event_type"] == "alert").collect();
    let delivered: Vec<Value> = std::fs::read_to_string(&bodies)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("webhook body is JSON"))
        .collect();
    assert_eq!(
        delivered.iter().collect::<Vec<_>>(),
        alerts,
        "webhook bodies vs the alerts"
    );
    assert!(
        after
            .stderr
            .contains(&format!("{} alerts delivered, 0 dropped", alerts.len())),
        "{}",
        after.stderr
    );
    eprintln!(
        "outputs: {} lines over the Unix socket, {} alerts POSTed, EVE file reopened on SIGUSR1",
        from_socket.len(),
        delivered.len()
    );
    drop(server);
}

#[test]
fn an_interface_that_disappears_ends_the_run_with_exit_2_after_writing_everything() {
    if !root_or_skip("live capture on a vanishing interface") {
        return;
    }
    let tag = "vanishing";
    let dir = scratch(tag);
    let pair = Pair::new(tag);
    let mut sensor = pair.start(&dir, &["-i", "eids-rx", "--warmup", "0"]);
    let pcap = root().join("pcaps/ioc-sni.pcap");
    pair.send(&pcap);
    std::thread::sleep(Duration::from_millis(200));
    // Deleting one end of a veth pair deletes both.
    pair.sender.ip(&["link", "del", "eids-tx"]);
    let status = sensor
        .wait_timeout(Duration::from_secs(10))
        .expect("egress-ids live ends within 10 s of losing its interface");
    let stderr = std::fs::read_to_string(dir.join("live.stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("interface \"eids-rx\": reading packets failed"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(dir.join("live.json")).unwrap_or_default();
    let events = parse_and_validate(&text, tag);
    let want = alert_rows(&replay(&format!("{tag}-ref"), &[&pcap], &[]).events);
    assert!(!want.is_empty());
    assert_eq!(
        alert_rows(&events),
        want,
        "the alerts before the loss are written"
    );
}
