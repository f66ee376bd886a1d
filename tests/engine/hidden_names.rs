//! Names hidden in a second place are checked (issue 10 item 8): a request with two Host
//! headers, a Host header folded onto a continuation line, and the second ClientHello a TLS 1.3
//! client sends after a HelloRetryRequest. Real servers receive them in a namespace of the
//! test's own: Python's `http.server` records the Host values it parsed (the receiver decides
//! what the request named), `openssl s_server` forces the retry and traces both hellos; the
//! raw requests come from a Python socket (no client sends them on its own), the TLS client is
//! `openssl s_client`.

use crate::common::netns::{root_or_skip, run_ok, self_signed_cert, start_logged, Netns};
use crate::common::*;
use std::time::Duration;

const SERVER: &str = "203.0.113.33";

/// The runner (10.77.0.2) and the internet host (`SERVER`), joined by a veth pair.
fn hosts(tag: &str) -> (Netns, Netns) {
    let runner = Netns::new(&format!("{tag}-run"));
    let inet = Netns::new(&format!("{tag}-net"));
    runner.veth_to("eth0", &inet, "eth0", 1500);
    runner.ip(&["addr", "add", "10.77.0.2/24", "dev", "eth0"]);
    runner.ip(&["route", "add", "default", "dev", "eth0"]);
    inet.ip(&["addr", "add", &format!("{SERVER}/24"), "dev", "eth0"]);
    inet.ip(&["route", "add", "10.77.0.0/24", "dev", "eth0"]);
    (runner, inet)
}

#[test]
fn every_host_header_and_a_folded_host_are_checked_as_the_server_read_them() {
    if !root_or_skip("the HTTP requests in namespaces") {
        return;
    }
    let dir = scratch("hidden-hosts");
    let (runner, inet) = hosts("hh");
    let pcap = dir.join("hosts.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));
    let seen = dir.join("seen.txt");
    let server = format!(
        "import http.server\n\
         class H(http.server.BaseHTTPRequestHandler):\n\
         \x20   def do_GET(self):\n\
         \x20       with open({seen:?}, 'a') as f:\n\
         \x20           f.write('|'.join(v.strip() for v in self.headers.get_all('Host')) + '\\n')\n\
         \x20       self.send_response(204); self.end_headers()\n\
         print('serving', flush=True)\n\
         http.server.HTTPServer(('{SERVER}', 80), H).serve_forever()\n",
        seen = seen.display().to_string()
    );
    let _server = start_logged(
        inet.exec("python3").args(["-c", &server]),
        &dir.join("server.log"),
        "serving",
        "python http.server",
    );
    let client = format!(
        "import socket\n\
         for req in [b'GET /a HTTP/1.1\\r\\nHost: registry.npmjs.org\\r\\nHost: pkg-validate.net\\r\\nConnection: close\\r\\n\\r\\n',\n\
         \x20           b'GET /b HTTP/1.1\\r\\nHost:\\r\\n npm-health-check.io\\r\\nConnection: close\\r\\n\\r\\n']:\n\
         \x20   s = socket.create_connection(('{SERVER}', 80), timeout=5)\n\
         \x20   s.sendall(req); s.recv(4096); s.close()\n"
    );
    run_ok(
        runner.exec("python3").args(["-c", &client]),
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(tcpdump.terminate(Duration::from_secs(5)).is_some());
    let seen = std::fs::read_to_string(&seen).expect("the server recorded the requests");
    let seen: Vec<&str> = seen.lines().collect();
    // What the receiver parsed: both Host values of the first request, the unfolded name of
    // the second.
    assert_eq!(
        seen,
        ["registry.npmjs.org|pkg-validate.net", "npm-health-check.io"]
    );

    let r = replay("hidden-hosts-replay", &[&pcap], &[]);
    let alerts = alert_rows(&r.events);
    for name in ["pkg-validate.net", "npm-health-check.io"] {
        assert!(
            alerts
                .iter()
                .any(|a| a.contains("ioc-domain") && a.contains(name)),
            "no ioc-domain alert for {name}: {alerts:#?}"
        );
    }
}

#[test]
fn the_client_hello_after_a_hello_retry_request_is_read() {
    if !root_or_skip("the TLS 1.3 retry in namespaces") {
        return;
    }
    let dir = scratch("hidden-hrr");
    let (runner, inet) = hosts("hr");
    let (cert, key) = self_signed_cert(&dir, "pkg-validate.net");
    let pcap = dir.join("hrr.pcap");
    let mut tcpdump = runner.tcpdump("eth0", &pcap, &dir.join("tcpdump.log"));
    // The server takes only P-256; the client offers a key share for X25519 first: the server
    // answers with a HelloRetryRequest and the client sends a second ClientHello.
    let _server = start_logged(
        inet.exec("openssl")
            .args(["s_server", "-accept", &format!("{SERVER}:443"), "-tls1_3"])
            .args(["-groups", "P-256", "-trace", "-naccept", "1", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key),
        &dir.join("server.log"),
        "ACCEPT",
        "openssl s_server",
    );
    let out = run_ok(
        runner.exec("sh").arg("-c").arg(format!(
            "echo | openssl s_client -connect {SERVER}:443 -servername pkg-validate.net \
                 -tls1_3 -groups X25519:P-256 2>&1"
        )),
        Duration::from_secs(20),
    );
    assert!(out.contains("TLSv1.3"), "{out}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(tcpdump.terminate(Duration::from_secs(5)).is_some());
    let trace = std::fs::read_to_string(dir.join("server.log")).unwrap();
    assert_eq!(
        trace.matches("ClientHello").count(),
        2,
        "the server received two ClientHellos: {trace}"
    );
    let r = replay("hidden-hrr-replay", &[&pcap], &[]);
    let tls = r.of_type("tls");
    assert_eq!(tls.len(), 2, "both ClientHellos are read: {tls:#?}");
    assert!(tls.iter().all(|t| t["tls"]["sni"] == "pkg-validate.net"));
    assert!(alert_rows(&r.events)
        .iter()
        .any(|a| a.contains("pkg-validate.net")));
}
